// SPDX-License-Identifier: GPL-2.0-only
/*
 * The cheapest XDP program there is: the baseline that tests/bench/xdp_cost.c
 * measures the gate's per-packet cost against, on the same machine and run.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int empty_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}
