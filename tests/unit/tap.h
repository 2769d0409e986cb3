/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A minimal TAP producer for the C tests: each check prints "ok N - name"
 * or "not ok N - name" with a diagnostic; scripts/run-tests.sh counts them.
 */
#ifndef AOPGATE_TAP_H
#define AOPGATE_TAP_H

#include <stdio.h>
#include <stdarg.h>

static int tap_n, tap_failed;

/* ok(cond, fmt, ...): one test point; returns cond. */
static inline int __attribute__((format(printf, 2, 3)))
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

/* diag(fmt, ...): a comment line, shown next to a failing point. */
static inline void __attribute__((format(printf, 1, 2)))
diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* tap_done(): prints the plan; the exit status for main(). */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
