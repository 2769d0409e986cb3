/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SYN cookies answered by the gate: a bare SYN gets a SYN-ACK built in
 * place from its own frame, whose sequence number proves the source on
 * the ACK without any state kept in between; the ACK's cookie is checked
 * here and, at tc, turned into a request socket for the kernel with
 * bpf_sk_assign_tcp_reqsk() (6.9+), so the connection keeps the window
 * scaling and SACK the cookie encoded.
 *
 * The cookie (the SYN-ACK's sequence number, RFC 4987 3.6):
 *
 *   | 31 ........ 9 | 8 7 |  6 5  |   4  | 3 ... 0 |
 *   |  SipHash(23)  |  t  |  MSS  | SACK | WScale  |
 *
 * t is the low two bits of a 64 s clock (2^36 ns); a cookie is good in its
 * slot and the next, 64 to 128 s. The hash (SipHash-2-4, the kernel's
 * choice for its own cookies) covers both addresses, both ports, the
 * client's ISN, the whole slot number and the option bits, under the
 * 128-bit key in gate_cfg. WScale 15 means the client sent none; MSS is an
 * index into a table per family. The options live in the hashed ISN, not in
 * the timestamp, so they survive a client without timestamps.
 *
 * Included by gate.bpf.c only, after its maps (auto mode uses syn_load).
 */
#ifndef AOPGATE_SYNCOOKIE_H
#define AOPGATE_SYNCOOKIE_H

#define SC_SLOT_SHIFT	36		/* 2^36 ns: 68.7 s */
#define SC_HASH_SHIFT	9
#define SC_NO_WSCALE	15
/* Our window scale, as the kernel picks it for the default tcp_rmem. */
#define SC_RCV_WSCALE	7
/* The fixed SYN-ACK: 20 bytes of TCP header and 20 of options. */
#define SC_TCP_LEN	40

#define TCPOPT_EOL	0
#define TCPOPT_NOP	1
#define TCPOPT_MSS	2
#define TCPOPT_WINDOW	3
#define TCPOPT_SACK_OK	4
#define TCPOPT_TS	8

/*
 * The MSS a cookie can carry, per family (the kernel's tables, RFC 879's
 * 536 and IPv6's minimum MTU less headers): the largest not above the
 * client's is chosen. A switch, not a static table: libbpf 1.1 cannot
 * place a static .rodata array that clang keeps no symbol for.
 */
static __always_inline __u16 sc_mss(int ipv4, __u32 idx)
{
	switch (idx & 3) {
	case 0:
		return ipv4 ? 536 : 1220;
	case 1:
		return ipv4 ? 1300 : 1420;
	case 2:
		return 1440;
	default:
		return ipv4 ? 1460 : 8940;
	}
}
/* What we announce is capped at a 1500-byte link's, whatever the client can. */
#define SC_MSS_CAP4	1460
#define SC_MSS_CAP6	1440

/* What a SYN asked for, and what the cookie answers. */
struct sc_syn {
	__u32 cookie;
	__u32 isn;		/* the client's */
	__u32 tsval;		/* the client's, echoed as our TSecr */
	__u16 mss;		/* what we announce */
	__u8 ts_ok;
	__u8 opts;		/* the cookie's low 7 bits: MSS, SACK, WScale */
};

#define SC_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SC_ROUND(v0, v1, v2, v3)					\
	do {								\
		v0 += v1; v1 = SC_ROTL(v1, 13); v1 ^= v0; v0 = SC_ROTL(v0, 32); \
		v2 += v3; v3 = SC_ROTL(v3, 16); v3 ^= v2;		\
		v0 += v3; v3 = SC_ROTL(v3, 21); v3 ^= v0;		\
		v2 += v1; v1 = SC_ROTL(v1, 17); v1 ^= v2; v2 = SC_ROTL(v2, 32); \
	} while (0)

/* SipHash's compression of one 64-bit word, two rounds (the "2" of 2-4). */
#define SC_WORD(w)							\
	do {								\
		v3 ^= (w);						\
		SC_ROUND(v0, v1, v2, v3);				\
		SC_ROUND(v0, v1, v2, v3);				\
		v0 ^= (w);						\
	} while (0)

/* What a cookie's hash covers: n 64-bit words, 3 for IPv4, 6 for IPv6. */
struct sc_msg {
	__u64 m[6];
	__u32 n;
};

/*
 * SipHash-2-4 of m under the key (k0, k1). A global function, so the
 * verifier checks its ~700 instructions once, not again on every path
 * of gate_tcp() that reaches it (inlined, the program is too large).
 */
__attribute__((noinline)) __u64 sc_siphash(const struct sc_msg *msg, __u64 k0, __u64 k1)
{
	__u64 v0 = 0x736f6d6570736575ull ^ k0;
	__u64 v1 = 0x646f72616e646f6dull ^ k1;
	__u64 v2 = 0x6c7967656e657261ull ^ k0;
	__u64 v3 = 0x7465646279746573ull ^ k1;
	__u64 b;

	if (!msg || (msg->n != 3 && msg->n != 6))
		return 0;
	b = (__u64)msg->n << 59;	/* its length in bytes, n * 8, in the top byte */

	SC_WORD(msg->m[0]);
	SC_WORD(msg->m[1]);
	SC_WORD(msg->m[2]);
	if (msg->n == 6) {
		SC_WORD(msg->m[3]);
		SC_WORD(msg->m[4]);
		SC_WORD(msg->m[5]);
	}
	v3 ^= b;
	SC_ROUND(v0, v1, v2, v3);
	SC_ROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SC_ROUND(v0, v1, v2, v3);
	SC_ROUND(v0, v1, v2, v3);
	SC_ROUND(v0, v1, v2, v3);
	SC_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/*
 * The cookie's hash bits for this flow, client ISN, slot and options. An
 * IPv4 flow hashes its 4-byte addresses, 24 bytes in all: three words
 * instead of six, six SipRounds fewer. The length SipHash folds in keeps
 * the two kinds of input apart.
 */
static __always_inline __u32 sc_hash(const struct flow_key *k, int ipv4,
				     const struct gate_cfg *cfg, __u32 isn, __u64 slot, __u32 opts)
{
	__u64 ports = (__u64)bpf_ntohs(k->sport) | (__u64)bpf_ntohs(k->dport) << 16 |
		      (__u64)isn << 32;
	__u64 when = (slot & 0xffffffffull) | (__u64)opts << 32;
	struct sc_msg msg = {};
	__u64 *m = msg.m;

	if (ipv4) {
		__builtin_memcpy(m, &k->saddr[12], 4);
		__builtin_memcpy((__u8 *)m + 4, &k->daddr[12], 4);
		m[1] = ports;
		m[2] = when;
		msg.n = 3;
	} else {
		__builtin_memcpy(m, k->saddr, 32);
		m[4] = ports;
		m[5] = when;
		msg.n = 6;
	}
	return (__u32)sc_siphash(&msg, cfg->syncookie_key[0], cfg->syncookie_key[1]) >>
	       SC_HASH_SHIFT;
}

/*
 * Are cookies answering SYNs now? on: always; auto: while this program
 * saw more GATE SYNs (that passed the source checks) in a second than
 * syncookie_rate, and 10 s after. Never in monitor mode, which answers
 * nothing.
 */
static __always_inline int sc_active(const struct gate_cfg *cfg, __u64 now)
{
	struct syn_load *l;
	__u32 zero = 0;

	if (cfg->mode == GATE_MONITOR || cfg->syncookies == GATE_SC_OFF)
		return 0;
	if (cfg->syncookies == GATE_SC_ON)
		return 1;
	l = bpf_map_lookup_elem(&syn_load, &zero);
	if (!l)
		return 0;
	/* Racy across CPUs by design: the count is a threshold, not a bill. */
	if (now - l->window_ns >= 1000000000ull) {
		l->window_ns = now;
		l->count = 0;
	}
	if (++l->count > cfg->syncookie_rate)
		l->active_until_ns = now + 10 * 1000000000ull;
	return now < l->active_until_ns;
}

/*
 * The walk over a TCP header's options, one bpf_loop() step an option. The
 * position is a scalar offset kept below 40, not a packet pointer: the
 * verifier checks a bpf_loop() callback until its state converges, and a
 * pointer grown by each option's length never does.
 */
struct sc_optwalk {
	__u8 *base;		/* the first option byte */
	void *data_end;
	__u32 off, n;		/* n: option bytes, 0..40 */
	__u16 mss;
	__u8 ws, sack, ts;
	__u32 tsval, tsecr;
};

static long sc_opt_step(__u32 idx, void *arg)
{
	struct sc_optwalk *w = arg;
	__u32 off = w->off, n = w->n;
	__u8 *o, kind, len;

	if (off >= n || off >= 40)
		return 1;
	o = w->base + off;
	if ((void *)(o + 2) > w->data_end)
		return 1;
	kind = o[0];
	if (kind == TCPOPT_EOL)
		return 1;
	if (kind == TCPOPT_NOP) {
		w->off = off + 1;
		return 0;
	}
	len = o[1];
	if (len < 2 || off + len > n)
		return 1;
	if (kind == TCPOPT_MSS && len == 4 && (void *)(o + 4) <= w->data_end) {
		w->mss = (__u16)o[2] << 8 | o[3];
	} else if (kind == TCPOPT_WINDOW && len == 3 && (void *)(o + 3) <= w->data_end) {
		w->ws = o[2] > 14 ? 14 : o[2];	/* RFC 7323 2.3 */
	} else if (kind == TCPOPT_SACK_OK && len == 2) {
		w->sack = 1;
	} else if (kind == TCPOPT_TS && len == 10 && (void *)(o + 10) <= w->data_end) {
		w->ts = 1;
		w->tsval = bpf_ntohl(*(__be32 *)(o + 2));
		w->tsecr = bpf_ntohl(*(__be32 *)(o + 6));
	}
	w->off = off + len;
	return 0;
}

/*
 * Reads the options of the TCP header at th into w, whose ws the caller
 * sets to SC_NO_WSCALE. A bpf_loop() (5.17+), as the kernel's
 * xdp_synproxy does: inline, every path through the options is a new
 * verifier state, and the program too large to verify.
 */
static __always_inline void sc_opts(struct tcphdr *th, void *data_end, struct sc_optwalk *w)
{
	__u32 hlen = th->doff * 4;

	w->base = (__u8 *)(th + 1);
	w->data_end = data_end;
	w->off = 0;
	w->n = hlen > 20 ? hlen - 20 : 0;
	bpf_loop(40, sc_opt_step, w, 0);	/* 40 option bytes at most */
}

/*
 * The options of a Linux SYN, in its order (MSS, SACK-permitted,
 * timestamps, NOP, window scale), read in place: the walk costs a call an
 * option, and nearly every SYN worth answering is one of these.
 */
static __always_inline int sc_linux_opts(struct tcphdr *th, void *data_end,
					 struct sc_optwalk *w)
{
	__u8 *o = (__u8 *)(th + 1);

	if (th->doff != 10 || (void *)(o + 20) > data_end ||
	    o[0] != TCPOPT_MSS || o[1] != 4 || o[4] != TCPOPT_SACK_OK || o[5] != 2 ||
	    o[6] != TCPOPT_TS || o[7] != 10 || o[16] != TCPOPT_NOP ||
	    o[17] != TCPOPT_WINDOW || o[18] != 3)
		return 0;
	w->mss = (__u16)o[2] << 8 | o[3];
	w->sack = 1;
	w->ts = 1;
	w->tsval = bpf_ntohl(*(__be32 *)(o + 8));
	w->ws = o[19] > 14 ? 14 : o[19];	/* RFC 7323 2.3 */
	return 1;
}

/* What the SYN at th offers: MSS, window scale, SACK, timestamps. */
static __always_inline void sc_syn_opts(struct tcphdr *th, void *data_end, struct sc_syn *s)
{
	struct sc_optwalk w = { .ws = SC_NO_WSCALE };

	if (th->doff > 5 && !sc_linux_opts(th, data_end, &w))
		sc_opts(th, data_end, &w);
	s->mss = w.mss;
	s->opts = w.sack << 4 | w.ws;
	s->ts_ok = w.ts;
	s->tsval = w.tsval;
}

/*
 * Makes the cookie for a SYN whose options sc_syn_opts() read into s (and
 * its ISN): the MSS index joins the option bits, the MSS we announce is
 * set, and s->cookie is the SYN-ACK's sequence number.
 */
static __always_inline void sc_cookie(const struct flow_key *k, int ipv4,
				      const struct gate_cfg *cfg, __u64 now, struct sc_syn *s)
{
	__u16 mss = s->mss, cap = ipv4 ? SC_MSS_CAP4 : SC_MSS_CAP6;
	__u32 idx = 0, slot = now >> SC_SLOT_SHIFT;

	if (!mss)
		mss = ipv4 ? 536 : 1220;	/* RFC 9293 3.7.1 */
	for (int i = 1; i < 4; i++)
		if (sc_mss(ipv4, i) <= mss)
			idx = i;
	s->opts = idx << 5 | (s->opts & 0x1f);
	s->cookie = sc_hash(k, ipv4, cfg, s->isn, slot, s->opts) << SC_HASH_SHIFT |
		    (slot & 3) << 7 | s->opts;
	s->mss = sc_mss(ipv4, idx) < cap ? sc_mss(ipv4, idx) : cap;
}

/*
 * Checks the cookie of an ACK (no SYN, RST or FIN) on a flow the gate
 * keeps no state for. Returns the cookie's option bits (0..127), or -1.
 */
static __always_inline int sc_check(const struct flow_key *k, int ipv4, struct tcphdr *th,
				    void *data_end, const struct gate_cfg *cfg, __u64 now)
{
	__u32 cookie, opts, slot, age, now_slot = now >> SC_SLOT_SHIFT;

	if (!th || (void *)(th + 1) > data_end)
		return -1;
	cookie = bpf_ntohl(th->ack_seq) - 1;
	opts = cookie & 0x7f;
	/* The slot is told by its low two bits: this one or the last. */
	age = (now_slot - (cookie >> 7)) & 3;
	if (age > 1)
		return -1;
	slot = now_slot - age;
	if (sc_hash(k, ipv4, cfg, bpf_ntohl(th->seq) - 1, slot, opts) !=
	    cookie >> SC_HASH_SHIFT)
		return -1;
	return opts;
}

/*
 * The Internet checksum of a sum of 32-bit words (RFC 1071: the sum is
 * the same in either byte order when folded), summed inline: a helper
 * call (bpf_csum_diff) costs more than the adds on a SYN-ACK's 100 bytes.
 */
typedef __u32 __attribute__((__may_alias__)) sc_word;	/* read over the headers just written */

static __always_inline __u64 sc_add(__u64 sum, const void *buf, int words)
{
	const sc_word *w = buf;

#pragma unroll
	for (int i = 0; i < words; i++)
		sum += w[i];
	return sum;
}

static __always_inline __u16 sc_fold(__u64 sum)
{
	sum = (sum & 0xffffffffull) + (sum >> 32);
	sum = (sum & 0xffffffffull) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * Turns the SYN at data (IPv4 without options or IPv6 without extension
 * headers, after l3off bytes of Ethernet and VLAN tags, the frame cut to
 * its TCP header and 20 bytes of options) into
 * its cookie SYN-ACK: Ethernet and IP addresses and the ports swapped, the
 * VLAN tags kept, fresh IP and TCP headers with their checksums. 0, or -1.
 */
static __always_inline int sc_synack(void *data, void *data_end, __u32 l3off, int ipv4,
				     const struct sc_syn *s, __u64 now)
{
	__u32 l4off;
	struct ethhdr *eth = data;
	struct tcphdr *th;
	__u8 *o, mac[ETH_ALEN];
	__be16 sport;
	__u64 csum;

	/* Each pointer is checked on its own: the verifier keeps the range
	 * on the variable-offset pointer it was proven for, not on data. */
	l3off &= 0x3f;
	l4off = l3off + (ipv4 ? 20 : 40);
	th = data + l4off;
	/* Opaque to clang, so it uses th and does not rebuild data + l4off
	 * past the check (the rebuilt pointer would have no proven range). */
	asm volatile("" : "+r"(th));
	if ((void *)(eth + 1) > data_end || (void *)th + SC_TCP_LEN > data_end)
		return -1;
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);

	if (ipv4) {
		struct iphdr *iph = data + l3off;
		struct { __be32 saddr, daddr; __u8 zero, proto; __be16 len; } ph;
		__be32 a;

		if ((void *)(iph + 1) > data_end)
			return -1;
		a = iph->saddr;

		iph->saddr = iph->daddr;
		iph->daddr = a;
		iph->version = 4;
		iph->ihl = 5;
		iph->tos = 0;
		iph->tot_len = bpf_htons(20 + SC_TCP_LEN);
		iph->id = 0;
		iph->frag_off = bpf_htons(0x4000);	/* DF */
		iph->ttl = 64;
		iph->check = 0;
		iph->check = sc_fold(sc_add(0, iph, 5));
		ph.saddr = iph->saddr;
		ph.daddr = iph->daddr;
		ph.zero = 0;
		ph.proto = IPPROTO_TCP;
		ph.len = bpf_htons(SC_TCP_LEN);
		csum = sc_add(0, &ph, sizeof(ph) / 4);
	} else {
		struct ipv6hdr *ip6 = data + l3off;
		struct { struct in6_addr s, d; __be32 len; __u8 zero[3], nexthdr; } ph;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		ph.s = ip6->daddr;
		ph.d = ip6->saddr;
		ip6->saddr = ph.s;
		ip6->daddr = ph.d;
		ip6->priority = 0;
		ip6->flow_lbl[0] = 0;
		ip6->flow_lbl[1] = 0;
		ip6->flow_lbl[2] = 0;
		ip6->payload_len = bpf_htons(SC_TCP_LEN);
		ip6->nexthdr = IPPROTO_TCP;
		ip6->hop_limit = 64;
		ph.len = bpf_htonl(SC_TCP_LEN);
		ph.zero[0] = ph.zero[1] = ph.zero[2] = 0;
		ph.nexthdr = IPPROTO_TCP;
		csum = sc_add(0, &ph, sizeof(ph) / 4);
	}

	sport = th->source;
	th->source = th->dest;
	th->dest = sport;
	th->seq = bpf_htonl(s->cookie);
	th->ack_seq = bpf_htonl(s->isn + 1);
	((__u8 *)th)[12] = (SC_TCP_LEN / 4) << 4;
	((__u8 *)th)[13] = TCP_SYN | TCP_ACK;
	/* A SYN-ACK's window is never scaled (RFC 7323 2.2). */
	th->window = bpf_htons(65535);
	th->check = 0;
	th->urg_ptr = 0;

	/* MSS, then SACK-permitted + timestamps, then window scale; NOPs for
	 * what the client did not offer, so the header is always 40 bytes. */
	o = (__u8 *)(th + 1);
	o[0] = TCPOPT_MSS;
	o[1] = 4;
	o[2] = s->mss >> 8;
	o[3] = s->mss & 0xff;
	o[4] = (s->opts & 0x10) ? TCPOPT_SACK_OK : TCPOPT_NOP;
	o[5] = (s->opts & 0x10) ? 2 : TCPOPT_NOP;
	if (s->ts_ok) {
		o[6] = TCPOPT_TS;
		o[7] = 10;
		/* Our clock in ms, as the kernel's; it takes its offset from
		 * the TSecr of the ACK (bpf_tcp_req_attrs.rcv_tsecr). */
		*(__be32 *)(o + 8) = bpf_htonl((__u32)(now / 1000000));
		*(__be32 *)(o + 12) = bpf_htonl(s->tsval);
	} else {
		for (int i = 6; i < 16; i++)
			o[i] = TCPOPT_NOP;
	}
	o[16] = TCPOPT_NOP;
	if ((s->opts & 0xf) != SC_NO_WSCALE) {
		o[17] = TCPOPT_WINDOW;
		o[18] = 3;
		o[19] = SC_RCV_WSCALE;
	} else {
		o[17] = o[18] = o[19] = TCPOPT_NOP;
	}
	th->check = sc_fold(sc_add(csum, th, SC_TCP_LEN / 4));
	return 0;
}

/*
 * Makes the cookie for the SYN at data and turns the frame into its
 * SYN-ACK; the caller has cut the frame to l3off + IP + 40 bytes, after
 * reading the SYN's options into s. 0, or -1.
 */
static __always_inline int sc_answer(void *data, void *data_end, const struct flow_key *k,
				     __u32 l3off, int ipv4, struct sc_syn *s, __u64 now)
{
	struct gate_cfg *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&gate_cfg, &zero);
	if (!cfg)
		return -1;
	sc_cookie(k, ipv4, cfg, now, s);
	return sc_synack(data, data_end, l3off, ipv4, s, now);
}

/*
 * The SYN's TCP header, at l3off + the fixed IP header, for reading its
 * options before the frame is cut. NULL if it is not in the frame.
 */
static __always_inline struct tcphdr *sc_th(void *data, void *data_end, __u32 l3off, int ipv4)
{
	struct tcphdr *th = data + (l3off & 0x3f) + (ipv4 ? 20 : 40);

	asm volatile("" : "+r"(th));
	return (void *)(th + 1) > data_end ? NULL : th;
}

/*
 * Answers the SYN in ctx with its cookie SYN-ACK (XDP_TX), or XDP_DROP.
 * Global functions, both: the verifier checks each once, with any
 * arguments, instead of once per path of gate() that reaches it; inlined,
 * the program is too large to verify.
 */
__attribute__((noinline)) int sc_reply_xdp(struct xdp_md *ctx, const struct flow_key *k,
					   __u32 l3off, __u32 ipv4, __u64 now)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct sc_syn s = {};
	struct tcphdr *th;
	int want;

	/* A scalar now: clang would keep data_end's low half for later. */
	asm volatile("" : "+r"(len));
	if (!k)
		return XDP_DROP;
	th = sc_th(data, data_end, l3off, ipv4);
	if (!th)
		return XDP_DROP;
	sc_syn_opts(th, data_end, &s);
	s.isn = bpf_ntohl(th->seq);
	/*
	 * The SYN-ACK is the SYN's frame cut (or grown) to its length; a
	 * Linux SYN (20 bytes of options) already has it. The program is
	 * not frags-aware, so the frame is all in data .. data_end.
	 */
	want = (l3off & 0x3f) + (ipv4 ? 20 : 40) + SC_TCP_LEN;
	if (want != len) {
		if (bpf_xdp_adjust_tail(ctx, (int)want - (int)len))
			return XDP_DROP;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
	}
	if (sc_answer(data, data_end, k, l3off, ipv4, &s, now))
		return XDP_DROP;
	return XDP_TX;
}

/* The same at tc: the SYN's skb goes back out of the port it came in. */
__attribute__((noinline)) int sc_reply_tc(struct __sk_buff *skb, const struct flow_key *k,
					  __u32 l3off, __u32 ipv4, __u64 now)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct sc_syn s = {};
	struct tcphdr *th;

	if (!k)
		return TC_DROP;
	th = sc_th(data, data_end, l3off, ipv4);
	if (!th)
		return TC_DROP;
	sc_syn_opts(th, data_end, &s);
	s.isn = bpf_ntohl(th->seq);
	if (bpf_skb_change_tail(skb, (l3off & 0x3f) + (ipv4 ? 20 : 40) + SC_TCP_LEN, 0))
		return TC_DROP;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (sc_answer(data, data_end, k, l3off, ipv4, &s, now))
		return TC_DROP;
	/* A receive timestamp would hold the reply in an fq qdisc (EDT). */
	skb->tstamp = 0;
	return bpf_redirect(skb->ifindex, 0);
}

#endif /* AOPGATE_SYNCOOKIE_H */
