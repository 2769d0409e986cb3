// SPDX-License-Identifier: GPL-2.0-only
/* Value parsers of the configuration's directive table; see confval.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "confval.h"
#include "duration.h"
#include "gatemap.h"
#include "log.h"
#include "value.h"

int confval_addr_parse(const char *s, int defport, struct config_addr *addr)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL, *h = s;
	size_t hl;
	unsigned long p;
	char *end;

	memset(addr, 0, sizeof(*addr));
	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb)
			return -1;
		h = s + 1;
		hl = rb - h;
		if (rb[1] == ':')
			port = rb + 2;
		else if (rb[1] != '\0')
			return -1;
	} else {
		const char *c = strchr(s, ':');

		if (c && strchr(c + 1, ':'))	/* bare IPv6, no port */
			c = NULL;
		hl = c ? (size_t)(c - s) : strlen(s);
		if (c)
			port = c + 1;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (port) {
		errno = 0;
		p = strtoul(port, &end, 10);
		if (errno || *end || end == port || p == 0 || p > 65535)
			return -1;
	} else {
		if (!defport)
			return -1;
		p = defport;
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)&addr->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&addr->ss;

	if (*s != '[' && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		addr->len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		addr->len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* Splits "a, b ,c" at commas; calls fn for each trimmed, non-empty item. */
static int split_list(const char *value, int (*fn)(void *, const char *, char *, size_t),
		      void *field, char *err, size_t errlen)
{
	char *copy = strdup(value), *save = NULL, *tok;
	int rc = 0;

	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *e;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		e = tok + strlen(tok);
		while (e > tok && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (!*tok)
			continue;
		if (fn(field, tok, err, errlen) < 0) {
			rc = -1;
			break;
		}
	}
	free(copy);
	return rc;
}

int confval_str(void *field, const char *v, int line, char *err, size_t errlen)
{
	char **s = field;

	(void)line;
	free(*s);
	*s = strdup(v);
	if (!*s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int confval_user(void *field, const char *v, int line, char *err, size_t errlen)
{
	/* Checked here, so -t says what start-up would fail on. */
	if (!getpwnam(v)) {
		snprintf(err, errlen, "user '%s' does not exist (create it, e.g. with systemd-sysusers)",
			 v);
		return -1;
	}
	return confval_str(field, v, line, err, errlen);
}

int confval_path(void *field, const char *v, int line, char *err, size_t errlen)
{
	struct config_path *p = field;

	if (v[0] != '/') {
		snprintf(err, errlen, "'%s' is not an absolute path", v);
		return -1;
	}
	p->line = line;
	return confval_str(&p->path, v, line, err, errlen);
}

/* cert and key may each be given twice (an ECDSA and an RSA pair). */
static int parse_path_n(struct config_path *p, int *n, const char *v, int line,
			char *err, size_t errlen)
{
	if (*n >= CONFIG_MAX_CERTS) {
		snprintf(err, errlen, "at most %d certificates per site", CONFIG_MAX_CERTS);
		return -1;
	}
	if (confval_path(&p[*n], v, line, err, errlen) < 0)
		return -1;
	(*n)++;
	return 0;
}

int confval_cert(void *field, const char *v, int line, char *err, size_t errlen)
{
	struct config_site *s = field;

	return parse_path_n(s->cert, &s->n_cert, v, line, err, errlen);
}

int confval_key(void *field, const char *v, int line, char *err, size_t errlen)
{
	struct config_site *s = field;

	return parse_path_n(s->key, &s->n_key, v, line, err, errlen);
}

int confval_bool(void *field, const char *v, int line, char *err, size_t errlen)
{
	(void)line;
	if (value_bool(v, field) < 0) {
		snprintf(err, errlen, "'%s' is not yes or no", v);
		return -1;
	}
	return 0;
}

int confval_duration(void *field, const char *v, int line, char *err, size_t errlen)
{
	(void)line;
	if (duration_parse(v, field) < 0) {
		snprintf(err, errlen, "'%s' is not a duration (e.g. 10s, 250ms, 5m, 1h)", v);
		return -1;
	}
	return 0;
}

static int parse_u32(uint32_t *out, const char *v, uint32_t min, uint32_t max,
		     char *err, size_t errlen)
{
	uint64_t n;

	if (value_u64(v, min, max, &n) < 0) {
		snprintf(err, errlen, "'%s' is not a number from %u to %u", v, min, max);
		return -1;
	}
	*out = n;
	return 0;
}

int confval_max_conn(void *field, const char *v, int line, char *err, size_t errlen)
{
	(void)line;
	return parse_u32(field, v, 1, 10000000, err, errlen);
}

int confval_hs_max(void *field, const char *v, int line, char *err, size_t errlen)
{
	(void)line;
	if (!strcmp(v, "off")) {
		*(uint32_t *)field = 0;
		return 0;
	}
	return parse_u32(field, v, 1, 10000000, err, errlen);
}

int confval_count(void *field, const char *v, int line, char *err, size_t errlen)
{
	(void)line;
	return parse_u32(field, v, 1, 1000, err, errlen);
}

int confval_depth(void *field, const char *v, int line, char *err, size_t errlen)
{
	uint32_t n;

	(void)line;
	if (parse_u32(&n, v, 1, 16, err, errlen) < 0)
		return -1;
	*(int *)field = n;
	return 0;
}

int confval_workers(void *field, const char *v, int line, char *err, size_t errlen)
{
	uint32_t n;

	(void)line;
	if (!strcmp(v, "auto")) {
		*(int *)field = 0;
		return 0;
	}
	if (parse_u32(&n, v, 1, 1024, err, errlen) < 0) {
		snprintf(err, errlen, "'%s' is not auto or a number from 1 to 1024", v);
		return -1;
	}
	*(int *)field = n;
	return 0;
}

int confval_log_level(void *field, const char *v, int line, char *err, size_t errlen)
{
	int l = log_level_parse(v);

	(void)line;
	if (l < 0) {
		snprintf(err, errlen, "'%s' is not error, warn, info or debug", v);
		return -1;
	}
	*(int *)field = l;
	return 0;
}

int confval_log_format(void *field, const char *v, int line, char *err, size_t errlen)
{
	int f = log_format_parse(v);

	(void)line;
	if (f < 0) {
		snprintf(err, errlen, "'%s' is not logfmt or json", v);
		return -1;
	}
	*(int *)field = f;
	return 0;
}

int confval_verify(void *field, const char *v, int line, char *err, size_t errlen)
{
	(void)line;
	for (int i = CONFIG_VERIFY_ON; i <= CONFIG_VERIFY_OFF; i++) {
		if (!strcmp(v, config_verify_name(i))) {
			*(enum config_verify *)field = i;
			return 0;
		}
	}
	snprintf(err, errlen, "'%s' is not on, optional or off", v);
	return -1;
}

int confval_pp(void *field, const char *v, int line, char *err, size_t errlen)
{
	(void)line;
	for (int i = CONFIG_PP_OFF; i <= CONFIG_PP_V2; i++) {
		if (!strcmp(v, config_pp_name(i))) {
			*(enum config_pp *)field = i;
			return 0;
		}
	}
	snprintf(err, errlen, "'%s' is not off, v1 or v2", v);
	return -1;
}

int confval_metrics(void *field, const char *v, int line, char *err, size_t errlen)
{
	struct config_addr *a = field;

	(void)line;
	if (!strcmp(v, "off")) {
		memset(a, 0, sizeof(*a));
		return 0;
	}
	if (confval_addr_parse(v, 0, a) < 0) {
		snprintf(err, errlen, "'%s' is not off or IP:PORT", v);
		return -1;
	}
	return 0;
}

static int add_listen(void *field, const char *item, char *err, size_t errlen)
{
	struct config_agent *a = field;
	struct config_addr *n = realloc(a->listen, (a->n_listen + 1) * sizeof(*n));

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->listen = n;
	if (confval_addr_parse(item, 0, &n[a->n_listen]) < 0) {
		snprintf(err, errlen, "'%s' is not IP:PORT or [IPv6]:PORT", item);
		return -1;
	}
	a->n_listen++;
	return 0;
}

int confval_listen(void *field, const char *v, int line, char *err, size_t errlen)
{
	(void)line;
	return split_list(v, add_listen, field, err, errlen);
}

static int add_exempt(void *field, const char *item, char *err, size_t errlen)
{
	struct config_agent *a = field;
	struct allow_key *n = realloc(a->exempt, (a->n_exempt + 1) * sizeof(*n));

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->exempt = n;
	if (addr_cidr_parse(item, &n[a->n_exempt]) < 0) {
		snprintf(err, errlen, "'%s' is not an address or CIDR with zero host bits", item);
		return -1;
	}
	a->n_exempt++;
	return 0;
}

int confval_exempt(void *field, const char *v, int line, char *err, size_t errlen)
{
	(void)line;
	return split_list(v, add_exempt, field, err, errlen);
}

static int add_str(void *field, const char *item, char *err, size_t errlen)
{
	struct config_strs *l = field;
	char **n = realloc(l->v, (l->n + 1) * sizeof(*n));

	if (!n || !(n[l->n] = strdup(item))) {
		if (n)
			l->v = n;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l->v = n;
	l->n++;
	return 0;
}

int confval_strs(void *field, const char *v, int line, char *err, size_t errlen)
{
	(void)line;
	return split_list(v, add_str, field, err, errlen);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A pin is 64 hex digits, optionally in colon-separated pairs. */
static int add_pin(void *field, const char *item, char *err, size_t errlen)
{
	struct config_pins *l = field;
	unsigned char d[32];
	const char *p = item;
	int i;

	for (i = 0; i < 32; i++) {
		int hi, lo;

		if (i && *p == ':')
			p++;
		hi = hexval(p[0]);
		lo = hi < 0 ? -1 : hexval(p[1]);
		if (lo < 0)
			break;
		d[i] = hi << 4 | lo;
		p += 2;
	}
	if (i < 32 || *p) {
		snprintf(err, errlen, "'%s' is not a SHA-256 digest in hex", item);
		return -1;
	}
	void *n = realloc(l->v, (l->n + 1) * sizeof(*l->v));

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l->v = n;
	memcpy(l->v[l->n++], d, 32);
	return 0;
}

int confval_pins(void *field, const char *v, int line, char *err, size_t errlen)
{
	(void)line;
	return split_list(v, add_pin, field, err, errlen);
}

/* "IP:PORT" or "tls://HOST:PORT"; a host name is resolved once, here. */
int confval_upstream(void *field, const char *v, int line, char *err, size_t errlen)
{
	struct config_upstream *u = field;
	const char *hp = v;
	char host[256];
	const char *colon;

	u->line = line;
	u->tls = false;
	if (!strncmp(v, "tls://", 6)) {
		u->tls = true;
		hp = v + 6;
	} else if (strstr(v, "://")) {
		snprintf(err, errlen, "'%s': the only scheme is tls://", v);
		return -1;
	}
	if (confval_addr_parse(hp, 0, &u->addr) == 0) {
		/* The host is kept without brackets: it feeds inet_pton and SNI. */
		if (*hp == '[')
			snprintf(host, sizeof(host), "%.*s", (int)(strchr(hp, ']') - hp - 1), hp + 1);
		else
			snprintf(host, sizeof(host), "%.*s", (int)(strrchr(hp, ':') - hp), hp);
		return confval_str(&u->host, host, line, err, errlen);
	}
	colon = strrchr(hp, ':');
	if (!colon || colon == hp || (size_t)(colon - hp) >= sizeof(host) || strchr(hp, '[')) {
		snprintf(err, errlen, "'%s' is not HOST:PORT or tls://HOST:PORT", v);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
	/* getaddrinfo takes "99999" and wraps it; a port is 1..65535. */
	uint64_t port;

	if (value_u64(colon + 1, 1, 65535, &port) < 0) {
		snprintf(err, errlen, "'%s': the port must be a number from 1 to 65535", v);
		return -1;
	}

	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, colon + 1, &hints, &res);

	if (rc != 0 || !res) {
		snprintf(err, errlen, "upstream '%s' does not resolve: %s", v, gai_strerror(rc));
		return -1;
	}
	memcpy(&u->addr.ss, res->ai_addr, res->ai_addrlen);
	u->addr.len = res->ai_addrlen;
	freeaddrinfo(res);
	return confval_str(&u->host, host, line, err, errlen);
}

