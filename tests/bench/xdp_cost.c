// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the gate costs per packet, next to the two programs an operator
 * would compare it with, all loaded in this process: an empty XDP program
 * (XDP_PASS, the floor) and xdp-filter from Debian's xdp-tools (the object
 * `xdp-filter load -f tcp` attaches, with the rule `xdp-filter port 443`).
 *
 * BPF_PROG_TEST_RUN runs one frame `repeat` times per call. A round times
 * the three programs back to back on the same frame, in a rotating order;
 * each case runs `runs` rounds, and the tables give medians and the
 * min-max spread of the per-round ratios. Time is this thread's CPU time
 * around the call divided by repeat (fractional ns; time the thread spends
 * preempted by the rest of a noisy machine is not in it); the kernel's own
 * integer mean is kept in the JSON. Before and after every gate run the
 * counters are read, so each figure belongs to the verdict its row names.
 * The cookie paths (a SYN answered, the ACK that carries its cookie)
 * change the frame or the maps on every run; measure_calls() times them
 * one call per frame, and measure_warm() times the SYN repeated, behind a
 * restore of its frame (tests/bench/gate_warm.bpf.c).
 * A last table floods the gate with SYNs from random sources, cookies off
 * and on: what a spoofed SYN costs and what it leaves in pending.
 *
 * Usage: xdp_cost [-r REPEAT] [-n RUNS] [-f FLOWS,...] [-x XDPFILTER.o]
 *                 [-j OUT.json]
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "frame.h"
#include "gatelab.h"
#include "synack.h"
#include "empty.skel.h"
#include "gate_warm.skel.h"

#define SEC_NS		1000000000ull
#define MAX_RUNS	64
#define MAX_SIZES	8

/* xdp-filter's ABI (xdp-tools, xdp-filter/common_kern_user.h). */
#define XF_FLAG_DST	(1u << 1)
#define XF_FLAG_TCP	(1u << 2)
#define XF_OBJ_GLOB	"/usr/lib/*/bpf/xdpfilt_alw_tcp.o"

enum prog_id { P_EMPTY, P_FILTER, P_GATE, N_PROGS };
static const char *const prog_name[N_PROGS] = { "empty", "xdp-filter", "gate" };

static struct lab lab;
static int prog_fd[N_PROGS];
static struct gate_warm_bpf *warm;
static __u32 repeat = 1000000;
static int runs = 5;

/* One case measured: per-round figures for each program. */
struct sample {
	double ns[N_PROGS][MAX_RUNS];		/* thread CPU ns / repeat */
	__u32 kdur[N_PROGS][MAX_RUNS];		/* the kernel's integer mean */
	__u32 retval[N_PROGS];
	int path_ok;
};

static void die(const char *what)
{
	fprintf(stderr, "xdp_cost: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat3 {
	double med, min, max;
};

static struct stat3 stats(const double *v, int n)
{
	double s[MAX_RUNS];
	struct stat3 r;

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	r.min = s[0];
	r.max = s[n - 1];
	return r;
}

static double thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Runs f repeat times through fd; thread CPU ns per run. */
static double run(int fd, const uint8_t *f, size_t len, __u32 *kdur, __u32 *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = len,
		    .repeat = repeat);
	double t0 = thread_ns();

	if (bpf_prog_test_run_opts(fd, &o))
		die("BPF_PROG_TEST_RUN");
	*kdur = o.duration;
	*retval = o.retval;
	return (thread_ns() - t0) / repeat;
}

/*
 * Times the n programs of fd on f, each once to warm caches and map
 * entries, then runs rounds of all n in a rotating order. fd[gate] is the
 * gate, whose counter want must count every run of it (0 in *path_ok if
 * not). retval: each program's action in its last run.
 */
static void rounds(const int *fd, int n, int gate, const uint8_t *f, size_t len, __u32 want,
		   double (*ns)[MAX_RUNS], __u32 (*kdur)[MAX_RUNS], __u32 *retval, int *path_ok)
{
	struct lab_stats a, b;
	__u32 kd;

	*path_ok = 1;
	for (int p = 0; p < n; p++)
		run(fd[p], f, len, &kd, &retval[p]);
	for (int r = 0; r < runs; r++) {
		for (int i = 0; i < n; i++) {
			int p = (r + i) % n;

			if (p == gate && lab_stats(&lab, &a))
				die("reading stats");
			ns[p][r] = run(fd[p], f, len, kdur ? &kdur[p][r] : &kd, &retval[p]);
			if (p == gate) {
				if (lab_stats(&lab, &b))
					die("reading stats");
				if (b.packets[want] - a.packets[want] != repeat)
					*path_ok = 0;
			}
		}
	}
}

/* Times the three programs on f, runs rounds; checks the gate's path. */
static void measure(const uint8_t *f, size_t len, __u32 want, struct sample *s)
{
	memset(s, 0, sizeof(*s));
	rounds(prog_fd, N_PROGS, P_GATE, f, len, want, s->ns, s->kdur, s->retval, &s->path_ok);
}

static struct stat3 ratio(const struct sample *s, int num, int den)
{
	double v[MAX_RUNS];

	for (int r = 0; r < runs; r++)
		v[r] = s->ns[den][r] > 0 ? s->ns[num][r] / s->ns[den][r] : 0;
	return stats(v, runs);
}

static void json_sample(FILE *j, const struct sample *s)
{
	for (int p = 0; p < N_PROGS; p++) {
		fprintf(j, "\"%s\":{\"ns\":[", prog_name[p]);
		for (int r = 0; r < runs; r++)
			fprintf(j, "%s%.3f", r ? "," : "", s->ns[p][r]);
		fprintf(j, "],\"kernel_ns\":[");
		for (int r = 0; r < runs; r++)
			fprintf(j, "%s%u", r ? "," : "", s->kdur[p][r]);
		fprintf(j, "],\"retval\":%u},", s->retval[p]);
	}
	fprintf(j, "\"path_ok\":%s", s->path_ok ? "true" : "false");
}

/* ---- the cases ---- */

struct flowspec {
	const char *src4, *src6;
	uint16_t sport, dport;
	uint8_t flags;
	uint16_t payload;
};

static const char *const DST4 = "192.0.2.10", *const DST6 = "2001:db8:ffff::10";

static size_t build(const struct flowspec *fs, int v6, struct fspec *s, uint8_t *f)
{
	fr_tcp(s, v6, v6 ? fs->src6 : fs->src4, v6 ? DST6 : DST4, fs->sport,
	       fs->dport, fs->flags);
	if (fs->flags != FR_SYN)
		s->tcp_opt_len = 12;	/* timestamps, as on an established flow */
	s->payload_len = fs->payload;
	return frame_build(s, f);
}

static struct gate_cfg cfg_default(void)
{
	struct gate_cfg c;

