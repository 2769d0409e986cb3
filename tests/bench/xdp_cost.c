// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the gate costs per packet: BPF_PROG_TEST_RUN runs one frame a
 * million times and reports the mean ns per run. Each case is measured
 * five times, each time right after the empty XDP program on the same
 * frame, and the table shows the median ns/packet and the median ratio to
 * the empty program. Before and after each timed run the counters are
 * checked, so every number belongs to the verdict its row names.
 *
 * Usage: xdp_cost [repeat]   (default 1000000)
 */
#include <stdio.h>
#include <stdlib.h>
#include "frame.h"
#include "gatelab.h"
#include "empty.skel.h"

#define RUNS	5
#define SEC_NS	1000000000ull

static struct lab lab;
static int empty_fd;
static __u32 repeat = 1000000;

struct result {
	double ns, ratio;	/* medians, from the kernel's integer ns/run */
	int path_ok;		/* every run was counted under the expected id */
};

static void die(const char *what)
{
	fprintf(stderr, "xdp_cost: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Runs f repeat times; the kernel's mean ns per run. The kernel leaves out
 * the time it yields the CPU mid-run, so other load on the machine
 * disturbs it less than a wall clock around the call would.
 */
static __u32 run(int fd, const uint8_t *f, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o))
		die("BPF_PROG_TEST_RUN");
	return o.duration;
}

/* Times the gate on f against the empty program, checking the path taken. */
static struct result measure(const uint8_t *f, size_t len, __u32 want)
{
	double ns[RUNS], ratio[RUNS];
	struct lab_stats a, b;
	struct result r = { .path_ok = 1 };

	run(lab.prog[LAB_XDP], f, len);		/* warm caches and map entries */
	for (int i = 0; i < RUNS; i++) {
		__u32 base = run(empty_fd, f, len), cost;

		if (lab_stats(&lab, &a))
			die("reading stats");
		cost = run(lab.prog[LAB_XDP], f, len);
		if (lab_stats(&lab, &b))
			die("reading stats");
		if (b.packets[want] - a.packets[want] != repeat)
			r.path_ok = 0;
		ns[i] = cost;
		ratio[i] = base ? (double)cost / base : 0;
	}
	r.ns = median(ns, RUNS);
	r.ratio = median(ratio, RUNS);
	return r;
}

static void empty_row(const uint8_t *f, size_t len)
{
	double ns[RUNS];

	run(empty_fd, f, len);
	for (int i = 0; i < RUNS; i++)
		ns[i] = run(empty_fd, f, len);
	printf("| empty XDP program (XDP_PASS) | %.0f | 1.00 | - |\n", median(ns, RUNS));
}

static void row(const char *name, struct result r)
{
	printf("| %s | %.0f | %.2f | %s |\n", name, r.ns, r.ratio,
	       r.path_ok ? "every run" : "**NO: some runs took another path**");
}

static void header(const char *first)
{
	printf("| %s | ns/packet | x empty | path check |\n|---|---:|---:|---|\n", first);
}

/* Adds verified flows until the map holds n of them (test flow excluded). */
static void fill_verified(__u32 *have, __u32 n)
{
	enum { CHUNK = 8192 };
	static struct flow_key keys[CHUNK];
	static struct verified_flow vals[CHUNK];

	while (*have < n) {
		__u32 count = n - *have < CHUNK ? n - *have : CHUNK;

		memset(keys, 0, sizeof(keys));
		memset(vals, 0, sizeof(vals));
		for (__u32 i = 0; i < count; i++) {
			__u32 id = *have + i;
			struct flow_key *k = &keys[i];

			/* 10.0.0.0/8 clients, one flow each: never the test flow. */
			k->saddr[10] = k->saddr[11] = 0xff;
			k->saddr[12] = 10;
			k->saddr[13] = id >> 16;
			k->saddr[14] = id >> 8;
			k->saddr[15] = id;
			fr_addr(k->daddr, "192.0.2.10");
			k->sport = htons(1024 + id % 50000);
			k->dport = htons(443);
			k->proto = 6;
		}
		if (bpf_map_update_batch(lab.verified, keys, vals, &count, NULL))
			die("filling verified");
		*have += count;
	}
}

