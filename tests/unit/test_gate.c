// SPDX-License-Identifier: GPL-2.0-only
/*
 * The gate, packet by packet: crafted frames go through the real compiled
 * program, at both entry points (XDP and tc), with BPF_PROG_TEST_RUN. Each
 * point checks the verdict and that exactly the counter of the expected
 * verdict-table row moved, by one packet of the frame's length. This file
 * holds the verdict table, one plain frame per row and variant, and the
 * state behind it (flows, budgets, token buckets, penalties, allowlist);
 * test_gate_parse.c holds the shapes the parser must see through or
 * refuse. Each behaviour is checked in one of the two, not both.
 */
#include "gatecheck.h"
#include "gatemap.h"

/* The syn_rl key of a source: /32 for IPv4, /64 for IPv6. */
static struct src_key bucket_key(const uint8_t src[16], int ipv6)
{
	struct src_key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.addr, src, ipv6 ? 8 : 16);
	return k;
}

static void seed_bucket(const uint8_t src[16], int ipv6, __u64 tat_ns)
{
	struct src_key k = bucket_key(src, ipv6);
	struct syn_bucket b = { .tat_ns = tat_ns };

	if (bpf_map_update_elem(lab.syn_rl, &k, &b, BPF_ANY))
		bail("seeding syn_rl");
}

/*
 * Moves a source's bucket ns into the past, which to the gate is the same
 * as ns having gone by: refill is judged without waiting for the clock.
 */
static void age_bucket(const uint8_t src[16], int ipv6, __u64 ns)
{
	struct src_key k = bucket_key(src, ipv6);
	struct syn_bucket b;

	if (bpf_map_lookup_elem(lab.syn_rl, &k, &b))
		bail("reading syn_rl");
	seed_bucket(src, ipv6, b.tat_ns - ns);
}

/*
 * The drop reasons, each with a frame and the state that makes the gate
 * drop it. Used for the enforce rows of the verdict table and again in
 * monitor mode, where the same situation must pass as would-drop.
 */
static const struct drop_case {
	__u32 id;
	const char *what;
} drop_cases[] = {
	{ CNT_DROP_BACKEND, "a SYN to the BACKEND port" },
	{ CNT_DROP_PENALTY, "a SYN from a penalized source" },
	{ CNT_DROP_NOT_ALLOWED, "with the allowlist on, a SYN from a source outside it" },
	{ CNT_DROP_BUDGET, "an ACK on a pending flow past its packet budget" },
	{ CNT_DROP_RATELIMIT, "a SYN from a source out of tokens" },
	{ CNT_DROP_UNKNOWN, "a stray ACK on an unknown flow" },
	{ CNT_DROP_FRAGMENT, "a non-first TCP fragment" },
	{ CNT_DROP_MALFORMED, "a SYN cut inside its TCP options" },
	{ CNT_DROP_NON_TCP, "UDP to a GATE port" },
	{ CNT_DROP_DENIED, "a SYN from a range an operator denied" },
};

/* Sets up the situation of a drop case under mode; returns its frame length. */
static size_t drop_setup(const struct variant *v, __u32 id, __u32 mode,
			 uint8_t *f)
{
	struct gate_cfg c = lab_cfg_default();
	struct fspec s = tcp(v, 40000, GATE_PORT, FR_SYN);
	struct flow_key k;
	__u64 now = lab_now();
	size_t len;

	c.mode = mode;
	if (id == CNT_DROP_NOT_ALLOWED)
		c.flags |= GATE_F_ALLOWLIST;
	if (id == CNT_DROP_DENIED)
		c.flags |= GATE_F_DENY;
	fresh(&c);
	switch (id) {
	case CNT_DROP_BACKEND:
		s.dport = BACKEND_PORT;
		break;
	case CNT_DROP_PENALTY:
		must(lab_penalize(&lab, s.src, now + 60 * SEC_NS), "seeding penalty");
		break;
	case CNT_DROP_NOT_ALLOWED: {
		uint8_t net[16];

		fr_addr(net, v->ipv6 ? "2001:db8:99::" : "203.0.113.0");
		must(lab_allow(&lab, net, v->ipv6 ? 48 : 96 + 24), "seeding allow_src");
		break;
	}
	case CNT_DROP_BUDGET:
		s.flags = FR_ACK;
		k = fr_key(&s);
		must(lab_pend(&lab, &k, now, c.pending_max_packets), "seeding pending");
		break;
	case CNT_DROP_RATELIMIT:
		seed_bucket(s.src, v->ipv6, now + 3600 * SEC_NS);
		break;
	case CNT_DROP_UNKNOWN:
		s.flags = FR_ACK;
		break;
	case CNT_DROP_FRAGMENT:
		s = later_fragment(v, FR_PROTO_TCP);
		break;
	case CNT_DROP_NON_TCP:
		s = udp(v, 40000, GATE_PORT);
		break;
	case CNT_DROP_DENIED: {
		uint8_t net[16];

		fr_addr(net, v->ipv6 ? "2001:db8:1::" : "198.51.100.0");
		must(lab_deny(&lab, net, v->ipv6 ? 48 : 96 + 24, AOPGATE_FOREVER), "seeding deny");
		break;
	}
	}
	len = frame_build(&s, f);
	if (id == CNT_DROP_MALFORMED)
		len -= 3;
	return len;
}

