/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `aopgate top`: a live view of the gate in 80 columns, from its maps
 * alone: packets per second per verdict (deltas of stats), admitted SYNs
 * per second, the sources the drop events name most, and the penalized
 * sources. The agent's handshake outcomes are on its /metrics.
 */
#ifndef AOPGATE_TOP_H
#define AOPGATE_TOP_H

#include <stdbool.h>
#include <stdint.h>

/*
 * top_run(pin_root, interval_ns, once): redraws a frame every interval
 * until SIGINT or SIGTERM; once: prints one frame of two samples an
 * interval apart, without screen control, and returns. 0, or -1 after
 * printing why.
 */
int top_run(const char *pin_root, uint64_t interval_ns, bool once);

#endif
