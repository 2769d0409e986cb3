// SPDX-License-Identifier: GPL-2.0-only
/* Certificate expiry dates for /metrics; see certinfo.h. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certinfo.h"
#include "files.h"

struct cert_date {
	const char *site;	/* into the strings below */
	const char *file;
	long long not_after;	/* seconds since the epoch */
	int client_ca;
};

static pthread_mutex_t certinfo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cert_date *dates;
static size_t n_dates;
static char *strings;		/* one allocation holding every name */

/* The last verified puller certificate's notAfter, by site name. */
struct puller_date {
	char site[256];
	long long not_after;
};
#define PULLER_SITES 1024
static struct puller_date pullers[PULLER_SITES];
static size_t n_pullers;

static int not_after(const X509 *x, long long *out)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		return -1;
	*out = (long long)timegm(&tm);
	return 0;
}

/*
 * The notAfter of the first certificate of path (the leaf of a chain
 * file), or with earliest set the earliest of all (a CA bundle).
 */
static int file_not_after(const char *path, int earliest, long long *out)
{
	BIO *b = files_bio(path);
	X509 *x;
	int found = 0;
	long long t = 0;

	if (!b)
		return -1;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (not_after(x, &t) == 0 && (!found || t < *out)) {
			*out = t;
			found = 1;
		}
		X509_free(x);
		if (!earliest)
			break;
	}
	BIO_free(b);
	/* The last read fails at the end of the file; that is not an error. */
	ERR_clear_error();
	return found ? 0 : -1;
}

void certinfo_update(const struct config *cfg)
{
	size_t cap = 0, slen = 0, n = 0, off = 0;
	struct cert_date *nd;
	char *ns;

	for (size_t i = 0; i < cfg->n_sites; i++) {
		const struct config_site *s = &cfg->sites[i];

		for (int j = 0; j < s->n_cert; j++) {
			cap++;
			slen += strlen(s->name) + strlen(s->cert[j].path) + 2;
		}
		if (s->client_ca.path) {
			cap++;
			slen += strlen(s->name) + strlen(s->client_ca.path) + 2;
		}
	}
	nd = calloc(cap ? cap : 1, sizeof(*nd));
	ns = malloc(slen ? slen : 1);
	if (!nd || !ns) {
		free(nd);
		free(ns);
		return;
	}
	for (size_t i = 0; i < cfg->n_sites; i++) {
		const struct config_site *s = &cfg->sites[i];

		for (int j = 0; j <= s->n_cert; j++) {
			int ca = j == s->n_cert;
			const char *path = ca ? s->client_ca.path : s->cert[j].path;
			long long t = 0;

			if (!path || file_not_after(path, ca, &t) < 0)
				continue;
			nd[n].site = ns + off;
			off += sprintf(ns + off, "%s", s->name) + 1;
			nd[n].file = ns + off;
			off += sprintf(ns + off, "%s", path) + 1;
			nd[n].not_after = t;
			nd[n++].client_ca = ca;
		}
	}
	pthread_mutex_lock(&certinfo_lock);
	free(dates);
	free(strings);
	dates = nd;
	strings = ns;
	n_dates = n;
	pthread_mutex_unlock(&certinfo_lock);
}

void certinfo_puller(const char *site, const X509 *cert)
{
	long long t;
	size_t i;

	if (!site || !cert || not_after(cert, &t) < 0)
		return;
	pthread_mutex_lock(&certinfo_lock);
	for (i = 0; i < n_pullers && strcmp(pullers[i].site, site); i++)
		;
	if (i == n_pullers && n_pullers < PULLER_SITES)
		snprintf(pullers[n_pullers++].site, sizeof(pullers[0].site), "%s", site);
	if (i < n_pullers)
		pullers[i].not_after = t;
	pthread_mutex_unlock(&certinfo_lock);
}

/* Label values: site names are checked host names; paths are escaped. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

void certinfo_render(FILE *f)
{
	static const char *const fam[2][2] = {
		{ "aopgate_server_cert_not_after_seconds",
		  "When each site's server certificate expires (Unix time)." },
		{ "aopgate_client_ca_not_after_seconds",
		  "When the first certificate of each site's client_ca bundle expires (Unix time)." },
	};

	pthread_mutex_lock(&certinfo_lock);
	for (int ca = 0; ca < 2; ca++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", fam[ca][0], fam[ca][1], fam[ca][0]);
		for (size_t i = 0; i < n_dates; i++) {
			if (dates[i].client_ca != ca)
				continue;
			fprintf(f, "%s{site=\"%s\",file=\"", fam[ca][0], dates[i].site);
			label(f, dates[i].file);
			fprintf(f, "\"} %lld\n", dates[i].not_after);
		}
	}
	fprintf(f, "# HELP aopgate_client_cert_not_after_seconds When the certificate of each "
		"site's last verified puller expires (Unix time).\n"
		"# TYPE aopgate_client_cert_not_after_seconds gauge\n");
	for (size_t i = 0; i < n_pullers; i++)
		fprintf(f, "aopgate_client_cert_not_after_seconds{site=\"%s\"} %lld\n",
			pullers[i].site, pullers[i].not_after);
	pthread_mutex_unlock(&certinfo_lock);
}
