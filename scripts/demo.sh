#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The whole of aopgate in a lab of network namespaces on this host:
#
#   NAME-origin   10.88.0.1  nginx (plain HTTP, PROXY v2) on 127.0.0.1:8080,
#                            aopgated on 443, the gate on its NIC
#   NAME-edge     10.88.0.2  the legitimate puller, with a client certificate
#   NAME-stranger 10.88.0.3  no certificate, a wrong-CA certificate, floods,
#                            a direct try at the backend port
#
# joined by a bridge in NAME-wire (NAME: $AOPGATE_DEMO_NAME, default agd).
# `demo.sh up` builds the lab, runs every attempt and prints a report; the
# lab stays up for exploration; `demo.sh down` removes everything, from
# the registry the shared lab (tests/lib/lab.sh) keeps in $STATE. The
# outcomes are also written as key=value lines to $STATE/outcomes.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${AOPGATE_BUILD:-$top/build}
N=${AOPGATE_DEMO_NAME:-agd}
PIN=/sys/fs/bpf/aopgate-$N
STATE=/run/aopgate-$N
NS=("$N-wire" "$N-origin" "$N-edge" "$N-stranger")
ORIGIN=10.88.0.1 EDGE=10.88.0.2 STRANGER=10.88.0.3
PENALTY_S=3

# shellcheck source=tests/lib/lab.sh
source "$top/tests/lib/lab.sh"
# shellcheck source=tests/system/pki.bash
source "$top/tests/system/pki.bash"

in_ns() { local ns=$1; shift; lab_in "$N-$ns" "$@"; }
gate() { in_ns origin "$build/aopgate" --pin-root "$PIN" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
outcome() { echo "$1=$2" >>"$STATE/outcomes"; }

down() {
	if [ -d "$STATE" ]; then
		lab_init "$STATE"
		lab_teardown
	fi
	rm -rf "$STATE"
}

# bg NS NAME CMD...: a background service, logged, stopped by `down`.
bg() {
	local ns=$1 name=$2
	shift 2
	lab_spawn "$name" "$N-$ns" "$@"
}

wait_listen() {
	lab_wait_listen "$N-origin" "$1" 5 && return 0
	echo "demo: nothing listens on $1; see $STATE/*.log" >&2
	return 1
}

# https FROM CERT: one HTTPS request to the origin; prints the body.
https() {
	local cert=()
	[ "$2" = - ] || cert=(--cert "$STATE/pki/$2.pem" --key "$STATE/pki/$2.key")
	in_ns "$1" curl -sS --max-time 4 --connect-timeout 3 \
		--cacert "$STATE/pki/edge.pem" "${cert[@]}" \
		--resolve "origin.test:443:$ORIGIN" https://origin.test/
}

# refusal KEY FROM CERT: an attempt that must not reach the origin. curl's
# exit status tells a handshake refusal from a connection that timed out
# (28: the gate dropped the SYNs).
refusal() {
	local err rc=0
	err=$(https "$2" "$3" 2>&1) || rc=$?
	case $rc in
	0)
		echo "  UNEXPECTED: the origin answered: $err"
		outcome "$1" reached ;;
	28)
		echo "  dropped in XDP: ${err#curl: }"
		outcome "$1" dropped ;;
	*)
		echo "  refused by the agent: ${err#curl: }"
		outcome "$1" refused ;;
	esac
}

lab() {
	lab_pin_root "$PIN"
	lab_netns "${NS[@]}"
	ip -n "$N-wire" link add br0 type bridge
	ip -n "$N-wire" link set br0 up
	local i=1
	for host in origin edge stranger; do
		lab_veth "$N-$host" "$host" "$N-wire" "p-$host"
		ip -n "$N-wire" link set "p-$host" master br0
		lab_addr "$N-$host" "$host" "10.88.0.$i/24"
		i=$((i + 1))
	done
}

origin() {
	cat >"$STATE/nginx.conf" <<-EOC
	daemon off;
	user root;
	worker_processes 1;
	pid $STATE/nginx.pid;
	error_log $STATE/nginx-error.log;
	events { worker_connections 256; }
	http {
		log_format pp '\$proxy_protocol_addr - [\$time_local] "\$request" \$status';
		access_log $STATE/origin-access.log pp;
		client_body_temp_path $STATE; proxy_temp_path $STATE;
		fastcgi_temp_path $STATE; uwsgi_temp_path $STATE; scgi_temp_path $STATE;
		server {
			listen 127.0.0.1:8080 proxy_protocol;
			listen $ORIGIN:8080;
			location / { return 200 "origin says hello to \$proxy_protocol_addr\n"; }
		}
	}
	EOC
	cat >"$STATE/aopgate.conf" <<-EOC
	[agent]
	listen = 0.0.0.0:443
	pin_root = $PIN
	metrics = 127.0.0.1:9901
	workers = 1
	handshake_timeout = 3s
	penalty = ${PENALTY_S}s
	penalty_max = 1m
	[site origin.test]
	cert = $STATE/pki/server.pem
	key = $STATE/pki/server.key
	client_ca = $STATE/pki/edge.pem
	verify = on
	upstream = 127.0.0.1:8080
	proxy_protocol = v2
	EOC
	gate attach -i origin -m native --gate-ports 443 --backend-ports 8080
	gate set syn_burst 20
	lab_nginx nginx "$N-origin" "$STATE/nginx.conf" 8080 ||
		{ echo "demo: nginx does not listen on 8080; see $STATE/nginx-error.log" >&2; return 1; }
	bg origin agent "$build/aopgated" -c "$STATE/aopgate.conf"
	wait_listen 443
}

