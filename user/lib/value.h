/* SPDX-License-Identifier: GPL-2.0-only */
/* Scalar values as the configuration and the CLI both write them. */
#ifndef AOPGATE_VALUE_H
#define AOPGATE_VALUE_H

#include <stdbool.h>
#include <stdint.h>

/* value_bool(s, b): yes/on/true/1 or no/off/false/0 (any case). 0, or -1. */
int value_bool(const char *s, bool *b);

/* value_u64(s, min, max, out): a plain decimal in [min, max]. 0, or -1. */
int value_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
