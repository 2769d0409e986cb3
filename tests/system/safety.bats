#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The agent as the one owner of its gate: one aopgated per pin root, a
# pin root only root may write, verified flows on a lease that ends with
# the agent, and descriptors for max_connections.

load agent

setup_file() {
	export PKI=$BATS_FILE_TMPDIR/pki
	pki_make "$PKI"
}

setup() { lab_up; }
teardown() { lab_down; }

# flow_expires_in: seconds until the client's verified entry expires
# (negative once expired), from `flows --json`; empty if there is none.
flow_expires_in() {
	gate flows --json | jq -r --arg s "$CLIENT4" \
		'[.verified[] | select(.src | startswith($s + ":"))][0].expires_in_ns // empty |
		 . / 1e9 | floor'
}

# talk SECONDS...: one mTLS connection that sends a GET after each pause
# (keep-alive) and prints what comes back.
talk() {
	local pauses=("$@")
	{
		for p in "${pauses[@]}"; do
			sleep "$p"
			printf 'GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n'
		done
		sleep 1
	} | in_client timeout $((${#pauses[@]} * 10 + 20)) openssl s_client -quiet -no_ign_eof \
		-connect "$ORIGIN4:443" -servername origin.test -cert "$PKI/edge1.pem" \
		-key "$PKI/edge1.key" -CAfile "$PKI/edge.pem" 2>/dev/null
}

@test "a second aopgated on the same pin root fails at once and the first keeps its flows" {
	agent_up
	hold edge1 8
	agent_log_wait "event=verify result=ok"
	# Other ports, so only the pin root is shared and nothing else stops it.
	sed -e 's/^listen = .*/listen = 0.0.0.0:8443/' -e 's/^metrics = .*/metrics = off/' \
		"$LAB_DIR/aopgate.conf" >"$LAB_DIR/second.conf"
	SECONDS=0
	run in_origin timeout 10 "$AOPGATED" -c "$LAB_DIR/second.conf"
	assert_failure
	[ "$SECONDS" -le 2 ]
	assert_output --partial "another aopgated (pid $AGENT_PID) holds $PIN"
	refute_output --partial "event=sweep"
	run gate flows
	assert_output --partial "$CLIENT4"
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
	[ "$(counter drop-unknown)" -eq 0 ]
	wait "$held" || true
}

@test "aopgated -t does not touch the maps of a running agent" {
	agent_up
	hold edge1 6
	agent_log_wait "event=verify result=ok"
	run in_origin "$AOPGATED" -t -c "$LAB_DIR/aopgate.conf"
	assert_success
	assert_output --partial ": ok"
	refute_output --partial "event=sweep"
	refute_output --partial "event=maps"
	run gate flows
	assert_output --partial "$CLIENT4"
	run fetch edge1
	assert_success
	wait "$held" || true
}

@test "an agent restarted after kill -9 takes the pin root over" {
	agent_up
	kill -9 "$AGENT_PID"
	lab_wait_closed "$LAB_O" 443 5
	agent_start
	agent_log_wait "event=start user=.* result=ok"
	run fetch edge1
	assert_success
}

@test "after kill -9 with no restart, verified entries expire within the lease" {
	agent_conf "flow_lease = 3s"
	agent_up
	hold edge1 10
	agent_log_wait "event=verify result=ok"
	n=$(flow_expires_in)
	[ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -le 3 ]
	kill -9 "$AGENT_PID"
	# The lease (3 s) and a margin for a loaded machine.
	for _ in $(seq 50); do
		n=$(flow_expires_in)
		[ -n "$n" ] && [ "$n" -lt 0 ] && break
		sleep 0.1
	done
	[ -n "$n" ] && [ "$n" -lt 0 ]
	run gate flows
	assert_output --regexp "verified +${CLIENT4//./\\.}:.* expired"
	wait "$held" || true
}

@test "a connection open longer than the lease keeps passing while the agent runs" {
	agent_conf "flow_lease = 3s"
	agent_up
	# Two requests on one connection, the second after two leases.
	run talk 1 7
	assert_success
	[ "$(grep -c "^hello $CLIENT4" <<<"$output")" -eq 2 ]
	[ "$(counter drop-unknown)" -eq 0 ]
	agent_log_wait "event=close reason=done"
}

@test "a flow's lease is renewed: it stays within the lease while the connection is open" {
	agent_conf "flow_lease = 3s"
	agent_up
	hold edge1 8
	agent_log_wait "event=verify result=ok"
	sleep 5
	n=$(flow_expires_in)
	[ -n "$n" ] && [ "$n" -ge 1 ]
	wait "$held" || true
}

@test "a pin root writable by others is refused, naming its path, owner and mode" {
	gate_attach -m native
	agent_files
	chmod 0777 "$PIN"
	run in_origin timeout 10 "$AOPGATED" -c "$LAB_DIR/aopgate.conf"
	assert_failure
	assert_output --partial "pin root $PIN is owned by root with mode 0777"
	refute_output --partial "event=sweep"
	run in_origin "$AOPGATED" -t -c "$LAB_DIR/aopgate.conf"
	assert_failure
	assert_output --partial "pin root $PIN is owned by root with mode 0777"
}

@test "a pin root not owned by root is refused" {
	gate_attach -m native
	agent_files
	chown nobody "$PIN"
	run in_origin timeout 10 "$AOPGATED" -c "$LAB_DIR/aopgate.conf"
	assert_failure
	assert_output --partial "pin root $PIN is owned by nobody with mode 0700"
}

@test "with a hard RLIMIT_NOFILE below max_connections the agent warns with the figure to set" {
	agent_conf "max_connections = 1000"
	agent_files
	run in_origin prlimit --nofile=1024:1024 "$AOPGATED" -t -c "$LAB_DIR/aopgate.conf"
	assert_success
	assert_output --partial "max_connections = 1000 needs 2128 descriptors but the hard limit is 1024"
	assert_output --partial "LimitNOFILE=2128"
	gate_attach -m native
	origin_up
	spawn agent "$LAB_O" prlimit --nofile=1024:1024 "$AOPGATED" -c "$LAB_DIR/aopgate.conf"
	AGENT_PID=$LAB_SPAWNED
	wait_port 443
	agent_log_wait "event=limits nofile_hard=1024 nofile_needed=2128"
	run fetch edge1
	assert_success
}

@test "the agent raises its soft RLIMIT_NOFILE to what max_connections needs" {
	agent_conf "max_connections = 1000"
	gate_attach -m native
	agent_files
	origin_up
	# A soft limit below the need under the hard limit this machine has.
	hard=$(ulimit -Hn)
	[ "$hard" = unlimited ] || [ "$hard" -ge 2128 ] || fail "the hard RLIMIT_NOFILE ($hard) is below 2128"
	spawn agent "$LAB_O" prlimit --nofile="1024:$hard" "$AOPGATED" -c "$LAB_DIR/aopgate.conf"
	AGENT_PID=$LAB_SPAWNED
	wait_port 443
	run grep "Max open files" "/proc/$AGENT_PID/limits"
	assert_output --regexp "Max open files +2128 +$hard "
	refute grep -q "event=limits" "$LAB_DIR/agent.log"
}