/*
 * Every row of the verdict table in README.md, for one variant. The
 * enforce row of drop-malformed is the truncation sweep of
 * test_gate_parse.c, which cuts a SYN at every length; its monitor row is
 * here with the other would-drop rows.
 */
static void verdict_table(const struct variant *v)
{
	struct gate_cfg c = lab_cfg_default();
	uint8_t f[FRAME_MAX];
	struct flow_key k;
	struct fspec s;
	__u64 t0, t1;
	int good;

	fresh(&c);
	s = icmp(v);
	point(check(v->ep, &s, CNT_PASS_OTHER),
	      "%s: an ICMP echo to the host passes (pass-other)", v->name);
	s = tcp(v, 40000, OTHER_PORT, FR_ACK);
	point(check(v->ep, &s, CNT_PASS_OTHER),
	      "%s: TCP to an unprotected port passes (pass-other)", v->name);
	s = udp(v, 40000, OTHER_PORT);
	point(check(v->ep, &s, CNT_PASS_OTHER),
	      "%s: UDP to an unprotected port passes (pass-other)", v->name);
	s = udp(v, 40000, BACKEND_PORT);
	point(check(v->ep, &s, CNT_DROP_NON_TCP),
	      "%s: UDP to the BACKEND port is dropped (drop-non-tcp)", v->name);

	fresh(&c);
	s = tcp(v, 40000, GATE_PORT, FR_ACK | FR_PSH);
	s.payload_len = 100;
	k = fr_key(&s);
	must(lab_verify(&lab, &k, 0), "seeding verified");
	point(check(v->ep, &s, CNT_PASS_VERIFIED),
	      "%s: data on a verified flow passes (pass-verified)", v->name);

	fresh(&c);
	s = tcp(v, 40000, GATE_PORT, FR_ACK);
	k = fr_key(&s);
	must(lab_pend(&lab, &k, lab_now(), 1), "seeding pending");
	point(check(v->ep, &s, CNT_PASS_PENDING),
	      "%s: an ACK on a pending flow within budget passes (pass-pending)", v->name);

	fresh(&c);
	s = tcp(v, 40000, GATE_PORT, FR_SYN);
	k = fr_key(&s);
	t0 = lab_now();
	good = check(v->ep, &s, CNT_PASS_SYN);
	t1 = lab_now();
	point(good && pending_is(&k, t0, t1, 1),
	      "%s: a SYN from a source with a token passes and opens a pending flow (pass-syn)",
	      v->name);

	for (size_t i = 0; i < sizeof(drop_cases) / sizeof(drop_cases[0]); i++) {
		const struct drop_case *d = &drop_cases[i];
		size_t len;

		if (d->id == CNT_DROP_MALFORMED)
			continue;
		len = drop_setup(v, d->id, GATE_ENFORCE, f);
		point(check_frame(v->ep, f, len, d->id), "%s: %s is dropped (%s)",
		      v->name, d->what, lab_cnt_name(d->id));
	}
	for (size_t i = 0; i < sizeof(drop_cases) / sizeof(drop_cases[0]); i++) {
		const struct drop_case *d = &drop_cases[i];
		__u32 would = CNT_WOULD_DROP_BASE + (d->id - CNT_DROP_BASE);
		size_t len = drop_setup(v, d->id, GATE_MONITOR, f);

		point(check_frame(v->ep, f, len, would),
		      "%s monitor: %s passes and counts as would-drop (%s)",
		      v->name, d->what, lab_cnt_name(would));
	}
}

