// SPDX-License-Identifier: GPL-2.0-only
/* "file:line: what" lines; see errbuf.h. */
#include <stdio.h>
#include <string.h>

#include "errbuf.h"

void errbuf_init(struct errbuf *e, char *buf, size_t len)
{
	*e = (struct errbuf){ .buf = len ? buf : NULL, .len = len };
	if (e->buf)
		e->buf[0] = '\0';
}

static void catv(struct errbuf *e, const char *fmt, va_list ap)
{
	int w;

	if (!e->buf || e->off + 1 >= e->len)
		return;
	w = vsnprintf(e->buf + e->off, e->len - e->off, fmt, ap);
	/* Truncated: keep what fit, terminated; later text is dropped. */
	e->off = w < 0 ? e->off : (size_t)w >= e->len - e->off ? e->len - 1 : e->off + w;
}

static void cat(struct errbuf *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	catv(e, fmt, ap);
	va_end(ap);
}

void errbuf_vadd(struct errbuf *e, const char *file, int line, const char *fmt, va_list ap)
{
	e->n++;
	cat(e, "%s%s:%d: ", e->off ? "\n" : "", file, line);
	catv(e, fmt, ap);
}

void errbuf_add(struct errbuf *e, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vadd(e, file, line, fmt, ap);
	va_end(ap);
}

void errbuf_cat(struct errbuf *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	catv(e, fmt, ap);
	va_end(ap);
}
