#!/usr/bin/env bash
# Installs the packages aopgate needs to build and test, with apt-get;
# with --bench, also those only the full benchmarks (make bench) use.
# Idempotent: when everything is present it only asks dpkg and exits.
set -euo pipefail

pkgs=(
	# build
	make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
	libssl-dev libinih-dev linux-libc-dev
	# make fuzz: libFuzzer and the sanitizer runtimes of clang
	libclang-rt-14-dev
	# build: the agent's systemd notification and metrics server
	libsystemd-dev libmicrohttpd-dev
	# tests
	bats bats-support bats-assert iproute2 curl openssl nginx-light
	tcpdump procps socat jq hping3 systemd python3
	# tests: the alerting rules and the exposition (promtool)
	prometheus
	# tests: aopgate top in a real terminal
	tmux
	# tests: the benchmarks' smoke run (xdp-filter, the floods' baseline,
	# the proxies the agent is compared with)
	xdp-tools netsniff-ng iptables ethtool haproxy libnginx-mod-stream
	# tests: the origin servers of dist/origin/ behind the agent
	apache2 caddy
	# tests: the Debian package (debian/), built, checked and installed
	build-essential debhelper dpkg-dev lintian
)
# bench: the plots of make bench, and perf stat for the system calls per handshake
[ "${1:-}" = --bench ] && pkgs+=(gnuplot-nox linux-perf)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root or: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
