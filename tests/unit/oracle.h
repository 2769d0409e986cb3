/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The oracle of the gate's properties, shared by the randomized test
 * (test_gate_random.c) and the gate's fuzz harness (tests/fuzz/fuzz_gate.c):
 * what a frame is, decided from the RFCs and sharing nothing with the BPF
 * parser; what the maps said about it before the gate saw it; and, from
 * the verdict, the counter that moved and the answer sent, which of the
 * properties below the frame checked and which it broke. Header-only.
 */
#ifndef AOPGATE_ORACLE_H
#define AOPGATE_ORACLE_H

#include <stdarg.h>
#include <stdio.h>
#include "frame.h"
#include "gatelab.h"
#include "synack.h"

/* The port roles the lab configures (oracle_set_ports); the oracle's own copy. */
static const struct {
	uint16_t port;
	uint32_t role;
} oracle_roles[] = {
	{ 443, PORT_GATE },
	{ 8443, PORT_GATE },
	{ 8080, PORT_BACKEND },
	{ 9000, PORT_BACKEND },
};

static inline uint32_t oracle_role_of(uint16_t port)
{
	for (size_t i = 0; i < sizeof(oracle_roles) / sizeof(oracle_roles[0]); i++)
		if (oracle_roles[i].port == port)
			return oracle_roles[i].role;
	return PORT_NONE;
}

/* oracle_set_ports(l): gives the ports of oracle_roles their roles; 0, or -1. */
static inline int oracle_set_ports(struct lab *l)
{
	for (size_t i = 0; i < sizeof(oracle_roles) / sizeof(oracle_roles[0]); i++)
		if (lab_set_port(l, oracle_roles[i].port, oracle_roles[i].role))
			return -1;
	return 0;
}

/*
 * The sources both randomized harnesses send from, per family (0: IPv4,
 * 1: IPv6), and the server they send to. The first two are inside the
 * allowlist, the third in a denied range (oracle_set_ranges writes both);
 * the fourth, which the harnesses penalize, and the fifth are outside the
 * allowlist.
 */
static const char *const oracle_clients[2][5] = {
	{ "198.51.100.1", "198.51.100.2", "203.0.113.9", "192.0.2.77", "198.51.100.200" },
	{ "2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:3::9", "2001:db8:77::1",
	  "2001:db8:99::1" },
};
static const char *const oracle_servers[2] = { "192.0.2.10", "2001:db8:ffff::10" };

/* oracle_set_ranges(l): the deny and allow ranges of oracle_clients; 0, or -1. */
static inline int oracle_set_ranges(struct lab *l)
{
	static const struct {
		const char *net;
		__u32 prefixlen;	/* of the key: an IPv4 address is mapped */
		int deny;
	} ranges[] = {
		{ "203.0.113.0", 96 + 24, 1 },
		{ "2001:db8:1:3::", 64, 1 },
		{ "198.51.100.0", 96 + 30, 0 },
		{ "2001:db8:1:2::", 64, 0 },
	};
	uint8_t a[16];

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		fr_addr(a, ranges[i].net);
		if (ranges[i].deny ? lab_deny(l, a, ranges[i].prefixlen, AOPGATE_FOREVER) :
				     lab_allow(l, a, ranges[i].prefixlen))
			return -1;
	}
	return 0;
}

/*
 * What a receiving Linux host would make of a frame, decided from the
 * protocol specifications: Ethernet with any number of 802.1Q/802.1ad
 * tags (802.1Q/802.1ad, the TPIDs Linux untags; a host can stack VLAN
 * devices), IPv4 (RFC 791: IHL >= 5, fragment
 * offset), IPv6 (RFC 8200 extension headers, RFC 4302 AH, walked as far
 * as they go). It deliberately errs towards "this is TCP": a frame it
 * calls TCP that the host would discard anyway only makes the properties
 * stricter.
 */