static int is_pure_syn(unsigned flags)
{
	return (flags & (FR_SYN | FR_ACK | FR_RST | FR_FIN)) == FR_SYN;
}

/* All 256 flag bytes against unknown flows to a GATE port. */
static void flag_bytes(const struct variant *v)
{
	struct gate_cfg c = lab_cfg_default();
	int bad_syn = 0, bad_other = 0, n_syn = 0;
	char why_syn[sizeof(why)] = "", why_other[sizeof(why)] = "";

	c.syn_burst = 1000;	/* the rate limit is not under test here */
	fresh(&c);
	for (unsigned fl = 0; fl < 256; fl++) {
		/* A flow of its own for each byte: no pending state carries over. */
		struct fspec s = tcp(v, 20000 + fl, GATE_PORT, fl);
		int syn = is_pure_syn(fl);
		struct flow_key k = fr_key(&s);
		int good = check(v->ep, &s, syn ? CNT_PASS_SYN : CNT_DROP_UNKNOWN);
		struct pending_flow p;

		if (good && !syn && !lab_flow_get(&lab, lab.pending, &k, &p)) {
			snprintf(why, sizeof(why), "dropped, yet opened a pending flow");
			good = 0;
		}
		n_syn += syn;
		if (!good && (syn ? !bad_syn++ : !bad_other++))
			snprintf(syn ? why_syn : why_other, sizeof(why),
				 "flags 0x%02x: %.900s", fl, why);
	}
	snprintf(why, sizeof(why), "%d failed; first: %.900s", bad_syn, why_syn);
	point(!bad_syn && n_syn == 16,
	      "%s: each of the 16 flag bytes with SYN and without ACK/RST/FIN opens a flow (pass-syn)",
	      v->name);
	snprintf(why, sizeof(why), "%d failed; first: %.900s", bad_other, why_other);
	point(!bad_other,
	      "%s: each of the other 240 flag bytes on an unknown flow is dropped (drop-unknown)",
	      v->name);
}

/* The pending budget, by packets and by age. */
static void pending_budget(const struct variant *v)
{
	struct gate_cfg c = lab_cfg_default();
	struct fspec s = tcp(v, 40000, GATE_PORT, FR_SYN);
	struct flow_key k = fr_key(&s);
	int good;
	__u64 t0;

	c.pending_max_packets = 6;
	fresh(&c);
	good = check(v->ep, &s, CNT_PASS_SYN);
	for (__u32 i = 1; good && i < c.pending_max_packets; i++) {
		s.flags = i & 1 ? FR_ACK : FR_ACK | FR_PSH;
		good = check(v->ep, &s, CNT_PASS_PENDING);
	}
	point(good, "%s: a handshake's first pending_max_packets (6) packets pass (pass-syn, then pass-pending)",
	      v->name);
	point(check(v->ep, &s, CNT_DROP_BUDGET),
	      "%s: packet pending_max_packets+1 of a pending flow is dropped (drop-budget)", v->name);
	s.flags = FR_SYN;
	point(check(v->ep, &s, CNT_DROP_BUDGET),
	      "%s: a retransmitted SYN on a young pending flow past its budget is dropped (drop-budget)",
	      v->name);

	fresh(&c);
	s.flags = FR_ACK;
	{
		/* Aged out with its packets and bytes spent, so a fresh start shows. */
		struct pending_flow old = {
			.first_seen_ns = lab_now() - c.pending_max_age_ns - SEC_NS,
			.packets = c.pending_max_packets + 1,
			.bytes = ~0u,
		};

		must(lab_flow_put(&lab, lab.pending, &k, &old), "seeding pending");
	}
	point(check(v->ep, &s, CNT_DROP_BUDGET),
	      "%s: an ACK on a pending flow older than pending_max_age_ns is dropped (drop-budget)", v->name);
	s.flags = FR_SYN;
	t0 = lab_now();
	good = check(v->ep, &s, CNT_PASS_SYN);
	point(good && pending_is(&k, t0, lab_now(), 1),
	      "%s: a SYN on a pending flow older than pending_max_age_ns opens it anew (pass-syn)", v->name);
	s.flags = FR_ACK;
	point(check(v->ep, &s, CNT_PASS_PENDING),
	      "%s: the re-opened flow has its packet and byte budget back (pass-pending)", v->name);
}

