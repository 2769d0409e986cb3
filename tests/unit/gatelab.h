/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A lab for the packet-level tests: loads the real gate object from its
 * skeleton with nothing pinned and small maps, runs frames through either
 * entry point with BPF_PROG_TEST_RUN, seeds and clears the maps, and reads
 * the per-CPU counters. Header-only; every test binary loads its own copy.
 */
#ifndef AOPGATE_GATELAB_H
#define AOPGATE_GATELAB_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "addr.h"
#include "aopgate.h"
#include "gatemap.h"
#include "gate.skel.h"

#define LAB_TC_PASS	(-1)	/* TC_ACT_UNSPEC */
#define LAB_TC_DROP	2	/* TC_ACT_SHOT */

enum lab_entry { LAB_XDP, LAB_TC, LAB_N_ENTRIES };

static const char *const lab_entry_name[LAB_N_ENTRIES] = { "xdp", "tc" };

struct lab {
	struct gate_bpf *skel;
	int ncpu;
	int prog[LAB_N_ENTRIES];
	int verified, pending, penalty, allow_src, syn_rl, ports, cfg, stats, standing, deny;
	int verified4, pending4;	/* the IPv4 flows' (struct flow_key4) */
};

struct lab_stats {
	__u64 packets[CNT_MAX];
	__u64 bytes[CNT_MAX];
};

/* lab_cnt_name(id): the counter's name, as `aopgate status` prints it. */
static inline const char *lab_cnt_name(__u32 id)
{
	return gatemap_counter_name(id);
}

/* lab_cnt_passes(id): does a packet counted under id pass? */
static inline int lab_cnt_passes(__u32 id)
{
	return id < CNT_DROP_BASE || id >= CNT_WOULD_DROP_BASE;
}

/* lab_now(): CLOCK_MONOTONIC in ns, the clock of bpf_ktime_get_ns(). */
static inline __u64 lab_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* lab_open(l, max_verified, max_lru): loads the gate with unpinned maps;
 * verified holds max_verified flows, the LRU maps max_lru. 0, or -1. */
static inline int lab_open(struct lab *l, __u32 max_verified, __u32 max_lru)
{
	struct bpf_map *m;
	int err;

	memset(l, 0, sizeof(*l));
	l->skel = gate_bpf__open();
	if (!l->skel) {
		fprintf(stderr, "gate_bpf__open: %s\n", strerror(errno));
		return -1;
	}
	/* Tests must never touch (or reuse) the maps of a running gate. */
	bpf_object__for_each_map(m, l->skel->obj)
		if (bpf_map__set_pin_path(m, NULL))
			goto err;
	if (bpf_map__set_max_entries(l->skel->maps.verified, max_verified) ||
	    bpf_map__set_max_entries(l->skel->maps.verified4, max_verified) ||
	    bpf_map__set_max_entries(l->skel->maps.pending, max_lru) ||
	    bpf_map__set_max_entries(l->skel->maps.pending4, max_lru) ||
	    bpf_map__set_max_entries(l->skel->maps.penalty, max_lru) ||
	    bpf_map__set_max_entries(l->skel->maps.syn_rl, max_lru) ||
	    bpf_map__set_max_entries(l->skel->maps.allow_src, 1024))
		goto err;
	err = gate_bpf__load(l->skel);
	if (err) {
		fprintf(stderr, "gate_bpf__load: %s\n", strerror(-err));
		goto err;
	}
	l->ncpu = libbpf_num_possible_cpus();
	if (l->ncpu <= 0)
		goto err;
	l->prog[LAB_XDP] = bpf_program__fd(l->skel->progs.gate_xdp);
	l->prog[LAB_TC] = bpf_program__fd(l->skel->progs.gate_tc);
	l->verified = bpf_map__fd(l->skel->maps.verified);
	l->pending = bpf_map__fd(l->skel->maps.pending);
	l->verified4 = bpf_map__fd(l->skel->maps.verified4);
	l->pending4 = bpf_map__fd(l->skel->maps.pending4);
	l->penalty = bpf_map__fd(l->skel->maps.penalty);
	l->allow_src = bpf_map__fd(l->skel->maps.allow_src);
	l->syn_rl = bpf_map__fd(l->skel->maps.syn_rl);
	l->standing = bpf_map__fd(l->skel->maps.standing);
	l->deny = bpf_map__fd(l->skel->maps.deny);
	l->ports = bpf_map__fd(l->skel->maps.ports);
	l->cfg = bpf_map__fd(l->skel->maps.gate_cfg);
	l->stats = bpf_map__fd(l->skel->maps.stats);
	return 0;
err:
	gate_bpf__destroy(l->skel);
	l->skel = NULL;
	return -1;
}

/* lab_close(l): unloads the gate and frees its maps. */
static inline void lab_close(struct lab *l)
{
	gate_bpf__destroy(l->skel);
	l->skel = NULL;
}

