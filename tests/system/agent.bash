# SPDX-License-Identifier: GPL-2.0-only
# The agent's system-test helpers, on top of the shared namespace lab: a
# PKI made with the openssl CLI (once per file), a real nginx origin with
# PROXY v2 on 127.0.0.1:8080 in the origin namespace, aopgated on 443,
# curl and openssl s_client as clients. Every wait is bounded.

load lab
# shellcheck source=tests/system/pki.bash
source "$BATS_TEST_DIRNAME/pki.bash"

# origin_up: nginx in the origin ns: 127.0.0.1:8080 speaks PROXY v2 and
# answers with the client address it read from the header; 8444 is TLS
# with ssl_verify_client on, for the tls:// upstream.
origin_up() {
	nginx_conf "$(cat <<-EOC
	log_format pp '\$proxy_protocol_addr \$remote_addr "\$request" \$status';
	access_log $LAB_DIR/origin-access.log pp;
	server {
		listen 127.0.0.1:8080 proxy_protocol;
		location / { return 200 "hello \$proxy_protocol_addr\n"; }
	}
	server {
		listen 127.0.0.1:8082 http2 proxy_protocol;
		location / { return 200 "h2 \$proxy_protocol_addr\n"; }
	}
	server {
		listen 127.0.0.1:8444 ssl;
		ssl_certificate $PKI/server.pem;
		ssl_certificate_key $PKI/server.key;
		ssl_client_certificate $PKI/edge.pem;
		ssl_verify_client on;
		location / { return 200 "tls-upstream \$ssl_client_s_dn\n"; }
	}
	EOC
	)"
	lab_nginx nginx "$LAB_O" "$LAB_DIR/nginx.conf" 8080 || fail "nginx does not listen on 8080"
}

# nginx_conf HTTP: $LAB_DIR/nginx.conf for a foreground nginx whose files
# all stay in the lab, with HTTP inside its http { } block.
nginx_conf() {
	cat >"$LAB_DIR/nginx.conf" <<-EOC
	daemon off;
	user root;
	worker_processes 1;
	pid $LAB_DIR/nginx.pid;
	error_log $LAB_DIR/nginx-error.log info;
	events { worker_connections 256; }
	http {
	client_body_temp_path $LAB_DIR; proxy_temp_path $LAB_DIR;
	fastcgi_temp_path $LAB_DIR; uwsgi_temp_path $LAB_DIR; scgi_temp_path $LAB_DIR;
	$1
	}
	EOC
}

# agent_conf [EXTRA_AGENT_LINES [EXTRA_SITE_LINES]]: writes the agent's
# configuration. The site origin.test trusts the edge CA (with its CRL) and
# wants an edge SPIFFE id; pinned.test pins edge-1; other.test trusts only
# the other CA; default trusts the edge CA.
agent_conf() {
	cat >"$LAB_DIR/aopgate.conf" <<-EOC
	[agent]
	listen = 0.0.0.0:443, [::]:443
	pin_root = $PIN
	metrics = 127.0.0.1:9901
	workers = 2
	handshake_timeout = 2s
	penalty = ${AGENT_PENALTY:-3s}
	penalty_max = 20s
	linger = 1s
	log_level = debug
	${1:-}

	[site origin.test]
	cert = $PKI/server.pem
	key = $PKI/server.key
	client_ca = $PKI/edge.pem
	crl = $LAB_DIR/edge.crl
	allow_san_uri = spiffe://example.net/edge/*
	upstream = 127.0.0.1:8080
	proxy_protocol = v2
	${2:-}

	[site pinned.test]
	cert = $PKI/server.pem
	key = $PKI/server.key
	client_ca = $PKI/edge.pem
	pin_sha256 = $(sha256_of "$PKI/edge1.pem")
	upstream = 127.0.0.1:8080
	proxy_protocol = v2

	[site other.test]
	cert = $PKI/server.pem
	key = $PKI/server.key
	client_ca = $LAB_DIR/other-ca.pem
	upstream = 127.0.0.1:8080
	proxy_protocol = v2

	[site tls.test]
	cert = $PKI/server.pem
	key = $PKI/server.key
	client_ca = $PKI/edge.pem
	upstream = tls://127.0.0.1:8444
	upstream_cert = $PKI/agentup.pem
	upstream_key = $PKI/agentup.key
	upstream_ca = $PKI/edge.pem

	[site default]
	cert = $PKI/server.pem
	key = $PKI/server.key
	client_ca = $PKI/edge.pem
	upstream = 127.0.0.1:8080
	proxy_protocol = v2
	EOC
}

