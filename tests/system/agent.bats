#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The agent on a real veth with the gate attached: mTLS with per-site
# policy, pinning and penalties seen in the datapath, the PROXY header and
# the tls:// upstream against a real nginx, reloads and restarts.

load agent

setup_file() {
	export PKI=$BATS_FILE_TMPDIR/pki
	pki_make "$PKI"
}

setup() { lab_up; }
teardown() { lab_down; }

# Exempt the client for tests about refusal reasons, so strikes from one
# refusal do not drop the next attempt.
EXEMPT="penalty_exempt = 10.77.0.0/24, fd00:77::/64"

@test "a valid client certificate gets the origin's response, with its address from the PROXY header" {
	agent_up
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
	agent_log_wait "event=verify result=ok reason=ok site=origin.test src=$CLIENT4:[0-9]+ sni=origin.test subject=\"CN=edge-1\""
	agent_log_wait "event=verify result=ok .* sha256=$(sha256_of "$PKI/edge1.pem") "
	grep -q "^$CLIENT4 127.0.0.1 \"GET / HTTP/1.1\" 200" "$LAB_DIR/origin-access.log"
	[ "$(metric 'aopgate_handshakes_total{site="origin.test",result="ok",reason="ok"}')" -eq 1 ]
}

@test "an IPv6 client is verified and relayed too" {
	agent_up
	run fetch edge1 --v6
	assert_success
	assert_output "hello $CLIENT6"
}

@test "a verified flow shows in 'aopgate flows' and bpftool while open, and is swept after close" {
	agent_up
	hold edge1 4
	agent_log_wait "event=verify result=ok"
	run gate flows
	assert_output --partial "$CLIENT4"
	# An IPv4 flow: verified4, keyed by addresses and ports alone.
	run bpftool map dump pinned "$PIN/verified4"
	assert_output --partial '"site_id": 1'
	wait "$held" || true
	agent_log_wait "event=close reason=" 5
	# linger (1 s) then the agent's sweep (every 1 s)
	client_flows_gone 4
	run gate flows
	refute_output --regexp "verified +${CLIENT4//./\\.}:"
	run bpftool map dump pinned "$PIN/verified4"
	refute_output --partial '"site_id"'
}

@test "no client certificate is refused: no_cert" {
	agent_conf "$EXEMPT"
	agent_up
	refused - no_cert
}

@test "a certificate from an unknown CA is refused: unknown_ca" {
	agent_conf "$EXEMPT"
	agent_up
	refused outsider unknown_ca
}

@test "a 20-certificate chain is refused before it is walked, and the puller still pulls" {
	agent_up
	# A root no site trusts, 18 intermediates, a leaf: the client sends all 20.
	(cd "$LAB_DIR" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=c0 -keyout c0.key -out c0.pem -days 2 2>/dev/null &&
		printf 'basicConstraints=critical,CA:TRUE\n' >ca.ext &&
		for i in $(seq 1 19); do
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-subj "/CN=c$i" -keyout "c$i.key" -out "c$i.csr" 2>/dev/null &&
			openssl x509 -req -in "c$i.csr" -CA "c$((i - 1)).pem" -CAkey "c$((i - 1)).key" \
				-CAcreateserial -days 2 -extfile ca.ext -out "c$i.pem" 2>/dev/null || exit 1
		done &&
		for i in $(seq 19 -1 0); do cat "c$i.pem"; done >chain.pem)
	[ "$(grep -c 'BEGIN CERTIFICATE' "$LAB_DIR/chain.pem")" -eq 20 ]
	run fetch - --cert "$LAB_DIR/chain.pem" --key "$LAB_DIR/c19.key"
	assert_failure
	agent_log_wait 'event=verify result=fail reason=unknown_ca .*detail="client sent 20 certificates, at most 4 with verify_depth 2"'
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
}

@test "a client certificate over 64 KB is refused while it is read: protocol_error" {
	agent_up
	sans=$(seq -f "DNS:host%05g.pull.example.net" 1 3000 | paste -sd, -)
	(cd "$LAB_DIR" && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=huge -keyout huge.key -out huge.csr 2>/dev/null &&
		printf 'subjectAltName=URI:spiffe://example.net/edge/huge,%s\nextendedKeyUsage=clientAuth\n' \
			"$sans" >huge.ext &&
		openssl x509 -req -in huge.csr -CA "$PKI/edge.pem" -CAkey "$PKI/edge.key" \
			-CAcreateserial -days 2 -extfile huge.ext -outform DER -out huge.der 2>/dev/null &&
		openssl x509 -inform DER -in huge.der -out huge.pem)
	[ "$(stat -c %s "$LAB_DIR/huge.der")" -gt 65536 ]
	run fetch - --cert "$LAB_DIR/huge.pem" --key "$LAB_DIR/huge.key"
	assert_failure
	agent_log_wait "event=verify result=fail reason=protocol_error .*excessive message size"
	run fetch edge1
	assert_success
}

