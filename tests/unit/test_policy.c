// SPDX-License-Identifier: GPL-2.0-only
/*
 * Identity policy: chain verdicts mapped to reasons, name constraints and
 * pins, against certificates this test makes with OpenSSL.
 */
#include <string.h>
#include <openssl/err.h>

#include "tap.h"
#include "pki.h"
#include "hostname.h"
#include "policy.h"

static struct pki_cert ca, other_ca, inter;

static X509_STORE *store_of(X509 *root, X509_CRL *crl)
{
	X509_STORE *s = X509_STORE_new();

	X509_STORE_add_cert(s, root);
	if (crl) {
		X509_STORE_add_crl(s, crl);
		X509_STORE_set_flags(s, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	}
	return s;
}

/* chain(o, issuer, store, depth): the reason policy_chain gives a new leaf. */
static enum reason chain(const struct pki_opts *o, const struct pki_cert *issuer,
			 X509_STORE *store, int depth, STACK_OF(X509) *untrusted)
{
	struct pki_cert c = pki_make(o, issuer);
	struct policy_result res;
	enum reason r = policy_chain(store, depth, c.x, untrusted, &res);

	if (r != REASON_OK)
		diag("chain: %s: %s", reason_name(r), res.detail);
	pki_free(&c);
	return r;
}

static void test_chain(void)
{
	X509_STORE *st = store_of(ca.x, NULL);
	STACK_OF(X509) *sk = sk_X509_new_null();

	ok(chain(&(struct pki_opts){ .cn = "edge" }, &ca, st, 2, NULL) == REASON_OK,
	   "a client certificate from the site's CA passes");
	ok(chain(&(struct pki_opts){ .cn = "edge" }, &other_ca, st, 2, NULL) == REASON_UNKNOWN_CA,
	   "a certificate from another CA is unknown_ca");
	ok(chain(&(struct pki_opts){ .cn = "self" }, NULL, st, 2, NULL) == REASON_UNKNOWN_CA,
	   "a self-signed certificate is unknown_ca");
	ok(chain(&(struct pki_opts){ .cn = "old", .not_before_days = -60, .not_after_days = -1 },
		 &ca, st, 2, NULL) == REASON_EXPIRED, "an expired certificate is expired");
	ok(chain(&(struct pki_opts){ .cn = "new", .not_before_days = 2, .not_after_days = 30 },
		 &ca, st, 2, NULL) == REASON_NOT_YET_VALID,
	   "a certificate valid from tomorrow is not_yet_valid");
	ok(chain(&(struct pki_opts){ .cn = "srv", .eku = "serverAuth" }, &ca, st, 2, NULL) ==
	   REASON_BAD_PURPOSE, "a serverAuth-only certificate is bad_purpose");
	ok(chain(&(struct pki_opts){ .cn = "noeku", .eku = "none" }, &ca, st, 2, NULL) ==
	   REASON_OK, "a certificate without EKU is usable for any purpose (RFC 5280)");

	sk_X509_push(sk, inter.x);
	ok(chain(&(struct pki_opts){ .cn = "via-inter" }, &inter, st, 2, sk) == REASON_OK,
	   "a chain through an intermediate the client sends passes");
	ok(chain(&(struct pki_opts){ .cn = "via-inter" }, &inter, st, 0, sk) == REASON_UNKNOWN_CA,
	   "a chain longer than verify_depth is refused");
	ok(chain(&(struct pki_opts){ .cn = "via-inter" }, &inter, st, 2, NULL) == REASON_UNKNOWN_CA,
	   "without the intermediate there is no path: unknown_ca");
	sk_X509_free(sk);
	X509_STORE_free(st);

	struct pki_cert good = pki_make(&(struct pki_opts){ .cn = "good", .serial = 77 }, &ca);
	struct pki_cert bad = pki_make(&(struct pki_opts){ .cn = "bad", .serial = 78 }, &ca);
	long revoked[] = { 78 };
	X509_CRL *crl = pki_crl(&ca, revoked, 1);
	struct policy_result res;

	st = store_of(ca.x, crl);
	ok(policy_chain(st, 2, good.x, NULL, &res) == REASON_OK,
	   "with a CRL, a certificate not on it passes");
	ok(policy_chain(st, 2, bad.x, NULL, &res) == REASON_REVOKED &&
	   strstr(res.detail, "revoked"), "a certificate on the CRL is revoked");
	X509_STORE_free(st);
	X509_CRL_free(crl);

	/* The CRL check needs a CRL for every CA: a missing one fails closed. */
	st = store_of(ca.x, NULL);
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	ok(policy_chain(st, 2, good.x, NULL, &res) == REASON_CRL_MISSING,
	   "CRL checking without a CRL for the issuer fails closed, as crl_missing");
	X509_STORE_free(st);
	pki_free(&good);
	pki_free(&bad);
}

static void test_x509_map(void)
{
	ok(policy_reason_from_x509(X509_V_OK) == REASON_OK, "X509_V_OK is ok");
	ok(policy_reason_from_x509(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) ==
	   REASON_UNKNOWN_CA, "no issuer: unknown_ca");
	ok(policy_reason_from_x509(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) == REASON_UNKNOWN_CA,
	   "self-signed leaf: unknown_ca");
	ok(policy_reason_from_x509(X509_V_ERR_CERT_HAS_EXPIRED) == REASON_EXPIRED, "expired");
	ok(policy_reason_from_x509(X509_V_ERR_CERT_NOT_YET_VALID) == REASON_NOT_YET_VALID,
	   "not yet valid");
	ok(policy_reason_from_x509(X509_V_ERR_CERT_REVOKED) == REASON_REVOKED, "revoked");
	ok(policy_reason_from_x509(X509_V_ERR_INVALID_PURPOSE) == REASON_BAD_PURPOSE,
	   "invalid purpose: bad_purpose");
	ok(!strcmp(reason_name(REASON_PIN_MISMATCH), "pin_mismatch") &&
	   !strcmp(reason_name(REASON_HANDSHAKE_TIMEOUT), "handshake_timeout") &&
	   !strcmp(reason_name(REASON_UPSTREAM_ERROR), "upstream_error"),
	   "reason names are the ones the log and metrics use");
	ok(reason_is_failure(REASON_UNKNOWN_SNI) && !reason_is_failure(REASON_UPSTREAM_ERROR) &&
	   !reason_is_failure(REASON_OK), "upstream errors are not the client's failure");
}

static void test_match(void)
{
	ok(hostname_match("*.edge.example.net", "a.edge.example.net"), "*.x covers a.x");
	ok(!hostname_match("*.edge.example.net", "a.b.edge.example.net"),
	   "*.x does not cover a.b.x");
	ok(!hostname_match("*.edge.example.net", "edge.example.net"), "*.x does not cover x");
	ok(!hostname_match("*.edge.example.net", ".edge.example.net"), "nor an empty label");
	ok(hostname_match("Edge.Example.NET", "edge.example.net"), "DNS names ignore case");
	ok(policy_uri_match("spiffe://example.net/edge/*", "spiffe://example.net/edge/pop1"),
	   "a SPIFFE prefix pattern covers an id below it");
	ok(!policy_uri_match("spiffe://example.net/edge/*", "spiffe://example.net/edge/"),
	   "but not the bare prefix");
	ok(!policy_uri_match("spiffe://example.net/edge/*", "spiffe://example.net/edger"),
	   "nor a sibling path");
	ok(policy_uri_match("spiffe://example.net/edge", "spiffe://example.net/edge") &&
	   !policy_uri_match("spiffe://example.net/edge", "spiffe://example.net/edge/x"),
	   "an exact URI matches only itself");
}

static struct config_site site;

static void site_reset(void)
{
	memset(&site, 0, sizeof(site));
	site.verify = CONFIG_VERIFY_ON;
	site.verify_depth = 2;
}

static char *one[1];

static void strs(struct config_strs *l, const char *v)
{
	one[0] = (char *)v;
	l->v = one;
	l->n = 1;
}

static void test_identity(void)
{
	struct pki_cert c = pki_make(&(struct pki_opts){
		.cn = "edge-1",
		.san = "DNS:pop1.edge.example.net, URI:spiffe://example.net/edge/pop1" }, &ca);
	struct pki_cert plain = pki_make(&(struct pki_opts){ .cn = "edge-2" }, &ca);
	unsigned char pin[1][32], spki[1][32];
	unsigned int dl = 32;
	char d[128];

	site_reset();
	ok(policy_identity(&site, c.x, d, sizeof(d)) == REASON_OK,
	   "no constraints: any chained certificate passes");
	strs(&site.allow_cn, "edge-1");
	ok(policy_identity(&site, c.x, d, sizeof(d)) == REASON_OK, "allow_cn admits its CN");
	ok(policy_identity(&site, plain.x, d, sizeof(d)) == REASON_POLICY_MISMATCH,
	   "allow_cn refuses another CN: policy_mismatch");
	site_reset();
	strs(&site.allow_san_dns, "*.edge.example.net");
	ok(policy_identity(&site, c.x, d, sizeof(d)) == REASON_OK, "a wildcard DNS SAN admits");
	ok(policy_identity(&site, plain.x, d, sizeof(d)) == REASON_POLICY_MISMATCH,
	   "a certificate without SANs fails a DNS constraint");
	site_reset();
	strs(&site.allow_san_uri, "spiffe://example.net/edge/*");
	ok(policy_identity(&site, c.x, d, sizeof(d)) == REASON_OK, "a SPIFFE id admits");
	strs(&site.allow_san_uri, "spiffe://example.net/other/*");
	ok(policy_identity(&site, c.x, d, sizeof(d)) == REASON_POLICY_MISMATCH,
	   "a SPIFFE id outside the pattern is refused");
	strs(&site.allow_cn, "edge-1");
	ok(policy_identity(&site, c.x, d, sizeof(d)) == REASON_OK,
	   "name constraints are alternatives: a CN match suffices");

	site_reset();
	X509_digest(c.x, EVP_sha256(), pin[0], &dl);
	site.pin_sha256.v = pin;
	site.pin_sha256.n = 1;
	ok(policy_identity(&site, c.x, d, sizeof(d)) == REASON_OK, "pin_sha256 admits its certificate");
	ok(policy_identity(&site, plain.x, d, sizeof(d)) == REASON_PIN_MISMATCH,
	   "pin_sha256 refuses another: pin_mismatch");
	site_reset();
	policy_spki_sha256(c.x, spki[0]);
	site.pin_spki_sha256.v = spki;
	site.pin_spki_sha256.n = 1;
	ok(policy_identity(&site, c.x, d, sizeof(d)) == REASON_OK, "pin_spki_sha256 admits its key");

	/* A re-issued certificate for the same key keeps its SPKI pin. */
	struct pki_cert again = pki_make(&(struct pki_opts){ .cn = "edge-1b" }, &ca);

	X509_set_pubkey(again.x, c.k);
	X509_sign(again.x, ca.k, EVP_sha256());
	ok(policy_identity(&site, again.x, d, sizeof(d)) == REASON_OK,
	   "an SPKI pin survives re-issuing with the same key");
	ok(policy_identity(&site, plain.x, d, sizeof(d)) == REASON_PIN_MISMATCH,
	   "an SPKI pin refuses another key");
	site_reset();
	strs(&site.allow_cn, "edge-1");
	site.pin_sha256.v = pin;
	site.pin_sha256.n = 1;
	ok(policy_identity(&site, again.x, d, sizeof(d)) == REASON_POLICY_MISMATCH,
	   "names are checked before pins");

	struct policy_ident id;
	unsigned char der_spki[32];

	policy_describe(c.x, &id);
	ok(id.has_cert && !strcmp(id.cn, "edge-1") && !strcmp(id.subject, "CN=edge-1") &&
	   !strcmp(id.issuer, "CN=Test Root CA") && strlen(id.sha256_hex) == 64 &&
	   !memcmp(id.sha256, pin[0], 32), "describe gives subject, issuer, CN and SHA-256");
	policy_describe(NULL, &id);
	ok(!id.has_cert && id.subject[0] == '\0', "describe without a certificate");
	ok(policy_spki_sha256(c.x, der_spki) == 0 && memcmp(der_spki, pin[0], 32) != 0,
	   "the SPKI digest differs from the certificate digest");
	pki_free(&c);
	pki_free(&plain);
	pki_free(&again);
}

int main(void)
{
	policy_init();
	ca = pki_make(&(struct pki_opts){ .cn = "Test Root CA", .ca = 1 }, NULL);
	other_ca = pki_make(&(struct pki_opts){ .cn = "Other CA", .ca = 1 }, NULL);
	inter = pki_make(&(struct pki_opts){ .cn = "Test Intermediate", .ca = 1 }, &ca);
	test_x509_map();
	test_match();
	test_chain();
	test_identity();
	pki_free(&ca);
	pki_free(&other_ca);
	pki_free(&inter);
	return tap_done();
}
