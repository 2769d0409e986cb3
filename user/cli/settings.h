/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The gate's runtime knobs (gate_cfg) as `aopgate set KEY VALUE` names
 * them. One table drives setting a knob, the defaults a first attach
 * writes, the knobs `status` shows and the list `--help` prints (which a
 * test holds aopgate(8) to).
 */
#ifndef AOPGATE_SETTINGS_H
#define AOPGATE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "aopgate.h"

/*
 * settings_set(cfg, name, value, err, errlen): sets one knob in cfg.
 * Returns 0, or -1 with the reason (unknown name, bad value) in err.
 */
int settings_set(struct gate_cfg *cfg, const char *name, const char *value,
		 char *err, size_t errlen);

/* settings_defaults(cfg): every knob at its default. */
void settings_defaults(struct gate_cfg *cfg);

/*
 * settings_show(f, cfg, json): one "name  value" line per knob, or (json)
 * the members of a JSON object: flags as booleans, durations as NAME_ns.
 */
void settings_show(FILE *f, const struct gate_cfg *cfg, bool json);

/* settings_usage(f): per knob, "name values (default D)" and what it does. */
void settings_usage(FILE *f);

#endif
