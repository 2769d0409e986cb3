#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The gate in a lab of network namespaces on this host:
#
#   agd-edge     10.88.0.2  the legitimate puller
#   agd-stranger 10.88.0.3  everybody else
#   agd-origin   10.88.0.1  the gate on its NIC, GATE port 443, BACKEND 8080
#
# all joined by a bridge in agd-wire. `demo.sh up` builds it, runs the
# attempts and prints what happened; `demo.sh down` removes everything.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${AOPGATE_BUILD:-$top/build}
PIN=/sys/fs/bpf/aopgate-demo
STATE=/run/aopgate-demo
NS=(agd-wire agd-origin agd-edge agd-stranger)
ORIGIN=10.88.0.1 EDGE=10.88.0.2 STRANGER=10.88.0.3

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }
gate() { in_ns agd-origin "$build/aopgate" --pin-root "$PIN" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
outcome() { if "$@" >/dev/null 2>&1; then echo "reached"; else echo "refused"; fi; }
counters() {
	gate status --json | jq -r '.counters | to_entries[] |
		select(.value.packets > 0) | "  \(.key): \(.value.packets)"'
}

down() {
	if [ -f "$STATE/pids" ]; then
		while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$STATE/pids"
	fi
	rm -rf "$PIN" "$STATE"
	for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}

# bg NS NAME CMD...: a background service, stopped by `down`.
bg() {
	local ns=$1 name=$2
	shift 2
	nsenter --net="/run/netns/$ns" "$@" >>"$STATE/$name.log" 2>&1 &
	echo $! >>"$STATE/pids"
}

up() {
	down
	mkdir -p "$STATE"
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	for ns in "${NS[@]}"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	ip -n agd-wire link add br0 type bridge
	ip -n agd-wire link set br0 up
	local i=1
	for host in origin edge stranger; do
		ip link add "$host" netns "agd-$host" type veth peer name "p-$host" netns agd-wire
		ip -n agd-wire link set "p-$host" master br0 up
		ip -n "agd-$host" addr add "10.88.0.$i/24" dev "$host"
		ip -n "agd-$host" link set "$host" up
		i=$((i + 1))
	done

	say "attach the gate to the origin's NIC (GATE 443, BACKEND 8080)"
	gate attach -i origin -m native --gate-ports 443 --backend-ports 8080
	gate set syn_burst 20
	bg agd-origin gate-443 timeout 3600 socat TCP-LISTEN:443,fork,reuseaddr SYSTEM:'echo hello from the gate port'
	bg agd-origin app-8080 timeout 3600 socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo origin app'
	sleep 0.5

	say "attempts"
	echo "edge     -> origin:443  $(outcome in_ns agd-edge timeout 4 socat -T2 - TCP:$ORIGIN:443,connect-timeout=2 </dev/null)"
	echo "stranger -> origin:8080 (backend, direct)  $(outcome in_ns agd-stranger timeout 4 socat -T2 - TCP:$ORIGIN:8080,connect-timeout=2 </dev/null)"
	echo "origin   -> 127.0.0.1:8080 (loopback)      $(outcome in_ns agd-origin timeout 4 socat -T2 - TCP:127.0.0.1:8080 </dev/null)"
	echo "stranger -> 200 stray ACKs to :443"
	in_ns agd-stranger timeout 10 hping3 -q -A -p 443 -c 200 -i u1000 $ORIGIN >/dev/null 2>&1 || true
	echo "stranger -> SYN burst of 300 to :443 (rate limit: burst 20)"
	in_ns agd-stranger timeout 10 hping3 -q -S -p 443 -c 300 -i u1000 $ORIGIN >/dev/null 2>&1 || true
	gate deny add $STRANGER --for 10m
	echo "stranger denied for 10m; stranger -> origin:443  $(outcome in_ns agd-stranger timeout 4 socat -T2 - TCP:$ORIGIN:443,connect-timeout=2 </dev/null)"

	say "datapath counters that moved (aopgate status)"
	counters
	say "penalized sources (aopgate deny list)"
	gate deny list

	cat <<EOF

The lab stays up. Look around:
  nsenter --net=/run/netns/agd-origin $build/aopgate --pin-root $PIN status
  nsenter --net=/run/netns/agd-origin $build/aopgate --pin-root $PIN flows
  bpftool map dump pinned $PIN/pending
  nsenter --net=/run/netns/agd-edge curl -s telnet://$ORIGIN:443
Remove it with: make demo-down
EOF
}

[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (namespaces, XDP)" >&2; exit 1; }
case "${1:-up}" in
up) up ;;
down) down ;;
*) echo "usage: demo.sh up|down" >&2; exit 2 ;;
esac
