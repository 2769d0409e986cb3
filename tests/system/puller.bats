#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The protection never blocks the puller it protects: what fails from a
# puller's address is logged and spared, what is not the client's doing
# earns nothing, and a stranger is still dropped in the kernel once it has
# failed often enough. Each test puts the puller's own traffic next to the
# stranger's.

load agent

setup_file() {
	export PKI=$BATS_FILE_TMPDIR/pki
	pki_make "$PKI"
}

setup() { lab_up; }
teardown() { lab_down; }

PY=/usr/bin/python3

# pull [ARGS...]: tests/system/tlspull.py from the client ns with edge1.
pull() {
	in_client "$PY" "$BATS_TEST_DIRNAME/tlspull.py" "$ORIGIN4" --ca "$PKI/edge.pem" \
		--cert "$PKI/edge1.pem" --key "$PKI/edge1.key" "$@"
}

# penalized: the client's prefix is in the penalty map and dropped now.
penalized() {
	gate deny list --json | jq -e 'map(select(.kind == "penalty")) | length > 0' >/dev/null
}

@test "a wrong-CA handshake from an address in good standing is logged and spared, and its next pull succeeds" {
	agent_up
	run fetch edge1
	assert_success
	for _ in 1 2 3 4 5; do
		run fetch outsider
		assert_failure
	done
	agent_log_wait "reason=unknown_ca .*action=spared standing=yes"
	[ "$(grep -c 'action=spared standing=yes' "$LAB_DIR/agent.log")" -eq 5 ]
	[ "$(metric aopgate_spared_total)" -eq 5 ]
	run penalized
	assert_failure
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
	[ "$(counter drop-penalty)" -eq 0 ]
}

@test "a stranger is dropped in XDP after three failures, not before" {
	# Long enough that the connect below falls inside it on a slow machine.
	AGENT_PENALTY=15s agent_conf
	agent_up
	for i in 1 2; do
		run fetch -
		assert_failure
		agent_log_wait "reason=no_cert .*action=counted fails=$i/3"
	done
	run penalized
	assert_failure
	run fetch -
	assert_failure
	agent_log_wait "reason=no_cert .*action=penalized penalty=15s strikes=1"
	run connect $ORIGIN4 443
	assert_failure
	[ "$(counter drop-penalty)" -ge 1 ]
	[ "$(metric aopgate_penalties_total)" -eq 1 ]
}

@test "a refused client is told why by a TLS alert" {
	agent_conf "penalty_exempt = 10.77.0.0/24"
	agent_up
	run fetch -
	assert_failure
	assert_output --partial "alert certificate required"
	run fetch outsider
	assert_failure
	assert_output --partial "alert unknown ca"
	run fetch expired
	assert_failure
	assert_output --partial "alert certificate expired"
	run fetch stranger
	assert_failure
	assert_output --partial "alert bad certificate"
	agent_log_wait "reason=policy_mismatch "
}

@test "a health check that connects and closes earns no strike" {
	agent_up
	for _ in 1 2 3 4 5; do
		in_client timeout 3 socat -u /dev/null "TCP:$ORIGIN4:443,connect-timeout=2"
	done
	agent_log_wait "reason=no_hello .*penalty=none"
	[ "$(grep -c 'reason=no_hello .*penalty=none' "$LAB_DIR/agent.log")" -eq 5 ]
	run grep -c "detail=Success" "$LAB_DIR/agent.log"
	assert_output 0
	run penalized
	assert_failure
	run fetch edge1
	assert_success
}

@test "a client that refuses our certificate earns no strike" {
	agent_up
	for _ in 1 2 3 4; do
		run in_client timeout 5 openssl s_client -connect "$ORIGIN4:443" -servername origin.test \
			-cert "$PKI/edge1.pem" -key "$PKI/edge1.key" -CAfile "$PKI/other.pem" \
			-verify_return_error </dev/null
		assert_failure
	done
	agent_log_wait "reason=client_refused .*penalty=none"
	run penalized
	assert_failure
	run fetch edge1
	assert_success
}