struct view {
	int has_ports;		/* an L4 header with ports is visible */
	int tcp;		/* ... and it is TCP */
	int flags_known;	/* TCP flags byte is inside the frame */
	uint8_t proto, flags;
	uint16_t sport, dport;
	uint8_t src[16], dst[16];
	int ipv6;
	size_t l3off, l4off;	/* where the IP and L4 headers begin */
	int simple;		/* IPv4 without options, IPv6 without extensions */
	int frag_first;		/* IPv6: a first fragment (offset 0, M set) */
	uint32_t seq, ack;	/* TCP, when the header is inside the frame */
	const char *what;	/* a word on why it is what it is */
};

static inline int oracle_ports_proto(uint8_t p)
{
	/* Transport protocols whose header starts with 16-bit ports. */
	return p == 6 || p == 17 || p == 33 || p == 132 || p == 136;
}

static inline void oracle_l4(const uint8_t *f, size_t len, size_t off, uint8_t proto,
			     struct view *v)
{
	v->proto = proto;
	if (!oracle_ports_proto(proto)) {
		v->what = "no ports";
		return;
	}
	if (off + 4 > len) {
		v->what = "ports cut off";
		return;
	}
	v->has_ports = 1;
	v->tcp = proto == 6;
	v->l4off = off;
	if (v->tcp && off + 12 <= len) {
		v->seq = sa_rd32(f + off + 4);
		v->ack = sa_rd32(f + off + 8);
	}
	v->sport = f[off] << 8 | f[off + 1];
	v->dport = f[off + 2] << 8 | f[off + 3];
	if (v->tcp && off + 14 <= len) {
		v->flags_known = 1;
		v->flags = f[off + 13];
	}
	v->what = "ports";
}

/* oracle(f, len, v): what the frame is, in v. */
static inline void oracle(const uint8_t *f, size_t len, struct view *v)
{
	size_t off = 12;
	uint16_t type;

	memset(v, 0, sizeof(*v));
	v->what = "short";
	if (len < 14)
		return;
	type = f[12] << 8 | f[13];
	off = 14;
	while (type == 0x8100 || type == 0x88a8) {
		if (off + 4 > len) {
			v->what = "tag cut off";
			return;
		}
		type = f[off + 2] << 8 | f[off + 3];
		off += 4;
	}
	v->l3off = off;
	if (type == 0x0800) {
		size_t ihl;

		if (off + 20 > len || f[off] >> 4 != 4) {
			v->what = "not IPv4";
			return;
		}
		ihl = (f[off] & 0xf) * 4;
		if (ihl < 20) {
			v->what = "bad IHL";
			return;
		}
		v->src[10] = v->src[11] = v->dst[10] = v->dst[11] = 0xff;
		memcpy(v->src + 12, f + off + 12, 4);
		memcpy(v->dst + 12, f + off + 16, 4);
		if ((f[off + 6] << 8 | f[off + 7]) & 0x1fff) {
			v->proto = f[off + 9];
			v->what = "IPv4 later fragment";
			return;
		}
		v->simple = ihl == 20;
		oracle_l4(f, len, off + ihl, f[off + 9], v);
		return;
	}
	if (type == 0x86dd) {
		uint8_t nh;

		if (off + 40 > len || f[off] >> 4 != 6) {
			v->what = "not IPv6";
			return;
		}
		v->ipv6 = 1;
		memcpy(v->src, f + off + 8, 16);
		memcpy(v->dst, f + off + 24, 16);
		nh = f[off + 6];
		off += 40;
		for (int n = 0; n < 256; n++) {
			switch (nh) {
			case 0:		/* hop-by-hop */
			case 43:	/* routing */
			case 60:	/* destination options */
				if (off + 2 > len) {
					v->what = "ext cut off";
					return;
				}
				nh = f[off];
				off += (f[off + 1] + 1) * 8;
				continue;
			case 51:	/* AH: length in 4-octet units, minus 2 */
				if (off + 2 > len) {
					v->what = "AH cut off";
					return;
				}
				nh = f[off];
				off += (f[off + 1] + 2) * 4;
				continue;
			case 44:	/* fragment */
				if (off + 8 > len) {
					v->what = "fragment header cut off";
					return;
				}
				nh = f[off];
				if ((f[off + 2] << 8 | f[off + 3]) >> 3) {
					v->proto = nh;
					v->what = "IPv6 later fragment";
					return;
				}
				/* RFC 8200 4.5: reassembly takes this fragment's
				 * next header, whatever the later ones say. */
				if (f[off + 3] & 1)
					v->frag_first = 1;
				off += 8;
				continue;
			}
			v->simple = n == 0;
			oracle_l4(f, len, off, nh, v);
			return;
		}
		v->what = "endless chain";
		return;
	}
	v->what = "not IP";
}

