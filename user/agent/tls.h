/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TLS contexts for one configuration: a server SSL_CTX per site (TLS 1.2
 * and 1.3, AEAD ciphers, no renegotiation, its own CA list, CRLs and
 * verify mode), a client SSL_CTX per tls:// upstream, and the client-hello
 * callback that picks the site by SNI. Sessions resume from a bounded
 * server-side cache (stateful tickets), which a reload starts empty.
 */
#ifndef AOPGATE_TLS_H
#define AOPGATE_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>
#include "config.h"

struct tls;

/* How long a cached session may resume, in seconds. */
#define TLS_SESSION_TIMEOUT_S 3600

/*
 * tls_init(): one-time setup (ex_data slots).
 * Returns 0 or -1.
 */
int tls_init(void);

/*
 * tls_build(cfg, err, errlen): loads every certificate, key, CA bundle
 * and CRL cfg names and builds the contexts. Returns NULL on failure with
 * "file:line: what is wrong" lines in err (unreadable file, cert/key
 * mismatch, CA file without a certificate, CRL that does not parse).
 */
struct tls *tls_build(const struct config *cfg, char *err, size_t errlen);

/* tls_free(t): frees t; live SSL objects keep their contexts alive. */
void tls_free(struct tls *t);

/*
 * tls_accept_new(t, fd): a server SSL on fd; its client-hello callback
 * will switch it to the site the SNI selects. Returns NULL on failure.
 */
SSL *tls_accept_new(struct tls *t, int fd);

/*
 * tls_site(ssl): the site the client hello selected (NULL before the
 * callback ran, or when no site matched: then tls_unknown_sni is 1).
 */
const struct config_site *tls_site(SSL *ssl);
int tls_unknown_sni(SSL *ssl);

/* tls_sni(ssl): the server name the client sent (lower case), or NULL. */
const char *tls_sni(SSL *ssl);

/* tls_site_store(t, site_id): the site's trust store (CA + CRLs), or NULL. */
X509_STORE *tls_site_store(struct tls *t, uint32_t site_id);

/*
 * tls_upstream_new(t, site_id, u, fd): a client SSL to the site's tls://
 * upstream u (upstream or upstream_h2) on fd, with SNI and, when
 * upstream_ca is set, host checking.
 * Returns NULL on failure.
 */
SSL *tls_upstream_new(struct tls *t, uint32_t site_id, const struct config_upstream *u,
		       int fd);


#endif
