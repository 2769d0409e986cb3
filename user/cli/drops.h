/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `aopgate drops`: the gate's sampled drop events, read from the pinned
 * events ring buffer. A ring buffer has one consumer position, so every
 * reader (drops, top) takes events away from the others.
 */
#ifndef AOPGATE_DROPS_H
#define AOPGATE_DROPS_H

#include <stdbool.h>
#include <stddef.h>
#include "aopgate.h"

/*
 * drops_run(pin_root, follow, json): prints one line (or JSON object) per
 * queued event, then, with follow, each new one until SIGINT or SIGTERM.
 * Returns 0, or -1 after printing why.
 */
int drops_run(const char *pin_root, bool follow, bool json);

/*
 * drops_time_str(mono_ns, buf, len): an event's CLOCK_MONOTONIC time as
 * UTC wall-clock time, "2025-01-31T12:00:00.123Z"; buf.
 */
const char *drops_time_str(__u64 mono_ns, char *buf, size_t len);

#endif
