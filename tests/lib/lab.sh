# SPDX-License-Identifier: GPL-2.0-only
# The namespace lab under the system tests (tests/system/lab.bash), the
# benchmarks (tests/bench/lib.bash) and the demo (scripts/demo.sh):
# network namespaces joined by veth, a pin root on bpffs, processes started
# in a namespace with their pids recorded, bounded waits for listeners,
# nginx from a configuration, and one teardown that undoes all of it.
# Plain bash, so bats files and scripts source the same code.
#
# What a lab makes is written to a registry in its state directory
# ($LAB_STATE: pids, netns, pins) before it is made, so lab_teardown also
# removes what a setup that stopped half way made, and works from another
# process than the one that built the lab (demo.sh down). Functions
# return non-zero on failure and never exit: the caller decides how to fail.
#
# Commands run in a namespace with nsenter --net, not `ip netns exec`: the
# latter remounts /sys, which would hide /sys/fs/bpf and the pins.

# lab_init DIR: makes DIR (created if need be) the lab's state directory,
# for its registry and the logs of what it starts.
lab_init() {
	LAB_STATE=$1
	mkdir -p "$LAB_STATE" &&
		touch "$LAB_STATE/pids" "$LAB_STATE/netns" "$LAB_STATE/pins"
}

# _lab_note FILE LINE: adds LINE to a registry file, once.
_lab_note() {
	grep -qxF -- "$2" "$LAB_STATE/$1" 2>/dev/null || echo "$2" >>"$LAB_STATE/$1"
}

# lab_netns NS...: creates the namespaces, each with its loopback up.
lab_netns() {
	local ns
	for ns in "$@"; do
		_lab_note netns "$ns"
		ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
	done
}

# lab_veth NS_A IF_A NS_B IF_B: a veth pair from NS_A to NS_B, both ends up.
lab_veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" &&
		ip -n "$1" link set "$2" up &&
		ip -n "$3" link set "$4" up
}

# lab_addr NS IF ADDR/LEN...: adds addresses to an interface. IPv6 ones
# skip duplicate address detection, so they are usable at once.
lab_addr() {
	local ns=$1 dev=$2 a
	shift 2
	for a in "$@"; do
		case $a in
		*:*) ip -n "$ns" addr add "$a" dev "$dev" nodad ;;
		*) ip -n "$ns" addr add "$a" dev "$dev" ;;
		esac || return 1
	done
}

# lab_pin_root PATH: PATH, under /sys/fs/bpf (mounted if it is not), is
# the lab's pin root, which the teardown removes; removing the link pins
# releases the links, which detaches the gate.
lab_pin_root() {
	case $1 in
	/sys/fs/bpf/?*) ;;
	*) echo "lab: pin root $1 is not under /sys/fs/bpf" >&2; return 1 ;;
	esac
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || return 1
	_lab_note pins "$1"
}

# lab_in NS CMD...: runs CMD in namespace NS.
lab_in() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# lab_xdp_pass NS IFACE OBJ: the XDP program of OBJ (one that passes
# every frame, as a wire takes a NIC's frames) natively on IFACE in NS:
# what XDP_TX towards IFACE needs on a veth. bpftool loads it under a pin
# of the lab's, attaches it by id and the pin goes at once: the
# attachment holds the program, and nothing stays in the bpffs
# (iproute2's loader would leave its tc/globals, ip and xdp entries).
# The namespace's deletion detaches it.
lab_xdp_pass() {
	local pin=/sys/fs/bpf/aopgate-lab-xdp-$BASHPID id rc=0
	_lab_note pins "$pin"
	bpftool prog load "$3" "$pin" type xdp || return 1
	id=$(bpftool -j prog show pinned "$pin" | jq -r .id) &&
		lab_in "$1" bpftool net attach xdpdrv id "$id" dev "$2" || rc=1
	rm -f "$pin"
	return $rc
}

