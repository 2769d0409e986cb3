#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Faults and hostile clients: slowloris from many sources, the agent
# killed under load, a slow upstream, a full log disk, connections that
# end badly, many connections in a row. Each test bounds its load in
# count and time and puts the puller's own pulls next to it.

load agent

setup_file() {
	export PKI=$BATS_FILE_TMPDIR/pki
	pki_make "$PKI"
}

setup() { lab_up; }

# FULL_MNT: a tiny tmpfs a test fills; the agent writing to it is stopped
# and it is unmounted before the lab goes.
FULL_MNT=

teardown() {
	if [ -n "$FULL_MNT" ]; then
		lab_stop "${AGENT_PID:-}"
		umount "$FULL_MNT" || true
	fi
	lab_down
}

PY=/usr/bin/python3

# entries MAP: the entries of one of the gate's maps; for verified and
# pending, with those of their IPv4 twins (verified4, pending4).
entries() {
	gate status --json | jq -r --arg m "$1" '.maps[$m].entries + (.maps[$m + "4"].entries // 0)'
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

# fds: the agent's open descriptors now.
fds() {
	ls "/proc/$AGENT_PID/fd" | wc -l
}

@test "three hundred idle connections from six sources are closed at the deadline and the puller keeps pulling" {
	agent_up
	nofile=$(awk '/^Max open files/ { print $4 }' "/proc/$AGENT_PID/limits")
	base=$(fds)
	# Fifty from each of six addresses: under max_handshakes_per_source
	# (100), so only handshake_timeout (2 s) stops them. Three waves.
	binds=
	for i in 11 12 13 14 15 16; do
		in_client ip addr add "10.77.0.$i/24" dev "$LAB_IF_C"
		binds=$binds${binds:+,}10.77.0.$i
	done
	spawn slowloris "$LAB_C" timeout 60 bash -c "for w in 1 2 3; do
		$PY $BATS_TEST_DIRNAME/idle.py $ORIGIN4 443 300 --bind $binds --hold 8; done"
	slowloris=$LAB_SPAWNED
	peak=0 ok=0 pulls=0
	while kill -0 "$slowloris" 2>/dev/null && [ "$pulls" -lt 200 ]; do
		n=$(fds)
		[ "$n" -gt "$peak" ] && peak=$n
		fetch edge1 >/dev/null && ok=$((ok + 1))
		pulls=$((pulls + 1))
	done
	wait "$slowloris" || true
	echo "# descriptors: base $base peak $peak limit $nofile; pulls $ok/$pulls" >&3
	# Every wave was opened (some SYNs may meet the per-source rate limit)
	# and every connection closed by the agent, not the client.
	run grep -cE '^opened=(2[5-9][0-9]|300) closed=\1$' "$LAB_DIR/slowloris.log"
	assert_output 3
	opened=$(awk -F'[= ]' '{ n += $2 } END { print n }' "$LAB_DIR/slowloris.log")
	[ "$(metric 'aopgate_closes_total{reason="handshake_timeout"}')" -ge "$opened" ]
	[ "$(metric 'aopgate_closes_total{reason="handshake_limit"}')" -eq 0 ]
	# They were all held at once, and still far from the limit.
	[ "$peak" -ge $((base + 250)) ]
	[ "$peak" -lt "$nofile" ]
	[ "$pulls" -ge 5 ]
	[ "$ok" -eq "$pulls" ]
	for _ in $(seq 50); do
		[ "$(fds)" -le $((base + 5)) ] && break
		sleep 0.1
	done
	[ "$(fds)" -le $((base + 5)) ]
}

# answer NAME DELAY BODY: a script at $LAB_DIR/NAME.sh that waits DELAY
# seconds, then prints an HTTP/1.1 response with BODY; socat runs one per
# connection (EXEC:).
answer() {
	cat >"$LAB_DIR/$1.sh" <<-EOS
	#!/bin/sh
	sleep $2
	printf 'HTTP/1.1 200 OK\r\nContent-Length: ${#3}\r\nConnection: close\r\n\r\n%s' '$3'
	EOS
	chmod +x "$LAB_DIR/$1.sh"
	echo "EXEC:$LAB_DIR/$1.sh"
}

# upstream_at ADDR: the site origin.test relays to ADDR, without PROXY v2.
upstream_at() {
	agent_conf
	sed -i -e "0,/^upstream = 127.0.0.1:8080\$/s//upstream = $1/" \
		-e '0,/^proxy_protocol = v2$/s//proxy_protocol = off/' "$LAB_DIR/aopgate.conf"
}

@test "an upstream that answers three seconds late: the puller gets the late answer and no strike" {
	upstream_at 127.0.0.1:8090
	spawn slow "$LAB_O" timeout 60 socat TCP-LISTEN:8090,bind=127.0.0.1,fork,reuseaddr \
		"$(answer late 3 late)"
	agent_up
	wait_port 8090
	SECONDS=0
	run in_client curl -sS --max-time 10 --cacert "$PKI/edge.pem" --cert "$PKI/edge1.pem" \
		--key "$PKI/edge1.key" --resolve "origin.test:443:$ORIGIN4" https://origin.test/
	assert_success
	assert_output "late"
	[ "$SECONDS" -ge 3 ]
	agent_log_wait "event=close reason=done site=origin.test src=$CLIENT4:"
	run grep -E "action=(counted|penalized)|reason=upstream_error" "$LAB_DIR/agent.log"
	assert_failure
	run gate deny list --json
	assert_output "[]"
}

@test "an upstream that never accepts: upstream_error at the deadline, no strike, and the next pull works" {
	# 127.0.0.2:8091 drops every SYN: the connect hangs until the agent gives up.
	upstream_at 127.0.0.2:8091
	in_origin iptables -A INPUT -i lo -d 127.0.0.2 -p tcp --dport 8091 -j DROP
	agent_up
	for _ in 1 2 3 4; do
		run fetch edge1
		assert_failure
	done
	agent_log_wait "event=close reason=upstream_error site=origin.test src=$CLIENT4:.* detail=\"upstream did not answer in time\""
	[ "$(metric 'aopgate_closes_total{reason="upstream_error"}')" -eq 4 ]
	run grep -E "action=(counted|penalized)" "$LAB_DIR/agent.log"
	assert_failure
	run gate deny list --json
	assert_output "[]"
	# The source was never struck: once the upstream answers it pulls.
	spawn up "$LAB_O" timeout 30 socat TCP-LISTEN:8091,bind=127.0.0.2,fork,reuseaddr \
		"$(answer up 0 up)"
	in_origin iptables -D INPUT -i lo -d 127.0.0.2 -p tcp --dport 8091 -j DROP
	lab_wait_listen "$LAB_O" 8091 5
	run fetch edge1
	assert_success
	assert_output "up"
}

@test "kill -9 under load and a restart: penalties kept, pulls resume, the new agent's flows kept, none leaked" {
	AGENT_PENALTY=20s agent_conf "penalty_after = 1"
	agent_up
	# A stranger from a second address earns a penalty before the kill.
	in_client ip addr add 10.77.0.3/24 dev "$LAB_IF_C"
	run fetch - --interface 10.77.0.3
	assert_failure
	agent_log_wait "src=10.77.0.3:.* action=penalized"
	# Load: pulls back to back, 300 at most, 40 s at most.
	spawn load "$LAB_C" timeout 40 bash -c "for i in \$(seq 300); do
		curl -sS -o /dev/null --max-time 3 --cacert $PKI/edge.pem \
			--cert $PKI/edge1.pem --key $PKI/edge1.key \
			--resolve origin.test:443:$ORIGIN4 https://origin.test/ &&
			echo ok || echo fail; done"
	load=$LAB_SPAWNED
	hold edge1 4
	agent_log_wait "event=verify result=ok"
	for _ in $(seq 50); do
		[ "$(grep -c '^ok' "$LAB_DIR/load.log")" -ge 10 ] && break
		sleep 0.1
	done
	kill -9 "$AGENT_PID"
	lab_wait_closed "$LAB_O" 443 5
	agent_start
	agent_log_wait "event=start user=.* result=ok"
	# The connections the killed agent held were swept as stale.
	agent_log_wait "event=sweep stale_verified=[1-9]"
	# A connection of the new agent (over IPv6, apart from the load) stays
	# verified across its sweeps, and ends as the client ends it.
	hold edge1 4 "[$ORIGIN6]"
	agent_log_wait "event=verify result=ok .*src=\[$CLIENT6\]:" 5
	sleep 2.5
	[ "$(gate flows --json | jq --arg c "$CLIENT6" '[.verified[] | select(.src | contains($c))] | length')" -eq 1 ]
	wait "$held" || true
	agent_log_wait "event=close reason=done site=origin.test src=\[$CLIENT6\]:"
	# The stranger's penalty outlived the agent: dropped in the kernel.
	before=$(counter drop-penalty)
	run fetch - --interface 10.77.0.3
	assert_failure
	[ "$(counter drop-penalty)" -gt "$before" ]
	# Pulls after the restart all succeed.
	for _ in $(seq 20); do
		run fetch edge1
		assert_success
	done
	lab_stop "$load"
	echo "# load: $(grep -c '^ok' "$LAB_DIR/load.log") ok, $(grep -c '^fail' "$LAB_DIR/load.log") failed around the kill" >&3
	# Once every connection has ended, no verified entry is left behind.
	# (Handshakes cut by the kill leave pending entries that no agent
	# knows: they stop passing at pending_age, and pending is an LRU map.)
	until_empty 10 verified
}

@test "with the log's disk full the agent serves on, counts the lost lines and says how many once it can" {
	gate_attach -m native
	agent_files
	origin_up
	FULL_MNT=$LAB_DIR/logdisk
	mkdir -p "$FULL_MNT"
	mount -t tmpfs -o size=256k tmpfs "$FULL_MNT"
	log=$FULL_MNT/agent.log
	spawn agentfull "$LAB_O" sh -c 'exec "$0" -c "$1" 2>>"$2"' \
		"$AOPGATED" "$LAB_DIR/aopgate.conf" "$log"
	AGENT_PID=$LAB_SPAWNED
	wait_port 443
	grep -q "event=start" "$log"
	dd if=/dev/zero of="$FULL_MNT/fill" bs=4k 2>/dev/null || true
	[ "$(df --output=avail "$FULL_MNT" | tail -1)" -eq 0 ]
	size=$(stat -c %s "$log")
	for _ in $(seq 20); do
		run fetch edge1
		assert_success
		assert_output "hello $CLIENT4"
	done
	[ "$(stat -c %s "$log")" -le $((size + 4096)) ]
	lost=$(metric aopgate_log_lines_lost_total)
	echo "# lines lost: $lost" >&3
	[ "$lost" -ge 20 ]
	kill -0 "$AGENT_PID"
	# Room again: the next line is followed by how many were lost.
	rm "$FULL_MNT/fill"
	run fetch edge1
	assert_success
	for _ in $(seq 30); do
		grep -q "event=log lost_lines=[1-9][0-9]* lost_total=" "$log" && break
		sleep 0.1
	done
	grep -E "event=log lost_lines=[1-9][0-9]* lost_total=$lost\b|event=log lost_lines=[1-9]" "$log"
}

# rss: the agent's resident set, in kB.
rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$AGENT_PID/status"
}

