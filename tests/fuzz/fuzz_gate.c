// SPDX-License-Identifier: GPL-2.0-only
/*
 * The gate itself: each input is a frame, run through the XDP and the tc
 * entry point with BPF_PROG_TEST_RUN, each time on the same map state, and
 * judged by the oracle test_gate_random.c uses (oracle.h). It aborts, with
 * the frame in hex and both verdicts, when a property breaks (a frame the
 * oracle says must drop passes, a counter moves wrongly, an answer is
 * malformed), when the entry points disagree on verdict or counter, or when
 * a test run fails other than by the kernel refusing a frame too short for
 * it.
 *
 * An input is two bytes of switches, then the frame:
 *
 *   byte 0   bit 0: the allowlist on; bit 1: SYN cookies on; bit 2: the
 *            frame runs once more with frag_pass on (frag_pass_check());
 *            bits 3-4: VLAN tags to put after the frame's MAC addresses
 *            (1 802.1Q, 2 802.1ad and 802.1Q, 3 three), so one bit flip
 *            moves a frame onto a VLAN; the other bits are ignored
 *   byte 1   when the gate answers the frame with a cookie SYN-ACK, what
 *            comes back through the same entry point: 0 nothing, 1-32 its
 *            ACK with bit n-1 of the ack number flipped, 33-64 with bit
 *            n-33 of the sequence number flipped, else the ACK as the
 *            client sends it
 *
 * The maps hold a known state (below); before each run the entries a run
 * may write (pending, syn_rl) are reset, so a finding replays from its file.
 * The gate runs in enforce mode with frag_pass off, as in test_gate_random.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"

#define SEC_NS		1000000000ull

#define IN_ALLOWLIST	0x01
#define IN_COOKIES	0x02
#define IN_FRAG_PASS	0x04
#define IN_TAGS(b)	((b) >> 3 & 3)

/*
 * The state: one client of each family (oracle_clients) for each kind of
 * source. Of the first (inside the allowlist), flows from port 40001 to
 * 443 are verified, 40002 to 443 verified but expired, 40003 to 443
 * pending and 40004 to 8443 pending past its age; the second is inside
 * the allowlist with no flows; the third is in a denied range; the fourth
 * is penalized, with a verified 40001 and a pending 40003 to 443; the
 * fifth is outside the allowlist.
 */
static struct lab lab;
static struct gate_cfg cfg;

/*
 * libFuzzer sees the coverage of this file, not of the BPF program; these
 * extra counters (its __libfuzzer_extra_counters section) show it which
 * verdict row each entry point reached for which kind of IP header, so an
 * input reaching a new row is kept.
 */
static uint8_t verdicts_seen[LAB_N_ENTRIES][CNT_MAX][2][2]
	__attribute__((section("__libfuzzer_extra_counters"), used));

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_gate: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct flow_key flow(int ipv6, int client, uint16_t sport, uint16_t dport)
{
	struct fspec s;

	fr_tcp(&s, ipv6, oracle_clients[ipv6][client], oracle_servers[ipv6], sport, dport, 0);
	return fr_key(&s);
}

/* Pending entries and token buckets as at the start: what a run may write. */
static void reset_flows(void)
{
	__u64 now = lab_now();
	struct flow_key k;

	if (lab_clear_flows(&lab, lab.pending) ||
	    lab_clear_map(lab.syn_rl, sizeof(struct src_key)))
		fail("clearing pending and syn_rl");
	for (int ipv6 = 0; ipv6 < 2; ipv6++) {
		k = flow(ipv6, 0, 40003, 443);
		if (lab_pend(&lab, &k, now, 1))
			fail("seeding pending");
		k = flow(ipv6, 0, 40004, 8443);
		if (lab_pend(&lab, &k, now - 60 * SEC_NS, 1))
			fail("seeding pending");
		k = flow(ipv6, 3, 40003, 443);
		if (lab_pend(&lab, &k, now, 1))
			fail("seeding pending");
	}
}

