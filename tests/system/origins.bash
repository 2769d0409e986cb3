# SPDX-License-Identifier: GPL-2.0-only
# Real origin servers behind the agent, each configured from its snippet in
# dist/origin/ so the documented configuration is the tested one. A
# snippet names production paths (/etc/ssl/origin/, /var/log/SERVER/,
# /var/www/html, ${APACHE_LOG_DIR}); origin_snippet maps them into the lab
# and the *_up functions add only what a foreground test instance needs
# around it (pid file, modules, timeouts). Every server listens on
# 127.0.0.1 in the origin namespace: 8080 plain, 8443 TLS.

load agent

ORIGIN_DIST=$BATS_TEST_DIRNAME/../../dist/origin

# origin_files: the origin's certificate and key and the CA of the agent's
# upstream_cert under the snippets' names, and a page to serve. The lab
# dir is opened to search so a server's unprivileged workers reach it.
origin_files() {
	mkdir -p "$LAB_DIR/ssl" "$LAB_DIR/www"
	cp "$PKI/server.pem" "$LAB_DIR/ssl/origin.pem"
	cp "$PKI/server.key" "$LAB_DIR/ssl/origin.key"
	cat "$PKI/server.pem" "$PKI/server.key" >"$LAB_DIR/ssl/origin-with-key.pem"
	cp "$PKI/edge.pem" "$LAB_DIR/ssl/aopgate-ca.pem"
	echo "hello from the origin" >"$LAB_DIR/www/index.html"
	chmod 711 "$LAB_DIR"
	chmod 755 "$LAB_DIR/www"
	chmod 644 "$LAB_DIR/www/index.html"
}

# origin_snippet FILE: dist/origin/FILE with its paths moved into the lab.
origin_snippet() {
	[ -f "$ORIGIN_DIST/$1" ] || fail "no snippet dist/origin/$1"
	sed -e "s|/etc/ssl/origin/|$LAB_DIR/ssl/|g" \
		-e "s|/var/www/html|$LAB_DIR/www|g" \
		-e "s|/var/log/[a-z0-9]*/|$LAB_DIR/|g" "$ORIGIN_DIST/$1"
}

# apache_up SNIPPET: Apache 2.4 in one foreground process, its own
# ServerRoot, pid file and runtime dir in the lab.
apache_up() {
	local m=/usr/lib/apache2/modules
	cat >"$LAB_DIR/apache.conf" <<-EOC
	ServerRoot $LAB_DIR
	ServerName origin.test
	PidFile $LAB_DIR/apache.pid
	DefaultRuntimeDir $LAB_DIR
	Mutex file:$LAB_DIR default
	ErrorLog $LAB_DIR/apache-error.log
	LogLevel info ssl:info remoteip:debug
	User www-data
	Group www-data
	LoadModule mpm_event_module $m/mod_mpm_event.so
	LoadModule authz_core_module $m/mod_authz_core.so
	LoadModule dir_module $m/mod_dir.so
	LoadModule mime_module $m/mod_mime.so
	LoadModule remoteip_module $m/mod_remoteip.so
	LoadModule socache_shmcb_module $m/mod_socache_shmcb.so
	LoadModule ssl_module $m/mod_ssl.so
	TypesConfig /etc/mime.types
	<Directory "$LAB_DIR/www">
	    Require all granted
	</Directory>
	EOC
	origin_snippet "$1" >>"$LAB_DIR/apache.conf"
	spawn apache "$LAB_O" env APACHE_LOG_DIR="$LAB_DIR" apache2 -X -f "$LAB_DIR/apache.conf"
}

# haproxy_up SNIPPET: HAProxy in the foreground; the snippet logs to its
# stdout, which is haproxy.log.
haproxy_up() {
	cat >"$LAB_DIR/haproxy.cfg" <<-EOC
	global
	    pidfile $LAB_DIR/haproxy.pid
	defaults
	    timeout connect 2s
	    timeout client 5s
	    timeout server 5s
	EOC
	origin_snippet "$1" >>"$LAB_DIR/haproxy.cfg"
	spawn haproxy "$LAB_O" haproxy -db -f "$LAB_DIR/haproxy.cfg"
}

# nginx_up SNIPPET: nginx in the foreground with the snippet in http { }.
nginx_up() {
	nginx_conf "$(origin_snippet "$1")"
	spawn nginx "$LAB_O" nginx -c "$LAB_DIR/nginx.conf" -p "$LAB_DIR"
}

# caddy_up SNIPPET: Caddy in the foreground with no admin endpoint and
# its state in the lab, not in root's home. Those options go into the
# snippet's global block, or a block of their own ahead of it.
caddy_up() {
	local opts="    admin off\n    storage file_system $LAB_DIR/caddy"
	mkdir -p "$LAB_DIR/caddy"
	origin_snippet "$1" | awk -v opts="$opts" '
		!done && /^[^#]/ { done = 1; if ($0 == "{") { print; print opts; next }
				   print "{"; print opts; print "}" }
		{ print }' >"$LAB_DIR/Caddyfile"
	spawn caddy "$LAB_O" env HOME="$LAB_DIR/caddy" XDG_DATA_HOME="$LAB_DIR/caddy" \
		XDG_CONFIG_HOME="$LAB_DIR/caddy" \
		caddy run --config "$LAB_DIR/Caddyfile" --adapter caddyfile
}

# origin_agent_conf UPSTREAM PROXY_PROTOCOL: the agent with one site,
# origin.test, relaying to UPSTREAM; a tls:// upstream gets the agent's
# certificate and checks the origin's against the edge CA.
origin_agent_conf() {
	cat >"$LAB_DIR/aopgate.conf" <<-EOC
	[agent]
	listen = 0.0.0.0:443, [::]:443
	pin_root = $PIN
	metrics = 127.0.0.1:9901
	workers = 1
	handshake_timeout = 2s
	log_level = debug

	[site origin.test]
	cert = $PKI/server.pem
	key = $PKI/server.key
	client_ca = $PKI/edge.pem
	upstream = $1
	proxy_protocol = $2
	EOC
	case $1 in
	tls://*) cat >>"$LAB_DIR/aopgate.conf" <<-EOC
		upstream_cert = $PKI/agentup.pem
		upstream_key = $PKI/agentup.key
		upstream_ca = $PKI/edge.pem
		EOC
	esac
}

# origin_behind SERVER SNIPPET UPSTREAM PROXY_PROTOCOL: the gate (8080
# and 8443 as backend ports), the server from its snippet, then the agent.
origin_behind() {
	local port=${3##*:}
	gate_attach -m native --backend-ports 8080,8443
	origin_files
	"$1_up" "$2"
	wait_port "$port"
	origin_agent_conf "$3" "$4"
	agent_start
}

# access_log_wait FILE REGEX: until a line of the server's own access log
# (in the lab dir) matches, 5 s at most.
access_log_wait() {
	for _ in $(seq 50); do
		grep -qE -- "$2" "$LAB_DIR/$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no line of $1 matches: $2"
}

# backend_dropped PORT: a request from the client ns straight to the
# origin's backend port goes unanswered and the gate counts it as
# drop-backend (README, deploying, step 10).
backend_dropped() {
	local before
	before=$(counter drop-backend)
	run in_client curl -sS --max-time 3 --connect-timeout 2 "http://$ORIGIN4:$1/"
	assert_failure
	[ "$(counter drop-backend)" -gt "$before" ] ||
		fail "drop-backend did not move (was $before)"
}
