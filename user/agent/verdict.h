/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A bounded cache of passed chain verifications, one per trust store: a
 * CDN presents the same client certificate on every connection, and
 * building and checking its chain was an eighth of a full handshake and a
 * fifth of a resumed one. An entry is the SHA-256 of the leaf's DER and
 * the time it stops holding: the earliest notAfter of the verified chain,
 * and at most VERDICT_TTL_S after it was checked (so a CRL's nextUpdate
 * or an intermediate's expiry is seen that late at worst). The cache
 * lives in the store's ex_data: a reload, which loads the CAs and CRLs
 * into new stores, starts with empty caches. Only passed verdicts are
 * kept; a refusal is never cached.
 */
#ifndef AOPGATE_VERDICT_H
#define AOPGATE_VERDICT_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Entries per store; a new verdict replaces the one in its slot. */
#define VERDICT_SLOTS 1024
/* The longest an entry holds, in seconds. */
#define VERDICT_TTL_S 60

/* verdict_init(): one-time setup (the ex_data slot). Returns 0 or -1. */
int verdict_init(void);

/* verdict_attach(store): gives store an empty cache. Returns 0 or -1. */
int verdict_attach(X509_STORE *store);

/* verdict_known(store, leaf): 1 if leaf passed against store and still holds. */
int verdict_known(X509_STORE *store, X509 *leaf);

/*
 * verdict_remember(ctx): after X509_verify_cert passed with no error
 * overridden, caches ctx's leaf until its chain's earliest notAfter.
 */
void verdict_remember(X509_STORE_CTX *ctx);

/*
 * verdict_verify(ctx, arg): the SSL_CTX cert verify callback: on a cached
 * verdict, runs the SSL's verify callback once for the leaf (as
 * X509_verify_cert would at depth 0, where the identity policy is
 * checked) instead of building the chain; else X509_verify_cert, and a
 * pass is remembered. Returns what X509_verify_cert would.
 */
int verdict_verify(X509_STORE_CTX *ctx, void *arg);

#endif
