#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Operating the agent like any daemon: its version, logs that journald
# sorts by priority, systemd's notification protocol and socket
# activation, a metrics endpoint no scraper can stall, health, and the
# monitoring files shipped in dist/.

load agent

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup_file() {
	export PKI=$BATS_FILE_TMPDIR/pki
	pki_make "$PKI"
}

setup() { lab_up; }
teardown() { lab_down; }

# agent_env VAR=VALUE...: agent_up, with the agent's environment extended.
agent_env() {
	gate_attach -m native
	agent_files
	origin_up
	spawn agent "$LAB_O" env "$@" "$AOPGATED" -c "$LAB_DIR/aopgate.conf"
	AGENT_PID=$LAB_SPAWNED
	wait_port 443
}

scrape() { in_origin curl -sS --max-time "${2:-3}" "http://127.0.0.1:9901${1:-/metrics}"; }

# notify_up: a datagram socket standing in for systemd's; messages in notify.log.
notify_up() {
	NOTIFY=$LAB_DIR/notify.sock
	# The agent sends after it has become nobody: it must reach the socket.
	chmod o+x "$LAB_DIR"
	spawn notify-listener "$LAB_O" python3 "$BATS_TEST_DIRNAME/notify.py" "$NOTIFY" \
		"$LAB_DIR/notify.log"
	for _ in $(seq 50); do
		[ -S "$NOTIFY" ] && return 0
		sleep 0.1
	done
	fail "the notify listener did not bind $NOTIFY"
}

# notify_wait REGEX [SECONDS]: until a notification matches.
notify_wait() {
	for _ in $(seq $((${2:-5} * 10))); do
		grep -qE -- "$1" "$LAB_DIR/notify.log" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no notification matches: $1"
}

@test "aopgated and aopgate --version and -V print the version in VERSION" {
	run "$AOPGATED" --version
	assert_success
	assert_output "aopgated $(cat "$TOP/VERSION")"
	run "$AOPGATED" -V
	assert_output "aopgated $(cat "$TOP/VERSION")"
	run "$AOPGATE" --version
	assert_success
	assert_output "aopgate $(cat "$TOP/VERSION")"
	run "$AOPGATE" -V
	assert_output "aopgate $(cat "$TOP/VERSION")"
}

@test "/metrics says which version runs: aopgate_build_info" {
	agent_up
	run scrape
	assert_output --partial "aopgate_build_info{version=\"$(cat "$TOP/VERSION")\"} 1"
}

@test "event=start is logged once, with the user and the version" {
	agent_up
	agent_log_wait "event=start user=nobody uid=[0-9]+ result=ok version=$(cat "$TOP/VERSION") "
	run grep -c "event=start" "$LAB_DIR/agent.log"
	assert_output 1
}

@test "under journald each line starts with its syslog priority: errors <3>, refusals <4>, successes <6>" {
	agent_env JOURNAL_STREAM=1:1
	run fetch edge1
	assert_success
	run fetch -
	assert_failure
	agent_log_wait "event=verify result=fail reason=no_cert"
	echo "nonsense" >>"$LAB_DIR/aopgate.conf"
	kill -HUP "$AGENT_PID"
	agent_log_wait "event=reload result=fail note="
	run grep -vcE '^<[3-7]>ts=' "$LAB_DIR/agent.log"
	assert_output 0
	grep -qE '^<6>ts=[^ ]+ level=info event=verify result=ok ' "$LAB_DIR/agent.log"
	grep -qE '^<4>ts=[^ ]+ level=warn event=verify result=fail reason=no_cert ' "$LAB_DIR/agent.log"
	grep -qE '^<3>ts=[^ ]+ level=error event=reload result=fail ' "$LAB_DIR/agent.log"
	# Each level has exactly one priority.
	run grep -cvE '^(<3>[^ ]+ level=error|<4>[^ ]+ level=warn|<6>[^ ]+ level=info|<7>[^ ]+ level=debug) ' \
		"$LAB_DIR/agent.log"
	assert_output 0
}

@test "without JOURNAL_STREAM lines carry no priority prefix" {
	agent_up
	agent_log_wait "event=start"
	run grep -c '^<' "$LAB_DIR/agent.log"
	assert_output 0
}

@test "log_format = json writes one JSON object per line with the logfmt keys" {
	agent_conf "log_format = json"
	agent_up
	run fetch edge1
	assert_success
	agent_log_wait '"event":"close"'
	while read -r line; do
		jq -e . <<<"$line" >/dev/null || fail "not JSON: $line"
	done <"$LAB_DIR/agent.log"
	run jq -r 'select(.event == "verify") | [.level, .result, .reason, .site, .subject] | join(" ")' \
		"$LAB_DIR/agent.log"
	assert_output "info ok ok origin.test CN=edge-1"
	run jq -r 'select(.event == "start") | .result' "$LAB_DIR/agent.log"
	assert_output ok
}