/* A SYN the gate answered with a cookie, whose ACK may come back later. */
struct oracle_issued {
	uint8_t f[FRAME_MAX + 128];
	size_t len, l4off;
	struct flow_key k;
	uint32_t isn, cookie;
};

/* oracle_acks_a_cookie(is, n, v, k): is the frame the oracle saw as v
 * (flow k) the ACK, as its client sends it, of one of the n answered SYNs
 * in is: seq = ISN + 1, ack = cookie + 1? */
static inline int oracle_acks_a_cookie(const struct oracle_issued *is, int n,
				       const struct view *v, const struct flow_key *k)
{
	if (!v->flags_known || (v->flags & (FR_SYN | FR_ACK | FR_RST | FR_FIN)) != FR_ACK)
		return 0;
	for (int i = 0; i < n; i++)
		if (!memcmp(&is[i].k, k, sizeof(*k)) && v->seq == is[i].isn + 1 &&
		    v->ack == is[i].cookie + 1)
			return 1;
	return 0;
}

/* oracle_issue(is, f, len, v, k, answer): records in is the SYN f (seen
 * as v, flow k) that the gate answered with the SYN-ACK answer. */
static inline void oracle_issue(struct oracle_issued *is, const uint8_t *f, size_t len,
				const struct view *v, const struct flow_key *k,
				const uint8_t *answer)
{
	memcpy(is->f, f, len);
	is->len = len;
	is->l4off = v->l4off;
	is->k = *k;
	is->isn = v->seq;
	is->cookie = sa_rd32(answer + v->l4off + 4);
}

/* ---- the properties ---- */

enum prop {
	PR_GATE_TCP,	/* passed TCP to a GATE port: pure SYN, pending or verified */
	PR_BACKEND,	/* nothing with ports to a BACKEND port passes */
	PR_NON_TCP,	/* nothing non-TCP with ports to a GATE port passes */
	PR_PENALTY,	/* a penalized source opens nothing: verified and pending flows only */
	PR_DENY,	/* an operator-denied source passes to a GATE port only on verified flows */
	PR_ALLOW,	/* with the allowlist on, outsiders pass to a GATE port only on verified flows */
	PR_COUNTER,	/* exactly one counter moves, by one packet, matching the verdict */
	PR_ANSWER,	/* only a SYN past the source checks is answered, well-formed, statelessly */
	PR_COOKIE_SYN,	/* with cookies on, no bare SYN with a plain IP header goes up */
	PR_COOKIE_ACK,	/* the ACK of an answered SYN makes it pending */
	PR_FRAG_FIRST,	/* no IPv6 first fragment of TCP to a GATE port passes (frag_pass off) */
	PR_BAD_SOURCE,	/* no TCP from a source Linux refuses to a GATE port passes or is answered */
	PR_N,
};

static const char *const prop_name[PR_N] = {
	"every passed frame the oracle sees as TCP to a GATE port is a pure SYN or belongs to a flow in pending/verified",
	"no frame with ports to a BACKEND port is ever passed",
	"no non-TCP frame with ports to a GATE port is ever passed",
	"frames from a penalized source to a GATE port pass only on verified flows and, not as a bare SYN, on pending ones",
	"frames from an operator-denied source to a GATE port pass only on verified flows",
	"with the allowlist on, frames from outside it to a GATE port pass only on verified flows",
	"every frame moves exactly one counter by one packet, and the counter's kind matches the verdict",
	("only a bare SYN to a GATE port from a source past deny, penalty and allowlist is answered, with cookies on; "
	 "the answer is a well-formed SYN-ACK and leaves pending and the source's bucket untouched"),
	"with cookies on, no bare SYN without IPv4 options or IPv6 extensions is passed up",
	"the ACK of an answered SYN, as its client sends it, makes the flow pending (syncookie-ok) unless the source is out of tokens",
	"no IPv6 first fragment of TCP to a GATE port is passed: later fragments naming another protocol would complete it",
	("no TCP to a GATE port from a source Linux refuses (IPv4 0/8, multicast, 240/4; IPv6 unspecified, "
	 "multicast, IPv4-mapped) is passed or answered"),
};

