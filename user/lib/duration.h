/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Durations as both tools write them: "250ms", "10s", "5m", "1h", "2d" or
 * bare seconds, in CLOCK_MONOTONIC nanoseconds (the gate's time base).
 */
#ifndef AOPGATE_DURATION_H
#define AOPGATE_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* duration_parse(s, ns): s into ns. Returns 0, or -1 if s is not a duration. */
int duration_parse(const char *s, uint64_t *ns);

/* duration_str(ns, buf, len): "1h2m3s"-style, largest units first; buf. */
const char *duration_str(uint64_t ns, char *buf, size_t len);

#endif
