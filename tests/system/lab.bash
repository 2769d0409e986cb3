# SPDX-License-Identifier: GPL-2.0-only
# The system tests' lab, on the shared one (tests/lib/lab.sh): an "origin"
# namespace with the gate on its veth, a "client" namespace on the other
# end, a private pin root, logs in a temp dir shown when a test fails, and
# a teardown that runs even when the test did not get that far.
#
#   origin ns ($LAB_O)  $LAB_IF_O 10.77.0.1/24 fd00:77::1/64
#   client ns ($LAB_C)  $LAB_IF_C 10.77.0.2/24 fd00:77::2/64

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
# shellcheck source=tests/lib/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"

: "${AOPGATE_BUILD:=$(cd "$BATS_TEST_DIRNAME/../../build" && pwd)}"
AOPGATE=$AOPGATE_BUILD/aopgate
AOPGATED=$AOPGATE_BUILD/aopgated

ORIGIN4=10.77.0.1
CLIENT4=10.77.0.2
ORIGIN6=fd00:77::1
CLIENT6=fd00:77::2

# lab_up: creates the namespaces, the veth pair and the pin root.
lab_up() {
	[ "$(id -u)" -eq 0 ] || fail "the system tests need root (namespaces, XDP)"
	LAB=ag$$${BATS_TEST_NUMBER:-0}
	LAB_O=${LAB}o LAB_C=${LAB}c
	LAB_IF_O=${LAB}o0 LAB_IF_C=${LAB}c0
	LAB_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/aopgate-lab.XXXXXX")
	PIN=/sys/fs/bpf/aopgate-test-$LAB
	echo "$LAB $PIN" >"$LAB_DIR/lab"

	lab_init "$LAB_DIR"
	lab_pin_root "$PIN"
	lab_netns "$LAB_O" "$LAB_C"
	lab_veth "$LAB_O" "$LAB_IF_O" "$LAB_C" "$LAB_IF_C"
	lab_addr "$LAB_O" "$LAB_IF_O" $ORIGIN4/24 $ORIGIN6/64
	lab_addr "$LAB_C" "$LAB_IF_C" $CLIENT4/24 $CLIENT6/64
	# Native XDP on veth needs the peer to have a program or GRO on.
	in_client ethtool -K "$LAB_IF_C" gro on >/dev/null 2>&1 || true
	in_origin ethtool -K "$LAB_IF_O" gro on >/dev/null 2>&1 || true
}

# lab_down: stops what the test started, detaches, removes pins and
# namespaces; prints the logs when the test failed.
lab_down() {
	[ -n "${LAB_DIR:-}" ] || return 0
	lab_teardown
	if [ "${BATS_TEST_COMPLETED:-}" != 1 ]; then
		for f in "$LAB_DIR"/*.log; do
			[ -f "$f" ] || continue
			echo "# --- $f" >&3
			sed 's/^/# /' "$f" >&3
		done
	fi
	rm -rf "$LAB_DIR"
}

in_origin() { lab_in "$LAB_O" "$@"; }
in_client() { lab_in "$LAB_C" "$@"; }

# gate ARGS...: the CLI against this lab's pin root, in the origin ns.
gate() { in_origin "$AOPGATE" --pin-root "$PIN" "$@"; }

# gate_attach [ARGS...]: attach to the origin veth, GATE 443, BACKEND 8080.
gate_attach() {
	gate attach -i "$LAB_IF_O" --gate-ports 443 --backend-ports 8080 "$@"
}

# spawn NAME NS CMD...: runs CMD in the background in namespace NS
# ($LAB_O or $LAB_C), logged to $LAB_DIR/NAME.log; its pid is in
# $LAB_SPAWNED and the teardown ends it.
spawn() { lab_spawn "$@"; }

# listen PORT [WORD]: a TCP listener in the origin ns answering WORD.
listen() {
	spawn "listen-$1" "$LAB_O" timeout 120 socat \
		"TCP6-LISTEN:$1,fork,reuseaddr,ipv6only=0" SYSTEM:"echo ${2:-hello-$1}"
	wait_port "$1"
}

# wait_port PORT: until something listens on PORT in the origin ns (5 s).
wait_port() {
	lab_wait_listen "$LAB_O" "$1" 5 || fail "nothing listens on port $1"
}

# connect ADDR PORT: one TCP exchange from the client ns, 2 s at most.
# Prints what the server said; fails when the connection does not open.
connect() {
	in_client timeout 4 socat -T 2 - "TCP:$1:$2,connect-timeout=2" </dev/null
}

# counter NAME: the packets of one gate counter (e.g. drop-penalty).
counter() {
	gate status --json | jq -r --arg n "$1" '.counters[$n].packets'
}