# lab_spawn NAME NS CMD...: CMD in the background in namespace NS, its
# output in $LAB_STATE/NAME.log; its pid in LAB_SPAWNED and the registry.
# nsenter execs CMD, so the pid recorded is the command's own.
lab_spawn() {
	local name=$1 ns=$2
	shift 2
	nsenter --net="/run/netns/$ns" "$@" >>"$LAB_STATE/$name.log" 2>&1 &
	LAB_SPAWNED=$!
	lab_track "$LAB_SPAWNED"
}

# lab_track PID: the lab ends PID (a process it started some other way,
# a daemon's server say) with the rest of its processes.
lab_track() {
	echo "$1 $(_lab_started "$1")" >>"$LAB_STATE/pids"
}

# _lab_started PID: when the process started (clock ticks since boot),
# which tells it from a later process that got the same pid; empty once
# it is gone. A zombie still counts: until its parent reaps it, the pid
# is not free, and a caller checking with kill -0 would still see it.
_lab_started() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	# After "pid (comm) ", whose comm may hold spaces, starttime is the
	# 20th field.
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	echo "${20:-}"
}

# _lab_alive PID START: is PID still the process started then?
_lab_alive() {
	[ -n "$2" ] && [ "$(_lab_started "$1")" = "$2" ]
}

# lab_stop PID...: ends these processes of the lab (any other pid is left
# alone): TERM, then KILL what still runs 3 s later.
lab_stop() {
	local pid start p live=()
	for pid in "$@"; do
		start=$(awk -v p="$pid" '$1 == p { print $2; exit }' "$LAB_STATE/pids")
		_lab_alive "$pid" "$start" || continue
		kill "$pid" 2>/dev/null && live+=("$pid $start")
	done
	for _ in $(seq 30); do
		set -- "${live[@]}"
		live=()
		for p in "$@"; do
			_lab_alive "${p% *}" "${p#* }" && live+=("$p")
		done
		[ ${#live[@]} -gt 0 ] || return 0
		sleep 0.1
	done
	for p in "${live[@]}"; do
		kill -9 "${p% *}" 2>/dev/null || true
	done
	return 0
}

# lab_wait_listen NS PORT [SECONDS]: until a TCP socket listens on PORT in
# NS, 5 s at most; 1 if none did.
lab_wait_listen() {
	local out
	for _ in $(seq $((${3:-5} * 10))); do
		out=$(lab_in "$1" ss -Hltn "sport = :$2")
		[[ $out == *LISTEN* ]] && return 0
		sleep 0.1
	done
	return 1
}

# lab_wait_closed NS PORT [SECONDS]: until nothing listens on PORT in NS,
# 5 s at most; 1 if something still does.
lab_wait_closed() {
	local out
	for _ in $(seq $((${3:-5} * 10))); do
		out=$(lab_in "$1" ss -Hltn "sport = :$2")
		[[ $out == *LISTEN* ]] || return 0
		sleep 0.1
	done
	return 1
}

# lab_nginx NAME NS CONF PORT [SECONDS]: nginx in NS from CONF (which says
# `daemon off`, so the pid recorded is the master's), with $LAB_STATE as
# its prefix and NAME-error.log there for errors before CONF is read;
# waits until PORT listens (5 s by default). 1 if it does not.
lab_nginx() {
	lab_spawn "$1" "$2" nginx -c "$3" -p "$LAB_STATE" -e "$LAB_STATE/$1-error.log" &&
		lab_wait_listen "$2" "$4" "${5:-5}"
}

# lab_teardown: ends the lab's processes, removes its pins and deletes its
# namespaces (their veths go with them). Each step runs whatever failed
# before it; the state directory and its logs stay, for the caller.
lab_teardown() {
	local p
	[ -n "${LAB_STATE:-}" ] && [ -d "$LAB_STATE" ] || return 0
	# shellcheck disable=SC2046
	lab_stop $(cut -d' ' -f1 "$LAB_STATE/pids" 2>/dev/null)
	while read -r p; do
		case $p in
		/sys/fs/bpf/?*) rm -rf "$p" || true ;;
		esac
	done <"$LAB_STATE/pins"
	while read -r p; do
		[ -z "$p" ] || ip netns del "$p" 2>/dev/null || true
	done <"$LAB_STATE/netns"
	return 0
}
