#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The gate on a real veth: attach modes, GATE/BACKEND ports, deny, monitor
# mode, persistence of the attachment and the maps, and the CLI's errors.

load lab

setup() { lab_up; }
teardown() { lab_down; }

# reaches_gate_port MODE: attach in MODE, a client gets the listener's
# answer. At tc and in generic XDP SYN cookies are on by default (this
# kernel has the kfunc): the gate answers the SYN and the ACK makes the
# flow pending. Native XDP on a veth starts with them off (its XDP_TX
# reaches only a peer running XDP), so there the SYN goes up.
reaches_gate_port() {
	run gate_attach -m "$1"
	assert_success
	if [ "$1" = native ]; then
		assert_output --partial "syncookies: off: the default for native XDP on a veth"
	else
		assert_output --partial "syncookies: on: the default; kernel side ready"
	fi
	listen 443 gate-answer
	run connect $ORIGIN4 443
	assert_success
	assert_output gate-answer
	if [ "$1" != native ]; then
		[ "$(counter syncookie-sent)" -ge 1 ]
		[ "$(counter syncookie-ok)" -ge 1 ]
		[ "$(counter pass-syn)" -eq 0 ]
	else
		[ "$(counter pass-syn)" -ge 1 ]
	fi
	[ "$(counter pass-pending)" -ge 1 ]
}

@test "native XDP: a client in another namespace reaches a listener on a GATE port" {
	reaches_gate_port native
	run gate status
	assert_output --regexp "attached +$LAB_IF_O +native"
}

@test "generic XDP: a client reaches a listener on a GATE port through the SYN cookie path" {
	reaches_gate_port generic
	run gate status
	assert_output --regexp "attached +$LAB_IF_O +generic"
}

@test "tc: a client reaches a listener on a GATE port through the SYN cookie path" {
	reaches_gate_port tc
	run gate status
	assert_output --regexp "attached +$LAB_IF_O +tc"
}

@test "IPv6: a client reaches a GATE port and not a BACKEND port" {
	gate_attach -m native
	listen 443 six
	listen 8080
	run connect "[$ORIGIN6]" 443
	assert_output six
	run connect "[$ORIGIN6]" 8080
	assert_failure
	[ "$(counter drop-backend)" -ge 1 ]
}

@test "a BACKEND port cannot be reached over the NIC, but loopback still can" {
	gate_attach -m native
	listen 8080 origin-app
	run connect $ORIGIN4 8080
	assert_failure
	[ "$(counter drop-backend)" -ge 1 ]
	run in_origin timeout 4 socat -T 2 - TCP:127.0.0.1:8080 </dev/null
	assert_output origin-app
}

@test "after 'deny add', the client's SYNs are dropped and drop-denied counts them" {
	gate_attach -m native
	listen 443
	gate deny add $CLIENT4
	run gate deny list
	assert_output --partial "$CLIENT4"
	assert_output --partial forever
	run connect $ORIGIN4 443
	assert_failure
	[ "$(counter drop-denied)" -ge 1 ]
	[ "$(counter pass-syn)" -eq 0 ]

	gate deny del $CLIENT4
	run connect $ORIGIN4 443
	assert_success
}

@test "a deny with --for expires by itself" {
	gate_attach -m native
	listen 443 back-again
	gate deny add $CLIENT4 --for 3s
	run connect $ORIGIN4 443
	assert_failure
	# deny list leaves out what has expired; 3 s from now, plus a margin
	# for a loaded machine.
	for _ in $(seq 100); do
		gate deny list | grep -qF "$CLIENT4" || break
		sleep 0.1
	done
	run gate deny list
	refute_output --partial "$CLIENT4"
	run connect $ORIGIN4 443
	assert_output back-again
}

@test "monitor mode lets a denied client through and counts would-drop-denied" {
	gate_attach -m native --mode monitor
	listen 443 watched
	gate deny add $CLIENT4
	run connect $ORIGIN4 443
	assert_output watched
	[ "$(counter would-drop-denied)" -ge 1 ]
	[ "$(counter drop-denied)" -eq 0 ]

	gate mode enforce
	run connect $ORIGIN4 443
	assert_failure
	[ "$(counter drop-denied)" -ge 1 ]
}

