/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A good cookie ACK handed to the listener as a request socket at tc, with
 * bpf_sk_assign_tcp_reqsk() (6.9+): the kernel accepts the connection with
 * the options the cookie carries, whatever its own SYN cookie state is.
 * XDP has no socket to assign: an XDP gate judges the cookie ACK (pending
 * made, token spent, syncookie-ok counted) and marks the frame's metadata;
 * its tc companion, gate_tc_cookie, only assigns the request socket for a
 * frame so marked, so the two never judge or count one packet twice.
 *
 * Included by gate.bpf.c only, after parse.h and syncookie.h.
 */
#ifndef AOPGATE_REQSK_H
#define AOPGATE_REQSK_H

/* The kernel's bpf_tcp_req_attrs (net/core/filter.c), which uapi lacks. */
struct bpf_tcp_req_attrs {
	__u32 rcv_tsval;
	__u32 rcv_tsecr;
	__u16 mss;
	__u8 rcv_wscale;
	__u8 snd_wscale;
	__u8 ecn_ok;
	__u8 wscale_ok;
	__u8 sack_ok;
	__u8 tstamp_ok;
	__u8 usec_ts_ok;
	__u8 reserved[3];
};

/*
 * The kfunc's listener; only the name matters to libbpf's prototype check,
 * but a forward declaration is another BTF kind than the kernel's struct.
 */
struct sock {
	int unused;
};
/* 6.9+; weak, so the gate still loads (without cookies) on older kernels. */
extern int bpf_sk_assign_tcp_reqsk(struct __sk_buff *skb, struct sock *sk,
				   struct bpf_tcp_req_attrs *attrs, int attrs__sz) __ksym __weak;

/*
 * Hands the kernel a request socket for a good cookie ACK, built from the
 * options the cookie carries, so the listener accepts the connection
 * whatever tcp_syncookies' overflow state is (it must only be non-zero).
 * Returns the tc verdict: TC_OK once the socket is assigned, else TC_PASS
 * (an established socket takes the ACK itself; no listener, and the kernel
 * answers with a reset as it would anyway).
 */
static __always_inline int cookie_assign(struct __sk_buff *skb, struct pkt *p)
{
	struct bpf_tcp_req_attrs attrs = {};
	struct bpf_sock_tuple t = {};
	struct bpf_sock *skc;
	struct sc_optwalk w = {};
	struct tcp_sock *tp;
	__u32 sz;
	int ret = TC_PASS;
	void *data_end = (void *)(long)skb->data_end;
	struct tcphdr *th;

	if (!bpf_sk_assign_tcp_reqsk)
		return TC_PASS;
	if (p->ipv4) {
		__builtin_memcpy(&t.ipv4.saddr, &p->key.saddr[12], 4);
		__builtin_memcpy(&t.ipv4.daddr, &p->key.daddr[12], 4);
		t.ipv4.sport = p->key.sport;
		t.ipv4.dport = p->key.dport;
		sz = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, p->key.saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, p->key.daddr, 16);
		t.ipv6.sport = p->key.sport;
		t.ipv6.dport = p->key.dport;
		sz = sizeof(t.ipv6);
	}
	skc = bpf_skc_lookup_tcp(skb, &t, sz, BPF_F_CURRENT_NETNS, 0);
	if (!skc)
		return TC_PASS;
	if (skc->state != BPF_TCP_LISTEN)
		goto out;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		goto out;
	/* The timestamps are the ACK's; they were never part of the cookie. */
	th = (void *)(long)skb->data + (p->l3off & 0x3f) + (p->ipv4 ? 20 : 40);
	if (p->simple && (void *)(th + 1) <= data_end)
		sc_opts(th, data_end, &w);
	attrs.mss = sc_mss(p->ipv4, p->cookie_opts >> 5);
	attrs.sack_ok = (p->cookie_opts >> 4) & 1;
	attrs.wscale_ok = (p->cookie_opts & 0xf) != SC_NO_WSCALE;
	if (attrs.wscale_ok) {
		attrs.snd_wscale = p->cookie_opts & 0xf;
		attrs.rcv_wscale = SC_RCV_WSCALE;
	}
	attrs.tstamp_ok = w.ts;
	attrs.rcv_tsval = w.tsval;
	attrs.rcv_tsecr = w.tsecr;
	if (!bpf_sk_assign_tcp_reqsk(skb, (struct sock *)tp, &attrs, sizeof(attrs)))
		ret = TC_OK;
out:
	bpf_sk_release(skc);
	return ret;
}

/*
 * What an XDP gate leaves in front of a good cookie ACK for its tc
 * companion. Only an XDP program writes metadata, never the wire, so a
 * sender cannot forge the mark.
 */
struct cookie_meta {
	__u32 magic;
	__u32 opts;		/* the options the cookie carries */
};

#define COOKIE_META_MAGIC 0xa0c00c1eu

/*
 * Marks a good cookie ACK at XDP for gate_tc_cookie. Returns XDP_PASS
 * either way: on a driver without XDP metadata the ACK goes up unmarked
 * and the listener answers it with a reset (veth and generic XDP carry
 * metadata).
 */
static __always_inline int cookie_mark_xdp(struct xdp_md *ctx, __u32 opts)
{
	struct cookie_meta *m;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return XDP_PASS;
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > (void *)(long)ctx->data)
		return XDP_PASS;
	m->magic = COOKIE_META_MAGIC;
	m->opts = opts;
	return XDP_PASS;
}

#endif /* AOPGATE_REQSK_H */