	memset(&c, 0, sizeof(c));
	c.mode = GATE_ENFORCE;
	c.pending_max_packets = AOPGATE_DEF_PENDING_PACKETS;
	c.pending_max_bytes = AOPGATE_DEF_PENDING_BYTES;
	c.pending_max_age_ns = AOPGATE_DEF_PENDING_AGE_NS;
	c.syn_rate = AOPGATE_DEF_SYN_RATE;
	c.syn_burst = AOPGATE_DEF_SYN_BURST;
	c.syn_rate_trusted = AOPGATE_DEF_SYN_RATE_TRUSTED;
	c.syn_burst_trusted = AOPGATE_DEF_SYN_BURST_TRUSTED;
	c.penalty_prefix4 = AOPGATE_DEF_PENALTY_PREFIX4;
	c.penalty_prefix6 = AOPGATE_DEF_PENALTY_PREFIX6;
	return c;
}

enum case_id {
	C_VERIFIED, C_PENDING, C_SYN, C_RATELIMIT, C_UNKNOWN, C_PENALTY,
	C_NOT_ALLOWED, C_BACKEND, C_OTHER, C_COOKIE_SENT, C_COOKIE_OK, N_CASES
};

struct casedef {
	const char *name;
	__u32 counter;
	struct flowspec fs;
};

/* Every case has its own source or source port, so no seed disturbs another. */
static const struct casedef cases[N_CASES] = {
	[C_VERIFIED] = { "verified flow", CNT_PASS_VERIFIED,
		{ "198.51.100.7", "2001:db8:1:2::7", 40000, 443, FR_ACK | FR_PSH, 100 } },
	[C_PENDING] = { "handshake under way (pending)", CNT_PASS_PENDING,
		{ "198.51.100.7", "2001:db8:1:2::7", 40001, 443, FR_ACK | FR_PSH, 100 } },
	[C_SYN] = { "SYN admitted", CNT_PASS_SYN,
		{ "198.51.100.7", "2001:db8:1:2::7", 40002, 443, FR_SYN, 0 } },
	[C_RATELIMIT] = { "SYN over the source's rate", CNT_DROP_RATELIMIT,
		{ "198.51.100.9", "2001:db8:9:9::9", 40003, 443, FR_SYN, 0 } },
	[C_UNKNOWN] = { "stray ACK", CNT_DROP_UNKNOWN,
		{ "198.51.100.7", "2001:db8:1:2::7", 40004, 443, FR_ACK, 0 } },
	[C_PENALTY] = { "SYN from a penalized source", CNT_DROP_PENALTY,
		{ "198.51.100.66", "2001:db8:66::66", 40005, 443, FR_SYN, 0 } },
	[C_NOT_ALLOWED] = { "SYN from outside the allowlist", CNT_DROP_NOT_ALLOWED,
		{ "198.51.100.77", "2001:db8:77::77", 40006, 443, FR_SYN, 0 } },
	[C_BACKEND] = { "to the BACKEND port", CNT_DROP_BACKEND,
		{ "198.51.100.7", "2001:db8:1:2::7", 40007, 8080, FR_ACK | FR_PSH, 100 } },
	[C_OTHER] = { "to an unprotected port", CNT_PASS_OTHER,
		{ "198.51.100.7", "2001:db8:1:2::7", 40008, 22, FR_ACK | FR_PSH, 100 } },
	/* Cookies on; measured by measure_calls(), each frame once per call. */
	[C_COOKIE_SENT] = { "SYN answered with a cookie", CNT_SYNCOOKIE_SENT,
		{ "198.51.100.8", "2001:db8:1:2::8", 50000, 443, FR_SYN, 0 } },
	[C_COOKIE_OK] = { "ACK with a valid cookie", CNT_SYNCOOKIE_OK,
		{ "198.51.100.8", "2001:db8:1:2::8", 50000, 443, FR_ACK, 0 } },
};

/* Seeds the maps and the knobs case c needs; the frame is in s. */
static void prepare(enum case_id c, const struct fspec *s)
{
	struct gate_cfg cfg = cfg_default();
	struct flow_key k = fr_key(s);
	__u64 now = lab_now();

	switch (c) {
	case C_VERIFIED:
		if (lab_verify(&lab, &k, 0))
			die("seeding verified");
		break;
	case C_PENDING:
		/* A budget no repeat count exhausts: every run stays in budget. */
		cfg.pending_max_packets = UINT32_MAX - 1;
		cfg.pending_max_bytes = UINT32_MAX - 1;
		cfg.pending_max_age_ns = 3600 * SEC_NS;
		if (lab_pend(&lab, &k, now, 1))
			die("seeding pending");
		break;
	case C_SYN:
		/*
		 * The same SYN again finds its own pending entry; with age 0
		 * that entry is always aged out, so every run re-admits it
		 * (token bucket, LRU update) as a new connection on a reused
		 * tuple would be.
		 */
		cfg.pending_max_age_ns = 0;
		cfg.syn_rate = SEC_NS;
		cfg.syn_burst = 1ull << 40;
		break;
	case C_RATELIMIT: {
		/* The bucket of a source that flooded: its next token is an hour away. */
		struct src_key sk;
		struct syn_bucket b = { .tat_ns = now + 3600 * SEC_NS };

		memset(&sk, 0, sizeof(sk));
		memcpy(sk.addr, s->src, s->ipv6 ? 8 : 16);
		if (bpf_map_update_elem(lab.syn_rl, &sk, &b, BPF_ANY))
			die("seeding syn_rl");
		break;
	}
	case C_PENALTY: {
		/* Keyed by the source's prefix, as the agent writes it. */
		struct src_key pk;

		gatemap_src_prefix(&cfg, s->src, &pk);
		if (lab_penalize(&lab, pk.addr, now + 3600 * SEC_NS))
			die("seeding penalty");
		break;
	}
	case C_NOT_ALLOWED: {
		uint8_t a[16];

		cfg.flags |= GATE_F_ALLOWLIST;
		fr_addr(a, "203.0.113.0");	/* someone else's /24 */
		if (lab_allow(&lab, a, 96 + 24))
			die("seeding allow_src");
		break;
	}
	default:
		break;
	}
	if (lab_set_cfg(&lab, &cfg))
		die("configuring the gate");
}

/*
 * The cookie paths change what BPF_PROG_TEST_RUN would repeat: the gate
 * turns a SYN into its SYN-ACK in the buffer, and a good cookie ACK makes
 * the pending entry that judges the flow's next packet (pass-pending). So
 * the gate runs N_CALLS frames of one source, a source port each, one
 * call each, COOKIE_PASSES times a round (pending emptied before each
 * pass, so every ACK makes its entry), and so does the empty program.
 * What the gate adds is the kernel's time of its run less the empty
 * program's, per call (the system call around it, some microseconds
 * here, is left out); its figure per round is the empty program's
 * ns/packet on the frame, repeated as on every other row, plus that.
 * A run after a system call finds colder caches than a repeated one, so
 * the stray ACK, which repeats, is measured this way too, to compare.
 * Each ACK carries the cookie the gate answered its SYN with; the SYN
 * and the ACK draw from their source's bucket at an unbounded rate.
 */
enum { N_CALLS = 2000, COOKIE_PASSES = 10 };

