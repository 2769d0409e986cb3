/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CrowdSec decisions into the gate's deny map: one answer of the Local
 * API's decisions stream (JSON: "new" and "deleted" lists) applied as
 * CrowdSec-origin denies, never touching an operator's deny, the
 * allowlist, or (unless overridden) a source in good standing.
 */
#ifndef AOPGATE_DECISION_H
#define AOPGATE_DECISION_H

#include <stdbool.h>
#include <stdint.h>

struct gatemap;
struct decisions;

/* What the bouncer has done since it started, for /metrics and the log. */
struct decision_counts {
	uint64_t applied;	/* bans written into deny */
	uint64_t removed;	/* bans taken out of deny */
	uint64_t spared;	/* bans of a source in good standing: reported only */
	uint64_t skipped;	/* decisions not for us: not a ban, unknown scope, an operator's CIDR */
	uint64_t errors;	/* decisions that could not be read or written */
};

/* decisions_new(override_standing): an empty set. NULL when out of memory. */
struct decisions *decisions_new(bool override_standing);

/* decisions_free(ds): ds may be NULL. */
void decisions_free(struct decisions *ds);

/*
 * decisions_apply(ds, gm, json, startup): applies one stream answer. With
 * startup (the answer to startup=true, the whole active set), CrowdSec
 * denies in the map that the answer no longer holds are removed.
 * Returns 0, or -1 if json is not a stream answer (nothing applied).
 */
int decisions_apply(struct decisions *ds, struct gatemap *gm, const char *json, bool startup);

/* decisions_sweep(gm): removes CrowdSec denies whose time is over. The count. */
int decisions_sweep(struct gatemap *gm);

/* decisions_counts(ds): the counters. */
const struct decision_counts *decisions_counts(const struct decisions *ds);

/*
 * decisions_go_duration(s, ns): a Go duration as the LAPI writes it
 * ("3h59m58.5s", "29.99s", "-1.2s") into ns; negative ones give 0.
 * Returns 0, or -1 if s is not one.
 */
int decisions_go_duration(const char *s, uint64_t *ns);

#endif
