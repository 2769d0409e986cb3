// SPDX-License-Identifier: GPL-2.0-only
/*
 * The gate, packet by packet: crafted frames go through the real compiled
 * program, at both entry points (XDP and tc), with BPF_PROG_TEST_RUN. Each
 * point checks the verdict and that exactly the counter of the expected
 * verdict-table row moved, by one packet of the frame's length.
 */
#include <stdarg.h>
#include <unistd.h>
#include "tap.h"
#include "frame.h"
#include "gatelab.h"

#define GATE_PORT	443
#define BACKEND_PORT	8080
#define OTHER_PORT	22

#define SEC_NS	1000000000ull

static struct lab lab;
static char why[1024];

struct variant {
	int ep;
	int ipv6;
	int vlans;
	char name[32];		/* e.g. "xdp ipv6+qinq" */
};

static void variant_init(struct variant *v, int ep, int ipv6, int vlans)
{
	static const char *const tags[] = { "", "+vlan", "+qinq" };

	v->ep = ep;
	v->ipv6 = ipv6;
	v->vlans = vlans;
	snprintf(v->name, sizeof(v->name), "%s ipv%d%s", lab_entry_name[ep],
		 ipv6 ? 6 : 4, tags[vlans]);
}

static const char *client(int ipv6)
{
	return ipv6 ? "2001:db8:1:2::7" : "198.51.100.7";
}

static const char *server(int ipv6)
{
	return ipv6 ? "2001:db8:ffff::10" : "192.0.2.10";
}

static void bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* fresh(c): no flows, penalties, allowlist or buckets; c in gate_cfg. */
static void fresh(const struct gate_cfg *c)
{
	if (lab_reset(&lab))
		bail("clearing the maps");
	if (lab_set_cfg(&lab, c))
		bail("writing gate_cfg");
}

static void fresh_default(void)
{
	struct gate_cfg c = lab_cfg_default();

	fresh(&c);
}

static struct fspec tcp(const struct variant *v, uint16_t sport,
			uint16_t dport, uint8_t flags)
{
	struct fspec s;

	fr_tcp(&s, v->ipv6, client(v->ipv6), server(v->ipv6), sport, dport,
	       flags);
	s.vlans = v->vlans;
	return s;
}

static struct fspec udp(const struct variant *v, uint16_t sport,
			uint16_t dport)
{
	struct fspec s = tcp(v, sport, dport, 0);

	s.proto = FR_PROTO_UDP;
	s.tcp_opt_len = 0;
	s.payload_len = 32;
	return s;
}

static struct fspec icmp(const struct variant *v)
{
	struct fspec s = tcp(v, 0, 0, 0);

	s.proto = v->ipv6 ? FR_PROTO_ICMPV6 : FR_PROTO_ICMP;
	s.tcp_opt_len = 0;
	s.payload_len = 56;
	return s;
}

/* The non-first fragment of a TCP segment (offset 1480 bytes). */
static struct fspec later_fragment(const struct variant *v, uint8_t proto)
{
	struct fspec s = tcp(v, 40000, GATE_PORT, FR_ACK);

	s.proto = proto;
	s.tcp_opt_len = 0;
	s.payload_len = 100;
	if (v->ipv6) {
		s.n_ext = 1;
		s.ext[0] = (struct fr_ext){ .type = FR_EXT_FRAG, .frag_off = 185 };
	} else {
		s.frag_off = 185;
	}
	return s;
}

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

static void must(int rc, const char *what)
{
	if (rc)
		bail(what);
}

/*
 * Runs one frame. True when the kernel ran it, the verdict is the one the
 * counter `want` implies, and `want` is the only counter that moved, by one
 * packet of len bytes. Otherwise `why` says what happened instead.
 */
