// SPDX-License-Identifier: GPL-2.0-only
/* `aopgate top`; see top.h. Plain ANSI escapes, no curses. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "cli.h"
#include "duration.h"
#include "gatemap.h"
#include "top.h"

/* Rows of each source table; a frame fits 24 lines with a few verdicts. */
#define TOP_ROWS	5
/* Distinct dropped sources remembered; the least dropped one makes room. */
#define TOP_SOURCES	256
/* Penalty entries read per frame: a bound on the cost of a full map. */
#define TOP_PENALTY_SCAN 65536

struct dropped {
	__u8 addr[16];
	__u64 events;
	__u16 last;		/* counter id of its latest event */
};

struct penalized {
	__u8 addr[16];
	struct penalty p;
};

/* One handshake outcome's count, then and now. */
struct outcome {
	__u32 reason;
	__u64 was, now;
};

struct top {
	struct gatemap *gm;
	struct outcome hs[AOPGATE_MAX_REASONS];
	struct gate_cfg cfg;
	struct dropped src[TOP_SOURCES];
	int n_src;
	__u64 events;
	struct penalized pen[TOP_ROWS];
	int n_pen, n_penalized, scanned;
	__u64 now;
};

/* Counts one drop event against its source. */
static int on_event(void *ctx, void *data, size_t size)
{
	const struct gate_event *ev = data;
	struct top *t = ctx;
	struct dropped *d = NULL;
	int i, min = 0;

	if (size < sizeof(*ev))
		return 0;
	t->events++;
	for (i = 0; i < t->n_src && !d; i++)
		if (!memcmp(t->src[i].addr, ev->saddr, 16))
			d = &t->src[i];
	if (!d && t->n_src < TOP_SOURCES) {
		d = &t->src[t->n_src++];
		*d = (struct dropped){ .events = 0 };
	} else if (!d) {
		for (i = 1; i < TOP_SOURCES; i++)
			if (t->src[i].events < t->src[min].events)
				min = i;
		d = &t->src[min];
		d->events = 0;
	}
	memcpy(d->addr, ev->saddr, 16);
	d->events++;
	d->last = ev->counter;
	return 0;
}

static int by_events(const void *a, const void *b)
{
	const struct dropped *x = a, *y = b;

	return x->events < y->events ? 1 : x->events > y->events ? -1 : 0;
}

/* Keeps the TOP_ROWS penalized prefixes with the most strikes, then the longest left. */
static int on_penalty(const void *key, const void *value, void *ctx)
{
	const struct penalty *p = value;
	struct top *t = ctx;
	int i, worst = 0;

	if (++t->scanned > TOP_PENALTY_SCAN)
		return 1;
	if (p->until_ns <= t->now)
		return 0;
	t->n_penalized++;
	if (t->n_pen < TOP_ROWS) {
		i = t->n_pen++;
	} else {
		for (i = 1; i < TOP_ROWS; i++)
			if (t->pen[i].p.strikes < t->pen[worst].p.strikes ||
			    (t->pen[i].p.strikes == t->pen[worst].p.strikes &&
			     t->pen[i].p.until_ns < t->pen[worst].p.until_ns))
				worst = i;
		if (p->strikes < t->pen[worst].p.strikes ||
		    (p->strikes == t->pen[worst].p.strikes &&
		     p->until_ns <= t->pen[worst].p.until_ns))
			return 0;
		i = worst;
	}
	memcpy(t->pen[i].addr, ((const struct src_key *)key)->addr, 16);
	t->pen[i].p = *p;
	return 0;
}

static int by_strikes(const void *a, const void *b)
{
	const struct penalized *x = a, *y = b;

	if (x->p.strikes != y->p.strikes)
		return x->p.strikes < y->p.strikes ? 1 : -1;
	return x->p.until_ns < y->p.until_ns ? 1 : x->p.until_ns > y->p.until_ns ? -1 : 0;
}