static void setup(void)
{
	__u64 now = lab_now();
	struct flow_key k;
	uint8_t a[16];

	if (lab_open(&lab, 1024, 1024))
		fail("loading the gate (BPF_PROG_TEST_RUN needs root)");
	if (oracle_set_ports(&lab))
		fail("writing ports");
	cfg = lab_cfg_default();
	cfg.pending_max_packets = 8;
	cfg.syncookie_ready = 1;
	cfg.syncookie_key[0] = 0x0123456789abcdefull;
	cfg.syncookie_key[1] = 0xfedcba9876543210ull;
	for (int ipv6 = 0; ipv6 < 2; ipv6++) {
		k = flow(ipv6, 0, 40001, 443);
		if (lab_verify(&lab, &k, 0))
			fail("seeding verified");
		k = flow(ipv6, 0, 40002, 443);
		if (lab_verify(&lab, &k, now - SEC_NS))
			fail("seeding verified");
		k = flow(ipv6, 3, 40001, 443);
		if (lab_verify(&lab, &k, 0))
			fail("seeding verified");
		fr_addr(a, oracle_clients[ipv6][3]);
		if (lab_penalize(&lab, a, AOPGATE_FOREVER))
			fail("seeding penalty");
	}
	if (oracle_set_ranges(&lab))
		fail("seeding deny and allow_src");
}

/* One run of a frame through one entry point, as the oracle judged it. */
struct run {
	int refused;			/* the kernel refused the frame */
	struct oracle_seen seen;
	struct oracle_judgement j;
	uint8_t out[FRAME_MAX + 256];
};

static const char *verdict_name(int verdict)
{
	return verdict == V_PASS ? "pass" : verdict == V_DROP ? "drop" :
	       verdict == V_ANSWER ? "answer" : "bad return code";
}

/* One line of a finding's report; scripts/run-fuzz.sh shows these. */
static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "finding: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* Prints what both entry points did with the frame f, then aborts. */
static void __attribute__((noreturn, format(printf, 5, 6)))
finding(const uint8_t *in, const uint8_t *f, size_t len, const struct run r[LAB_N_ENTRIES],
	const char *fmt, ...)
{
	char what[256], hex[16 * 3 + 1];
	struct view v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	oracle(f, len, &v);
	say("%s", what);
	say("switches: allowlist %s, cookies %s, frag_pass run %s, %d VLAN tags added; "
	    "answer byte %u", in[0] & IN_ALLOWLIST ? "on" : "off",
	    in[0] & IN_COOKIES ? "on" : "off", in[0] & IN_FRAG_PASS ? "on" : "off",
	    IN_TAGS(in[0]), in[1]);
	say("oracle: %s, proto %u, %u -> %u, flags %s0x%02x", v.what, v.proto, v.sport,
	    v.dport, v.flags_known ? "" : "unknown ", v.flags);
	for (int ep = 0; r && ep < LAB_N_ENTRIES; ep++) {
		if (r[ep].refused) {
			say("%s: refused by the kernel", lab_entry_name[ep]);
			continue;
		}
		say("%s: %s, counted %s (%d counters moved)", lab_entry_name[ep],
		    verdict_name(r[ep].seen.verdict), lab_cnt_name(r[ep].seen.moved),
		    r[ep].seen.n_moved);
		for (int p = 0; p < PR_N; p++)
			if (r[ep].j.failed & 1u << p)
				say("%s breaks \"%s\": %s", lab_entry_name[ep], prop_name[p],
				    r[ep].j.why[p]);
	}
	say("frame, %zu bytes:", len);
	for (size_t i = 0; i < len; i += 16) {
		size_t n = 0;

		for (size_t k = i; k < len && k < i + 16; k++)
			n += snprintf(hex + n, sizeof(hex) - n, " %02x", f[k]);
		say("  %04zx:%s", i, hex);
	}
	abort();
}

/*
 * Would BPF_PROG_TEST_RUN refuse the frame? Both entry points refuse one
 * shorter than an Ethernet header; tc also one whose ethertype is IPv4 or
 * IPv6 without a whole IPv4 or IPv6 header behind it.
 */
static int refusable(int ep, const uint8_t *f, size_t len)
{
	uint16_t type;

	if (len < 14)
		return 1;
	if (ep == LAB_XDP)
		return 0;
	type = f[12] << 8 | f[13];
	return (type == FR_ETH_IP && len < 14 + 20) || (type == FR_ETH_IPV6 && len < 14 + 40);
}

