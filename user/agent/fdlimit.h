/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The descriptors max_connections needs: each connection holds two (the
 * client's socket and the upstream's), and the agent a few more of its
 * own (listeners, maps, event loops, metrics). With fewer, accept fails
 * and idle strangers can lock the puller out well before max_connections.
 */
#ifndef AOPGATE_FDLIMIT_H
#define AOPGATE_FDLIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* fdlimit_need(max_connections): the RLIMIT_NOFILE that many connections need. */
uint64_t fdlimit_need(uint32_t max_connections);

/*
 * fdlimit_apply(max_connections, raise): warns (once per call) when the
 * hard RLIMIT_NOFILE is below what max_connections needs, with the figure
 * to set; with raise, lifts the soft limit to the need, or as far as the
 * hard limit allows. Returns the soft limit in force, or 0 if unknown.
 */
uint64_t fdlimit_apply(uint32_t max_connections, bool raise);

#endif
