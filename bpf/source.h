/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the gate knows of a packet's source: whether any connection can
 * come from it, its penalty prefix, its SYN token bucket, the operator's
 * deny and allow lists; and the clock those checks read.
 *
 * Included by gate.bpf.c only, after its maps (syn_rl, deny, allow_src).
 */
#ifndef AOPGATE_SOURCE_H
#define AOPGATE_SOURCE_H

/*
 * A source no TCP connection comes from: IPv4 0.0.0.0/8, multicast and
 * 240/4 (the limited broadcast with it); IPv6 unspecified, multicast, and
 * IPv4-mapped (RFC 4291 2.5.5.2: Linux refuses a connection from one over
 * IPv6, and the agent reads such an address as IPv4). Linux drops them
 * before TCP; the gate must not answer them with a SYN-ACK, nor let a
 * cookie ACK hand one to the kernel past those checks. Loopback is left
 * to the kernel: a gate on lo sees it legitimately.
 */
static __always_inline int bad_source(const struct pkt *p)
{
	const __u8 *a = p->key.saddr;
	__u64 hi, lo;

	if (p->ipv4)
		return a[12] == 0 || a[12] >= 224;
	if (a[0] == 0xff)
		return 1;
	__builtin_memcpy(&hi, a, 8);
	__builtin_memcpy(&lo, a + 8, 8);
	return hi == 0 && (lo == 0 || (__u32)lo == bpf_htonl(0xffff));
}

/*
 * Token bucket (GCRA form): may this source's /32 or /64 open one more
 * flow now? Sources in good standing draw at the trusted rate.
 */
static __always_inline int syn_token(const struct pkt *p, const struct gate_cfg *cfg,
				     __u64 now, int trusted)
{
	__u64 rate = trusted ? cfg->syn_rate_trusted : cfg->syn_rate;
	__u64 burst = trusted ? cfg->syn_burst_trusted : cfg->syn_burst;
	struct src_key sk = {};
	struct syn_bucket *b, nb;
	__u64 interval, tolerance, tat;

	if (!rate || !burst)
		return 0;
	interval = 1000000000ull / rate;
	tolerance = interval * (burst - 1);

	/* /32 for IPv4 (v4-mapped, 16 bytes), /64 for IPv6. */
	if (p->ipv4)
		__builtin_memcpy(sk.addr, p->key.saddr, 16);
	else
		__builtin_memcpy(sk.addr, p->key.saddr, 8);

	b = bpf_map_lookup_elem(&syn_rl, &sk);
	if (!b) {
		nb.tat_ns = now + interval;
		bpf_map_update_elem(&syn_rl, &sk, &nb, BPF_ANY);
		return 1;
	}
	tat = b->tat_ns > now ? b->tat_ns : now;
	if (tat - now > tolerance)
		return 0;
	/* Racy across CPUs by design: a lost update admits one extra SYN. */
	b->tat_ns = tat + interval;
	return 1;
}

/* The top bits of a 64-bit half of an address (bits 0..64), host order. */
static __always_inline __u64 prefix_mask64(__u32 bits)
{
	if (bits >= 64)
		return ~0ull;
	return bits ? ~0ull << (64 - bits) : 0;
}

/*
 * The source's prefix that penalties and standing are kept for: its
 * penalty_prefix4 or penalty_prefix6 bits, the rest zero. A source
 * rotating inside its /64 is then one source.
 */
static __always_inline void src_prefix(const struct pkt *p, const struct gate_cfg *cfg,
				       struct src_key *k)
{
	__u32 bits = p->ipv4 ? 96 + cfg->penalty_prefix4 : cfg->penalty_prefix6;
	__u64 hi, lo;

	if (bits > 128 || (p->ipv4 && bits == 96) || bits == 0)
		bits = 128;	/* unset: the whole address */
	__builtin_memcpy(&hi, p->key.saddr, 8);
	__builtin_memcpy(&lo, p->key.saddr + 8, 8);
	/* Masked as two big-endian words: one swap each way, no byte loop. */
	hi = bpf_cpu_to_be64(bpf_be64_to_cpu(hi) & prefix_mask64(bits));
	lo = bpf_cpu_to_be64(bpf_be64_to_cpu(lo) & prefix_mask64(bits > 64 ? bits - 64 : 0));
	__builtin_memcpy(k->addr, &hi, 8);
	__builtin_memcpy(k->addr + 8, &lo, 8);
}

/* The clock, read once per packet and only on paths that need it. */
static __always_inline __u64 clock_ns(__u64 *now)
{
	if (!*now)
		*now = bpf_ktime_get_ns();
	return *now;
}

/* An operator's deny covers the source (looked up only when there are any). */
static __always_inline int denied(const struct pkt *p, const struct gate_cfg *cfg,
				  __u64 *now)
{
	struct allow_key ak = { .prefixlen = 128 };
	struct deny *d;

	if (!(cfg->flags & GATE_F_DENY))
		return 0;
	__builtin_memcpy(ak.addr, p->key.saddr, 16);
	d = bpf_map_lookup_elem(&deny, &ak);
	return d && d->until_ns > clock_ns(now);
}

static __always_inline int outside_allowlist(const struct pkt *p, const struct gate_cfg *cfg)
{
	struct allow_key ak = { .prefixlen = 128 };

	if (!(cfg->flags & GATE_F_ALLOWLIST))
		return 0;
	__builtin_memcpy(ak.addr, p->key.saddr, 16);
	return !bpf_map_lookup_elem(&allow_src, &ak);
}

#endif