/* What the maps said about a frame before the gate saw it. */
struct oracle_before {
	struct flow_key k;
	struct src_key sk;
	int pending, verified, penalized, allowed, denied;
	__u8 bucket[sizeof(struct syn_bucket)];
};

static inline int oracle_in_map(int fd, const void *key)
{
	__u8 val[64];

	return !bpf_map_lookup_elem(fd, key, val);
}

/* Is k's flow in l->verified or l->pending (the IPv4 map for IPv4)? */
static inline int oracle_in_flows(const struct lab *l, int map, const struct flow_key *k)
{
	__u8 val[64];

	return !lab_flow_get(l, map, k, val);
}

static inline int oracle_in_lpm(int fd, const uint8_t src[16])
{
	struct allow_key k = { .prefixlen = 128 };

	memcpy(k.addr, src, 16);
	return oracle_in_map(fd, &k);
}

/* A syn_rl bucket's bytes, or all 0xff when the source has none. */
static inline void oracle_bucket(struct lab *l, const struct src_key *sk,
				 __u8 val[sizeof(struct syn_bucket)])
{
	if (bpf_map_lookup_elem(l->syn_rl, sk, val))
		memset(val, 0xff, sizeof(struct syn_bucket));
}

/*
 * Is the frame from a source no TCP connection comes from: IPv4 0.0.0.0/8,
 * 224/4 or 240/4 (RFC 1122 3.2.1.3, RFC 1112); IPv6 ::, ff00::/8 or
 * ::ffff:0:0/96 (RFC 4291 2.5.2, 2.7, 2.5.5.2)?
 */
static inline int oracle_bad_source(const struct view *v)
{
	static const uint8_t zero[16], mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (!v->ipv6)
		return v->src[12] == 0 || v->src[12] >= 224;
	return v->src[0] == 0xff || !memcmp(v->src, zero, 16) ||
	       !memcmp(v->src, mapped, sizeof(mapped));
}

/* oracle_flow_key(v, k): the gate's flow key for the frame seen as v. */
static inline void oracle_flow_key(const struct view *v, struct flow_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->saddr, v->src, 16);
	memcpy(k->daddr, v->dst, 16);
	k->sport = htons(v->sport);
	k->dport = htons(v->dport);
	k->proto = v->proto;
}

/* oracle_look(l, v, allowlist, b): what the maps say about the frame seen
 * as v, with the allowlist on or off. */
static inline void oracle_look(struct lab *l, const struct view *v, int allowlist,
			       struct oracle_before *b)
{
	memset(b, 0, sizeof(*b));
	oracle_flow_key(v, &b->k);
	memcpy(b->sk.addr, v->src, 16);
	b->allowed = 1;
	if (!v->has_ports)
		return;
	b->pending = oracle_in_flows(l, l->pending, &b->k);
	b->verified = oracle_in_flows(l, l->verified, &b->k);
	b->penalized = oracle_in_map(l->penalty, &b->sk);
	b->allowed = !allowlist || oracle_in_lpm(l->allow_src, v->src);
	b->denied = oracle_in_lpm(l->deny, v->src);
	oracle_bucket(l, &b->sk, b->bucket);
}

enum { V_DROP, V_PASS, V_ANSWER };

/*
 * oracle_run(l, ep, f, len, out, out_max, out_len, verdict): runs the
 * frame once through entry point ep; out gets the frame after. verdict:
 * V_DROP, V_PASS, V_ANSWER (sent back where it came from: XDP_TX, or a tc
 * redirect), or -1 for a return code the gate must never give. 0, or a
 * negative errno when the kernel refuses the frame.
 */
