# SPDX-License-Identifier: GPL-2.0-only
# Part 2: a bounded SYN flood and a stray-ACK flood (a fixed packet count)
# from the stranger namespace at the origin's port 443 over veth, with
# nginx (ssl_verify_client on) listening there, against these defences:
# the gate (native XDP) with SYN cookies off and on, xdp-filter with a rule
# for the port (stateless
# native XDP: what XDP itself costs on this path), an `iptables -t raw`
# DROP rule on the port, and nothing (nginx alone). Three senders:
#  * xdpflood (tests/bench/xdpflood.c): veth hands its frames to the origin
#    as XDP frames, the way a NIC's driver does, so a dropped packet never
#    becomes an skb; faster than the origin, so its ring overflows as a
#    NIC's would; it alone also sends a spoofed flood, a random source
#    address for every SYN, which is what SYN cookies are for: without
#    them each such SYN is a new source with a token to spend and a
#    `pending` entry to write; with them the gate answers and keeps nothing
#    (the table gives `pending`'s entries after each such flood);
#  * trafgen (netsniff-ng) as fast as the origin takes the packets (veth
#    pushes back through the stranger's qdisc): they arrive as skbs, which
#    veth must copy before native XDP may look at them;
#  * hping3, which paces itself near 20k packets/s, where the origin's
#    NAPI thread wakes for nearly every packet and that wake-up, the same
#    for every defence, dominates.
# Rounds interleave the defences, so a noisy neighbour hits all of them
# alike; ratios are taken within a round.

FLOOD_DEFENCES=(gate gate-cookies xdp-filter iptables nginx)
FLOOD_SENDERS=(xdpflood trafgen hping3)
declare -A FLOOD_NAME=(
	[gate]="aopgate (native XDP, syncookies off)"
	[gate-cookies]="aopgate (native XDP, syncookies on)"
	[xdp-filter]="xdp-filter port 443 (native XDP)"
	[iptables]="iptables -t raw DROP"
	[nginx]="nginx alone (ssl_verify_client on)"
	[syn]="SYN flood, one source"
	[ack]="stray-ACK flood"
	[rsyn]="SYN flood, a random source each"
	[xdpflood]="xdpflood, XDP frames (as from a NIC)"
	[trafgen]="trafgen, skbs, as fast as the origin takes them"
	[hping3]="hping3 -i u1 (paced by hping3)"
)

defence_on() {
	case $1 in
	gate) gate_attach "$IF_E0" "$IF_S0" ;;
	# The cookie SYN-ACKs go back out of the origin's veth (XDP_TX); its
	# peer takes XDP frames only while it runs XDP itself, as a wire would
	# take them from a NIC: the stranger's end gets a program that passes.
	gate-cookies)
		gate_attach "$IF_E0" "$IF_S0" &&
		lab_xdp_pass "${BL}s" "$IF_S1" "$BUILD/empty.bpf.o" &&
		gate set syncookies on >>"$BT/gate.log" ;;
	# xdp-filter pins its maps under /sys/fs/bpf/xdp-filter, shared by
	# every user of the host: it runs in a mount namespace of its own with
	# a private bpffs, which goes away with it. The attachment stays.
	xdp-filter) in_origin unshare -m sh -c "mount -t bpf bpf /sys/fs/bpf &&
		xdp-filter load -m native -f tcp $IF_S0 && xdp-filter port 443 -m dst -p tcp" \
		>>"$BT/xdp-filter.log" 2>&1 ;;
	iptables) in_origin iptables -t raw -A PREROUTING -p tcp --dport 443 -j DROP ;;
	esac
}

defence_off() {
	case $1 in
	gate) gate_detach ;;
	gate-cookies)
		gate_detach
		ip -n "${BL}s" link set dev "$IF_S1" xdp off ;;
	xdp-filter) ip -n "${BL}o" link set dev "$IF_S0" xdp off ;;
	iptables) in_origin iptables -t raw -D PREROUTING -p tcp --dport 443 -j DROP ;;
	esac
}

