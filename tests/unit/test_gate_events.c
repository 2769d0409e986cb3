// SPDX-License-Identifier: GPL-2.0-only
/*
 * The gate's drop events, through the real program with BPF_PROG_TEST_RUN:
 * a drop (or would-drop) sends one event naming its source, ports and
 * verdict; a pass sends none; the per-second cap holds under a burst; 0
 * turns events off. The events are read back from the ring buffer the way
 * `aopgate drops` reads them.
 */
#include <arpa/inet.h>
#include <unistd.h>
#include "tap.h"
#include "frame.h"
#include "gatelab.h"

#define GATE_PORT	443
#define BACKEND_PORT	8080
#define SEC_NS		1000000000ull
#define MAX_EVENTS	2048

static struct lab lab;
static struct ring_buffer *ring;
static struct gate_event got[MAX_EVENTS];
static int n_got;

static void bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

static int take(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (size == sizeof(struct gate_event) && n_got < MAX_EVENTS)
		memcpy(&got[n_got], data, size);
	n_got++;
	return 0;
}

/* Empties the ring and counts what it held into got/n_got. */
static void drain(void)
{
	n_got = 0;
	if (ring_buffer__consume(ring) < 0)
		bail("reading the events ring");
}

/* Forgets the maps' state and the rate window; writes a config with rate. */
static void fresh(__u32 mode, __u32 rate)
{
	struct gate_cfg c = lab_cfg_default();

	c.mode = mode;
	c.events_rate = rate;
	c.syn_rate = 1000;
	c.syn_burst = 1000;
	if (lab_reset(&lab) || lab_set_cfg(&lab, &c))
		bail("resetting the lab");
	lab.skel->bss->ev_window_ns = 0;
	lab.skel->bss->ev_sent = 0;
	drain();
}

static size_t frame(int ipv6, __u16 sport, __u16 dport, __u8 flags, uint8_t *f,
		    struct fspec *s)
{
	fr_tcp(s, ipv6, ipv6 ? "2001:db8:1:2::7" : "198.51.100.7",
	       ipv6 ? "2001:db8:ffff::10" : "192.0.2.10", sport, dport, flags);
	return frame_build(s, f);
}

/* Runs a frame once and returns the verdict (1 pass, 0 drop). */
static int run(int ep, const uint8_t *f, size_t len)
{
	int verdict = -1;

	if (lab_run(&lab, ep, f, len, &verdict))
		bail("BPF_PROG_TEST_RUN");
	return verdict;
}

/* One event in got[0] matching the frame s and the counter want. */
static int event_is(const struct fspec *s, __u32 want, int monitor, __u64 t0, __u64 t1,
		    char *why, size_t len)
{
	const struct gate_event *ev = &got[0];

	if (n_got != 1)
		return snprintf(why, len, "%d events, want 1", n_got), 0;
	if (memcmp(ev->saddr, s->src, 16))
		return snprintf(why, len, "source differs"), 0;
	if (ntohs(ev->sport) != s->sport || ntohs(ev->dport) != s->dport)
		return snprintf(why, len, "ports %u -> %u", ntohs(ev->sport),
				ntohs(ev->dport)), 0;
	if (ev->counter != want)
		return snprintf(why, len, "verdict %s, want %s",
				gatemap_counter_name(ev->counter), gatemap_counter_name(want)), 0;
	if (!!(ev->flags & GATE_EV_F_MONITOR) != monitor)
		return snprintf(why, len, "monitor flag %d, want %d", ev->flags, monitor), 0;
	if (ev->proto != s->proto)
		return snprintf(why, len, "proto %u", ev->proto), 0;
	if (ev->time_ns < t0 || ev->time_ns > t1)
		return snprintf(why, len, "time %llu outside the run", (unsigned long long)ev->time_ns), 0;
	return 1;
}

static void drop_sends_one_event(int ep, int ipv6, __u32 mode)
{
	uint8_t f[FRAME_MAX];
	struct fspec s;
	size_t len = frame(ipv6, 40000, BACKEND_PORT, FR_SYN, f, &s);
	int monitor = mode == GATE_MONITOR;
	__u32 want = monitor ? CNT_WOULD_DROP_BACKEND : CNT_DROP_BACKEND;
	char why[160] = "";
	__u64 t0, t1;
	int verdict, good;

	fresh(mode, 100);
	t0 = lab_now();
	verdict = run(ep, f, len);
	t1 = lab_now();
	drain();
	good = verdict == monitor && event_is(&s, want, monitor, t0, t1, why, sizeof(why));
	ok(good, "%s ipv%d %s: a SYN to the BACKEND port sends one event with its source, "
	   "ports and %s", lab_entry_name[ep], ipv6 ? 6 : 4, monitor ? "monitor" : "enforce",
	   gatemap_counter_name(want));
	if (!good)
		diag("verdict %d; %s", verdict, why);
}