/* lab_cfg_default(): sane knobs for tests: enforce, no flags, 4 packets,
 * 4 KB and 10 s of pending budget, 1 SYN/s with a burst of 3 (1000 for a
 * source in good standing), penalties per whole address. */
static inline struct gate_cfg lab_cfg_default(void)
{
	struct gate_cfg c;

	memset(&c, 0, sizeof(c));
	c.mode = GATE_ENFORCE;
	c.pending_max_packets = 4;
	c.pending_max_bytes = 4096;
	c.pending_max_age_ns = 10ull * 1000000000ull;
	c.syn_rate = 1;
	c.syn_burst = 3;
	c.syn_rate_trusted = 1000;
	c.syn_burst_trusted = 1000;
	c.penalty_prefix4 = 32;
	c.penalty_prefix6 = 128;
	return c;
}

/* lab_set_cfg(l, c): writes gate_cfg; 0, or -1. */
static inline int lab_set_cfg(struct lab *l, const struct gate_cfg *c)
{
	__u32 zero = 0;

	return bpf_map_update_elem(l->cfg, &zero, c, BPF_ANY) ? -1 : 0;
}

/* lab_set_port(l, port, role): gives a port (host order) its role; 0, or -1. */
static inline int lab_set_port(struct lab *l, __u16 port, __u32 role)
{
	__u32 idx = port;
	struct port_cfg pc = { .role = role };

	return bpf_map_update_elem(l->ports, &idx, &pc, BPF_ANY) ? -1 : 0;
}

/* lab_clear_map(fd, key_size): deletes every entry; 0, or -1. Keys are
 * collected first: deleting while walking restarts the walk each time. */
static inline int lab_clear_map(int fd, size_t key_size)
{
	size_t n = 0, cap = 64;
	char *keys = malloc(cap * key_size);
	int rc = 0;

	if (!keys)
		return -1;
	while (!bpf_map_get_next_key(fd, n ? keys + (n - 1) * key_size : NULL,
				     keys + n * key_size)) {
		if (++n == cap) {
			char *k = realloc(keys, 2 * cap * key_size);

			if (!k) {
				rc = -1;
				break;
			}
			keys = k;
			cap *= 2;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * key_size) && errno != ENOENT)
			rc = -1;
	free(keys);
	return rc;
}

/*
 * lab_flow_fd(l, map, k, k4, mk): for map l->verified or l->pending, the
 * fd of the map that holds k's flow (the IPv4 one for an IPv4 flow), with
 * *mk the key it takes (k, or k4 filled from it).
 */
static inline int lab_flow_fd(const struct lab *l, int map, const struct flow_key *k,
			      struct flow_key4 *k4, const void **mk)
{
	if (!addr_is_v4(k->saddr)) {
		*mk = k;
		return map;
	}
	memcpy(&k4->saddr, k->saddr + 12, 4);
	memcpy(&k4->daddr, k->daddr + 12, 4);
	k4->sport = k->sport;
	k4->dport = k->dport;
	*mk = k4;
	return map == l->verified ? l->verified4 : l->pending4;
}

/* lab_flow_get(l, map, k, value): bpf_map_lookup_elem for k's flow. */
static inline int lab_flow_get(const struct lab *l, int map, const struct flow_key *k,
			       void *value)
{
	struct flow_key4 k4;
	const void *mk;
	int fd = lab_flow_fd(l, map, k, &k4, &mk);

	return bpf_map_lookup_elem(fd, mk, value);
}

/* lab_flow_put(l, map, k, value): bpf_map_update_elem (BPF_ANY) for k's flow. */
static inline int lab_flow_put(const struct lab *l, int map, const struct flow_key *k,
			       const void *value)
{
	struct flow_key4 k4;
	const void *mk;
	int fd = lab_flow_fd(l, map, k, &k4, &mk);

	return bpf_map_update_elem(fd, mk, value, BPF_ANY);
}

/* lab_clear_flows(l, map): empties l->verified or l->pending, both families. */
static inline int lab_clear_flows(struct lab *l, int map)
{
	return lab_clear_map(map, sizeof(struct flow_key)) |
	       lab_clear_map(map == l->verified ? l->verified4 : l->pending4,
			     sizeof(struct flow_key4));
}

/* lab_reset(l): forgets all flows, penalties, standing, denies, allowlist
 * entries and token buckets; config, ports and counters stay. 0, or -1. */
static inline int lab_reset(struct lab *l)
{
	return lab_clear_flows(l, l->verified) |
	       lab_clear_flows(l, l->pending) |
	       lab_clear_map(l->penalty, sizeof(struct src_key)) |
	       lab_clear_map(l->standing, sizeof(struct src_key)) |
	       lab_clear_map(l->deny, sizeof(struct allow_key)) |
	       lab_clear_map(l->allow_src, sizeof(struct allow_key)) |
	       lab_clear_map(l->syn_rl, sizeof(struct src_key));
}