static int check_frame(int ep, const uint8_t *f, size_t len, __u32 want)
{
	struct lab_stats a, b;
	int verdict = -1, err, good;
	size_t n = 0;

	why[0] = 0;
	if (lab_stats(&lab, &a))
		bail("reading stats");
	err = lab_run(&lab, ep, f, len, &verdict);
	if (err) {
		snprintf(why, sizeof(why), "len %zu: kernel refused the frame: %s",
			 len, strerror(-err));
		return 0;
	}
	if (lab_stats(&lab, &b))
		bail("reading stats");
	good = verdict == lab_cnt_passes(want);
	n += snprintf(why + n, sizeof(why) - n, "len %zu: %s, want %s (%s); moved:",
		      len, verdict == 1 ? "pass" : verdict == 0 ? "drop" : "bad return code",
		      lab_cnt_passes(want) ? "pass" : "drop", lab_cnt_name(want));
	for (__u32 id = 0; id < CNT_MAX; id++) {
		__u64 dp = b.packets[id] - a.packets[id];
		__u64 db = b.bytes[id] - a.bytes[id];

		if (id == want ? dp != 1 || db != len : dp || db)
			good = 0;
		if ((dp || db) && n < sizeof(why))
			n += snprintf(why + n, sizeof(why) - n, " %s +%llu pkt +%llu B",
				      lab_cnt_name(id), (unsigned long long)dp,
				      (unsigned long long)db);
	}
	return good;
}

static int check(int ep, const struct fspec *s, __u32 want)
{
	uint8_t f[FRAME_MAX];

	return check_frame(ep, f, frame_build(s, f), want);
}

/* point(good, name...): one TAP point; on failure the last `why`. */
static int __attribute__((format(printf, 2, 3)))
point(int good, const char *fmt, ...)
{
	char name[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	ok(good, "%s", name);
	if (!good)
		diag("%s", why);
	return good;
}

/* Is there a pending entry for k, first seen in [from, to], with n packets? */
static int pending_is(const struct flow_key *k, __u64 from, __u64 to, __u32 n)
{
	struct pending_flow p;

	if (bpf_map_lookup_elem(lab.pending, k, &p)) {
		snprintf(why, sizeof(why), "no pending entry");
		return 0;
	}
	if (p.first_seen_ns < from || p.first_seen_ns > to || p.packets != n) {
		snprintf(why, sizeof(why), "pending entry: first_seen %llu (want %llu..%llu), packets %u (want %u)",
			 (unsigned long long)p.first_seen_ns, (unsigned long long)from,
			 (unsigned long long)to, p.packets, n);
		return 0;
	}
	return 1;
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
	}
	len = frame_build(&s, f);
	if (id == CNT_DROP_MALFORMED)
		len -= 3;
	return len;
}

