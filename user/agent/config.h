/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's configuration: one INI file with an [agent] section and one
 * [site NAME] section per SNI pattern; `include = GLOB` reads more files
 * in its place (sorted), e.g. one site a file under conf.d/. A table of directives (name,
 * section, parser, default, help) drives parsing, validation, `-t` and the
 * documentation. Loading builds a complete new object; the caller swaps it
 * in only once it (and the TLS contexts built from it) validated.
 */
#ifndef AOPGATE_CONFIG_H
#define AOPGATE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include "aopgate.h"

enum config_verify {
	CONFIG_VERIFY_ON,
	CONFIG_VERIFY_OPTIONAL,
	CONFIG_VERIFY_OFF,
};

enum config_pp {
	CONFIG_PP_OFF,
	CONFIG_PP_V1,
	CONFIG_PP_V2,
};

/* A file named in the configuration, with the line that named it. */
struct config_path {
	char *path;
	int line;
};

struct config_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct config_strs {
	char **v;
	size_t n;
};

/* SHA-256 digests (certificate or SPKI pins). */
struct config_pins {
	unsigned char (*v)[32];
	size_t n;
};

#define CONFIG_MAX_CERTS 2	/* one ECDSA and one RSA */

struct config_upstream {
	bool tls;		/* tls://host:port */
	char *host;		/* as written; the SNI for tls:// */
	struct config_addr addr;
	int line;
};

struct config_site {
	char *name;		/* exact SNI, "*.suffix" or "default" */
	uint32_t id;		/* 1-based, in file order; stable per name */
	const char *file;	/* that holds the [site NAME] header (in config.files) */
	int line;		/* of the [site NAME] header */
	struct config_path cert[CONFIG_MAX_CERTS];
	struct config_path key[CONFIG_MAX_CERTS];
	int n_cert, n_key;
	struct config_path client_ca;
	struct config_path crl;
	enum config_verify verify;
	int verify_depth;
	struct config_strs allow_cn;
	struct config_strs allow_san_dns;
	struct config_strs allow_san_uri;
	struct config_pins pin_sha256;
	struct config_pins pin_spki_sha256;
	struct config_strs alpn;
	struct config_upstream upstream_h2;	/* host NULL: none, h2 not offered */
	struct config_upstream upstream;
	enum config_pp proxy_protocol;
	struct config_path upstream_cert;
	struct config_path upstream_key;
	struct config_path upstream_ca;
	uint64_t seen;		/* directives given explicitly (bit = index) */
};

struct config_agent {
	struct config_addr *listen;
	size_t n_listen;
	int workers;		/* 0: one per online CPU */
	char *pin_root;
	struct config_addr metrics;	/* len 0: off */
	char *user;		/* NULL: keep the current user */
	uint64_t handshake_timeout_ns;
	uint64_t idle_timeout_ns;
	uint64_t linger_ns;
	uint64_t flow_lease_ns;
	uint64_t drain_timeout_ns;
	uint32_t max_connections;
	uint32_t max_handshakes_per_source;	/* 0: no cap */
	uint32_t session_cache;	/* sessions kept for resumption; 0: none */
	uint64_t penalty_ns;
	uint64_t penalty_max_ns;
	uint32_t penalty_after;
	uint64_t penalty_window_ns;
	bool penalize_allowed;
	uint64_t standing_ns;
	struct allow_key *exempt;
	size_t n_exempt;
	bool strict_sni;
	bool allow_insecure_keys;
	int log_level;		/* enum log_level */
	int log_format;		/* enum log_format */
	uint64_t seen;
};

struct config {
	char *file;
	char **files;		/* included files, for their sites' error messages */
	size_t n_files;
	struct config_agent agent;
	struct config_site *sites;
	size_t n_sites;
};

/*
 * config_load(path, err, errlen): parses and validates path into a new
 * configuration. Returns NULL on failure with every problem, one per line
 * as "file:line: what is wrong", in err.
 */
struct config *config_load(const char *path, char *err, size_t errlen);

/*
 * config_each_path(cfg, fn): calls fn with every file a site names (cert,
 * key, client_ca, crl, upstream_cert, upstream_key, upstream_ca): what a
 * load reads beyond the configuration's own files.
 */
void config_each_path(const struct config *cfg, void (*fn)(const char *path));

/* config_free(cfg): frees cfg; cfg may be NULL. */
void config_free(struct config *cfg);

/*
 * config_site_match(cfg, sni): the site for a ClientHello's server name
 * (NULL: none sent): the exact name, else the longest "*.suffix" covering
 * one label, else "default" unless strict_sni. Returns NULL if none fits.
 */
const struct config_site *config_site_match(const struct config *cfg,
					    const char *sni);

/* config_site_by_name(cfg, name): the site of that exact name, or NULL. */
const struct config_site *config_site_by_name(const struct config *cfg,
					      const char *name);

/* config_site_by_id(cfg, id): the site with that id, or NULL. */
const struct config_site *config_site_by_id(const struct config *cfg,
					    uint32_t id);

/* config_exempt(cfg, addr): whether a mapped source is penalty_exempt. */
bool config_exempt(const struct config *cfg, const __u8 addr[16]);

/* config_verify_name / config_pp_name: the values as written in the file. */
const char *config_verify_name(enum config_verify v);
const char *config_pp_name(enum config_pp p);

#endif