@test "a source rotating inside one /64 is penalized as one" {
	AGENT_PENALTY=15s agent_conf
	agent_up
	for i in 11 12 13; do
		in_client ip addr add "fd00:77::$i/64" dev "$LAB_IF_C" nodad
		run fetch - --v6 --interface "fd00:77::$i"
		assert_failure
	done
	agent_log_wait "src=\[fd00:77::13\]:[0-9]+ .*action=penalized"
	run gate deny list
	assert_output --partial "fd00:77::/64"
	in_client ip addr add fd00:77::14/64 dev "$LAB_IF_C" nodad
	before=$(counter drop-penalty)
	run in_client timeout 4 socat -T 2 - "TCP6:[$ORIGIN6]:443,bind=[fd00:77::14],connect-timeout=2"
	assert_failure
	[ "$(counter drop-penalty)" -gt "$before" ]
}

@test "handshakes in flight finish when their source is penalized" {
	agent_conf
	sed -i 's/^handshake_timeout = .*/handshake_timeout = 15s/' "$LAB_DIR/aopgate.conf"
	agent_up
	# The puller's connection is open (pending in the gate) when its
	# address is penalized by three failures of another client there.
	pull --wait-file "$LAB_DIR/go" --timeout 20 >"$LAB_DIR/pull.out" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		[ "$(gate flows --json | jq '.pending | length')" -ge 1 ] && break
		sleep 0.1
	done
	for _ in 1 2 3; do
		run fetch -
		assert_failure
	done
	agent_log_wait "action=penalized"
	touch "$LAB_DIR/go"
	wait "$pid"
	run cat "$LAB_DIR/pull.out"
	assert_output --partial "200"
	# Its success lifts the penalty: the address holds a puller.
	run penalized
	assert_failure
	run fetch edge1
	assert_success
}

@test "a ClientHello in 1-byte segments is admitted and never a strike" {
	agent_up
	run pull --byte-segments
	assert_success
	assert_output --partial "200"
	[ "$(counter drop-budget)" -eq 0 ]
}

@test "a 47 KB client certificate at MTU 576 fits the pending budget" {
	agent_up
	# A leaf of the edge CA made large by its SAN list.
	sans=$(seq -f "DNS:host%05g.pull.example.net" 1 1900 | paste -sd, -)
	(cd "$LAB_DIR" && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=big -keyout "$LAB_DIR/big.key" -out "$LAB_DIR/big.csr" 2>/dev/null &&
		printf 'subjectAltName=URI:spiffe://example.net/edge/big,%s\nextendedKeyUsage=clientAuth\n' \
			"$sans" >"$LAB_DIR/big.ext" &&
		openssl x509 -req -in "$LAB_DIR/big.csr" -CA "$PKI/edge.pem" -CAkey "$PKI/edge.key" \
			-CAcreateserial -days 2 -extfile "$LAB_DIR/big.ext" -out "$LAB_DIR/big.pem" 2>/dev/null)
	[ "$(stat -c %s "$LAB_DIR/big.pem")" -ge 47000 ]
	in_client ip link set "$LAB_IF_C" mtu 576
	run in_client curl -sS --max-time 10 --cacert "$PKI/edge.pem" --cert "$LAB_DIR/big.pem" \
		--key "$LAB_DIR/big.key" --resolve "origin.test:443:$ORIGIN4" https://origin.test/
	assert_success
	assert_output "hello $CLIENT4"
	[ "$(counter drop-budget)" -eq 0 ]
}

@test "a source inside the enforced allowlist is spared: that is the CDN" {
	agent_up
	echo "10.77.0.0/24" >"$LAB_DIR/allow.txt"
	gate allow load "$LAB_DIR/allow.txt"
	gate set allowlist on
	for _ in 1 2 3 4; do
		run fetch -
		assert_failure
	done
	agent_log_wait "reason=no_cert .*action=spared allowlisted=yes"
	run penalized
	assert_failure
	run fetch edge1
	assert_success
}

