// SPDX-License-Identifier: GPL-2.0-only
/*
 * A seeded, reproducible randomized property test of the gate. Tens of
 * thousands of frames (well-formed ones, their mutations and random bytes)
 * go through both entry points in enforce mode while some flows sit in
 * `verified` and `pending`, with SYN cookies off and on. An oracle written
 * here from the RFCs, sharing nothing with the BPF parser, says what each
 * frame is, and the properties below must hold for every frame the program
 * passes or answers. With cookies on, the ACKs of the SYNs the gate
 * answered come back now and then, as they were sent or with their
 * sequence numbers or flow changed.
 *
 * The seed is printed first; AOPGATE_SEED=<seed> replays a run exactly
 * (state is reseeded every 2500 frames, and nothing in it changes with
 * time at that scale), AOPGATE_FRAMES=<n> changes the number of frames.
 */
#include <stdarg.h>
#include <unistd.h>
#include "tap.h"
#include "oracle.h"

#define SEC_NS	1000000000ull

static struct lab lab;

/* ---- random numbers: splitmix64, so a seed replays everywhere ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* below(n): uniform in [0, n). */
static uint32_t below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

/* chance(pct): true pct% of the time. */
static int chance(uint32_t pct)
{
	return below(100) < pct;
}

/* ---- frames ---- */

static const uint16_t dports[] = { 443, 8443, 8080, 9000, 22, 53 };

static void random_flow(struct fspec *s, int ipv6)
{
	static const char *const refused[2][3] = {
		{ "224.0.0.251", "0.1.2.3", "255.255.255.255" },
		{ "ff02::1", "::", "::ffff:198.51.100.1" },
	};
	const char *src = oracle_clients[ipv6][below(4)];

	/* Now and then a source Linux refuses, which no GATE port takes. */
	if (chance(3))
		src = refused[ipv6][below(3)];
	fr_tcp(s, ipv6, src, oracle_servers[ipv6], 40000 + below(8),
	       chance(85) ? dports[below(6)] : (uint16_t)rnd(), 0);
}

static void random_spec(struct fspec *s)
{
	int ipv6 = chance(50);
	uint32_t r;

	random_flow(s, ipv6);
	r = below(100);
	s->vlans = r < 60 ? 0 : r < 80 ? 1 : r < 95 ? 2 : 3;
	r = below(100);
	s->proto = r < 75 ? FR_PROTO_TCP : r < 87 ? FR_PROTO_UDP :
		   r < 92 ? (ipv6 ? FR_PROTO_ICMPV6 : FR_PROTO_ICMP) :
		   r < 95 ? 132 : (uint8_t)rnd();
	r = below(100);
	s->flags = r < 35 ? FR_SYN | (chance(20) ? FR_ECE | FR_CWR : 0) :
		   r < 65 ? FR_ACK : r < 75 ? FR_ACK | FR_PSH : (uint8_t)rnd();
	s->tcp_opt_len = below(11) * 4;
	s->payload_len = chance(50) ? 0 : below(64);
	if (!ipv6) {
		if (chance(10))
			s->ip_opt_len = below(11) * 4;
		if (chance(10)) {
			s->more_frags = chance(50);
			s->frag_off = chance(50) ? 0 : 1 + below(0x1ffe);
		}
		if (chance(3)) {
			s->ihl_set = 1;
			s->ihl = below(16);
		}
		return;
	}
	if (chance(30)) {
		static const uint8_t types[] = { FR_EXT_HOP, FR_EXT_ROUTING, FR_EXT_DEST,
						 FR_EXT_AUTH, FR_EXT_FRAG };

		s->n_ext = 1 + below(10);
		for (int i = 0; i < s->n_ext; i++) {
			struct fr_ext *e = &s->ext[i];

			e->type = types[below(5)];
			e->len = below(4);
			if (e->type == FR_EXT_FRAG) {
				e->frag_off = chance(60) ? 0 : 1 + below(0x1ffe);
				e->more = chance(50);
			}
		}
	}
}

