# SPDX-License-Identifier: GPL-2.0-only
# Part 1: the gate's cost per packet for every verdict path, IPv4 and
# IPv6, next to an empty XDP program and xdp-filter with a port rule, and
# the verified fast path with 1k, 100k and 1M flows in the map, and a
# spoofed SYN flood from random sources with SYN cookies off and on
# (tests/bench/xdp_cost.c does the measuring and prints the tables).

part_xdp() {
	local args=(-j "$BT/result.json")
	[ "$SMOKE" = 1 ] && args+=(-r 2000 -n 3 -f 1000,4000)
	"$BUILD/tests/xdp_cost" "${args[@]}" >"$BT/table.md" ||
		die "xdp_cost failed: $(cat "$BT/table.md")"
	emit xdp
	[ "$SMOKE" = 1 ] || plot_xdp
}

# The fast path's cost against the map's size: one flow repeated (its
# bucket in cache) and a different flow each packet (ns the gate adds).
plot_xdp() {
	command -v gnuplot >/dev/null || return 0
	jq -r "$JQ_STATS"'
		(.scan | group_by(.flows) | map({key: "\(.[0].flows)", value: .}) | from_entries) as $s |
		(.cold | group_by(.flows) | map({key: "\(.[0].flows)", value: .}) | from_entries) as $c |
		$s | keys_unsorted[] as $f |
		"\($f) \($s[$f][0].gate.ns | median) \($s[$f][2].gate.ns | median) " +
		"\($s[$f][0].empty.ns | median) \($s[$f][0]."xdp-filter".ns | median) " +
		"\($c[$f][0].added_ns | median) \($c[$f][1].added_ns | median)"' \
		"$BT/result.json" | sort -n >"$BT/scan.dat"
	gnuplot <<-EOG
	set terminal pngcairo size 900,600 noenhanced
	set output "$RESULTS/xdp.png"
	set title "Gate per-packet cost against flows in verified (BPF_PROG_TEST_RUN, medians)"
	set logscale xy
	set xlabel "flows in the verified map"
	set ylabel "ns per packet"
	set key outside bottom center horizontal maxcols 2
	set xrange [500:2000000]
	set grid
	plot "$BT/scan.dat" using 1:6 with linespoints lw 2 title "verified, a different flow each packet (ns added)", \
	     "" using 1:7 with linespoints lw 2 title "stray ACK, a different tuple each (ns added)", \
	     "" using 1:2 with linespoints title "verified, the same flow repeated", \
	     "" using 1:3 with linespoints title "stray ACK, the same tuple repeated", \
	     "" using 1:5 with linespoints title "xdp-filter, port rule", \
	     "" using 1:4 with linespoints title "empty XDP program"
	EOG
}
