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

/*
 * gateio_open(pin_root): opens the pinned maps (once; later calls are no-ops).
 * Returns 0, or -1 after logging why and how to fix it.
 */
int gateio_open(const char *pin_root);

/* gateio_ready(): whether the maps are open. */
bool gateio_ready(void);

/* gateio_admit(key, site_id, sha256): the flow passes the gate from now on (verified). */
void gateio_admit(const struct flow_key *key, __u32 site_id, const unsigned char sha256[32]);

/* gateio_linger(key, ns): the flow passes ns more, then the sweep removes it. */
void gateio_linger(const struct flow_key *key, __u64 ns);

/*
 * gateio_strike(src, base_ns, max_ns, out): a strike for src (see
 * gatemap_penalize). Returns 0 with out filled, or -1 (not open, error).
 */
int gateio_strike(const __u8 src[16], __u64 base_ns, __u64 max_ns, struct penalty *out);

/* gateio_sweep(all): removes expired (all: every) verified entry; the count or -1. */
int gateio_sweep(bool all);

/* gateio_stats(sum): the datapath counters. 0, or -1 if not open. */
int gateio_stats(struct counter sum[CNT_MAX]);

#endif
