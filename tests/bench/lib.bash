# SPDX-License-Identifier: GPL-2.0-only
# Shared by the benchmark parts (sourced by tests/bench/run): a lab of
# network namespaces with names unique to this run on the shared lab
# (tests/lib/lab.sh: processes started and ended by pid, a teardown that
# runs on any exit), a PKI, server configurations, CPU accounting at the
# origin and the statistics.
#
#   edge ns     ${BL}e  $IF_E1  10.66.1.2/24 fd00:66:1::2/64   legitimate client
#   origin ns   ${BL}o  $IF_E0  10.66.1.1/24 fd00:66:1::1/64
#                       $IF_S0  10.66.2.1/24 fd00:66:2::1/64
#   stranger ns ${BL}s  $IF_S1  10.66.2.2/24 (and .10-.89)     everybody else
#
# shellcheck source=tests/lib/lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"

ORIGIN_E4=10.66.1.1 EDGE4=10.66.1.2
ORIGIN_S4=10.66.2.1 STRANGER4=10.66.2.2
ORIGIN_E6=fd00:66:1::1 EDGE6=fd00:66:1::2

# ---- lifecycle ----

# bench_init NAME: names for this lab (unique per process), a temp dir,
# and the teardown trap. Each part runs in its own subshell.
bench_init() {
	local id
	id=$(printf '%x' "$BASHPID")
	BL=aopb$id
	BT=$(mktemp -d "/tmp/aopgate-bench-$1.XXXXXX")
	# Interface names stay short: a NAPI thread is named napi/IFNAME-ID
	# within 15 characters, and the CPU accounting finds it by that name.
	IF_E0=b${id}e0 IF_E1=b${id}e1 IF_S0=b${id}s0 IF_S1=b${id}s1
	PIN=/sys/fs/bpf/aopgate-bench-$id
	lab_init "$BT" || die "cannot write $BT"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM HUP
}

# bench_cleanup: ends every process started here (by pid), removes the
# pins and the namespaces (their veths and iptables rules go with them).
bench_cleanup() {
	[ -n "${BT:-}" ] && [ -d "$BT" ] || return 0
	lab_teardown
	if [ "${BENCH_KEEP_LOGS:-0}" = 1 ]; then
		echo "bench: logs kept in $BT" >&2
	else
		rm -rf "$BT"
	fi
}

in_ns() { lab_in "$@"; }
in_origin() { in_ns "${BL}o" "$@"; }
in_edge() { in_ns "${BL}e" "$@"; }
in_stranger() { in_ns "${BL}s" "$@"; }

# spawn NAME NS CMD...: CMD in the background in namespace NS, logged to
# $BT/NAME.log; its pid is in $SPAWNED and the teardown ends it.
spawn() {
	lab_spawn "$@"
	SPAWNED=$LAB_SPAWNED
}

# stop PID: ends one spawned process and waits for it (TERM, then KILL).
stop() { lab_stop "$1"; }

die() {
	echo "bench: $*" >&2
	exit 1
}

# need CMD...: fails with the package to install when a tool is missing.
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			die "$c not found: run scripts/deps.sh --bench"
	done
}

# ---- the lab ----

# _veth NS_A IF_A ADDR_A NS_B IF_B ADDR_B ADDR6_A ADDR6_B
_veth() {
	lab_veth "$1" "$2" "$4" "$5" &&
		lab_addr "$1" "$2" "$3/24" "$7/64" &&
		lab_addr "$4" "$5" "$6/24" "$8/64" ||
		die "cannot make the veth pair $2-$5"
	_tune "$1" "$2"
	_tune "$4" "$5"
}

# _tune NS IF: GRO on and TSO off make veth take every packet through its
# NAPI poll (GRO-eligible skbs only; TSO on a veth sends TCP around it),
# which is also where native XDP runs; threaded NAPI runs that poll in a
# kernel thread of its own, so the receiving side's work is accounted to
# that thread, not to whichever process sent the packet. Threaded NAPI is
# set through sysfs, which only `ip netns exec` shows for the namespace,
# and only once the link is up (its NAPI instances exist then).
_tune() {
	in_ns "$1" ethtool -K "$2" gro on tso off >/dev/null 2>&1 ||
		die "ethtool -K $2 gro on tso off failed"
	ip netns exec "$1" sh -c "echo 1 >/sys/class/net/$2/threaded" ||
		die "cannot enable threaded NAPI on $2"
}

