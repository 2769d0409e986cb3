// SPDX-License-Identifier: GPL-2.0-only
/* Client identity policy; see policy.h. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "hostname.h"
#include "policy.h"
#include "verdict.h"

static int policy_ex_idx = -1;

static enum reason chain_result(struct policy_result *res, int err, int depth);

int policy_init(void)
{
	if (policy_ex_idx < 0)
		policy_ex_idx = SSL_get_ex_new_index(0, "aopgate policy record", NULL, NULL, NULL);
	return policy_ex_idx < 0 ? -1 : 0;
}

void policy_attach(SSL *ssl, struct policy_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	SSL_set_ex_data(ssl, policy_ex_idx, rec);
}

void policy_detach(struct policy_record *rec)
{
	X509_free(rec->leaf);
	rec->leaf = NULL;
}

void policy_select(SSL *ssl, const struct config_site *site)
{
	struct policy_record *rec = SSL_get_ex_data(ssl, policy_ex_idx);
	bool on = site->verify == CONFIG_VERIFY_ON;

	if (rec) {
		rec->site = on ? site : NULL;
		rec->max_chain = site->verify_depth + 2;
	}
	SSL_set_max_cert_list(ssl, POLICY_MAX_CERT_LIST);
	SSL_set_verify(ssl, SSL_VERIFY_PEER | (on ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
		       policy_verify_cb);
}

/*
 * Records what it sees; the decision for a completed handshake is
 * policy_decide's. Under verify = on a certificate that fails is refused
 * here, with the alert OpenSSL maps its error to; the identity constraints
 * are checked once the leaf's chain has passed (depth 0), and their
 * failure goes out as bad_certificate.
 */
int policy_verify_cb(int preverify_ok, X509_STORE_CTX *ctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct policy_record *rec = ssl ? SSL_get_ex_data(ssl, policy_ex_idx) : NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(ctx);
	struct policy_result res;

	if (!rec)
		return preverify_ok;
	rec->called = 1;
	if (!rec->leaf && leaf && X509_up_ref(leaf))
		rec->leaf = leaf;
	if (!preverify_ok && rec->err == X509_V_OK) {
		rec->err = X509_STORE_CTX_get_error(ctx);
		rec->depth = X509_STORE_CTX_get_error_depth(ctx);
	}
	if (!rec->site)
		return 1;
	if (!preverify_ok) {
		rec->refused = chain_result(&res, rec->err, rec->depth);
		memcpy(rec->detail, res.detail, sizeof(rec->detail));
		return 0;
	}
	if (X509_STORE_CTX_get_error_depth(ctx) == 0 && rec->refused == REASON_OK) {
		rec->refused = policy_identity(rec->site, leaf, rec->detail, sizeof(rec->detail));
		if (rec->refused != REASON_OK) {
			X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REJECTED);
			return 0;
		}
	}
	return 1;
}

int policy_cert_verify(X509_STORE_CTX *ctx, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct policy_record *rec = ssl ? SSL_get_ex_data(ssl, policy_ex_idx) : NULL;
	STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(ctx);
	X509 *leaf = X509_STORE_CTX_get0_cert(ctx);
	struct policy_result res;

	(void)arg;
	if (!rec || !rec->max_chain || sk_X509_num(sent) <= rec->max_chain)
		return X509_verify_cert(ctx);
	/*
	 * What the verify callback would record, without the walk: a chain
	 * no site accepts is a stranger's, and checking it costs the most.
	 */
	X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_CHAIN_TOO_LONG);
	rec->called = 1;
	if (!rec->leaf && leaf && X509_up_ref(leaf))
		rec->leaf = leaf;
	if (rec->err == X509_V_OK) {
		rec->err = X509_V_ERR_CERT_CHAIN_TOO_LONG;
		rec->depth = sk_X509_num(sent) - 1;
	}
	if (!rec->site)
		return 1;	/* verify = optional: admitted, logged as failed */
	rec->refused = chain_result(&res, rec->err, rec->depth);
	snprintf(rec->detail, sizeof(rec->detail), "client sent %d certificates, at most %d "
		 "with verify_depth %d", sk_X509_num(sent), rec->max_chain, rec->max_chain - 2);
	return 0;
}

enum reason policy_refusal(SSL *ssl, struct policy_result *res)
{
	struct policy_record *rec = SSL_get_ex_data(ssl, policy_ex_idx);
	unsigned long e = ERR_peek_error();

	memset(res, 0, sizeof(*res));
	if (!rec || !rec->site)
		return REASON_OK;
	if (rec->refused != REASON_OK) {
		res->x509_err = rec->err;
		memcpy(res->detail, rec->detail, sizeof(res->detail));
		return res->reason = rec->refused;
	}
	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
		snprintf(res->detail, sizeof(res->detail), "no client certificate");
		return res->reason = REASON_NO_CERT;
	}
	return REASON_OK;
}

