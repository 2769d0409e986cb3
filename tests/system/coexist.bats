#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The gate beside other XDP programs: xdp-tools' xdp-filter holds the NIC's
# XDP hook through libxdp's dispatcher, and the gate runs at tc (tcx) on
# the same NIC; both filter, and either can come and go.

load lab

setup() {
	# xdp-filter keeps its rules in one set of maps for every interface
	# (/sys/fs/bpf/xdp-filter): a host's own would share this test's.
	if [ -e /sys/fs/bpf/xdp-filter ]; then
		skip "xdp-filter is loaded on this host; its rules would be shared with this test's"
	fi
	lab_up
	# libxdp's dispatcher pins go to a directory of the lab's.
	export LIBXDP_BPFFS=$PIN-libxdp
	mkdir -p "$LIBXDP_BPFFS"
	lab_pin_root "$LIBXDP_BPFFS"
	lab_pin_root /sys/fs/bpf/xdp-filter
}

teardown() {
	[ -z "${LAB_DIR:-}" ] || in_origin xdp-filter unload --all >/dev/null 2>&1 || true
	lab_down
}

filter() { in_origin xdp-filter "$@"; }

# xdp_filter_hits PORT: packets xdp-filter matched on PORT.
xdp_filter_hits() {
	filter status | awk -v p="$1" '$1 == p { print $NF }'
}

# both_filter: xdp-filter drops port 9999, the gate drops BACKEND 8080 and
# admits GATE 443.
both_filter() {
	listen 443 gate-answer
	listen 8080
	listen 9999
	run connect $ORIGIN4 443
	assert_output gate-answer
	run connect $ORIGIN4 9999
	assert_failure
	[ "$(xdp_filter_hits 9999)" -ge 1 ]
	run connect $ORIGIN4 8080
	assert_failure
	[ "$(counter drop-backend)" -ge 1 ]
}

@test "beside xdp-filter on the same NIC, the gate attached at tc filters and so does xdp-filter" {
	filter load -f tcp "$LAB_IF_O"
	filter port 9999
	gate_attach -m tc
	run gate status
	assert_output --regexp "attached +$LAB_IF_O +tc"
	both_filter
}

@test "xdp-filter loads beside an attached tc gate, and unloading it leaves the gate filtering" {
	gate_attach -m tc
	filter load -f tcp "$LAB_IF_O"
	filter port 9999
	both_filter
	filter unload "$LAB_IF_O"
	run connect $ORIGIN4 9999
	assert_success
	before=$(counter drop-backend)
	run connect $ORIGIN4 8080
	assert_failure
	[ "$(counter drop-backend)" -gt "$before" ]
}

@test "the gate at XDP refuses a NIC whose XDP hook xdp-filter holds, and names -m tc" {
	filter load -f tcp "$LAB_IF_O"
	run gate_attach -m native
	assert_failure
	assert_output --partial "already carries XDP program"
	assert_output --partial "-m tc to run beside it"
	# xdp-filter is untouched.
	run filter status
	assert_output --partial "$LAB_IF_O"
}
