#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# `make demo` end to end: its outcomes (not its wording), run twice, and
# `demo down` leaving nothing behind.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup_file() {
	export AOPGATE_DEMO_NAME=agt$$
	export STATE=/run/aopgate-$AOPGATE_DEMO_NAME
}

teardown_file() {
	"$TOP/scripts/demo.sh" down
}

outcome() {
	grep -x "$1=$2" "$STATE/outcomes" || fail "outcome $1 is not $2: $(cat "$STATE/outcomes")"
}

counter() {
	jq -r --arg n "$1" '.counters[$n].packets' "$STATE/status.json"
}

@test "the demo admits the edge and refuses, penalizes and drops the stranger" {
	run "$TOP/scripts/demo.sh" up
	assert_success
	outcome edge reached
	outcome edge_verified_flow pinned
	outcome stranger_no_cert refused
	outcome stranger_wrong_ca refused
	outcome stranger_third refused
	outcome stranger_penalized dropped
	outcome stranger_backend dropped
	grep -q 'result=fail reason=no_cert .*src=10.88.0.3' "$STATE/agent.log"
	grep -q 'result=fail reason=unknown_ca .*src=10.88.0.3' "$STATE/agent.log"
	grep -q '^10.88.0.2 .*" 200' "$STATE/origin-access.log"
	# aopgate flows names the site.
	grep -qE 'verified +10\.88\.0\.2:[0-9]+ .*origin\.test' <<<"$output"
	for c in pass-verified pass-syn drop-penalty drop-ratelimit drop-unknown drop-non-tcp drop-backend; do
		[ "$(counter $c)" -ge 1 ] || fail "counter $c did not move"
	done
}

@test "the demo runs again over a running lab" {
	run "$TOP/scripts/demo.sh" up
	assert_success
	outcome edge reached
	outcome stranger_penalized dropped
}

@test "demo down removes the namespaces, the pins, the processes and the state" {
	pids=$(cut -d" " -f1 "$STATE/pids")
	[ -n "$pids" ]
	"$TOP/scripts/demo.sh" down
	for pid in $pids; do
		! kill -0 "$pid" 2>/dev/null || fail "process $pid is still running"
	done
	run ip netns list
	refute_output --partial "$AOPGATE_DEMO_NAME-"
	[ ! -e "/sys/fs/bpf/aopgate-$AOPGATE_DEMO_NAME" ]
	[ ! -e "$STATE" ]
}