/* Every row of the verdict table in DESIGN.md, for one variant. */
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
		size_t len = drop_setup(v, d->id, GATE_ENFORCE, f);

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

		if (good && !syn && !bpf_map_lookup_elem(lab.pending, &k, &p)) {
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

/* The shortest frame BPF_PROG_TEST_RUN accepts: see lab_run_n(). */
static size_t injectable_from(int ep, const uint8_t *f)
{
	uint16_t et = f[12] << 8 | f[13];

	if (ep == LAB_TC && et == FR_ETH_IP)
		return 14 + 20;
	if (ep == LAB_TC && et == FR_ETH_IPV6)
		return 14 + 40;
	return 14;
}

/* A valid SYN cut at every length: never admitted, always malformed. */
static void truncation(const struct variant *v)
{
	struct fspec s = tcp(v, 40000, GATE_PORT, FR_SYN);
	uint8_t f[FRAME_MAX];
	size_t full, from;
	int bad = 0, refused = 0;
	char first[sizeof(why)] = "";

	s.tcp_opt_len = 40;
	full = frame_build(&s, f);
	from = injectable_from(v->ep, f);
	fresh_default();
	for (size_t len = from; len < full; len++)
		if (!check_frame(v->ep, f, len, CNT_DROP_MALFORMED) && !bad++)
			snprintf(first, sizeof(first), "%s", why);
	snprintf(why, sizeof(why), "%d lengths failed; first: %.900s", bad, first);
	point(!bad, "%s: a SYN with 40 bytes of options cut at any length %zu..%zu is dropped (drop-malformed)",
	      v->name, from, full - 1);

	for (size_t len = 0; len < from; len++) {
		int verdict;

		if (lab_run(&lab, v->ep, f, len, &verdict) != -EINVAL && !refused++)
			snprintf(why, sizeof(why), "len %zu was not refused", len);
	}
	/* tc's shorter cuts run through the same parser in the XDP points. */
	point(!refused, "%s: BPF_PROG_TEST_RUN itself refuses the cuts to 0..%zu bytes (its minimum), so they are not run here",
	      v->name, from - 1);

	fresh_default();
	point(check_frame(v->ep, f, full, CNT_PASS_SYN),
	      "%s: the same SYN uncut opens a flow (pass-syn)", v->name);
}

static void ext(struct fspec *s, uint8_t type, uint8_t len)
{
	s->ext[s->n_ext++] = (struct fr_ext){ .type = type, .len = len };
}

/* IPv6 extension headers in front of TCP. */
static void ipv6_chains(int ep)
{
	struct variant v;
	struct gate_cfg c;
	struct fspec s;
	uint8_t f[FRAME_MAX];
	static const struct {
		uint8_t type, len;
		const char *name;
	} one[] = {
		{ FR_EXT_HOP, 0, "a hop-by-hop options header" },
		{ FR_EXT_ROUTING, 2, "a routing header" },
		{ FR_EXT_DEST, 1, "a destination options header" },
		{ FR_EXT_AUTH, 4, "an authentication header" },
	};

	variant_init(&v, ep, 1, 0);
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		fresh_default();
		s = tcp(&v, 40000, GATE_PORT, FR_SYN);
		ext(&s, one[i].type, one[i].len);
		point(check(ep, &s, CNT_PASS_SYN),
		      "%s: a SYN behind %s is evaluated and admitted (pass-syn)", v.name, one[i].name);
		s.flags = FR_ACK;
		s.sport = 40001;
		point(check(ep, &s, CNT_DROP_UNKNOWN),
		      "%s: a stray ACK behind %s is dropped (drop-unknown)", v.name, one[i].name);
	}

	fresh_default();
	s = tcp(&v, 40000, GATE_PORT, FR_SYN);
	ext(&s, FR_EXT_HOP, 0);
	ext(&s, FR_EXT_DEST, 0);
	ext(&s, FR_EXT_ROUTING, 2);
	ext(&s, FR_EXT_AUTH, 4);
	ext(&s, FR_EXT_DEST, 3);
	point(check(ep, &s, CNT_PASS_SYN),
	      "%s: a SYN behind hop-by-hop, dest, routing, AH and dest headers is admitted (pass-syn)", v.name);

	fresh_default();
	s = tcp(&v, 40000, GATE_PORT, FR_SYN);
	s.n_ext = 1;
	s.ext[0] = (struct fr_ext){ .type = FR_EXT_FRAG, .frag_off = 0, .more = 1 };
	point(check(ep, &s, CNT_PASS_SYN),
	      "%s: a SYN in a first fragment (offset 0, M=1) is evaluated and admitted (pass-syn)", v.name);
	s.flags = FR_ACK;
	s.sport = 40001;
	point(check(ep, &s, CNT_DROP_UNKNOWN),
	      "%s: a stray ACK in a first fragment is dropped (drop-unknown)", v.name);

	fresh_default();
	s = later_fragment(&v, FR_PROTO_TCP);
	point(check(ep, &s, CNT_DROP_FRAGMENT),
	      "%s: a non-first fragment of TCP is dropped (drop-fragment)", v.name);
	c = lab_cfg_default();
	c.flags = GATE_F_FRAG_PASS;
	fresh(&c);
	point(check(ep, &s, CNT_PASS_OTHER),
	      "%s: with GATE_F_FRAG_PASS a non-first fragment of TCP passes (pass-other)", v.name);
	fresh_default();
	s = later_fragment(&v, FR_PROTO_UDP);
	point(check(ep, &s, CNT_PASS_OTHER),
	      "%s: a non-first fragment of UDP passes (pass-other)", v.name);

	fresh_default();
	s = tcp(&v, 40000, GATE_PORT, FR_SYN);
	for (int i = 0; i < 8; i++)
		ext(&s, FR_EXT_DEST, 0);
	point(check(ep, &s, CNT_PASS_SYN),
	      "%s: a SYN behind 8 extension headers, the most the gate walks, is admitted (pass-syn)", v.name);
	s.sport = 40001;
	ext(&s, FR_EXT_DEST, 0);
	point(check(ep, &s, CNT_DROP_MALFORMED),
	      "%s: a SYN behind 9 extension headers is unclassifiable and dropped (drop-malformed)", v.name);
	c = lab_cfg_default();
	c.flags = GATE_F_FRAG_PASS;
	fresh(&c);
	point(check(ep, &s, CNT_PASS_OTHER),
	      "%s: with GATE_F_FRAG_PASS a 9-header chain passes unclassified (pass-other)", v.name);

	fresh_default();
	s = tcp(&v, 40000, GATE_PORT, FR_SYN);
	ext(&s, FR_EXT_HOP, 0);
	ext(&s, FR_EXT_DEST, 2);	/* 24 bytes */
	frame_build(&s, f);
	point(check_frame(ep, f, 14 + 40 + 8 + 4, CNT_DROP_MALFORMED),
	      "%s: a chain cut inside the first 8 bytes of a header is dropped (drop-malformed)", v.name);
	point(check_frame(ep, f, 14 + 40 + 8 + 20, CNT_DROP_MALFORMED),
	      "%s: a chain cut inside a header's declared length is dropped (drop-malformed)", v.name);
	s.n_ext = 0;
	ext(&s, FR_EXT_AUTH, 4);
	frame_build(&s, f);
	point(check_frame(ep, f, 14 + 40 + 6, CNT_DROP_MALFORMED),
	      "%s: an authentication header cut short is dropped (drop-malformed)", v.name);
	s.n_ext = 1;
	s.ext[0] = (struct fr_ext){ .type = FR_EXT_FRAG };
	frame_build(&s, f);
	point(check_frame(ep, f, 14 + 40 + 7, CNT_DROP_MALFORMED),
	      "%s: a fragment header cut short is dropped (drop-malformed)", v.name);

	fresh_default();
	s = udp(&v, 40000, GATE_PORT);
	ext(&s, FR_EXT_HOP, 0);
	ext(&s, FR_EXT_DEST, 0);
	point(check(ep, &s, CNT_DROP_NON_TCP),
	      "%s: UDP to a GATE port behind extension headers is dropped (drop-non-tcp)", v.name);
}

