# SPDX-License-Identifier: GPL-2.0-only
# Part 6: legitimate traffic under attack. The edge keeps making mTLS
# requests (a new connection and a full handshake each, at a steady rate)
# while the stranger namespace runs the floods of part 2 (SYN and stray
# ACK, trafgen at a fixed rate and count) and a handshake flood without a
# certificate (from 20 addresses); first quiet, then under attack, with
# aopgate (gate and agent) and with nginx alone (ssl_verify_client on).
# A third phase sends wrong-CA handshakes from the edge's own address, as
# another tenant of a shared CDN edge would: the puller must not suffer.
# Everything runs on this one 2-core machine: the attacker's own CPU
# competes with the origin's, which a remote attacker's would not.

part_siege() {
	local secs=6 rounds=3 rate=25 flood_pps=20000 o phase srcs i pids p r
	[ "$SMOKE" = 1 ] && secs=2 rounds=1
	need_agent
	need nginx trafgen openssl jq tc
	agent_lab_up
	tc -n "${BL}s" qdisc replace dev "$IF_S1" root pfifo limit 10000
	for o in syn ack; do trafgen_conf $o; done
	srcs=$(for i in $(seq 10 29); do echo "10.66.2.$i"; done | paste -sd,)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=another-tenant -keyout "$BT/wrong.key" -out "$BT/wrong.pem" 2>/dev/null ||
		die "cannot make the wrong-CA certificate"

	for o in aopgated nginx; do
		if [ "$o" = nginx ]; then server_up nginx ec http 443; else server_up aopgated ec; fi
		origin_of "$o"
		for r in $(seq "$rounds"); do
		for phase in quiet attack own; do
			pids=()
			if [ "$phase" = attack ]; then
				for p in syn ack; do
					spawn "trafgen-$p" "${BL}s" trafgen --dev "$IF_S1" --conf "$BT/$p.trafgen" \
						-n $((flood_pps * secs)) --cpus 1 -b "${flood_pps}pps"
					pids+=("$SPAWNED")
				done
				spawn "strangers-$o" "${BL}s" "$BUILD/tests/tlsload" conn -c "$ORIGIN_S4:443" \
					-P 8 -n 1000000000 -t "$secs" -d 1000 -b "$srcs"
				pids+=("$SPAWNED")
			elif [ "$phase" = own ]; then
				spawn "own-$o" "${BL}e" "$BUILD/tests/tlsload" conn -c "$ORIGIN_E4:443" \
					-P 2 -n 1000000000 -t "$secs" -d 1000 -C "$BT/wrong.pem" -K "$BT/wrong.key"
				pids+=("$SPAWNED")
			fi
			[ "$o" = aopgated ] && gate status --json >"$BT/gate-before.json"
			measure "${BL}e" conn -c "$ORIGIN_E4:443" -r "$rate" -P 2 -n 1000000000 \
				-t "$secs" -d 2000 -C "$PKI/client-ec.pem" -K "$PKI/client-ec.key" \
				>"$BT/legit.json" || die "the legitimate client failed"
			for p in "${pids[@]}"; do
				wait "$p" 2>/dev/null
			done
			siege_record "$o" "$phase" "$r" >>"$BT/runs.jsonl"
		done
		done
		server_down "$o"
	done
	jq -s '{runs: .}' "$BT/runs.jsonl" >"$BT/result.json"
	siege_table >"$BT/table.md"
	emit siege
}

