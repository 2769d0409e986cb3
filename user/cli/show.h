/* SPDX-License-Identifier: GPL-2.0-only */
/* What `aopgate status` and `aopgate flows` print, as tables or JSON. */
#ifndef AOPGATE_SHOW_H
#define AOPGATE_SHOW_H

#include <stdbool.h>

struct pinroot;

/*
 * show_status(pins, json): the pin root (and, when the bpffs it is on is
 * not simply the host's, how it is reached or why that is not known),
 * attachments, mode, knobs, ports, map fill and counters. Returns 0, or
 * -1 after printing why.
 */
int show_status(const struct pinroot *pins, bool json);

/* show_flows(pin_root, json): verified and pending flows. 0 or -1. */
int show_flows(const char *pin_root, bool json);

/* show_penalties(pin_root, json): sources in the penalty map. 0 or -1. */
int show_penalties(const char *pin_root, bool json);

/* show_allowlist(pin_root, json): the allow_src prefixes. 0 or -1. */
int show_allowlist(const char *pin_root, bool json);

#endif