@test "a puller in good standing opens connections at the trusted rate" {
	agent_up
	gate set syn_rate 2
	gate set syn_burst 2
	# A stranger at that address could open two; the puller, once verified,
	# is not held to it.
	run fetch edge1
	assert_success
	for i in $(seq 30); do
		run fetch edge1
		assert_success
	done
	[ "$(counter drop-ratelimit)" -eq 0 ]
	# Without standing the same rate limits: the IPv6 address has none.
	for i in $(seq 6); do
		in_client timeout 3 socat -u /dev/null "TCP6:[$ORIGIN6]:443,connect-timeout=1" || true
	done
	[ "$(counter drop-ratelimit)" -ge 1 ]
}

@test "an operator's deny of a CIDR drops the range and survives failed handshakes" {
	agent_up
	gate deny add 10.77.0.0/24
	run connect $ORIGIN4 443
	assert_failure
	[ "$(counter drop-denied)" -ge 1 ]
	run gate deny list --json
	assert_output --partial '"source": "10.77.0.0/24", "kind": "operator"'
	gate deny del 10.77.0.0/24
	run fetch edge1
	assert_success
}

@test "an h2 puller reaches the h2 upstream and an http/1.1 puller the other" {
	agent_conf "" "upstream_h2 = 127.0.0.1:8082"
	agent_up
	run fetch edge1 --http2
	assert_success
	assert_output "h2 $CLIENT4"
	run fetch edge1 --http1.1
	assert_success
	assert_output "hello $CLIENT4"
	run fetch edge1 --host pinned.test --http2
	assert_success
	assert_output "hello $CLIENT4"
}

@test "the PROXY v2 header carries the connection id that the agent logs" {
	agent_conf
	sed -i '0,/^upstream = 127.0.0.1:8080/s//upstream = 127.0.0.1:8090/' "$LAB_DIR/aopgate.conf"
	spawn capture "$LAB_O" timeout 60 socat -u TCP-LISTEN:8090,reuseaddr OPEN:"$LAB_DIR/header.bin",creat
	wait_port 8090
	agent_up
	run fetch edge1 --max-time 2
	agent_log_wait "event=verify result=ok .*conn=[0-9a-f]{24}"
	id=$(grep -o 'conn=[0-9a-f]*' "$LAB_DIR/agent.log" | head -1 | cut -d= -f2)
	# TLV type 0x05, length 24, then the id's bytes.
	hexof <"$LAB_DIR/header.bin" | grep -q "050018$(hexof "$id")"
}

@test "a verified puller keeps every pull while its own address sends wrong-CA handshakes" {
	agent_up
	run fetch edge1
	assert_success
	(for _ in $(seq 100); do fetch outsider || true; done) >"$LAB_DIR/noise.out" 2>&1 &
	noise=$!
	ok=0
	for _ in $(seq 200); do
		fetch edge1 >/dev/null 2>&1 && ok=$((ok + 1))
	done
	wait "$noise" || true
	echo "# $ok of 200 pulls" >&3
	[ "$ok" -eq 200 ]
	[ "$(counter drop-penalty)" -eq 0 ]
	echo "# $(metric aopgate_spared_total) failures from its address spared" >&3
	[ "$(metric aopgate_spared_total)" -ge 100 ]
}

@test "good standing lives in a pinned map: it survives an agent restart" {
	agent_up
	run fetch edge1
	assert_success
	kill -9 "$AGENT_PID"
	lab_wait_closed "$LAB_O" 443 5
	agent_start
	run fetch outsider
	assert_failure
	agent_log_wait "reason=unknown_ca .*action=spared standing=yes"
	run bpftool map dump pinned "$PIN/standing"
	assert_output --partial '"until_ns":'
}

