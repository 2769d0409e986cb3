# SPDX-License-Identifier: GPL-2.0-only
# The namespace lab shared by the system tests: an "origin" namespace with
# the gate on its veth, a "client" namespace on the other end, a private
# pin root, logs in a temp dir shown when a test fails, and a teardown that
# runs even when the test did not get that far.
#
#   origin ns ($LAB_O)  $LAB_IF_O 10.77.0.1/24 fd00:77::1/64
#   client ns ($LAB_C)  $LAB_IF_C 10.77.0.2/24 fd00:77::2/64
#
# Commands run in a namespace with nsenter --net, not `ip netns exec`: the
# latter remounts /sys, which would hide /sys/fs/bpf and its pins.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

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
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	PIN=/sys/fs/bpf/aopgate-test-$LAB
	echo "$LAB $PIN" >"$LAB_DIR/lab"

	ip netns add "$LAB_O"
	ip netns add "$LAB_C"
	ip link add "$LAB_IF_O" netns "$LAB_O" type veth peer name "$LAB_IF_C" netns "$LAB_C"
	ip -n "$LAB_O" addr add $ORIGIN4/24 dev "$LAB_IF_O"
	ip -n "$LAB_C" addr add $CLIENT4/24 dev "$LAB_IF_C"
	ip -n "$LAB_O" addr add $ORIGIN6/64 dev "$LAB_IF_O" nodad
	ip -n "$LAB_C" addr add $CLIENT6/64 dev "$LAB_IF_C" nodad
	for ns in "$LAB_O" "$LAB_C"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$LAB_O" link set "$LAB_IF_O" up
	ip -n "$LAB_C" link set "$LAB_IF_C" up
	# Native XDP on veth needs the peer to have a program or GRO on.
	ip netns exec "$LAB_C" ethtool -K "$LAB_IF_C" gro on >/dev/null 2>&1 || true
	ip netns exec "$LAB_O" ethtool -K "$LAB_IF_O" gro on >/dev/null 2>&1 || true
}

# lab_down: stops what the test started, detaches, removes pins and
# namespaces; prints the logs when the test failed.
lab_down() {
	[ -n "${LAB_DIR:-}" ] || return 0
	if [ -f "$LAB_DIR/pids" ]; then
		while read -r pid; do
			kill "$pid" 2>/dev/null
		done <"$LAB_DIR/pids"
		while read -r pid; do
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -9 "$pid" 2>/dev/null
		done <"$LAB_DIR/pids"
	fi
	if [ "${BATS_TEST_COMPLETED:-}" != 1 ]; then
		for f in "$LAB_DIR"/*.log; do
			[ -f "$f" ] || continue
			echo "# --- $f" >&3
			sed 's/^/# /' "$f" >&3
		done
	fi
	# Removing the link pins releases the links, which detaches the gate.
	rm -rf "$PIN"
	ip netns del "$LAB_O" 2>/dev/null
	ip netns del "$LAB_C" 2>/dev/null
	rm -rf "$LAB_DIR"
}

in_origin() { nsenter --net="/run/netns/$LAB_O" "$@"; }
in_client() { nsenter --net="/run/netns/$LAB_C" "$@"; }

# gate ARGS...: the CLI against this lab's pin root, in the origin ns.
gate() { in_origin "$AOPGATE" --pin-root "$PIN" "$@"; }

# gate_attach [ARGS...]: attach to the origin veth, GATE 443, BACKEND 8080.
gate_attach() {
	gate attach -i "$LAB_IF_O" --gate-ports 443 --backend-ports 8080 "$@"
}

# spawn NAME NS CMD...: runs CMD in the background in namespace NS
# ($LAB_O or $LAB_C), logged; teardown ends it by pid. nsenter execs CMD,
# so the pid recorded is the command's own.
spawn() {
	local name=$1 ns=$2
	shift 2
	nsenter --net="/run/netns/$ns" "$@" >>"$LAB_DIR/$name.log" 2>&1 &
	echo $! >>"$LAB_DIR/pids"
}

# listen PORT [WORD]: a TCP listener in the origin ns answering WORD.
listen() {
	spawn "listen-$1" "$LAB_O" timeout 120 socat \
		"TCP6-LISTEN:$1,fork,reuseaddr,ipv6only=0" SYSTEM:"echo ${2:-hello-$1}"
	wait_port "$1"
}

# wait_port PORT: until something listens on PORT in the origin ns (5 s).
wait_port() {
	for _ in $(seq 50); do
		in_origin ss -Hltn "sport = :$1" | grep -q LISTEN && return 0
		sleep 0.1
	done
	fail "nothing listens on port $1"
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
