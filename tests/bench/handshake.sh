#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# CPU time per TLS handshake with client-certificate verification, for
# aopgated and for nginx with ssl_verify_client on, same certificates, on
# loopback: `openssl s_time -new` opens connections for SECONDS, and the
# server's utime+stime (all threads, from /proc) is divided by their
# number. Rows: a client with a valid certificate, and one without.
#   usage: tests/bench/handshake.sh [SECONDS]   (default 5; as root or not)
set -euo pipefail

secs=${1:-5}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${AOPGATE_BUILD:-$top/build}
dir=$(mktemp -d /tmp/aopgate-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

# shellcheck source=tests/system/pki.bash
source "$top/tests/system/pki.bash"
pki_make "$dir/pki" >/dev/null
pki=$dir/pki
# Ports from the pid, so two runs side by side do not collide.
base=$((20000 + ($$ % 2000) * 4))
p_agent=$base p_origin=$((base + 1)) p_nginx=$((base + 2))

cat >"$dir/nginx.conf" <<EOC
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $dir; proxy_temp_path $dir;
	fastcgi_temp_path $dir; uwsgi_temp_path $dir; scgi_temp_path $dir;
	server {
		listen 127.0.0.1:$p_origin proxy_protocol;
		location / { return 200 "origin\n"; }
	}
	server {
		listen 127.0.0.1:$p_nginx ssl;
		ssl_certificate $pki/server.pem;
		ssl_certificate_key $pki/server.key;
		ssl_client_certificate $pki/edge.pem;
		ssl_verify_client on;
		location / { return 200 "nginx\n"; }
	}
}
EOC
cat >"$dir/aopgate.conf" <<EOC
[agent]
listen = 127.0.0.1:$p_agent
pin_root = off
workers = 1
log_level = error
penalty_exempt = 127.0.0.0/8
[site default]
cert = $pki/server.pem
key = $pki/server.key
client_ca = $pki/edge.pem
upstream = 127.0.0.1:$p_origin
proxy_protocol = v2
EOC

[ "$(id -u)" -eq 0 ] && sed -i '1i user root;' "$dir/nginx.conf"
nginx -c "$dir/nginx.conf" -p "$dir" 2>>"$dir/nginx-error.log" &
pids+=($!)
"$build/aopgated" -c "$dir/aopgate.conf" 2>>"$dir/agent.log" &
agent=$!
pids+=($agent)
for _ in $(seq 50); do
	[ -s "$dir/nginx.pid" ] && ss -Hltn "sport = :$p_agent" | grep -q LISTEN && break
	sleep 0.1
done
nginx_worker=$(pgrep -P "$(cat "$dir/nginx.pid")" | head -1)

# cpu PID: utime+stime of the process (every thread), in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# row NAME PID PORT [S_TIME ARGS]: one measurement line.
row() {
	local name=$1 pid=$2 port=$3 c0 c1 out n
	shift 3
	c0=$(cpu "$pid")
	out=$(openssl s_time -connect "127.0.0.1:$port" -new -time "$secs" "$@" 2>&1 || true)
	c1=$(cpu "$pid")
	n=$(sed -n 's/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p' <<<"$out" | head -1)
	if [ -z "$n" ] || [ "$n" -eq 0 ]; then
		printf '%-34s no connections: %s\n' "$name" "$(tail -1 <<<"$out")"
		return
	fi
	awk -v n="$n" -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v name="$name" \
		'BEGIN { printf "%-34s %6d handshakes  %8.0f us CPU each\n", name, n, t * 1e6 / hz / n }'
}

echo "# $(openssl version), TLS 1.3, ECDSA P-256, $secs s per row, $(nproc) CPUs"
row "aopgated, valid client cert" "$agent" "$p_agent" -cert "$pki/edge1.pem" -key "$pki/edge1.key"
row "nginx, valid client cert" "$nginx_worker" "$p_nginx" -cert "$pki/edge1.pem" -key "$pki/edge1.key"
row "aopgated, no client cert" "$agent" "$p_agent"
row "nginx, no client cert" "$nginx_worker" "$p_nginx"