/* "10.0.0.0/24" for a penalty prefix shorter than the address, else the address. */
static const char *prefix_of(const struct top *t, const __u8 addr[16], char *buf, size_t len)
{
	bool v4 = addr_is_v4(addr);
	__u32 bits = v4 ? t->cfg.penalty_prefix4 : t->cfg.penalty_prefix6;
	char a[INET6_ADDRSTRLEN];

	addr_str(addr, a, sizeof(a));
	if (bits && bits < (v4 ? 32u : 128u))
		snprintf(buf, len, "%s/%u", a, bits);
	else
		snprintf(buf, len, "%s", a);
	return buf;
}

/* Reads the handshakes map into now, keeping the last frame's counts in was. */
static void read_handshakes(struct top *t, bool first)
{
	for (__u32 r = 0; r < AOPGATE_MAX_REASONS; r++) {
		__u64 n = 0;

		bpf_map_lookup_elem(gatemap_fd(t->gm, GM_HANDSHAKES), &r, &n);
		t->hs[r].reason = r;
		t->hs[r].was = first ? n : t->hs[r].now;
		t->hs[r].now = n;
	}
}

/* ok first, then the failures that moved most, then the most frequent. */
static int by_rate(const void *a, const void *b)
{
	const struct outcome *x = a, *y = b;
	__u64 dx = x->now - x->was, dy = y->now - y->was;

	if (!x->reason || !y->reason)
		return x->reason ? 1 : y->reason ? -1 : 0;
	if (dx != dy)
		return dx < dy ? 1 : -1;
	return x->now < y->now ? 1 : x->now > y->now ? -1 : 0;
}

static void frame_handshakes(struct top *t, double secs)
{
	struct outcome hs[AOPGATE_MAX_REASONS];
	char why[AOPGATE_NAME_LEN];
	int shown = 0;

	memcpy(hs, t->hs, sizeof(hs));
	qsort(hs, AOPGATE_MAX_REASONS, sizeof(hs[0]), by_rate);
	printf("\n%-32s %14s %18s\n", "handshakes (aopgated)", "per second", "total");
	for (int i = 0; i < AOPGATE_MAX_REASONS && shown <= TOP_ROWS; i++) {
		if (!hs[i].now)
			continue;
		gatemap_name_get(t->gm, GM_REASONS, hs[i].reason, why, sizeof(why));
		printf("%-32s %14.1f %18llu\n", hs[i].reason ? why : "ok (verified)",
		       (hs[i].now - hs[i].was) / secs, (unsigned long long)hs[i].now);
		shown++;
	}
	if (!shown)
		printf("(none yet)\n");
}

