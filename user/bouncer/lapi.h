/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CrowdSec Local API's decisions stream, as a bouncer reads it: GET
 * /v1/decisions/stream with the bouncer's key (X-Api-Key), startup=true
 * once for the whole active set, then the changes since the last pull.
 */
#ifndef AOPGATE_LAPI_H
#define AOPGATE_LAPI_H

#include <stdbool.h>
#include <stddef.h>

struct lapi;

/*
 * lapi_new(url, key): a client of the LAPI at url (http://host:port) with
 * the bouncer's API key. NULL when out of memory or libcurl cannot start.
 */
struct lapi *lapi_new(const char *url, const char *key);

/* lapi_free(l): l may be NULL. */
void lapi_free(struct lapi *l);

/*
 * lapi_stream(l, startup, body, err, errlen): one pull of the stream. On
 * success *body is the JSON answer (malloc'd, the caller frees it) and 0
 * is returned; on failure -1 with why in err (connection refused, an HTTP
 * status such as 403 for a wrong key).
 */
int lapi_stream(struct lapi *l, bool startup, char **body, char *err, size_t errlen);

#endif