/* ---- the SYNs the gate answered ---- */

#define MAX_ISSUED 64

/* The SYNs the gate answered in this phase. */
static struct oracle_issued issued[MAX_ISSUED];
static int n_issued;

/* This phase's gate_cfg.syncookies: off or on. */
static int cookies;

static void issue(const uint8_t *f, size_t len, const struct view *v,
		  const struct flow_key *k, const uint8_t *answer)
{
	oracle_issue(&issued[n_issued < MAX_ISSUED ? n_issued++ : (int)below(MAX_ISSUED)],
		     f, len, v, k, answer);
}

/*
 * The ACK of an answered SYN: half the time as its client sends it, else
 * with one bit of its ack or seq flipped, from another source port, or
 * carrying the cookie of another answered SYN.
 */
static size_t cookie_ack_frame(uint8_t *f, const char **how)
{
	const struct oracle_issued *is = &issued[below(n_issued)];
	uint32_t seq = is->isn + 1, ack = is->cookie + 1;
	uint8_t *th = f + is->l4off;

	memcpy(f, is->f, is->len);
	th[13] = chance(80) ? FR_ACK : FR_ACK | FR_PSH;
	*how = "the ACK of a cookie";
	switch (chance(50) ? 0 : 1 + below(4)) {
	case 1:
		ack ^= 1u << below(32);
		*how = "the ACK of a cookie, one bit of its ack flipped";
		break;
	case 2:
		seq ^= 1u << below(32);
		*how = "the ACK of a cookie, one bit of its seq flipped";
		break;
	case 3:
		th[1] ^= 1 + below(255);
		*how = "the ACK of a cookie from another source port";
		break;
	case 4:
		ack = issued[below(n_issued)].cookie + 1;
		*how = "the ACK of a cookie carrying another answered SYN's cookie";
		break;
	}
	sa_wr32(th + 4, seq);
	sa_wr32(th + 8, ack);
	return is->len;
}

/* Makes a frame in f; returns its length and names how it was made. */
static size_t random_frame(uint8_t *f, const char **how)
{
	struct fspec s;
	size_t len;
	uint32_t r = below(100);

	if (cookies && n_issued && chance(8))
		return cookie_ack_frame(f, how);
	if (r < 8) {
		/* Random bytes, often behind a plausible ethertype. */
		static const uint16_t types[] = { 0x0800, 0x86dd, 0x8100, 0x88a8 };

		len = 14 + below(180);
		for (size_t i = 0; i < len; i++)
			f[i] = rnd();
		if (chance(75)) {
			uint16_t t = types[below(4)];

			f[12] = t >> 8;
			f[13] = t & 0xff;
		}
		*how = "random bytes";
		return len;
	}
	random_spec(&s);
	len = frame_build(&s, f);
	r = below(100);
	if (r < 35) {
		*how = "well-formed";
	} else if (r < 55) {
		int n = 1 + below(4);

		for (int i = 0; i < n; i++) {
			size_t at = below(len < 120 ? len : 120);

			f[at] ^= 1 << below(8);
		}
		*how = "bit flips in the headers";
	} else if (r < 65) {
		int n = 1 + below(4);

		for (int i = 0; i < n; i++)
			f[below(len)] = rnd();
		*how = "random bytes overwritten";
	} else if (r < 85) {
		len = 14 + below(len - 14);
		*how = "truncated";
	} else if (r < 92) {
		/* A byte inserted somewhere in the headers. */
		size_t at = 12 + below(len - 12 < 100 ? len - 12 : 100);

		memmove(f + at + 1, f + at, len - at);
		f[at] = rnd();
		len++;
		*how = "byte inserted";
	} else {
		size_t n = below(64);

		for (size_t i = 0; i < n; i++)
			f[len + i] = rnd();
		len += n;
		*how = "junk appended";
	}
	return len;
}

