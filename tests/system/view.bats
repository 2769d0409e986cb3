#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Seeing what the gate does: the drop events (`aopgate drops`), the live
# view (`aopgate top`, in a terminal under tmux), why a source is denied
# (`deny list`) and whose flows pass (`flows`), on a real veth with the
# agent and nginx.

load agent

setup_file() {
	export PKI=$BATS_FILE_TMPDIR/pki
	pki_make "$PKI"
}

setup() { lab_up; }
teardown() { lab_down; }

# rollout_up: the rollout posture, gate in monitor mode and the agent with
# verify = optional on origin.test.
rollout_up() {
	agent_conf "" "verify = optional"
	sed -i 's/^\(allow_san_uri\)/;\1/' "$LAB_DIR/aopgate.conf"
	gate_attach -m native --mode monitor
	agent_files
	origin_up
	agent_start
}

# hold_plain SECONDS: a TLS connection without a client certificate, held
# open for SECONDS; its pid goes to $held.
hold_plain() {
	(sleep "$1" | in_client timeout $(($1 + 2)) openssl s_client -connect "$ORIGIN4:443" \
		-servername origin.test -CAfile "$PKI/edge.pem" >"$LAB_DIR/sclient-plain.log" 2>&1) &
	held=$!
}

# flow_wait JQ_FILTER: until `flows --json` has a verified entry matching it (5 s).
flow_wait() {
	for _ in $(seq 50); do
		gate flows --json | jq -e "[.verified[] | select($1)] | length > 0" >/dev/null &&
			return 0
		sleep 0.1
	done
	gate flows --json >&3
	fail "no verified flow matches $1"
}

# top_up ARGS...: `aopgate top ARGS` in an 80x30 terminal of a private tmux
# server, in the origin namespace; the server's pid goes to the lab's pids.
top_up() {
	TMUX_SOCK=view$$$BATS_TEST_NUMBER
	TERM=xterm tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -s top -x 80 -y 30 \
		"nsenter --net=/run/netns/$LAB_O $AOPGATE --pin-root $PIN top $*; sleep 30"
	lab_track "$(tmux -L "$TMUX_SOCK" display-message -p '#{pid}')"
}

# screen_wait REGEX: until the tmux pane shows a line matching REGEX (10 s).
screen_wait() {
	for _ in $(seq 100); do
		tmux -L "$TMUX_SOCK" capture-pane -p -t top >"$LAB_DIR/screen.log"
		grep -qE -- "$1" "$LAB_DIR/screen.log" && return 0
		sleep 0.1
	done
	fail "the top screen never showed: $1"
}

@test "in monitor mode, drops --json names a stranger outside the allowlist with would-drop-not-allowed" {
	rollout_up
	gate allow add 10.99.0.0/16
	gate set allowlist on
	run fetch -
	assert_success
	assert_output "hello $CLIENT4"
	run gate drops --json
	assert_success
	echo "$output" | jq -e --arg a "$CLIENT4" \
		'select(.source == $a and .verdict == "would-drop-not-allowed" and .monitor and .dport == 443)' \
		>/dev/null || fail "no would-drop-not-allowed event from $CLIENT4: $output"
}

@test "drops reads each queued event once, and events_rate 0 sends none" {
	gate_attach -m native
	run connect $ORIGIN4 8080
	assert_failure
	run gate drops
	assert_output --regexp "$CLIENT4:[0-9]+ +port 8080 +tcp +drop-backend"
	run gate drops
	assert_output ""

	gate set events_rate 0
	run connect $ORIGIN4 8080
	assert_failure
	run gate drops
	assert_success
	refute_output --partial drop-backend
	assert_output --partial "events_rate is 0"
}

@test "drops --follow prints events as they come until SIGTERM" {
	gate_attach -m native
	spawn drops "$LAB_O" "$AOPGATE" --pin-root "$PIN" drops --follow
	pid=$LAB_SPAWNED
	sleep 0.3
	run connect $ORIGIN4 8080
	for _ in $(seq 50); do
		grep -q drop-backend "$LAB_DIR/drops.log" && break
		sleep 0.1
	done
	grep -qE "$CLIENT4:[0-9]+ +port 8080 +tcp +drop-backend" "$LAB_DIR/drops.log"
	kill -TERM "$pid"
	for _ in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	run kill -0 "$pid"
	assert_failure
}

