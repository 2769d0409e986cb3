// SPDX-License-Identifier: GPL-2.0-only
/*
 * The gate's XDP path, measurable on a frame it rewrites: for
 * tests/bench/xdp_cost.c only. BPF_PROG_TEST_RUN repeats one buffer, and
 * the gate turns a SYN into its SYN-ACK in that buffer, so the second run
 * would judge the SYN-ACK. Each program here first copies the frame back
 * from a template (tmpl, tmpl_len, written by xdp_cost.c through the
 * skeleton's bss): warm_restore does only that, warm_gate does that and
 * then what gate_xdp does. The restore is the same code in both, so
 * warm_gate less warm_restore is what the gate costs on the frame with
 * warm caches, as on the rows that repeat a frame the gate leaves alone.
 *
 * The gate's source is included whole, so the code and the map
 * definitions are the product's; xdp_cost.c makes every map here share
 * the one of the gate it loads (bpf_map__reuse_fd), so its
 * configuration and counters apply.
 */
#include "../../bpf/gate.bpf.c"

#define TMPL_MAX	128

/* Written by userspace between runs; .bss, so no reload is needed. */
__u32 tmpl_len;
__u8 tmpl[TMPL_MAX];

/*
 * Puts the template back: the frame at the template's length (the gate
 * may have cut or grown it), then its bytes. Both programs call it, so it
 * is always inlined. 0, or -1 if the template does not fit.
 */
static __always_inline int warm_copy(struct xdp_md *ctx)
{
	__u32 len = tmpl_len;

	if (len < ETH_HLEN || len > TMPL_MAX)
		return -1;
	if (bpf_xdp_adjust_tail(ctx, (int)len - (int)bpf_xdp_get_buff_len(ctx)))
		return -1;
	/* The helper takes a bounded length; no pointer checks to repeat. */
	if (bpf_xdp_store_bytes(ctx, 0, tmpl, len))
		return -1;
	return 0;
}

SEC("xdp")
int warm_restore(struct xdp_md *ctx)
{
	if (warm_copy(ctx))
		return XDP_ABORTED;
	return XDP_PASS;
}

/* gate_xdp, after the restore; keep the two in step. */
SEC("xdp")
int warm_gate(struct xdp_md *ctx)
{
	void *data, *data_end;
	struct pkt p = {};
	int act;

	if (warm_copy(ctx))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	act = gate(data, data_end, data_end - data, &p);
	if (act == GATE_TX)
		return sc_reply_xdp(ctx, &p.key, p.l3off, p.ipv4, p.now);
	if (act == GATE_PASS && p.cookie_ok)
		return cookie_mark_xdp(ctx, p.cookie_opts);
	return act == GATE_PASS ? XDP_PASS : XDP_DROP;
}