/* ---- state ---- */

static void bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Clears the maps and seeds verified and pending flows and penalties. */
static void seed_state(int allowlist, int syncookies)
{
	struct gate_cfg c = lab_cfg_default();
	__u64 now = lab_now();
	struct fspec s;
	struct flow_key k;
	uint8_t a[16];

	c.pending_max_packets = 8;
	/* 1/s: no token comes back within one phase (well under a second),
	 * so which SYNs a bucket admits depends on the seed alone. */
	c.syn_rate = 1;
	c.syn_burst = 10;
	c.flags = GATE_F_DENY | (allowlist ? GATE_F_ALLOWLIST : 0);
	cookies = syncookies;
	n_issued = 0;
	c.syncookies = syncookies ? GATE_SC_ON : GATE_SC_OFF;
	c.syncookie_ready = 1;
	c.syncookie_key[0] = rnd();
	c.syncookie_key[1] = rnd();
	if (lab_reset(&lab) || lab_set_cfg(&lab, &c))
		bail("resetting the gate");
	for (int i = 0; i < 24; i++) {
		random_flow(&s, chance(50));
		k = fr_key(&s);
		if (lab_verify(&lab, &k, chance(50) ? 0 : chance(50) ? now + 60 * SEC_NS
							    : now - SEC_NS))
			bail("seeding verified");
	}
	for (int i = 0; i < 24; i++) {
		random_flow(&s, chance(50));
		k = fr_key(&s);
		if (lab_pend(&lab, &k, chance(70) ? now : now - 60 * SEC_NS, below(12)))
			bail("seeding pending");
	}
	for (int ipv6 = 0; ipv6 < 2; ipv6++) {
		fr_addr(a, oracle_clients[ipv6][3]);
		if (lab_penalize(&lab, a, now + 3600 * SEC_NS))
			bail("seeding penalty");
	}
	/* The third client of each family is denied; the allowlist holds the first two. */
	if (oracle_set_ranges(&lab))
		bail("seeding deny and allow_src");
}

/* ---- properties ---- */

static struct {
	unsigned long checked, failed;
	char first[4096];
} props[PR_N];

static void __attribute__((format(printf, 5, 6)))
violate(enum prop p, int ep, const uint8_t *f, size_t len, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (props[p].failed++)
		return;
	n = snprintf(props[p].first, sizeof(props[p].first), "%s, %zu bytes: ",
		     lab_entry_name[ep], len);
	va_start(ap, fmt);
	n += vsnprintf(props[p].first + n, sizeof(props[p].first) - n, fmt, ap);
	va_end(ap);
	n += snprintf(props[p].first + n, sizeof(props[p].first) - n, "\n# frame:");
	for (size_t i = 0; i < len && n + 4 < sizeof(props[p].first); i++)
		n += snprintf(props[p].first + n, sizeof(props[p].first) - n, "%s%02x",
			      i % 16 ? " " : "\n#   ", f[i]);
}

