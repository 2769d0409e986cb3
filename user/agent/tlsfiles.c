// SPDX-License-Identifier: GPL-2.0-only
/* The TLS material read from the configuration's files; see tlsint.h. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "files.h"
#include "log.h"
#include "tlsint.h"

void bad(struct tls_err *e, int line, const char *fmt, ...)
{
	char ssl[256];
	va_list ap;

	va_start(ap, fmt);
	errbuf_vadd(&e->eb, e->file, line, fmt, ap);
	va_end(ap);
	log_ssl_errors(ssl, sizeof(ssl));
	if (ssl[0])
		errbuf_cat(&e->eb, " (%s)", ssl);
}
/*
 * A private key that group or others may read has leaked already, or
 * will: refused unless the operator says otherwise (OpenSSH refuses too).
 */
static int key_private(const struct config_path *key, bool allow, struct tls_err *e)
{
	mode_t mode;

	if (files_mode(key->path, &mode) < 0 || allow || !(mode & 077))
		return 0;	/* a missing file is reported by its loader */
	bad(e, key->line, "key %s may be read by group or others (mode %03o): chmod 600 it, "
	    "or set allow_insecure_keys = yes", key->path, (unsigned)(mode & 0777));
	return -1;
}

/*
 * The leaf and then its chain from a PEM file, as
 * SSL_CTX_use_certificate_chain_file reads them, but through files.h.
 */
static int use_chain(SSL_CTX *ctx, const char *path)
{
	BIO *b = files_bio(path);
	X509 *x;
	int rc = -1;

	if (!b)
		return -1;
	x = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL);
	if (!x || SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_clear_chain_certs(ctx) != 1)
		goto out;
	X509_free(x);
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1)
			goto out;
	/* The end of the file reads as "no start line"; anything else is damage. */
	if (ERR_GET_LIB(ERR_peek_last_error()) == ERR_LIB_PEM &&
	    ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE) {
		ERR_clear_error();
		rc = 0;
	}
out:
	X509_free(x);
	BIO_free(b);
	return rc;
}

static int use_key(SSL_CTX *ctx, const char *path)
{
	BIO *b = files_bio(path);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	int rc = k && SSL_CTX_use_PrivateKey(ctx, k) == 1 ? 0 : -1;

	EVP_PKEY_free(k);
	BIO_free(b);
	return rc;
}

int load_certs(SSL_CTX *ctx, const struct config_path *cert,
	       const struct config_path *key, int n, bool allow_insecure,
	       struct tls_err *e)
{
	for (int i = 0; i < n; i++) {
		if (key_private(&key[i], allow_insecure, e) < 0)
			return -1;
		if (use_chain(ctx, cert[i].path) < 0) {
			bad(e, cert[i].line, "cert %s: cannot load a certificate chain",
			    cert[i].path);
			return -1;
		}
		if (use_key(ctx, key[i].path) < 0) {
			bad(e, key[i].line, "key %s: cannot load a private key", key[i].path);
			return -1;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			bad(e, key[i].line, "key %s does not match cert %s", key[i].path,
			    cert[i].path);
			return -1;
		}
	}
	return 0;
}

int load_ca(X509_STORE *store, STACK_OF(X509_NAME) *names,
	    const struct config_path *p, const char *what, struct tls_err *e)
{
	BIO *b = files_bio(p->path);
	X509 *x;
	int n = 0;

	if (!b) {
		ERR_clear_error();
		bad(e, p->line, "%s %s: %s", what, p->path, strerror(errno ? errno : ENOENT));
		return -1;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		X509_STORE_add_cert(store, x);
		if (names)
			sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(x)));
		X509_free(x);
		n++;
	}
	ERR_clear_error();
	BIO_free(b);
	if (n == 0) {
		bad(e, p->line, "%s %s holds no PEM certificate", what, p->path);
		return -1;
	}
	return 0;
}

int crl_covers_cas(X509_STORE *store, const struct config_site *s, struct tls_err *e)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	char name[256];
	int rc = 0;

	for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509 *ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
		bool found = false;

		if (!ca)
			continue;
		for (int j = 0; j < sk_X509_OBJECT_num(objs) && !found; j++) {
			X509_CRL *crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objs, j));

			found = crl && !X509_NAME_cmp(X509_CRL_get_issuer(crl),
						      X509_get_subject_name(ca));
		}
		if (found)
			continue;
		X509_NAME_oneline(X509_get_subject_name(ca), name, sizeof(name));
		bad(e, s->crl.line, "site %s: crl %s has no CRL of the client_ca CA %s; with crl "
		    "set, every CA of client_ca needs its CRL", s->name, s->crl.path, name);
		rc = -1;
	}
	return rc;
}

int load_crl(X509_STORE *store, const struct config_path *p, struct tls_err *e)
{
	BIO *b = files_bio(p->path);
	X509_CRL *crl;
	int n = 0;

	if (!b) {
		ERR_clear_error();
		bad(e, p->line, "crl %s: %s", p->path, strerror(errno ? errno : ENOENT));
		return -1;
	}
	while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL) {
		X509_STORE_add_crl(store, crl);
		X509_CRL_free(crl);
		n++;
	}
	ERR_clear_error();
	BIO_free(b);
	if (n == 0) {
		bad(e, p->line, "crl %s holds no CRL that parses", p->path);
		return -1;
	}
	/* As nginx's ssl_crl: every certificate of the chain is checked. */
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	return 0;
}