@test "top in a terminal shows the verdict rates and the dropped source" {
	gate_attach -m native
	top_up --interval 500ms
	screen_wait "^aopgate top +mode enforce"
	for _ in 1 2 3; do
		connect $ORIGIN4 8080 || true
	done
	screen_wait "^drop-backend +[0-9]+ +[1-9][0-9]*$"
	screen_wait "^$CLIENT4 +[1-9][0-9]* +drop-backend"
	grep -qE '^verdict +packets/s +packets' "$LAB_DIR/screen.log"
	grep -qE '^new connections/s' "$LAB_DIR/screen.log"
	# Nothing is wider than the 80 columns it was drawn in.
	[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$LAB_DIR/screen.log")" -le 80 ]
	# Ctrl-C at the keyboard ends it; the pane's shell goes on to its sleep.
	tmux -L "$TMUX_SOCK" send-keys -t top C-c
	for _ in $(seq 50); do
		[ "$(tmux -L "$TMUX_SOCK" display-message -p -t top '#{pane_current_command}')" = sleep ] &&
			return 0
		sleep 0.1
	done
	fail "top did not end on Ctrl-C: $(tmux -L "$TMUX_SOCK" display-message -p -t top '#{pane_current_command}')"
}

@test "top --once prints one frame with the rates over its interval" {
	gate_attach -m native
	run connect $ORIGIN4 8080
	( sleep 0.3; for _ in 1 2 3 4 5; do connect $ORIGIN4 8080; done ) >/dev/null 2>&1 &
	run gate top --once --interval 2s
	wait
	assert_success
	assert_line --regexp "^drop-backend +[1-9][0-9]* +[0-9]+$"
	assert_line --regexp "^$CLIENT4 +[1-9][0-9]* +drop-backend"
	refute_output --partial $'\033'
}

@test "top counts the agent's handshakes by outcome: verified and each refusal reason" {
	agent_up
	run fetch edge1
	assert_success
	run fetch -
	assert_failure
	agent_log_wait "reason=no_cert"
	run gate top --once --interval 200ms
	assert_success
	assert_line --regexp "^handshakes \(aopgated\) +per second +total$"
	assert_line --regexp "^ok \(verified\) +[0-9.]+ +1$"
	assert_line --regexp "^no_cert +[0-9.]+ +1$"
	# They are the gate's map's counts, which survive the agent.
	run bpftool map lookup pinned "$PIN/handshakes" key 0 0 0 0 -j
	assert_success
	[ "$(echo "$output" | jq -r .formatted.value)" = 1 ]
}

@test "deny list says why a source is penalized, where and when, and 'operator' for a deny" {
	agent_up
	for _ in 1 2 3; do
		run fetch -
		assert_failure
	done
	agent_log_wait "action=penalized"
	gate deny add 10.99.0.0/24
	run gate deny list
	assert_line --regexp "^$CLIENT4 +penalty +1 +[0-9a-z]+ +no_cert +origin.test +[0-9a-z]+$"
	assert_line --regexp "^10.99.0.0/24 +operator +- +forever +operator +- +[0-9a-z]+$"
	run gate deny list --json
	echo "$output" | jq -e --arg a "$CLIENT4" \
		'.[] | select(.source == $a and .reason == "no_cert" and .site == "origin.test" and .ago_ns >= 0)' \
		>/dev/null || fail "$output"
	echo "$output" | jq -e '.[] | select(.source == "10.99.0.0/24" and .reason == "operator" and .site == null)' \
		>/dev/null || fail "$output"
}

@test "flows names the site and marks a flow admitted by verify = optional without a certificate" {
	rollout_up
	hold edge1 6
	hold_plain 6
	flow_wait '.site == "origin.test" and .unverified == false'
	flow_wait '.site == "origin.test" and .unverified == true'
	run gate flows
	assert_line --regexp "^verified +$CLIENT4:[0-9]+ +$ORIGIN4:443 +origin.test "
	assert_line --regexp "^unverified +$CLIENT4:[0-9]+ +$ORIGIN4:443 +origin.test "
}

@test "a reload publishes the new site names" {
	agent_up
	sed -i 's/^\[site pinned.test\]/[site renamed.test]/' "$LAB_DIR/aopgate.conf"
	kill -HUP "$AGENT_PID"
	agent_log_wait "event=reload result=ok"
	run bpftool map dump pinned "$PIN/sites" -j
	echo "$output" | jq -e '[.[] | .formatted.value.name] | index("renamed.test")' >/dev/null ||
		fail "renamed.test is not in sites: $output"
}