/* The per-source SYN token bucket. */
static void token_bucket(int ep, int ipv6)
{
	struct gate_cfg c = lab_cfg_default();
	struct variant v;
	struct fspec s;
	int good = 1;

	variant_init(&v, ep, ipv6, 0);
	c.syn_rate = 1;
	c.syn_burst = 5;
	fresh(&c);
	for (int i = 0; good && i < 5; i++) {
		s = tcp(&v, 30000 + i, GATE_PORT, FR_SYN);
		good = check(ep, &s, CNT_PASS_SYN);
	}
	point(good, "%s: with syn_rate 1/s and syn_burst 5, a source's first 5 SYNs pass (pass-syn)", v.name);
	s = tcp(&v, 30005, GATE_PORT, FR_SYN);
	point(check(ep, &s, CNT_DROP_RATELIMIT),
	      "%s: the same source's 6th SYN is dropped (drop-ratelimit)", v.name);
	if (!ipv6) {
		fr_addr(s.src, "198.51.100.8");
		point(check(ep, &s, CNT_PASS_SYN),
		      "%s: another IPv4 address (/32) has a bucket of its own (pass-syn)", v.name);
	} else {
		fr_addr(s.src, "2001:db8:1:2:ffff:eeee:dddd:cccc");
		point(check(ep, &s, CNT_DROP_RATELIMIT),
		      "%s: another address in the same /64 shares the bucket (drop-ratelimit)", v.name);
		fr_addr(s.src, "2001:db8:1:3::7");
		point(check(ep, &s, CNT_PASS_SYN),
		      "%s: an address in another /64 has a bucket of its own (pass-syn)", v.name);
	}

	/* 1/s and burst 1: the first SYN takes the only token, which comes
	 * back a whole second later and not before. */
	c.syn_rate = 1;
	c.syn_burst = 1;
	fresh(&c);
	s = tcp(&v, 31000, GATE_PORT, FR_SYN);
	good = check(ep, &s, CNT_PASS_SYN);
	s.sport++;
	good = good && check(ep, &s, CNT_DROP_RATELIMIT);
	age_bucket(s.src, ipv6, SEC_NS / 2);
	s.sport++;
	point(good && check(ep, &s, CNT_DROP_RATELIMIT),
	      "%s: with syn_rate 1/s and burst 1, the next SYN is dropped, and still half a second later (drop-ratelimit)",
	      v.name);
	age_bucket(s.src, ipv6, SEC_NS / 2 + SEC_NS / 10);
	s.sport++;
	point(check(ep, &s, CNT_PASS_SYN),
	      "%s: with syn_rate 1/s and burst 1, a token is back a second after it was taken (pass-syn)",
	      v.name);
}

