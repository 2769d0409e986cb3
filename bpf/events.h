/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the gate publishes for `aopgate drops` and `top`: a ring of
 * sampled drop events, and the maps of names the agent fills in.
 *
 * Included by gate.bpf.c only, after parse.h (an event is a parsed packet).
 */
#ifndef AOPGATE_EVENTS_H
#define AOPGATE_EVENTS_H

/* Sampled drop events for `aopgate drops` and `top`. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, AOPGATE_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

/*
 * Names the agent publishes for the listings (site id, reason id -> name).
 * The gate never reads them; they are declared here so that attach creates
 * and pins them with the others and a detach --purge removes them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AOPGATE_MAX_SITES);
	__type(key, __u32);
	__type(value, struct gate_name);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AOPGATE_MAX_REASONS);
	__type(key, __u32);
	__type(value, struct gate_name);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} reasons SEC(".maps");

/*
 * Handshake outcomes by reason id (0: ok), counted by the agent through a
 * mapping of this array, so counting costs it no system call; `top` and
 * `status` read them. Totals since the map was created, like stats.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AOPGATE_MAX_REASONS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} handshakes SEC(".maps");

/*
 * The events' rate limit: a one-second window shared by all CPUs, when it
 * began and how many events it sent. It lives in .bss, not in a pinned
 * map: it holds nothing worth keeping across a program swap, and the
 * tests reset it through the skeleton.
 */
__u64 ev_window_ns;
__u64 ev_sent;

/*
 * Sends one drop event, unless events_rate were sent in this second
 * already. Called after a drop verdict only, so passes never pay for it.
 * Under a flood the window is full after the first events_rate drops, and
 * from then on each drop reads the shared window without writing it: the
 * cache line stays shared instead of bouncing between CPUs. Two CPUs may
 * both open a new window or both take the last slot; the overshoot is a
 * few events, not a flood.
 */
static __always_inline void drop_event(const struct pkt *p, __u32 rate, __u32 id,
				       int monitor)
{
	struct gate_event *ev;
	/*
	 * The coarse clock (the last tick) is enough for a one-second window
	 * and, in a VM, costs a fraction of a read of the clock source: a
	 * flood over the cap pays only for it and one read of the window.
	 */
	__u64 now = bpf_ktime_get_coarse_ns();

	if (now - ev_window_ns >= 1000000000ull) {
		ev_window_ns = now;
		ev_sent = 0;
	} else if (ev_sent >= rate) {
		return;
	}
	if (__sync_fetch_and_add(&ev_sent, 1) >= rate)
		return;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return;		/* the ring is full: nobody reads it */
	ev->time_ns = bpf_ktime_get_ns();
	__builtin_memcpy(ev->saddr, p->key.saddr, 16);
	ev->sport = p->key.sport;
	ev->dport = p->key.dport;
	ev->counter = id;
	ev->flags = monitor ? GATE_EV_F_MONITOR : 0;
	ev->proto = p->key.proto;
	bpf_ringbuf_submit(ev, 0);
}

#endif /* AOPGATE_EVENTS_H */
