/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What tls.c builds its contexts from, read from the files the
 * configuration names (tlsfiles.c): certificates and keys, CA bundles and
 * CRLs, each failure reported against the configuration line that named
 * the file. Internal to tls.c and tlsfiles.c.
 */
#ifndef AOPGATE_TLSINT_H
#define AOPGATE_TLSINT_H

#include <stdbool.h>
#include <openssl/ssl.h>
#include "config.h"
#include "errbuf.h"

/*
 * Errors in the TLS material, as "file:line: what (OpenSSL's reason)",
 * like the configuration's; file is the one that holds the site being
 * built, an included one for a site from conf.d.
 */
struct tls_err {
	const char *file;
	struct errbuf eb;
};

/* bad(e, line, fmt, ...): one error, with OpenSSL's reason appended. */
void __attribute__((format(printf, 3, 4)))
bad(struct tls_err *e, int line, const char *fmt, ...);

/*
 * load_certs(ctx, cert, key, n, allow_insecure, e): the n certificate
 * chains and their keys into ctx; a key others may read is refused unless
 * allow_insecure.
 */
int load_certs(SSL_CTX *ctx, const struct config_path *cert,
	       const struct config_path *key, int n, bool allow_insecure,
	       struct tls_err *e);

/* load_ca(store, names, p, what, e): every certificate of a PEM bundle
 * into store (and their subjects into names, if given). */
int load_ca(X509_STORE *store, STACK_OF(X509_NAME) *names,
	    const struct config_path *p, const char *what, struct tls_err *e);

/* load_crl(store, p, e): the CRLs of p into store, checked for the whole chain. */
int load_crl(X509_STORE *store, const struct config_path *p, struct tls_err *e);

/*
 * crl_covers_cas(store, s, e): every CA of s's client_ca has a CRL in its
 * crl file: with crl set, a certificate whose issuer has none could never
 * be checked, and every one it signs would be refused. Refusing the
 * configuration names the CA.
 */
int crl_covers_cas(X509_STORE *store, const struct config_site *s, struct tls_err *e);

#endif /* AOPGATE_TLSINT_H */
