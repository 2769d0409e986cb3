/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Access to the gate's pinned maps from userspace (the CLI and the agent):
 * opening them under a pin root, and the operations both tools share.
 */
#ifndef AOPGATE_GATEMAP_H
#define AOPGATE_GATEMAP_H

#include <stdbool.h>
#include <sys/socket.h>
#include "aopgate.h"

enum gatemap_id {
	GM_VERIFIED,
	GM_PENDING,
	GM_PENALTY,
	GM_ALLOW_SRC,
	GM_SYN_RL,
	GM_PORTS,
	GM_GATE_CFG,
	GM_STATS,
	GM_N_MAPS,
};

struct gatemap;

/* gatemap_name(id): the map's (and pin's) name. */
const char *gatemap_name(enum gatemap_id id);

/*
 * gatemap_open(pin_root): opens every pinned map under pin_root. Returns
 * NULL with errno set (ENOENT: nothing attached there) and a message in
 * err (of errlen bytes) on failure.
 */
struct gatemap *gatemap_open(const char *pin_root, char *err, size_t errlen);

/* gatemap_close(gm): closes the map fds; gm may be NULL. */
void gatemap_close(struct gatemap *gm);

/* gatemap_fd(gm, id): the fd of one map. */
int gatemap_fd(const struct gatemap *gm, enum gatemap_id id);

/*
 * gatemap_each(gm, id, fn, ctx): calls fn(key, value, ctx) for every entry
 * of a (non-per-CPU) map, stopping early when fn returns non-zero.
 * Entries deleted during the walk are skipped. Returns 0 or -errno.
 */
typedef int (*gatemap_each_fn)(const void *key, const void *value, void *ctx);
int gatemap_each(const struct gatemap *gm, enum gatemap_id id,
		 gatemap_each_fn fn, void *ctx);

/* gatemap_now_ns(): CLOCK_MONOTONIC in ns, the gate's time base. */
__u64 gatemap_now_ns(void);

/*
 * gatemap_flow_key(key, peer, local): the gate's key for an accepted TCP
 * connection (source = peer). Returns 0, or -1 for a non-IP family.
 */
int gatemap_flow_key(struct flow_key *key, const struct sockaddr *peer,
		     const struct sockaddr *local);

/*
 * gatemap_verify(gm, key, site_id, cert_id): pins a verified, open flow
 * and removes it from pending. Returns 0 or -errno.
 */
int gatemap_verify(struct gatemap *gm, const struct flow_key *key,
		   __u32 site_id, const __u8 cert_id[8]);

/*
 * gatemap_linger(gm, key, linger_ns): lets a verified flow pass for
 * linger_ns more, so its TCP teardown still gets through. Returns 0 or
 * -errno (-ENOENT if the flow is not pinned).
 */
int gatemap_linger(struct gatemap *gm, const struct flow_key *key,
		   __u64 linger_ns);

/*
 * gatemap_sweep(gm, all): deletes verified entries whose linger expired
 * (all: every entry, for an agent starting over). Returns the number
 * deleted, or -errno.
 */
int gatemap_sweep(struct gatemap *gm, bool all);

/*
 * gatemap_penalize(gm, src, base_ns, max_ns, out): adds a strike to src;
 * the penalty lasts base_ns doubled per earlier unexpired strike, capped at
 * max_ns. Stores the new entry in out (may be NULL). Returns 0 or -errno.
 */
int gatemap_penalize(struct gatemap *gm, const __u8 src[16], __u64 base_ns,
		     __u64 max_ns, struct penalty *out);

/* gatemap_read_cfg / gatemap_write_cfg: the runtime knobs. 0 or -errno. */
int gatemap_read_cfg(struct gatemap *gm, struct gate_cfg *cfg);
int gatemap_write_cfg(struct gatemap *gm, const struct gate_cfg *cfg);

/*
 * gatemap_read_stats(gm, sum): sums the per-CPU counters into sum
 * (CNT_MAX entries). Returns 0 or -errno.
 */
int gatemap_read_stats(struct gatemap *gm, struct counter sum[CNT_MAX]);

/* gatemap_counter_name(id): e.g. "pass-verified", "would-drop-penalty". */
const char *gatemap_counter_name(unsigned int id);

#endif