@test "stray ACKs to a GATE port are dropped in XDP (drop-unknown)" {
	gate_attach -m native
	listen 443
	in_client timeout 10 hping3 -q -A -p 443 -c 5 -i u20000 $ORIGIN4 >/dev/null 2>&1 || true
	[ "$(counter drop-unknown)" -ge 5 ]
}

@test "UDP to a GATE port is dropped (QUIC must not bypass the agent)" {
	gate_attach -m native
	in_client timeout 10 hping3 -q -2 -p 443 -c 3 -i u20000 $ORIGIN4 >/dev/null 2>&1 || true
	[ "$(counter drop-non-tcp)" -ge 3 ]
}

@test "with the allowlist on, a source outside the loaded CIDRs is dropped" {
	gate_attach -m native
	listen 443 allowed
	printf '# test ranges\n198.51.100.0/24\n\n2001:db8::/32  # doc range\n' >"$LAB_DIR/ranges.txt"
	gate allow load "$LAB_DIR/ranges.txt"
	gate set allowlist on
	run connect $ORIGIN4 443
	assert_failure
	[ "$(counter drop-not-allowed)" -ge 1 ]

	gate allow add 10.77.0.0/24
	run gate allow list
	assert_output --partial 10.77.0.0/24
	assert_output --partial 198.51.100.0/24
	assert_output --partial 2001:db8::/32
	run connect $ORIGIN4 443
	assert_output allowed
}

@test "the gate stays attached after the loader exits" {
	gate_attach -m native
	prog=$(gate status --json | jq -r '.attachments[0].prog_id')
	run in_origin ip -d link show "$LAB_IF_O"
	assert_output --partial "prog/xdp id $prog"
	run bpftool link show
	assert_output --partial "prog $prog"
}

@test "re-attach swaps the program and keeps the maps' contents" {
	gate_attach -m native
	gate deny add 192.0.2.9
	gate allow add 198.51.100.0/24
	gate set syn_rate 7
	before=$(gate status --json)
	run gate_attach -m native
	assert_success
	after=$(gate status --json)
	# attach names the program now attached, as status and bpftool see it.
	assert_output --partial "program id $(jq '.attachments[0].prog_id' <<<"$after"))"
	[ "$(jq '.attachments[0].link_id' <<<"$before")" = "$(jq '.attachments[0].link_id' <<<"$after")" ]
	[ "$(jq '.attachments[0].prog_id' <<<"$before")" != "$(jq '.attachments[0].prog_id' <<<"$after")" ]
	[ "$(jq '.config.syn_rate' <<<"$after")" = 7 ]
	run gate deny list
	assert_output --partial 192.0.2.9
	run gate allow list
	assert_output --partial 198.51.100.0/24
}

@test "detach removes the program; --purge also removes the pins" {
	gate_attach -m native
	listen 8080
	gate detach -i "$LAB_IF_O"
	run in_origin ip -d link show "$LAB_IF_O"
	refute_output --partial "prog/xdp"
	run connect $ORIGIN4 8080
	assert_success
	[ -e "$PIN/verified" ]

	gate_attach -m native
	gate detach -i "$LAB_IF_O" --purge
	[ ! -e "$PIN" ]
	run gate status
	assert_failure
	assert_output --partial "nothing attached"
}

@test "attach refuses an interface that carries another XDP program unless --force" {
	mkdir -p "$PIN"
	bpftool prog load "$AOPGATE_BUILD/empty.bpf.o" "$PIN/foreign" type xdp
	in_origin bpftool net attach xdpdrv pinned "$PIN/foreign" dev "$LAB_IF_O"
	run gate_attach -m native
	assert_failure
	assert_output --partial "already carries XDP program"
	gate_attach -m native --force
	run gate status
	assert_output --regexp "attached +$LAB_IF_O +native"
}

