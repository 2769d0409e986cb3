// SPDX-License-Identifier: GPL-2.0-only
/* TLS contexts, site selection by SNI and the session cache; see tls.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "errbuf.h"
#include "log.h"
#include "policy.h"
#include "tls.h"
#include "tlsint.h"
#include "verdict.h"

/* AEAD only for TLS 1.2; TLS 1.3's suites are all AEAD. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

struct tls_site {
	SSL_CTX *ctx;		/* server side */
	SSL_CTX *up;		/* client side, tls:// upstreams only */
	unsigned char alpn[256];	/* wire format: length-prefixed names */
	unsigned int alpn_len;
};

struct tls {
	const struct config *cfg;	/* owned by the caller, outlives t */
	SSL_CTX *front;		/* until the client hello picks a site */
	struct tls_site *sites;	/* index: site id - 1 */
};

/* Per-SSL state, in ex_data: the selected site and the SNI verdict. */
static int tls_site_idx = -1, tls_nosni_idx = -1, tls_sni_idx = -1;

/* The SNI as sent, kept for the log even when it matched no site. */
static void sni_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
		     void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	OPENSSL_free(ptr);
}

int tls_init(void)
{
	if (policy_init() < 0 || verdict_init() < 0)
		return -1;
	tls_site_idx = SSL_get_ex_new_index(0, "aopgate site", NULL, NULL, NULL);
	tls_nosni_idx = SSL_get_ex_new_index(0, "aopgate unknown sni", NULL, NULL, NULL);
	tls_sni_idx = SSL_get_ex_new_index(0, "aopgate sni", NULL, NULL, sni_free);
	if (tls_site_idx < 0 || tls_nosni_idx < 0 || tls_sni_idx < 0)
		return -1;
	return 0;
}

/* ---- building ---- */

/*
 * The server settings every context shares, the front one included;
 * session_cache: the most sessions kept for resumption, 0 for none.
 */