# agent_up [MODE]: attach the gate (native XDP unless MODE says), start
# nginx and aopgated (config from agent_conf, written first if absent),
# wait until it listens.
agent_up() {
	gate_attach -m "${1:-native}"
	agent_files
	origin_up
	agent_start
}

# agent_files: the configuration and the files it names that tests change.
agent_files() {
	cp "$PKI/edge.crl" "$LAB_DIR/edge.crl"
	cp "$PKI/other.pem" "$LAB_DIR/other-ca.pem"
	[ -f "$LAB_DIR/aopgate.conf" ] || agent_conf
}

agent_start() {
	spawn agent "$LAB_O" "$AOPGATED" -c "$LAB_DIR/aopgate.conf"
	AGENT_PID=$LAB_SPAWNED
	wait_port 443
}

# agent_log_wait REGEX [SECONDS]: until a line of the agent's log matches.
agent_log_wait() {
	local i
	for i in $(seq $((${2:-5} * 10))); do
		grep -qE -- "$1" "$LAB_DIR/agent.log" && return 0
		sleep 0.1
	done
	fail "no agent log line matches: $1"
}

# fetch NAME [CURL ARGS...]: an HTTPS GET from the client ns with client
# certificate NAME ("-" for none), SNI origin.test unless overridden.
fetch() {
	local name=$1 host=origin.test addr=$ORIGIN4 cert=()
	shift
	[ "$name" = - ] || cert=(--cert "$PKI/$name.pem" --key "$PKI/$name.key")
	while [ $# -gt 0 ]; do
		case $1 in
		--host) host=$2; shift 2 ;;
		--v6) addr="[$ORIGIN6]"; shift ;;
		*) break ;;
		esac
	done
	in_client curl -sS --max-time 5 --connect-timeout 3 --cacert "$PKI/edge.pem" \
		"${cert[@]}" --resolve "$host:443:$addr" "$@" "https://$host/"
}

# hold NAME SECONDS [ADDR]: an mTLS connection with client certificate
# NAME, held open for SECONDS by s_client waiting on its stdin; its pid
# goes to $held.
hold() {
	(sleep "$2" | in_client timeout $(($2 + 2)) openssl s_client -connect "${3:-$ORIGIN4}:443" \
		-servername origin.test -cert "$PKI/$1.pem" -key "$PKI/$1.key" \
		-CAfile "$PKI/edge.pem" >"$LAB_DIR/sclient.log" 2>&1) &
	held=$!
}

# client_flows_gone SECONDS: until `aopgate flows` no longer lists the
# client's address, polling every 0.1 s; the caller asserts what it shows.
client_flows_gone() {
	for _ in $(seq $(($1 * 10))); do
		gate flows | grep -q "$CLIENT4" || return 0
		sleep 0.1
	done
}

# metric NAME_AND_LABELS: one sample from the agent's /metrics (0 if absent).
metric() {
	local v
	v=$(in_origin curl -s --max-time 3 http://127.0.0.1:9901/metrics |
		awk -v k="$1 " 'index($0, k) == 1 { print $2; exit }')
	echo "${v:-0}"
}

# refused NAME REASON [FETCH ARGS...]: the client is refused, the agent logs
# the reason and counts it.
refused() {
	local name=$1 reason=$2
	shift 2
	run fetch "$name" "$@"
	assert_failure
	agent_log_wait "event=verify result=fail reason=$reason "
	[ "$(metric "aopgate_closes_total{reason=\"$reason\"}")" -ge 1 ]
}

# hexof [TEXT]: TEXT (or stdin) as lower-case hex, no spaces.
hexof() {
	if [ $# -gt 0 ]; then printf '%s' "$1"; else cat; fi | od -An -tx1 -v | tr -d ' \n'
}
