/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the packet-level test binaries share: the lab they load, the test
 * client and server, frames for them, and check_frame(), which runs one
 * frame and checks its verdict and that exactly the expected counter moved.
 * Header-only; one test binary is one translation unit.
 */
#ifndef AOPGATE_GATECHECK_H
#define AOPGATE_GATECHECK_H

#include <stdarg.h>
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

static inline void variant_init(struct variant *v, int ep, int ipv6, int vlans)
{
	static const char *const tags[] = { "", "+vlan", "+qinq" };

	v->ep = ep;
	v->ipv6 = ipv6;
	v->vlans = vlans;
	snprintf(v->name, sizeof(v->name), "%s ipv%d%s", lab_entry_name[ep],
		 ipv6 ? 6 : 4, tags[vlans]);
}

static inline const char *client(int ipv6)
{
	return ipv6 ? "2001:db8:1:2::7" : "198.51.100.7";
}

static inline const char *server(int ipv6)
{
	return ipv6 ? "2001:db8:ffff::10" : "192.0.2.10";
}

static inline void bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* fresh(c): no flows, penalties, allowlist or buckets; c in gate_cfg. */
static inline void fresh(const struct gate_cfg *c)
{
	if (lab_reset(&lab))
		bail("clearing the maps");
	if (lab_set_cfg(&lab, c))
		bail("writing gate_cfg");
}

static inline void fresh_default(void)
{
	struct gate_cfg c = lab_cfg_default();

	fresh(&c);
}

static inline struct fspec tcp(const struct variant *v, uint16_t sport,
			uint16_t dport, uint8_t flags)
{
	struct fspec s;

	fr_tcp(&s, v->ipv6, client(v->ipv6), server(v->ipv6), sport, dport,
	       flags);
	s.vlans = v->vlans;
	return s;
}

static inline struct fspec udp(const struct variant *v, uint16_t sport,
			uint16_t dport)
{
	struct fspec s = tcp(v, sport, dport, 0);

	s.proto = FR_PROTO_UDP;
	s.tcp_opt_len = 0;
	s.payload_len = 32;
	return s;
}

static inline struct fspec icmp(const struct variant *v)
{
	struct fspec s = tcp(v, 0, 0, 0);

	s.proto = v->ipv6 ? FR_PROTO_ICMPV6 : FR_PROTO_ICMP;
	s.tcp_opt_len = 0;
	s.payload_len = 56;
	return s;
}

/* The non-first fragment of a TCP segment (offset 1480 bytes). */
static inline struct fspec later_fragment(const struct variant *v, uint8_t proto)
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

static inline void must(int rc, const char *what)
{
	if (rc)
		bail(what);
}

/*
 * Runs one frame. True when the kernel ran it, the verdict is the one the
 * counter `want` implies, and `want` is the only counter that moved, by one
 * packet of len bytes. Otherwise `why` says what happened instead.
 */
static inline int check_frame(int ep, const uint8_t *f, size_t len, __u32 want)
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

static inline int check(int ep, const struct fspec *s, __u32 want)
{
	uint8_t f[FRAME_MAX];

	return check_frame(ep, f, frame_build(s, f), want);
}

/* point(good, name...): one TAP point; on failure the last `why`. */
static inline int __attribute__((format(printf, 2, 3)))
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
static inline int pending_is(const struct flow_key *k, __u64 from, __u64 to, __u32 n)
{
	struct pending_flow p;

	if (lab_flow_get(&lab, lab.pending, k, &p)) {
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

static inline void ext(struct fspec *s, uint8_t type, uint8_t len)
{
	s->ext[s->n_ext++] = (struct fr_ext){ .type = type, .len = len };
}

#endif