# sample DEFENCE: what the defence counted so far, as JSON: packets that
# reached it (seen) and those it dropped (nginx alone: segments TCP took
# in); for the gate also its counters that moved and pending's entries,
# from one `aopgate status`. A SYN the gate answers with a cookie never
# reaches TCP: it counts as dropped.
sample() {
	local sd
	case $1 in
	gate*) gate status --json | jq -c '
		(.counters | with_entries(select(.value.packets > 0) | .value = .value.packets)) as $c |
		{seen: ([$c[]] | add // 0),
		 dropped: ([$c | to_entries[] | select((.key | startswith("drop-")) or
			.key == "syncookie-sent" or .key == "syncookie-bad") | .value] | add // 0),
		 counters: $c, pending: (.maps.pending.entries + .maps.pending4.entries)}'
		return ;;
	# The driver's counters: every packet XDP saw, and those it dropped.
	xdp-filter) sd=$(in_origin ethtool -S "$IF_S0" | awk '
		/rx_queue_[0-9]+_xdp_packets:/ { s += $2 } /rx_queue_[0-9]+_xdp_drops:/ { d += $2 }
		END { print s + 0, d + 0 }') ;;
	iptables) sd=$(in_origin iptables -t raw -nvxL PREROUTING |
		awk '/dpt:443/ { s += $1 } END { print s + 0, s + 0 }') ;;
	nginx) sd=$(in_origin nstat -asz TcpInSegs | awk '/TcpInSegs/ { print $2, 0 }') ;;
	esac
	echo "{\"seen\": ${sd% *}, \"dropped\": ${sd#* }, \"counters\": {}, \"pending\": null}"
}

# send SENDER FLOOD PACKETS: the flood, from the stranger namespace.
send() {
	case $1 in
	xdpflood)
		local da sa
		da=$(ip -n "${BL}o" -br link show "$IF_S0" | awk '{ print $3 }')
		sa=$(ip -n "${BL}s" -br link show "$IF_S1" | awk '{ print $3 }')
		in_stranger timeout 300 "$BUILD/tests/xdpflood" -i "$IF_S1" -s $STRANGER4 \
			-d $ORIGIN_S4 -S "$sa" -D "$da" -f "$2" -n "$3" >>"$BT/xdpflood.log" 2>&1 ;;
	trafgen)
		# -b takes trafgen's per-packet path, which waits when the qdisc
		# is full instead of giving up as its ring path does on veth.
		in_stranger timeout 300 trafgen --dev "$IF_S1" --conf "$BT/$2.trafgen" \
			-n "$3" --cpus 1 -b 5000000pps >>"$BT/trafgen.log" 2>&1 ;;
	hping3)
		local flag=-S
		[ "$2" = ack ] && flag=-A
		in_stranger timeout 300 hping3 -q $flag -p 443 -c "$3" -i u1 $ORIGIN_S4 \
			>/dev/null 2>&1
		return 0 ;;	# hping3 exits 1 when nothing answered
	esac
}

