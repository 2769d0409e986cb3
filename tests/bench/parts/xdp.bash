# SPDX-License-Identifier: GPL-2.0-only
# Part 1: the gate's cost per packet for every verdict path, IPv4 and
# IPv6, next to an empty XDP program and xdp-filter with a port rule, and
# the verified fast path with 1k, 100k and 1M flows in the map
# (tests/bench/xdp_cost.c does the measuring and prints the tables).

part_xdp() {
	local args=(-j "$BT/result.json")
	[ "$SMOKE" = 1 ] && args+=(-r 2000 -n 3 -f 1000,4000)
	"$BUILD/tests/xdp_cost" "${args[@]}" >"$BT/table.md" ||
		die "xdp_cost failed: $(cat "$BT/table.md")"
	emit xdp
	[ "$SMOKE" = 1 ] || plot_xdp
}

# The fast path's cost against the map's size, with the empty program's.
plot_xdp() {
	command -v gnuplot >/dev/null || return 0
	jq -r "$JQ_STATS"'
		.scan | group_by(.flows)[] |
		"\(.[0].flows) \(.[0].gate.ns | median) \(.[1].gate.ns | median) \(.[2].gate.ns | median) \(.[0].empty.ns | median) \(.[0]."xdp-filter".ns | median)"' \
		"$BT/result.json" >"$BT/scan.dat"
	gnuplot <<-EOG
	set terminal pngcairo size 800,480 noenhanced
	set output "$RESULTS/xdp.png"
	set title "Gate per-packet cost against flows in verified (BPF_PROG_TEST_RUN, median)"
	set logscale x
	set xlabel "flows in the verified map"
	set ylabel "ns per packet"
	set yrange [0:*]
	set key top left
	plot "$BT/scan.dat" using 1:2 with linespoints title "verified flow, IPv4", \
	     "" using 1:3 with linespoints title "verified flow, IPv6", \
	     "" using 1:4 with linespoints title "stray ACK (miss), IPv4", \
	     "" using 1:6 with linespoints title "xdp-filter, port rule", \
	     "" using 1:5 with linespoints title "empty XDP program"
	EOG
}