/* Penalties and verified entries that end. */
static void expiry(const struct variant *v)
{
	struct fspec s = tcp(v, 40000, GATE_PORT, FR_SYN);
	struct flow_key k;
	struct verified_flow vf;
	uint8_t f[FRAME_MAX];
	size_t len;
	int good;

	fresh_default();
	must(lab_penalize(&lab, s.src, lab_now() - SEC_NS), "seeding penalty");
	point(check(v->ep, &s, CNT_PASS_SYN),
	      "%s: a SYN from a source whose penalty has run out is admitted (pass-syn)", v->name);
	fresh_default();
	must(lab_penalize(&lab, s.src, lab_now() + 60 * SEC_NS), "seeding penalty");
	s.flags = FR_ACK;
	k = fr_key(&s);
	must(lab_verify(&lab, &k, 0), "seeding verified");
	point(check(v->ep, &s, CNT_PASS_VERIFIED),
	      "%s: a verified flow passes even while its source is penalized (pass-verified)", v->name);

	fresh_default();
	s.flags = FR_ACK | FR_FIN;
	s.payload_len = 10;
	k = fr_key(&s);
	must(lab_verify(&lab, &k, lab_now() + 5 * SEC_NS), "seeding verified");
	len = frame_build(&s, f);
	good = check_frame(v->ep, f, len, CNT_PASS_VERIFIED);
	if (lab_flow_get(&lab, lab.verified, &k, &vf))
		bail("reading verified");
	if (good && (vf.packets != 1 || vf.bytes != len)) {
		snprintf(why, sizeof(why), "entry counted %llu packets, %llu bytes; want 1, %zu",
			 (unsigned long long)vf.packets, (unsigned long long)vf.bytes, len);
		good = 0;
	}
	point(good, "%s: a lingering verified flow (expires in 5 s) passes and counts the packet in its entry (pass-verified)",
	      v->name);
	fresh_default();
	must(lab_verify(&lab, &k, lab_now() - SEC_NS), "seeding verified");
	point(check(v->ep, &s, CNT_DROP_UNKNOWN),
	      "%s: a stray ACK on a verified flow that expired is dropped (drop-unknown)", v->name);
	fresh_default();
	must(lab_verify(&lab, &k, 0), "seeding verified");
	point(check(v->ep, &s, CNT_PASS_VERIFIED),
	      "%s: a verified flow with expires_ns 0 stays open (pass-verified)", v->name);
	fresh_default();
	must(lab_verify_flags(&lab, &k, lab_now() + 5 * SEC_NS, VERIFIED_F_OPEN), "seeding verified");
	point(check(v->ep, &s, CNT_PASS_VERIFIED),
	      "%s: an open flow within its lease passes (pass-verified)", v->name);
	fresh_default();
	must(lab_verify_flags(&lab, &k, lab_now() - SEC_NS, VERIFIED_F_OPEN), "seeding verified");
	point(check(v->ep, &s, CNT_DROP_UNKNOWN),
	      "%s: an open flow whose lease lapsed (its agent died) is dropped (drop-unknown)",
	      v->name);

	/* A bare SYN opens a new connection: it is admitted like any other. */
	fresh_default();
	s = tcp(v, 40001, GATE_PORT, FR_SYN);
	k = fr_key(&s);
	must(lab_verify(&lab, &k, 0), "seeding verified");
	good = check(v->ep, &s, CNT_PASS_SYN);
	point(good && pending_is(&k, lab_now() - SEC_NS, lab_now(), 1),
	      "%s: a bare SYN on a verified tuple is a new connection: pending again (pass-syn)",
	      v->name);
}

/* The source allowlist. */
static void allowlist(const struct variant *v)
{
	struct gate_cfg c = lab_cfg_default();
	struct fspec s = tcp(v, 40000, GATE_PORT, FR_SYN);
	uint8_t net[16];
	__u32 plen = v->ipv6 ? 48 : 96 + 24;
	const char *inside = v->ipv6 ? "2001:db8:1:ffff::1" : "198.51.100.200";
	const char *outside = v->ipv6 ? "2001:db8:2::7" : "198.51.101.7";

	fr_addr(net, v->ipv6 ? "2001:db8:1::" : "198.51.100.0");
	c.flags = GATE_F_ALLOWLIST;
	c.syn_burst = 100;
	fresh(&c);
	must(lab_allow(&lab, net, plen), "seeding allow_src");
	point(check(v->ep, &s, CNT_PASS_SYN),
	      "%s: with the allowlist on, a SYN from inside an allowed %s is admitted (pass-syn)",
	      v->name, v->ipv6 ? "/48" : "/24");
	fr_addr(s.src, inside);
	point(check(v->ep, &s, CNT_PASS_SYN),
	      "%s: with the allowlist on, a SYN from elsewhere in the same prefix is admitted (pass-syn)",
	      v->name);
	fr_addr(s.src, outside);
	point(check(v->ep, &s, CNT_DROP_NOT_ALLOWED),
	      "%s: with the allowlist on, a SYN from just outside the prefix is dropped (drop-not-allowed)",
	      v->name);
	c.flags = 0;
	fresh(&c);
	must(lab_allow(&lab, net, plen), "seeding allow_src");
	point(check(v->ep, &s, CNT_PASS_SYN),
	      "%s: with the allowlist off, the same SYN is evaluated normally (pass-syn)", v->name);
}

