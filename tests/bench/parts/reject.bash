# SPDX-License-Identifier: GPL-2.0-only
# Part 3: what a stranger costs the origin. A client without a certificate
# connects again and again (new connection, TLS 1.3 handshake, GET) from
# the stranger namespace. nginx with ssl_verify_client on completes every
# handshake and answers 400. aopgated refuses a source's first attempts
# (penalty_after, 3 by default) and then penalizes it; the gate then drops
# that source's SYNs in XDP, so every later attempt is one SYN that never
# gets an answer.

# round_srcs R: the 20 sources of round R (10.66.2.30-89), each new to the
# gate in its round.
round_srcs() {
	local i srcs=()
	for i in $(seq $((30 + 20 * ($1 - 1))) $((49 + 20 * ($1 - 1)))); do
		srcs+=("10.66.2.$i")
	done
	(IFS=,; echo "${srcs[*]}")
}

# Both servers are measured the same way: rounds of 60 attempts, two at a
# time, from 20 sources in turn (3 each: aopgated refuses them all in TLS,
# the third penalizing its source), one CPU figure per round.
part_reject() {
	local rounds=3 n_pen=20000 r o srcs=()
	[ "$SMOKE" = 1 ] && rounds=1 n_pen=200
	need_agent
	need nginx openssl jq
	agent_lab_up

	# nginx answers every stranger with a full handshake and a 400. Each
	# round runs twice: as it is, and with an empty XDP program on the
	# origin's veth, which costs what veth's XDP path costs whatever the
	# program does (veth copies each skb it hands to XDP; a NIC does not),
	# the part of aopgated's figure that is the lab's, not the gate's.
	server_up nginx ec http 443
	origin_of nginx
	for r in $(seq "$rounds"); do
		for a in every xdp; do
			if [ $a = xdp ]; then
				lab_xdp_pass "${BL}o" "$IF_S0" "$BUILD/empty.bpf.o" ||
					die "cannot run XDP on the origin's veth"
			fi
			measure "${BL}s" conn -c "$ORIGIN_S4:443" -n 60 -P 2 -d 3000 -b "$(round_srcs "$r")" |
				jq -c --argjson r "$r" --arg a $a '. + {origin: "nginx", attempt: $a, round: $r}' \
				>>"$BT/runs.jsonl" || die "tlsload against nginx failed"
			[ $a = every ] || ip -n "${BL}o" link set dev "$IF_S0" xdp off
		done
	done
	server_down nginx

	# aopgated: each source's first attempts, then the penalized ones.
	server_up aopgated ec
	origin_of aopgated
	for r in $(seq "$rounds"); do
		srcs+=("$(round_srcs "$r")")
		o=$(measure "${BL}s" conn -c "$ORIGIN_S4:443" -n 60 -P 2 -d 3000 -b "$(round_srcs "$r")") ||
			die "tlsload against aopgated failed"
		jq -c --argjson r "$r" '. + {origin: "aopgated", attempt: "first", round: $r}' \
			<<<"$o" >>"$BT/runs.jsonl"
	done
	sleep 0.5	# the last strike reaches the penalty map
	for r in $(seq "$rounds"); do
		local d0 d1
		d0=$(gate_counter drop-penalty)
		o=$(measure "${BL}s" conn -c "$ORIGIN_S4:443" -n "$n_pen" -P 64 -d 20 \
			-b "$(IFS=,; echo "${srcs[*]}")") || die "tlsload against the gate failed"
		d1=$(gate_counter drop-penalty)
		jq -c --argjson r "$r" --argjson d "$((d1 - d0))" \
			'. + {origin: "aopgated", attempt: "penalized", round: $r, drop_penalty: $d}' \
			<<<"$o" >>"$BT/runs.jsonl"
	done
	gate deny list --json >"$BT/penalties.json" 2>/dev/null
	server_down aopgated

	jq -s '{runs: .}' "$BT/runs.jsonl" >"$BT/result.json"
	reject_table >"$BT/table.md"
	emit reject
}