up() {
	down
	lab_init "$STATE"
	: >"$STATE/outcomes"
	say "building the lab: origin, edge and stranger namespaces, a demo PKI"
	lab
	pki_make "$STATE/pki" >/dev/null
	origin
	echo "gate attached to the origin's NIC (GATE 443, BACKEND 8080); aopgated on 443; nginx on 127.0.0.1:8080"

	say "edge (10.88.0.2) with a valid client certificate"
	if body=$(https edge edge1); then
		echo "  $body"
		outcome edge reached
	else
		echo "  UNEXPECTED: refused"
		outcome edge refused
	fi

	say "a long-running edge request: its verified flow, raw, as bpftool map dump shows it"
	(sleep 8 | in_ns edge timeout 12 openssl s_client -quiet -connect $ORIGIN:443 \
		-servername origin.test -cert "$STATE/pki/edge2.pem" -key "$STATE/pki/edge2.key" \
		-CAfile "$STATE/pki/edge.pem" >/dev/null 2>&1) &
	local held=$!
	# Its handshake done, the flow is pinned (bounded: 8 s).
	for _ in $(seq 80); do
		grep -q 'event=verify result=ok .*subject="CN=edge-2"' "$STATE/agent.log" && break
		sleep 0.1
	done
	# Captured first: with pipefail, grep -q closing the pipe early would
	# fail bpftool with SIGPIPE.
	local dump
	dump=$(bpftool map dump pinned "$PIN/verified4")
	sed 's/^/  /' <<<"$dump"
	if grep -q '"site_id": 1' <<<"$dump"; then
		outcome edge_verified_flow pinned
	else
		outcome edge_verified_flow missing
	fi
	say "the same flows as aopgate flows lists them: the site by name, verified or not"
	gate flows | sed 's/^/  /'
	wait "$held" || true

	say "stranger (10.88.0.3) without a certificate: failure 1 of 3"
	refusal stranger_no_cert stranger -
	say "stranger with a certificate from another CA: failure 2 of 3"
	refusal stranger_wrong_ca stranger outsider
	say "stranger without a certificate again: failure 3 of 3, penalized"
	refusal stranger_third stranger -
	say "stranger again, right away: its SYN is dropped in XDP"
	refusal stranger_penalized stranger -
	say "stranger: 300 SYNs, 200 stray ACKs and 50 UDP packets to port 443"
	sleep $((PENALTY_S + 1))
	in_ns stranger timeout 10 hping3 -q -S -p 443 -c 300 -i u1000 $ORIGIN >/dev/null 2>&1 || true
	in_ns stranger timeout 10 hping3 -q -A -p 443 -c 200 -i u1000 $ORIGIN >/dev/null 2>&1 || true
	in_ns stranger timeout 10 hping3 -q -2 -p 443 -c 50 -i u1000 $ORIGIN >/dev/null 2>&1 || true
	say "stranger straight at the backend port 8080"
	if in_ns stranger curl -sS --max-time 3 http://$ORIGIN:8080/ >/dev/null 2>&1; then
		echo "  UNEXPECTED: the backend answered"
		outcome stranger_backend reached
	else
		echo "  dropped in XDP (timed out)"
		outcome stranger_backend dropped
	fi

	say "whose packets the gate dropped (aopgate top --once: two samples 1 s apart)"
	gate top --once --interval 1s | sed 's/^/  /'
	say "why the stranger is denied (aopgate deny list)"
	gate deny list | sed 's/^/  /'
	say "datapath counters that moved (aopgate status)"
	gate status --json >"$STATE/status.json"
	jq -r '.counters | to_entries[] | select(.value.packets > 0) |
		"  \(.key): \(.value.packets)"' "$STATE/status.json"
	say "the origin's access log: the real client address from the PROXY header"
	sed 's/^/  /' "$STATE/origin-access.log"
	say "the agent's log line for each refusal"
	grep 'result=fail' "$STATE/agent.log" | sed 's/^/  /'

	cat <<-EOF

	The lab stays up. Look around:
	  nsenter --net=/run/netns/$N-origin $build/aopgate --pin-root $PIN status
	  nsenter --net=/run/netns/$N-origin $build/aopgate --pin-root $PIN flows
	  nsenter --net=/run/netns/$N-origin curl -s http://127.0.0.1:9901/metrics
	  nsenter --net=/run/netns/$N-origin $build/aopgate --pin-root $PIN top
	  nsenter --net=/run/netns/$N-origin $build/aopgate --pin-root $PIN drops --follow
	  bpftool map dump pinned $PIN/penalty   (raw: ports in network order, 16-byte addresses)
	  nsenter --net=/run/netns/$N-edge curl --cacert $STATE/pki/edge.pem \\
	      --cert $STATE/pki/edge1.pem --key $STATE/pki/edge1.key \\
	      --resolve origin.test:443:$ORIGIN https://origin.test/
	  logs: $STATE/agent.log $STATE/origin-access.log
	Remove it with: make demo-down
	EOF
}

[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (namespaces, XDP)" >&2; exit 1; }
case "${1:-up}" in
up) up ;;
down) down ;;
*) echo "usage: demo.sh up|down" >&2; exit 2 ;;
esac
