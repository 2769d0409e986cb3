// SPDX-License-Identifier: GPL-2.0-only
/* logfmt or JSON lines on stderr; see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>

#include "log.h"

static enum log_level log_max = LOG_LVL_INFO;
static enum log_format log_fmt = LOG_FMT_LOGFMT;
static int log_journal;
/* Lines that could not be written (a full disk, a closed reader): all, and not yet said. */
static unsigned long log_lost, log_unsaid;

/* syslog(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const char log_prio[] = {
	[LOG_LVL_ERROR] = '3',
	[LOG_LVL_WARN] = '4',
	[LOG_LVL_INFO] = '6',
	[LOG_LVL_DEBUG] = '7',
};

static const char *const log_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void log_init(void)
{
	const char *js = getenv("JOURNAL_STREAM");

	log_journal = js && *js;
}

void log_set_format(enum log_format fmt)
{
	__atomic_store_n(&log_fmt, fmt, __ATOMIC_RELAXED);
}

int log_format_parse(const char *s)
{
	if (!strcmp(s, "logfmt"))
		return LOG_FMT_LOGFMT;
	if (!strcmp(s, "json"))
		return LOG_FMT_JSON;
	return -1;
}

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

/* Appends c to out as JSON string content; bytes >= 0x80 as Latin-1 escapes,
 * so a line stays valid JSON whatever a peer put in its certificate. */
static size_t json_char(char *out, size_t o, size_t cap, unsigned char c)
{
	if (o + 7 > cap)
		return o;
	if (c == '"' || c == '\\') {
		out[o++] = '\\';
		out[o++] = c;
	} else if (c < ' ' || c >= 0x7f) {
		o += snprintf(out + o, cap - o, "\\u%04x", c);
	} else {
		out[o++] = c;
	}
	return o;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The logfmt pairs of in (as log_quote writes them) as one JSON object:
 * keys in the same order, every value a string. Returns its length.
 */
static size_t logfmt_to_json(const char *in, char *out, size_t cap)
{
	const char *p = in;
	size_t o = 0;
	int first = 1;

	out[o++] = '{';
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (o + 4 > cap)
			break;
		if (!first)
			out[o++] = ',';
		first = 0;
		out[o++] = '"';
		for (; *p && *p != '=' && *p != ' '; p++)
			o = json_char(out, o, cap, *p);
		if (o + 3 > cap)
			break;
		out[o++] = '"';
		out[o++] = ':';
		out[o++] = '"';
		if (*p == '=')
			p++;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1] == 'x' && hexval(p[2]) >= 0 && hexval(p[3]) >= 0) {
					o = json_char(out, o, cap, hexval(p[2]) * 16 + hexval(p[3]));
					p += 3;
				} else {
					if (*p == '\\' && p[1])
						p++;
					o = json_char(out, o, cap, *p);
				}
			}
			if (*p == '"')
				p++;
		} else {
			for (; *p && *p != ' '; p++)
				o = json_char(out, o, cap, *p);
		}
		if (o + 2 > cap)
			break;
		out[o++] = '"';
	}
	if (o + 1 > cap)
		o = cap - 1;
	out[o++] = '}';
	return o;
}

/*
 * Writes one line. A line that cannot be written is counted and dropped,
 * never retried: the agent serves on with its log full. The first line
 * that gets through again is followed by one saying how many were lost.
 */
static void log_write(const char *buf, int n)
{
	unsigned long unsaid;

	if (write(STDERR_FILENO, buf, n) != n) {
		__atomic_add_fetch(&log_lost, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&log_unsaid, 1, __ATOMIC_RELAXED);
		return;
	}
	unsaid = __atomic_exchange_n(&log_unsaid, 0, __ATOMIC_RELAXED);
	if (unsaid)
		log_msg(LOG_LVL_WARN, "event=log lost_lines=%lu lost_total=%lu", unsaid,
			log_lines_lost());
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[2048], json[4 + 3 * sizeof(line)];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m;

	if (!log_enabled(lvl))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = 0;
	if (log_journal) {
		line[n++] = '<';
		line[n++] = log_prio[lvl];
		line[n++] = '>';
	}
	n += snprintf(line + n, sizeof(line) - n,
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
	if (__atomic_load_n(&log_fmt, __ATOMIC_RELAXED) == LOG_FMT_JSON) {
		size_t pre = log_journal ? 3 : 0;

		line[n] = '\0';
		memcpy(json, line, pre);
		n = pre + logfmt_to_json(line + pre, json + pre, sizeof(json) - pre - 1);
		json[n++] = '\n';
		log_write(json, n);
		return;
	}
	line[n++] = '\n';
	log_write(line, n);
}

unsigned long log_lines_lost(void)
{
	return __atomic_load_n(&log_lost, __ATOMIC_RELAXED);
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