static const __u64 cookie_key[2] = { 0x0123456789abcdefull, 0xfedcba9876543210ull };

static struct gate_cfg cfg_cookies(void)
{
	struct gate_cfg c = cfg_default();

	c.syncookies = GATE_SC_ON;
	c.syncookie_ready = 1;
	memcpy(c.syncookie_key, cookie_key, sizeof(cookie_key));
	c.syn_rate = SEC_NS;
	c.syn_burst = 1ull << 40;
	return c;
}

/* Runs each of n frames once through fd; the kernel's mean ns per run. */
static double run_calls(int fd, uint8_t (*f)[256], const size_t *len, int n, __u32 *retval)
{
	double sum = 0;

	for (int i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f[i], .data_size_in = len[i],
			    .repeat = 1);

		if (bpf_prog_test_run_opts(fd, &o))
			die("BPF_PROG_TEST_RUN");
		sum += o.duration;
		*retval = o.retval;
	}
	return sum / n;
}

/* Frames of case c (a cookie case, or the stray ACK), a source port each. */
static void calls_frames(enum case_id c, int v6, uint8_t (*frames)[256], size_t *lens)
{
	size_t l4 = 14 + (v6 ? 40 : 20);
	struct fspec fs;

	for (int i = 0; i < N_CALLS; i++) {
		struct flowspec f = cases[c == C_COOKIE_OK ? C_COOKIE_SENT : c].fs;
		uint8_t out[FRAME_MAX];
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_out = out, .data_size_out = sizeof(out),
			    .repeat = 1);
		__u32 isn, cookie;

		f.sport += i;
		lens[i] = build(&f, v6, &fs, frames[i]);
		if (c != C_COOKIE_OK)
			continue;
		/* The ACK of the SYN-ACK the gate answers this SYN with. */
		o.data_in = frames[i];
		o.data_size_in = lens[i];
		if (bpf_prog_test_run_opts(prog_fd[P_GATE], &o) || o.data_size_out < l4 + 20)
			die("answering a SYN");
		memcpy(&isn, frames[i] + l4 + 4, 4);
		memcpy(&cookie, out + l4 + 4, 4);
		f = cases[C_COOKIE_OK].fs;
		f.sport += i;
		lens[i] = build(&f, v6, &fs, frames[i]);
		sa_wr32(frames[i] + l4 + 4, ntohl(isn) + 1);
		sa_wr32(frames[i] + l4 + 8, ntohl(cookie) + 1);
	}
}

static void measure_calls(enum case_id c, int v6, struct sample *s)
{
	static uint8_t frames[N_CALLS][256];
	static size_t lens[N_CALLS];
	struct gate_cfg cfg = c == C_UNKNOWN ? cfg_default() : cfg_cookies();
	struct lab_stats a, b;

	if (lab_clear_flows(&lab, lab.pending) ||
	    lab_clear_map(lab.syn_rl, sizeof(struct src_key)) || lab_set_cfg(&lab, &cfg))
		die("configuring the gate");
	calls_frames(c, v6, frames, lens);
	memset(s, 0, sizeof(*s));
	s->path_ok = 1;
	for (int r = 0; r < runs; r++) {
		double call[N_PROGS] = { 0 };
		__u32 rv;

		for (int i = 0; i < N_PROGS; i++) {
			int p = (r + i) % N_PROGS;

			if (p != P_GATE)
				s->ns[p][r] = run(prog_fd[p], frames[0], lens[0], &s->kdur[p][r],
						  &s->retval[p]);
		}
		for (int pass = 0; pass < COOKIE_PASSES; pass++) {
			if (c == C_COOKIE_OK && lab_clear_flows(&lab, lab.pending))
				die("clearing pending");
			for (int k = 0; k < 2; k++) {
				int p = (r + pass + k) % 2 ? P_GATE : P_EMPTY;

				if (p == P_GATE && lab_stats(&lab, &a))
					die("reading stats");
				call[p] += run_calls(prog_fd[p], frames, lens, N_CALLS,
						     p == P_GATE ? &s->retval[P_GATE] : &rv) /
					   COOKIE_PASSES;
				if (p == P_GATE) {
					if (lab_stats(&lab, &b))
						die("reading stats");
					if (b.packets[cases[c].counter] -
					    a.packets[cases[c].counter] != N_CALLS)
						s->path_ok = 0;
				}
			}
		}
		s->ns[P_GATE][r] = s->ns[P_EMPTY][r] + call[P_GATE] - call[P_EMPTY];
		s->kdur[P_GATE][r] = call[P_GATE];
	}
	if (lab_clear_flows(&lab, lab.pending) ||
	    lab_clear_map(lab.syn_rl, sizeof(struct src_key)))
		die("clearing pending");
}

/*
 * The cookie SYN repeated, as the other rows are. The buffer that
 * BPF_PROG_TEST_RUN repeats holds the SYN-ACK after the gate's first run,
 * so gate_warm.bpf.c copies the SYN back before each: warm_restore does
 * only that, warm_gate that and then gate_xdp's code. The gate's figure
 * per round is the empty program's ns on the frame plus warm_gate less
 * warm_restore; restore[] and warm[] keep the two times for the JSON.
 * The SYN writes no map (cookies on: no token, no pending entry), so
 * every run takes syncookie-sent. The ACK with a valid cookie is not
 * measured this way: its first run makes the flow's pending entry, and
 * every later one would take pass-pending; removing the entry inside the
 * timed program would be a map delete that only warm_gate finds
 * something to delete for, so the difference would not be the gate's
 * own cost.
 */
struct warm_sample {
	struct sample s;
	double restore[MAX_RUNS], warm[MAX_RUNS];
};

/* Shares every map of the gate lab loaded with the warm object, then loads it. */
static void load_warm(void)
{
	struct bpf_map *m, *g;

	warm = gate_warm_bpf__open();
	if (!warm)
		die("opening gate_warm");
	bpf_object__for_each_map(m, warm->obj) {
		if (bpf_map__set_pin_path(m, NULL))
			die("unpinning gate_warm's maps");
		if (bpf_map__is_internal(m) || !strcmp(bpf_map__name(m), "floor_stats"))
			continue;	/* its own: the template, the floors' counters */
		g = bpf_object__find_map_by_name(lab.skel->obj, bpf_map__name(m));
		if (!g) {
			errno = ENOENT;
			die(bpf_map__name(m));
		}
		if (bpf_map__reuse_fd(m, bpf_map__fd(g)))
			die("sharing the gate's maps");
	}
	/* Only the two programs here are run; the gate's own are the lab's. */
	bpf_program__set_autoload(warm->progs.gate_xdp, false);
	bpf_program__set_autoload(warm->progs.gate_tc, false);
	bpf_program__set_autoload(warm->progs.gate_tc_cookie, false);
	if (gate_warm_bpf__load(warm))
		die("loading gate_warm");
}

