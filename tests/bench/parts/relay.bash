# SPDX-License-Identifier: GPL-2.0-only
# Part 5: the relay after the handshake. Bulk throughput (one huge
# response per connection, over 1 and 16 connections) and the latency of
# small requests on a kept-alive connection, through aopgated (with the
# gate) to a plain upstream, against HAProxy (mode tcp, verify required)
# and nginx's stream module (ssl_verify_client on) to the same upstream,
# and the upstream reached directly over plain TCP (no TLS, no relay).
# aopgated runs three times: with the gate's SYN cookies off (native XDP
# on a veth starts so), and on, where every connection is established by
# a cookie ACK and must keep its throughput (window scaling kept). A
# cookie SYN-ACK leaves by XDP_TX, which needs an XDP program on the
# edge's veth too, and that program costs the client's receive path: the
# cookie connections are compared with ones made without cookies over
# the same edge (aopgated-edgexdp).

RELAY_PATHS=(aopgated aopgated-edgexdp aopgated-cookies haproxy nginx direct)

# edge_xdp ON|OFF: an XDP program on the edge's end of the veth, which
# takes the gate's XDP_TX frames only while it runs XDP itself (as a wire
# takes a NIC's frames).
edge_xdp() {
	if [ "$1" = on ]; then
		lab_xdp_pass "${BL}e" "$IF_E1" "$BUILD/empty.bpf.o"
	else
		ip -n "${BL}e" link set dev "$IF_E1" xdp off
	fi
}

# cookies ON|OFF: the gate's SYN cookies for the next connections.
cookies() {
	if [ "$1" = on ]; then
		edge_xdp on && gate set syncookies on >>"$BT/gate.log"
	else
		gate set syncookies off >>"$BT/gate.log" && edge_xdp off
	fi
}

# cookie_oks: the gate's syncookie-ok count so far.
cookie_oks() {
	gate status --json | jq '.counters["syncookie-ok"].packets // 0'
}

part_relay() {
	local rounds=3 secs=3 r p c
	[ "$SMOKE" = 1 ] && rounds=1 secs=0.3
	need_agent
	need nginx haproxy openssl jq
	agent_lab_up
	server_up aopgated ec
	server_up nginx ec stream
	server_up haproxy ec
	server_up direct ec
	local tls=(-C "$PKI/client-ec.pem" -K "$PKI/client-ec.key")
	PORT[aopgated-cookies]=${PORT[aopgated]} PORT[aopgated-edgexdp]=${PORT[aopgated]}
	for r in $(seq "$rounds"); do
		for p in "${RELAY_PATHS[@]}"; do
			local args=("${tls[@]}") ok0
			[ "$p" = direct ] && args=(-p)
			origin_of "${p%-*}"
			[ "$p" = aopgated-cookies ] && { cookies on || die "cannot turn SYN cookies on"; }
			[ "$p" = aopgated-edgexdp ] && { edge_xdp on || die "cannot run XDP on the edge"; }
			ok0=$(cookie_oks)
			for c in 1 16; do
				measure "${BL}e" bulk -c "$ORIGIN_E4:${PORT[$p]}" -P "$c" -t "$secs" "${args[@]}" |
					jq -c --arg p "$p" --argjson r "$r" --argjson c "$c" \
						'. + {path: $p, test: "bulk", conns: $c, round: $r}' \
					>>"$BT/runs.jsonl" || die "bulk through $p failed"
			done
			measure "${BL}e" rr -c "$ORIGIN_E4:${PORT[$p]}" -P 1 -n 100000000 -t "$secs" "${args[@]}" |
				jq -c --arg p "$p" --argjson r "$r" \
					'. + {path: $p, test: "rr", conns: 1, round: $r}' \
				>>"$BT/runs.jsonl" || die "requests through $p failed"
			if [ "$p" = aopgated-cookies ]; then
				[ "$(cookie_oks)" -gt "$ok0" ] || die "no connection took the cookie path"
				cookies off || die "cannot turn SYN cookies off"
			fi
			if [ "$p" = aopgated-edgexdp ]; then
				[ "$(cookie_oks)" -eq "$ok0" ] || die "a connection took the cookie path"
				edge_xdp off || die "cannot stop XDP on the edge"
			fi
		done
	done
	jq -s '{runs: .}' "$BT/runs.jsonl" >"$BT/result.json"
	relay_table >"$BT/table.md"
	emit relay
}

