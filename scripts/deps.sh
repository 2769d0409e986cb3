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
	# build: aopgate-bouncer's Local API client and JSON
	libcurl4-openssl-dev libjansson-dev
	# tests
	bats bats-support bats-assert iproute2 curl openssl nginx-light
	tcpdump procps socat jq hping3 systemd python3
	# tests: the alerting rules and the exposition (promtool)
	prometheus
	# tests: aopgate top in a real terminal
	tmux
	# tests: the system suites two files at a time (bats --jobs)
	parallel
	# tests: the benchmarks' smoke run (xdp-filter, the floods' baseline,
	# the proxies the agent is compared with)
	xdp-tools netsniff-ng iptables ethtool haproxy libnginx-mod-stream
	# tests: the origin servers of dist/origin/ behind the agent
	apache2 caddy
	# tests: the Local API and log agent that two origins share
	# (tests/system/crowdsec.bats runs its own, from a temp dir)
	crowdsec
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
# crowdsec's package would start and enable its service, which the tests
# do not use (they run their own): when this run installs it, it is kept
# from starting (policy-rc.d) and left disabled, so the host stays as it was.
cs_new=0
case " ${missing[*]} " in *" crowdsec "*) cs_new=1 ;; esac
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ $cs_new -eq 1 ] && [ ! -e $policy ]; then
	printf '#!/bin/sh\n# scripts/deps.sh: no service starts while it installs\nexit 101\n' >$policy
	chmod 755 $policy
	own_policy=1
fi
# Its post-install registers with the Central API, a connection off this
# host, unless this file holds something (README.Debian): the tests use no
# Central API, so none is registered.
capi=/etc/crowdsec/online_api_credentials.yaml
if [ $cs_new -eq 1 ] && [ ! -s $capi ]; then
	mkdir -p /etc/crowdsec
	echo '# no thanks: aopgate uses a Local API only (scripts/deps.sh)' >$capi
fi
rc=0
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
[ $own_policy -eq 0 ] || rm -f $policy
if [ $cs_new -eq 1 ] && [ -d /run/systemd/system ]; then
	systemctl disable --now crowdsec.service >/dev/null 2>&1 || true
fi
exit $rc