static void measure_warm(enum case_id c, int v6, struct warm_sample *w)
{
	enum { W_RESTORE = N_PROGS, W_GATE, W_N };
	int fd[W_N] = { prog_fd[P_EMPTY], prog_fd[P_FILTER], -1,
			bpf_program__fd(warm->progs.warm_restore),
			bpf_program__fd(warm->progs.warm_gate) };
	struct gate_cfg cfg = cfg_cookies();
	struct sample *s = &w->s;
	struct lab_stats a, b;
	struct fspec fs;
	uint8_t f[FRAME_MAX];
	size_t len = build(&cases[c].fs, v6, &fs, f);
	__u32 want = cases[c].counter;

	if (len > sizeof(warm->bss->tmpl)) {
		errno = EMSGSIZE;
		die("the template frame");
	}
	if (lab_clear_flows(&lab, lab.pending) ||
	    lab_clear_map(lab.syn_rl, sizeof(struct src_key)) || lab_set_cfg(&lab, &cfg))
		die("configuring the gate");
	memcpy(warm->bss->tmpl, f, len);
	warm->bss->tmpl_len = len;
	memset(w, 0, sizeof(*w));
	s->path_ok = 1;
	for (int p = 0; p < W_N; p++) {	/* warm caches and map entries */
		__u32 kd, rv;

		if (p != P_GATE)
			run(fd[p], f, len, &kd, &rv);
	}
	for (int r = 0; r < runs; r++) {
		__u32 kd[W_N] = { 0 };

		for (int i = 0; i < W_N; i++) {
			int p = (r + i) % W_N;
			double ns;
			__u32 rv;

			if (p == P_GATE)
				continue;
			if (p == W_GATE && lab_stats(&lab, &a))
				die("reading stats");
			ns = run(fd[p], f, len, &kd[p], &rv);
			switch (p) {
			case W_RESTORE:
				w->restore[r] = ns;
				if (rv != XDP_PASS)
					s->path_ok = 0;
				break;
			case W_GATE:
				w->warm[r] = ns;
				s->retval[P_GATE] = rv;
				if (lab_stats(&lab, &b))
					die("reading stats");
				if (b.packets[want] - a.packets[want] != repeat)
					s->path_ok = 0;
				break;
			default:
				s->ns[p][r] = ns;
				s->kdur[p][r] = kd[p];
				s->retval[p] = rv;
			}
		}
		s->ns[P_GATE][r] = s->ns[P_EMPTY][r] + w->warm[r] - w->restore[r];
		{
			long k = (long)kd[P_EMPTY] + kd[W_GATE] - kd[W_RESTORE];

			s->kdur[P_GATE][r] = k > 0 ? k : 0;
		}
	}
}

/* ---- programs ---- */

static const char *xdp_filter_obj(const char *given)
{
	static char found[512];
	glob_t g;

	if (given)
		return given;
	if (glob(XF_OBJ_GLOB, 0, NULL, &g) || g.gl_pathc == 0) {
		fprintf(stderr, "xdp_cost: no %s: install xdp-tools (scripts/deps.sh --bench)\n",
			XF_OBJ_GLOB);
		exit(1);
	}
	snprintf(found, sizeof(found), "%s", g.gl_pathv[0]);
	globfree(&g);
	return found;
}

/*
 * Loads xdp-filter's TCP program with nothing pinned and adds the rule
 * `xdp-filter port 443 --mode dst --proto tcp`: drop TCP to port 443.
 */
static struct bpf_object *load_xdp_filter(const char *path, int *fd)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *prog;
	struct bpf_map *m, *ports = NULL;

	if (!obj)
		die(path);
	bpf_object__for_each_map(m, obj) {
		if (bpf_map__set_pin_path(m, NULL))
			die("unpinning xdp-filter's maps");
		if (!strcmp(bpf_map__name(m), "filter_ports"))
			ports = m;
	}
	if (!ports) {
		errno = ENOENT;
		die("xdp-filter object without filter_ports");
	}
	if (bpf_object__load(obj))
		die("loading xdp-filter");
	prog = bpf_object__next_program(obj, NULL);
	if (!prog)
		die("xdp-filter object without a program");
	*fd = bpf_program__fd(prog);
	{
		/* The key is the port as the packet carries it (network order). */
		__u32 key = htons(443);
		int ncpu = bpf_map__type(ports) == BPF_MAP_TYPE_PERCPU_ARRAY ?
			   libbpf_num_possible_cpus() : 1;
		__u64 v[ncpu];

		for (int i = 0; i < ncpu; i++)
			v[i] = XF_FLAG_DST | XF_FLAG_TCP;
		if (bpf_map_update_elem(bpf_map__fd(ports), &key, v, BPF_ANY))
			die("adding xdp-filter's port rule");
	}
	return obj;
}

/* The source of fill flow id: 10.0.0.0/8 clients, never a test flow. */
static void fill_src(__u32 id, char *buf, size_t n)
{
	snprintf(buf, n, "10.%u.%u.%u", (id >> 16) & 0xff, (id >> 8) & 0xff, id & 0xff);
}

static uint16_t fill_sport(__u32 id)
{
	return 1024 + id % 50000;
}

/*
 * Adds verified flows until each family's map holds n of them besides the
 * test flows: IPv4 ones from 10.0.0.0/8 in verified4, IPv6 ones from
 * 2001:db8:a::/48 in verified, so both families' rows see a full map.
 */
static void fill_verified(__u32 *have, __u32 n)
{
	enum { CHUNK = 8192 };
	static struct flow_key keys[CHUNK];
	static struct flow_key4 keys4[CHUNK];
	static struct verified_flow vals[CHUNK];

	memset(vals, 0, sizeof(vals));
	while (*have < n) {
		__u32 count = n - *have < CHUNK ? n - *have : CHUNK, c4 = count;
		char src[64];

		memset(keys, 0, sizeof(keys));
		for (__u32 i = 0; i < count; i++) {
			struct flow_key *k = &keys[i];
			__u32 id = *have + i;

			fill_src(id, src, sizeof(src));
			keys4[i].saddr = inet_addr(src);
			keys4[i].daddr = inet_addr(DST4);
			keys4[i].sport = htons(fill_sport(id));
			keys4[i].dport = htons(443);
			snprintf(src, sizeof(src), "2001:db8:a::%x:%x", id >> 16, id & 0xffff);
			fr_addr(k->saddr, src);
			fr_addr(k->daddr, DST6);
			k->sport = htons(fill_sport(id));
			k->dport = htons(443);
			k->proto = 6;
		}
		if (bpf_map_update_batch(lab.verified4, keys4, vals, &c4, NULL) ||
		    bpf_map_update_batch(lab.verified, keys, vals, &count, NULL))
			die("filling verified");
		*have += count;
	}
}

/*
 * The cost of a packet whose flow was not the last one seen: BPF_PROG_TEST_RUN
 * runs one frame per call, so here every call gets the next of n_cold
 * frames of different flows (repeat 1), and the gate's figure is its time
 * per call minus the empty program's on the same frames, which cancels the
 * syscall. miss: tuples not in verified (stray ACKs) instead of verified
 * flows picked at random among the `have` in the map. Medians of rounds of
 * added ns; path_ok as in measure().
 */