/*
 * What keeps the puller safe: a penalty stops new connections only, covers
 * the source's prefix, a source in good standing draws from the trusted
 * bucket, the pending budget counts bytes, and denies cover CIDRs.
 */
static void puller_safety(const struct variant *v)
{
	struct gate_cfg c = lab_cfg_default();
	struct fspec s = tcp(v, 40000, GATE_PORT, FR_SYN);
	struct flow_key k;
	uint8_t net[16];
	__u64 now = lab_now();
	int good = 1;

	fresh(&c);
	s.flags = FR_ACK;
	k = fr_key(&s);
	must(lab_pend(&lab, &k, now, 1), "seeding pending");
	must(lab_penalize(&lab, s.src, now + 60 * SEC_NS), "seeding penalty");
	point(check(v->ep, &s, CNT_PASS_PENDING),
	      "%s: an ACK of a handshake pending before its source was penalized passes (pass-pending)",
	      v->name);
	s.sport++;
	point(check(v->ep, &s, CNT_DROP_PENALTY),
	      "%s: a stray ACK from a penalized source is dropped (drop-penalty)", v->name);
	s.flags = FR_SYN;
	s.sport--;
	point(check(v->ep, &s, CNT_DROP_PENALTY),
	      "%s: a SYN of that pending flow from the penalized source is dropped (drop-penalty)",
	      v->name);

	/* A penalty covers penalty_prefix4 / penalty_prefix6 bits of the source. */
	c.penalty_prefix4 = 24;
	c.penalty_prefix6 = 64;
	fresh(&c);
	fr_addr(net, v->ipv6 ? "2001:db8:1:2::" : "198.51.100.0");
	must(lab_penalize(&lab, net, now + 60 * SEC_NS), "seeding penalty");
	fr_addr(s.src, v->ipv6 ? "2001:db8:1:2:aaaa:bbbb:cccc:dddd" : "198.51.100.77");
	point(check(v->ep, &s, CNT_DROP_PENALTY),
	      "%s: a SYN from another address in a penalized %s is dropped (drop-penalty)", v->name,
	      v->ipv6 ? "/64" : "/24");
	fr_addr(s.src, v->ipv6 ? "2001:db8:1:3::1" : "198.51.101.1");
	point(check(v->ep, &s, CNT_PASS_SYN),
	      "%s: a SYN from outside the penalized prefix passes (pass-syn)", v->name);

	/* Good standing: the trusted rate, for the prefix of a verified puller. */
	c = lab_cfg_default();
	fresh(&c);
	s = tcp(v, 30000, GATE_PORT, FR_SYN);
	must(lab_stand(&lab, s.src, now + 600 * SEC_NS), "seeding standing");
	for (int i = 0; good && i < 20; i++) {
		s.sport = 30000 + i;
		good = check(v->ep, &s, CNT_PASS_SYN);
	}
	point(good, "%s: a source in good standing opens 20 connections with syn_burst 3 (pass-syn)",
	      v->name);
	must(lab_stand(&lab, s.src, now - SEC_NS), "ending standing");
	/* The 20 trusted tokens took 20 ms of the bucket: 2 SYNs fit, not 3. */
	for (int i = 0; good && i < 2; i++) {
		s.sport++;
		good = check(v->ep, &s, CNT_PASS_SYN);
	}
	s.sport++;
	point(good && check(v->ep, &s, CNT_DROP_RATELIMIT),
	      "%s: once its standing has ended it is held to syn_burst 3 again (drop-ratelimit)",
	      v->name);

	/* The pending budget counts bytes as well as packets. */
	c.pending_max_packets = 100;
	fresh(&c);
	s = tcp(v, 40000, GATE_PORT, FR_ACK | FR_PSH);
	s.payload_len = 1400;
	k = fr_key(&s);
	must(lab_pend(&lab, &k, now, 1), "seeding pending");
	good = check(v->ep, &s, CNT_PASS_PENDING) && check(v->ep, &s, CNT_PASS_PENDING);
	point(good && check(v->ep, &s, CNT_DROP_BUDGET),
	      "%s: the 1400-byte segment that takes a pending flow past pending_bytes 4096 is dropped (drop-budget)",
	      v->name);
	c = lab_cfg_default();

	/* An operator's deny covers its CIDR and only it; verified flows stay. */
	c.flags = GATE_F_DENY;
	fresh(&c);
	fr_addr(net, v->ipv6 ? "2001:db8:1::" : "198.51.100.0");
	must(lab_deny(&lab, net, v->ipv6 ? 48 : 96 + 24, now + 60 * SEC_NS), "seeding deny");
	s = tcp(v, 40000, GATE_PORT, FR_ACK);
	k = fr_key(&s);
	must(lab_verify(&lab, &k, 0), "seeding verified");
	point(check(v->ep, &s, CNT_PASS_VERIFIED),
	      "%s: a verified flow from a denied range still passes (pass-verified)", v->name);
	s.sport++;
	k = fr_key(&s);
	must(lab_pend(&lab, &k, now, 1), "seeding pending");
	point(check(v->ep, &s, CNT_DROP_DENIED),
	      "%s: a pending handshake from a denied range is dropped (drop-denied)", v->name);
	fr_addr(s.src, v->ipv6 ? "2001:db8:2::1" : "198.51.101.1");
	s.flags = FR_SYN;
	point(check(v->ep, &s, CNT_PASS_SYN),
	      "%s: a SYN from outside the denied range passes (pass-syn)", v->name);
	must(lab_deny(&lab, net, v->ipv6 ? 48 : 96 + 24, now - SEC_NS), "ending deny");
	fr_addr(s.src, v->ipv6 ? "2001:db8:1::9" : "198.51.100.9");
	point(check(v->ep, &s, CNT_PASS_SYN),
	      "%s: once a deny has ended its range passes again (pass-syn)", v->name);
}

