// SPDX-License-Identifier: GPL-2.0-only
/*
 * SYN cookies, packet by packet, at both entry points, IPv4 and IPv6,
 * untagged, 802.1Q and QinQ: a SYN comes back as a well-formed SYN-ACK
 * (XDP_TX, or a tc redirect) and leaves no state; the ACK carrying its
 * cookie makes the pending entry; a wrong or stale cookie does not. The
 * cookie is recomputed here from its definition in bpf/syncookie.h, so a
 * stale one can be made without waiting two minutes.
 */
#include "gatecheck.h"
#include "synack.h"

#define XDP_PASS_RC	2
#define XDP_TX_RC	3
#define TC_PASS_RC	0xffffffffu	/* TC_ACT_UNSPEC */
#define COOKIE_META_MAGIC 0xa0c00c1eu	/* bpf/reqsk.h's mark */
#define TC_REDIRECT_RC	7
#define ISN		0x11223344u	/* frame.h's sequence number */

static const __u64 key[2] = { 0x0123456789abcdefull, 0xfedcba9876543210ull };

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define ROUND						\
	do {						\
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;	\
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;	\
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

/* SipHash-2-4 of n 64-bit words, as sc_siphash(). */
static __u64 siphash_words(const __u64 *m, int n)
{
	__u64 v0 = 0x736f6d6570736575ull ^ key[0], v1 = 0x646f72616e646f6dull ^ key[1];
	__u64 v2 = 0x6c7967656e657261ull ^ key[0], v3 = 0x7465646279746573ull ^ key[1];
	__u64 b = (__u64)(n * 8) << 56;

	for (int i = 0; i < n; i++) {
		v3 ^= m[i];
		ROUND;
		ROUND;
		v0 ^= m[i];
	}
	v3 ^= b;
	ROUND;
	ROUND;
	v0 ^= b;
	v2 ^= 0xff;
	ROUND;
	ROUND;
	ROUND;
	ROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/*
 * The cookie of flow k's SYN with ISN isn in the 64 s slot, as sc_cookie():
 * an IPv4 flow hashes its 4-byte addresses (3 words), IPv6 its 16-byte
 * ones (6 words).
 */
static __u32 cookie_for(const struct flow_key *k, int ipv4, __u32 isn, __u64 slot,
			__u32 opts)
{
	__u64 m[6], *t = ipv4 ? &m[1] : &m[4];

	if (ipv4) {
		memcpy(m, &k->saddr[12], 4);
		memcpy((uint8_t *)m + 4, &k->daddr[12], 4);
	} else {
		memcpy(m, k->saddr, 32);
	}
	t[0] = (__u64)ntohs(k->sport) | (__u64)ntohs(k->dport) << 16 | (__u64)isn << 32;
	t[1] = (slot & 0xffffffffull) | (__u64)opts << 32;
	return ((__u32)siphash_words(m, ipv4 ? 3 : 6) >> 9) << 9 | (slot & 3) << 7 | opts;
}

static __u64 slot_now(void)
{
	return lab_now() >> 36;
}

static void cookies_on(void)
{
	struct gate_cfg c = lab_cfg_default();

	c.syncookies = GATE_SC_ON;
	c.syncookie_ready = 1;
	memcpy(c.syncookie_key, key, sizeof(key));
	fresh(&c);
}

static size_t l3off(const struct variant *v)
{
	return 14 + 4 * v->vlans;
}

static size_t l4off(const struct variant *v)
{
	return l3off(v) + (v->ipv6 ? 40 : 20);
}

static __u32 rd32(const uint8_t *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

/* One's-complement sum of the pseudo header and the TCP segment at l4. */
static int tcp_csum_ok(const struct variant *v, const uint8_t *f, size_t len)
{
	return sa_tcp_csum(f + l3off(v), v->ipv6, f + l4off(v), len - l4off(v)) == 0;
}

/* Runs frame f through the variant's entry point; out gets the frame after. */
static int run_out(const struct variant *v, const uint8_t *f, size_t len,
		   uint8_t *out, __u32 *out_len, __u32 *rc)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = len,
		    .data_out = out, .data_size_out = FRAME_MAX, .repeat = 1);

	if (bpf_prog_test_run_opts(lab.prog[v->ep], &o))
		return -1;
	*rc = o.retval;
	*out_len = o.data_size_out;
	return 0;
}

static __u64 cnt(__u32 id)
{
	struct lab_stats s;

	if (lab_stats(&lab, &s))
		bail("reading stats");
	return s.packets[id];
}

static int map_empty(int fd)
{
	struct flow_key k;

	return bpf_map_get_next_key(fd, NULL, &k) != 0;
}

/*
 * A SYN is answered with a SYN-ACK and leaves nothing behind; returns the
 * cookie (the SYN-ACK's sequence number), or 0 after a failed point.
 */
static __u32 syn_answered(const struct variant *v)
{
	struct fspec s = tcp(v, 40000, GATE_PORT, FR_SYN);
	uint8_t f[FRAME_MAX], out[FRAME_MAX];
	size_t len = frame_build(&s, f);
	__u64 sent = cnt(CNT_SYNCOOKIE_SENT);
	__u32 rc, olen, want_rc = v->ep == LAB_XDP ? XDP_TX_RC : TC_REDIRECT_RC;
	const uint8_t *ip, *th;
	int good;

	cookies_on();
	if (run_out(v, f, len, out, &olen, &rc))
		bail("test run");
	ip = out + l3off(v);
	th = out + l4off(v);
	good = rc == want_rc && olen == l4off(v) + 40 &&
	       !memcmp(out, f + 6, 6) && !memcmp(out + 6, f, 6) &&
	       th[13] == (FR_SYN | FR_ACK) && (th[12] >> 4) == 10 &&
	       rd32(th + 8) == ISN + 1 &&
	       !memcmp(th, f + l4off(v) + 2, 2) && !memcmp(th + 2, f + l4off(v), 2) &&
	       th[20] == 2 && th[21] == 4 &&
	       (th[22] << 8 | th[23]) == (v->ipv6 ? 1440 : 1460) &&
	       tcp_csum_ok(v, out, olen) &&
	       cnt(CNT_SYNCOOKIE_SENT) == sent + 1 &&
	       (map_empty(lab.pending) && map_empty(lab.pending4)) && map_empty(lab.syn_rl);
	if (v->ipv6)
		good = good && !memcmp(ip + 8, f + l3off(v) + 24, 16) &&
		       !memcmp(ip + 24, f + l3off(v) + 8, 16) && (ip[4] << 8 | ip[5]) == 40;
	else
		good = good && !memcmp(ip + 12, f + l3off(v) + 16, 4) &&
		       !memcmp(ip + 16, f + l3off(v) + 12, 4) && (ip[2] << 8 | ip[3]) == 60 &&
		       fr_csum(ip, 20) == 0;
	point(good, "%s: a SYN gets a well-formed cookie SYN-ACK and leaves no state "
	      "(rc %u, len %u)", v->name, rc, olen);
	return good ? rd32(th + 4) : 0;
}

/*
 * A Linux SYN (its options read in place), one without options (hping3's),
 * whose frame the SYN-ACK grows, and one whose options are walked one by
 * one (Linux's, then 20 NOPs), whose frame it cuts. Each SYN-ACK is the
 * same 40-byte header and echoes what the SYN offered: MSS (or the RFC's
 * default), SACK, the timestamp and window scaling, whose shift the cookie
 * keeps.
 */
static void syn_shapes(const struct variant *v)
{
	static const struct { uint8_t opt_len; const char *what; } shapes[] = {
		{ 0, "a SYN without options" },
		{ 20, "a Linux SYN" },
		{ 40, "a SYN with 40 bytes of options" },
	};
	__u32 want_rc = v->ep == LAB_XDP ? XDP_TX_RC : TC_REDIRECT_RC;

	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct fspec s = tcp(v, 40001, GATE_PORT, FR_SYN);
		uint8_t f[FRAME_MAX], out[FRAME_MAX];
		int offered = shapes[i].opt_len > 0, good;
		unsigned int mss;
		const uint8_t *ip, *th;
		__u32 rc, olen;
		size_t len;

		s.tcp_opt_len = shapes[i].opt_len;
		len = frame_build(&s, f);
		cookies_on();
		if (run_out(v, f, len, out, &olen, &rc))
			bail("test run");
		ip = out + l3off(v);
		th = out + l4off(v);
		mss = th[22] << 8 | th[23];
		good = rc == want_rc && olen == l4off(v) + 40 && th[13] == (FR_SYN | FR_ACK) &&
		       (th[12] >> 4) == 10 && rd32(th + 8) == ISN + 1 && tcp_csum_ok(v, out, olen) &&
		       th[20] == 2 && th[21] == 4 &&
		       mss == (offered ? (v->ipv6 ? 1440 : 1460) : (v->ipv6 ? 1220 : 536)) &&
		       (th[24] == 4) == offered && (th[26] == 8) == offered &&
		       (th[37] == 3 && th[39] == 7) == offered &&
		       (!offered || rd32(th + 32) == 0x1234) &&
		       /* The cookie keeps the client's: SACK, and its shift or 15. */
		       (rd32(th + 4) & 0x1f) == (offered ? 0x10 | 7 : 15);
		if (v->ipv6)
			good = good && (ip[4] << 8 | ip[5]) == 40;
		else
			good = good && (ip[2] << 8 | ip[3]) == 60 && fr_csum(ip, 20) == 0;
		point(good, "%s: %s (%zu bytes) gets a well-formed SYN-ACK that echoes its "
		      "options (rc %u, len %u, mss %u)", v->name, shapes[i].what, len, rc, olen,
		      mss);
	}
}