static void udp_drop_names_udp(int ep)
{
	uint8_t f[FRAME_MAX];
	struct fspec s;
	size_t len;
	char why[160] = "";

	frame(0, 5353, GATE_PORT, 0, f, &s);
	s.proto = FR_PROTO_UDP;
	s.tcp_opt_len = 0;
	s.payload_len = 32;
	len = frame_build(&s, f);
	fresh(GATE_ENFORCE, 100);
	run(ep, f, len);
	drain();
	ok(event_is(&s, CNT_DROP_NON_TCP, 0, 0, ~0ull, why, sizeof(why)),
	   "%s: UDP to a GATE port sends one drop-non-tcp event with proto udp",
	   lab_entry_name[ep]);
	if (why[0])
		diag("%s", why);
}

static void passes_send_none(int ep)
{
	uint8_t f[FRAME_MAX];
	struct fspec s;
	struct flow_key k;
	size_t len;
	int verdict;

	fresh(GATE_ENFORCE, 100);
	len = frame(0, 40001, GATE_PORT, FR_ACK, f, &s);
	k = fr_key(&s);
	if (lab_set_port(&lab, GATE_PORT, PORT_GATE) || lab_verify(&lab, &k, 0))
		bail("seeding a verified flow");
	verdict = run(ep, f, len);
	drain();
	ok(verdict == 1 && n_got == 0,
	   "%s: a packet of a verified flow passes and sends no event", lab_entry_name[ep]);
	if (verdict != 1 || n_got)
		diag("verdict %d, %d events", verdict, n_got);

	len = frame(0, 40002, GATE_PORT, FR_SYN, f, &s);
	verdict = run(ep, f, len);
	drain();
	ok(verdict == 1 && n_got == 0, "%s: an admitted SYN (pass-syn) sends no event",
	   lab_entry_name[ep]);
	if (verdict != 1 || n_got)
		diag("verdict %d, %d events", verdict, n_got);
}

static void off_sends_none(int ep)
{
	uint8_t f[FRAME_MAX];
	struct fspec s;
	size_t len = frame(0, 40000, BACKEND_PORT, FR_SYN, f, &s);
	int verdict;

	fresh(GATE_ENFORCE, 0);
	verdict = run(ep, f, len);
	drain();
	ok(verdict == 0 && n_got == 0, "%s: with events_rate 0 a drop sends no event",
	   lab_entry_name[ep]);
	if (verdict || n_got)
		diag("verdict %d, %d events", verdict, n_got);
}

/*
 * 1000 drops in one BPF_PROG_TEST_RUN burst (well inside a second) send
 * at most the cap; the next second's window sends again.
 */
static void cap_holds(int ep)
{
	const __u32 cap = 10;
	uint8_t f[FRAME_MAX];
	struct fspec s;
	size_t len = frame(0, 40000, BACKEND_PORT, FR_SYN, f, &s);
	__u32 rv;

	fresh(GATE_ENFORCE, cap);
	if (lab_run_n(&lab, ep, f, len, 1000, &rv, NULL))
		bail("BPF_PROG_TEST_RUN");
	drain();
	ok(n_got >= 1 && n_got <= (int)cap,
	   "%s: 1000 drops in a burst send at most events_rate (%u) events", lab_entry_name[ep],
	   cap);
	if (n_got < 1 || n_got > (int)cap)
		diag("%d events", n_got);

	usleep(1100 * 1000);
	if (lab_run_n(&lab, ep, f, len, 1000, &rv, NULL))
		bail("BPF_PROG_TEST_RUN");
	drain();
	ok(n_got >= 1 && n_got <= (int)cap, "%s: a second later the window sends again",
	   lab_entry_name[ep]);
	if (n_got < 1 || n_got > (int)cap)
		diag("%d events", n_got);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (lab_open(&lab, 4096, 4096))
		bail("loading the gate");
	ring = ring_buffer__new(bpf_map__fd(lab.skel->maps.events), take, NULL, NULL);
	if (!ring)
		bail("opening the events ring");
	if (lab_set_port(&lab, GATE_PORT, PORT_GATE) ||
	    lab_set_port(&lab, BACKEND_PORT, PORT_BACKEND))
		bail("writing ports");
	for (int ep = 0; ep < LAB_N_ENTRIES; ep++) {
		drop_sends_one_event(ep, 0, GATE_ENFORCE);
		drop_sends_one_event(ep, 1, GATE_ENFORCE);
		drop_sends_one_event(ep, 0, GATE_MONITOR);
		drop_sends_one_event(ep, 1, GATE_MONITOR);
		udp_drop_names_udp(ep);
		passes_send_none(ep);
		off_sends_none(ep);
		cap_holds(ep);
	}
	ring_buffer__free(ring);
	lab_close(&lab);
	return tap_done();
}