# siege_record ORIGIN PHASE: the legitimate client's figures, what the
# strangers' handshake flood saw, and what the gate dropped meanwhile.
siege_record() {
	local strangers='null' gate='null'
	[ "$2" = attack ] && strangers=$(tail -1 "$BT/strangers-$1.log")
	[ "$2" = own ] && strangers=$(tail -1 "$BT/own-$1.log")
	if [ "$1" = aopgated ]; then
		gate=$(gate status --json | jq -c --slurpfile b "$BT/gate-before.json" '
			.counters as $a | $b[0].counters as $z |
			[$a | to_entries[] | select(.key | startswith("drop-")) |
			 {(.key): (.value.packets - ($z[.key].packets // 0))} | select(.[] > 0)] | add // {}')
	fi
	jq -c --arg o "$1" --arg ph "$2" --argjson r "$3" --argjson s "$strangers" --argjson g "$gate" \
		'{origin: $o, phase: $ph, round: $r, legit: ., strangers: $s, gate_drops: $g}' "$BT/legit.json"
}

siege_table() {
	cat <<-EOT
	### Legitimate traffic under attack

	The edge: mTLS requests at a steady rate, a new connection and a full
	handshake each (ECDSA P-256), 2 s deadline. The attack: trafgen SYN and
	stray-ACK floods at 20k packets/s each and 8 clients without a
	certificate handshaking back to back from 20 addresses. Rounds of a
	quiet and an attacked run; median (min-max) over rounds, the attacked
	p99 divided by the same round's quiet one; strangers and drops summed.
	Phase "own": instead of the attack, 2 clients with a certificate of
	another CA handshake back to back from the edge's own address.

	| origin | phase | requests | success | p50 ms | p99 ms | p99 / quiet | the strangers' handshakes | dropped by the gate |
	|---|---|---:|---:|---:|---:|---:|---|---|
	EOT
	jq -r "$JQ_STATS"'
		.runs as $runs |
		def quiet($o; $r): $runs[] | select(.origin == $o and .phase == "quiet" and .round == $r) | .legit.lat_us.p99;
		def sum_obj: reduce (.[] | select(. != null) | to_entries[]) as $e ({}; .[$e.key] += $e.value);
		("aopgated", "nginx") as $o | ("quiet", "attack", "own") as $ph |
		[$runs[] | select(.origin == $o and .phase == $ph)] as $x | select($x | length > 0) |
		"| \(if $o == "nginx" then "nginx alone (ssl_verify_client on)" else "aopgate (gate + aopgated)" end) " +
		"| \($ph) | \($x | map(.legit.attempts) | add) " +
		"| \(($x | map(.legit.ok) | add) / ([$x | map(.legit.attempts) | add, 1] | max) * 100 | r(1))% " +
		"| \($x | map(.legit.lat_us.p50 / 1000) | spread(1)) | \($x | map(.legit.lat_us.p99 / 1000) | spread(1)) " +
		"| \($x | map(.legit.lat_us.p99 / quiet($o; .round)) | spread(2)) " +
		"| \(if $ph == "quiet" then "-" else ($x | map(.strangers | with_entries(select(.key | IN("ok",
			"http_error", "tls_error", "closed", "connect_timeout", "connect_error", "deadline",
			"io_error")))) | sum_obj | to_entries | map(select(.value > 0) | "\(.key) \(.value)") |
			join(", ")) end) " +
		"| \(if $o != "aopgated" or $ph == "quiet" then "-" else ($x | map(.gate_drops) | sum_obj |
			to_entries | map("\(.key) \(.value)") | join(", ") |
			if . == "" then "none" else . end) end) |"' "$BT/result.json"
	echo
	jq -r "$JQ_STATS"'[.runs[] | select(.origin == "aopgated")] as $a |
		[$a[] | select(.phase == "attack") | .legit] as $x |
		(($x | map(.ok) | add) / ([$x | map(.attempts) | add, 1] | max)) as $s |
		([$a[] | select(.phase == "attack")] | map(.round as $r | .legit.lat_us.p99 /
			($a[] | select(.phase == "quiet" and .round == $r) | .legit.lat_us.p99)) | median) as $q |
		"Target with aopgate under attack: success \($s * 100 | r(1))% (>= 99%), " +
		"p99 \($q | r(2))x the quiet one (<= 2x, median over rounds): " +
		(if $s >= 0.99 and $q <= 2 then "met" else "**not met**" end) + "."' "$BT/result.json"
	echo
	jq -r '[.runs[] | select(.origin == "aopgated" and .phase == "own") | .legit] as $x |
		(($x | map(.ok) | add) / ([$x | map(.attempts) | add, 1] | max)) as $s |
		"Target with aopgate while the edge'"'"'s own address fails handshakes: the puller keeps " +
		"\($s * 100 * 100 | round / 100)% of its pulls (>= 99.9%): " +
		(if $s >= 0.999 then "met" else "**not met**" end) + "."' "$BT/result.json"
}