relay_table() {
	local names='{"aopgated": "aopgated (gate attached)",
		"aopgated-edgexdp": "aopgated, the edge'"'"'s veth running XDP",
		"aopgated-cookies": "aopgated, connections by SYN cookie (the edge'"'"'s veth running XDP)",
		"haproxy": "HAProxy mode tcp, verify required",
		"nginx": "nginx stream, ssl_verify_client on", "direct": "direct to the upstream, plain TCP"}'
	cat <<-EOT
	### The relay: bulk throughput and small-request latency

	Client in the edge namespace, TLS 1.3 with an ECDSA P-256 client
	certificate, the upstream on the origin's loopback. All on 2 shared cores
	(client, proxy and upstream compete), so MB/s is also a measure of CPU
	efficiency. Origin CPU: the proxy's threads and the origin's NAPI threads
	(direct: the upstream's). Median (min-max) over rounds; ratios within a round.

	| connections | through | MB/s | / HAProxy | origin CPU ms per GB |
	|---:|---|---:|---:|---:|
	EOT
	jq -r --argjson n "$names" "$JQ_STATS"'
		.runs as $runs |
		def mbs: .bytes / .wall_s / 1e6;
		def base($c; $r): $runs[] | select(.test == "bulk" and .path == "haproxy" and
			.conns == $c and .round == $r) | mbs;
		(1, 16) as $c | ("aopgated", "aopgated-edgexdp", "aopgated-cookies", "haproxy", "nginx", "direct") as $p |
		[$runs[] | select(.test == "bulk" and .path == $p and .conns == $c)] as $x |
		select($x | length > 0) |
		"| \($c) | \($n[$p]) | \($x | map(mbs) | spread(0)) " +
		"| \($x | map(mbs / base($c; .round)) | spread(2)) " +
		"| \($x | map(.origin_ns / 1e6 / (.bytes / 1e9)) | median | r(0)) |"' "$BT/result.json"
	cat <<-EOT

	| small requests, 1 kept-alive connection | requests | p50 us | p99 us | p99 added to direct, us | added / HAProxy's |
	|---|---:|---:|---:|---:|---:|
	EOT
	jq -r --argjson n "$names" "$JQ_STATS"'
		.runs as $runs |
		def p99($p; $r): $runs[] | select(.test == "rr" and .path == $p and .round == $r) | .lat_us.p99;
		("aopgated", "aopgated-edgexdp", "aopgated-cookies", "haproxy", "nginx", "direct") as $p |
		[$runs[] | select(.test == "rr" and .path == $p)] as $x |
		select($x | length > 0) |
		"| \($n[$p]) | \($x | map(.ok) | add) | \($x | map(.lat_us.p50) | spread(0)) " +
		"| \($x | map(.lat_us.p99) | spread(0)) " +
		"| \($x | map(.lat_us.p99 - p99("direct"; .round)) | median | r(0)) " +
		"| \(if $p == "direct" then "-" else $x | map((.lat_us.p99 - p99("direct"; .round)) /
			([p99("haproxy"; .round) - p99("direct"; .round), 1] | max)) | spread(2) end) |"' \
		"$BT/result.json"
	echo
	jq -r "$JQ_STATS"'
		[.runs[] | select(.test == "bulk")] as $b |
		def q($c): [range(1; ($b | map(.round) | max) + 1) as $r |
			($b[] | select(.path == "aopgated" and .conns == $c and .round == $r) | .bytes / .wall_s) /
			($b[] | select(.path == "haproxy" and .conns == $c and .round == $r) | .bytes / .wall_s)] | median;
		"Target: throughput at least HAProxy'"'"'s: \(q(1) | r(2))x with 1 connection, " +
		"\(q(16) | r(2))x with 16, " + (if q(1) >= 1 and q(16) >= 1 then "met" else "**not met**" end) + "."' \
		"$BT/result.json"
	# Within 10% of the connections made without cookies over the same
	# edge, per round.
	jq -r "$JQ_STATS"'
		[.runs[] | select(.test == "bulk")] as $b |
		def q($c): [range(1; ($b | map(.round) | max) + 1) as $r |
			($b[] | select(.path == "aopgated-cookies" and .conns == $c and .round == $r) | .bytes / .wall_s) /
			($b[] | select(.path == "aopgated-edgexdp" and .conns == $c and .round == $r) | .bytes / .wall_s)] | median;
		"Target: a connection made by SYN cookie relays as fast as one made without over the same edge (within 10%): " +
		"\(q(1) | r(2))x with 1 connection, \(q(16) | r(2))x with 16, " +
		(if q(1) >= 0.9 and q(16) >= 0.9 then "met" else "**not met**" end) + "."' \
		"$BT/result.json"
	jq -r '
		def med: sort | .[length / 2 | floor];
		[.runs[] | select(.test == "rr")] as $x |
		[range(1; ($x | map(.round) | max) + 1) as $r |
			($x[] | select(.path == "direct" and .round == $r) | .lat_us.p99) as $d |
			[($x[] | select(.path == "aopgated" and .round == $r) | .lat_us.p99 - $d),
			 ($x[] | select(.path == "haproxy" and .round == $r) | .lat_us.p99 - $d)]] as $pairs |
		($pairs | map(.[0]) | med) as $a | ($pairs | map(.[1]) | med) as $h |
		"Target: added p99 latency no worse than HAProxy'"'"'s: aopgated +\($a | round) us, HAProxy +\($h | round) us, " +
		(if $a <= $h then "met" else "**not met**" end) + "."' "$BT/result.json"
}