enum { N_COLD = 50000 };

struct cold {
	double added[MAX_RUNS];
	int path_ok;
};

/* The frame of case c (IPv4) sent from fill flow id. */
static size_t build_fill(int c, __u32 id, uint8_t *f)
{
	struct flowspec fs = cases[c].fs;
	struct fspec s;
	char src[32];

	fill_src(id, src, sizeof(src));
	fs.src4 = src;
	fs.sport = fill_sport(id);
	return build(&fs, 0, &s, f);
}

/*
 * Runs each of the N_COLD frames once through program p; thread CPU ns
 * per call. For the gate, clears *path_ok unless every frame took want.
 */
static double run_cold(int p, uint8_t (*frames)[256], const size_t *lens, __u32 want,
		       int *path_ok)
{
	struct lab_stats a, b;
	double t0, ns;

	if (p == P_GATE && lab_stats(&lab, &a))
		die("reading stats");
	t0 = thread_ns();
	for (int i = 0; i < N_COLD; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frames[i],
			    .data_size_in = lens[i], .repeat = 1);

		if (bpf_prog_test_run_opts(prog_fd[p], &o))
			die("BPF_PROG_TEST_RUN");
	}
	ns = (thread_ns() - t0) / N_COLD;
	if (p == P_GATE) {
		if (lab_stats(&lab, &b))
			die("reading stats");
		if (b.packets[want] - a.packets[want] != N_COLD)
			*path_ok = 0;
	}
	return ns;
}

static void measure_cold(__u32 have, int miss, struct cold *out)
{
	static uint8_t frames[N_COLD][256];
	static size_t lens[N_COLD];
	__u32 want = miss ? CNT_DROP_UNKNOWN : CNT_PASS_VERIFIED, seed = 12345;

	for (int i = 0; i < N_COLD; i++) {
		__u32 id;

		seed = seed * 1103515245 + 12345;
		id = miss ? 0xE00000u + (__u32)i : (seed >> 4) % have;	/* 10.224/11: never filled */
		lens[i] = build_fill(miss ? C_UNKNOWN : C_VERIFIED, id, frames[i]);
	}
	memset(out, 0, sizeof(*out));
	out->path_ok = 1;
	for (int r = 0; r < runs; r++) {
		double t[N_PROGS] = { 0 };

		for (int k = 0; k < 2; k++) {
			int p = (r + k) % 2 ? P_GATE : P_EMPTY;

			t[p] = run_cold(p, frames, lens, want, &out->path_ok);
		}
		out->added[r] = t[P_GATE] - t[P_EMPTY];
	}
}

/*
 * A spoofed SYN flood: every SYN from another source address and port, as
 * hping3 --rand-source sends them, one call each (the same frame again
 * would find its source's bucket and, answered, would be turned into a
 * SYN-ACK before the next repeat). Cookies off: each SYN gets a fresh
 * token bucket and a pending entry, in maps the flood keeps full; on:
 * each is answered and nothing is written. Per program, the time per call
 * less the empty program's on the same frames; path_ok: every SYN took
 * the row's counter. pending: its entries after the last round.
 */
struct flood {
	double added[N_PROGS][MAX_RUNS];
	__u32 pending;
	int path_ok;
};

static void measure_flood(int cookies, struct flood *out)
{
	static uint8_t frames[N_COLD][256];
	static size_t lens[N_COLD];
	struct gate_cfg cfg = cfg_default();
	struct flow_key k;
	__u32 want = cookies ? CNT_SYNCOOKIE_SENT : CNT_PASS_SYN;

	for (int i = 0; i < N_COLD; i++)	/* 10.128/9: nothing else there */
		lens[i] = build_fill(C_SYN, 0x800000u + (__u32)i, frames[i]);
	cfg.syncookies = cookies ? GATE_SC_ON : GATE_SC_OFF;
	cfg.syncookie_ready = 1;
	cfg.syncookie_key[0] = 0x0123456789abcdefull;
	cfg.syncookie_key[1] = 0xfedcba9876543210ull;
	if (lab_clear_flows(&lab, lab.pending) ||
	    lab_clear_map(lab.syn_rl, sizeof(struct src_key)) || lab_set_cfg(&lab, &cfg))
		die("configuring the gate");
	memset(out, 0, sizeof(*out));
	out->path_ok = 1;
	for (int r = 0; r < runs; r++) {
		double t[N_PROGS] = { 0 };

		if (!cookies && lab_clear_map(lab.syn_rl, sizeof(struct src_key)))
			die("clearing syn_rl");	/* every round's sources are new */
		for (int n = 0; n < N_PROGS; n++) {
			int p = (r + n) % N_PROGS;

			t[p] = run_cold(p, frames, lens, want, &out->path_ok);
		}
		for (int p = 0; p < N_PROGS; p++)
			out->added[p][r] = t[p] - t[P_EMPTY];
	}
	for (void *prev = NULL; !bpf_map_get_next_key(lab.pending, prev, &k); prev = &k)
		out->pending++;
	for (void *prev = NULL; !bpf_map_get_next_key(lab.pending4, prev, &k); prev = &k)
		out->pending++;
}

/*
 * The floors (gate_warm.bpf.c): for each path with a target, the
 * empty program, floor_parse, the path's floor and the gate on the row's
 * frame and maps, prepared as for its row, in rotating rounds. The path
 * check: the gate counts the row's counter on every run, floor_parse
 * drops and the path's floor takes the action of the gate's verdict (its
 * lookups found what the gate's found).
 */
enum { F_EMPTY, F_PARSE, F_PATH, F_GATE, F_N };

struct floor_sample {
	double ns[F_N][MAX_RUNS];
	int path_ok;
};

static const struct floordef {
	enum case_id c;
	const char *prog;
	__u32 act;
} floors[] = {
	{ C_VERIFIED, "floor_verified", XDP_PASS },
	{ C_UNKNOWN, "floor_stray_ack", XDP_DROP },
	{ C_SYN, "floor_syn", XDP_PASS },
};
#define N_FLOORS (sizeof(floors) / sizeof(floors[0]))

static int warm_prog_fd(const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(warm->obj, name);

	if (!p) {
		errno = ENOENT;
		die(name);
	}
	return bpf_program__fd(p);
}

static void measure_floor(const struct floordef *fd, int v6, struct floor_sample *out)
{
	int fds[F_N] = { prog_fd[P_EMPTY], warm_prog_fd("floor_parse"), warm_prog_fd(fd->prog),
			 prog_fd[P_GATE] };
	__u32 retval[F_N];
	struct fspec s;
	uint8_t f[FRAME_MAX];
	size_t len = build(&cases[fd->c].fs, v6, &s, f);

	memset(out, 0, sizeof(*out));
	prepare(fd->c, &s);
	rounds(fds, F_N, F_GATE, f, len, cases[fd->c].counter, out->ns, NULL, retval,
	       &out->path_ok);
	if (retval[F_PARSE] != XDP_DROP || retval[F_PATH] != fd->act)
		out->path_ok = 0;
}

