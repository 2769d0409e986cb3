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
 *
 * The floor_* programs are what the paths with a target need and no
 * more, built from the gate's own functions on the gate's own maps: the
 * configuration, the parse, the port's role and a counter (floor_parse),
 * and then the lookups and writes of one path's verdict, without the
 * checks and branches of the others. The gate's figure less a floor's is
 * what its own logic adds to that path.
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

/* The floors count here, so the gate's counters stay the gate's. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, struct counter);
} floor_stats SEC(".maps");

/* The configuration, the parse and the port: 0 for TCP to a GATE port. */
static __always_inline int floor_begin(struct xdp_md *ctx, struct pkt *p,
				       const struct gate_cfg **cfg)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;

	*cfg = bpf_map_lookup_elem(&gate_cfg, &zero);
	if (!*cfg || parse(data, data_end, p) != P_L4 || p->key.proto != IPPROTO_TCP ||
	    port_role(p->key.dport) != PORT_GATE)
		return -1;
	pkt_key4(p);
	return 0;
}

static __always_inline int floor_end(struct xdp_md *ctx, __u32 id, int act)
{
	struct counter *c = bpf_map_lookup_elem(&floor_stats, &id);

	if (c) {
		c->packets++;
		c->bytes += ctx->data_end - ctx->data;
	}
	return act;
}

SEC("xdp")
int floor_parse(struct xdp_md *ctx)
{
	const struct gate_cfg *cfg;
	struct pkt p = {};

	if (floor_begin(ctx, &p, &cfg))
		return XDP_ABORTED;
	return floor_end(ctx, CNT_DROP_BACKEND, XDP_DROP);
}

/* A verified flow: its entry, the lease's clock if it has one, its counts. */
SEC("xdp")
int floor_verified(struct xdp_md *ctx)
{
	const struct gate_cfg *cfg;
	struct verified_flow *vf;
	struct pkt p = {};

	if (floor_begin(ctx, &p, &cfg))
		return XDP_ABORTED;
	vf = verified_get(&p);
	if (!vf || (vf->expires_ns && vf->expires_ns <= bpf_ktime_get_ns()))
		return floor_end(ctx, CNT_DROP_UNKNOWN, XDP_DROP);
	vf->packets++;
	vf->bytes += ctx->data_end - ctx->data;
	return floor_end(ctx, CNT_PASS_VERIFIED, XDP_PASS);
}

/* A stray ACK: the three lookups that must miss before it is dropped. */
SEC("xdp")
int floor_stray_ack(struct xdp_md *ctx)
{
	const struct gate_cfg *cfg;
	struct src_key src;
	struct pkt p = {};

	if (floor_begin(ctx, &p, &cfg))
		return XDP_ABORTED;
	if (verified_get(&p) || pending_get(&p))
		return floor_end(ctx, CNT_PASS_PENDING, XDP_PASS);
	src_prefix(&p, cfg, &src);
	if (bpf_map_lookup_elem(&penalty, &src))
		return floor_end(ctx, CNT_DROP_PENALTY, XDP_DROP);
	return floor_end(ctx, CNT_DROP_UNKNOWN, XDP_DROP);
}

/*
 * A SYN admitted on a reused tuple: the penalty, the source's standing
 * and its bucket (a token spent), the clock, and the aged pending entry
 * rewritten in place.
 */
SEC("xdp")
int floor_syn(struct xdp_md *ctx)
{
	const struct gate_cfg *cfg;
	struct pending_flow *pf;
	struct penalty *pen;
	struct standing *st;
	struct src_key src;
	struct pkt p = {};
	__u64 now;

	if (floor_begin(ctx, &p, &cfg))
		return XDP_ABORTED;
	now = bpf_ktime_get_ns();
	src_prefix(&p, cfg, &src);
	pen = bpf_map_lookup_elem(&penalty, &src);
	if (pen && pen->until_ns > now)
		return floor_end(ctx, CNT_DROP_PENALTY, XDP_DROP);
	st = bpf_map_lookup_elem(&standing, &src);
	if (!syn_token(&p, cfg, now, st && st->until_ns > now))
		return floor_end(ctx, CNT_DROP_RATELIMIT, XDP_DROP);
	pf = pending_get(&p);
	if (!pf)
		return floor_end(ctx, CNT_DROP_UNKNOWN, XDP_DROP);
	pf->first_seen_ns = now;
	pf->packets = 1;
	pf->bytes = ctx->data_end - ctx->data;
	return floor_end(ctx, CNT_PASS_SYN, XDP_PASS);
}
