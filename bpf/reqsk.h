/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A good cookie ACK handed to the listener as a request socket at tc, with
 * bpf_sk_assign_tcp_reqsk() (6.9+): the kernel accepts the connection with
 * the options the cookie carries, whatever its own SYN cookie state is.
 * XDP has no socket to assign: an XDP gate leaves this to a tc companion.
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

#endif /* AOPGATE_REQSK_H */
