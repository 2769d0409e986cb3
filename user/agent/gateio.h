/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's side of the gate's maps, over user/lib/gatemap: admitting
 * verified flows, striking failed sources, lingering and sweeping. With
 * pin_root = off the maps are never opened, every call is a no-op and
 * gateio_ready() says so; the agent still enforces mTLS itself.
 */
#ifndef AOPGATE_GATEIO_H
#define AOPGATE_GATEIO_H

#include <stdbool.h>
#include "aopgate.h"
#include "config.h"
#include "gatemap.h"
#include "reason.h"

/*
 * gateio_lock(pin_root): makes this process the one agent of pin_root for
 * its lifetime (the kernel releases the lock when it ends, even by
 * kill -9), after checking that root owns the directory and nobody else
 * may write it. Returns 0, or -1 after logging why (another agent's pid).
 */
int gateio_lock(const char *pin_root);

/*
 * gateio_open(pin_root): opens the pinned maps (once; later calls are no-ops).
 * Returns 0, or -1 after logging why and how to fix it.
 */
int gateio_open(const char *pin_root);

/*
 * gateio_handshake(r): counts one handshake that ended for reason r
 * (REASON_OK: verified) in the gate's handshakes map, through a mapping:
 * no system call. A no-op without the maps.
 */
void gateio_handshake(enum reason r);

/* gateio_ready(): whether the maps are open. */
bool gateio_ready(void);

/*
 * gateio_admit(key, site_id, sha256, flags): the flow passes the gate from
 * now on (verified), open under a lease the lease thread renews; flags
 * (enum verified_flags) say how it was admitted.
 */
void gateio_admit(const struct flow_key *key, __u32 site_id, const unsigned char sha256[32],
		  __u32 flags);

/*
 * gateio_linger(key, ns): the flow's connection closed: it passes ns more,
 * no longer renewed, then the sweep removes it.
 */
void gateio_linger(const struct flow_key *key, __u64 ns);

/*
 * gateio_pending_close(key, ns): the flow's handshake ended unpinned (refused,
 * timed out, reset): its pending entry passes ns more, then the next sweep
 * deletes it, instead of it staying in the gate's LRU until evicted. One
 * bpf() call now, two at the sweep.
 */
void gateio_pending_close(const struct flow_key *key, __u64 ns);

/*
 * gateio_fail(src, rule, r, site_id, out): counts a failed handshake of
 * src's prefix for reason r at site site_id (0: none), see gatemap_fail.
 * Returns 1 if the prefix is penalized now, 0 if the failure was only
 * counted, -1 if the maps are not open or on error.
 */
int gateio_fail(const __u8 src[16], const struct gatemap_penalty_rule *rule,
		enum reason r, __u32 site_id, struct penalty *out);

/*
 * gateio_publish(cfg): takes cfg's flow_lease for the flows admitted and
 * renewed from now on, and writes cfg's site names and the reason names
 * to the sites and reasons maps, for the CLI's listings (at start and
 * after each reload). Logs a failure; never fails the agent.
 */
void gateio_publish(const struct config *cfg);

/* gateio_succeed(src, standing_ns): src's prefix verified; see gatemap_succeed. */
void gateio_succeed(const __u8 src[16], __u64 standing_ns);

/* gateio_in_standing(src): whether src's prefix is in good standing now. */
bool gateio_in_standing(const __u8 src[16]);

/* gateio_allowlisted(src): the allowlist is enforced and src is inside it. */
bool gateio_allowlisted(const __u8 src[16]);

/*
 * gateio_budget_spent(key): whether the gate holds the flow as pending
 * over its packet or byte budget, so its packets are being dropped (a
 * handshake that then times out was cut short by the gate).
 */
bool gateio_budget_spent(const struct flow_key *key);

/*
 * gateio_sweep(all): removes expired (all: every) verified entry and the
 * pending entries of closed handshakes whose time is up, and rereads the
 * gate's settings; the count of verified entries removed, or -1.
 */
int gateio_sweep(bool all);

/*
 * gateio_tick(): the agent's sweep once a second. It deletes the entries
 * of its closed connections whose time is up, one by one, and walks
 * verified as gateio_sweep(false) does only every GATEIO_WALK_EVERY ticks
 * (or when an entry did not fit in its list): a walk visits every bucket
 * of the map, however few flows it holds. Rereads the gate's settings.
 * The count of verified entries removed, or -1.
 */
int gateio_tick(void);
#define GATEIO_WALK_EVERY 30

/* The lease of an open flow until gateio_publish sets flow_lease; renewals per lease. */
#define GATEIO_DEF_LEASE_NS (30ull * 1000000000ull)
#define GATEIO_RENEWALS 5

/*
 * gateio_renew(): every open flow passes for flow_lease from now. Returns
 * how many were renewed, or -1 (logged).
 */
int gateio_renew(void);

/*
 * gateio_lease_start(): starts the thread that calls gateio_renew every
 * fifth of flow_lease, for the life of the process (no-op without maps).
 * Returns 0, or -1 (logged).
 */
int gateio_lease_start(void);

/* gateio_stats(sum): the datapath counters. 0, or -1 if not open. */
int gateio_stats(struct counter sum[CNT_MAX]);

#endif
