// SPDX-License-Identifier: GPL-2.0-only
/*
 * aopgate-bouncer's reading of the Local API: Go durations as CrowdSec
 * writes them, and answers that are not a decisions stream. Applying
 * decisions to a gate's maps is tested end to end in crowdsec.bats.
 */
#include <stdint.h>
#include "decision.h"
#include "tap.h"

static void dur(const char *s, uint64_t want)
{
	uint64_t ns = 1;

	ok(decisions_go_duration(s, &ns) == 0 && ns == want, "duration %s is %llu ns (got %llu)",
	   s, (unsigned long long)want, (unsigned long long)ns);
}

static void bad_dur(const char *s)
{
	uint64_t ns;

	ok(decisions_go_duration(s, &ns) < 0, "duration \"%s\" is refused", s);
}

int main(void)
{
	struct decisions *ds = decisions_new(false);

	dur("30s", 30000000000ull);
	dur("3h59m58s", (3 * 3600 + 59 * 60 + 58) * 1000000000ull);
	dur("1m0.5s", 60500000000ull);
	dur("250ms", 250000000ull);
	dur("1.5us", 1500);
	dur("1.5\xc2\xb5s", 1500);
	dur("42ns", 42);
	dur("0", 0);
	/* A decision that expired while the bouncer was away: over already. */
	dur("-1.2s", 0);
	bad_dur("");
	bad_dur("10");
	bad_dur("10x");
	bad_dur("s");
	bad_dur("1h 2m");

	/* Nothing is applied, and the gate's maps are not touched (NULL here). */
	ok(decisions_apply(ds, NULL, "not json", true) < 0, "an answer that is not JSON is refused");
	ok(decisions_apply(ds, NULL, "[1, 2]", false) < 0, "a JSON answer that is not an object is refused");
	ok(decisions_counts(ds)->errors == 2 && decisions_counts(ds)->applied == 0,
	   "both count as errors, none as applied");
	ok(decisions_apply(ds, NULL, "{\"new\": null, \"deleted\": null}", false) == 0,
	   "an answer with no changes applies");
	decisions_free(ds);
	return tap_done();
}
