/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The running configuration: a config and the TLS contexts built from it,
 * reference counted. A reload builds a complete new runtime and publishes
 * it only when everything loaded; connections keep the runtime they
 * started with until they close.
 */
#ifndef AOPGATE_RUNTIME_H
#define AOPGATE_RUNTIME_H

#include <stddef.h>
#include "config.h"
#include "tls.h"

struct runtime {
	struct config *cfg;
	struct tls *tls;
	unsigned int gen;	/* 1 for the first published runtime, +1 per reload */
	int refs;
};

/*
 * runtime_load(path, err, errlen): parses, validates and builds the TLS
 * contexts (phase one of a reload). Returns NULL with "file:line: what"
 * lines in err; nothing running changes.
 */
struct runtime *runtime_load(const char *path, char *err, size_t errlen);

/* runtime_publish(rt): rt becomes current (phase two); takes rt's reference. */
void runtime_publish(struct runtime *rt);

/* runtime_get(): the current runtime with a new reference, or NULL. */
struct runtime *runtime_get(void);

/* runtime_put(rt): drops a reference; the last one frees. rt may be NULL. */
void runtime_put(struct runtime *rt);

/* runtime_generation(): gen of the current runtime (0: none yet). */
unsigned int runtime_generation(void);

#endif
