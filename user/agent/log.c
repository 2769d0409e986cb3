// SPDX-License-Identifier: GPL-2.0-only
/* logfmt lines on stderr; see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>

#include "log.h"

static enum log_level log_max = LOG_LVL_INFO;

static const char *const log_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void log_set_level(enum log_level lvl)
{
	__atomic_store_n(&log_max, lvl, __ATOMIC_RELAXED);	/* a reload, while workers log */
}

int log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(s, log_names[i]) == 0)
			return (int)i;
	return -1;
}

int log_enabled(enum log_level lvl)
{
	return lvl <= __atomic_load_n(&log_max, __ATOMIC_RELAXED);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m;

	if (!log_enabled(lvl))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
		     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_names[lvl]);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	/* A truncated line still ends in a newline, so the next one parses. */
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

const char *log_quote(const char *s, char *buf, size_t len)
{
	const unsigned char *p;
	size_t o = 0;
	int bare = 1;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (!s)
		return buf;
	if (!*s)
		bare = 0;
	for (p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p >= 0x7f)
			bare = 0;
	if (bare) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	if (len < 3)
		return buf;
	buf[o++] = '"';
	for (p = (const unsigned char *)s; *p && o + 6 < len; p++) {
		if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = *p;
		} else if (*p < ' ' || *p == 0x7f) {
			o += snprintf(buf + o, len - o, "\\x%02x", *p);
		} else {
			buf[o++] = *p;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

const char *log_ssl_errors(char *buf, size_t len)
{
	unsigned long e;
	size_t o = 0;
	char one[256];

	if (len == 0)
		return buf;
	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		const char *r = ERR_reason_error_string(e);

		if (!r) {
			ERR_error_string_n(e, one, sizeof(one));
			r = one;
		}
		if (o < len)
			o += snprintf(buf + o, len - o, "%s%s", o ? "; " : "", r);
	}
	return buf;
}
