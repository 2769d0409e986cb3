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
#include "frame.h"
#include "gatelab.h"
#include "synack.h"

#define SEC_NS	1000000000ull

static struct lab lab;

/* The port roles as the test configures them; the oracle's own copy. */
static const struct {
	uint16_t port;
	uint32_t role;
} roles[] = {
	{ 443, PORT_GATE },
	{ 8443, PORT_GATE },
	{ 8080, PORT_BACKEND },
	{ 9000, PORT_BACKEND },
};

static uint32_t role_of(uint16_t port)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (roles[i].port == port)
			return roles[i].role;
	return PORT_NONE;
}

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

/* ---- the oracle ---- */

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
	uint32_t seq, ack;	/* TCP, when the header is inside the frame */
	const char *what;	/* a word on why it is what it is */
};

static int oracle_ports_proto(uint8_t p)
{
	/* Transport protocols whose header starts with 16-bit ports. */
	return p == 6 || p == 17 || p == 33 || p == 132 || p == 136;
}

static void oracle_l4(const uint8_t *f, size_t len, size_t off, uint8_t proto,
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

static void oracle(const uint8_t *f, size_t len, struct view *v)
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

/* ---- frames ---- */

static const char *const v4_clients[] = {
	"198.51.100.1", "198.51.100.2", "203.0.113.9", "192.0.2.77",
};
static const char *const v6_clients[] = {
	"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:3::9", "2001:db8:77::1",
};
static const uint16_t dports[] = { 443, 8443, 8080, 9000, 22, 53 };

static void random_flow(struct fspec *s, int ipv6)
{
	fr_tcp(s, ipv6, ipv6 ? v6_clients[below(4)] : v4_clients[below(4)],
	       ipv6 ? "2001:db8:ffff::10" : "192.0.2.10", 40000 + below(8),
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

/* A SYN the gate answered with a cookie, whose ACK may come back later. */
static struct issued {
	uint8_t f[FRAME_MAX + 128];
	size_t len, l4off;
	struct flow_key k;
	uint32_t isn, cookie;
} issued[MAX_ISSUED];
static int n_issued;

/* This phase's gate_cfg.syncookies: off or on. */
static int cookies;

static void issue(const uint8_t *f, size_t len, const struct view *v,
		  const struct flow_key *k, uint32_t cookie)
{
	struct issued *is = &issued[n_issued < MAX_ISSUED ? n_issued++ : (int)below(MAX_ISSUED)];

	memcpy(is->f, f, len);
	is->len = len;
	is->l4off = v->l4off;
	is->k = *k;
	is->isn = v->seq;
	is->cookie = cookie;
}

/* Is the frame the oracle saw as v (flow k) the ACK, as its client sends
 * it, of a SYN the gate answered: seq = ISN + 1, ack = cookie + 1? */
static int acks_a_cookie(const struct view *v, const struct flow_key *k)
{
	if (!v->flags_known || (v->flags & (FR_SYN | FR_ACK | FR_RST | FR_FIN)) != FR_ACK)
		return 0;
	for (int i = 0; i < n_issued; i++)
		if (!memcmp(&issued[i].k, k, sizeof(*k)) && v->seq == issued[i].isn + 1 &&
		    v->ack == issued[i].cookie + 1)
			return 1;
	return 0;
}

/*
 * The ACK of an answered SYN: half the time as its client sends it, else
 * with one bit of its ack or seq flipped, from another source port, or
 * carrying the cookie of another answered SYN.
 */
static size_t cookie_ack_frame(uint8_t *f, const char **how)
{
	const struct issued *is = &issued[below(n_issued)];
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
	fr_addr(a, v4_clients[3]);
	if (lab_penalize(&lab, a, now + 3600 * SEC_NS))
		bail("seeding penalty");
	fr_addr(a, v6_clients[3]);
	if (lab_penalize(&lab, a, now + 3600 * SEC_NS))
		bail("seeding penalty");
	/* The third client of each family is in a denied range. */
	fr_addr(a, "203.0.113.0");
	if (lab_deny(&lab, a, 96 + 24, AOPGATE_FOREVER))
		bail("seeding deny");
	fr_addr(a, "2001:db8:1:3::");
	if (lab_deny(&lab, a, 64, AOPGATE_FOREVER))
		bail("seeding deny");
	/* The allowlist, when on, holds the first two clients of each family. */
	fr_addr(a, "198.51.100.0");
	if (lab_allow(&lab, a, 96 + 30))
		bail("seeding allow_src");
	fr_addr(a, "2001:db8:1:2::");
	if (lab_allow(&lab, a, 64))
		bail("seeding allow_src");
}

static int in_map(int fd, const void *key)
{
	__u8 val[64];

	return !bpf_map_lookup_elem(fd, key, val);
}

/* ---- properties ---- */

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
	"only a bare SYN to a GATE port from a source past deny, penalty and allowlist is answered, with cookies on; "
	"the answer is a well-formed SYN-ACK and leaves pending and the source's bucket untouched",
	"with cookies on, no bare SYN without IPv4 options or IPv6 extensions is passed up",
	"the ACK of an answered SYN, as its client sends it, makes the flow pending (syncookie-ok) unless the source is out of tokens",
};

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

/* A syn_rl bucket's bytes, or all 0xff when the source has none. */
static void bucket(const struct src_key *sk, __u8 val[sizeof(struct syn_bucket)])
{
	if (bpf_map_lookup_elem(lab.syn_rl, sk, val))
		memset(val, 0xff, sizeof(struct syn_bucket));
}

enum { V_DROP, V_PASS, V_ANSWER };

/*
 * Runs the frame once through entry point ep; out gets the frame after.
 * verdict: V_DROP, V_PASS, V_ANSWER (sent back where it came from: XDP_TX,
 * or a tc redirect), or -1 for a return code the gate must never give.
 * 0, or a negative errno when the kernel refuses the frame.
 */
static int run_frame(int ep, const uint8_t *f, size_t len, uint8_t *out, size_t out_max,
		     size_t *out_len, int *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = len,
		    .data_out = out, .data_size_out = out_max, .repeat = 1);
	int rc;

	if (bpf_prog_test_run_opts(lab.prog[ep], &o))
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

static int in_lpm(int fd, const uint8_t src[16])
{
	struct allow_key k = { .prefixlen = 128 };

	memcpy(k.addr, src, 16);
	return in_map(fd, &k);
}

int main(void)
{
	const char *env = getenv("AOPGATE_SEED"), *nenv = getenv("AOPGATE_FRAMES");
	unsigned long frames = nenv ? strtoul(nenv, NULL, 0) : 40000;
	unsigned long refused = 0, ran[LAB_N_ENTRIES] = { 0 };
	unsigned long hits[CNT_MAX] = { 0 };
	uint64_t seed;
	struct lab_stats before, after;
	int allowlist = 0;
	uint8_t f[FRAME_MAX + 128], out[FRAME_MAX + 256];

	seed = env ? strtoull(env, NULL, 0) : (uint64_t)lab_now() ^ (uint64_t)getpid() << 32;
	rng_state = seed;
	diag("seed %llu (replay with AOPGATE_SEED=%llu)", (unsigned long long)seed,
	     (unsigned long long)seed);

	if (lab_open(&lab, 4096, 65536))
		bail("loading the gate");
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (lab_set_port(&lab, roles[i].port, roles[i].role))
			bail("writing ports");
	seed_state(allowlist, 0);
	if (lab_stats(&lab, &before))
		bail("reading stats");

	for (unsigned long i = 0; i < frames; i++) {
		const char *how;
		size_t len;
		struct view v;
		struct flow_key k;
		struct src_key sk;
		int ep = below(LAB_N_ENTRIES), verdict = -1, err;
		int was_pending = 0, was_verified = 0, was_penalized = 0, was_allowed = 1;
		int was_denied = 0, passed, bare_syn;
		size_t out_len = 0;
		__u8 bucket_before[sizeof(struct syn_bucket)], bucket_after[sizeof(struct syn_bucket)];
		uint32_t role;
		__u32 moved = CNT_MAX;
		int n_moved = 0, bad_move = 0;

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
		role = v.has_ports ? role_of(v.dport) : PORT_NONE;

		/* What the maps say about this frame before it is seen. */
		memset(&k, 0, sizeof(k));
		memcpy(k.saddr, v.src, 16);
		memcpy(k.daddr, v.dst, 16);
		k.sport = htons(v.sport);
		k.dport = htons(v.dport);
		k.proto = v.proto;
		memcpy(sk.addr, v.src, 16);
		if (v.has_ports) {
			was_pending = in_map(lab.pending, &k);
			was_verified = in_map(lab.verified, &k);
			was_penalized = in_map(lab.penalty, &sk);
			was_allowed = !allowlist || in_lpm(lab.allow_src, v.src);
			was_denied = in_lpm(lab.deny, v.src);
			bucket(&sk, bucket_before);
		}

		err = run_frame(ep, f, len, out, sizeof(out), &out_len, &verdict);
		if (err == -EINVAL) {
			refused++;
			continue;
		}
		if (err)
			bail("BPF_PROG_TEST_RUN");
		ran[ep]++;

		if (lab_stats(&lab, &after))
			bail("reading stats");
		for (__u32 id = 0; id < CNT_MAX; id++) {
			__u64 dp = after.packets[id] - before.packets[id];
			__u64 db = after.bytes[id] - before.bytes[id];

			if (!dp && !db)
				continue;
			n_moved++;
			moved = id;
			if (dp != 1 || db != len)
				bad_move = 1;
		}
		before = after;
		props[PR_COUNTER].checked++;
		if (n_moved != 1 || bad_move ||
		    verdict != (moved == CNT_SYNCOOKIE_SENT ? V_ANSWER : lab_cnt_passes(moved)))
			violate(PR_COUNTER, ep, f, len, "%s; verdict %d, %d counters moved, last %s",
				how, verdict, n_moved, lab_cnt_name(moved));
		if (n_moved == 1)
			hits[moved]++;

		passed = verdict == V_PASS || verdict < 0;
		bare_syn = v.flags_known && (v.flags & (FR_SYN | FR_ACK | FR_RST | FR_FIN)) == FR_SYN;
		if (verdict == V_ANSWER) {
			const char *why = NULL;

			props[PR_ANSWER].checked++;
			if (!cookies || role != PORT_GATE || !v.tcp || !bare_syn)
				why = "not a bare SYN to a GATE port with cookies on";
			else if (was_denied || was_penalized || !was_allowed)
				why = "the source is denied, penalized or outside the allowlist";
			else if (!v.simple)
				why = "IPv4 options or IPv6 extensions answered";
			else if ((why = synack_why(f, out, out_len, v.l3off, v.ipv6)))
				;
			else if (!was_pending && in_map(lab.pending, &k))
				why = "a pending entry was made";
			else if (bucket(&sk, bucket_after), memcmp(bucket_before, bucket_after,
								    sizeof(bucket_after)))
				why = "the source's syn_rl bucket changed";
			if (why)
				violate(PR_ANSWER, ep, f, len, "%s; answered: %s; counted %s", how, why,
					lab_cnt_name(moved));
			else
				issue(f, len, &v, &k, sa_rd32(out + v.l4off + 4));
			continue;
		}
		if (!v.has_ports || role == PORT_NONE)
			continue;
		if (role == PORT_BACKEND) {
			props[PR_BACKEND].checked++;
			if (verdict != 0)
				violate(PR_BACKEND, ep, f, len, "%s; oracle: proto %u to BACKEND port %u; counted %s",
					how, v.proto, v.dport, lab_cnt_name(moved));
			continue;
		}
		if (!v.tcp) {
			props[PR_NON_TCP].checked++;
			if (verdict != 0)
				violate(PR_NON_TCP, ep, f, len, "%s; oracle: proto %u to GATE port %u; counted %s",
					how, v.proto, v.dport, lab_cnt_name(moved));
			continue;
		}
		props[PR_GATE_TCP].checked++;
		if (passed && !was_verified && !was_pending && !bare_syn &&
		    !(moved == CNT_SYNCOOKIE_OK && acks_a_cookie(&v, &k)))
			violate(PR_GATE_TCP, ep, f, len,
				"%s; oracle: TCP %u -> %u flags %s0x%02x, not pending, not verified; counted %s",
				how, v.sport, v.dport, v.flags_known ? "" : "unknown ", v.flags,
				lab_cnt_name(moved));
		if (cookies && bare_syn && v.simple) {
			props[PR_COOKIE_SYN].checked++;
			if (passed)
				violate(PR_COOKIE_SYN, ep, f, len, "%s; a SYN went up with cookies on; "
					"counted %s", how, lab_cnt_name(moved));
		}
		if (cookies && !was_verified && !was_pending && acks_a_cookie(&v, &k)) {
			props[PR_COOKIE_ACK].checked++;
			if (!(moved == CNT_SYNCOOKIE_OK && passed && in_map(lab.pending, &k)) &&
			    moved != CNT_DROP_RATELIMIT)
				violate(PR_COOKIE_ACK, ep, f, len, "%s; verdict %d, counted %s, %s",
					how, verdict, lab_cnt_name(moved),
					in_map(lab.pending, &k) ? "pending" : "not pending");
		}
		if (was_penalized) {
			props[PR_PENALTY].checked++;
			if (passed && !was_verified && !(was_pending && !bare_syn))
				violate(PR_PENALTY, ep, f, len, "%s; penalized source passed; counted %s",
					how, lab_cnt_name(moved));
		}
		if (was_denied) {
			props[PR_DENY].checked++;
			if (passed && !was_verified)
				violate(PR_DENY, ep, f, len, "%s; denied source passed; counted %s",
					how, lab_cnt_name(moved));
		}
		if (!was_allowed) {
			props[PR_ALLOW].checked++;
			if (passed && !was_verified)
				violate(PR_ALLOW, ep, f, len, "%s; source outside the allowlist passed; counted %s",
					how, lab_cnt_name(moved));
		}
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