static void frame(struct top *t, const struct counter *a, const struct counter *b,
		  double secs, uint64_t interval_ns)
{
	char buf[64], left[32], why[AOPGATE_NAME_LEN], clock[16];
	time_t wall = time(NULL);
	struct tm tm;
	int shown = 0;

	localtime_r(&wall, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	printf("aopgate top  mode %-7s  every %-6s %38s\n",
	       t->cfg.mode == GATE_MONITOR ? "monitor" : "enforce",
	       duration_str(interval_ns, buf, sizeof(buf)), clock);
	printf("\n%-32s %14s %18s\n", "verdict", "packets/s", "packets");
	for (int id = 0; id < CNT_MAX; id++) {
		if (!b[id].packets)
			continue;
		printf("%-32s %14.0f %18llu\n", gatemap_counter_name(id),
		       (b[id].packets - a[id].packets) / secs,
		       (unsigned long long)b[id].packets);
		shown++;
	}
	if (!shown)
		printf("(no packets yet)\n");
	printf("%-32s %14.0f\n", "new connections/s (pass-syn)",
	       (b[CNT_PASS_SYN].packets - a[CNT_PASS_SYN].packets) / secs);

	qsort(t->src, t->n_src, sizeof(t->src[0]), by_events);
	printf("\n%-41s %10s  %-26s\n", "dropped sources (sampled events)", "events",
	       "last verdict");
	for (int i = 0; i < t->n_src && i < TOP_ROWS; i++)
		printf("%-41s %10llu  %-26s\n", addr_str(t->src[i].addr, buf, sizeof(buf)),
		       (unsigned long long)t->src[i].events,
		       gatemap_counter_name(t->src[i].last));
	if (!t->n_src)
		printf(t->cfg.events_rate ? "(none)\n" : "(none: events_rate is 0)\n");

	qsort(t->pen, t->n_pen, sizeof(t->pen[0]), by_strikes);
	printf("\n%-43s %7s %9s  %-17s\n", "penalized sources", "strikes", "remaining",
	       "last failure");
	for (int i = 0; i < t->n_pen; i++) {
		const struct penalty *p = &t->pen[i].p;

		printf("%-43s %7u %9s  %-17.17s\n", prefix_of(t, t->pen[i].addr, buf, sizeof(buf)),
		       p->strikes, duration_str(p->until_ns - t->now, left, sizeof(left)),
		       gatemap_name_get(t->gm, GM_REASONS, p->last_reason, why, sizeof(why)));
	}
	if (t->n_penalized > t->n_pen)
		printf("... %d more\n", t->n_penalized - t->n_pen);
	else if (!t->n_pen)
		printf("(none)\n");
	frame_handshakes(t, secs);
	fflush(stdout);
}

/* Waits one interval while taking the events in; 0, or -1 on error or a stop. */
static int wait_interval(struct ring_buffer *rb, uint64_t interval_ns)
{
	uint64_t end = gatemap_now_ns() + interval_ns, now;
	int rc;

	while (!cli_stopped() && (now = gatemap_now_ns()) < end) {
		uint64_t ms = (end - now + 999999) / 1000000;

		rc = ring_buffer__poll(rb, ms > 200 ? 200 : (int)ms);
		if (rc < 0 && rc != -EINTR) {
			cli_err("cannot read the events ring buffer: %s", strerror(-rc));
			return -1;
		}
	}
	return cli_stopped() ? -1 : 0;
}

int top_run(const char *pin_root, uint64_t interval_ns, bool once)
{
	struct counter a[CNT_MAX], b[CNT_MAX];
	struct ring_buffer *rb = NULL;
	struct top *t;
	char err[256];
	uint64_t ta, tb;
	int ret = -1;

	t = calloc(1, sizeof(*t));
	if (!t) {
		cli_err("out of memory");
		return -1;
	}
	t->gm = gatemap_open(pin_root, err, sizeof(err));
	if (!t->gm) {
		cli_err("%s", err);
		goto out;
	}
	rb = ring_buffer__new(gatemap_fd(t->gm, GM_EVENTS), on_event, t, NULL);
	if (!rb) {
		cli_err("cannot read the events ring buffer: %s", strerror(errno));
		goto out;
	}
	cli_catch_stop();
	if (gatemap_read_stats(t->gm, a)) {
		cli_err("cannot read the counters: %s", strerror(errno));
		goto out;
	}
	read_handshakes(t, true);
	ta = gatemap_now_ns();
	for (;;) {
		if (wait_interval(rb, interval_ns))
			break;
		if (gatemap_read_stats(t->gm, b) || gatemap_read_cfg(t->gm, &t->cfg)) {
			cli_err("cannot read the gate's maps: %s", strerror(errno));
			goto out;
		}
		tb = gatemap_now_ns();
		t->now = tb;
		t->n_pen = t->n_penalized = t->scanned = 0;
		gatemap_each(t->gm, GM_PENALTY, on_penalty, t);
		read_handshakes(t, false);
		if (!once)
			fputs("\033[H\033[2J", stdout);	/* home, clear */
		frame(t, a, b, (tb - ta) / 1e9, interval_ns);
		if (once)
			break;
		memcpy(a, b, sizeof(a));
		ta = tb;
	}
	ret = 0;
out:
	ring_buffer__free(rb);
	gatemap_close(t->gm);
	free(t);
	return ret;
}