int main(void)
{
	const char *env = getenv("AOPGATE_SEED"), *nenv = getenv("AOPGATE_FRAMES");
	unsigned long frames = nenv ? strtoul(nenv, NULL, 0) : 40000;
	unsigned long refused = 0, ran[LAB_N_ENTRIES] = { 0 };
	unsigned long hits[CNT_MAX] = { 0 };
	uint64_t seed;
	struct lab_stats before, after;
	struct oracle_judgement j;
	int allowlist = 0;
	uint8_t f[FRAME_MAX + 128], out[FRAME_MAX + 256];

	seed = env ? strtoull(env, NULL, 0) : (uint64_t)lab_now() ^ (uint64_t)getpid() << 32;
	rng_state = seed;
	diag("seed %llu (replay with AOPGATE_SEED=%llu)", (unsigned long long)seed,
	     (unsigned long long)seed);

	if (lab_open(&lab, 4096, 65536))
		bail("loading the gate");
	if (oracle_set_ports(&lab))
		bail("writing ports");
	seed_state(allowlist, 0);
	if (lab_stats(&lab, &before))
		bail("reading stats");

	for (unsigned long i = 0; i < frames; i++) {
		const char *how;
		size_t len;
		struct view v;
		struct oracle_before b;
		struct oracle_seen seen = { .verdict = -1, .out = out };
		int ep = below(LAB_N_ENTRIES), err;

		/* Fresh flows now and then; the allowlist and cookies take
		 * turns off and on. */
		if (i && i % 2500 == 0) {
			allowlist = (i / 2500) & 1;
			seed_state(allowlist, (i / 2500) & 2);
			if (lab_stats(&lab, &before))
				bail("reading stats");
		}

		len = random_frame(f, &how);
		oracle(f, len, &v);
		/* What the maps say about this frame before it is seen. */
		oracle_look(&lab, &v, allowlist, &b);

		err = oracle_run(&lab, ep, f, len, out, sizeof(out), &seen.out_len, &seen.verdict);
		if (err == -EINVAL) {
			refused++;
			continue;
		}
		if (err)
			bail("BPF_PROG_TEST_RUN");
		ran[ep]++;

		if (lab_stats(&lab, &after))
			bail("reading stats");
		oracle_moved(&before, &after, len, &seen);
		before = after;
		if (seen.n_moved == 1)
			hits[seen.moved]++;

		oracle_judge(&lab, f, &v, &b, cookies, issued, n_issued, &seen, &j);
		for (int p = 0; p < PR_N; p++) {
			if (j.checked & 1u << p)
				props[p].checked++;
			if (j.failed & 1u << p)
				violate(p, ep, f, len, "%s; %s", how, j.why[p]);
		}
		if (seen.verdict == V_ANSWER && !(j.failed & 1u << PR_ANSWER))
			issue(f, len, &v, &b.k, out);
	}

	diag("%lu frames: %lu through xdp, %lu through tc, %lu refused by BPF_PROG_TEST_RUN",
	     frames, ran[LAB_XDP], ran[LAB_TC], refused);
	for (__u32 id = 0; id < CNT_MAX; id++)
		if (hits[id])
			diag("  %-18s %lu", lab_cnt_name(id), hits[id]);
	for (int p = 0; p < PR_N; p++) {
		if (!ok(!props[p].failed && props[p].checked > 0, "%s (%lu frames checked)",
			prop_name[p], props[p].checked)) {
			if (props[p].failed)
				diag("%lu violations; first: %s", props[p].failed, props[p].first);
			else
				diag("no frame exercised this property");
		}
	}
	{
		/* Without these the properties above would hold vacuously. */
		static const __u32 must_hit[] = {
			CNT_PASS_OTHER, CNT_PASS_VERIFIED, CNT_PASS_PENDING, CNT_PASS_SYN,
			CNT_DROP_BACKEND, CNT_DROP_PENALTY, CNT_DROP_NOT_ALLOWED, CNT_DROP_BUDGET,
			CNT_DROP_RATELIMIT, CNT_DROP_UNKNOWN, CNT_DROP_FRAGMENT,
			CNT_DROP_MALFORMED, CNT_DROP_NON_TCP, CNT_SYNCOOKIE_SENT,
			CNT_SYNCOOKIE_OK, CNT_DROP_SYNCOOKIE,
		};
		int missing = 0;

		for (size_t i = 0; i < sizeof(must_hit) / sizeof(must_hit[0]); i++)
			if (!hits[must_hit[i]] && !missing++)
				diag("never reached: %s", lab_cnt_name(must_hit[i]));
		ok(!missing && ran[LAB_XDP] + ran[LAB_TC] >= 20000,
		   "the frames reached every enforce-mode verdict row (>= 20000 frames run)");
	}
	lab_close(&lab);
	return tap_done();
}