X509 *policy_peer_cert(SSL *ssl)
{
	struct policy_record *rec = SSL_get_ex_data(ssl, policy_ex_idx);
	X509 *cert = SSL_get0_peer_certificate(ssl);

	return cert ? cert : rec ? rec->leaf : NULL;
}

enum reason policy_reason_from_x509(int err)
{
	switch (err) {
	case X509_V_OK:
		return REASON_OK;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return REASON_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return REASON_NOT_YET_VALID;
	case X509_V_ERR_CERT_REVOKED:
		return REASON_REVOKED;
	/*
	 * Revocation status unknown: refused (crl = set means checked), but
	 * the CRL is ours to keep current, so it is its own reason and no
	 * failure of the client's.
	 */
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
		return REASON_CRL_MISSING;
	case X509_V_ERR_INVALID_PURPOSE:
	case X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE:
	case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
	case X509_V_ERR_INVALID_CA:
		return REASON_BAD_PURPOSE;
	default:
		/* Every other chain error means no path to a trusted CA. */
		return REASON_UNKNOWN_CA;
	}
}

/* An ASN1 string as C text; embedded NULs make it unusable for matching. */
static int asn1_text(const ASN1_STRING *s, char *buf, size_t len)
{
	unsigned char *utf8 = NULL;
	int n = ASN1_STRING_to_UTF8(&utf8, s);

	if (n < 0)
		return -1;
	if ((size_t)n >= len || memchr(utf8, 0, n)) {
		OPENSSL_free(utf8);
		return -1;
	}
	memcpy(buf, utf8, n);
	buf[n] = '\0';
	OPENSSL_free(utf8);
	return 0;
}

int policy_uri_match(const char *pattern, const char *uri)
{
	size_t pl = strlen(pattern);

	if (!strcmp(pattern, uri))
		return 1;
	if (pl >= 2 && !strcmp(pattern + pl - 2, "/*"))
		return !strncmp(pattern, uri, pl - 1) && uri[pl - 1] != '\0';
	return 0;
}

static int match_cn(const struct config_site *site, X509 *cert)
{
	X509_NAME *subj = X509_get_subject_name(cert);
	char cn[256];
	int i = -1;

	while ((i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(subj, i);

		if (asn1_text(X509_NAME_ENTRY_get_data(e), cn, sizeof(cn)) < 0)
			continue;
		for (size_t j = 0; j < site->allow_cn.n; j++)
			if (!strcmp(site->allow_cn.v[j], cn))
				return 1;
	}
	return 0;
}

static int match_san(const struct config_site *site, X509 *cert)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	int found = 0;
	char v[1024];

	for (int i = 0; !found && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);

		if (gn->type == GEN_DNS && site->allow_san_dns.n &&
		    asn1_text(gn->d.dNSName, v, sizeof(v)) == 0) {
			for (size_t j = 0; !found && j < site->allow_san_dns.n; j++)
				found = hostname_match(site->allow_san_dns.v[j], v);
		} else if (gn->type == GEN_URI && site->allow_san_uri.n &&
			   asn1_text(gn->d.uniformResourceIdentifier, v, sizeof(v)) == 0) {
			for (size_t j = 0; !found && j < site->allow_san_uri.n; j++)
				found = policy_uri_match(site->allow_san_uri.v[j], v);
		}
	}
	GENERAL_NAMES_free(names);
	return found;
}

int policy_spki_sha256(X509 *cert, unsigned char out[32])
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	int rc = -1;

	if (n <= 0)
		return -1;
	if (EVP_Digest(der, n, out, NULL, EVP_sha256(), NULL))
		rc = 0;
	OPENSSL_free(der);
	return rc;
}

static int pins_hold(const struct config_pins *p, const unsigned char d[32])
{
	for (size_t i = 0; i < p->n; i++)
		if (!memcmp(p->v[i], d, 32))
			return 1;
	return 0;
}