# lab_up: the three namespaces and the two veth pairs.
lab_up() {
	[ "$(id -u)" -eq 0 ] || die "the benchmarks need root (namespaces, XDP)"
	local i
	lab_pin_root "$PIN" || die "cannot use $PIN"
	lab_netns "${BL}o" "${BL}e" "${BL}s" || die "cannot make the namespaces"
	_veth "${BL}o" "$IF_E0" $ORIGIN_E4 "${BL}e" "$IF_E1" $EDGE4 $ORIGIN_E6 $EDGE6
	_veth "${BL}o" "$IF_S0" $ORIGIN_S4 "${BL}s" "$IF_S1" $STRANGER4 fd00:66:2::1 fd00:66:2::2
	# More stranger addresses, each a first-time source for the gate.
	for i in $(seq 10 89); do
		ip -n "${BL}s" addr add "10.66.2.$i/24" dev "$IF_S1"
	done
	# The stranger ignores what comes back, as a spoofing flooder would:
	# no RSTs from its stack reach the origin and muddle its accounting.
	in_stranger iptables -t raw -A PREROUTING -d $STRANGER4 -p tcp --sport 443 -j DROP ||
		die "iptables in the stranger namespace failed"
}

# gate_attach IF...: the gate on the origin's interfaces, GATE 443,
# BACKEND 8080, native XDP; pins under this run's own root.
gate_attach() {
	local i
	for i in "$@"; do
		in_origin "$BUILD/aopgate" --pin-root "$PIN" attach -i "$i" -m native \
			--gate-ports 443 --backend-ports 8080 >>"$BT/gate.log" 2>&1 ||
			die "aopgate attach -i $i failed: $(tail -3 "$BT/gate.log")"
	done
}

# gate_detach: removes the gate and its maps (the link pins hold it).
gate_detach() {
	rm -rf "$PIN"
}

gate() { in_origin "$BUILD/aopgate" --pin-root "$PIN" "$@"; }

# gate_drops: packets dropped by the gate so far, all reasons.
gate_drops() {
	gate status --json | jq '[.counters | to_entries[] |
		select(.key | startswith("drop-")) | .value.packets] | add // 0'
}

# gate_counter NAME: one counter's packets.
gate_counter() {
	gate status --json | jq --arg n "$1" '.counters[$n].packets // 0'
}

# wait_port NS PORT: until something listens on PORT in NS (10 s).
wait_port() {
	lab_wait_listen "$1" "$2" 10 ||
		die "nothing listens on port $2 in $1; logs: $(tail -5 "$BT"/*.log 2>/dev/null)"
}

# ---- CPU accounting ----
#
# Origin CPU is the run time (ns, /proc/.../schedstat: exact, not sampled
# by the tick) of every thread that works for the origin: the NAPI
# threads of its interfaces (the receive path, XDP and the TCP stack
# included) and each server process with its children and threads.
# /proc/stat (user+system+softirq, all CPUs) is recorded too, but on this
# kernel it is sampled by a 250 Hz tick, which the senders' timer-driven
# bursts alias with; it goes into the JSON, not into the ratios.

ORIGIN_PIDS=()

# _tree PID: PID and its descendants.
_tree() {
	local p
	echo "$1"
	for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		_tree "$p"
	done
}