/* The BACKEND port is never reachable from the NIC. */
/*
 * A penalty's prefix off the byte boundary: the gate keys the source as the
 * agent does when it writes the penalty (gatemap_src_prefix), so the
 * penalty covers the prefix's last bit and nothing past it.
 */
static void penalty_prefix(const struct variant *v)
{
	/* Short enough to test the masks, long enough to keep the source unicast. */
	static const __u32 bits4[] = { 9, 17, 20, 31 };
	static const __u32 bits6[] = { 2, 48, 63, 64, 65, 100, 127 };
	const __u32 *bits = v->ipv6 ? bits6 : bits4;
	size_t n = v->ipv6 ? sizeof(bits6) / sizeof(*bits6) : sizeof(bits4) / sizeof(*bits4);
	int good = 1;

	for (size_t i = 0; good && i < n; i++) {
		struct gate_cfg c = lab_cfg_default();
		struct fspec s = tcp(v, 41000, GATE_PORT, FR_SYN);
		__u32 first = (v->ipv6 ? 0 : 96) + bits[i];	/* first bit past the prefix */
		struct src_key pk;

		c.penalty_prefix4 = v->ipv6 ? c.penalty_prefix4 : bits[i];
		c.penalty_prefix6 = v->ipv6 ? bits[i] : c.penalty_prefix6;
		fresh(&c);
		gatemap_src_prefix(&c, s.src, &pk);
		must(lab_penalize(&lab, pk.addr, lab_now() + 60 * SEC_NS), "seeding penalty");
		/* Every bit past the prefix set: still the penalized prefix. */
		for (__u32 b = first; b < 128; b++)
			s.src[b / 8] |= 0x80 >> (b % 8);
		good = check(v->ep, &s, CNT_DROP_PENALTY);
		/* The prefix's last bit flipped: another prefix. */
		s.src[(first - 1) / 8] ^= 0x80 >> ((first - 1) % 8);
		s.sport++;
		good = good && check(v->ep, &s, CNT_PASS_SYN);
		if (!good)
			snprintf(why + strlen(why), sizeof(why) - strlen(why), " (prefix /%u)",
				 bits[i]);
	}
	point(good, "%s: a penalty on a prefix off the byte boundary covers its bits and no more",
	      v->name);
}