enum reason policy_identity(const struct config_site *site, X509 *cert,
			    char *detail, size_t len)
{
	unsigned char d[32];
	unsigned int dl = sizeof(d);

	if (site->allow_cn.n || site->allow_san_dns.n || site->allow_san_uri.n) {
		/* Name constraints are alternatives: any one admits. */
		if (!(site->allow_cn.n && match_cn(site, cert)) && !match_san(site, cert)) {
			snprintf(detail, len, "no allowed CN, DNS SAN or URI SAN");
			return REASON_POLICY_MISMATCH;
		}
	}
	if (site->pin_sha256.n || site->pin_spki_sha256.n) {
		int pinned = 0;

		if (site->pin_sha256.n && X509_digest(cert, EVP_sha256(), d, &dl))
			pinned = pins_hold(&site->pin_sha256, d);
		if (!pinned && site->pin_spki_sha256.n && policy_spki_sha256(cert, d) == 0)
			pinned = pins_hold(&site->pin_spki_sha256, d);
		if (!pinned) {
			snprintf(detail, len, "certificate matches no pin");
			return REASON_PIN_MISMATCH;
		}
	}
	return REASON_OK;
}

static enum reason chain_result(struct policy_result *res, int err, int depth)
{
	res->x509_err = err;
	res->reason = policy_reason_from_x509(err);
	if (err != X509_V_OK)
		snprintf(res->detail, sizeof(res->detail), "%s (depth %d)",
			 X509_verify_cert_error_string(err), depth);
	return res->reason;
}

enum reason policy_chain(X509_STORE *store, int depth, X509 *cert,
			 STACK_OF(X509) *chain, struct policy_result *res)
{
	X509_STORE_CTX *ctx;
	int err = X509_V_ERR_UNSPECIFIED, edepth = 0;

	memset(res, 0, sizeof(*res));
	/* A resumption, or a recheck after a reload: the same certificate again. */
	if (verdict_known(store, cert))
		return chain_result(res, X509_V_OK, 0);
	ctx = X509_STORE_CTX_new();
	if (!ctx || !X509_STORE_CTX_init(ctx, store, cert, chain))
		goto out;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	X509_VERIFY_PARAM_set_depth(X509_STORE_CTX_get0_param(ctx), depth);
	if (X509_verify_cert(ctx) == 1) {
		err = X509_V_OK;
		verdict_remember(ctx);
	} else {
		err = X509_STORE_CTX_get_error(ctx);
		edepth = X509_STORE_CTX_get_error_depth(ctx);
	}
out:
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return chain_result(res, err, edepth);
}

enum reason policy_decide(const struct config_site *site, X509_STORE *store,
			  SSL *ssl, bool recheck, struct policy_result *res)
{
	struct policy_record *rec = SSL_get_ex_data(ssl, policy_ex_idx);
	X509 *cert;

	memset(res, 0, sizeof(*res));
	if (site->verify == CONFIG_VERIFY_OFF)
		return res->reason = REASON_OK;
	cert = SSL_get0_peer_certificate(ssl);
	if (!cert) {
		snprintf(res->detail, sizeof(res->detail), "no client certificate");
		return res->reason = REASON_NO_CERT;
	}
	if (!store) {
		snprintf(res->detail, sizeof(res->detail), "site has no client_ca");
		return res->reason = REASON_UNKNOWN_CA;
	}
	/*
	 * The handshake's own verdict only when this handshake checked the
	 * chain: a resumed session's, or one before a reload, may be stale.
	 */
	if (recheck || SSL_session_reused(ssl) || !rec || !rec->called) {
		if (policy_chain(store, site->verify_depth, cert,
				 SSL_get_peer_cert_chain(ssl), res) != REASON_OK)
			return res->reason;
	} else if (chain_result(res, rec->err, rec->depth) != REASON_OK) {
		return res->reason;
	}
	return res->reason = policy_identity(site, cert, res->detail, sizeof(res->detail));
}

static void name_str(X509_NAME *n, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int r;

	buf[0] = '\0';
	if (!b)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		r = BIO_read(b, buf, len - 1);
		buf[r > 0 ? r : 0] = '\0';
	}
	BIO_free(b);
}

void policy_describe(X509 *cert, struct policy_ident *id)
{
	X509_NAME *subj;
	unsigned int dl = sizeof(id->sha256);
	int i;

	memset(id, 0, sizeof(*id));
	if (!cert)
		return;
	id->has_cert = 1;
	subj = X509_get_subject_name(cert);
	name_str(subj, id->subject, sizeof(id->subject));
	name_str(X509_get_issuer_name(cert), id->issuer, sizeof(id->issuer));
	i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (i >= 0 && asn1_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)),
				id->cn, sizeof(id->cn)) < 0)
		id->cn[0] = '\0';
	if (X509_digest(cert, EVP_sha256(), id->sha256, &dl)) {
		static const char hex[] = "0123456789abcdef";

		for (i = 0; i < 32; i++) {
			id->sha256_hex[2 * i] = hex[id->sha256[i] >> 4];
			id->sha256_hex[2 * i + 1] = hex[id->sha256[i] & 15];
		}
		id->sha256_hex[64] = '\0';
	}
}
