// SPDX-License-Identifier: GPL-2.0-only
/*
 * A loaded configuration, once config.c has built it: the files it names,
 * the site for an SNI, by name or by id, the exempt sources, and freeing it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "config.h"
#include "hostname.h"

void config_each_path(const struct config *cfg, void (*fn)(const char *path))
{
	for (size_t i = 0; i < cfg->n_sites; i++) {
		const struct config_site *s = &cfg->sites[i];
		const struct config_path *one[] = {
			&s->client_ca, &s->crl, &s->upstream_cert, &s->upstream_key,
			&s->upstream_ca,
		};

		for (int j = 0; j < s->n_cert; j++)
			fn(s->cert[j].path);
		for (int j = 0; j < s->n_key; j++)
			fn(s->key[j].path);
		for (size_t j = 0; j < sizeof(one) / sizeof(one[0]); j++)
			if (one[j]->path)
				fn(one[j]->path);
	}
}

static void strs_free(struct config_strs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_sites; i++) {
		struct config_site *s = &cfg->sites[i];

		free(s->name);
		for (int j = 0; j < CONFIG_MAX_CERTS; j++) {
			free(s->cert[j].path);
			free(s->key[j].path);
		}
		free(s->client_ca.path);
		free(s->crl.path);
		strs_free(&s->allow_cn);
		strs_free(&s->allow_san_dns);
		strs_free(&s->allow_san_uri);
		strs_free(&s->alpn);
		free(s->pin_sha256.v);
		free(s->pin_spki_sha256.v);
		free(s->upstream.host);
		free(s->upstream_h2.host);
		free(s->upstream_cert.path);
		free(s->upstream_key.path);
		free(s->upstream_ca.path);
	}
	free(cfg->sites);
	free(cfg->agent.listen);
	free(cfg->agent.pin_root);
	free(cfg->agent.user);
	free(cfg->agent.exempt);
	for (size_t i = 0; i < cfg->n_files; i++)
		free(cfg->files[i]);
	free(cfg->files);
	free(cfg->file);
	free(cfg);
}

const struct config_site *config_site_match(const struct config *cfg, const char *sni)
{
	const struct config_site *best = NULL, *def = NULL;
	size_t best_len = 0;

	for (size_t i = 0; sni && i < cfg->n_sites; i++)
		if (!strcasecmp(cfg->sites[i].name, sni))
			return &cfg->sites[i];
	for (size_t i = 0; i < cfg->n_sites; i++) {
		const char *n = cfg->sites[i].name;

		if (!strcmp(n, "default")) {
			def = &cfg->sites[i];
			continue;
		}
		/* The most specific wildcard wins. */
		if (sni && hostname_is_wildcard(n) && hostname_match(n, sni) &&
		    strlen(n) > best_len) {
			best = &cfg->sites[i];
			best_len = strlen(n);
		}
	}
	if (best)
		return best;
	return cfg->agent.strict_sni ? NULL : def;
}

const struct config_site *config_site_by_name(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_sites; i++)
		if (!strcmp(cfg->sites[i].name, name))
			return &cfg->sites[i];
	return NULL;
}

const struct config_site *config_site_by_id(const struct config *cfg, uint32_t id)
{
	return id >= 1 && id <= cfg->n_sites ? &cfg->sites[id - 1] : NULL;
}

bool config_exempt(const struct config *cfg, const __u8 addr[16])
{
	for (size_t i = 0; i < cfg->agent.n_exempt; i++)
		if (addr_cidr_contains(&cfg->agent.exempt[i], addr))
			return true;
	return false;
}
