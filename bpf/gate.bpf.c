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
#include "parse.h"

#define TC_PASS		(-1)	/* TC_ACT_UNSPEC: let later programs decide */
#define TC_OK		0	/* TC_ACT_OK: pass, and skip later programs */
#define TC_DROP		2	/* TC_ACT_SHOT */

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

/* The IPv4 flows' verified and pending, sized as the two above. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, AOPGATE_DEF_MAX_VERIFIED);
	__type(key, struct flow_key4);
	__type(value, struct verified_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verified4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AOPGATE_DEF_MAX_PENDING);
	__type(key, struct flow_key4);
	__type(value, struct pending_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pending4 SEC(".maps");

/*
 * A flow's entries, in verified4/pending4 when it is IPv4: each lookup at
 * a call site of its own, so the verifier knows the map of each and
 * inlines it. Left alone, clang merges the two calls into one taking
 * either map, and the verifier, seeing two maps at one call, leaves it a
 * call through the map's operations (some 20 ns a packet here): the
 * barrier after the IPv4 lookup gives the two paths different ends, so
 * neither call can be sunk into the other.
 */
/* The key of the *4 maps, for an IPv4 packet. */
static __always_inline void pkt_key4(struct pkt *p)
{
	if (p->ipv4) {
		__builtin_memcpy(&p->key4.saddr, &p->key.saddr[12], 4);
		__builtin_memcpy(&p->key4.daddr, &p->key.daddr[12], 4);
		p->key4.sport = p->key.sport;
		p->key4.dport = p->key.dport;
	}
}

static __always_inline struct verified_flow *verified_get(const struct pkt *p)
{
	struct verified_flow *vf;

	if (p->ipv4) {
		vf = bpf_map_lookup_elem(&verified4, &p->key4);
		barrier_var(vf);
		return vf;
	}
	return bpf_map_lookup_elem(&verified, &p->key);
}

static __always_inline struct pending_flow *pending_get(const struct pkt *p)
{
	struct pending_flow *pf;

	if (p->ipv4) {
		pf = bpf_map_lookup_elem(&pending4, &p->key4);
		barrier_var(pf);
		return pf;
	}
	return bpf_map_lookup_elem(&pending, &p->key);
}

static __always_inline void pending_put(const struct pkt *p, const struct pending_flow *pf)
{
	if (p->ipv4)
		bpf_map_update_elem(&pending4, &p->key4, pf, BPF_ANY);
	else
		bpf_map_update_elem(&pending, &p->key, pf, BPF_ANY);
}

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

#include "events.h"

/* Not pinned: syncookies auto judges the SYN load this program sees. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syn_load);
} syn_load SEC(".maps");

#include "syncookie.h"
#include "reqsk.h"
#include "source.h"

/* What gate() tells its entry point to do with the frame. */
enum gate_action {
	GATE_DROP = 0,
	GATE_PASS = 1,
	GATE_TX = 2,		/* answer the SYN with a cookie SYN-ACK (sc_reply_*) */
};

static __always_inline __u32 port_role(__be16 port)
{
	__u32 idx = bpf_ntohs(port);
	struct port_cfg *pc = bpf_map_lookup_elem(&ports, &idx);

	return pc ? pc->role : PORT_NONE;
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
	int opts = sc_check(&p->key, p->ipv4, p->th, p->data_end, cfg, now);

	if (opts < 0)
		return CNT_DROP_SYNCOOKIE;
	st = bpf_map_lookup_elem(&standing, src);
	if (!syn_token(p, cfg, now, st && st->until_ns > now))
		return CNT_DROP_RATELIMIT;
	pending_put(p, &np);
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

	pkt_key4(p);
	if (!syn) {
		vf = verified_get(p);
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
		pf = pending_get(p);
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
	if (p->simple && sc_active(cfg, clock_ns(&now))) {
		p->now = now;
		return CNT_SYNCOOKIE_SENT;
	}
	st = bpf_map_lookup_elem(&standing, &src);
	if (!syn_token(p, cfg, clock_ns(&now), st && st->until_ns > now))
		return CNT_DROP_RATELIMIT;
	pf = pending_get(p);
	if (!pf) {
		struct pending_flow np = { .first_seen_ns = now, .packets = 1, .bytes = len };

		pending_put(p, &np);
		return CNT_PASS_SYN;
	}
	/* A retransmitted SYN spends the flow's budget. */
	if (now - pf->first_seen_ns <= cfg->pending_max_age_ns)
		return pending_budget(pf, cfg, now, len);
	/*
	 * One on an aged-out tuple is a new connection (port reuse) and
	 * starts afresh, written in place: an update would take a fresh LRU
	 * node and free the old one for the same key, at twice the cost. As
	 * with the budget's counts, a racing CPU costs one packet's accounting.
	 */
	pf->first_seen_ns = now;
	pf->packets = 1;
	pf->bytes = len;
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
	/*
	 * IPv6 reassembly keys its queue without the protocol and takes the
	 * first fragment's (RFC 8200 4.5): later fragments that name UDP pass
	 * as P_FRAG_OTHER and would complete this TCP segment, so its first
	 * fragment is the one dropped. IPv4 keys the queue by protocol.
	 */
	if (p->frag_first && !(cfg->flags & GATE_F_FRAG_PASS))
		return CNT_DROP_FRAGMENT;
	if (bad_source(p))
		return CNT_DROP_MALFORMED;
	return gate_tcp(p, cfg, len);
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
		return sc_reply_xdp(ctx, &p.key, p.l3off, p.ipv4, p.now);
	if (act == GATE_PASS && p.cookie_ok)
		return cookie_mark_xdp(ctx, p.cookie_opts);
	return act == GATE_PASS ? XDP_PASS : XDP_DROP;
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
		return sc_reply_tc(skb, &p.key, p.l3off, p.ipv4, p.now);
	return TC_DROP;
}

/*
 * The tc companion of an XDP gate (attached with it where the kernel side
 * is ready): hands the listener the request socket for a cookie ACK the
 * XDP gate accepted and marked, and lets everything else by untouched.
 * It judges and counts nothing; the XDP gate did.
 */
SEC("tc")
int gate_tc_cookie(struct __sk_buff *skb)
{
	struct cookie_meta *m = (void *)(long)skb->data_meta;
	__u32 len = skb->len, head, opts;
	struct pkt p = {};

	if ((void *)(m + 1) > (void *)(long)skb->data || m->magic != COOKIE_META_MAGIC)
		return TC_PASS;
	opts = m->opts;
	head = skb->data_end - skb->data;
	if (head < len && head < 256)
		bpf_skb_pull_data(skb, len < 256 ? len : 256);
	asm volatile("" : "+r"(skb));
	if (parse((void *)(long)skb->data, (void *)(long)skb->data_end, &p) != P_L4 ||
	    p.key.proto != IPPROTO_TCP)
		return TC_PASS;
	p.cookie_opts = opts;
	return cookie_assign(skb, &p);
}