@test "an expired certificate is refused: expired" {
	agent_conf "$EXEMPT"
	agent_up
	refused expired expired
}

@test "a certificate valid only from 2099 is refused: not_yet_valid" {
	agent_conf "$EXEMPT"
	agent_up
	refused future not_yet_valid
}

@test "a certificate on the site's CRL is refused: revoked" {
	agent_conf "$EXEMPT"
	agent_up
	refused revoked revoked
}

@test "a certificate without the clientAuth purpose is refused: bad_purpose" {
	agent_conf "$EXEMPT"
	agent_up
	refused srvonly bad_purpose
}

@test "a certificate outside the identity constraints is refused: policy_mismatch" {
	agent_conf "$EXEMPT"
	agent_up
	refused stranger policy_mismatch
}

@test "a certificate that is not the pinned one is refused: pin_mismatch" {
	agent_conf "$EXEMPT"
	agent_up
	run fetch edge1 --host pinned.test
	assert_success
	refused edge2 pin_mismatch --host pinned.test
}

@test "a certificate of one site's CA is refused by another site, with and without SNI" {
	agent_conf "$EXEMPT"
	agent_up
	run fetch outsider --host other.test
	assert_success
	refused outsider unknown_ca
	run in_client timeout 5 openssl s_client -connect $ORIGIN4:443 -noservername \
		-cert "$PKI/outsider.pem" -key "$PKI/outsider.key" </dev/null
	agent_log_wait "event=verify result=fail reason=unknown_ca site=default "
}

@test "each site's certificate request names its own client CAs, and the names follow a reload" {
	agent_conf "$EXEMPT"
	agent_up
	ca_names() {
		in_client timeout 5 openssl s_client -connect $ORIGIN4:443 -servername "$1" \
			</dev/null 2>/dev/null | sed -n '/^Acceptable client certificate CA names/,/^[A-Z][a-z]* [a-z]/p'
	}
	run ca_names origin.test
	assert_output --partial "CN = Edge CA"
	refute_output --partial "CN = Other CA"
	run ca_names other.test
	assert_output --partial "CN = Other CA"
	refute_output --partial "CN = Edge CA"
	cp "$PKI/both.pem" "$LAB_DIR/other-ca.pem"
	kill -HUP "$AGENT_PID"
	agent_log_wait "event=reload result=ok gen=2"
	run ca_names other.test
	assert_output --partial "CN = Other CA"
	assert_output --partial "CN = Edge CA"
	run ca_names origin.test
	refute_output --partial "CN = Other CA"
}

@test "an unknown SNI is refused with strict_sni: unknown_sni" {
	agent_conf "$EXEMPT
strict_sni = yes"
	agent_up
	refused edge1 unknown_sni --host nowhere.test
}

@test "garbage instead of a ClientHello is refused: protocol_error" {
	agent_conf "$EXEMPT"
	agent_up
	run in_client timeout 4 socat -T 2 - TCP:$ORIGIN4:443 <<<"GET / HTTP/1.0"
	agent_log_wait "event=verify result=fail reason=protocol_error "
}

@test "a client that stalls mid-handshake is closed at the deadline: handshake_timeout" {
	agent_conf "$EXEMPT"
	agent_up
	# A TLS record header promising 255 bytes, then nothing.
	(printf '\x16\x03\x01\x00\xff'; sleep 5) |
		in_client timeout 6 socat -T 5 - TCP:$ORIGIN4:443 >/dev/null 2>&1 &
	held=$!
	agent_log_wait "event=verify result=fail reason=handshake_timeout .*ms=2[0-9]{3}" 5
	wait "$held" || true
}

@test "a client that stalls after its ClientHello is logged under the site its SNI chose" {
	agent_conf "$EXEMPT"
	agent_up
	in_client /usr/bin/python3 "$BATS_TEST_DIRNAME/tlspull.py" "$ORIGIN4" --ca "$PKI/edge.pem" \
		--stall-after-hello 4 >/dev/null 2>&1 &
	held=$!
	agent_log_wait "event=verify result=fail reason=handshake_timeout site=origin.test " 5
	[ "$(metric 'aopgate_handshakes_total{site="origin.test",result="fail",reason="handshake_timeout"}')" -eq 1 ]
	wait "$held" || true
}