static double floor_ratio(const struct floor_sample *fs, int num)
{
	double v[MAX_RUNS];

	for (int r = 0; r < runs; r++)
		v[r] = fs->ns[F_EMPTY][r] > 0 ? fs->ns[num][r] / fs->ns[F_EMPTY][r] : 0;
	return stats(v, runs).med;
}

/* ---- output ---- */

static void fmt_ratio(char *buf, size_t n, struct stat3 r)
{
	snprintf(buf, n, "%.2f (%.2f-%.2f)", r.med, r.min, r.max);
}

static void case_row(const char *name, const char *fam, const struct sample *s)
{
	char re[48], rf[48];

	fmt_ratio(re, sizeof(re), ratio(s, P_GATE, P_EMPTY));
	fmt_ratio(rf, sizeof(rf), ratio(s, P_GATE, P_FILTER));
	printf("| %s | %s | %.1f | %.1f | %.1f | %s | %s | %s |\n", name, fam,
	       stats(s->ns[P_GATE], runs).med, stats(s->ns[P_EMPTY], runs).med,
	       stats(s->ns[P_FILTER], runs).med, re, rf,
	       s->path_ok ? "every run" : "**NO: some runs took another path**");
}

/* One target line: the row's gate / empty, v4 and v6, both within max. */
static void path_target(const char *what, const struct sample s[2], double max)
{
	double v4 = ratio(&s[0], P_GATE, P_EMPTY).med, v6 = ratio(&s[1], P_GATE, P_EMPTY).med;

	printf("* %s <= %.1fx the empty program: %.2fx v4, %.2fx v6, %s\n", what, max, v4, v6,
	       v4 <= max && v6 <= max ? "met" : "**not met**");
}