static int server_common(SSL_CTX *ctx, uint32_t session_cache)
{
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/*
	 * Stateful tickets: the ticket names a session kept here. A stateless
	 * one carries the client's certificate, and serializing the session
	 * and parsing it back re-decoded that certificate and its key: a fifth
	 * of a full handshake, paid by every client, refused ones too (make
	 * bench BENCH=handshake). The cache is the front context's (OpenSSL
	 * keeps the SSL's first context as its session context), bounded, and
	 * a reload's new contexts start it empty: a client then does a full
	 * handshake. Each entry holds the client's certificate, about 6 kB
	 * (session_cache).
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, session_cache ? SSL_SESS_CACHE_SERVER :
				       SSL_SESS_CACHE_OFF);
	SSL_CTX_sess_set_cache_size(ctx, session_cache);
	SSL_CTX_set_timeout(ctx, TLS_SESSION_TIMEOUT_S);
	/* One TLS 1.3 ticket, not OpenSSL's two: each is a cache entry. */
	SSL_CTX_set_num_tickets(ctx, 1);
	/*
	 * One read(2) takes what the socket holds, not a record header and
	 * then its body: a handshake made 20 reads against nginx's 6. What
	 * is read ahead stays in the SSL; relay_pump reads until OpenSSL
	 * wants the socket, so no edge is missed.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	return SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) == 1 ? 0 : -1;
}


/* The server's preference wins; no common protocol means no ALPN at all. */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	struct tls_site *ts = arg;
	unsigned char *o;

	(void)ssl;
	if (SSL_select_next_proto(&o, outlen, ts->alpn, ts->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = o;
	return SSL_TLSEXT_ERR_OK;
}

/*
 * The site's ALPN list, in wire format. h2 is offered only with an
 * upstream_h2 to take it (an HTTP/1.1 origin cannot read h2); a site with
 * upstream_h2 and no alpn offers h2 and http/1.1.
 */
static int build_alpn(struct tls_site *ts, const struct config_site *s, struct tls_err *e)
{
	static char *const both[] = { "h2", "http/1.1" };
	const struct config_strs def = { (char **)both, 2 };
	const struct config_strs *list = s->alpn.n || !s->upstream_h2.host ? &s->alpn : &def;

	for (size_t i = 0; i < list->n; i++) {
		const char *name = list->v[i];
		size_t l = strlen(name);

		if (!strcmp(name, "h2") && !s->upstream_h2.host) {
			log_warn("event=config site=%s note=\"alpn lists h2 but the site has no "
				 "upstream_h2: h2 is not offered\"", s->name);
			continue;
		}
		if (l == 0 || l > 255 || ts->alpn_len + 1 + l > sizeof(ts->alpn)) {
			bad(e, s->line, "site %s: alpn list too long", s->name);
			return -1;
		}
		ts->alpn[ts->alpn_len++] = l;
		memcpy(ts->alpn + ts->alpn_len, name, l);
		ts->alpn_len += l;
	}
	if (ts->alpn_len)
		SSL_CTX_set_alpn_select_cb(ts->ctx, alpn_cb, ts);
	return 0;
}

static int build_site(struct tls *t, const struct config_site *s, struct tls_err *e)
{
	struct tls_site *ts = &t->sites[s->id - 1];
	unsigned char sid[32];

	ts->ctx = SSL_CTX_new(TLS_server_method());
	if (!ts->ctx || server_common(ts->ctx, t->cfg->agent.session_cache) < 0) {
		bad(e, s->line, "site %s: cannot create a TLS context", s->name);
		return -1;
	}
	SSL_CTX_set_cert_verify_callback(ts->ctx, policy_cert_verify, NULL);
	if (load_certs(ts->ctx, s->cert, s->key, s->n_cert, t->cfg->agent.allow_insecure_keys,
		       e) < 0)
		return -1;
	/* A session resumes only at the site that issued it. */
	SHA256((const unsigned char *)s->name, strlen(s->name), sid);
	SSL_CTX_set_session_id_context(ts->ctx, sid, sizeof(sid));
	if (build_alpn(ts, s, e) < 0)
		return -1;
	if (s->client_ca.path) {
		X509_STORE *store = SSL_CTX_get_cert_store(ts->ctx);
		STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();

		/*
		 * The names the CertificateRequest lists: a handshake's SSL
		 * has none of its own, so OpenSSL takes those of the context
		 * the client hello switched it to, with no copy per handshake.
		 */
		if (!names) {
			bad(e, s->client_ca.line, "site %s: out of memory", s->name);
			return -1;
		}
		SSL_CTX_set_client_CA_list(ts->ctx, names);
		if (load_ca(store, names, &s->client_ca, "client_ca", e) < 0)
			return -1;
		X509_STORE_set_purpose(store, X509_PURPOSE_SSL_CLIENT);
		if (verdict_attach(store) < 0) {
			bad(e, s->client_ca.line, "site %s: out of memory", s->name);
			return -1;
		}
		SSL_CTX_set_cert_verify_callback(ts->ctx, verdict_verify, NULL);
		if (s->crl.path &&
		    (load_crl(store, &s->crl, e) < 0 || crl_covers_cas(store, s, e) < 0))
			return -1;
	}
	if (!s->upstream.tls && !s->upstream_h2.tls)
		return 0;
	ts->up = SSL_CTX_new(TLS_client_method());
	if (!ts->up) {
		bad(e, s->upstream.line, "site %s: cannot create a TLS context", s->name);
		return -1;
	}
	SSL_CTX_set_min_proto_version(ts->up, TLS1_2_VERSION);
	SSL_CTX_set_options(ts->up, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ts->up, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (s->upstream_cert.path &&
	    load_certs(ts->up, &s->upstream_cert, &s->upstream_key, 1,
			       t->cfg->agent.allow_insecure_keys, e) < 0)
		return -1;
	if (s->upstream_ca.path) {
		if (load_ca(SSL_CTX_get_cert_store(ts->up), NULL, &s->upstream_ca,
			    "upstream_ca", e) < 0)
			return -1;
		SSL_CTX_set_verify(ts->up, SSL_VERIFY_PEER, NULL);
	}
	return 0;
}

/* The first host_name of a server_name extension, lower-cased and checked. */
static int hello_sni(SSL *ssl, char *out, size_t len)
{
	const unsigned char *p;
	size_t n, l;

	if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &n))
		return 0;
	if (n < 5 || (size_t)((p[0] << 8) | p[1]) != n - 2 || p[2] != TLSEXT_NAMETYPE_host_name)
		return -1;
	l = (p[3] << 8) | p[4];
	if (l == 0 || l > n - 5 || l >= len)
		return -1;
	for (size_t i = 0; i < l; i++) {
		unsigned char c = p[5 + i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.' || c == '_'))
			return -1;
		out[i] = c;
	}
	out[l] = '\0';
	return 1;
}

/*
 * Runs before OpenSSL looks at the other extensions, so the site's
 * certificate, CA list, verify mode, depth, trust store and session id
 * context all apply to this handshake, including to a resumption attempt.
 */
static int hello_cb(SSL *ssl, int *al, void *arg)
{
	struct tls *t = arg;
	const struct config_site *s;
	struct tls_site *ts;
	char sni[256];
	int r = hello_sni(ssl, sni, sizeof(sni));

	if (SSL_get_ex_data(ssl, tls_site_idx))
		return SSL_CLIENT_HELLO_SUCCESS;	/* a HelloRetryRequest's second hello */
	if (r > 0)
		SSL_set_ex_data(ssl, tls_sni_idx, OPENSSL_strdup(sni));
	s = r < 0 ? NULL : config_site_match(t->cfg, r ? sni : NULL);
	if (!s) {
		SSL_set_ex_data(ssl, tls_nosni_idx, (void *)1);
		*al = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_CLIENT_HELLO_ERROR;
	}
	ts = &t->sites[s->id - 1];
	if (SSL_set_SSL_CTX(ssl, ts->ctx) != ts->ctx) {
		*al = SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	if (s->verify == CONFIG_VERIFY_OFF) {
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	} else {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

		policy_select(ssl, s);
		SSL_set_verify_depth(ssl, s->verify_depth);
		SSL_set1_verify_cert_store(ssl, SSL_CTX_get_cert_store(ts->ctx));
		SSL_set_purpose(ssl, X509_PURPOSE_SSL_CLIENT);
		if (s->crl.path)
			X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_CRL_CHECK |
						    X509_V_FLAG_CRL_CHECK_ALL);
	}
	SSL_set_ex_data(ssl, tls_site_idx, (void *)s);
	return SSL_CLIENT_HELLO_SUCCESS;
}

struct tls *tls_build(const struct config *cfg, char *err, size_t errlen)
{
	struct tls_err e = { .file = cfg->file };
	struct tls *t = calloc(1, sizeof(*t));

	errbuf_init(&e.eb, err, errlen);
	ERR_clear_error();
	if (!t)
		return NULL;
	t->cfg = cfg;
	t->sites = calloc(cfg->n_sites, sizeof(*t->sites));
	t->front = SSL_CTX_new(TLS_server_method());
	if (!t->sites || !t->front || server_common(t->front, cfg->agent.session_cache) < 0) {
		bad(&e, 1, "cannot create a TLS context");
		goto err;
	}
	SSL_CTX_set_client_hello_cb(t->front, hello_cb, t);
	/* Every site is built, so -t reports every broken file at once. */
	for (size_t i = 0; i < cfg->n_sites; i++) {
		e.file = cfg->sites[i].file ? cfg->sites[i].file : cfg->file;
		build_site(t, &cfg->sites[i], &e);
	}
	if (e.eb.n)
		goto err;
	return t;
err:
	tls_free(t);
	return NULL;
}

void tls_free(struct tls *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->sites && i < t->cfg->n_sites; i++) {
		SSL_CTX_free(t->sites[i].ctx);
		SSL_CTX_free(t->sites[i].up);
	}
	free(t->sites);
	SSL_CTX_free(t->front);
	free(t);
}

SSL *tls_accept_new(struct tls *t, int fd)
{
	SSL *ssl = SSL_new(t->front);

	if (!ssl)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

const struct config_site *tls_site(SSL *ssl)
{
	return SSL_get_ex_data(ssl, tls_site_idx);
}

int tls_unknown_sni(SSL *ssl)
{
	return SSL_get_ex_data(ssl, tls_nosni_idx) != NULL;
}

const char *tls_sni(SSL *ssl)
{
	const char *s = SSL_get_ex_data(ssl, tls_sni_idx);

	return s ? s : SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
}

X509_STORE *tls_site_store(struct tls *t, uint32_t site_id)
{
	if (site_id < 1 || site_id > t->cfg->n_sites || !t->sites[site_id - 1].ctx)
		return NULL;
	return SSL_CTX_get_cert_store(t->sites[site_id - 1].ctx);
}

SSL *tls_upstream_new(struct tls *t, uint32_t site_id, const struct config_upstream *u,
		       int fd)
{
	const struct config_site *s = config_site_by_id(t->cfg, site_id);
	unsigned char ip[16];
	int is_ip;
	SSL *ssl;

	if (!s || !t->sites[site_id - 1].up)
		return NULL;
	ssl = SSL_new(t->sites[site_id - 1].up);
	if (!ssl || SSL_set_fd(ssl, fd) != 1)
		goto err;
	is_ip = inet_pton(AF_INET, u->host, ip) == 1 || inet_pton(AF_INET6, u->host, ip) == 1;
	if (!is_ip && SSL_set_tlsext_host_name(ssl, u->host) != 1)
		goto err;
	if (s->upstream_ca.path) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

		if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, u->host) != 1
			  : SSL_set1_host(ssl, u->host) != 1)
			goto err;
	}
	SSL_set_connect_state(ssl);
	return ssl;
err:
	SSL_free(ssl);
	return NULL;
}