static inline int oracle_run(struct lab *l, int ep, const uint8_t *f, size_t len, uint8_t *out,
			     size_t out_max, size_t *out_len, int *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = len,
		    .data_out = out, .data_size_out = out_max, .repeat = 1);
	int rc;

	if (bpf_prog_test_run_opts(l->prog[ep], &o))
		return errno ? -errno : -EIO;
	*out_len = o.data_size_out;
	rc = o.retval;
	if (ep == LAB_XDP)
		*verdict = rc == XDP_PASS ? V_PASS : rc == XDP_DROP ? V_DROP :
			   rc == XDP_TX ? V_ANSWER : -1;
	else	/* TC_ACT_UNSPEC or _OK, _SHOT, _REDIRECT */
		*verdict = rc == LAB_TC_PASS || rc == 0 ? V_PASS : rc == LAB_TC_DROP ? V_DROP :
			   rc == 7 ? V_ANSWER : -1;
	return 0;
}

/* What the gate did with one frame of len bytes. */
struct oracle_seen {
	int verdict;		/* V_*, or -1 */
	const uint8_t *out;	/* the frame after the run: the answer, for V_ANSWER */
	size_t out_len;
	__u32 moved;		/* the counter that moved, the last if several did */
	int n_moved;		/* how many counters moved */
	int bad_move;		/* one moved by other than one packet of len bytes */
};

/* oracle_moved(a, b, len, s): which counters moved from a to b, in s. */
static inline void oracle_moved(const struct lab_stats *a, const struct lab_stats *b,
				size_t len, struct oracle_seen *s)
{
	s->moved = CNT_MAX;
	s->n_moved = 0;
	s->bad_move = 0;
	for (__u32 id = 0; id < CNT_MAX; id++) {
		__u64 dp = b->packets[id] - a->packets[id];
		__u64 db = b->bytes[id] - a->bytes[id];

		if (!dp && !db)
			continue;
		s->n_moved++;
		s->moved = id;
		if (dp != 1 || db != len)
			s->bad_move = 1;
	}
}

/* Which properties a frame checked, which it broke, and how. */
struct oracle_judgement {
	unsigned int checked, failed;	/* bits 1 << PR_* */
	char why[PR_N][512];		/* for each broken property */
};

static inline void __attribute__((format(printf, 3, 4)))
oracle_fail(struct oracle_judgement *j, enum prop p, const char *fmt, ...)
{
	va_list ap;

	j->failed |= 1u << p;
	va_start(ap, fmt);
	vsnprintf(j->why[p], sizeof(j->why[p]), fmt, ap);
	va_end(ap);
}

/*
 * oracle_judge(l, f, v, b, cookies, is, n_is, s, j): checks the
 * properties on the frame f (seen as v, the maps as b said before) that the gate treated as s says, with SYN cookies on or off and
 * the n_is answered SYNs in is; the result in j. Reads the maps after.
 */