# one_flood ROUND SENDER DEFENCE FLOOD PACKETS: one measured flood, a JSON line.
one_flood() {
	local round=$1 snd=$2 d=$3 fl=$4 n=$5 a0 a1 c0 c1 s0 s1 t0 t1
	a0=$(sample "$d")
	c0=$(origin_ns) s0=$(stat_ticks) t0=$(now_ns)
	send "$snd" "$fl" "$n" || die "$snd failed: $(tail -3 "$BT/$snd.log")"
	t1=$(now_ns)
	sleep 0.2	# what is still queued reaches the NAPI thread
	c1=$(origin_ns) s1=$(stat_ticks)
	a1=$(sample "$d")
	jq -nc --argjson a0 "$a0" --argjson a1 "$a1" --argjson round "$round" \
		--arg snd "$snd" --arg d "$d" --arg fl "$fl" \
		--argjson n "$n" --argjson wall "$(((t1 - t0) / 1000))" \
		--argjson cpu "$((c1 - c0))" --argjson ticks "$((s1 - s0))" \
		'{round: $round, sender: $snd, defence: $d, flood: $fl, packets: $n,
		  wall_us: $wall, origin_ns: $cpu, host_ticks: $ticks,
		  seen: ($a1.seen - $a0.seen), dropped: ($a1.dropped - $a0.dropped),
		  pending: $a1.pending,
		  gate: ($a1.counters | with_entries(.value -= ($a0.counters[.key] // 0)) |
			with_entries(select(.value > 0)))}'
}

part_flood() {
	local rounds=3 r d fl snd
	declare -A count=([xdpflood]=3000000 [trafgen]=300000 [hping3]=30000)
	[ "$SMOKE" = 1 ] && rounds=1 count=([xdpflood]=3000 [trafgen]=300 [hping3]=300)
	# Only xdpflood forges a new source per packet.
	declare -A floods=([xdpflood]="syn ack rsyn" [trafgen]="syn ack" [hping3]="syn ack")
	need hping3 trafgen xdp-filter iptables nginx nstat ethtool unshare openssl jq tc
	lab_up
	# veth pushes back on a full ring only through a qdisc.
	tc -n "${BL}s" qdisc replace dev "$IF_S1" root pfifo limit 10000
	PKI=$BT/pki
	pki_make "$PKI" || die "cannot make the PKI"
	WORKERS=1
	server_up nginx ec http 443
	origin_of nginx
	for fl in syn ack; do trafgen_conf $fl; done
	for r in $(seq "$rounds"); do
		for d in "${FLOOD_DEFENCES[@]}"; do
			defence_on "$d" || die "cannot set up $d"
			for snd in "${FLOOD_SENDERS[@]}"; do
				for fl in ${floods[$snd]}; do
					# The spoofed flood starts from an empty `pending`.
					if [ "$fl" = rsyn ] && [[ $d == gate* ]]; then
						defence_off "$d"
						defence_on "$d" || die "cannot set up $d"
					fi
					one_flood "$r" "$snd" "$d" "$fl" "${count[$snd]}" \
						>>"$BT/runs.jsonl" || die "flood failed"
				done
			done
			defence_off "$d"
		done
	done
	jq -s '{rounds: (map(.round) | max), runs: .}' "$BT/runs.jsonl" >"$BT/result.json"
	flood_table >"$BT/table.md"
	emit flood
}

flood_table() {
	local names
	names=$(for k in "${!FLOOD_NAME[@]}"; do
		jq -n --arg k "$k" --arg v "${FLOOD_NAME[$k]}" '{($k): $v}'
	done | jq -s add)
	cat <<-EOT
	### Floods at the origin's port 443 over veth ($(jq .rounds "$BT/result.json") rounds)

	From the stranger namespace: one source address, a new source port per
	packet. Origin CPU: run time of the origin's receive path (the NAPI thread
	of its veth: XDP, netfilter, TCP) and of nginx, per million packets that
	reached the origin (xdpflood outruns it; the rest are lost in veth's ring
	as on a NIC's). Ratios within a round; median (min-max). drops/s with
	xdpflood and trafgen is what one origin core sustains; with hping3 it is
	hping3's pace. A SYN the gate answers with a cookie counts as dropped
	there: it never reaches TCP. pending after: entries in the gate's
	\`pending\` map after the spoofed flood, which starts from an empty map.

	| sender | flood | at the origin | sent | reached the origin | dropped there | drops/s | origin CPU ms per Mpkt | / iptables raw DROP | / nginx alone | pending after |
	|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|
	EOT
	jq -r --argjson names "$names" "$JQ_STATS"'
		.runs as $runs |
		def cpu: .origin_ns / ([.seen, 1] | max);
		def base($snd; $fl; $d; $round): $runs[] | select(.sender == $snd and
			.flood == $fl and .defence == $d and .round == $round) | cpu;
		("xdpflood", "trafgen", "hping3") as $snd | ("syn", "ack", "rsyn") as $fl |
		("gate", "gate-cookies", "xdp-filter", "iptables", "nginx") as $d |
		[$runs[] | select(.sender == $snd and .flood == $fl and .defence == $d)] as $x |
		select($x | length > 0) |
		"| \($names[$snd]) | \($names[$fl]) | \($names[$d]) | \($x[0].packets) " +
		"| \($x | map(.seen / .packets * 100) | median | r(1))% " +
		"| \($x | map(.dropped / ([.seen, 1] | max) * 100) | median | r(1))% " +
		"| \($x | map(.dropped / (.wall_us / 1e6)) | median | r(0)) " +
		"| \($x | map(cpu) | spread(0)) " +
		"| \($x | map(cpu / base($snd; $fl; "iptables"; .round)) | spread(2)) " +
		"| \($x | map(cpu / base($snd; $fl; "nginx"; .round)) | spread(2)) " +
		"| \(if $fl != "rsyn" or $x[0].pending == null then "-"
			else $x | map(.pending) | median end) |"' \
		"$BT/result.json"
}