/* IPv4 header length, options and fragments. */
static void ipv4_headers(int ep)
{
	struct variant v;
	struct gate_cfg c;
	struct fspec s;
	struct flow_key k;
	int bad = 0;
	__u64 t0;

	variant_init(&v, ep, 0, 0);
	for (int opt = 4; opt <= 40; opt += 36) {
		fresh_default();
		s = tcp(&v, 40000, GATE_PORT, FR_SYN);
		s.ip_opt_len = opt;
		k = fr_key(&s);
		t0 = lab_now();
		point(check(ep, &s, CNT_PASS_SYN) && pending_is(&k, t0, lab_now(), 1),
		      "%s: a SYN with %d bytes of IP options (ihl %d) opens the right flow (pass-syn)",
		      v.name, opt, 5 + opt / 4);
		s.flags = FR_ACK;
		s.sport = 40001;
		point(check(ep, &s, CNT_DROP_UNKNOWN),
		      "%s: a stray ACK with %d bytes of IP options is dropped (drop-unknown)", v.name, opt);
	}

	fresh_default();
	for (int ihl = 0; ihl < 5; ihl++) {
		s = tcp(&v, 40000, GATE_PORT, FR_SYN);
		s.ihl_set = 1;
		s.ihl = ihl;
		if (!check(ep, &s, CNT_DROP_MALFORMED) && !bad++)
			diag("ihl %d: %s", ihl, why);
	}
	snprintf(why, sizeof(why), "see above");
	point(!bad, "%s: a SYN with ihl 0..4 is dropped (drop-malformed)", v.name);

	fresh_default();
	s = tcp(&v, 40000, GATE_PORT, FR_SYN);
	s.version = 6;
	point(check(ep, &s, CNT_DROP_MALFORMED),
	      "%s: an IPv4 ethertype with IP version 6 is dropped (drop-malformed)", v.name);

	fresh_default();
	s = tcp(&v, 40000, GATE_PORT, FR_SYN);
	s.more_frags = 1;
	s.payload_len = 200;
	point(check(ep, &s, CNT_PASS_SYN),
	      "%s: a SYN in a first fragment (MF, offset 0) is evaluated and admitted (pass-syn)", v.name);
	s.flags = FR_ACK;
	s.sport = 40001;
	point(check(ep, &s, CNT_DROP_UNKNOWN),
	      "%s: a stray ACK in a first fragment is dropped (drop-unknown)", v.name);

	fresh_default();
	s = later_fragment(&v, FR_PROTO_TCP);
	point(check(ep, &s, CNT_DROP_FRAGMENT),
	      "%s: a non-first fragment of TCP is dropped (drop-fragment)", v.name);
	s.more_frags = 1;
	point(check(ep, &s, CNT_DROP_FRAGMENT),
	      "%s: a middle fragment of TCP (MF, offset > 0) is dropped (drop-fragment)", v.name);
	c = lab_cfg_default();
	c.flags = GATE_F_FRAG_PASS;
	fresh(&c);
	point(check(ep, &s, CNT_PASS_OTHER),
	      "%s: with GATE_F_FRAG_PASS a non-first fragment of TCP passes (pass-other)", v.name);
	fresh_default();
	s = later_fragment(&v, FR_PROTO_UDP);
	point(check(ep, &s, CNT_PASS_OTHER),
	      "%s: a non-first fragment of UDP passes (pass-other)", v.name);
}

