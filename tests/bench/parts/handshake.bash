# SPDX-License-Identifier: GPL-2.0-only
# Part 4: what a legitimate connection's handshake costs the origin. Full
# mutual-TLS 1.3 handshakes (then resumed ones, from session tickets) with
# ECDSA P-256 and with RSA-2048 certificates (server and client alike),
# each followed by one small request relayed to the same plain upstream,
# for aopgated, nginx's stream module (ssl_verify_client on) and HAProxy
# (mode tcp, verify required); same certificates, same client. The floor:
# what `openssl speed` says the handshake's public-key operations cost.
# HANDSHAKE_KEYS=ec measures ECDSA alone (the RSA rounds double the time).
# Then aopgated alone with workers = 1, 2 and auto, more clients than
# cores, so how it scales with the cores it is given is visible.

HS_SERVERS=(aopgated nginx haproxy)

# speed_floor: the public-key work one server-side TLS 1.3 handshake needs,
# from `openssl speed` on this machine, one core, as JSON. Full handshake
# with a client certificate: an X25519 key share (keygen and derive), the
# server's CertificateVerify signature, and two verifications (the
# client's CertificateVerify and its certificate's signature by the CA).
# Resumed (psk_dhe_ke): the X25519 share only.
speed_floor() {
	openssl speed -seconds 1 -mr ecdsap256 rsa2048 ecdhx25519 2>/dev/null |
		awk -F: '
			/^\+F2:/ { rs = $4; rv = $5 }
			/^\+F4:/ { es = $4; ev = $5 }
			/^\+F5:/ { x = $4 }
			END {
				printf "{\"x25519_ops\":%f,\"ecdsa_sign\":%f,\"ecdsa_verify\":%f,", x, es, ev
				printf "\"rsa_sign\":%f,\"rsa_verify\":%f,", rs, rv
				printf "\"floor_us\":{\"ec\":{\"full\":%f,\"resumed\":%f},", \
					1e6 * (2 / x + 1 / es + 2 / ev), 1e6 * 2 / x
				printf "\"rsa\":{\"full\":%f,\"resumed\":%f}}}\n", \
					1e6 * (2 / x + 1 / rs + 2 / rv), 1e6 * 2 / x
			}'
}

# hs_conn measure|count SERVER KEYS full|resumed N THREADS: tlsload's
# handshakes against SERVER (after origin_of) with the client certificate
# of KEYS, resuming with TLS 1.3 tickets for resumed.
hs_conn() {
	local flags=()
	[ "$4" = resumed ] && flags=(-R)
	"$1" "${BL}e" conn -c "$ORIGIN_E4:${PORT[$2]}" -n "$5" -P "$6" \
		-C "$PKI/client-$3.pem" -K "$PKI/client-$3.key" "${flags[@]}"
}

part_handshake() {
	local rounds=3 n=200 t r s k
	[ "$SMOKE" = 1 ] && rounds=1 n=6
	need_agent
	need nginx haproxy openssl jq
	[ "$SMOKE" = 1 ] || need perf
	agent_lab_up
	for t in ${HANDSHAKE_KEYS:-ec rsa}; do
		for s in "${HS_SERVERS[@]}"; do
			server_up "$s" "$t"
		done
		for r in $(seq "$rounds"); do
			for s in "${HS_SERVERS[@]}"; do
				origin_of "$s"
				for k in full resumed; do
					hs_conn measure "$s" "$t" "$k" "$n" 2 |
						jq -c --arg s "$s" --arg t "$t" --arg k "$k" --argjson r "$r" \
							'. + {server: $s, keys: $t, handshake: $k, round: $r}' \
						>>"$BT/runs.jsonl" || die "tlsload against $s failed"
				done
			done
		done
		# System calls and context switches, counted in a round of their own.
		[ $t = ec ] && [ "$SMOKE" != 1 ] && for s in "${HS_SERVERS[@]}"; do
			origin_of "$s"
			for k in full resumed; do
				hs_conn count "$s" "$t" "$k" "$n" 2 |
					jq -c --arg s "$s" --arg t "$t" --arg k "$k" \
						'. + {server: $s, keys: $t, handshake: $k}' \
					>>"$BT/counts.jsonl" || die "tlsload against $s failed"
			done
		done
		# Where a full handshake's CPU goes, sampled in a round of its own.
		[ $t = ec ] && [ "$SMOKE" != 1 ] && for s in "${HS_SERVERS[@]}"; do
			origin_of "$s"
			hs_conn profile "$s" "$t" full "$n" 2 |
				jq -c --arg s "$s" '. + {server: $s}' >>"$BT/profile.jsonl" ||
				die "tlsload against $s failed"
		done
		for s in "${HS_SERVERS[@]}"; do
			server_down "$s"
		done
	done
	hs_workers "$rounds" "$n"
	[ -s "$BT/counts.jsonl" ] || : >"$BT/counts.jsonl"
	[ -s "$BT/profile.jsonl" ] || : >"$BT/profile.jsonl"
	jq -s --argjson speed "$(speed_floor)" --slurpfile counts "$BT/counts.jsonl" \
		--slurpfile workers "$BT/workers.jsonl" --slurpfile profile "$BT/profile.jsonl" \
		'{speed: $speed, runs: ., counts: $counts, workers: $workers, profile: $profile}' \
		"$BT/runs.jsonl" >"$BT/result.json"
	{ handshake_table; profile_table; workers_table; } >"$BT/table.md"
	emit handshake
}