static inline void oracle_judge(struct lab *l, const uint8_t *f, const struct view *v,
				const struct oracle_before *b, int cookies, const struct oracle_issued *is, int n_is,
				const struct oracle_seen *s, struct oracle_judgement *j)
{
	uint32_t role = v->has_ports ? oracle_role_of(v->dport) : PORT_NONE;
	const char *moved = lab_cnt_name(s->moved);
	int passed = s->verdict == V_PASS || s->verdict < 0;
	int bare_syn = v->flags_known &&
		       (v->flags & (FR_SYN | FR_ACK | FR_RST | FR_FIN)) == FR_SYN;
	int acks = oracle_acks_a_cookie(is, n_is, v, &b->k);

	j->checked = 1u << PR_COUNTER;
	j->failed = 0;
	if (s->n_moved != 1 || s->bad_move ||
	    s->verdict != (s->moved == CNT_SYNCOOKIE_SENT ? V_ANSWER : lab_cnt_passes(s->moved)))
		oracle_fail(j, PR_COUNTER, "verdict %d, %d counters moved, last %s",
			    s->verdict, s->n_moved, moved);

	if (s->verdict == V_ANSWER) {
		const char *why = NULL;
		__u8 bucket_after[sizeof(struct syn_bucket)];

		j->checked |= 1u << PR_ANSWER;
		if (!cookies || role != PORT_GATE || !v->tcp || !bare_syn)
			why = "not a bare SYN to a GATE port with cookies on";
		else if (b->denied || b->penalized || !b->allowed)
			why = "the source is denied, penalized or outside the allowlist";
		else if (!v->simple)
			why = "IPv4 options or IPv6 extensions answered";
		else if (oracle_bad_source(v))
			why = "a source Linux refuses answered";
		else if ((why = synack_why(f, s->out, s->out_len, v->l3off, v->ipv6)))
			;
		else if (!b->pending && oracle_in_flows(l, l->pending, &b->k))
			why = "a pending entry was made";
		else if (oracle_bucket(l, &b->sk, bucket_after),
			 memcmp(b->bucket, bucket_after, sizeof(bucket_after)))
			why = "the source's syn_rl bucket changed";
		if (why)
			oracle_fail(j, PR_ANSWER, "answered: %s; counted %s", why, moved);
		return;
	}
	if (!v->has_ports || role == PORT_NONE)
		return;
	if (role == PORT_BACKEND) {
		j->checked |= 1u << PR_BACKEND;
		if (s->verdict != V_DROP)
			oracle_fail(j, PR_BACKEND, "oracle: proto %u to BACKEND port %u; counted %s",
				    v->proto, v->dport, moved);
		return;
	}
	if (!v->tcp) {
		j->checked |= 1u << PR_NON_TCP;
		if (s->verdict != V_DROP)
			oracle_fail(j, PR_NON_TCP, "oracle: proto %u to GATE port %u; counted %s",
				    v->proto, v->dport, moved);
		return;
	}
	if (v->frag_first) {
		j->checked |= 1u << PR_FRAG_FIRST;
		if (passed)
			oracle_fail(j, PR_FRAG_FIRST, "TCP %u -> %u in a first fragment; counted %s",
				    v->sport, v->dport, moved);
	}
	if (oracle_bad_source(v)) {
		j->checked |= 1u << PR_BAD_SOURCE;
		if (passed)
			oracle_fail(j, PR_BAD_SOURCE, "TCP %u -> %u from a source Linux refuses; "
				    "counted %s", v->sport, v->dport, moved);
	}
	j->checked |= 1u << PR_GATE_TCP;
	if (passed && !b->verified && !b->pending && !bare_syn &&
	    !(s->moved == CNT_SYNCOOKIE_OK && acks))
		oracle_fail(j, PR_GATE_TCP,
			    "oracle: TCP %u -> %u flags %s0x%02x, not pending, not verified; counted %s",
			    v->sport, v->dport, v->flags_known ? "" : "unknown ", v->flags, moved);
	if (cookies && bare_syn && v->simple) {
		j->checked |= 1u << PR_COOKIE_SYN;
		if (passed)
			oracle_fail(j, PR_COOKIE_SYN, "a SYN went up with cookies on; counted %s",
				    moved);
	}
	if (cookies && !b->verified && !b->pending && acks) {
		int now_pending = oracle_in_flows(l, l->pending, &b->k);

		j->checked |= 1u << PR_COOKIE_ACK;
		if (!(s->moved == CNT_SYNCOOKIE_OK && passed && now_pending) &&
		    s->moved != CNT_DROP_RATELIMIT)
			oracle_fail(j, PR_COOKIE_ACK, "verdict %d, counted %s, %s", s->verdict,
				    moved, now_pending ? "pending" : "not pending");
	}
	if (b->penalized) {
		j->checked |= 1u << PR_PENALTY;
		if (passed && !b->verified && !(b->pending && !bare_syn))
			oracle_fail(j, PR_PENALTY, "penalized source passed; counted %s", moved);
	}
	if (b->denied) {
		j->checked |= 1u << PR_DENY;
		if (passed && !b->verified)
			oracle_fail(j, PR_DENY, "denied source passed; counted %s", moved);
	}
	if (!b->allowed) {
		j->checked |= 1u << PR_ALLOW;
		if (passed && !b->verified)
			oracle_fail(j, PR_ALLOW, "source outside the allowlist passed; counted %s",
				    moved);
	}
}

#endif /* AOPGATE_ORACLE_H */