static void usage(void)
{
	fprintf(stderr, "usage: xdp_cost [-r REPEAT] [-n RUNS] [-f FLOWS,...] "
			"[-x XDPFILTER.o] [-j OUT.json]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct sample res[N_CASES][2], scan[MAX_SIZES][3], calls_unknown[2];
	static struct warm_sample warm_syn[2];
	static struct floor_sample floor_res[N_FLOORS][2];
	static struct cold cold[MAX_SIZES][2];
	static struct flood flood[2];
	double flood_ratio;
	__u32 sizes[MAX_SIZES] = { 1000, 100000, 1000000 }, have = 0, max_size = 0;
	int nsizes = 3, opt, fail_filter = 0;
	const char *xf_path = NULL, *json = NULL;
	struct bpf_object *xf;
	struct empty_bpf *empty;
	struct fspec s;
	uint8_t f[FRAME_MAX];
	size_t len;
	FILE *j = NULL;

	while ((opt = getopt(argc, argv, "r:n:f:x:j:")) != -1) {
		switch (opt) {
		case 'r':
			repeat = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			runs = atoi(optarg);
			break;
		case 'f': {
			char *p = optarg;

			for (nsizes = 0; *p && nsizes < MAX_SIZES; nsizes++) {
				sizes[nsizes] = strtoul(p, &p, 0);
				if (*p == ',')
					p++;
			}
			break;
		}
		case 'x':
			xf_path = optarg;
			break;
		case 'j':
			json = optarg;
			break;
		default:
			usage();
		}
	}
	if (repeat < 1 || runs < 1 || runs > MAX_RUNS || nsizes < 1)
		usage();
	for (int i = 0; i < nsizes; i++) {
		if (sizes[i] < 8)
			usage();
		if (sizes[i] > max_size)
			max_size = sizes[i];
	}
	libbpf_set_print(libbpf_quiet);

	if (lab_open(&lab, max_size + 16, 4096))
		die("loading the gate");
	empty = empty_bpf__open_and_load();
	if (!empty)
		die("loading the empty program");
	xf_path = xdp_filter_obj(xf_path);
	xf = load_xdp_filter(xf_path, &prog_fd[P_FILTER]);
	prog_fd[P_EMPTY] = bpf_program__fd(empty->progs.empty_xdp);
	prog_fd[P_GATE] = lab.prog[LAB_XDP];
	load_warm();
	if (lab_set_port(&lab, 443, PORT_GATE) || lab_set_port(&lab, 8080, PORT_BACKEND))
		die("configuring the gate");

	printf("### Per-packet cost of each verdict path\n\n"
	       "BPF_PROG_TEST_RUN, repeat %u, %d rounds; ns/packet medians (thread CPU time).\n"
	       "Ratios: median (min-max) of the per-round ratios. xdp-filter: %s\n"
	       "with `port 443` (drops TCP to 443, passes the rest). The two cookie rows (SYN\n"
	       "cookies on) change the frame or the maps on every run, so there the gate runs\n"
	       "%d frames once per call (a source port each; each ACK carries the cookie its\n"
	       "SYN was answered with), and its ns are the empty program's on the frame plus\n"
	       "what the gate adds per call (the kernel's time of the run, less the empty\n"
	       "program's on the same frames). A run after a system call finds colder caches\n"
	       "than a repeated one: the last rows measure the stray ACK that way, to compare.\n"
	       "The rows \"SYN answered with a cookie, repeated\" measure that SYN as the other\n"
	       "rows are measured, one frame repeated: two programs that include the gate's\n"
	       "code and share its maps (tests/bench/gate_warm.bpf.c) both copy the SYN back\n"
	       "over the SYN-ACK the gate made of it, and one then runs gate_xdp's code; gate\n"
	       "ns = empty ns + (that program's ns - the copy's alone), and the path check\n"
	       "counts syncookie-sent once per run.\n\n"
	       "| verdict path (gate counter) | IP | gate ns | empty ns | xdp-filter ns "
	       "| gate / empty | gate / xdp-filter | path check |\n"
	       "|---|---|---:|---:|---:|---:|---:|---|\n",
	       repeat, runs, xf_path, N_CALLS);
	for (int c = 0; c < N_CASES; c++) {
		for (int v6 = 0; v6 < 2; v6++) {
			char name[96];

			if (c == C_COOKIE_SENT || c == C_COOKIE_OK) {
				measure_calls(c, v6, &res[c][v6]);
			} else {
				len = build(&cases[c].fs, v6, &s, f);
				prepare(c, &s);
				measure(f, len, cases[c].counter, &res[c][v6]);
			}
			snprintf(name, sizeof(name), "%s (%s)", cases[c].name,
				 lab_cnt_name(cases[c].counter));
			case_row(name, v6 ? "v6" : "v4", &res[c][v6]);
			if (ratio(&res[c][v6], P_GATE, P_FILTER).med >= 1)
				fail_filter++;
		}
	}
	for (int v6 = 0; v6 < 2; v6++) {
		measure_warm(C_COOKIE_SENT, v6, &warm_syn[v6]);
		case_row("SYN answered with a cookie, repeated (syncookie-sent)",
			 v6 ? "v6" : "v4", &warm_syn[v6].s);
		if (ratio(&warm_syn[v6].s, P_GATE, P_FILTER).med >= 1)
			fail_filter++;
	}
	for (int v6 = 0; v6 < 2; v6++) {
		measure_calls(C_UNKNOWN, v6, &calls_unknown[v6]);
		case_row("stray ACK, one call each as the cookie rows (drop-unknown)",
			 v6 ? "v6" : "v4", &calls_unknown[v6]);
	}

	printf("\n### Verified-flow fast path against the size of `verified`\n\n"
	       "Same flow: one frame repeated, so its hash bucket stays in cache. A different\n"
	       "flow each packet: %d frames of random flows, one call each; ns the gate adds\n"
	       "to the empty program's per-call time, median (min-max).\n\n"
	       "| flows in verified | same flow: verified v4 ns | / empty | verified v6 / empty "
	       "| stray ACK v4 / empty | a different flow each: verified v4, ns added "
	       "| stray ACK v4 (a miss), ns added | path check |\n"
	       "|---:|---:|---:|---:|---:|---:|---:|---|\n", N_COLD);
	for (int i = 0; i < nsizes; i++) {
		static const enum case_id sc[3] = { C_VERIFIED, C_VERIFIED, C_UNKNOWN };
		char r[3][48], rc[2][48];
		int ok = 1;

		fill_verified(&have, sizes[i] - 1);	/* + each family's test flow */
		for (int k = 0; k < 3; k++) {
			int v6 = k == 1;

			len = build(&cases[sc[k]].fs, v6, &s, f);
			prepare(sc[k], &s);
			measure(f, len, cases[sc[k]].counter, &scan[i][k]);
			fmt_ratio(r[k], sizeof(r[k]), ratio(&scan[i][k], P_GATE, P_EMPTY));
			ok &= scan[i][k].path_ok;
		}
		for (int k = 0; k < 2; k++) {
			struct stat3 c;

			measure_cold(sizes[i] - 2, k, &cold[i][k]);
			ok &= cold[i][k].path_ok;
			c = stats(cold[i][k].added, runs);
			snprintf(rc[k], sizeof(rc[k]), "%.0f (%.0f-%.0f)", c.med, c.min, c.max);
		}
		printf("| %u | %.1f | %s | %s | %s | %s | %s | %s |\n", sizes[i],
		       stats(scan[i][0].ns[P_GATE], runs).med, r[0], r[1], r[2], rc[0], rc[1],
		       ok ? "every run" : "**NO**");
	}

	printf("\n### What the paths with a target need, measured alone\n\n"
	       "Programs built from the gate's own functions on the gate's own maps\n"
	       "(tests/bench/gate_warm.bpf.c), on each row's frame and maps: parse and count\n"
	       "(the configuration, the parse, the port's role and a counter), then the\n"
	       "path's floor: that and the lookups and writes of the path's verdict alone\n"
	       "(verified: the flow's entry and its counts; stray ACK: verified, pending and\n"
	       "penalty, all missing; SYN admitted: penalty, standing, the source's bucket,\n"
	       "the clock and the pending entry rewritten), without the checks of the other\n"
	       "paths. gate - floor: what the gate's own logic adds. ns medians of %d rounds\n"
	       "that time the four programs back to back.\n\n"
	       "| path | IP | empty ns | parse and count ns | path's floor ns | gate ns "
	       "| floor / empty | gate / empty | gate - floor ns | path check |\n"
	       "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n", runs);
	for (size_t i = 0; i < N_FLOORS; i++)
		for (int v6 = 0; v6 < 2; v6++) {
			struct floor_sample *fs = &floor_res[i][v6];
			double path, gate;

			measure_floor(&floors[i], v6, fs);
			path = stats(fs->ns[F_PATH], runs).med;
			gate = stats(fs->ns[F_GATE], runs).med;
			printf("| %s (%s) | %s | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.1f | %s |\n",
			       cases[floors[i].c].name, lab_cnt_name(cases[floors[i].c].counter),
			       v6 ? "v6" : "v4", stats(fs->ns[F_EMPTY], runs).med,
			       stats(fs->ns[F_PARSE], runs).med, path, gate,
			       floor_ratio(fs, F_PATH), floor_ratio(fs, F_GATE), gate - path,
			       fs->path_ok ? "every run" : "**NO**");
		}

	{
		/* The floor: the empty program's ns per packet on a SYN, this run. */
		double floor = stats(res[C_SYN][0].ns[P_EMPTY], runs).med;

		printf("\n### A spoofed SYN flood: cookies off and on\n\n"
		       "%d SYNs, each from another IPv4 source and port, one call each; ns the\n"
		       "program adds to the empty program's per-call time, median (min-max) of\n"
		       "%d rounds. / empty: (empty + added) / empty, the empty program's %.1f ns\n"
		       "per packet measured above on a SYN. pending: entries after the flood\n"
		       "(max %u).\n\n"
		       "| syncookies | gate counter | gate ns added | gate / empty | xdp-filter ns added "
		       "| xdp-filter / empty | pending after | path check |\n"
		       "|---|---|---:|---:|---:|---:|---:|---|\n", N_COLD, runs, floor, 4096);
		for (int on = 0; on < 2; on++) {
			struct stat3 g, x;

			measure_flood(on, &flood[on]);
			g = stats(flood[on].added[P_GATE], runs);
			x = stats(flood[on].added[P_FILTER], runs);
			printf("| %s | %s | %.0f (%.0f-%.0f) | %.1f | %.0f | %.1f | %u | %s |\n",
			       on ? "on" : "off",
			       lab_cnt_name(on ? CNT_SYNCOOKIE_SENT : CNT_PASS_SYN),
			       g.med, g.min, g.max, floor > 0 ? (floor + g.med) / floor : 0,
			       x.med, floor > 0 ? (floor + x.med) / floor : 0, flood[on].pending,
			       flood[on].path_ok ? "every run" : "**NO**");
		}
		flood_ratio = floor > 0 ? (floor + stats(flood[1].added[P_GATE], runs).med) / floor : 0;
	}
	printf("\nTargets (medians of this run):\n");
	path_target("verified pass", res[C_VERIFIED], 2.5);
	path_target("stray ACK", res[C_UNKNOWN], 3);
	path_target("SYN admitted (a reused tuple)", res[C_SYN], 6);
	for (size_t i = 0; i < N_FLOORS; i++)
		printf("* %s: its lookups and writes alone (%s) %.2fx v4, %.2fx v6 the empty "
		       "program\n", cases[floors[i].c].name, floors[i].prog,
		       floor_ratio(&floor_res[i][0], F_PATH), floor_ratio(&floor_res[i][1], F_PATH));
	{
		const struct sample w[2] = { warm_syn[0].s, warm_syn[1].s };

		path_target("a spoofed SYN answered with a cookie (syncookie-sent, repeated)", w, 10);
	}
	{
		/* Cold caches: not the target's method, kept to compare with the flood. */
		double v4 = ratio(&res[C_COOKIE_SENT][0], P_GATE, P_EMPTY).med;
		double v6 = ratio(&res[C_COOKIE_SENT][1], P_GATE, P_EMPTY).med;

		printf("* the same SYN one call per frame (cold caches, no target): "
		       "%.2fx v4, %.2fx v6, %.1fx in the flood from random sources; "
		       "pending empty after the flood: %s\n", v4, v6, flood_ratio,
		       flood[1].pending ? "**no**" : "yes");
	}
	printf("* every path cheaper than xdp-filter with a port rule: %s\n",
	       fail_filter ? "**not met**" : "met");
	{
		double first = ratio(&scan[0][0], P_GATE, P_EMPTY).med;
		double last = ratio(&scan[nsizes - 1][0], P_GATE, P_EMPTY).med;
		double flat = first > 0 ? last / first : 0;

		double cf = stats(cold[0][0].added, runs).med;
		double cl = stats(cold[nsizes - 1][0].added, runs).med;
		double cflat = cf > 0 ? cl / cf : 0;

		/* A first figure <= 0 (noise larger than it) gives no ratio to judge. */
		printf("* verified pass flat from %u to %u flows (within 10%%): same flow %.2fx, %s; "
		       "a different flow each packet %.2fx, %s\n", sizes[0], sizes[nsizes - 1],
		       flat, first <= 0 ? "not measured" : flat <= 1.10 ? "met" : "**not met**",
		       cflat, cf <= 0 ? "not measured (the first figure is <= 0)" :
		       cflat <= 1.10 ? "met" : "**not met**");
	}

	if (json) {
		j = fopen(json, "w");
		if (!j)
			die(json);
		fprintf(j, "{\"repeat\":%u,\"runs\":%d,\"xdp_filter\":\"%s\",\"cases\":[",
			repeat, runs, xf_path);
		for (int c = 0; c < N_CASES; c++)
			for (int v6 = 0; v6 < 2; v6++) {
				fprintf(j, "%s{\"case\":\"%s\",\"counter\":\"%s\",\"family\":\"%s\",",
					c || v6 ? "," : "", cases[c].name,
					lab_cnt_name(cases[c].counter), v6 ? "ipv6" : "ipv4");
				json_sample(j, &res[c][v6]);
				fprintf(j, "}");
			}
		fprintf(j, "],\"warm\":[");
		for (int v6 = 0; v6 < 2; v6++) {
			const struct warm_sample *w = &warm_syn[v6];

			fprintf(j, "%s{\"case\":\"%s, repeated\",\"counter\":\"%s\","
				"\"family\":\"%s\",\"restore_ns\":[", v6 ? "," : "",
				cases[C_COOKIE_SENT].name, lab_cnt_name(CNT_SYNCOOKIE_SENT),
				v6 ? "ipv6" : "ipv4");
			for (int r = 0; r < runs; r++)
				fprintf(j, "%s%.3f", r ? "," : "", w->restore[r]);
			fprintf(j, "],\"warm_gate_ns\":[");
			for (int r = 0; r < runs; r++)
				fprintf(j, "%s%.3f", r ? "," : "", w->warm[r]);
			fprintf(j, "],");
			json_sample(j, &w->s);
			fprintf(j, "}");
		}
		fprintf(j, "],\"calls\":[");
		for (int v6 = 0; v6 < 2; v6++) {
			fprintf(j, "%s{\"case\":\"stray ACK, one call each\",\"counter\":\"%s\","
				"\"family\":\"%s\",", v6 ? "," : "", lab_cnt_name(CNT_DROP_UNKNOWN),
				v6 ? "ipv6" : "ipv4");
			json_sample(j, &calls_unknown[v6]);
			fprintf(j, "}");
		}
		fprintf(j, "],\"scan\":[");
		for (int i = 0; i < nsizes; i++)
			for (int k = 0; k < 3; k++) {
				fprintf(j, "%s{\"flows\":%u,\"case\":\"%s\",\"family\":\"%s\",",
					i || k ? "," : "", sizes[i],
					k == 2 ? "stray ACK" : "verified flow",
					k == 1 ? "ipv6" : "ipv4");
				json_sample(j, &scan[i][k]);
				fprintf(j, "}");
			}
		fprintf(j, "],\"cold\":[");
		for (int i = 0; i < nsizes; i++)
			for (int k = 0; k < 2; k++) {
				fprintf(j, "%s{\"flows\":%u,\"case\":\"%s\",\"frames\":%d,"
					"\"added_ns\":[", i || k ? "," : "", sizes[i],
					k ? "stray ACK" : "verified flow", N_COLD);
				for (int r = 0; r < runs; r++)
					fprintf(j, "%s%.3f", r ? "," : "", cold[i][k].added[r]);
				fprintf(j, "],\"path_ok\":%s}", cold[i][k].path_ok ? "true" : "false");
			}
		fprintf(j, "],\"floors\":[");
		for (size_t i = 0; i < N_FLOORS; i++)
			for (int v6 = 0; v6 < 2; v6++) {
				static const char *const fname[F_N] = { "empty", "parse", "floor", "gate" };
				const struct floor_sample *fs = &floor_res[i][v6];

				fprintf(j, "%s{\"case\":\"%s\",\"counter\":\"%s\",\"family\":\"%s\","
					"\"floor\":\"%s\",", i || v6 ? "," : "", cases[floors[i].c].name,
					lab_cnt_name(cases[floors[i].c].counter), v6 ? "ipv6" : "ipv4",
					floors[i].prog);
				for (int p = 0; p < F_N; p++) {
					fprintf(j, "\"%s_ns\":[", fname[p]);
					for (int r = 0; r < runs; r++)
						fprintf(j, "%s%.3f", r ? "," : "", fs->ns[p][r]);
					fprintf(j, "],");
				}
				fprintf(j, "\"path_ok\":%s}", fs->path_ok ? "true" : "false");
			}
		fprintf(j, "],\"flood\":[");
		for (int on = 0; on < 2; on++) {
			fprintf(j, "%s{\"syncookies\":\"%s\",\"frames\":%d,\"pending\":%u,",
				on ? "," : "", on ? "on" : "off", N_COLD, flood[on].pending);
			for (int p = 0; p < N_PROGS; p++) {
				fprintf(j, "\"%s_added_ns\":[", prog_name[p]);
				for (int r = 0; r < runs; r++)
					fprintf(j, "%s%.3f", r ? "," : "", flood[on].added[p][r]);
				fprintf(j, "],");
			}
			fprintf(j, "\"path_ok\":%s}", flood[on].path_ok ? "true" : "false");
		}
		fprintf(j, "]}\n");
		if (fclose(j))
			die(json);
	}

	bpf_object__close(xf);
	empty_bpf__destroy(empty);
	gate_warm_bpf__destroy(warm);
	lab_close(&lab);
	for (int c = 0; c < N_CASES; c++)
		for (int v6 = 0; v6 < 2; v6++)
			if (!res[c][v6].path_ok)
				return 1;
	for (size_t i = 0; i < N_FLOORS; i++)
		if (!floor_res[i][0].path_ok || !floor_res[i][1].path_ok)
			return 1;
	return warm_syn[0].s.path_ok && warm_syn[1].s.path_ok ? 0 : 1;
}
