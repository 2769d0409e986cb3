/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging for the agent: one logfmt line per event on stderr
 * ("ts=... level=info event=verify result=ok site=... src=..."), or the
 * same keys as one JSON object per line. Under systemd (JOURNAL_STREAM
 * set) each line starts with its syslog priority ("<4>"), which journald
 * strips and records, so `journalctl -p warning` selects by level. Callers
 * pass key=value pairs; values that may hold spaces or quotes go through
 * log_quote. Nothing here accepts key material: secrets have no way in.
 */
#ifndef AOPGATE_LOG_H
#define AOPGATE_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

enum log_format {
	LOG_FMT_LOGFMT,
	LOG_FMT_JSON,
};

/* log_init(): reads JOURNAL_STREAM once, before any thread logs. */
void log_init(void);

/* log_set_format(fmt): logfmt (the default) or JSON lines. */
void log_set_format(enum log_format fmt);

/* log_format_parse(s): the format named s ("logfmt", "json"), or -1. */
int log_format_parse(const char *s);

/* log_set_level(lvl): lines above lvl are suppressed (default: info). */
void log_set_level(enum log_level lvl);

/* log_level_parse(s): the level named s ("error".."debug"), or -1. */
int log_level_parse(const char *s);

/* log_enabled(lvl): whether a line at lvl would be written. */
int log_enabled(enum log_level lvl);

/*
 * log_lines_lost(): lines dropped because stderr would not take them (a
 * full disk); the first line written after a loss is followed by an
 * "event=log lost_lines=N" line.
 */
unsigned long log_lines_lost(void);

/*
 * log_msg(lvl, fmt, ...): writes "ts=... level=LVL " followed by the
 * formatted key=value pairs and a newline, in one write(2) so lines from
 * several threads never interleave.
 */
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/*
 * log_quote(s, buf, len): s as a logfmt value: unchanged when it is a bare
 * word, else in double quotes with '"', '\\' and control bytes escaped;
 * truncated to fit buf. Returns buf ("" for NULL s).
 */
const char *log_quote(const char *s, char *buf, size_t len);

/*
 * log_ssl_errors(buf, len): drains the calling thread's OpenSSL error
 * queue into buf as "reason; reason" (empty if there was none). Returns buf.
 */
const char *log_ssl_errors(char *buf, size_t len);

#endif