/* Traffic that is not TCP. */
static void non_tcp(const struct variant *v)
{
	struct fspec s;

	fresh_default();
	s = udp(v, 40000, GATE_PORT);
	point(check(v->ep, &s, CNT_DROP_NON_TCP),
	      "%s: UDP (QUIC) to a GATE port is dropped (drop-non-tcp)", v->name);
	s = udp(v, 40000, BACKEND_PORT);
	point(check(v->ep, &s, CNT_DROP_NON_TCP),
	      "%s: UDP to the BACKEND port is dropped (drop-non-tcp)", v->name);
	s = udp(v, GATE_PORT, 53);
	point(check(v->ep, &s, CNT_PASS_OTHER),
	      "%s: UDP from a GATE port number to an unprotected port passes (pass-other)", v->name);
	s = icmp(v);
	point(check(v->ep, &s, CNT_PASS_OTHER),
	      "%s: ICMP passes (pass-other)", v->name);
	s = tcp(v, 40000, GATE_PORT, 0);
	s.proto = 132;	/* SCTP: ports where TCP has them */
	s.tcp_opt_len = 0;
	point(check(v->ep, &s, CNT_DROP_NON_TCP),
	      "%s: SCTP to a GATE port is dropped (drop-non-tcp)", v->name);
}

/* More VLAN tags than the gate walks: the host may still untag them all. */
static void vlan_stack(int ep, int ipv6)
{
	struct gate_cfg c = lab_cfg_default();
	struct variant v;
	struct fspec s;

	variant_init(&v, ep, ipv6, 0);
	fresh(&c);
	s = tcp(&v, 40000, GATE_PORT, FR_ACK);
	s.vlans = 3;
	point(check(ep, &s, CNT_DROP_MALFORMED),
	      "%s: a stray ACK behind three VLAN tags is unclassifiable and dropped (drop-malformed)", v.name);
	s.dport = BACKEND_PORT;
	point(check(ep, &s, CNT_DROP_MALFORMED),
	      "%s: data to the BACKEND port behind three VLAN tags is dropped (drop-malformed)", v.name);
	c.flags = GATE_F_FRAG_PASS;
	fresh(&c);
	point(check(ep, &s, CNT_PASS_OTHER),
	      "%s: with GATE_F_FRAG_PASS a frame behind three VLAN tags passes unclassified (pass-other)",
	      v.name);
}