@test "bpftool map dump prints every map with named fields" {
	gate_attach -m native
	listen 443
	connect $ORIGIN4 443
	gate deny add 192.0.2.9
	gate allow add 198.51.100.0/24
	for m in verified verified4 pending pending4 penalty standing deny allow_src syn_rl ports \
		gate_cfg stats; do
		run bpftool map dump pinned "$PIN/$m"
		assert_success
	done
	# The IPv4 connection's entry: pending4, keyed by struct flow_key4.
	run bpftool map dump pinned "$PIN/pending4"
	assert_output --partial '"first_seen_ns":'
	assert_output --partial '"dport":'
	run bpftool map dump pinned "$PIN/deny"
	assert_output --partial '"until_ns":'
	run bpftool map dump pinned "$PIN/allow_src"
	assert_output --partial '"prefixlen":'
	run bpftool map dump pinned "$PIN/gate_cfg"
	assert_output --partial '"pending_max_packets":'
	run bpftool map dump pinned "$PIN/syn_rl"
	assert_output --partial '"tat_ns":'
}

@test "the CLI fails with a clear message on bad input" {
	run gate attach -i nosuchif0
	assert_failure
	assert_output --partial "unknown interface: nosuchif0"
	run gate attach -i "$LAB_IF_O" --gate-ports 443,70000
	assert_failure
	assert_output --partial "invalid port list"
	run gate status
	assert_failure
	assert_output --partial "nothing attached"
	gate_attach -m native
	run gate allow add 10.0.0.1/8
	assert_failure
	assert_output --partial "not a CIDR"
	run gate deny add 10.0.0.300
	assert_failure
	assert_output --partial "not an IP address"
	run gate deny add 10.0.0.3 --for 5fortnights
	assert_failure
	assert_output --partial "--for must be a duration"
	run gate set allowlist on
	assert_failure
	assert_output --partial "allowlist is empty"
	run gate set no_such_knob 1
	assert_failure
	assert_output --partial "unknown setting"
	run in_origin "$AOPGATE" --pin-root "$LAB_DIR" status
	assert_failure
	assert_output --partial "not on a bpf filesystem"
	run in_origin setpriv --reuid=65534 --regid=65534 --clear-groups "$AOPGATE" --pin-root "$PIN" status
	assert_failure
	assert_output --partial "must run as root"
}

# unit_exec KEY: runs the installed aopgate@ unit's KEY (ExecStart, ...)
# for the lab's interface as systemd would: its environment files read in
# order, %i replaced, unquoted $VARs split on whitespace; in the origin ns.
unit_exec() {
	local unit=$DEST/usr/lib/systemd/system/aopgate@.service f line
	(
		set -a
		while IFS= read -r f; do
			f=${f#EnvironmentFile=}
			f=${f#-}
			f=${f//%i/$LAB_IF_O}
			[ ! -f "$f" ] || . "$f"
		done < <(grep '^EnvironmentFile=' "$unit")
		line=$(grep "^$1=" "$unit")
		line=${line#*=}
		eval "in_origin ${line//%i/$LAB_IF_O}"
	)
}

@test "the aopgate@ unit's start, reload and stop take the interface's own options file, --pin-root too" {
	DEST=$LAB_DIR/dest
	make -s -C "$BATS_TEST_DIRNAME/../.." BUILD="$AOPGATE_BUILD" install \
		PREFIX="$DEST/usr" SYSCONFDIR="$DEST/etc" >/dev/null
	mkdir -p "$DEST/etc/default"
	echo 'AOPGATE_ATTACH_OPTS="--gate-ports 443 --backend-ports 8080"' >"$DEST/etc/default/aopgate"
	cat >"$DEST/etc/default/aopgate-$LAB_IF_O" <<-EOC
	AOPGATE_OPTS="--pin-root $PIN"
	AOPGATE_ATTACH_OPTS="--gate-ports 443 --backend-ports 8080 --mode monitor"
	EOC
	run unit_exec ExecStart
	assert_success
	assert_output --partial "maps under $PIN"
	[ "$(gate status --json | jq -r .config.mode)" = monitor ]
	# A reload swaps the program and names the one now attached.
	run unit_exec ExecReload
	assert_success
	assert_output --partial "program id $(gate status --json | jq '.attachments[0].prog_id'))"
	run unit_exec ExecStop
	assert_success
	run in_origin ip -d link show "$LAB_IF_O"
	refute_output --partial "prog/xdp"
	[ ! -e "$PIN/link-$LAB_IF_O" ]
}