# idlers NAME N [ADDR [BINDS]]: tests/system/idle.py in the client ns
# holding N connections to 443 that never send; waits until all are tried.
idlers() {
	spawn "$1" "$LAB_C" "$PY" "$BATS_TEST_DIRNAME/idle.py" "${3:-$ORIGIN4}" 443 "$2" \
		--bind "${4:-}" --ready "$LAB_DIR/$1.ready" --hold 30
	for _ in $(seq 150); do
		[ -s "$LAB_DIR/$1.ready" ] && return 0
		sleep 0.1
	done
	fail "$1 did not finish connecting"
}

@test "a /64 holding max_handshakes_per_source idle handshakes is refused more, and the puller keeps pulling" {
	agent_conf "max_handshakes_per_source = 4"
	sed -i 's/^handshake_timeout = .*/handshake_timeout = 30s/' "$LAB_DIR/aopgate.conf"
	agent_up
	# Three addresses of one /64 count as one source.
	for i in 11 12 13; do
		in_client ip addr add "fd00:77::$i/64" dev "$LAB_IF_C" nodad
	done
	idlers idle 12 "$ORIGIN6" fd00:77::11,fd00:77::12,fd00:77::13
	agent_log_wait "event=close reason=handshake_limit src=\[fd00:77::1[123]\]:[0-9]+ max_handshakes_per_source=4 "
	[ "$(metric 'aopgate_closes_total{reason="handshake_limit"}')" -ge 8 ]
	[ "$(metric aopgate_connections_active)" -le 4 ]
	for _ in 1 2 3; do
		run fetch edge1
		assert_success
		assert_output "hello $CLIENT4"
	done
	# Refused at accept, not judged: no strike for the /64.
	run penalized
	assert_failure
}

@test "a puller in good standing is never capped by max_handshakes_per_source" {
	agent_conf "max_handshakes_per_source = 2"
	sed -i 's/^handshake_timeout = .*/handshake_timeout = 30s/' "$LAB_DIR/aopgate.conf"
	agent_up
	run fetch edge1
	assert_success
	# Its own address now holds more handshakes than the cap.
	idlers idle 6
	for _ in $(seq 30); do
		[ "$(metric aopgate_connections_active)" -ge 6 ] && break
		sleep 0.1
	done
	[ "$(metric aopgate_connections_active)" -ge 6 ]
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
	[ "$(metric 'aopgate_closes_total{reason="handshake_limit"}')" -eq 0 ]
}

@test "SSLv3, TLS 1.0 and 1.1 attempts are refused, and the puller keeps pulling" {
	agent_up
	# The attempts come from the puller's address, in good standing once
	# it has pulled: three strikes would otherwise penalize it.
	fetch edge1
	# No OpenSSL here speaks SSLv3 any more: its ClientHello by hand
	# (version 3.0, one cipher suite, no extensions); the answer is an
	# alert record (21) with a fatal alert (2): OpenSSL says
	# handshake_failure (40) to a hello this old.
	run in_client python3 - "$ORIGIN4" <<-'EOF'
	import os, socket, sys
	body = bytes([3, 0]) + os.urandom(32) + bytes([0, 0, 2, 0, 0x2f, 1, 0])
	hs = bytes([1]) + len(body).to_bytes(3, "big") + body
	s = socket.create_connection((sys.argv[1], 443), timeout=5)
	s.sendall(bytes([0x16, 3, 0]) + len(hs).to_bytes(2, "big") + hs)
	print(s.recv(64).hex())
	EOF
	assert_success
	[[ $output =~ ^1503[0-9a-f]{2}000202 ]] || fail "no fatal alert: $output"
	for v in -tls1 -tls1_1; do
		run in_client timeout 5 openssl s_client "$v" -cipher 'DEFAULT:@SECLEVEL=0' \
			-connect "$ORIGIN4:443" -servername origin.test -cert "$PKI/edge1.pem" \
			-key "$PKI/edge1.key" -CAfile "$PKI/edge.pem" </dev/null
		assert_failure
		assert_output --partial "alert protocol version"
	done
	agent_log_wait "event=verify result=fail reason=protocol_error .*detail=\"unsupported protocol\""
	[ "$(metric 'aopgate_closes_total{reason="protocol_error"}')" -ge 3 ]
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
}