int main(int argc, char **argv)
{
	struct empty_bpf *empty;
	struct gate_cfg c = lab_cfg_default();
	struct fspec s;
	struct flow_key k;
	uint8_t f[FRAME_MAX];
	size_t len;
	__u32 have = 0;
	static const __u32 sizes[] = { 1000, 100000, 1000000 };

	if (argc > 1)
		repeat = strtoul(argv[1], NULL, 0);
	if (lab_open(&lab, 1u << 20, 4096))
		die("loading the gate");
	empty = empty_bpf__open_and_load();
	if (!empty)
		die("loading the empty program");
	empty_fd = bpf_program__fd(empty->progs.empty_xdp);

	/*
	 * SYN admission under repeat: the same SYN again finds its own
	 * pending entry; with pending_max_age_ns 0 that entry is always
	 * aged out, so every run re-admits it (token bucket, LRU update)
	 * as a new connection on a reused tuple would be.
	 */
	c.pending_max_age_ns = 0;
	c.syn_rate = 1000000000;
	c.syn_burst = 1ull << 40;
	if (lab_set_cfg(&lab, &c) || lab_set_port(&lab, 443, PORT_GATE) ||
	    lab_set_port(&lab, 8080, PORT_BACKEND))
		die("configuring the gate");

	fr_tcp(&s, 0, "198.51.100.7", "192.0.2.10", 40000, 443, FR_ACK | FR_PSH);
	s.tcp_opt_len = 12;
	s.payload_len = 100;
	len = frame_build(&s, f);

	printf("Per-packet cost, BPF_PROG_TEST_RUN (XDP), repeat %u, median of %d runs.\n"
	       "ns/packet is the kernel's duration (an integer mean). Ratios are to the\n"
	       "empty XDP program run right before on the same frame, median of the 5\n"
	       "ratios. Path check: every run was counted under the row's verdict.\n\n",
	       repeat, RUNS);
	header("case");
	empty_row(f, len);

	k = fr_key(&s);
	if (lab_verify(&lab, &k, 0))
		die("seeding verified");
	row("verified flow, IPv4 (pass-verified)", measure(f, len, CNT_PASS_VERIFIED));
	{
		struct fspec s6;
		uint8_t f6[FRAME_MAX];
		size_t len6;
		struct flow_key k6;

		fr_tcp(&s6, 1, "2001:db8:1:2::7", "2001:db8:ffff::10", 40000, 443,
		       FR_ACK | FR_PSH);
		s6.tcp_opt_len = 12;
		s6.payload_len = 100;
		len6 = frame_build(&s6, f6);
		k6 = fr_key(&s6);
		if (lab_verify(&lab, &k6, 0))
			die("seeding verified");
		row("verified flow, IPv6 (pass-verified)", measure(f6, len6, CNT_PASS_VERIFIED));
	}

	s.sport = 40001;
	s.flags = FR_ACK;
	s.payload_len = 0;
	len = frame_build(&s, f);
	row("stray ACK, IPv4 (drop-unknown)", measure(f, len, CNT_DROP_UNKNOWN));

	s.sport = 40002;
	s.flags = FR_SYN;
	s.tcp_opt_len = 20;
	len = frame_build(&s, f);
	row("SYN admitted, IPv4 (pass-syn)", measure(f, len, CNT_PASS_SYN));

	fr_addr(s.src, "198.51.100.66");
	if (lab_penalize(&lab, s.src, lab_now() + 3600 * SEC_NS))
		die("seeding penalty");
	len = frame_build(&s, f);
	row("SYN from a penalized source, IPv4 (drop-penalty)", measure(f, len, CNT_DROP_PENALTY));

	fr_tcp(&s, 0, "198.51.100.7", "192.0.2.10", 40000, 22, FR_ACK | FR_PSH);
	s.tcp_opt_len = 12;
	s.payload_len = 100;
	len = frame_build(&s, f);
	row("TCP to an unprotected port, IPv4 (pass-other)", measure(f, len, CNT_PASS_OTHER));

	printf("\nVerified-flow fast path (IPv4) against the size of `verified`:\n\n");
	header("flows in verified");
	fr_tcp(&s, 0, "198.51.100.7", "192.0.2.10", 40000, 443, FR_ACK | FR_PSH);
	s.tcp_opt_len = 12;
	s.payload_len = 100;
	len = frame_build(&s, f);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[32];

		fill_verified(&have, sizes[i] - 2);	/* + the IPv4 and IPv6 test flows */
		snprintf(name, sizeof(name), "%u", sizes[i]);
		row(name, measure(f, len, CNT_PASS_VERIFIED));
	}

	empty_bpf__destroy(empty);
	lab_close(&lab);
	return 0;
}