# tlsload N [ARGS...]: N one-request connections with edge1's certificate,
# four at a time; fails unless every one got its answer.
tlsload() {
	local n=$1 out
	shift
	out=$(in_client "$AOPGATE_BUILD/tests/tlsload" conn -c "$ORIGIN4:443" -s origin.test \
		-C "$PKI/edge1.pem" -K "$PKI/edge1.key" -n "$n" -P 4 -d 5000 -t 300 "$@")
	TLSLOAD=$out
	[ "$(jq -r '.ok' <<<"$out")" -eq "$n" ] || fail "tlsload: $out"
}

@test "the agent's RSS stays flat over 10,000 connections, full and resumed" {
	# The session cache grows by one session (about 6 kB) per full
	# handshake up to session_cache: bounded here at what the warm-up fills.
	agent_conf "session_cache = 1000"
	sed -i 's/^log_level = debug$/log_level = info/' "$LAB_DIR/aopgate.conf"
	agent_up
	# Warm-up: the session cache, the verify cache and the allocator's
	# arenas fill first.
	tlsload 1200
	base=$(rss)
	tlsload 5000
	full=$(rss)
	tlsload 5000 -R
	[ "$(jq -r '.resumed' <<<"$TLSLOAD")" -ge 4000 ]
	resumed=$(rss)
	echo "# RSS kB: after 1,200 $base, 5,000 full more $full, 5,000 resumed more $resumed" >&3
	# 10,000 connections: a leak of 200 bytes each would add 2 MB.
	[ "$full" -le $((base + 2048)) ]
	[ "$resumed" -le $((base + 2048)) ]
	until_empty 10 verified pending
}

@test "session_cache = off: every handshake is a full one, and pulls succeed" {
	agent_conf "session_cache = off"
	agent_up
	tlsload 40 -R
	[ "$(jq -r '.resumed' <<<"$TLSLOAD")" -eq 0 ]
}