# task_ns PID...: run time of every thread of these processes and their
# descendants, in ns.
task_ns() {
	local p pids=()
	for p in "$@"; do
		pids+=($(_tree "$p"))
	done
	[ ${#pids[@]} -gt 0 ] || { echo 0; return; }
	for p in "${pids[@]}"; do
		cat /proc/"$p"/task/*/schedstat 2>/dev/null
	done | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# napi_ns IF...: run time of the NAPI threads of these interfaces, in ns.
napi_ns() {
	local i pids=()
	for i in "$@"; do
		pids+=($(pgrep -x "napi/$i-[0-9]*" 2>/dev/null))
	done
	[ ${#pids[@]} -gt 0 ] || { echo 0; return; }
	for i in "${pids[@]}"; do
		cat "/proc/$i/schedstat" 2>/dev/null
	done | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# stat_ticks: user+nice+system+irq+softirq of all CPUs, in ticks.
stat_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}

# origin_ns: the origin's CPU so far (NAPI threads of both origin
# interfaces and ORIGIN_PIDS with descendants).
origin_ns() {
	echo $(($(napi_ns "$IF_E0" "$IF_S0") + $(task_ns "${ORIGIN_PIDS[@]}")))
}

now_ns() { date +%s%N; }

# ---- statistics and output ----

# A jq prelude: median/min/max of an array, formatted.
JQ_STATS='
def median: sort | if length == 0 then null elif length % 2 == 1
	then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def r(p): if . == null then "-" elif p == 0 then round | tostring else
	(. * pow(10; p) | round) as $x | "\($x / pow(10; p) | floor).\("000000\($x % pow(10; p))" | .[-p:])" end;
def spread(p): "\(median | r(p)) (\(min | r(p))-\(max | r(p)))";
'

# emit PART: the part's table ($BT/table.md) to stdout and, unless smoke,
# with the JSON to the results directory.
emit() {
	cat "$BT/table.md"
	echo
	[ "$SMOKE" = 1 ] && return 0
	mkdir -p "$RESULTS"
	cp "$BT/table.md" "$RESULTS/$1.md"
	jq --arg part "$1" --arg date "$(date -u +%FT%TZ)" \
		--arg host "$(uname -r); $(nproc) CPUs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
		'{part: $part, date: $date, machine: $host} + .' "$BT/result.json" >"$RESULTS/$1.json"
}

# ---- PKI and servers ----

# pki_make DIR: per key type (ec = ECDSA P-256, rsa = RSA-2048): a CA, a
# server certificate for the origin and a client certificate for the edge.
pki_make() {
	local d=$1 t
	mkdir -p "$d"
	for t in ec rsa; do
		local kopt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
		[ $t = rsa ] && kopt=(-newkey rsa:2048)
		openssl req -x509 "${kopt[@]}" -nodes -days 30 -subj "/CN=Bench Edge CA $t" \
			-keyout "$d/ca-$t.key" -out "$d/ca-$t.pem" 2>/dev/null || return 1
		_pki_leaf "$d" $t server origin.bench "subjectAltName=DNS:origin.bench,IP:$ORIGIN_E4
extendedKeyUsage=serverAuth" "${kopt[@]}" || return 1
		_pki_leaf "$d" $t client edge-bench "subjectAltName=URI:spiffe://bench/edge
extendedKeyUsage=clientAuth" "${kopt[@]}" || return 1
	done
}

_pki_leaf() {
	local d=$1 t=$2 name=$3 cn=$4 ext=$5
	shift 5
	printf '%s\n' "$ext" >"$d/$name-$t.ext"
	openssl req "$@" -nodes -subj "/CN=$cn" -keyout "$d/$name-$t.key" \
		-out "$d/$name-$t.csr" 2>/dev/null &&
		openssl x509 -req -in "$d/$name-$t.csr" -CA "$d/ca-$t.pem" -CAkey "$d/ca-$t.key" \
			-CAcreateserial -days 30 -extfile "$d/$name-$t.ext" \
			-out "$d/$name-$t.pem" 2>/dev/null
}

# nginx_conf FILE MODE KEYTYPE PORT: MODE http (the origin itself answering
# with ssl_verify_client on, the setup aopgate replaces) or stream (TLS
# with ssl_verify_client on, relaying to the upstream on 127.0.0.1:8080).
nginx_conf() {
	local f=$1 mode=$2 t=$3 port=$4 load="" tls
	[ "$mode" = stream ] && load="load_module /usr/lib/nginx/modules/ngx_stream_module.so;"
	tls="listen $port ssl backlog=4096;
		listen [::]:$port ssl backlog=4096;
		ssl_certificate $PKI/server-$t.pem;
		ssl_certificate_key $PKI/server-$t.key;
		ssl_client_certificate $PKI/ca-$t.pem;
		ssl_verify_client on;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_session_cache shared:S$port:10m;"
	{
		cat <<-EOC
		$load
		daemon off;
		master_process on;
		user root;
		worker_processes $WORKERS;
		pid $BT/nginx-$port.pid;
		error_log $BT/nginx-$port-error.log warn;
		events { worker_connections 4096; }
		EOC
		if [ "$mode" = http ]; then
			cat <<-EOC
			http {
				access_log off;
				client_body_temp_path $BT; proxy_temp_path $BT;
				fastcgi_temp_path $BT; uwsgi_temp_path $BT; scgi_temp_path $BT;
				keepalive_requests 1000000;
				server {
					$tls
					location / { return 200 "ok\n"; }
				}
			}
			EOC
		else
			cat <<-EOC
			stream {
				server {
					$tls
					proxy_pass 127.0.0.1:8080;
				}
			}
			EOC
		fi
	} >"$f"
}

# haproxy_conf FILE KEYTYPE PORT: mode tcp, TLS with `verify required`,
# relaying to the upstream on 127.0.0.1:8080.
haproxy_conf() {
	cat "$PKI/server-$2.pem" "$PKI/server-$2.key" >"$BT/haproxy-$2.pem"
	cat >"$1" <<-EOC
	global
		nbthread $WORKERS
		maxconn 4096
		ssl-default-bind-options ssl-min-ver TLSv1.2
	defaults
		mode tcp
		timeout connect 5s
		timeout client 60s
		timeout server 60s
	frontend tls
		bind :$3 ssl crt $BT/haproxy-$2.pem ca-file $PKI/ca-$2.pem verify required
		bind :::$3 v6only ssl crt $BT/haproxy-$2.pem ca-file $PKI/ca-$2.pem verify required
		default_backend up
	backend up
		server up 127.0.0.1:8080
	EOC
}

# agent_conf FILE KEYTYPE: aopgated's configuration (the directives of
# user/agent/config.c): one default site trusting the bench CA, relaying to the
# plain upstream on 127.0.0.1:8080; AGENT_EXTRA adds [agent] lines.
agent_conf() {
	cat >"$1" <<-EOC
	[agent]
	listen = 0.0.0.0:443, [::]:443
	workers = $WORKERS
	pin_root = $PIN
	handshake_timeout = 5s
	penalty = 60s
	penalty_max = 10m
	linger = 1s
	log_level = warn
	${AGENT_EXTRA:-}

	[site default]
	cert = $PKI/server-$2.pem
	key = $PKI/server-$2.key
	client_ca = $PKI/ca-$2.pem
	verify = on
	upstream = 127.0.0.1:8080
	proxy_protocol = off
	EOC
}

# need_agent: aopgated must be built (the parts that measure it).
need_agent() {
	[ -x "$AOPGATED" ] ||
		die "aopgated not built ($AOPGATED): the parts reject, handshake, relay and siege measure it (make; or AOPGATED=PATH)"
}

# Where each server under test listens in the origin namespace: the agent
# on the gate port, the others beside it, all started once per part.
declare -A PORT=([aopgated]=443 [nginx]=8443 [haproxy]=9443 [direct]=8081)
declare -A SRV_PID=()

# server_up KIND KEYTYPE [MODE [PORT]]: starts one server in the origin
# namespace (aopgated with the gate attached; nginx in MODE http or
# stream; haproxy) and waits until it listens; SRV_PID[KIND] is its pid.
server_up() {
	local kind=$1 t=$2 mode=${3:-stream} port=${4:-${PORT[$1]}}
	case $kind in
	aopgated)
		need_agent
		gate_attach "$IF_E0" "$IF_S0"
		agent_conf "$BT/aopgate-$t.conf" "$t"
		timeout 30 "$AOPGATED" -t -c "$BT/aopgate-$t.conf" >>"$BT/aopgated.log" 2>&1 ||
			die "aopgated -t rejects the bench configuration: $(tail -3 "$BT/aopgated.log")"
		spawn aopgated "${BL}o" "$AOPGATED" -c "$BT/aopgate-$t.conf"
		;;
	nginx)
		nginx_conf "$BT/nginx-$port.conf" "$mode" "$t" "$port"
		lab_nginx "nginx-$port" "${BL}o" "$BT/nginx-$port.conf" "$port" 10 ||
			die "nginx does not listen on $port: $(tail -3 "$BT/nginx-$port-error.log" 2>/dev/null)"
		SPAWNED=$LAB_SPAWNED
		;;
	haproxy)
		haproxy_conf "$BT/haproxy.cfg" "$t" "$port"
		spawn haproxy "${BL}o" haproxy -db -f "$BT/haproxy.cfg"
		;;
	direct)	# the upstream itself, reachable from the edge: no TLS, no relay
		spawn direct "${BL}o" "$BUILD/tests/upstream" -l "$ORIGIN_E4:$port"
		;;
	*) die "unknown server $kind" ;;
	esac
	SRV_PID[$kind]=$SPAWNED
	wait_port "${BL}o" "$port"
}

# server_down KIND: stops one server (and the gate with the agent).
server_down() {
	local port=${PORT[$1]}
	[ -n "${SRV_PID[$1]:-}" ] && stop "${SRV_PID[$1]}"
	unset "SRV_PID[$1]"
	[ "$1" = aopgated ] && gate_detach
	# The port must be free before the next server binds it.
	lab_wait_closed "${BL}o" "$port" 5 || true
}

# origin_of KIND: sets ORIGIN_PIDS to the server whose CPU is measured.
origin_of() {
	ORIGIN_PIDS=("${SRV_PID[$1]}")
}

# upstream_up: the plain origin app on 127.0.0.1:8080 in the origin ns.
upstream_up() {
	spawn upstream "${BL}o" "$BUILD/tests/upstream" -l 127.0.0.1:8080
	wait_port "${BL}o" 8080
}

# load NS ARGS...: runs tlsload in a namespace; its JSON on stdout.
load() {
	local ns=$1
	shift
	in_ns "$ns" "$BUILD/tests/tlsload" "$@" 2>>"$BT/tlsload.log" ||
		die "tlsload $* failed: $(tail -3 "$BT/tlsload.log")"
}

# measure NS ARGS...: tlsload's JSON with the origin's CPU added
# (origin_ns; napi_ns, the part of it in the NAPI threads) and the host's
# ticks around it.
measure() {
	local c0 c1 n0 n1 s0 s1 out
	n0=$(napi_ns "$IF_E0" "$IF_S0") c0=$(origin_ns) s0=$(stat_ticks)
	out=$(load "$@") || exit 1
	sleep 0.1
	n1=$(napi_ns "$IF_E0" "$IF_S0") c1=$(origin_ns) s1=$(stat_ticks)
	jq -c --argjson cpu "$((c1 - c0))" --argjson napi "$((n1 - n0))" \
		--argjson ticks "$((s1 - s0))" \
		'. + {origin_ns: $cpu, napi_ns: $napi, host_ticks: $ticks}' <<<"$out"
}

# count NS ARGS...: tlsload's JSON with the system calls and context
# switches of the origin's server processes (every thread, as perf stat
# -p counts them) added: syscalls, ctxsw. The tracepoint perf enables
# costs every system call some CPU, so counting runs apart from measure.
count() {
	local pids=() p pf=$BT/perf.$$ out
	for p in "${ORIGIN_PIDS[@]}"; do
		pids+=($(_tree "$p"))
	done
	perf stat -x, -e raw_syscalls:sys_enter,context-switches \
		-p "$(IFS=,; echo "${pids[*]}")" -o "$pf" &
	p=$!
	sleep 0.3	# perf attaches to every thread before the load starts
	out=$(load "$@") || { kill -INT "$p"; wait "$p"; exit 1; }
	sleep 0.1
	kill -INT "$p"
	wait "$p"
	jq -c --argjson sc "$(awk -F, '$3 == "raw_syscalls:sys_enter" { print $1 + 0 }' "$pf")" \
		--argjson cs "$(awk -F, '$3 == "context-switches" { print $1 + 0 }' "$pf")" \
		'. + {syscalls: $sc, ctxsw: $cs}' <<<"$out"
}

# profile NS ARGS...: tlsload's JSON with the CPU of the origin's server
# processes (every thread) split by where it ran, sampled by `perf record`
# at PROFILE_HZ while the load runs: .profile is {part: samples} and .hz
# the rate, so a part's share of one handshake is samples / hz / ok. The
# parts: OpenSSL's libcrypto and libssl, the C library's allocator, its
# locks and the rest of it, the kernel, and the server's own code.
PROFILE_HZ=1999
profile() {
	local pids=() p pf=$BT/perf-record.$$ out
	for p in "${ORIGIN_PIDS[@]}"; do
		pids+=($(_tree "$p"))
	done
	perf record -q -F "$PROFILE_HZ" -o "$pf" -p "$(IFS=,; echo "${pids[*]}")" \
		>/dev/null 2>&1 &
	p=$!
	sleep 0.3
	out=$(load "$@") || { kill -INT "$p"; wait "$p"; exit 1; }
	kill -INT "$p"
	wait "$p"
	jq -c --argjson hz "$PROFILE_HZ" --argjson prof "$(profile_parts "$pf")" \
		'. + {hz: $hz, profile: $prof}' <<<"$out"
	rm -f "$pf" "$pf.old"
}

# profile_parts PERF.DATA: its samples by part, as a JSON object.
profile_parts() {
	perf report -i "$1" --no-children -g none -n -t '|' --sort dso,sym 2>/dev/null |
		awk -F'|' '
			/^#/ || NF < 4 { next }
			{
				n = $2 + 0; dso = $3; sym = $4
				gsub(/^ +| +$/, "", dso); sub(/^\[.\] /, "", sym)
				if (dso == "[kernel.kallsyms]") p = "kernel"
				else if (dso ~ /^libcrypto[.]so/) p = "libcrypto"
				else if (dso ~ /^libssl[.]so/) p = "libssl"
				else if (dso ~ /^libc[.]so/ || dso == "[vdso]") {
					if (sym ~ /malloc|free|^_int_|consolidate|unlink_chunk|tcache|realloc|calloc/)
						p = "malloc"
					else if (sym ~ /^pthread_(rw|mutex|spin)|lll_lock|futex/)
						p = "locks"
					else
						p = "libc"
				} else p = "own"
				s[p] += n
			}
			END {
				printf "{"
				for (p in s) printf "%s\"%s\":%d", c++ ? "," : "", p, s[p]
				printf "}\n"
			}'
}

# trafgen_conf FLOOD: the packet trafgen repeats, a new source port each.
trafgen_conf() {
	local da sa flags=syn
	[ "$1" = ack ] && flags="ack, aseq=drnd()"
	da=$(ip -n "${BL}o" -br link show "$IF_S0" | awk '{ print $3 }')
	sa=$(ip -n "${BL}s" -br link show "$IF_S1" | awk '{ print $3 }')
	cat >"$BT/$1.trafgen" <<-EOC
	{
		eth(da=$da, sa=$sa),
		ipv4(saddr=$STRANGER4, daddr=$ORIGIN_S4, ttl=64),
		tcp(sp=dinc(1024, 65000), dp=443, $flags, seq=drnd(), win=64240),
	}
	EOC
}

# agent_lab_up: the lab, the PKI and the upstream every agent part uses.
agent_lab_up() {
	lab_up
	PKI=$BT/pki
	pki_make "$PKI" || die "cannot make the PKI"
	WORKERS=2
	upstream_up
}