@test "with penalty_after = 1, a refusal drops the source's next SYN in XDP until the penalty expires" {
	# Long enough that the connect below (2 s, retransmits included)
	# falls inside it even on a loaded machine.
	AGENT_PENALTY=6s agent_conf "penalty_after = 1"
	agent_up
	refused - no_cert
	agent_log_wait "penalty=6s strikes=1"
	run connect $ORIGIN4 443
	assert_failure
	[ "$(counter drop-penalty)" -ge 1 ]
	[ "$(metric aopgate_penalties_total)" -ge 1 ]
	# Then the penalty expires by itself (bounded: 12 s).
	for _ in $(seq 24); do
		gate deny list | grep -q "$CLIENT4" || break
		sleep 0.5
	done
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
}

@test "an exempt source is never penalized" {
	agent_conf "$EXEMPT"
	agent_up
	refused - no_cert
	agent_log_wait "penalty=exempt"
	run fetch edge1
	assert_success
	[ "$(counter drop-penalty)" -eq 0 ]
}

@test "verify = optional admits a failing client, logs it and never penalizes" {
	agent_conf "" "verify = optional"
	sed -i 's/^\(allow_san_uri\)/;\1/' "$LAB_DIR/aopgate.conf"
	agent_up
	run fetch -
	assert_success
	assert_output "hello $CLIENT4"
	agent_log_wait "event=verify result=fail reason=no_cert .*action=admit"
	run fetch edge1
	assert_success
	[ "$(counter drop-penalty)" -eq 0 ]
}

@test "a tls:// upstream presents the agent's certificate to nginx with ssl_verify_client on" {
	agent_up
	run fetch edge1 --host tls.test
	assert_success
	assert_output "tls-upstream CN=agent-upstream"
}

@test "reload: a new CA is accepted without a restart" {
	agent_conf "$EXEMPT"
	agent_up
	refused edge1 unknown_ca --host other.test
	cp "$PKI/both.pem" "$LAB_DIR/other-ca.pem"
	kill -HUP "$AGENT_PID"
	agent_log_wait "event=reload result=ok gen=2"
	run fetch edge1 --host other.test
	assert_success
}

@test "reload: a bad configuration file keeps the running one" {
	agent_up
	echo "frobnicate = 1" >>"$LAB_DIR/aopgate.conf"
	kill -HUP "$AGENT_PID"
	agent_log_wait "event=reload result=fail error=\".*aopgate.conf:[0-9]+: unknown key 'frobnicate'\""
	agent_log_wait "event=reload result=fail note="
	run fetch edge1
	assert_success
	run in_origin "$AOPGATED" -t -c "$LAB_DIR/aopgate.conf"
	assert_failure
	assert_output --regexp "aopgate.conf:[0-9]+: unknown key 'frobnicate'"
}

@test "reload: a CRL that revokes a connected client closes that connection" {
	agent_up
	hold later 6
	agent_log_wait "event=verify result=ok .*subject=\"CN=later\""
	(cd "$PKI" && _ca_cmd edge -revoke later.pem && _ca_cmd edge -gencrl -out "$LAB_DIR/edge.crl")
	kill -HUP "$AGENT_PID"
	agent_log_wait "event=close reason=policy_changed .*detail=\"revoked:"
	# Unpinned at once (no linger); the sweep removes the entry within 1 s.
	client_flows_gone 3
	run gate flows
	refute_output --partial "$CLIENT4"
	# edge-1 is not on the new CRL.
	run fetch edge1
	assert_success
	wait "$held" || true
}

@test "kill -9 and restart: penalties survive, stale verified flows go, new clients are admitted" {
	# Long enough to outlast the restart on a loaded machine.
	AGENT_PENALTY=20s agent_conf "penalty_after = 1"
	agent_up
	hold edge1 6 "[$ORIGIN6]"
	agent_log_wait "event=verify result=ok"
	refused - no_cert
	kill -9 "$AGENT_PID"
	run gate flows
	assert_output --partial "$CLIENT6"
	agent_start
	agent_log_wait "event=sweep stale_verified=1"
	run gate flows
	refute_output --partial "$CLIENT6"
	run gate deny list
	assert_output --partial "$CLIENT4"
	run fetch edge1
	assert_failure
	gate deny del $CLIENT4
	run fetch edge1
	assert_success
	wait "$held" || true
}