# hs_workers ROUNDS N: full ECDSA handshakes against aopgated with each
# workers setting in turn, from 4 client threads, to workers.jsonl.
hs_workers() {
	local r w saved=$WORKERS
	: >"$BT/workers.jsonl"
	for r in $(seq "$1"); do
		for w in 1 2 auto; do
			WORKERS=$w
			server_up aopgated ec
			origin_of aopgated
			hs_conn measure aopgated ec full "$2" 4 |
				jq -c --arg w "$w" --argjson r "$r" '. + {workers: $w, round: $r}' \
				>>"$BT/workers.jsonl" || die "tlsload against aopgated (workers = $w) failed"
			server_down aopgated
		done
	done
	WORKERS=$saved
}

handshake_table() {
	cat <<-EOT
	### Cost of a legitimate handshake (mutual TLS 1.3, then one small request)

	Origin CPU per handshake: run time of the origin's NAPI threads and of the
	server, divided by the successful requests; per core: 1 s of one core
	divided by that. Each round runs the three servers back to back; median
	(min-max) over rounds, ratios to nginx within a round. Resumed: TLS 1.3
	tickets (psk_dhe_ke), the first handshake of each client thread full.
	Floor: the public-key operations of one handshake by \`openssl speed\`.
	The NAPI share is veth's receive path, woken for nearly every packet of
	a handshake on this VM: the same for every server.

	| certificates | handshake | server | ok | resumed | origin CPU us per handshake | of which veth's NAPI thread | handshakes/s per core | / nginx |
	|---|---|---|---:|---:|---:|---:|---:|---:|
	EOT
	jq -r "$JQ_STATS"'
		.runs as $runs | .speed as $sp |
		def per: .origin_ns / 1000 / ([.ok, 1] | max);
		def base($t; $k; $r): $runs[] | select(.server == "nginx" and .keys == $t and
			.handshake == $k and .round == $r) | per;
		{ec: "ECDSA P-256", rsa: "RSA-2048"} as $kn |
		{aopgated: "aopgated", nginx: "nginx stream, ssl_verify_client on",
		 haproxy: "HAProxy, verify required"} as $sn |
		("ec", "rsa") as $t | ("full", "resumed") as $k |
		(("aopgated", "nginx", "haproxy") as $s |
		 [$runs[] | select(.server == $s and .keys == $t and .handshake == $k)] as $x |
		 select($x | length > 0) |
		 "| \($kn[$t]) | \($k) | \($sn[$s]) | \($x | map(.ok) | add)/\($x | map(.attempts) | add) " +
		 "| \($x | map(.resumed) | add) | \($x | map(per) | spread(0)) " +
		 "| \($x | map(.napi_ns / 1000 / ([.ok, 1] | max)) | median | r(0)) " +
		 "| \($x | map(1e6 / per) | median | r(0)) " +
		 "| \($x | map(per / base($t; $k; .round)) | spread(2)) |"),
		("| \($kn[$t]) | \($k) | floor: openssl speed | - | - | \($sp.floor_us[$t][$k] | r(0)) | - " +
		 "| \(1e6 / $sp.floor_us[$t][$k] | r(0)) | - |")' "$BT/result.json"
	echo
	jq -r '
		def ratio($k; $t): [.runs[] | select(.handshake == $k and .keys == $t) |
			{k: .round, s: .server, v: (.origin_ns / ([.ok,1]|max))}] |
			group_by(.k) | map((map(select(.s == "aopgated"))[0].v) / (map(select(.s == "nginx"))[0].v)) |
			sort | .[length / 2 | floor];
		def target($k; $max): ratio($k; "ec") as $q |
			"\($k) \(($q * 100 | round) / 100)x (target <= \($max)x), " +
			(if $q <= $max then "met" else "**not met**" end);
		"Targets, ECDSA P-256, median of the per-round ratios to nginx: " +
		target("full"; 0.6) + "; " + target("resumed"; 0.7) + "."' "$BT/result.json"
	jq -e '.counts | length > 0' "$BT/result.json" >/dev/null || return 0
	cat <<-EOT

	System calls and context switches of the server's processes (every
	thread) per handshake, ECDSA P-256, counted by \`perf stat -e
	raw_syscalls:sys_enter,context-switches -p\` in a round of their own
	(the tracepoint costs each system call some CPU, so the CPU figures
	above are taken without it).

	| handshake | server | ok | system calls per handshake | context switches per handshake |
	|---|---|---:|---:|---:|
	EOT
	jq -r '.counts[] |
		{aopgated: "aopgated", nginx: "nginx stream, ssl_verify_client on",
		 haproxy: "HAProxy, verify required"} as $sn |
		def per($x): ($x / ([.ok, 1] | max) * 10 | round) / 10;
		"| \(.handshake) | \($sn[.server]) | \(.ok)/\(.attempts) | \(per(.syscalls)) | \(per(.ctxsw)) |"' \
		"$BT/result.json"
}

profile_table() {
	jq -e '.profile | length > 0' "$BT/result.json" >/dev/null || return 0
	cat <<-EOT

	Where a full handshake's CPU goes, ECDSA P-256: the server's processes
	(every thread) sampled by \`perf record -F $PROFILE_HZ -p\` in a round of
	its own; a part's samples over the rate and the successful requests, in
	us per handshake. veth's NAPI threads are not the server's and are not
	counted here. OpenSSL's libraries name few of their functions to perf,
	so libcrypto is one part; the public-key floor above is the share of
	it no server can go below.

	EOT
	jq -r '
		.profile as $p |
		{aopgated: "aopgated", nginx: "nginx stream", haproxy: "HAProxy"} as $sn |
		def us(f): [$p[] | (f / .hz / ([.ok, 1] | max) * 1e6 | round | tostring)] | join(" | ");
		"| part | \([$p[] | $sn[.server] // .server] | join(" | ")) |",
		"|---\($p | map("|---:") | join(""))|",
		([["libcrypto", "OpenSSL libcrypto (public-key operations, ASN.1, providers)"],
		  ["libssl", "OpenSSL libssl (the TLS state machine)"],
		  ["malloc", "C library: malloc and free"],
		  ["locks", "C library: locks"],
		  ["libc", "C library: the rest (memcpy, strings, system call stubs)"],
		  ["kernel", "kernel (system calls, TCP, epoll, scheduling)"],
		  ["own", "the server'"'"'s own code"]][] as [$k, $name] |
		 "| \($name) | \(us(.profile[$k] // 0)) |"),
		"| total | \(us([.profile[]] | add)) |"' \
		"$BT/result.json"
}

workers_table() {
	jq -e '.workers | length > 0' "$BT/result.json" >/dev/null || return 0
	cat <<-EOT

	aopgated with each \`workers\` setting (auto: one per online core, $(nproc)
	here), full ECDSA P-256 handshakes from 4 client threads; handshakes/s:
	successful requests over the wall-clock time (client, server and NAPI
	share the $(nproc) cores).

	| workers | ok | origin CPU us per handshake | handshakes/s |
	|---|---:|---:|---:|
	EOT
	jq -r "$JQ_STATS"'
		.workers as $w | ("1", "2", "auto") as $k |
		[$w[] | select(.workers == $k)] as $x | select($x | length > 0) |
		"| \($k) | \($x | map(.ok) | add)/\($x | map(.attempts) | add) " +
		"| \($x | map(.origin_ns / 1000 / ([.ok, 1] | max)) | spread(0)) " +
		"| \($x | map(.ok / .wall_s) | spread(0)) |"' "$BT/result.json"
}