@test "log_format with another value is a file:line error" {
	agent_conf "log_format = yaml"
	agent_files
	run "$AOPGATED" -t -c "$LAB_DIR/aopgate.conf"
	assert_failure
	assert_output --regexp "aopgate.conf:[0-9]+: log_format: 'yaml' is not logfmt or json"
}

@test "systemd notify: READY=1 with a STATUS once listening, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1" {
	notify_up
	agent_env NOTIFY_SOCKET="$NOTIFY"
	notify_wait '^READY=1 STATUS=5 sites, 0 connections$'
	# Listening and the maps open before READY=1: both are in the start line.
	grep -q 'event=start .*maps=open' "$LAB_DIR/agent.log"
	hold edge1 3
	notify_wait '^STATUS=5 sites, 1 connections$'
	kill -HUP "$AGENT_PID"
	agent_log_wait "event=reload result=ok"
	notify_wait '^READY=1 '
	run grep -nE '^(RELOADING|READY)=1' "$LAB_DIR/notify.log"
	assert_line --index 0 --regexp '^1:READY=1 '
	assert_line --index 1 --regexp '^[0-9]+:RELOADING=1 MONOTONIC_USEC=[0-9]+$'
	assert_line --index 2 --regexp '^[0-9]+:READY=1 '
	kill -TERM "$AGENT_PID"
	notify_wait '^STOPPING=1$'
	wait "$held" || true
}

@test "socket activation: the agent accepts on the listen socket systemd-socket-activate passed" {
	agent_conf
	sed -i "s|^listen = .*|listen = $ORIGIN4:443|" "$LAB_DIR/aopgate.conf"
	gate_attach -m native
	agent_files
	origin_up
	spawn agent "$LAB_O" systemd-socket-activate -l "$ORIGIN4:443" \
		"$AOPGATED" -c "$LAB_DIR/aopgate.conf"
	wait_port 443
	# The activator starts the agent on the first connection, which waits in the backlog.
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
	agent_log_wait "event=start .* listeners=1 activated=1 "
}

@test "an idle connection to the metrics port does not delay a scrape" {
	agent_up
	# Three scrapers that connect and never send a request.
	for i in 1 2 3; do
		spawn idle-$i "$LAB_O" python3 -c \
			'import socket,time; s=socket.create_connection(("127.0.0.1",9901)); time.sleep(30)'
	done
	for _ in $(seq 50); do
		[ "$(in_origin ss -Htn state established '( dport = :9901 )' | wc -l)" -ge 3 ] && break
		sleep 0.1
	done
	run scrape /metrics 5
	assert_success
	assert_output --partial "aopgate_connections_active"
	# Served while all three were still held open: a server that waits for
	# an idle client to time out answers only after that client is gone.
	run in_origin ss -Htn state established '( dport = :9901 )'
	[ "${#lines[@]}" -ge 3 ]
}

@test "HEAD /metrics answers 200 without a body; other methods 405, other paths 404" {
	agent_up
	run in_origin curl -sS -I --max-time 3 http://127.0.0.1:9901/metrics
	assert_line --regexp '^HTTP/1.1 200'
	run in_origin curl -sS --max-time 3 -o /dev/null -w '%{http_code} %{size_download}' --head \
		http://127.0.0.1:9901/metrics
	assert_output "200 0"
	run in_origin curl -sS --max-time 3 -o /dev/null -w '%{http_code}' -X POST \
		http://127.0.0.1:9901/metrics
	assert_output 405
	run in_origin curl -sS --max-time 3 -o /dev/null -w '%{http_code}' http://127.0.0.1:9901/nope
	assert_output 404
}

