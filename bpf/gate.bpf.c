// SPDX-License-Identifier: GPL-2.0-only
/*
 * The gate: one packet parser and one verdict function, compiled into an
 * XDP entry point and a tc (tcx/clsact ingress) entry point. The verdict
 * table it implements is in DESIGN.md; each row has its own counter.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "aopgate.h"

#define IP_MF		0x2000
#define IP_OFFSET	0x1FFF

#define NEXTHDR_HOP	0
#define NEXTHDR_ROUTING	43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH	51
#define NEXTHDR_DEST	60

/* The IPv6 fragment header (RFC 8200 4.5); uapi has no struct for it. */
struct frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

/* Longest IPv6 extension chain walked; longer chains are unclassifiable. */
#define MAX_EXT_HDRS	8

#define TC_PASS		(-1)	/* TC_ACT_UNSPEC: let later programs decide */
#define TC_OK		0	/* TC_ACT_OK: pass, and skip later programs */
#define TC_DROP		2	/* TC_ACT_SHOT */

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, AOPGATE_DEF_MAX_VERIFIED);
	__type(key, struct flow_key);
	__type(value, struct verified_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verified SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AOPGATE_DEF_MAX_PENDING);
	__type(key, struct flow_key);
	__type(value, struct pending_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AOPGATE_DEF_MAX_PENALTY);
	__type(key, struct src_key);
	__type(value, struct penalty);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} penalty SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, AOPGATE_DEF_MAX_ALLOW);
	__type(key, struct allow_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} allow_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AOPGATE_DEF_MAX_SYN_RL);
	__type(key, struct src_key);
	__type(value, struct syn_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} syn_rl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AOPGATE_DEF_MAX_STANDING);
	__type(key, struct src_key);
	__type(value, struct standing);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} standing SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, AOPGATE_DEF_MAX_DENY);
	__type(key, struct allow_key);
	__type(value, struct deny);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} deny SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct port_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gate_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gate_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, struct counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

/* Sampled drop events for `aopgate drops` and `top`. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, AOPGATE_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

/*
 * Names the agent publishes for the listings (site id, reason id -> name).
 * The gate never reads them; they are declared here so that attach creates
 * and pins them with the others and a detach --purge removes them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AOPGATE_MAX_SITES);
	__type(key, __u32);
	__type(value, struct gate_name);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AOPGATE_MAX_REASONS);
	__type(key, __u32);
	__type(value, struct gate_name);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} reasons SEC(".maps");

/*
 * The events' rate limit: a one-second window shared by all CPUs, when it
 * began and how many events it sent. It lives in .bss, not in a pinned
 * map: it holds nothing worth keeping across a program swap, and the
 * tests reset it through the skeleton.
 */
__u64 ev_window_ns;
__u64 ev_sent;

/* Not pinned: syncookies auto judges the SYN load this program sees. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syn_load);
} syn_load SEC(".maps");

#include "syncookie.h"

enum parse_result {
	P_L4,		/* key filled: proto and ports known */
	P_NO_PORTS,	/* IP, but a protocol without ports (ICMP, ESP, ...) */
	P_NOT_IP,
	P_MALFORMED,	/* truncated or inconsistent headers */
	P_FRAG_TCP,	/* non-first fragment of TCP */
	P_FRAG_OTHER,	/* non-first fragment of anything else */
	P_UNCLASSIFIED,	/* more VLAN tags or IPv6 extension headers than we walk */
};

struct pkt {
	struct flow_key key;
	__u8 tcp_flags;
	__u8 ipv4;		/* the key's addresses are v4-mapped */
	__u8 l3off;		/* bytes of Ethernet header and VLAN tags */
	__u8 simple;		/* IPv4 without options, IPv6 without extensions */
	__u8 cookie_ok;		/* a good cookie ACK ... */
	__u8 cookie_opts;	/* ... and the options its cookie carries */
	struct tcphdr *th;	/* TCP only */
	void *data_end;
};

/* What gate() tells its entry point to do with the frame. */
enum gate_action {
	GATE_DROP = 0,
	GATE_PASS = 1,
	GATE_TX = 2,		/* answer the SYN with a cookie SYN-ACK (sc_reply_*) */
};

static __always_inline int proto_has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_DCCP;
}

