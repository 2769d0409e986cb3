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

/*
 * The maps. A flow's entry is in GM_VERIFIED4/GM_PENDING4 when it is IPv4
 * (struct flow_key4), in GM_VERIFIED/GM_PENDING otherwise: the functions
 * below that take a struct flow_key pick the map, and gatemap_each() over
 * GM_VERIFIED or GM_PENDING walks both, giving every key as a flow_key.
 */
enum gatemap_id {
	GM_VERIFIED,
	GM_PENDING,
	GM_PENALTY,
	GM_ALLOW_SRC,
	GM_SYN_RL,
	GM_PORTS,
	GM_GATE_CFG,
	GM_STATS,
	GM_STANDING,
	GM_DENY,
	GM_EVENTS,	/* a ring buffer: read it with libbpf's ring_buffer */
	GM_SITES,
	GM_REASONS,
	GM_HANDSHAKES,	/* handshake outcomes by reason id; mmapable */
	GM_VERIFIED4,
	GM_PENDING4,
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
 * gatemap_flow_fd(gm, id, key, k4, mkey): for GM_VERIFIED or GM_PENDING,
 * the fd of the map that holds key's flow, with *mkey set to the key that
 * map takes (key itself, or k4 filled from it).
 */
int gatemap_flow_fd(const struct gatemap *gm, enum gatemap_id id, const struct flow_key *key,
		    struct flow_key4 *k4, const void **mkey);

/* gatemap_key4_to_key(k4, key): the flow_key of an IPv4 flow's key. */
void gatemap_key4_to_key(const struct flow_key4 *k4, struct flow_key *key);

/*
 * gatemap_each(gm, id, fn, ctx): calls fn(key, value, ctx) for every entry
 * of a (non-per-CPU) map, stopping early when fn returns non-zero.
 * Entries deleted during the walk are skipped. GM_VERIFIED and GM_PENDING
 * walk the IPv6 map, then the IPv4 one, with keys as struct flow_key.
 * Returns 0 or -errno.
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
 * gatemap_verify(gm, key, site_id, cert_id, flags, lease_ns): pins a
 * verified, open flow (flags: enum verified_flags, VERIFIED_F_OPEN added)
 * that passes for lease_ns unless renewed, and removes it from pending.
 * Returns 0 or -errno.
 */
int gatemap_verify(struct gatemap *gm, const struct flow_key *key,
		   __u32 site_id, const __u8 cert_id[8], __u32 flags, __u64 lease_ns);

/*
 * gatemap_renew(gm, key, lease_ns): an open flow passes for lease_ns from
 * now. Returns 1, 0 if the flow is gone or no longer open (closed and
 * lingering), or -errno.
 */
int gatemap_renew(struct gatemap *gm, const struct flow_key *key, __u64 lease_ns);

/*
 * gatemap_open_flows(gm, keys, n): the keys of the open verified flows, in
 * *keys (malloc'd, the caller frees it; NULL when none) and *n. Returns 0
 * or -errno.
 */
int gatemap_open_flows(struct gatemap *gm, struct flow_key **keys, size_t *n);

/*
 * gatemap_linger(gm, key, linger_ns): closes a verified flow, letting it
 * pass for linger_ns more, so its TCP teardown still gets through.
 * Returns 0 or -errno (-ENOENT if the flow is not pinned).
 */
int gatemap_linger(struct gatemap *gm, const struct flow_key *key,
		   __u64 linger_ns);

/*
 * gatemap_pending_close(gm, key, linger_ns, max_age_ns, stamp): the
 * handshake of a pending flow ended without a verdict that pins it; its
 * entry is rewritten to age out linger_ns from now (the gate passes a
 * pending flow for max_age_ns after its first_seen_ns), so the client's
 * last ACK and FIN still pass, with one bpf() call. *stamp gets the
 * first_seen_ns written, for gatemap_pending_forget. Returns 0 or -errno
 * (-ENOENT if the gate holds no pending entry for the flow).
 */
int gatemap_pending_close(struct gatemap *gm, const struct flow_key *key, __u64 linger_ns,
			  __u64 max_age_ns, __u64 *stamp);

/*
 * gatemap_pending_forget(gm, key, stamp): deletes the flow's pending entry
 * if it still carries stamp (a new connection on the same tuple has one
 * of its own). Returns 1 if deleted, 0 if not, or -errno.
 */
int gatemap_pending_forget(struct gatemap *gm, const struct flow_key *key, __u64 stamp);

/*
 * gatemap_verified_forget(gm, key): deletes the flow's verified entry if
 * it is closed and its linger is over (a new connection on the same tuple
 * has an open one). Returns 1 if deleted, 0 if not, or -errno.
 */
int gatemap_verified_forget(struct gatemap *gm, const struct flow_key *key);

/*
 * gatemap_sweep(gm, all): deletes closed verified entries whose linger
 * expired (all: every entry, for an agent starting over). Open ones stay
 * for their agent to renew, even past their lease. Returns the number
 * deleted, or -errno.
 */
int gatemap_sweep(struct gatemap *gm, bool all);

/*
 * gatemap_src_prefix(cfg, addr, key): the key of penalty and standing for
 * a source: addr cut to cfg's penalty_prefix4 or penalty_prefix6.
 */
void gatemap_src_prefix(const struct gate_cfg *cfg, const __u8 addr[16], struct src_key *key);

/* The agent's rule for penalizing a source prefix. */
struct gatemap_penalty_rule {
	__u32 after;		/* failures within window_ns that earn a penalty */
	__u64 window_ns;
	__u64 base_ns;		/* the first penalty; each later one doubles */
	__u64 max_ns;
};

/*
 * gatemap_fail(gm, src, rule, reason, site_id, out): counts a failed
 * handshake of the prefix src, for reason (the agent's reason id) at site
 * site_id (0: none). Once rule->after failures fall within rule->window_ns
 * the prefix is penalized for rule->base_ns, doubled per earlier penalty
 * that ended less than rule->max_ns ago, capped at rule->max_ns. Stores
 * the entry in out (may be NULL). Returns 1 if it is penalized now, 0 if
 * the failure was only counted, or -errno.
 */
int gatemap_fail(struct gatemap *gm, const struct src_key *src,
		 const struct gatemap_penalty_rule *rule, __u32 reason, __u32 site_id,
		 struct penalty *out);

/*
 * gatemap_succeed(gm, src, standing_ns): the prefix src completed a
 * verified handshake: it is in good standing for standing_ns, and its
 * failures and any penalty are cleared. Returns 0 or -errno.
 */
int gatemap_succeed(struct gatemap *gm, const struct src_key *src, __u64 standing_ns);

/*
 * gatemap_in_standing(gm, src): whether the prefix src is in good
 * standing now. 1, 0, or -errno.
 */
int gatemap_in_standing(struct gatemap *gm, const struct src_key *src);

/*
 * gatemap_deny_flag(gm): sets GATE_F_DENY when deny has entries and clears
 * it when it has none, so the gate looks sources up only when it must.
 * Returns 0 or -errno.
 */
int gatemap_deny_flag(struct gatemap *gm);

/*
 * gatemap_deny_put(gm, key, until_ns, origin): denies the CIDR key until
 * until_ns (AOPGATE_FOREVER: until deleted), written by origin. A
 * non-operator origin never replaces a live deny of another origin:
 * -EEXIST then. Returns 0 or -errno (-ENOSPC, -E2BIG: the map is full).
 */
int gatemap_deny_put(struct gatemap *gm, const struct allow_key *key, __u64 until_ns,
		     enum deny_origin origin);

/*
 * gatemap_deny_del(gm, key, origin): removes the deny of the CIDR key if
 * origin wrote it. Returns 1 if removed, 0 if there was none of origin's,
 * or -errno.
 */
int gatemap_deny_del(struct gatemap *gm, const struct allow_key *key, enum deny_origin origin);

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

/*
 * gatemap_name_put(gm, id, idx, name): writes entry idx of the sites or
 * reasons map (id GM_SITES or GM_REASONS); name NULL clears it. Returns 0
 * or -errno (-E2BIG: idx past the map).
 */
int gatemap_name_put(struct gatemap *gm, enum gatemap_id id, __u32 idx, const char *name);

/*
 * gatemap_name_get(gm, id, idx, buf, len): the published name of site or
 * reason idx, or "#idx" when none was published (an agent not running, an
 * older one). Returns buf.
 */
const char *gatemap_name_get(const struct gatemap *gm, enum gatemap_id id, __u32 idx,
			     char *buf, size_t len);

#endif