@test "an SNI with a newline, quotes and control characters cannot inject a log line" {
	agent_up
	sni=$(printf 'x"\nts=0 level=info event=verify result=ok reason=ok src=6.6.6.6\t\001')
	run in_client timeout 5 openssl s_client -connect "$ORIGIN4:443" -servername "$sni" \
		-CAfile "$PKI/edge.pem" </dev/null
	assert_failure
	# Not a host name: refused as no site's, and never written out raw.
	agent_log_wait "event=verify result=fail reason=unknown_sni site=- src=$CLIENT4:[0-9]+ sni=- "
	# One line per event, each the agent's own: nothing from the SNI starts a line.
	run grep -vc '^ts=20' "$LAB_DIR/agent.log"
	assert_output 0
	run grep -c '6.6.6.6' "$LAB_DIR/agent.log"
	assert_output 0
	# The metrics name sites from the configuration, never the SNI.
	run in_origin curl -s --max-time 3 http://127.0.0.1:9901/metrics
	refute_output --partial "6.6.6.6"
	run fetch edge1
	assert_success
}

@test "SIGHUP in a loop under continuous pulls fails no pull" {
	agent_up
	(for _ in $(seq 30); do
		fetch edge1 >/dev/null 2>&1 && echo ok || echo FAIL
	done >"$LAB_DIR/pulls") &
	pulls=$!
	for _ in $(seq 10); do
		kill -HUP "$AGENT_PID"
		sleep 0.2
	done
	wait "$pulls"
	agent_log_wait "event=reload result=ok gen=11"
	run grep -c '^ok$' "$LAB_DIR/pulls"
	assert_output 30
}

@test "with the upstream down the puller gets upstream_error and no strike, and pulls once it is back" {
	agent_up
	kill "$(cat "$LAB_DIR/nginx.pid")"
	lab_wait_closed "$LAB_O" 8080 5
	for _ in 1 2 3 4; do
		run fetch edge1
		assert_failure
	done
	agent_log_wait "event=close reason=upstream_error site=origin.test src=$CLIENT4:"
	[ "$(metric 'aopgate_closes_total{reason="upstream_error"}')" -ge 4 ]
	run penalized
	assert_failure
	run grep -E "action=(counted|penalized)" "$LAB_DIR/agent.log"
	assert_failure
	origin_up
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
}

@test "connections that end by RST or by the handshake deadline leave no verified entry" {
	agent_up
	# Five verified connections the client resets (SO_LINGER 0) after a request.
	in_client "$PY" - "$ORIGIN4" "$PKI" <<-'EOP'
	import socket, ssl, struct, sys
	ctx = ssl.create_default_context(cafile=sys.argv[2] + "/edge.pem")
	ctx.load_cert_chain(sys.argv[2] + "/edge1.pem", sys.argv[2] + "/edge1.key")
	for _ in range(5):
	    raw = socket.create_connection((sys.argv[1], 443), timeout=5)
	    s = ctx.wrap_socket(raw, server_hostname="origin.test")
	    s.sendall(b"GET / HTTP/1.0\r\nHost: origin.test\r\n\r\n")
	    s.recv(4096)
	    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
	    s.close()
	EOP
	# Five that never send, closed by the agent at handshake_timeout (2s).
	spawn idle "$LAB_C" "$PY" "$BATS_TEST_DIRNAME/idle.py" "$ORIGIN4" 443 5 --hold 6
	agent_log_wait "reason=handshake_timeout" 6
	for _ in $(seq 150); do
		[ "$(gate flows --json | jq '.verified | length')" -eq 0 ] && break
		sleep 0.1
	done
	run gate flows --json
	[ "$(jq '.verified | length' <<<"$output")" -eq 0 ]
	run fetch edge1
	assert_success
}