@test "/healthz is 200 with the gate's maps pinned and 503 once they are removed" {
	agent_up
	run in_origin curl -sS --max-time 3 -w '%{http_code}' http://127.0.0.1:9901/healthz
	assert_output "ok
200"
	[ "$(metric aopgate_gate_links)" -eq 1 ]
	rm -rf "${PIN:?}"/*
	run in_origin curl -sS --max-time 3 -w '%{http_code}' http://127.0.0.1:9901/healthz
	assert_output --partial "no longer pinned"
	assert_output --partial 503
	[ "$(metric aopgate_gate_links)" -eq 0 ]
}

@test "certificate expiry: each site's server certificate, client CA and last puller's certificate, as Unix times" {
	agent_up
	want=$(date -d "$(openssl x509 -enddate -noout -in "$PKI/server.pem" | cut -d= -f2)" +%s)
	[ "$(metric "aopgate_server_cert_not_after_seconds{site=\"origin.test\",file=\"$PKI/server.pem\"}")" = "$want" ]
	want=$(date -d "$(openssl x509 -enddate -noout -in "$PKI/edge.pem" | cut -d= -f2)" +%s)
	[ "$(metric "aopgate_client_ca_not_after_seconds{site=\"origin.test\",file=\"$PKI/edge.pem\"}")" = "$want" ]
	want=$(date -d "$(openssl x509 -enddate -noout -in "$PKI/other.pem" | cut -d= -f2)" +%s)
	[ "$(metric "aopgate_client_ca_not_after_seconds{site=\"other.test\",file=\"$LAB_DIR/other-ca.pem\"}")" = "$want" ]
	# The puller's own certificate, once one has been verified.
	run scrape
	refute_output --partial 'aopgate_client_cert_not_after_seconds{'
	run fetch edge1
	assert_success
	want=$(date -d "$(openssl x509 -enddate -noout -in "$PKI/edge1.pem" | cut -d= -f2)" +%s)
	[ "$(metric 'aopgate_client_cert_not_after_seconds{site="origin.test"}')" = "$want" ]
}

@test "per-site handshake latency, map fill and process_* series; promtool check metrics passes" {
	agent_up
	run fetch edge1
	assert_success
	[ "$(metric 'aopgate_site_handshake_seconds_count{site="origin.test"}')" -eq 1 ]
	[ "$(metric 'aopgate_site_handshake_seconds_bucket{site="origin.test",le="+Inf"}')" -eq 1 ]
	[ "$(metric 'aopgate_map_max_entries{map="verified"}')" -gt 0 ]
	[ "$(metric 'process_open_fds')" -gt 5 ]
	[ "$(metric 'process_resident_memory_bytes')" -gt 1000000 ]
	start=$(metric process_start_time_seconds)
	[ "${start%.*}" -le "$(date +%s)" ] && [ "${start%.*}" -gt $(( $(date +%s) - 60 )) ]
	scrape >"$LAB_DIR/scrape.txt"
	run promtool check metrics <"$LAB_DIR/scrape.txt"
	assert_success
}

@test "the Prometheus alerting rules pass promtool check rules" {
	run promtool check rules "$TOP/dist/prometheus/aopgate.rules.yml"
	assert_success
	assert_output --partial "SUCCESS"
}

@test "every series the alerting rules use is one the agent exports" {
	agent_up
	scrape >"$LAB_DIR/scrape.txt"
	for s in $(grep -oE '\baopgate_[a-z_]+' "$TOP/dist/prometheus/aopgate.rules.yml" | sort -u); do
		grep -qE "^(# TYPE )?${s}[ {]" "$LAB_DIR/scrape.txt" ||
			grep -qE "^# TYPE ${s%_bucket} histogram" "$LAB_DIR/scrape.txt" ||
			fail "the rules use $s, which /metrics does not export"
	done
}

@test "the Grafana dashboard is valid JSON whose queries name exported series" {
	run jq -e '.panels | length > 0' "$TOP/dist/grafana/aopgate.json"
	assert_success
	run jq -r '.. | .expr? // empty' "$TOP/dist/grafana/aopgate.json"
	assert_success
	[ "${#lines[@]}" -ge 6 ]
}

@test "aopgated -t reads include = conf.d/*.conf and names the included file in an error" {
	agent_files
	mkdir "$LAB_DIR/conf.d"
	awk '/^\[site /{exit} {print}' "$LAB_DIR/aopgate.conf" >"$LAB_DIR/main.conf"
	echo "include = conf.d/*.conf" >>"$LAB_DIR/main.conf"
	awk '/^\[site default\]/{p=1} p' "$LAB_DIR/aopgate.conf" >"$LAB_DIR/conf.d/10-default.conf"
	awk '/^\[site origin.test\]/{p=1} /^\[site pinned.test\]/{p=0} p' "$LAB_DIR/aopgate.conf" \
		>"$LAB_DIR/conf.d/20-origin.conf"
	run "$AOPGATED" -t -c "$LAB_DIR/main.conf"
	assert_success
	assert_line "$LAB_DIR/main.conf: ok (2 sites)"
	echo "upstream_typo = 1" >>"$LAB_DIR/conf.d/20-origin.conf"
	run "$AOPGATED" -t -c "$LAB_DIR/main.conf"
	assert_failure
	assert_output --regexp "^$LAB_DIR/conf.d/20-origin.conf:[0-9]+: unknown key 'upstream_typo'"
	# A certificate that does not load is named by the included file too.
	sed -i -e '/^upstream_typo/d' -e 's|^cert *=.*|cert = /nonexistent/server.pem|' \
		"$LAB_DIR/conf.d/20-origin.conf"
	line=$(grep -n '^cert = /nonexistent' "$LAB_DIR/conf.d/20-origin.conf" | cut -d: -f1)
	run "$AOPGATED" -t -c "$LAB_DIR/main.conf"
	assert_failure
	assert_output --regexp "^$LAB_DIR/conf.d/20-origin.conf:$line: cert /nonexistent/server.pem"
}
