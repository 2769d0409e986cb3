/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's side of the gate's maps, over user/gatemap: pinning
 * verified flows, striking failed sources, lingering and sweeping. With
 * pin_root = off the maps are never opened, every call is a no-op and
 * pin_ready() says so; the agent still enforces mTLS itself.
 */
#ifndef AOPGATE_PIN_H
#define AOPGATE_PIN_H

#include <stdbool.h>
#include "aopgate.h"

/*
 * pin_open(pin_root): opens the pinned maps (once; later calls are no-ops).
 * Returns 0, or -1 after logging why and how to fix it.
 */
int pin_open(const char *pin_root);

/* pin_ready(): whether the maps are open. */
bool pin_ready(void);

/* pin_verified(key, site_id, sha256): the flow passes the gate from now on. */
void pin_verified(const struct flow_key *key, __u32 site_id, const unsigned char sha256[32]);

/* pin_linger(key, ns): the flow passes ns more, then the sweep removes it. */
void pin_linger(const struct flow_key *key, __u64 ns);

/*
 * pin_penalize(src, base_ns, max_ns, out): a strike for src (see
 * gatemap_penalize). Returns 0 with out filled, or -1 (not open, error).
 */
int pin_penalize(const __u8 src[16], __u64 base_ns, __u64 max_ns, struct penalty *out);

/* pin_sweep(all): removes expired (all: every) verified entry; the count or -1. */
int pin_sweep(bool all);

/* pin_stats(sum): the datapath counters. 0, or -1 if not open. */
int pin_stats(struct counter sum[CNT_MAX]);

#endif
