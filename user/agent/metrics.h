/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Prometheus text exposition on /metrics: handshakes by site and reason,
 * a handshake latency histogram, active connections, bytes each way,
 * penalties issued, the datapath's counters from the stats map and the
 * fill of its maps, certificate expiry, the version and process_* basics.
 * Counters are process-wide and survive reloads.
 */
#ifndef AOPGATE_METRICS_H
#define AOPGATE_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "reason.h"

/* metrics_handshake(site, r, ns): one handshake outcome (site NULL: none). */
void metrics_handshake(const char *site, enum reason r, uint64_t ns);

/* metrics_close(r): one connection closed for r. */
void metrics_close(enum reason r);

/* metrics_active(delta): open client connections +1 / -1. */
void metrics_active(int delta);

/* metrics_bytes(in, out): bytes relayed client->upstream and back. */
void metrics_bytes(uint64_t in, uint64_t out);

/* metrics_penalty(): a source was penalized. */
void metrics_penalty(void);

/* metrics_spared(): a failure from a source in good standing or allowlisted. */
void metrics_spared(void);

/* metrics_reload(ok): a reload attempt and its outcome. */
void metrics_reload(int ok);

/*
 * metrics_render(buf, len): the exposition text (malloc'ed, the caller
 * frees). Returns 0, or -1 without memory.
 */
int metrics_render(char **buf, size_t *len);

/*
 * metrics_serve(addr, pin_root): binds addr now (before privileges are
 * dropped) and serves GET and HEAD of /metrics and /healthz (200 while the
 * maps under pin_root are open and pinned, else 503) from its own threads.
 * Returns 0, or -1 (logged).
 */
int metrics_serve(const struct config_addr *addr, const char *pin_root);

#endif