/* Runs f through ep and judges it; refused or judged, in r. */
static void run_one(const uint8_t *in, int ep, const uint8_t *f, size_t len,
		    const struct oracle_issued *is, int n_is, struct run *r)
{
	struct lab_stats before, after;
	struct oracle_before b;
	struct view v;
	int err;

	memset(&r->seen, 0, sizeof(r->seen));
	r->refused = 0;
	r->j.checked = r->j.failed = 0;
	r->seen.verdict = -1;
	r->seen.out = r->out;
	r->seen.moved = CNT_MAX;
	oracle(f, len, &v);
	oracle_look(&lab, &v, !!(cfg.flags & GATE_F_ALLOWLIST), &b);
	if (lab_stats(&lab, &before))
		fail("reading stats");
	err = oracle_run(&lab, ep, f, len, r->out, sizeof(r->out), &r->seen.out_len,
			 &r->seen.verdict);
	if (err == -EINVAL && refusable(ep, f, len)) {
		r->refused = 1;
		return;
	}
	if (err)
		finding(in, f, len, NULL, "%s: BPF_PROG_TEST_RUN failed: %s", lab_entry_name[ep],
			strerror(-err));
	if (lab_stats(&lab, &after))
		fail("reading stats");
	oracle_moved(&before, &after, len, &r->seen);
	oracle_judge(&lab, f, &v, &b, cfg.syncookies == GATE_SC_ON, is, n_is, &r->seen, &r->j);
	if (r->seen.moved < CNT_MAX)
		verdicts_seen[ep][r->seen.moved][v.ipv6][v.simple] = 1;
}

/* The ACK of the SYN f that r answered, changed as byte 1 of the input says. */
static size_t cookie_ack(uint8_t sel, const uint8_t *f, size_t len, const struct run *r,
			 struct oracle_issued *is, uint8_t *ack)
{
	struct view v;
	struct flow_key k;
	uint32_t seq, an;
	uint8_t *th;

	oracle(f, len, &v);
	oracle_flow_key(&v, &k);
	oracle_issue(is, f, len, &v, &k, r->out);
	memcpy(ack, f, len);
	th = ack + v.l4off;
	th[13] = FR_ACK;
	seq = is->isn + 1;
	an = is->cookie + 1;
	if (sel >= 1 && sel <= 32)
		an ^= 1u << (sel - 1);
	else if (sel >= 33 && sel <= 64)
		seq ^= 1u << (sel - 33);
	sa_wr32(th + 4, seq);
	sa_wr32(th + 8, an);
	return len;
}

static void compare(const uint8_t *in, const uint8_t *f, size_t len,
		    const struct run r[LAB_N_ENTRIES])
{
	for (int ep = 0; ep < LAB_N_ENTRIES; ep++)
		if (r[ep].j.failed)
			finding(in, f, len, r, "%s breaks a property of the oracle",
				lab_entry_name[ep]);
	if (r[LAB_XDP].refused || r[LAB_TC].refused)
		return;
	if (r[LAB_XDP].seen.verdict != r[LAB_TC].seen.verdict ||
	    r[LAB_XDP].seen.moved != r[LAB_TC].seen.moved)
		finding(in, f, len, r, "the XDP and tc entry points disagree");
}

/*
 * frag_pass lets through what the gate cannot classify (later fragments,
 * more VLAN tags or IPv6 extension headers than it walks), which the
 * oracle does not model. So with it on, each entry point must give the
 * verdict off[] has, with frag_pass off, except that drop-fragment turns
 * into pass-other (or, for an IPv6 first fragment of TCP to a GATE port,
 * into the verdict of the TCP it holds) and drop-malformed may; and one
 * counter moves.
 */