/* lab_stats(l, s): sums every counter over the CPUs; 0, or -1. */
static inline int lab_stats(struct lab *l, struct lab_stats *s)
{
	struct counter vals[l->ncpu];

	memset(s, 0, sizeof(*s));
	for (__u32 id = 0; id < CNT_MAX; id++) {
		if (bpf_map_lookup_elem(l->stats, &id, vals))
			return -1;
		for (int c = 0; c < l->ncpu; c++) {
			s->packets[id] += vals[c].packets;
			s->bytes[id] += vals[c].bytes;
		}
	}
	return 0;
}

/* lab_run_n(l, entry, frame, len, repeat, &retval, &duration): runs the
 * frame repeat times; duration is the kernel's mean ns per run (may be
 * NULL). 0, or a negative errno when the kernel refuses the frame: it
 * refuses anything shorter than an Ethernet header, and for tc also an
 * IPv4/IPv6 ethertype without a whole IPv4/IPv6 header behind it. */
static inline int lab_run_n(struct lab *l, int entry, const void *frame,
			    size_t len, __u32 repeat, __u32 *retval,
			    __u32 *duration)
{
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = frame,
		.data_size_in = len,
		.repeat = repeat,
	);

	if (bpf_prog_test_run_opts(l->prog[entry], &o))
		return errno ? -errno : -EIO;
	*retval = o.retval;
	if (duration)
		*duration = o.duration;
	return 0;
}

/* lab_run(l, entry, frame, len, &verdict): runs the frame once; verdict is
 * 1 pass, 0 drop, -1 a return code the entry point must never give.
 * 0, or a negative errno when the kernel refuses the frame. */
static inline int lab_run(struct lab *l, int entry, const void *frame,
			  size_t len, int *verdict)
{
	__u32 rv = 0;
	int err = lab_run_n(l, entry, frame, len, 1, &rv, NULL);

	if (err)
		return err;
	if (entry == LAB_XDP)
		*verdict = rv == XDP_PASS ? 1 : rv == XDP_DROP ? 0 : -1;
	else
		*verdict = (int)rv == LAB_TC_PASS ? 1 : (int)rv == LAB_TC_DROP ? 0 : -1;
	return 0;
}

/* Seeding helpers: each writes one entry; 0, or -1. */

static inline int lab_verify_flags(struct lab *l, const struct flow_key *k,
				   __u64 expires_ns, __u32 flags)
{
	struct verified_flow v;

	memset(&v, 0, sizeof(v));
	v.verified_ns = lab_now();
	v.expires_ns = expires_ns;
	v.site_id = 1;
	v.flags = flags;
	return lab_flow_put(l, l->verified, k, &v) ? -1 : 0;
}

static inline int lab_verify(struct lab *l, const struct flow_key *k,
			     __u64 expires_ns)
{
	return lab_verify_flags(l, k, expires_ns, 0);
}

static inline int lab_pend(struct lab *l, const struct flow_key *k,
			   __u64 first_seen_ns, __u32 packets)
{
	struct pending_flow p = { .first_seen_ns = first_seen_ns,
				  .packets = packets };

	return lab_flow_put(l, l->pending, k, &p) ? -1 : 0;
}

static inline int lab_penalize(struct lab *l, const __u8 src[16],
			       __u64 until_ns)
{
	struct src_key k;
	struct penalty p = { .until_ns = until_ns, .strikes = 1 };

	memcpy(k.addr, src, 16);
	return bpf_map_update_elem(l->penalty, &k, &p, BPF_ANY) ? -1 : 0;
}

/* lab_deny(l, addr, prefixlen, until_ns): an operator's deny of a CIDR. */
static inline int lab_deny(struct lab *l, const __u8 addr[16], __u32 prefixlen, __u64 until_ns)
{
	struct allow_key k = { .prefixlen = prefixlen };
	struct deny d = { .until_ns = until_ns };

	memcpy(k.addr, addr, 16);
	return bpf_map_update_elem(l->deny, &k, &d, BPF_ANY) ? -1 : 0;
}

/* lab_stand(l, prefix, until_ns): the source prefix is in good standing. */
static inline int lab_stand(struct lab *l, const __u8 prefix[16], __u64 until_ns)
{
	struct src_key k;
	struct standing st = { .until_ns = until_ns };

	memcpy(k.addr, prefix, 16);
	return bpf_map_update_elem(l->standing, &k, &st, BPF_ANY) ? -1 : 0;
}

/* lab_allow(l, addr, prefixlen): prefixlen over the 128-bit mapped address. */
static inline int lab_allow(struct lab *l, const __u8 addr[16], __u32 prefixlen)
{
	struct allow_key k = { .prefixlen = prefixlen };
	__u8 one = 1;

	memcpy(k.addr, addr, 16);
	return bpf_map_update_elem(l->allow_src, &k, &one, BPF_ANY) ? -1 : 0;
}

#endif
