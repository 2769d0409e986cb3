#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Many origins, one CrowdSec Local API: aopgated's refusals at one origin
# become bans in every origin's gate through aopgate-bouncer; the bans end
# with their decisions, survive the LAPI being down, spare sources in good
# standing and never lift an operator's deny.

load crowdsec

setup_file() {
	export PKI=$BATS_FILE_TMPDIR/pki
	pki_make "$PKI"
	command -v crowdsec >/dev/null || fail "crowdsec is not installed (scripts/deps.sh)"
}

setup() { cs_lab_up; }
teardown() { lab_down; }

@test "a stranger refused five times at origin A is dropped in the kernel at origin B" {
	origins_up
	cs_up
	bouncers_up
	syn_b || fail "B does not answer the client before any ban"
	for _ in 1 2 3 4 5; do
		run fetch -
		assert_failure
	done
	agent_log_wait "event=verify result=fail .*src=$CLIENT4:"
	wait_for 20 banned gate_b $CLIENT4 || fail "no CrowdSec ban of $CLIENT4 at B"
	# Each bouncer pulls on its own second: A's may come a pull later.
	wait_for 5 banned gate $CLIENT4 || fail "no CrowdSec ban of $CLIENT4 at A"
	run gate_b deny list
	assert_output --regexp "$CLIENT4 +crowdsec "
	grep -q "event=crowdsec_decision result=ban src=$CLIENT4 .*scenario=aopgate/refused" \
		"$LAB_DIR/bouncer-b.log"
	before=$(counter_b drop-denied)
	run syn_b
	assert_failure
	[ "$(counter_b drop-denied)" -gt "$before" ]
	[ "$(bouncer_metric "$LAB_B" 'aopgate_crowdsec_decisions_total{action="applied"}')" -ge 1 ]
}

@test "a decision's expiry removes the ban at both origins" {
	origins_up
	cs_up
	bouncers_up
	cs_decisions add --ip $CLIENT4 --duration 6s
	banned_at_both $CLIENT4
	run syn_b
	assert_failure
	# CrowdSec sends the delete of an expired decision with a later pull,
	# and each bouncer takes the entry out of its map.
	wait_for 30 grep -q "event=crowdsec_decision result=unban src=$CLIENT4" \
		"$LAB_DIR/bouncer-a.log" || fail "A's bouncer does not remove the ban"
	wait_for 10 grep -q "event=crowdsec_decision result=unban src=$CLIENT4" \
		"$LAB_DIR/bouncer-b.log" || fail "B's bouncer does not remove the ban"
	[ "$(bpftool -j map dump pinned "$PIN/deny" | jq length)" -eq 0 ]
	[ "$(bpftool -j map dump pinned "$PIN_B/deny" | jq length)" -eq 0 ]
	not_banned gate $CLIENT4
	not_banned gate_b $CLIENT4
	syn_b
	run fetch edge1
	assert_success
}

# errors_b_at_least N: B's bouncer counted N failed pulls or more.
errors_b_at_least() {
	[ "$(bouncer_metric "$LAB_B" aopgate_crowdsec_errors_total)" -ge "$1" ]
}

@test "with the Local API stopped, both origins keep serving and keep their bans, and say so once" {
	origins_up
	cs_up
	bouncers_up
	cs_decisions add --ip $CLIENT4 --duration 5m
	banned_at_both $CLIENT4
	lab_stop "$CS_PID"
	wait_for 10 grep -q "event=crowdsec_sync result=fail" "$LAB_DIR/bouncer-b.log" ||
		fail "B's bouncer does not notice the outage"
	# Several pulls fail (one a second); the outage is one line.
	wait_for 10 errors_b_at_least 3 || fail "B's bouncer stopped pulling"
	[ "$(grep -c "event=crowdsec_sync result=fail" "$LAB_DIR/bouncer-b.log")" -eq 1 ]
	[ "$(bouncer_metric "$LAB_B" aopgate_crowdsec_lapi_up)" -eq 0 ]
	banned gate $CLIENT4
	banned gate_b $CLIENT4
	run syn_b
	assert_failure
	# The puller (here over IPv6, which no ban covers) still gets through A.
	run fetch edge1 --v6
	assert_success
	assert_output "hello $CLIENT6"
	cs_start
	wait_for 10 grep -q "the Local API answers again" "$LAB_DIR/bouncer-b.log" ||
		fail "B's bouncer does not say the outage ended"
	banned gate_b $CLIENT4
}

@test "a source in good standing at an origin is reported there, not banned, unless overridden" {
	origins_up
	cs_up
	run fetch edge1
	assert_success
	bouncers_up
	cs_decisions add --ip $CLIENT4 --duration 5m
	# Standing is not shared: B has never verified the client and bans it.
	wait_for 10 banned gate_b $CLIENT4 || fail "no ban at B"
	wait_for 10 grep -q "event=crowdsec_decision result=spared src=$CLIENT4 " \
		"$LAB_DIR/bouncer-a.log" || fail "A's bouncer does not report the spared source"
	not_banned gate $CLIENT4
	run fetch edge1
	assert_success
	lab_stop "$(cat "$LAB_DIR/bouncer-a.pid")"
	BOUNCER_EXTRA="crowdsec_override_standing = yes" \
		bouncer_up bouncer-a2 "$LAB_O" "$PIN" "$CS/a.key"
	wait_for 10 banned gate $CLIENT4 || fail "the override does not ban at A"
}

@test "a CrowdSec delete never lifts an operator's deny of the same address" {
	origins_up
	cs_up
	bouncers_up
	gate_b deny add $CLIENT4
	cs_decisions add --ip $CLIENT4 --duration 5m
	wait_for 10 banned gate $CLIENT4 || fail "no ban at A"
	wait_for 10 grep -q "an operator's deny holds this CIDR" "$LAB_DIR/bouncer-b.log" ||
		fail "B's bouncer does not leave the operator's deny alone"
	cs_decisions delete --ip $CLIENT4
	wait_for 10 not_banned gate $CLIENT4 || fail "the delete does not reach A"
	# Two more pulls at B, and the operator's deny is still there.
	sleep 2
	run gate_b deny list
	assert_output --regexp "$CLIENT4 +operator "
	run syn_b
	assert_failure
}

@test "a CrowdSec range ban covers the range, and an operator lists where it came from" {
	origins_up
	cs_up
	bouncers_up
	cs_decisions add --range 10.77.0.0/28 --duration 5m
	wait_for 10 banned gate_b 10.77.0.0/28 || fail "no range ban at B"
	run syn_b
	assert_failure
	run gate_b deny list --json
	assert_output --partial '"kind": "crowdsec", "strikes": -1'
}
