#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Faults and hostile clients: slowloris from many sources, the agent
# killed under load, a slow upstream, a full log disk, connections that
# end badly, many connections in a row, IPv6 fragments. Each test bounds
# its load in count and time and puts the puller's own pulls next to it.

load agent

setup_file() {
	export PKI=$BATS_FILE_TMPDIR/pki
	pki_make "$PKI"
}

setup() { lab_up; }
teardown() { lab_down; }

PY=/usr/bin/python3

# entries MAP: the entries of one of the gate's maps.
entries() {
	gate status --json | jq -r --arg m "$1" '.maps[$m].entries'
}

# until_empty SECONDS MAP...: until every MAP has no entry; 1 if one still has.
until_empty() {
	local t=$1 m left
	shift
	for _ in $(seq $((t * 10))); do
		left=0
		for m in "$@"; do
			[ "$(entries "$m")" -eq 0 ] || left=1
		done
		[ "$left" -eq 0 ] && return 0
		sleep 0.1
	done
	for m in "$@"; do
		echo "# $m: $(entries "$m") entries" >&3
	done
	return 1
}

# pulls_script: python that makes N mTLS pulls from --bind ADDR, each ended
# as --end says: rst (SO_LINGER 0), keep (left open until killed) or fin.
pulls_script() {
	cat <<-'EOP'
	import argparse, socket, ssl, struct, sys, time
	ap = argparse.ArgumentParser()
	ap.add_argument("host"); ap.add_argument("pki"); ap.add_argument("n", type=int)
	ap.add_argument("--bind", default=""); ap.add_argument("--end", default="fin")
	ap.add_argument("--ready")
	a = ap.parse_args()
	ctx = ssl.create_default_context(cafile=a.pki + "/edge.pem")
	ctx.load_cert_chain(a.pki + "/edge1.pem", a.pki + "/edge1.key")
	held, ok = [], 0
	for _ in range(a.n):
	    raw = socket.create_connection((a.host, 443), timeout=5,
	                                   source_address=(a.bind, 0) if a.bind else None)
	    s = ctx.wrap_socket(raw, server_hostname="origin.test")
	    s.sendall(b"GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n")
	    ok += s.recv(4096).startswith(b"HTTP/1.1 200")
	    if a.end == "rst":
	        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
	    if a.end == "keep":
	        held.append(s)
	    else:
	        s.close()
	print("ok=%d" % ok, flush=True)
	if a.ready:
	    open(a.ready, "w").write("%d\n" % ok)
	    time.sleep(60)
	EOP
}

@test "connections ended by RST, by a client that vanished and by the handshake deadline leave no verified or pending entry" {
	agent_conf "idle_timeout = 3s"
	agent_up
	pulls_script >"$LAB_DIR/pulls.py"
	# (a) fifty verified connections the client resets after its pull.
	run in_client timeout 60 "$PY" "$LAB_DIR/pulls.py" "$ORIGIN4" "$PKI" 50 --end rst
	assert_success
	assert_output "ok=50"
	until_empty 10 verified pending
	# (b) fifty held open from a second address, which then vanishes: its
	# packets are dropped before it is killed, so no FIN or RST is seen.
	in_client ip addr add 10.77.0.3/24 dev "$LAB_IF_C"
	spawn vanish "$LAB_C" timeout 90 "$PY" "$LAB_DIR/pulls.py" "$ORIGIN4" "$PKI" 50 \
		--bind 10.77.0.3 --end keep --ready "$LAB_DIR/vanish.ready"
	vanish=$LAB_SPAWNED
	for _ in $(seq 300); do
		[ -s "$LAB_DIR/vanish.ready" ] && break
		sleep 0.1
	done
	run cat "$LAB_DIR/vanish.ready"
	assert_output 50
	[ "$(gate flows --json | jq '.verified | length')" -eq 50 ]
	in_client iptables -A OUTPUT -s 10.77.0.3 -j DROP
	kill -9 "$vanish"
	# idle_timeout (3 s) closes them, then linger (1 s) and a sweep.
	until_empty 15 verified pending
	agent_log_wait "event=close reason=idle_timeout .*src=10.77.0.3:"
	# (c) fifty that never send, closed at handshake_timeout (2 s).
	spawn idle "$LAB_C" "$PY" "$BATS_TEST_DIRNAME/idle.py" "$ORIGIN4" 443 50 --hold 8
	for _ in $(seq 50); do
		[ "$(entries pending)" -ge 50 ] && break
		sleep 0.1
	done
	[ "$(entries pending)" -ge 50 ]
	agent_log_wait "reason=handshake_timeout" 6
	until_empty 10 verified pending
	[ "$(metric 'aopgate_closes_total{reason="handshake_timeout"}')" -eq 50 ]
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
}