static void frag_pass_check(const uint8_t *in, const uint8_t *f, size_t len,
			    const struct run off[LAB_N_ENTRIES])
{
	static struct run on[LAB_N_ENTRIES];
	struct gate_cfg c = cfg;
	struct view v;
	__u32 zero = 0;

	oracle(f, len, &v);
	c.flags |= GATE_F_FRAG_PASS;
	if (bpf_map_update_elem(lab.cfg, &zero, &c, BPF_ANY))
		fail("writing gate_cfg");
	for (int ep = 0; ep < LAB_N_ENTRIES; ep++) {
		__u32 was = off[ep].seen.moved, is;
		int good;

		if (off[ep].refused)
			continue;
		reset_flows();
		run_one(in, ep, f, len, NULL, 0, &on[ep]);
		is = on[ep].seen.moved;
		good = was == CNT_DROP_FRAGMENT ? is == CNT_PASS_OTHER ||
						  (v.frag_first && is != was) :
		       was == CNT_DROP_MALFORMED ? is == was || is == CNT_PASS_OTHER :
		       is == was && on[ep].seen.verdict == off[ep].seen.verdict;
		if (!good || on[ep].j.failed & 1u << PR_COUNTER)
			finding(in, f, len, NULL, "%s: with frag_pass on %s, counted %s "
				"(%d counters moved); with it off %s, counted %s",
				lab_entry_name[ep], verdict_name(on[ep].seen.verdict),
				lab_cnt_name(is), on[ep].seen.n_moved,
				verdict_name(off[ep].seen.verdict), lab_cnt_name(was));
	}
	if (bpf_map_update_elem(lab.cfg, &zero, &cfg, BPF_ANY))
		fail("writing gate_cfg");
}

/* frame_of(sw, in, n, f): the n bytes of in with the VLAN tags the
 * switches sw ask for, into f; returns the frame's length. */
static size_t frame_of(uint8_t sw, const uint8_t *in, size_t n, uint8_t *f)
{
	int tags = IN_TAGS(sw);
	size_t len = 0;

	if (n < 12 || !tags) {
		memcpy(f, in, n);
		return n;
	}
	memcpy(f, in, 12);
	len = 12;
	for (int i = 0; i < tags; i++) {
		uint16_t tpid = i == 0 && tags >= 2 ? FR_ETH_8021AD : FR_ETH_8021Q;

		fr_put16(f + len, tpid);
		fr_put16(f + len + 2, 100 + i);
		len += 4;
	}
	memcpy(f + len, in + 12, n - 12);
	return len + n - 12;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int loaded;
	static struct oracle_issued issued[LAB_N_ENTRIES];
	static struct run r[LAB_N_ENTRIES], ra[LAB_N_ENTRIES];
	static uint8_t ack[LAB_N_ENTRIES][FRAME_MAX];
	static uint8_t f[FRAME_MAX];
	size_t len, ack_len[LAB_N_ENTRIES] = { 0 };
	int answered = 0;
	__u32 zero = 0;

	if (size < 2 || size - 2 + 4 * 3 > FRAME_MAX)
		return 0;
	len = frame_of(data[0], data + 2, size - 2, f);
	if (!loaded) {
		setup();
		loaded = 1;
	}
	cfg.flags = GATE_F_DENY | (data[0] & IN_ALLOWLIST ? GATE_F_ALLOWLIST : 0);
	cfg.syncookies = data[0] & IN_COOKIES ? GATE_SC_ON : GATE_SC_OFF;
	if (bpf_map_update_elem(lab.cfg, &zero, &cfg, BPF_ANY))
		fail("writing gate_cfg");

	for (int ep = 0; ep < LAB_N_ENTRIES; ep++) {
		reset_flows();
		run_one(data, ep, f, len, NULL, 0, &r[ep]);
		if (r[ep].refused || r[ep].seen.verdict != V_ANSWER || !data[1] ||
		    r[ep].j.failed)
			continue;
		/* The answer wrote nothing: its ACK meets the same state. */
		answered |= 1 << ep;
		ack_len[ep] = cookie_ack(data[1], f, len, &r[ep], &issued[ep], ack[ep]);
		run_one(data, ep, ack[ep], ack_len[ep], &issued[ep], 1, &ra[ep]);
	}
	compare(data, f, len, r);
	if (data[0] & IN_FRAG_PASS)
		frag_pass_check(data, f, len, r);
	/* Both answered, or compare() found the entry points disagreeing. */
	if (answered)
		compare(data, ack[LAB_XDP], ack_len[LAB_XDP], ra);
	return 0;
}
