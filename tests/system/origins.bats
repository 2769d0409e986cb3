#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Every origin server of the Authenticated Origin Pulls guide behind the
# agent, configured from its snippet in dist/origin/: a real curl puller
# with a client certificate, the server's own access log naming the
# address it learned, and its backend port closed to everyone else.

load origins

setup_file() {
	export PKI=$BATS_FILE_TMPDIR/pki
	pki_make "$PKI"
}

setup() { lab_up; }
teardown() { lab_down; }

@test "with a tls:// upstream the PROXY header goes in clear before the ClientHello" {
	gate_attach -m native
	spawn capture "$LAB_O" timeout 20 socat -u TCP-LISTEN:8443,bind=127.0.0.1,reuseaddr \
		"OPEN:$LAB_DIR/capture.bin,creat"
	wait_port 8443
	origin_agent_conf tls://127.0.0.1:8443 v1
	agent_start
	run fetch edge1
	assert_failure
	# The capture never answers the ClientHello: the agent gives up.
	agent_log_wait "event=close reason=upstream_error site=origin.test" 5
	hex=$(hexof <"$LAB_DIR/capture.bin")
	# "PROXY TCP4 10.77.0.2 10.77.0.1 PORT 443\r\n", then a TLS handshake record
	[[ $hex == "$(hexof "PROXY TCP4 $CLIENT4 $ORIGIN4 ")"* ]]
	[[ $hex =~ ^$(hexof "PROXY TCP4 $CLIENT4 $ORIGIN4 ")([0-9a-f]{2})+"$(hexof " 443")"0d0a1603 ]]
}

@test "Apache with RemoteIPProxyProtocol logs the puller's address from the PROXY v2 header" {
	origin_behind apache apache-proxy.conf 127.0.0.1:8080 v2
	run fetch edge1
	assert_success
	assert_output "hello from the origin"
	access_log_wait origin-access.log "^$CLIENT4 127\.0\.0\.1 \"GET / HTTP/1\.1\" 200$"
	backend_dropped 8080
}

@test "Apache with SSLVerifyClient require reads PROXY v2 before TLS and gets the agent's certificate" {
	origin_behind apache apache-tls.conf tls://127.0.0.1:8443 v2
	run fetch edge1
	assert_success
	assert_output "hello from the origin"
	access_log_wait origin-access.log \
		"^$CLIENT4 127\.0\.0\.1 \"GET / HTTP/1\.1\" 200 CN=agent-upstream$"
	backend_dropped 8443
}

@test "HAProxy with accept-proxy logs the puller's address and, from PROXY v2, the SNI" {
	origin_behind haproxy haproxy-proxy.cfg 127.0.0.1:8080 v2
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
	access_log_wait haproxy.log "^$CLIENT4 origin\.test \"GET / HTTP/1\.1\" 200$"
	backend_dropped 8080
}

@test "HAProxy with accept-proxy ssl and verify required reads PROXY v2 before TLS" {
	origin_behind haproxy haproxy-tls.cfg tls://127.0.0.1:8443 v2
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
	access_log_wait haproxy.log \
		"^$CLIENT4 origin\.test \"GET / HTTP/1\.1\" 200 /CN=agent-upstream$"
	backend_dropped 8443
}

@test "nginx with listen proxy_protocol logs the puller's address from the PROXY v1 header" {
	origin_behind nginx nginx-proxy.conf 127.0.0.1:8080 v1
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
	access_log_wait origin-access.log "^$CLIENT4 $CLIENT4 \"GET / HTTP/1\.1\" 200$"
	backend_dropped 8080
}

@test "nginx with listen ssl proxy_protocol and ssl_verify_client on reads PROXY v1 before TLS" {
	origin_behind nginx nginx-tls.conf tls://127.0.0.1:8443 v1
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
	access_log_wait origin-access.log \
		"^$CLIENT4 $CLIENT4 \"GET / HTTP/1\.1\" 200 \"CN=agent-upstream\"$"
	backend_dropped 8443
}

@test "Caddy 2.6 without a PROXY listener serves the puller and logs the agent's address" {
	# Debian 12's Caddy; a newer one carries the address (README) and
	# wants this test to read its PROXY header instead.
	! caddy list-modules | grep -q caddy.listeners.proxy_protocol ||
		fail "this Caddy has the proxy_protocol listener wrapper: test it with PROXY"
	origin_behind caddy caddy-plain.Caddyfile 127.0.0.1:8080 off
	run fetch edge1
	assert_success
	assert_output "hello 127.0.0.1"
	access_log_wait origin-access.log '"remote_ip":"127\.0\.0\.1".*"status":200'
	backend_dropped 8080
}

@test "Caddy with client_auth require_and_verify gets the agent's certificate and logs the agent's address" {
	origin_behind caddy caddy-tls.Caddyfile tls://127.0.0.1:8443 off
	run fetch edge1
	assert_success
	assert_output "hello 127.0.0.1 CN=agent-upstream"
	access_log_wait origin-access.log '"remote_ip":"127\.0\.0\.1".*"status":200'
	backend_dropped 8443
}