static void non_ip(int ep)
{
	struct fspec s;

	memset(&s, 0, sizeof(s));
	s.arp = 1;
	fresh_default();
	point(check(ep, &s, CNT_PASS_OTHER), "%s: ARP passes (pass-other)", lab_entry_name[ep]);
	s.vlans = 1;
	point(check(ep, &s, CNT_PASS_OTHER), "%s: ARP in a VLAN passes (pass-other)", lab_entry_name[ep]);
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
	must(lab_pend(&lab, &k, lab_now() - c.pending_max_age_ns - SEC_NS, 1), "seeding pending");
	point(check(v->ep, &s, CNT_DROP_BUDGET),
	      "%s: an ACK on a pending flow older than pending_max_age_ns is dropped (drop-budget)", v->name);
	s.flags = FR_SYN;
	t0 = lab_now();
	good = check(v->ep, &s, CNT_PASS_SYN);
	point(good && pending_is(&k, t0, lab_now(), 1),
	      "%s: a SYN on a pending flow older than pending_max_age_ns opens it anew (pass-syn)", v->name);
	s.flags = FR_ACK;
	point(check(v->ep, &s, CNT_PASS_PENDING),
	      "%s: the re-opened flow has its budget back (pass-pending)", v->name);
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

	/* 10/s: a token every 100 ms, long enough that no scheduling hiccup
	 * between the first two SYNs hands out the second token early. */
	c.syn_rate = 10;
	c.syn_burst = 1;
	fresh(&c);
	s = tcp(&v, 31000, GATE_PORT, FR_SYN);
	good = check(ep, &s, CNT_PASS_SYN);
	s.sport++;
	good = good && check(ep, &s, CNT_DROP_RATELIMIT);
	usleep(150000);
	s.sport++;
	point(good && check(ep, &s, CNT_PASS_SYN),
	      "%s: with syn_rate 10/s and burst 1, the next SYN is dropped and a token is back 150 ms later (pass-syn)",
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
	point(check(v->ep, &s, CNT_DROP_PENALTY),
	      "%s: a SYN from a source penalized for another minute is dropped (drop-penalty)", v->name);
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
	if (bpf_map_lookup_elem(lab.verified, &k, &vf))
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

/* The BACKEND port is never reachable from the NIC. */
static void backend(const struct variant *v)
{
	struct fspec s = tcp(v, 40000, BACKEND_PORT, FR_SYN);
	struct flow_key k;

	fresh_default();
	point(check(v->ep, &s, CNT_DROP_BACKEND),
	      "%s: a SYN to the BACKEND port is dropped (drop-backend)", v->name);
	s.flags = FR_ACK | FR_PSH;
	k = fr_key(&s);
	must(lab_verify(&lab, &k, 0), "seeding verified");
	must(lab_pend(&lab, &k, lab_now(), 1), "seeding pending");
	point(check(v->ep, &s, CNT_DROP_BACKEND),
	      "%s: data to the BACKEND port on a flow in verified and pending is dropped (drop-backend)",
	      v->name);
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
			for (int vlans = 0; vlans < 3; vlans++) {
				variant_init(&v, ep, ipv6, vlans);
				truncation(&v);
			}
			variant_init(&v, ep, ipv6, 0);
			non_tcp(&v);
			pending_budget(&v);
			token_bucket(ep, ipv6);
			expiry(&v);
			allowlist(&v);
			backend(&v);
			vlan_stack(ep, ipv6);
		}
		ipv6_chains(ep);
		ipv4_headers(ep);
		non_ip(ep);
	}
	lab_close(&lab);
	return tap_done();
}
