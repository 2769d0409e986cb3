/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small PKI for the C tests, made with OpenSSL APIs: EC P-256 keys,
 * CA, intermediate, server and client certificates with chosen validity,
 * EKU and SANs, and CRLs. Everything is static: each test includes it.
 */
#ifndef AOPGATE_TEST_PKI_H
#define AOPGATE_TEST_PKI_H

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct pki_cert {
	X509 *x;
	EVP_PKEY *k;
};

/* Options of one certificate; zero means the usual. */
struct pki_opts {
	const char *cn;
	long not_before_days;	/* relative to now; default -1 */
	long not_after_days;	/* default 30 */
	int ca;
	const char *eku;	/* "clientAuth" (default for leaves), "serverAuth", "none" */
	const char *san;	/* e.g. "DNS:a.example, URI:spiffe://td/x" */
	long serial;		/* default: a counter */
};

static inline EVP_PKEY *pki_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static inline void pki_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (e) {
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
}

/* pki_make(o, issuer): a certificate signed by issuer (NULL: self-signed). */
static inline struct pki_cert pki_make(const struct pki_opts *o, const struct pki_cert *issuer)
{
	static long serial = 1000;
	struct pki_cert c = { X509_new(), pki_key() };
	X509_NAME *n = X509_NAME_new();

	X509_set_version(c.x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c.x), o->serial ? o->serial : ++serial);
	X509_gmtime_adj(X509_getm_notBefore(c.x),
			(o->not_before_days ? o->not_before_days : -1) * 86400L);
	X509_gmtime_adj(X509_getm_notAfter(c.x),
			(o->not_after_days ? o->not_after_days : 30) * 86400L);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)o->cn, -1, -1, 0);
	X509_set_subject_name(c.x, n);
	X509_set_issuer_name(c.x, issuer ? X509_get_subject_name(issuer->x) : n);
	X509_NAME_free(n);
	X509_set_pubkey(c.x, c.k);
	pki_ext(c.x, NULL, NID_subject_key_identifier, "hash");
	if (issuer)
		pki_ext(c.x, issuer->x, NID_authority_key_identifier, "keyid");
	if (o->ca) {
		pki_ext(c.x, NULL, NID_basic_constraints, "critical,CA:TRUE");
		pki_ext(c.x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		pki_ext(c.x, NULL, NID_basic_constraints, "critical,CA:FALSE");
		pki_ext(c.x, NULL, NID_key_usage, "critical,digitalSignature");
		if (!o->eku || strcmp(o->eku, "none"))
			pki_ext(c.x, NULL, NID_ext_key_usage, o->eku ? o->eku : "clientAuth");
	}
	if (o->san)
		pki_ext(c.x, NULL, NID_subject_alt_name, o->san);
	X509_sign(c.x, issuer ? issuer->k : c.k, EVP_sha256());
	return c;
}

static inline void pki_free(struct pki_cert *c)
{
	X509_free(c->x);
	EVP_PKEY_free(c->k);
	c->x = NULL;
	c->k = NULL;
}

/* pki_crl(ca, serials, n): a CRL of ca revoking the given serials. */
static inline X509_CRL *pki_crl(const struct pki_cert *ca, const long *serials, int n)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->x));
	X509_gmtime_adj(t, -3600);
	X509_CRL_set1_lastUpdate(crl, t);
	X509_gmtime_adj(t, 7 * 86400L);
	X509_CRL_set1_nextUpdate(crl, t);
	for (int i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();

		ASN1_INTEGER_set(s, serials[i]);
		X509_REVOKED_set_serialNumber(r, s);
		X509_gmtime_adj(t, -60);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(s);
	}
	ASN1_TIME_free(t);
	X509_CRL_sort(crl);
	X509_CRL_sign(crl, ca->k, EVP_sha256());
	return crl;
}

/* pki_write_*(path, ...): PEM files for the code under test to load. */
static inline int pki_write_cert(const char *path, X509 *x, X509 *chain)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	PEM_write_X509(f, x);
	if (chain)
		PEM_write_X509(f, chain);
	return fclose(f);
}

/* Written 0600, as openssl(1) writes keys: the agent refuses wider ones. */
static inline int pki_write_key(const char *path, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fchmod(fileno(f), 0600);
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	return fclose(f);
}

static inline int pki_write_crl(const char *path, X509_CRL *crl)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	PEM_write_X509_CRL(f, crl);
	return fclose(f);
}

#endif