/* The ACK of our SYN-ACK with ack = cookie + 1; its verdict id is want. */
static void cookie_ack(const struct variant *v, __u32 cookie, __u32 want, const char *what)
{
	struct fspec s = tcp(v, 40000, GATE_PORT, FR_ACK);
	struct flow_key k = fr_key(&s);
	uint8_t f[FRAME_MAX];
	size_t len = frame_build(&s, f);
	int good;

	sa_wr32(f + l4off(v) + 4, ISN + 1);
	sa_wr32(f + l4off(v) + 8, cookie + 1);
	good = check_frame(v->ep, f, len, want);
	if (want == CNT_SYNCOOKIE_OK)
		good = good && pending_is(&k, lab_now() - SEC_NS, lab_now(), 1) &&
		       !map_empty(lab.syn_rl);
	else
		good = good && (map_empty(lab.pending) && map_empty(lab.pending4));
	point(good, "%s: %s", v->name, what);
}

static void cookie_paths(const struct variant *v)
{
	struct fspec s = tcp(v, 40000, GATE_PORT, FR_SYN);
	struct flow_key k = fr_key(&s);
	__u32 c = syn_answered(v), opts = c & 0x7f;
	__u64 slot = slot_now();

	point(c && c == cookie_for(&k, !v->ipv6, ISN, slot, opts),
	      "%s: the cookie is SipHash of the flow, ISN, slot and options", v->name);
	cookie_ack(v, c ^ 0x200, CNT_DROP_SYNCOOKIE, "an ACK with a wrong cookie is syncookie-bad");
	cookie_ack(v, cookie_for(&k, !v->ipv6, ISN, slot - 2, opts), CNT_DROP_SYNCOOKIE,
		   "an ACK with a cookie two slots old is syncookie-bad");
	cookie_ack(v, c, CNT_SYNCOOKIE_OK, "the ACK of the cookie makes the pending entry");
	cookies_on();
	cookie_ack(v, cookie_for(&k, !v->ipv6, ISN, slot - 1, opts), CNT_SYNCOOKIE_OK,
		   "a cookie from the last slot is still good");
}

