/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Value parsers for the configuration's directive table. Each parses one
 * value into the field it is given (or, for the list and cert/key
 * parsers, the section struct itself), and on failure returns -1 with
 * "what is wrong" in err; config.c adds the file:line.
 */
#ifndef AOPGATE_CONFVAL_H
#define AOPGATE_CONFVAL_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

/* confval_fn(field, value, line, err, errlen): 0, or -1 with err set. */
typedef int (*confval_fn)(void *field, const char *value, int line,
			  char *err, size_t errlen);

/*
 * confval_addr_parse(s, defport, addr): "IP:PORT", "[IPv6]:PORT" or a bare
 * IP with defport (0: the port is required). Returns 0 or -1.
 */
int confval_addr_parse(const char *s, int defport, struct config_addr *addr);

/* char *: the name of a user that exists on this host (getpwnam). */
int confval_user(void *field, const char *v, int line, char *err, size_t errlen);
/* Field parsers: char * (str), struct config_path (path, absolute only). */
int confval_str(void *field, const char *v, int line, char *err, size_t errlen);
int confval_path(void *field, const char *v, int line, char *err, size_t errlen);
/* Site parsers: append one cert or key path to struct config_site. */
int confval_cert(void *field, const char *v, int line, char *err, size_t errlen);
int confval_key(void *field, const char *v, int line, char *err, size_t errlen);
/* bool: yes/no/on/off/true/false. */
int confval_bool(void *field, const char *v, int line, char *err, size_t errlen);
/* uint64_t ns: see duration_parse. */
int confval_duration(void *field, const char *v, int line, char *err, size_t errlen);
/* uint32_t 1..10^7 (max_connections); int 1..16 (verify_depth). */
int confval_max_conn(void *field, const char *v, int line, char *err, size_t errlen);
int confval_depth(void *field, const char *v, int line, char *err, size_t errlen);
/* uint32_t 1..1000 (penalty_after). */
/* uint32_t 1..10^7, or off as 0 (max_handshakes_per_source, session_cache). */
int confval_hs_max(void *field, const char *v, int line, char *err, size_t errlen);
int confval_count(void *field, const char *v, int line, char *err, size_t errlen);
/* int: "auto" (0) or 1..1024. */
int confval_workers(void *field, const char *v, int line, char *err, size_t errlen);
/* int enum log_level by name. */
int confval_log_level(void *field, const char *v, int line, char *err, size_t errlen);
/* int enum log_format by name. */
int confval_log_format(void *field, const char *v, int line, char *err, size_t errlen);
/* enum config_verify / enum config_pp by name. */
int confval_verify(void *field, const char *v, int line, char *err, size_t errlen);
int confval_pp(void *field, const char *v, int line, char *err, size_t errlen);
/* struct config_addr: "off" (len 0) or IP:PORT. */
int confval_metrics(void *field, const char *v, int line, char *err, size_t errlen);
/* Agent parsers: append comma-separated addresses / CIDRs. */
int confval_listen(void *field, const char *v, int line, char *err, size_t errlen);
int confval_exempt(void *field, const char *v, int line, char *err, size_t errlen);
/* struct config_strs: append comma-separated strings. */
int confval_strs(void *field, const char *v, int line, char *err, size_t errlen);
/* struct config_pins: append comma-separated 64-hex-digit digests. */
int confval_pins(void *field, const char *v, int line, char *err, size_t errlen);
/* struct config_upstream: IP:PORT, [IPv6]:PORT or tls://HOST:PORT. */
int confval_upstream(void *field, const char *v, int line, char *err, size_t errlen);

#endif