/* Reads ports (and TCP flags) at l4; the key's addresses are already set. */
static __always_inline int parse_l4(void *l4, void *data_end, __u8 proto,
				    struct pkt *p)
{
	if (!proto_has_ports(proto))
		return P_NO_PORTS;
	p->key.proto = proto;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return P_MALFORMED;
		if (th->doff < 5 || l4 + th->doff * 4 > data_end)
			return P_MALFORMED;
		p->tcp_flags = ((__u8 *)th)[13];
		p->th = th;
		p->key.sport = th->source;
		p->key.dport = th->dest;
		return P_L4;
	}
	/* UDP, UDP-Lite, SCTP and DCCP all start with the two ports. */
	if (l4 + 4 > data_end)
		return P_MALFORMED;
	p->key.sport = ((__be16 *)l4)[0];
	p->key.dport = ((__be16 *)l4)[1];
	return P_L4;
}

static __always_inline int parse_ipv4(void *l3, void *data_end, struct pkt *p)
{
	struct iphdr *iph = l3;
	__u16 frag;

	if ((void *)(iph + 1) > data_end)
		return P_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5 || l3 + iph->ihl * 4 > data_end)
		return P_MALFORMED;
	/* tot_len 0 is BIG TCP's GSO packet; otherwise it must hold the header. */
	if (iph->tot_len && bpf_ntohs(iph->tot_len) < iph->ihl * 4)
		return P_MALFORMED;

	p->ipv4 = 1;
	p->simple = iph->ihl == 5;
	p->key.saddr[10] = 0xff;
	p->key.saddr[11] = 0xff;
	__builtin_memcpy(&p->key.saddr[12], &iph->saddr, 4);
	p->key.daddr[10] = 0xff;
	p->key.daddr[11] = 0xff;
	__builtin_memcpy(&p->key.daddr[12], &iph->daddr, 4);

	frag = bpf_ntohs(iph->frag_off);
	if (frag & IP_OFFSET)
		return iph->protocol == IPPROTO_TCP ? P_FRAG_TCP : P_FRAG_OTHER;
	return parse_l4(l3 + iph->ihl * 4, data_end, iph->protocol, p);
}

static __always_inline int parse_ipv6(void *l3, void *data_end, struct pkt *p)
{
	struct ipv6hdr *ip6 = l3;
	void *cur = ip6 + 1;
	__u8 nexthdr;

	if (cur > data_end)
		return P_MALFORMED;
	if (ip6->version != 6)
		return P_MALFORMED;
	__builtin_memcpy(p->key.saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->key.daddr, &ip6->daddr, 16);
	nexthdr = ip6->nexthdr;

	for (int i = 0; i < MAX_EXT_HDRS; i++) {
		__u8 *ext = cur;

		switch (nexthdr) {
		case NEXTHDR_HOP:
		case NEXTHDR_ROUTING:
		case NEXTHDR_DEST:
			if (cur + 8 > data_end)
				return P_MALFORMED;
			nexthdr = ext[0];
			cur += (ext[1] + 1) * 8;
			break;
		case NEXTHDR_AUTH:
			if (cur + 8 > data_end)
				return P_MALFORMED;
			nexthdr = ext[0];
			cur += (ext[1] + 2) * 4;
			break;
		case NEXTHDR_FRAGMENT: {
			struct frag_hdr *fh = cur;

			if ((void *)(fh + 1) > data_end)
				return P_MALFORMED;
			nexthdr = fh->nexthdr;
			if (bpf_ntohs(fh->frag_off) & ~0x7)
				return nexthdr == IPPROTO_TCP ? P_FRAG_TCP
							       : P_FRAG_OTHER;
			cur += sizeof(*fh);
			break;
		}
		default:
			p->simple = i == 0;
			return parse_l4(cur, data_end, nexthdr, p);
		}
	}
	switch (nexthdr) {
	case NEXTHDR_HOP:
	case NEXTHDR_ROUTING:
	case NEXTHDR_DEST:
	case NEXTHDR_AUTH:
	case NEXTHDR_FRAGMENT:
		return P_UNCLASSIFIED;
	}
	return parse_l4(cur, data_end, nexthdr, p);
}

/* Parses Ethernet with up to two VLAN tags, then IPv4 or IPv6. */
static __always_inline int parse(void *data, void *data_end, struct pkt *p)
{
	struct ethhdr *eth = data;
	void *cur = eth + 1;
	__be16 proto;

	if (cur > data_end)
		return P_MALFORMED;
	proto = eth->h_proto;
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		if (cur + 4 > data_end)
			return P_MALFORMED;
		proto = ((__be16 *)cur)[1];
		cur += 4;
	}
	/*
	 * A third tag: the host may stack VLAN devices that deep and deliver
	 * the inner IP to TCP, so passing it as "not IP" would fail open.
	 */
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return P_UNCLASSIFIED;
	p->l3off = cur - data;
	p->data_end = data_end;
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(cur, data_end, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(cur, data_end, p);
	return P_NOT_IP;
}