@test "/metrics carries the datapath counters next to the agent's" {
	agent_up
	run fetch edge1
	assert_success
	run in_origin curl -s --max-time 3 http://127.0.0.1:9901/metrics
	assert_output --partial 'aopgate_datapath_up 1'
	assert_output --regexp 'aopgate_datapath_packets_total\{verdict="pass-verified"\} [1-9]'
	assert_output --partial 'aopgate_connections_active'
	assert_output --partial 'aopgate_handshake_seconds_bucket{le="+Inf"} 1'
}

@test "without a user directive the agent runs as nobody, as nginx does; user = root stays root" {
	agent_up
	agent_log_wait "event=start user=nobody "
	[ "$(ps -o user= -p "$AGENT_PID")" = nobody ]
	run fetch edge1
	assert_success
	kill -9 "$AGENT_PID"
	lab_wait_closed "$LAB_O" 443 5
	: >"$LAB_DIR/agent.log"
	agent_conf "user = root"
	agent_start
	agent_log_wait "event=start user=root uid=0 "
	[ "$(ps -o user= -p "$AGENT_PID")" = root ]
	# Root as configured, with its capabilities, not root stripped of them.
	run grep -E '^CapEff:[[:space:]]+0+$' "/proc/$AGENT_PID/status"
	assert_failure
	run fetch edge1
	assert_success
}

@test "after dropping privileges to 'user', flows are still pinned and a reload still reads root-only keys" {
	agent_conf "user = nobody"
	agent_up
	agent_log_wait "event=start user=nobody"
	hold edge1 3
	agent_log_wait "event=verify result=ok"
	run gate flows
	assert_output --partial "$CLIENT4"
	[ "$(ps -o user= -p "$AGENT_PID")" = nobody ]
	run grep -c "result=fail" "$LAB_DIR/agent.log"
	assert_output 0
	[ "$(stat -c %a "$PKI/server.key")" = 600 ]
	kill -HUP "$AGENT_PID"
	agent_log_wait "event=reload result=ok gen=2"
	wait "$held" || true
	# The pin root is root's and 0700: health and links are still seen.
	run in_origin curl -sS --max-time 3 http://127.0.0.1:9901/healthz
	assert_output "ok"
	[ "$(metric aopgate_gate_links)" -eq 1 ]
}

# caps STATUS: "CapInh CapPrm CapEff CapBnd NoNewPrivs" of a /proc status file, masks in hex.
caps() {
	awk '/^CapInh:/ { i = $2 } /^CapPrm:/ { p = $2 } /^CapEff:/ { e = $2 }
		/^CapBnd:/ { b = $2 } /^NoNewPrivs:/ { n = $2 } END { print i, p, e, b, n }' "$1"
}

# reader_pid: the pid of the agent's reader process (its only child).
reader_pid() {
	ps -o pid=,comm= --ppid "$AGENT_PID" | awk '$2 == "aopgated-reader" { print $1 }'
}

NONE="0000000000000000 0000000000000000 0000000000000000 0000000000000000 1"
READ="0000000000000000 0000000000000004 0000000000000004 0000000000000004 1"

@test "after the privilege drop no thread of the agent holds a capability; the reader only CAP_DAC_READ_SEARCH" {
	agent_conf "user = nobody"
	agent_up
	agent_log_wait "event=start user=nobody"
	local threads=0 reader
	for t in /proc/"$AGENT_PID"/task/*; do
		[ "$(caps "$t/status")" = "$NONE" ] || fail "thread ${t##*/} ($(cat "$t/comm")): $(caps "$t/status")"
		threads=$((threads + 1))
	done
	# The main thread, the workers, the lease and metrics threads.
	[ "$threads" -ge 4 ]
	reader=$(reader_pid)
	[ -n "$reader" ]
	[ "$(ps -o user= -p "$reader")" = nobody ]
	[ "$(caps "/proc/$reader/status")" = "$READ" ] || fail "reader: $(caps "/proc/$reader/status")"
	[ "$(ls /proc/"$reader"/task | wc -l)" -eq 1 ]
	# Its socket, and stdin, stdout and stderr (the log): nothing else.
	[ "$(ls /proc/"$reader"/fd | sort -n | tr '\n' ' ')" = "0 1 2 3 " ]
}