/* Runs frame f through gate_xdp with its metadata; meta gets what it left. */
static int run_xdp_meta(const uint8_t *f, size_t len, __u32 *rc, uint8_t *meta,
			__u32 *meta_len)
{
	uint8_t out[FRAME_MAX + 64];
	struct xdp_md in = { .data_end = len }, md = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &in,
		    .ctx_size_in = sizeof(in), .ctx_out = &md, .ctx_size_out = sizeof(md),
		    .repeat = 1);

	if (bpf_prog_test_run_opts(lab.prog[LAB_XDP], &o))
		return -1;
	*rc = o.retval;
	/* The test run hands back the metadata in front of the frame. */
	*meta_len = md.data;
	if (md.data <= 8)
		memcpy(meta, out, md.data);
	return 0;
}

/*
 * XDP has no socket to assign: it marks a good cookie ACK in the frame's
 * metadata for its tc companion, and nothing else. The companion, which
 * judges nothing, lets an unmarked frame by, a forged ACK included.
 */
static void xdp_marks(const struct variant *v)
{
	struct fspec s = tcp(v, 40000, GATE_PORT, FR_ACK);
	uint8_t f[FRAME_MAX], meta[8];
	size_t len = frame_build(&s, f);
	__u32 c = syn_answered(v), rc, mlen, m[2];
	struct lab_stats before, after;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = len, .repeat = 1);

	sa_wr32(f + l4off(v) + 4, ISN + 1);
	sa_wr32(f + l4off(v) + 8, c + 1);
	if (run_xdp_meta(f, len, &rc, meta, &mlen))
		bail("test run");
	memcpy(m, meta, sizeof(m));
	point(rc == XDP_PASS_RC && mlen == 8 && m[0] == COOKIE_META_MAGIC && m[1] == (c & 0x7f),
	      "%s: a good cookie ACK passes with the companion's mark and its options "
	      "(rc %u, meta %u bytes)", v->name, rc, mlen);
	if (run_xdp_meta(f, len, &rc, meta, &mlen))
		bail("test run");
	point(rc == XDP_PASS_RC && mlen == 0,
	      "%s: the flow's next packet (pass-pending) carries no mark (rc %u, meta %u bytes)",
	      v->name, rc, mlen);

	cookies_on();
	sa_wr32(f + l4off(v) + 8, (c ^ 0x200) + 1);
	if (lab_stats(&lab, &before) ||
	    bpf_prog_test_run_opts(bpf_program__fd(lab.skel->progs.gate_tc_cookie), &o) ||
	    lab_stats(&lab, &after))
		bail("test run");
	point(o.retval == TC_PASS_RC && !memcmp(&before, &after, sizeof(before)) &&
	      (map_empty(lab.pending) && map_empty(lab.pending4)),
	      "%s: the tc companion lets an unmarked ACK by and counts nothing (rc %d)",
	      v->name, (int)o.retval);
}

