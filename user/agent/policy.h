/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Client identity policy. During the handshake the OpenSSL verify callback
 * only records the first chain error; after it, policy_decide maps that
 * error to a reason and applies the site's identity constraints (CN, DNS
 * SAN, URI SAN, certificate and SPKI pins) in one place. The same checks
 * re-run on a resumed session and on live connections after a reload.
 */
#ifndef AOPGATE_POLICY_H
#define AOPGATE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "config.h"
#include "reason.h"

/* What the log line and the PROXY header say about a client certificate. */
struct policy_ident {
	char subject[256];	/* RFC 2253 */
	char issuer[256];
	char cn[128];		/* first subject CN, "" if none */
	unsigned char sha256[32];	/* of the DER certificate */
	char sha256_hex[65];
	int has_cert;
};

/* The outcome of one decision. */
struct policy_result {
	enum reason reason;
	int x509_err;		/* X509_V_OK or the first chain error */
	char detail[160];	/* e.g. "certificate has expired (depth 0)" */
};

/* What the verify callback saw during one handshake; owned by the conn. */
struct policy_record {
	int err;		/* first X509_V_ERR_*, X509_V_OK if none */
	int depth;		/* where it was found */
	int called;		/* the callback ran (a certificate was checked) */
	const struct config_site *site;	/* chosen by SNI, with verify = on */
	enum reason refused;	/* why the callback refused the handshake, or OK */
	char detail[160];
	X509 *leaf;		/* the client's certificate (a reference) */
	int max_chain;		/* certificates the client may send (policy_cert_verify) */
};

/*
 * policy_init(): allocates the SSL ex_data slot the verify callback
 * records into. Call once before any handshake. Returns 0 or -1.
 */
int policy_init(void);

/* policy_attach(ssl, rec): the verify callback of ssl records into rec. */
void policy_attach(SSL *ssl, struct policy_record *rec);

/* policy_detach(rec): drops what rec holds (the certificate reference). */
void policy_detach(struct policy_record *rec);

/*
 * policy_select(ssl, site): the site chosen by SNI (verify = on or
 * optional). Under verify = on the handshake is refused as soon as the
 * client's certificate fails (missing, chain, identity), with the TLS
 * alert that says why (certificate_required, unknown_ca,
 * certificate_expired, certificate_revoked, bad_certificate, ...), so the
 * puller's own log names the reason; under optional nothing is refused
 * in the handshake.
 */
void policy_select(SSL *ssl, const struct config_site *site);

/*
 * policy_verify_cb: the SSL verify callback. Records the first chain
 * error and the certificate; refuses only under verify = on.
 */
int policy_verify_cb(int preverify_ok, X509_STORE_CTX *ctx);

/*
 * The bytes of the client's Certificate message: a chain of a few
 * intermediates fits with room to spare (the largest real ones are a few
 * kB a certificate); more is refused by OpenSSL while it reads, before a
 * certificate is parsed.
 */
#define POLICY_MAX_CERT_LIST (64 * 1024)

/*
 * policy_cert_verify: the SSL_CTX's certificate verify callback (set on
 * every site's context). A client chain longer than the site's
 * verify_depth allows (leaf, verify_depth certificates above it and the
 * root it may append) is refused before OpenSSL builds a path through it,
 * as certificate chain too long; otherwise X509_verify_cert as usual.
 */
int policy_cert_verify(X509_STORE_CTX *ctx, void *arg);

/*
 * policy_refusal(ssl, res): after a failed handshake, whether the policy
 * refused it in the handshake (REASON_OK if not), with res filled as
 * policy_decide would have.
 */
enum reason policy_refusal(SSL *ssl, struct policy_result *res);

/* policy_peer_cert(ssl): the client's certificate, also of a refused handshake. */
X509 *policy_peer_cert(SSL *ssl);

/* policy_reason_from_x509(err): the reason for an X509_V_ERR_* code. */
enum reason policy_reason_from_x509(int err);

/*
 * policy_identity(site, cert, detail, len): checks the site's identity
 * constraints and pins against cert. REASON_OK, REASON_POLICY_MISMATCH or
 * REASON_PIN_MISMATCH (detail says which constraint failed).
 */
enum reason policy_identity(const struct config_site *site, X509 *cert,
			    char *detail, size_t len);

/*
 * policy_chain(store, depth, cert, chain, res): verifies cert (with the
 * untrusted intermediates in chain) against store (CRL flags included)
 * for the clientAuth purpose. Returns the reason; res gets the details.
 */
enum reason policy_chain(X509_STORE *store, int depth, X509 *cert,
			 STACK_OF(X509) *chain, struct policy_result *res);

/*
 * policy_decide(site, store, ssl, recheck, res): the one decision on a
 * client, after its handshake and again for a live connection after a
 * reload (recheck): the chain error the handshake recorded (a fresh chain
 * check against store on a resumed session or a recheck), then the
 * identity constraints. verify = off always yields REASON_OK; a site
 * without a CA store refuses every certificate. Returns res->reason.
 */
enum reason policy_decide(const struct config_site *site, X509_STORE *store,
			  SSL *ssl, bool recheck, struct policy_result *res);

/* policy_describe(cert, id): fills id from cert (NULL: has_cert = 0). */
void policy_describe(X509 *cert, struct policy_ident *id);

/*
 * policy_spki_sha256(cert, out): SHA-256 of the DER SubjectPublicKeyInfo
 * (what `openssl pkey -pubin -outform der | sha256sum` gives). 0 or -1.
 */
int policy_spki_sha256(X509 *cert, unsigned char out[32]);

/*
 * policy_uri_match(pattern, uri): exact, or "P/" plus an asterisk
 * covering every URI below P/.
 */
int policy_uri_match(const char *pattern, const char *uri);

#endif