@test "a reload as nobody picks up a new root-only 0600 key and certificate through the reader" {
	mkdir -m 0700 "$LAB_DIR/keys"
	install -m 0600 "$PKI/server.pem" "$PKI/server.key" "$LAB_DIR/keys/"
	agent_conf "user = nobody"
	sed -i "s|$PKI/server\.|$LAB_DIR/keys/server.|" "$LAB_DIR/aopgate.conf"
	agent_up
	agent_log_wait "event=start user=nobody"
	(cd "$PKI" && _leaf edge server2 origin-2 "subjectAltName=DNS:origin.test
extendedKeyUsage=serverAuth")
	install -m 0600 "$PKI/server2.pem" "$LAB_DIR/keys/server.pem"
	install -m 0600 "$PKI/server2.key" "$LAB_DIR/keys/server.key"
	kill -HUP "$AGENT_PID"
	agent_log_wait "event=reload result=ok gen=2"
	run in_client sh -c "openssl s_client -connect $ORIGIN4:443 -servername origin.test \
		-cert $PKI/edge1.pem -key $PKI/edge1.key </dev/null 2>/dev/null |
		openssl x509 -noout -subject"
	assert_output --partial "CN = origin-2"
	run fetch edge1
	assert_success
}

@test "the reader answers a compromised agent with the files the configuration names, and refuses any other request" {
	agent_conf "user = nobody"
	agent_up
	agent_log_wait "event=start user=nobody"
	run python3 "$BATS_TEST_DIRNAME/readerpeek.py" "$AGENT_PID" "O/etc/shadow"
	assert_success
	assert_output "end 1"
	agent_log_wait 'event=reader result=refused request="?O/etc/shadow'
	run python3 "$BATS_TEST_DIRNAME/readerpeek.py" "$AGENT_PID" L
	assert_success
	assert_line "file 0 $PKI/server.key -> $PKI/server.key"
	assert_line "end 0"
	refute_output --partial shadow
	local named=" $LAB_DIR/aopgate.conf $PKI/server.pem $PKI/server.key $PKI/edge.pem $LAB_DIR/edge.crl $LAB_DIR/other-ca.pem $PKI/agentup.pem $PKI/agentup.key "
	while read -r kind _ path _; do
		[ "$kind" = file ] || continue
		[[ "$named" == *" $path "* ]] || fail "served $path, which the configuration does not name"
	done <<<"$output"
	# The agent's own reload is unharmed.
	kill -HUP "$AGENT_PID"
	agent_log_wait "event=reload result=ok gen=2"
}

@test "with its reader gone, a reload fails with the reason, the running configuration stays and the agent serves" {
	agent_conf "user = nobody"
	agent_up
	agent_log_wait "event=start user=nobody"
	kill -9 "$(reader_pid)"
	agent_log_wait "event=reader result=fail pid=[0-9]+ signal=9 note=\"reloads fail until aopgated is restarted\""
	kill -HUP "$AGENT_PID"
	agent_log_wait "event=reload result=fail error=\"the reader process is gone.*restart aopgated"
	run grep -c "event=reload result=ok" "$LAB_DIR/agent.log"
	assert_output 0
	run fetch edge1
	assert_success
}

@test "the reader exits with an agent killed with -9" {
	agent_conf "user = nobody"
	agent_up
	agent_log_wait "event=start user=nobody"
	local reader
	reader=$(reader_pid)
	[ -n "$reader" ]
	kill -9 "$AGENT_PID"
	for _ in $(seq 50); do
		kill -0 "$reader" 2>/dev/null || break
		sleep 0.1
	done
	run kill -0 "$reader"
	assert_failure
}

@test "with user = root and for aopgated -t there is no reader" {
	agent_conf "user = root"
	agent_files
	# LeakSanitizer cannot run under ptrace: in the sanitized build this
	# one traced run checks no leaks (the untraced runs still do).
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		run strace -f -qq -e trace=clone,clone3,fork,vfork \
		-o "$LAB_DIR/check.strace" "$AOPGATED" -t -c "$LAB_DIR/aopgate.conf"
	assert_success
	run grep -cE "clone|fork" "$LAB_DIR/check.strace"
	assert_output 0
	agent_up
	agent_log_wait "event=start user=root uid=0 "
	[ -z "$(ps -o pid= --ppid "$AGENT_PID")" ]
	kill -HUP "$AGENT_PID"
	agent_log_wait "event=reload result=ok gen=2"
}

@test "the PROXY v2 header carries the client address, SNI, ALPN, TLS version, CN and fingerprint" {
	agent_conf
	cat >>"$LAB_DIR/aopgate.conf" <<-EOC
	[site capture.test]
	cert = $PKI/server.pem
	key = $PKI/server.key
	client_ca = $PKI/edge.pem
	alpn = h2, http/1.1
	upstream = 127.0.0.1:8081
	proxy_protocol = v2
	EOC
	spawn capture "$LAB_O" timeout 20 socat -u TCP-LISTEN:8081,reuseaddr \
		"OPEN:$LAB_DIR/capture.bin,creat"
	wait_port 8081
	agent_up
	(echo ping; sleep 1) | in_client timeout 3 openssl s_client -quiet \
		-connect $ORIGIN4:443 -servername capture.test -alpn http/1.1 \
		-cert "$PKI/edge1.pem" -key "$PKI/edge1.key" >/dev/null 2>&1 || true
	agent_log_wait "event=close reason=done site=capture.test"
	hex=$(hexof <"$LAB_DIR/capture.bin")
	# signature, v2 PROXY, TCP over IPv4, then 10.77.0.2 -> 10.77.0.1 port 443
	[[ $hex == 0d0a0d0a000d0a515549540a2111* ]]
	[[ $hex == 0d0a0d0a000d0a515549540a2111????0a4d00020a4d0001????01bb* ]]
	[[ $hex == *010008"$(hexof http/1.1)"* ]]
	[[ $hex == *02000c"$(hexof capture.test)"* ]]
	# PP2_TYPE_SSL: client = SSL | CERT_CONN, verify = 0, then VERSION "TLSv1.3"
	[[ $hex == *20????0300000000210007"$(hexof TLSv1.3)"* ]]
	[[ $hex == *220006"$(hexof edge-1)"* ]]
	[[ $hex == *e00020"$(sha256_of "$PKI/edge1.pem")"* ]]
	[[ $hex == *70696e670a ]]
}

@test "without the gate's maps the agent refuses to start and says how to fix it" {
	agent_files
	run in_origin timeout 10 "$AOPGATED" -c "$LAB_DIR/aopgate.conf"
	assert_failure
	assert_output --partial "event=maps result=fail"
	assert_output --partial "attach the gate first"
}

# reload_refused FILE WHY: after FILE was broken, a SIGHUP fails naming
# FILE and WHY, the puller still pulls under the running configuration,
# and once FILE is restored (from FILE.good) the next reload succeeds.
reload_refused() {
	local gen
	gen=$(grep -c "event=reload result=ok" "$LAB_DIR/agent.log" || true)
	kill -HUP "$AGENT_PID"
	agent_log_wait "event=reload result=fail error=\".*:[0-9]+: [a-z_]+ $1:? .*$2"
	agent_log_wait "event=reload result=fail note=\"the running configuration stays\""
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
	cp "$1.good" "$1"
	kill -HUP "$AGENT_PID"
	for _ in $(seq 50); do
		[ "$(grep -c "event=reload result=ok" "$LAB_DIR/agent.log" || true)" -gt "$gen" ] && break
		sleep 0.1
	done
	[ "$(grep -c "event=reload result=ok" "$LAB_DIR/agent.log" || true)" -gt "$gen" ]
}

@test "reload: a key that is not the certificate's, a garbage CA file or CRL keeps the running configuration" {
	agent_conf
	for f in server.key edge.pem; do
		cp "$PKI/$f" "$LAB_DIR/$f"
		cp "$PKI/$f" "$LAB_DIR/$f.good"
	done
	sed -i -e "0,\|^key = $PKI/server.key\$|s||key = $LAB_DIR/server.key|" \
		-e "0,\|^client_ca = $PKI/edge.pem\$|s||client_ca = $LAB_DIR/edge.pem|" \
		"$LAB_DIR/aopgate.conf"
	agent_up
	cp "$LAB_DIR/edge.crl" "$LAB_DIR/edge.crl.good"
	run fetch edge1
	assert_success
	cp "$PKI/edge1.key" "$LAB_DIR/server.key"
	reload_refused "$LAB_DIR/server.key" "key values mismatch"
	echo "-----BEGIN CERTIFICATE-----garbage" >"$LAB_DIR/edge.pem"
	reload_refused "$LAB_DIR/edge.pem" "holds no PEM certificate"
	echo "not a CRL" >"$LAB_DIR/edge.crl"
	reload_refused "$LAB_DIR/edge.crl" "holds no CRL that parses"
}