static __always_inline __u32 port_role(__be16 port)
{
	__u32 idx = bpf_ntohs(port);
	struct port_cfg *pc = bpf_map_lookup_elem(&ports, &idx);

	return pc ? pc->role : PORT_NONE;
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

/*
 * The source's prefix that penalties and standing are kept for: its
 * penalty_prefix4 or penalty_prefix6 bits, the rest zero. A source
 * rotating inside its /64 is then one source.
 */
static __always_inline void src_prefix(const struct pkt *p, const struct gate_cfg *cfg,
				       struct src_key *k)
{
	__u32 bits = p->ipv4 ? 96 + cfg->penalty_prefix4 : cfg->penalty_prefix6;

	if (bits > 128 || (p->ipv4 && bits == 96) || bits == 0)
		bits = 128;	/* unset: the whole address */
	for (int i = 0; i < 16; i++) {
		__u32 lo = i * 8;
		__u8 b = p->key.saddr[i];

		if (bits <= lo)
			b = 0;
		else if (bits < lo + 8)
			b &= (__u8)(0xff << (lo + 8 - bits));
		k->addr[i] = b;
	}
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

/* Budget check of a pending flow: pass-pending, or drop-budget. */
static __always_inline __u32 pending_budget(struct pending_flow *pf,
					    const struct gate_cfg *cfg, __u64 now, __u32 len)
{
	__u32 n = pf->packets, bytes = pf->bytes;

	/* Both saturate, so a long flood cannot wrap them back into budget. */
	if (n <= cfg->pending_max_packets)
		pf->packets = ++n;
	if (bytes <= cfg->pending_max_bytes) {
		bytes = bytes + len < bytes ? ~0u : bytes + len;
		pf->bytes = bytes;
	}
	if (now - pf->first_seen_ns <= cfg->pending_max_age_ns &&
	    n <= cfg->pending_max_packets && bytes <= cfg->pending_max_bytes)
		return CNT_PASS_PENDING;
	return CNT_DROP_BUDGET;
}

/*
 * The verdict for a GATE-port TCP packet, as a counter id, in this order:
 *
 *   not a bare SYN:  in verified, not expired       pass-verified
 *                    source denied by the operator  drop-denied
 *                    allowlist on, source outside   drop-not-allowed
 *                    in pending, within budget      pass-pending
 *                    in pending, over budget        drop-budget
 *                    source prefix penalized        drop-penalty
 *     cookies not off, an ACK without SYN/RST/FIN:
 *                    its cookie good, no token      drop-ratelimit
 *                    its cookie good: new pending   syncookie-ok
 *                    its cookie wrong or stale      syncookie-bad
 *                    anything else                  drop-unknown
 *   a bare SYN:      source denied by the operator  drop-denied
 *                    source prefix penalized        drop-penalty
 *                    allowlist on, source outside   drop-not-allowed
 *     cookies on (or auto and flooded), not monitor:
 *                    answered with a cookie SYN-ACK syncookie-sent
 *                    no token for the source        drop-ratelimit
 *                    in pending (a retransmission)  pass-pending / drop-budget
 *                    otherwise: new pending entry   pass-syn
 *
 * With cookies a SYN costs no map write and spends no token: a flood
 * forged with a puller's address cannot drain the puller's bucket, and a
 * random-source flood cannot fill pending. State is kept, and the token
 * spent, only when the ACK proves the source got our SYN-ACK. A SYN that
 * the fixed reply cannot answer (IPv4 options, IPv6 extension headers)
 * takes the path without cookies.
 *
 * A penalty stops new connections only: a handshake already pending
 * finishes, so a failure cannot cut its source's other handshakes short
 * and earn them strikes too. Sources in good standing (standing) spend
 * tokens at the trusted rate.
 *
 * Lookups keyed by source (penalty, syn_rl) stay in cache under a flood;
 * lookups keyed by the whole tuple (verified, pending) miss it when every
 * packet is a new tuple. So a bare SYN, which opens a new connection and
 * is never part of a verified one, skips verified and spends its token
 * before any tuple lookup: a SYN flood over the rate limit costs none.
 */
/*
 * An ACK on a flow the gate has no state for, from a source past the
 * source checks: if it carries our cookie, the source answered our SYN-ACK,
 * so it is real; its token is spent now and its pending entry made.
 */
static __always_inline __u32 cookie_ack(struct pkt *p, const struct gate_cfg *cfg,
					__u64 now, const struct src_key *src, __u32 len)
{
	struct pending_flow np = { .first_seen_ns = now, .packets = 1, .bytes = len };
	struct standing *st;
	int opts = sc_check(&p->key, p->th, p->data_end, cfg, now);

	if (opts < 0)
		return CNT_DROP_SYNCOOKIE;
	st = bpf_map_lookup_elem(&standing, src);
	if (!syn_token(p, cfg, now, st && st->until_ns > now))
		return CNT_DROP_RATELIMIT;
	bpf_map_update_elem(&pending, &p->key, &np, BPF_ANY);
	p->cookie_ok = 1;
	p->cookie_opts = opts;
	return CNT_SYNCOOKIE_OK;
}

static __always_inline __u32 gate_tcp(struct pkt *p, const struct gate_cfg *cfg,
				      __u32 len)
{
	struct verified_flow *vf;
	struct pending_flow *pf;
	struct penalty *pen;
	struct standing *st;
	struct src_key src;
	__u64 now = 0;
	int syn = (p->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) ==
		  TCP_SYN;

	if (!syn) {
		vf = bpf_map_lookup_elem(&verified, &p->key);
		if (vf && (!vf->expires_ns || vf->expires_ns > clock_ns(&now))) {
			/*
			 * Plain adds: RSS keeps a flow on one CPU, and a lost
			 * update costs one packet of accounting, while a locked
			 * add would double the cost of the fast path.
			 */
			vf->packets++;
			vf->bytes += len;
			return CNT_PASS_VERIFIED;
		}
		if (denied(p, cfg, &now))
			return CNT_DROP_DENIED;
		if (outside_allowlist(p, cfg))
			return CNT_DROP_NOT_ALLOWED;
		pf = bpf_map_lookup_elem(&pending, &p->key);
		if (pf)
			return pending_budget(pf, cfg, clock_ns(&now), len);
		src_prefix(p, cfg, &src);
		pen = bpf_map_lookup_elem(&penalty, &src);
		if (pen && pen->until_ns > clock_ns(&now))
			return CNT_DROP_PENALTY;
		if (cfg->syncookies != GATE_SC_OFF &&
		    (p->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) == TCP_ACK)
			return cookie_ack(p, cfg, clock_ns(&now), &src, len);
		return CNT_DROP_UNKNOWN;
	}

	if (denied(p, cfg, &now))
		return CNT_DROP_DENIED;
	src_prefix(p, cfg, &src);
	pen = bpf_map_lookup_elem(&penalty, &src);
	if (pen && pen->until_ns > clock_ns(&now))
		return CNT_DROP_PENALTY;
	if (outside_allowlist(p, cfg))
		return CNT_DROP_NOT_ALLOWED;
	if (p->simple && sc_active(cfg, clock_ns(&now)))
		return CNT_SYNCOOKIE_SENT;
	st = bpf_map_lookup_elem(&standing, &src);
	if (!syn_token(p, cfg, clock_ns(&now), st && st->until_ns > now))
		return CNT_DROP_RATELIMIT;
	pf = bpf_map_lookup_elem(&pending, &p->key);
	/* A retransmitted SYN spends the flow's budget; one on an aged-out
	 * tuple is a new connection (port reuse) and starts afresh. */
	if (pf && now - pf->first_seen_ns <= cfg->pending_max_age_ns)
		return pending_budget(pf, cfg, now, len);
	{
		struct pending_flow np = { .first_seen_ns = now, .packets = 1, .bytes = len };

		bpf_map_update_elem(&pending, &p->key, &np, BPF_ANY);
	}
	return CNT_PASS_SYN;
}

static __always_inline __u32 verdict(void *data, void *data_end, __u32 len,
				     const struct gate_cfg *cfg, struct pkt *p)
{
	__u32 role;

	switch (parse(data, data_end, p)) {
	case P_L4:
		break;
	case P_MALFORMED:
		return CNT_DROP_MALFORMED;
	case P_FRAG_TCP:
		return cfg->flags & GATE_F_FRAG_PASS ? CNT_PASS_OTHER
						     : CNT_DROP_FRAGMENT;
	case P_UNCLASSIFIED:
		return cfg->flags & GATE_F_FRAG_PASS ? CNT_PASS_OTHER
						     : CNT_DROP_MALFORMED;
	default:
		return CNT_PASS_OTHER;
	}

	role = port_role(p->key.dport);
	if (role == PORT_NONE)
		return CNT_PASS_OTHER;
	if (p->key.proto != IPPROTO_TCP)
		return CNT_DROP_NON_TCP;
	if (role == PORT_BACKEND)
		return CNT_DROP_BACKEND;
	return gate_tcp(p, cfg, len);
}

/*
 * Sends one drop event, unless events_rate were sent in this second
 * already. Called after a drop verdict only, so passes never pay for it.
 * Under a flood the window is full after the first events_rate drops, and
 * from then on each drop reads the shared window without writing it: the
 * cache line stays shared instead of bouncing between CPUs. Two CPUs may
 * both open a new window or both take the last slot; the overshoot is a
 * few events, not a flood.
 */
static __always_inline void drop_event(const struct pkt *p, __u32 rate, __u32 id,
				       int monitor)
{
	struct gate_event *ev;
	/*
	 * The coarse clock (the last tick) is enough for a one-second window
	 * and, in a VM, costs a fraction of a read of the clock source: a
	 * flood over the cap pays only for it and one read of the window.
	 */
	__u64 now = bpf_ktime_get_coarse_ns();

	if (now - ev_window_ns >= 1000000000ull) {
		ev_window_ns = now;
		ev_sent = 0;
	} else if (ev_sent >= rate) {
		return;
	}
	if (__sync_fetch_and_add(&ev_sent, 1) >= rate)
		return;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return;		/* the ring is full: nobody reads it */
	ev->time_ns = bpf_ktime_get_ns();
	__builtin_memcpy(ev->saddr, p->key.saddr, 16);
	ev->sport = p->key.sport;
	ev->dport = p->key.dport;
	ev->counter = id;
	ev->flags = monitor ? GATE_EV_F_MONITOR : 0;
	ev->proto = p->key.proto;
	bpf_ringbuf_submit(ev, 0);
}

/*
 * Runs the verdict, counts it, and applies monitor mode. Returns what the
 * entry point does with the frame (enum gate_action); p is the parsed
 * packet, for a SYN-ACK to send or a cookie ACK to hand the kernel.
 */
static __always_inline int gate(void *data, void *data_end, __u32 len, struct pkt *p)
{
	const struct gate_cfg *cfg;
	struct counter *c;
	__u32 zero = 0, id;
	int pass;

	/* An array of one never misses; the check is for the verifier. */
	cfg = bpf_map_lookup_elem(&gate_cfg, &zero);
	if (!cfg)
		return GATE_DROP;

	id = verdict(data, data_end, len, cfg, p);
	pass = id < CNT_DROP_BASE;
	if (!pass) {
		int monitor = cfg->mode == GATE_MONITOR;

		if (monitor) {
			id += CNT_WOULD_DROP_BASE - CNT_DROP_BASE;
			pass = 1;
		}
		if (cfg->events_rate)
			drop_event(p, cfg->events_rate, id, monitor);
	}
	c = bpf_map_lookup_elem(&stats, &id);
	if (c) {
		c->packets++;
		c->bytes += len;
	}
	if (id == CNT_SYNCOOKIE_SENT)
		return GATE_TX;
	return pass ? GATE_PASS : GATE_DROP;
}

SEC("xdp")
int gate_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pkt p = {};
	int act = gate(data, data_end, data_end - data, &p);

	if (act == GATE_TX)
		return sc_reply_xdp(ctx, &p.key, p.l3off, p.ipv4);
	return act == GATE_PASS ? XDP_PASS : XDP_DROP;
}

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

SEC("tc")
int gate_tc(struct __sk_buff *skb)
{
	__u32 len = skb->len;
	__u32 head = skb->data_end - skb->data;
	struct pkt p = {};
	int act;

	/* Headers may sit past the linear part; pull enough to parse them. */
	if (head < len && head < 256)
		bpf_skb_pull_data(skb, len < 256 ? len : 256);

	/*
	 * Without the barrier clang keeps &skb->data in a register across the
	 * call, and the verifier rejects a load through a modified ctx pointer.
	 */
	asm volatile("" : "+r"(skb));
	act = gate((void *)(long)skb->data, (void *)(long)skb->data_end, len, &p);
	if (act == GATE_PASS)
		return p.cookie_ok ? cookie_assign(skb, &p) : TC_PASS;
	if (act == GATE_TX)
		return sc_reply_tc(skb, &p.key, p.l3off, p.ipv4);
	return TC_DROP;
}
