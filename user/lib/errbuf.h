/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An accumulator of "file:line: what is wrong" lines, so a file with
 * several mistakes is reported in one go (the agent's configuration and
 * TLS material, the CLI's allowlist files). Lines that do not fit the
 * buffer are counted but dropped; the text always stays terminated.
 */
#ifndef AOPGATE_ERRBUF_H
#define AOPGATE_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct errbuf {
	char *buf;		/* may be NULL: errors are only counted */
	size_t len, off;
	int n;			/* errors added */
};

/* errbuf_init(e, buf, len): an empty accumulator writing into buf. */
void errbuf_init(struct errbuf *e, char *buf, size_t len);

/* errbuf_add(e, file, line, fmt, ...): one more "file:line: what" line. */
void errbuf_add(struct errbuf *e, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void errbuf_vadd(struct errbuf *e, const char *file, int line, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* errbuf_cat(e, fmt, ...): appends to the last line (e.g. a library's reason). */
void errbuf_cat(struct errbuf *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
