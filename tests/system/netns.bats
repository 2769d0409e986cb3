#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The CLI and the agent run the way operators run them in a namespace:
# `ip netns exec`, whose mount namespace has a /sys (and so a
# /sys/fs/bpf) of its own, and nsenter, which keeps the host's. The gate
# goes into the host's bpffs and stays after the loader exits, or the
# tools refuse and say what to run instead.

load agent

setup_file() {
	export PKI=$BATS_FILE_TMPDIR/pki
	pki_make "$PKI"
}

setup() { lab_up; }
teardown() { lab_down; }

# netns_exec CMD...: CMD in the origin ns through ip netns exec.
netns_exec() { ip netns exec "$LAB_O" "$@"; }

# ngate ARGS...: the CLI against this lab's pin root, through ip netns exec.
ngate() { netns_exec "$AOPGATE" --pin-root "$PIN" "$@"; }

# as_pid1 CMD...: CMD as PID 1 of a new PID namespace, which has no other
# process to tell the host's mount namespace by.
as_pid1() { unshare --pid --fork --mount-proc "$@"; }

# still_attached: seen from the host once the loader is gone, the gate's
# pins are under $PIN and its program is on the origin's veth.
still_attached() {
	local prog
	[ -e "$PIN/verified" ] || fail "no maps pinned under $PIN in the host"
	[ -e "$PIN/link-$LAB_IF_O" ] || fail "no link pinned under $PIN in the host"
	prog=$(bpftool link show pinned "$PIN/link-$LAB_IF_O" -j | jq -r .prog_id)
	[ "$prog" -gt 0 ]
	run bpftool prog show id "$prog"
	assert_output --partial "name gate_xdp"
	run in_origin ip -d link show "$LAB_IF_O"
	assert_output --partial "prog/xdp id $prog"
}

# filters: a BACKEND port is dropped and a GATE port passes.
filters() {
	listen 443 gate-answer
	listen 8080
	run connect $ORIGIN4 8080
	assert_failure
	[ "$(counter drop-backend)" -ge 1 ]
	run connect $ORIGIN4 443
	assert_output gate-answer
}

@test "attach under ip netns exec pins into the host's bpffs: the gate stays after the loader exits" {
	run ngate attach -i "$LAB_IF_O" -m native --gate-ports 443 --backend-ports 8080
	assert_success
	said=$output
	still_attached
	filters
	[[ $said == *"attached to $LAB_IF_O (native"* ]]
	[[ $said == *"$PIN is in the host's bpffs, through /proc/"* ]]
}

@test "attach through PID 1's mount namespace, from ip netns exec in a PID namespace" {
	# PID 1 is the shell, whose mount namespace still has the host's bpffs.
	run as_pid1 sh -c 'ip netns exec "$1" "$2" --pin-root "$3" attach -i "$4" -m native \
		--gate-ports 443 --backend-ports 8080; exit $?' sh "$LAB_O" "$AOPGATE" "$PIN" "$LAB_IF_O"
	assert_success
	assert_output --partial "through /proc/1/root"
	still_attached
	filters
}

@test "status, set, deny, flows and detach under ip netns exec work on the gate nsenter attached" {
	gate_attach -m native
	run ngate status
	assert_success
	assert_line --regexp "^pin root   $PIN \(the host's bpffs, through /proc/[12]/root: .*\)$"
	assert_output --regexp "attached +$LAB_IF_O +native"
	[ "$(ngate status --json | jq -r .pin_root_reach)" = via-host ]
	run gate status
	assert_line "pin root   $PIN"
	[ "$(gate status --json | jq -r .pin_root_reach)" = shared ]

	ngate set syn_rate 7
	[ "$(gate status --json | jq .config.syn_rate)" = 7 ]
	ngate deny add $CLIENT4
	listen 443
	run connect $ORIGIN4 443
	assert_failure
	[ "$(counter drop-denied)" -ge 1 ]
	run ngate deny list
	assert_output --partial "$CLIENT4"
	run ngate flows
	assert_success

	run ngate detach -i "$LAB_IF_O" --purge
	assert_success
	[ ! -e "$PIN" ]
	run in_origin ip -d link show "$LAB_IF_O"
	refute_output --partial "prog/xdp"
}

@test "as PID 1 with no bpffs, attach under ip netns exec refuses and names the nsenter command" {
	run as_pid1 ip netns exec "$LAB_O" "$AOPGATE" --pin-root "$PIN" attach -i "$LAB_IF_O" -m native
	assert_failure
	assert_output --partial "$PIN is not on a bpf filesystem, and the host's mount namespace cannot be read"
	assert_output --partial "would go when it exits"
	assert_output --partial "instead: nsenter --net=/run/netns/$LAB_O aopgate ..."
	refute_output --partial "attached to"
	[ ! -e "$PIN" ]
	run in_origin ip -d link show "$LAB_IF_O"
	refute_output --partial "prog/xdp"
}

@test "status says when the pin root cannot be shown to be the host's bpffs" {
	gate_attach -m native
	run as_pid1 "$AOPGATE" --pin-root "$PIN" status
	assert_success
	assert_line --regexp "^pin root   $PIN \(not known to be the host's bpffs: .*PID 1.*\)$"
	[ "$(as_pid1 "$AOPGATE" --pin-root "$PIN" status --json | jq -r .pin_root_reach)" = unverified ]
}

@test "under ip netns exec, a pin root the host has no bpffs for is refused" {
	run ngate --pin-root "$LAB_DIR/pins" attach -i "$LAB_IF_O" -m native
	assert_failure
	assert_output --partial "$LAB_DIR/pins is not on a bpf filesystem in the host's mount namespace"
	assert_output --partial "nsenter --net=/run/netns/$LAB_O aopgate ..."
	run in_origin ip -d link show "$LAB_IF_O"
	refute_output --partial "prog/xdp"
}

@test "the agent under ip netns exec finds its maps in the host's bpffs: flows, /healthz, gate links" {
	gate_attach -m native
	agent_files
	origin_up
	# ip netns exec execs the agent, so $! is the agent's own pid.
	ip netns exec "$LAB_O" "$AOPGATED" -c "$LAB_DIR/aopgate.conf" >>"$LAB_DIR/agent.log" 2>&1 &
	AGENT_PID=$!
	lab_track "$AGENT_PID"
	wait_port 443
	agent_log_wait "event=maps pin_root=$PIN reach=via-host"
	agent_log_wait "event=start .*maps=open"
	hold edge1 3
	agent_log_wait "event=verify result=ok"
	run gate flows
	assert_output --regexp "verified +${CLIENT4//./\\.}:"
	wait "$held" || true
	run in_origin curl -sS --max-time 3 -w '%{http_code}' http://127.0.0.1:9901/healthz
	assert_output "ok
200"
	[ "$(metric aopgate_gate_links)" -eq 1 ]
}

@test "the agent as PID 1 under ip netns exec, with no bpffs, fails at start with the same message" {
	gate_attach -m native
	agent_files
	origin_up
	run timeout 10 unshare --pid --fork --mount-proc \
		ip netns exec "$LAB_O" "$AOPGATED" -c "$LAB_DIR/aopgate.conf"
	assert_failure
	assert_output --partial "event=maps result=fail pin_root=$PIN"
	assert_output --partial "the host's mount namespace cannot be read"
	assert_output --partial "nsenter --net=/run/netns/$LAB_O aopgated ..."
	refute_output --partial "event=start user="
}