/* Source checks come first, and monitor mode answers nothing. */
static void before_cookies(const struct variant *v)
{
	struct fspec s = tcp(v, 40000, GATE_PORT, FR_SYN);
	struct gate_cfg c = lab_cfg_default();

	cookies_on();
	must(lab_penalize(&lab, s.src, lab_now() + 60 * SEC_NS), "seeding penalty");
	point(check(v->ep, &s, CNT_DROP_PENALTY), "%s: a penalized source's SYN is dropped, "
	      "not answered", v->name);
	c.syncookies = GATE_SC_ON;
	c.mode = GATE_MONITOR;
	fresh(&c);
	point(check(v->ep, &s, CNT_PASS_SYN), "%s: in monitor mode a SYN is passed, not "
	      "answered", v->name);
}

int main(void)
{
	struct variant v;

	if (lab_open(&lab, 4096, 4096))
		bail("loading the gate");
	if (lab_set_port(&lab, GATE_PORT, PORT_GATE))
		bail("writing ports");
	for (int ep = 0; ep < LAB_N_ENTRIES; ep++)
		for (int ipv6 = 0; ipv6 < 2; ipv6++)
			for (int vlans = 0; vlans < 3; vlans++) {
				variant_init(&v, ep, ipv6, vlans);
				cookie_paths(&v);
				syn_shapes(&v);
				before_cookies(&v);
				if (ep == LAB_XDP)
					xdp_marks(&v);
			}
	lab_close(&lab);
	return tap_done();
}