reject_table() {
	cat <<-EOT
	### Cost of a stranger: a client without a certificate, again and again

	Origin CPU per attempt: run time of the origin's NAPI threads and of the
	server (all its processes and threads), divided by the attempts. TLS 1.3,
	ECDSA P-256 server certificate. nginx and aopgated's refused attempts
	alike: rounds of 60 attempts, two at a time, from 20 new sources (three
	each), one figure per round; the penalized attempts: rounds of many.
	Median (min-max). The NAPI thread is veth's receive path (XDP included);
	a SYN that arrives alone wakes it, which on this VM costs microseconds
	whatever the program does (part 1 has what the gate itself costs).

	| attempt | origin | attempts | what the client saw | origin CPU us per attempt | of which veth's NAPI thread | nginx / this |
	|---|---|---:|---|---:|---:|---:|
	EOT
	jq -r "$JQ_STATS"'
		.runs as $runs |
		def per: .origin_ns / 1000 / ([.attempts, 1] | max);
		def seen: ["ok", "http_error", "tls_error", "closed", "connect_timeout",
			"connect_error", "deadline", "io_error"] as $o | . as $x |
			[$o[] as $k | ($x | map(.[$k]) | add) as $v | select($v > 0) | "\($k) \($v)"] | join(", ");
		([$runs[] | select(.origin == "nginx" and .attempt == "every") | per] | median) as $nginx |
		(["nginx", "every", "nginx with ssl_verify_client on (TLS, then HTTP 400)"],
		 ["nginx", "xdp", "the same, an empty XDP program on the origin'"'"'s veth (veth'"'"'s XDP path, no gate)"],
		 ["aopgated", "first", "aopgated: first attempts from a source (TLS refused; the third penalizes)"],
		 ["aopgated", "penalized", "aopgated: later attempts (SYN dropped by the gate in XDP)"]) as [$o, $a, $name] |
		[$runs[] | select(.origin == $o and .attempt == $a)] as $x |
		($nginx / ($x | map(per) | median)) as $q |
		"| \($name) | \($o) | \($x | map(.attempts) | add) " +
		"| \($x | seen) " +
		"| \($x | map(per) | spread(if ($x | map(per) | median) < 10 then 2 else 0 end)) " +
		"| \($x | map(.napi_ns / 1000 / ([.attempts, 1] | max)) | median | r(1)) " +
		"| \($q | if . < 10 then r(2) else r(0) end)x |"' "$BT/result.json"
	echo
	jq -r 'def per_round($a): [.runs[] | select(.origin == "nginx" and .attempt == $a)] |
			map({(.round | tostring): (.origin_ns / .attempts)}) | add;
		def ratio($n): [.runs[] | select(.attempt == "first") |
			.origin_ns / .attempts / $n[.round | tostring]] | sort | .[length / 2 | floor];
		ratio(per_round("every")) as $q | ratio(per_round("xdp")) as $x |
		"Target: a refused attempt at most 0.8x nginx'"'"'s (median of the per-round ratios): " +
		"\(($q * 100 | round) / 100)x, " + (if $q <= 0.8 then "met" else "**not met**" end) +
		"; against nginx behind the same veth XDP path (no target): \(($x * 100 | round) / 100)x."' \
		"$BT/result.json"
	jq -r '"Target: repeated (penalized) attempts cost at least 1000x less than under nginx: " +
		(([.runs[] | select(.origin == "nginx" and .attempt == "every") | .origin_ns / .attempts] | sort | .[length / 2 | floor]) as $n |
		 ([.runs[] | select(.attempt == "penalized") | .origin_ns / .attempts] | sort | .[length / 2 | floor]) as $p |
		 "\($n / $p | floor)x, " + (if $n / $p >= 1000 then "met" else "**not met**" end)) +
		". SYNs the gate dropped as drop-penalty: " +
		([.runs[] | select(.attempt == "penalized") | .drop_penalty] | add | tostring) + " of " +
		([.runs[] | select(.attempt == "penalized") | .attempts] | add | tostring) + " attempts."' \
		"$BT/result.json"
}