static void backend(const struct variant *v)
{
	struct fspec s = tcp(v, 40000, BACKEND_PORT, FR_SYN);
	struct flow_key k;

	fresh_default();
	s.flags = FR_ACK | FR_PSH;
	k = fr_key(&s);
	must(lab_verify(&lab, &k, 0), "seeding verified");
	must(lab_pend(&lab, &k, lab_now(), 1), "seeding pending");
	point(check(v->ep, &s, CNT_DROP_BACKEND),
	      "%s: data to the BACKEND port on a flow in verified and pending is dropped (drop-backend)",
	      v->name);
}

/* A kernel symbol's address from /proc/kallsyms; 0 if absent or hidden. */
static unsigned long long ksym(const char *name)
{
	unsigned long long a, found = 0;
	char type, sym[256];
	FILE *f = fopen("/proc/kallsyms", "r");

	while (f && fscanf(f, "%llx %c %255s%*[^\n]", &a, &type, sym) == 3)
		if (!strcmp(sym, name) && (type == 'T' || type == 't')) {
			found = a;
			break;
		}
	if (f)
		fclose(f);
	return found;
}

/*
 * The verifier inlines a lookup in a hash map (a direct call to the map
 * type's own lookup) only at a call that sees one map. A call to the
 * generic bpf_map_lookup_elem left in the loaded program means clang
 * merged two lookups into one (see verified_get): every packet of that
 * path would pay a call through the map's operations.
 */
static void lookups_inlined(int ep)
{
	unsigned long long fn = ksym("bpf_map_lookup_elem"), base = ksym("__bpf_call_base");
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	struct bpf_insn *insn = NULL;
	__u32 n = 0, generic = 0;

	if (!bpf_obj_get_info_by_fd(lab.prog[ep], &info, &len) && info.xlated_prog_len) {
		n = info.xlated_prog_len / sizeof(*insn);
		insn = calloc(n, sizeof(*insn));
		memset(&info, 0, sizeof(info));
		info.xlated_prog_len = n * sizeof(*insn);
		info.xlated_prog_insns = (__u64)(unsigned long)insn;
		if (!insn || bpf_obj_get_info_by_fd(lab.prog[ep], &info, &len))
			n = 0;
	}
	for (__u32 i = 0; i < n; i++)
		if (insn[i].code == (BPF_JMP | BPF_CALL) && insn[i].src_reg == 0 &&
		    (long long)insn[i].imm == (long long)(fn - base))
			generic++;
	if (!fn || !base || !n)
		snprintf(why, sizeof(why), "kallsyms: bpf_map_lookup_elem %llx, "
			 "__bpf_call_base %llx; %u instructions", fn, base, n);
	else
		snprintf(why, sizeof(why), "%u calls to the generic bpf_map_lookup_elem",
			 generic);
	point(fn && base && n && !generic,
	      "%s: every map lookup of the loaded gate is inlined by the verifier",
	      ep == LAB_XDP ? "xdp" : "tc");
	free(insn);
}

int main(void)
{
	struct variant v;

	if (lab_open(&lab, 4096, 4096))
		bail("loading the gate");
	if (lab_set_port(&lab, GATE_PORT, PORT_GATE) ||
	    lab_set_port(&lab, BACKEND_PORT, PORT_BACKEND))
		bail("writing ports");

	for (int ep = 0; ep < LAB_N_ENTRIES; ep++)
		for (int ipv6 = 0; ipv6 < 2; ipv6++)
			for (int vlans = 0; vlans < 3; vlans++) {
				variant_init(&v, ep, ipv6, vlans);
				verdict_table(&v);
			}
	for (int ep = 0; ep < LAB_N_ENTRIES; ep++) {
		for (int ipv6 = 0; ipv6 < 2; ipv6++) {
			variant_init(&v, ep, ipv6, 0);
			flag_bytes(&v);
			pending_budget(&v);
			token_bucket(ep, ipv6);
			expiry(&v);
			allowlist(&v);
			puller_safety(&v);
			penalty_prefix(&v);
			backend(&v);
		}
	}
	for (int ep = 0; ep < LAB_N_ENTRIES; ep++)
		lookups_inlined(ep);
	lab_close(&lab);
	return tap_done();
}
