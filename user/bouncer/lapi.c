// SPDX-License-Identifier: GPL-2.0-only
/* The LAPI's decisions stream over libcurl; see lapi.h. */
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "lapi.h"
#include "version.h"

/* A stream answer is a few hundred bytes a decision; this bounds a broken one. */
#define LAPI_MAX_BODY (256u << 20)

struct lapi {
	CURL *curl;
	struct curl_slist *headers;
	char *url;
};

struct body {
	char *buf;
	size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct body *b = ctx;
	size_t add = size * n;
	char *buf;

	if (b->len + add > LAPI_MAX_BODY)
		return 0;
	buf = realloc(b->buf, b->len + add + 1);
	if (!buf)
		return 0;
	memcpy(buf + b->len, p, add);
	b->buf = buf;
	b->len += add;
	b->buf[b->len] = '\0';
	return add;
}

struct lapi *lapi_new(const char *url, const char *key)
{
	struct lapi *l = calloc(1, sizeof(*l));
	char *hdr = NULL;

	if (!l || curl_global_init(CURL_GLOBAL_DEFAULT))
		goto err;
	l->curl = curl_easy_init();
	l->url = strdup(url);
	if (!l->curl || !l->url || asprintf(&hdr, "X-Api-Key: %s", key) < 0)
		goto err;
	l->headers = curl_slist_append(NULL, hdr);
	free(hdr);
	if (!l->headers)
		goto err;
	/* Keep the connection between pulls; never follow a redirect elsewhere. */
	curl_easy_setopt(l->curl, CURLOPT_HTTPHEADER, l->headers);
	curl_easy_setopt(l->curl, CURLOPT_USERAGENT, "aopgate-bouncer/" AOPGATE_VERSION);
	curl_easy_setopt(l->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(l->curl, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(l->curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(l->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(l->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(l->curl, CURLOPT_WRITEFUNCTION, on_data);
	return l;
err:
	lapi_free(l);
	return NULL;
}

void lapi_free(struct lapi *l)
{
	if (!l)
		return;
	curl_slist_free_all(l->headers);
	if (l->curl)
		curl_easy_cleanup(l->curl);
	free(l->url);
	free(l);
}

int lapi_stream(struct lapi *l, bool startup, char **out, char *err, size_t errlen)
{
	struct body b = { 0 };
	char url[2048];
	long status = 0;
	CURLcode rc;
	size_t n = strlen(l->url);

	snprintf(url, sizeof(url), "%s%sv1/decisions/stream?startup=%s", l->url,
		 n && l->url[n - 1] == '/' ? "" : "/", startup ? "true" : "false");
	curl_easy_setopt(l->curl, CURLOPT_URL, url);
	curl_easy_setopt(l->curl, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(l->curl);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
		goto err;
	}
	curl_easy_getinfo(l->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(err, errlen, "HTTP %ld%s", status,
			 status == 403 ? " (the bouncer key is not known: cscli bouncers add)" : "");
		goto err;
	}
	if (!b.buf) {
		snprintf(err, errlen, "an empty answer");
		goto err;
	}
	*out = b.buf;
	return 0;
err:
	free(b.buf);
	return -1;
}
