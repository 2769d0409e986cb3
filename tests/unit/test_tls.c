// SPDX-License-Identifier: GPL-2.0-only
/*
 * TLS contexts and the decision after real handshakes over a socketpair:
 * site selection by SNI, per-site CAs, strict_sni, protocol versions,
 * resumption with rotating ticket keys, and the file checks of -t.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>

#include "tap.h"
#include "pki.h"
#include "policy.h"
#include "tls.h"
#include "verdict.h"

static char dir[] = "/tmp/aopgate-test-tls-XXXXXX";
static char err[4096];
static struct pki_cert ca_a, ca_b, srv, cli_a, cli_b;

static const char *at(const char *name)
{
	static char p[8][256];
	static int i;

	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static struct config *load(const char *fmt)
{
	char text[4096];
	FILE *f;

	/* %1$s in fmt is the directory holding the PKI files. */
	snprintf(text, sizeof(text), fmt, dir);
	f = fopen(at("aopgate.conf"), "w");
	fputs(text, f);
	fclose(f);
	return config_load(at("aopgate.conf"), err, sizeof(err));
}

#define TWO_SITES(strict) \
	"[agent]\nstrict_sni = " strict "\n" \
	"[site a.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n" \
	"client_ca = %1$s/ca_a.pem\nupstream = 127.0.0.1:1\n" \
	"[site b.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n" \
	"client_ca = %1$s/ca_b.pem\nupstream = 127.0.0.1:2\n" \
	"[site default]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n" \
	"client_ca = %1$s/ca_b.pem\nupstream = 127.0.0.1:3\n"

/* One handshake: the outcome and what the server decided. */
struct hs {
	int done;			/* both sides finished */
	const struct config_site *site;
	int unknown_sni;
	enum reason reason;		/* policy_decide after a finished handshake */
	enum reason refused;		/* policy_refusal after a failed one */
	int alert;			/* the alert the client received, or -1 */
	int reused;
	SSL_SESSION *session;		/* the client's, for a resumption */
};

static SSL_CTX *client_ctx(const struct pki_cert *c, int maxv)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (c) {
		SSL_CTX_use_certificate(ctx, c->x);
		SSL_CTX_use_PrivateKey(ctx, c->k);
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_security_level(ctx, 0);
	if (maxv)
		SSL_CTX_set_max_proto_version(ctx, maxv);
	/* No client cache: freeing a cache marks its sessions unresumable. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

static struct hs handshake(struct tls *t, const struct pki_cert *cert, const char *sni,
			   int maxv, SSL_SESSION *resume)
{
	struct hs h = { 0 };
	struct policy_record rec;
	struct policy_result res;
	SSL_CTX *cctx = client_ctx(cert, maxv);
	SSL *c, *s;
	int sv[2], cd = 0, sd = 0, cfail = 0, sfail = 0;
	char buf[16];

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	c = SSL_new(cctx);
	SSL_set_fd(c, sv[0]);
	if (sni)
		SSL_set_tlsext_host_name(c, sni);
	if (resume)
		SSL_set_session(c, resume);
	SSL_set_connect_state(c);
	s = tls_accept_new(t, sv[1]);
	policy_attach(s, &rec);
	for (int i = 0; i < 200 && !(cd && sd) && !cfail && !sfail; i++) {
		int r;

		if (!cd) {
			r = SSL_do_handshake(c);
			cd = r == 1;
			cfail = r <= 0 && SSL_get_error(c, r) != SSL_ERROR_WANT_READ;
		}
		if (!sd) {
			r = SSL_do_handshake(s);
			sd = r == 1;
			sfail = r <= 0 && SSL_get_error(s, r) != SSL_ERROR_WANT_READ;
		}
	}
	h.alert = -1;
	if (sfail) {
		unsigned long e;

		h.refused = policy_refusal(s, &res);
		ERR_clear_error();
		/* In TLS 1.3 the client is done first; the alert is its next read. */
		if (cd)
			SSL_read(c, buf, sizeof(buf));
		else
			SSL_do_handshake(c);
		e = ERR_peek_error();
		if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET)
			h.alert = ERR_GET_REASON(e) - SSL_AD_REASON_OFFSET;
	}
	/* TLS 1.3 tickets arrive after the handshake: let the client read them. */
	if (cd && sd) {
		SSL_write(s, "x", 1);
		SSL_read(c, buf, sizeof(buf));
	}
	ERR_clear_error();
	h.done = cd && sd;
	h.site = tls_site(s);
	h.unknown_sni = tls_unknown_sni(s);
	if (h.done) {
		h.reused = SSL_session_reused(s);
		h.reason = policy_decide(h.site, tls_site_store(t, h.site->id), s, false, &res);
		h.session = SSL_get1_session(c);
		/*
		 * An SSL freed without a shutdown marks its session unresumable,
		 * the server's (as conn_close does) as the client's.
		 */
		SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		SSL_set_shutdown(s, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	}
	SSL_free(c);
	SSL_free(s);
	policy_detach(&rec);
	SSL_CTX_free(cctx);
	close(sv[0]);
	close(sv[1]);
	return h;
}

static void test_sites(void)
{
	struct config *cfg = load(TWO_SITES("no"));
	struct tls *t = cfg ? tls_build(cfg, err, sizeof(err)) : NULL;
	struct hs h;

	if (!ok(t != NULL, "three sites build")) {
		diag("%s", err);
		return;
	}
	h = handshake(t, &cli_a, "a.example", 0, NULL);
	ok(h.done && h.site && !strcmp(h.site->name, "a.example") && h.reason == REASON_OK,
	   "SNI a.example selects site a, whose CA signed the client: ok");
	SSL_SESSION_free(h.session);
	h = handshake(t, &cli_a, "b.example", 0, NULL);
	ok(!h.done && h.site && h.site->id == 2 && h.refused == REASON_UNKNOWN_CA &&
	   h.alert == SSL_AD_UNKNOWN_CA,
	   "site a's client at site b: refused in the handshake, alert unknown_ca");
	h = handshake(t, &cli_a, NULL, 0, NULL);
	ok(!h.done && h.site && h.site->id == 3 && h.refused == REASON_UNKNOWN_CA &&
	   h.alert == SSL_AD_UNKNOWN_CA,
	   "site a's client without SNI lands on default, which does not trust it");
	h = handshake(t, &cli_b, "nowhere.example", 0, NULL);
	ok(h.done && h.site && h.site->id == 3 && h.reason == REASON_OK,
	   "an unknown SNI uses the default site");
	SSL_SESSION_free(h.session);
	h = handshake(t, NULL, "a.example", 0, NULL);
	ok(!h.done && h.refused == REASON_NO_CERT && h.alert == SSL_AD_CERTIFICATE_REQUIRED,
	   "no client certificate: no_cert, alert certificate_required");
	h = handshake(t, NULL, "a.example", TLS1_2_VERSION, NULL);
	ok(!h.done && h.refused == REASON_NO_CERT && h.alert == SSL_AD_HANDSHAKE_FAILURE,
	   "no client certificate over TLS 1.2: no_cert, alert handshake_failure");
	h = handshake(t, &cli_a, "a.example", TLS1_2_VERSION, NULL);
	ok(h.done && h.reason == REASON_OK, "TLS 1.2 is accepted");
	SSL_SESSION_free(h.session);
	h = handshake(t, &cli_a, "a.example", TLS1_1_VERSION, NULL);
	ok(!h.done, "TLS 1.1 is refused");

	/*
	 * Resumption: stateful tickets, the session kept by the server; they
	 * resume at the issuing site and re-run the policy.
	 */
	h = handshake(t, &cli_a, "a.example", 0, NULL);
	SSL_SESSION *sess = h.session;

	h = handshake(t, &cli_a, "a.example", 0, sess);
	ok(h.done && h.reused && h.reason == REASON_OK, "a ticket resumes at its site, still ok");
	SSL_SESSION_free(h.session);
	h = handshake(t, &cli_a, "b.example", 0, sess);
	ok(!h.done && !h.reused && h.refused == REASON_UNKNOWN_CA,
	   "a ticket from site a does not resume at site b");
	tls_free(t);
	t = tls_build(cfg, err, sizeof(err));
	h = handshake(t, &cli_a, "a.example", 0, sess);
	ok(h.done && !h.reused && h.reason == REASON_OK,
	   "after a reload (new contexts) the session is gone: a full handshake");
	SSL_SESSION_free(h.session);
	SSL_SESSION_free(sess);
	tls_free(t);

	/* strict_sni: a missing or unknown name is refused even with a default. */
	config_free(cfg);
	cfg = load(TWO_SITES("yes"));
	t = cfg ? tls_build(cfg, err, sizeof(err)) : NULL;
	if (!ok(t && cfg->agent.strict_sni, "strict_sni config builds")) {
		diag("%s", err);
		return;
	}
	h = handshake(t, &cli_b, NULL, 0, NULL);
	ok(!h.done && h.unknown_sni, "strict_sni: no SNI fails the handshake as unknown_sni");
	h = handshake(t, &cli_b, "nowhere.example", 0, NULL);
	ok(!h.done && h.unknown_sni, "strict_sni: an unknown SNI fails as unknown_sni");
	h = handshake(t, &cli_a, "A.EXAMPLE", 0, NULL);
	ok(h.done && h.site && h.site->id == 1, "strict_sni: a known name (any case) passes");
	SSL_SESSION_free(h.session);
	tls_free(t);
	config_free(cfg);
}

static void test_optional(void)
{
	struct config *cfg = load("[site a.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n"
				  "client_ca = %1$s/ca_a.pem\nverify = optional\n"
				  "upstream = 127.0.0.1:1\n");
	struct tls *t = cfg ? tls_build(cfg, err, sizeof(err)) : NULL;
	struct hs h;

	if (!ok(t != NULL, "a site with verify = optional builds")) {
		diag("%s", err);
		return;
	}
	h = handshake(t, &cli_b, "a.example", 0, NULL);
	ok(h.done && h.reason == REASON_UNKNOWN_CA,
	   "verify = optional: a wrong-CA client finishes the handshake, decided unknown_ca");
	SSL_SESSION_free(h.session);
	h = handshake(t, NULL, "a.example", 0, NULL);
	ok(h.done && h.reason == REASON_NO_CERT,
	   "verify = optional: a client without a certificate finishes, decided no_cert");
	SSL_SESSION_free(h.session);
	tls_free(t);
	config_free(cfg);
}

/* alpn lists h2 at a site with an upstream_h2 (round 0) or without (round 2). */
static void test_alpn(void)
{
	struct config *cfg = load("[site a.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n"
				  "verify = off\nalpn = h2, http/1.1\nupstream = 127.0.0.1:1\n"
				  "upstream_h2 = 127.0.0.1:2\n"
				  "[site b.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n"
				  "verify = off\nalpn = h2, http/1.1\nupstream = 127.0.0.1:1\n");
	struct tls *t = cfg ? tls_build(cfg, err, sizeof(err)) : NULL;
	static const unsigned char offer[] = "\x08http/1.1\x02h2";
	static const unsigned char other[] = "\x06spdy/1";
	SSL_CTX *cctx = client_ctx(NULL, 0);
	const unsigned char *sel;
	unsigned int len;

	if (!ok(t != NULL, "a site with alpn builds")) {
		diag("%s", err);
		return;
	}
	for (int round = 0; round < 3; round++) {
		SSL *c = SSL_new(cctx), *s;
		int sv[2], cd = 0, sd = 0;

		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		fcntl(sv[0], F_SETFL, O_NONBLOCK);
		fcntl(sv[1], F_SETFL, O_NONBLOCK);
		SSL_set_fd(c, sv[0]);
		SSL_set_tlsext_host_name(c, (round == 2 ? "b.example" : "a.example"));
		if (round != 1)
			SSL_set_alpn_protos(c, offer, sizeof(offer) - 1);
		else
			SSL_set_alpn_protos(c, other, sizeof(other) - 1);
		SSL_set_connect_state(c);
		s = tls_accept_new(t, sv[1]);
		for (int i = 0; i < 50 && !(cd && sd); i++) {
			cd = cd || SSL_do_handshake(c) == 1;
			sd = sd || SSL_do_handshake(s) == 1;
		}
		SSL_get0_alpn_selected(s, &sel, &len);
		if (round == 0)
			ok(cd && sd && len == 2 && !memcmp(sel, "h2", 2),
			   "ALPN: the site's first choice the client offers (h2)");
		else if (round == 1)
			ok(cd && sd && len == 0, "ALPN: no common protocol, no ALPN, no failure");
		else
			ok(cd && sd && len == 8 && !memcmp(sel, "http/1.1", 8),
			   "ALPN: h2 is not offered without an upstream_h2; http/1.1 is");
		SSL_free(c);
		SSL_free(s);
		close(sv[0]);
		close(sv[1]);
	}
	ERR_clear_error();
	SSL_CTX_free(cctx);
	tls_free(t);
	config_free(cfg);
}

static void build_fails(const char *fmt, const char *what, const char *name)
{
	struct config *cfg = load(fmt);
	struct tls *t = cfg ? tls_build(cfg, err, sizeof(err)) : NULL;
	char want[300];

	snprintf(want, sizeof(want), "%s:", at("aopgate.conf"));
	ok(cfg && !t && strstr(err, want) && strstr(err, what), "%s", name);
	if (!cfg || t || !strstr(err, what))
		diag("got: %s", err);
	tls_free(t);
	config_free(cfg);
}

static void test_files(void)
{
	build_fails("[site a.example]\ncert = %1$s/srv.pem\nkey = %1$s/cli_a.key\n"
		    "client_ca = %1$s/ca_a.pem\nupstream = 127.0.0.1:1\n",
		    ":3: key ", "a key that does not match its cert names the key line");
	build_fails("[site a.example]\ncert = %1$s/missing.pem\nkey = %1$s/srv.key\n"
		    "client_ca = %1$s/ca_a.pem\nupstream = 127.0.0.1:1\n",
		    ":2: cert ", "an unreadable cert names the cert line");
	build_fails("[site a.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n"
		    "client_ca = %1$s/srv.key\nupstream = 127.0.0.1:1\n",
		    ":4: client_ca", "a CA file without a certificate");
	build_fails("[site a.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n"
		    "client_ca = %1$s/ca_a.pem\ncrl = %1$s/ca_a.pem\nupstream = 127.0.0.1:1\n",
		    ":5: crl ", "a CRL file that does not parse");
	build_fails("[site a.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n"
		    "client_ca = %1$s/ca_ab.pem\ncrl = %1$s/crl_a.pem\nupstream = 127.0.0.1:1\n",
		    ":5: site a.example: crl ", "a CA of client_ca without a CRL is named at load");
	ok(strstr(err, "CN=CA B") && !strstr(err, "CN=CA A"),
	   "... and only that CA is named");
	build_fails("[site a.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n"
		    "client_ca = %1$s/ca_a.pem\nupstream = tls://127.0.0.1:1\n"
		    "upstream_cert = %1$s/cli_a.pem\nupstream_key = %1$s/srv.key\n"
		    "upstream_ca = %1$s/ca_a.pem\n",
		    ":7: key ", "a mismatched upstream_key");

	chmod(at("srv.key"), 0640);
	build_fails("[site a.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n"
		    "client_ca = %1$s/ca_a.pem\nupstream = 127.0.0.1:1\n",
		    ":3: key ", "a key that group may read is refused, naming its line");
	ok(strstr(err, "mode 640") && strstr(err, "allow_insecure_keys"),
	   "... saying its mode and the way out");
	struct config *ins = load("[agent]\nallow_insecure_keys = yes\n"
				  "[site a.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n"
				  "client_ca = %1$s/ca_a.pem\nupstream = 127.0.0.1:1\n");
	struct tls *it = ins ? tls_build(ins, err, sizeof(err)) : NULL;

	ok(it != NULL, "allow_insecure_keys = yes accepts it");
	tls_free(it);
	config_free(ins);
	chmod(at("srv.key"), 0600);

	struct config *cfg = load("[site a.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n"
				  "client_ca = %1$s/ca_a.pem\ncrl = %1$s/crl_a.pem\n"
				  "upstream = tls://127.0.0.1:1\n"
				  "upstream_cert = %1$s/cli_a.pem\nupstream_key = %1$s/cli_a.key\n"
				  "upstream_ca = %1$s/ca_a.pem\n");
	struct tls *t = cfg ? tls_build(cfg, err, sizeof(err)) : NULL;

	ok(t != NULL, "a site with CRL and a tls:// upstream with client cert builds");
	if (!t)
		diag("%s", err);
	tls_free(t);
	config_free(cfg);
}

/*
 * The verdict cache: a passed chain is remembered per trust store, so a
 * reload's new stores (new CAs, new CRLs) start without it.
 */
static void test_verdicts(void)
{
	const char *conf = "[site a.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n"
			   "client_ca = %1$s/ca_a.pem\ncrl = %1$s/crl_v.pem\n"
			   "upstream = 127.0.0.1:1\n";
	long revoked = ASN1_INTEGER_get(X509_get0_serialNumber(cli_a.x));
	X509_CRL *crl = pki_crl(&ca_a, NULL, 0);
	struct config *cfg;
	struct tls *t;
	struct hs h;
	SSL_SESSION *sess;

	pki_write_crl(at("crl_v.pem"), crl);
	X509_CRL_free(crl);
	cfg = load(conf);
	t = cfg ? tls_build(cfg, err, sizeof(err)) : NULL;
	if (!ok(t != NULL, "a site with a CRL builds")) {
		diag("%s", err);
		return;
	}
	h = handshake(t, &cli_b, "a.example", 0, NULL);
	ok(!h.done && !verdict_known(tls_site_store(t, 1), cli_b.x),
	   "a refused certificate's verdict is not remembered");
	h = handshake(t, &cli_a, "a.example", 0, NULL);
	ok(h.done && h.reason == REASON_OK && verdict_known(tls_site_store(t, 1), cli_a.x),
	   "a passed chain is remembered for its store");
	sess = h.session;
	h = handshake(t, &cli_a, "a.example", 0, NULL);
	ok(h.done && !h.reused && h.reason == REASON_OK,
	   "a full handshake with a remembered certificate passes");
	SSL_SESSION_free(h.session);
	h = handshake(t, &cli_a, "a.example", 0, sess);
	ok(h.done && h.reused && h.reason == REASON_OK, "and resumes");
	SSL_SESSION_free(h.session);
	tls_free(t);
	config_free(cfg);

	/* The CA revokes the client; the reload loads the new CRL. */
	crl = pki_crl(&ca_a, &revoked, 1);
	pki_write_crl(at("crl_v.pem"), crl);
	X509_CRL_free(crl);
	cfg = load(conf);
	t = cfg ? tls_build(cfg, err, sizeof(err)) : NULL;
	if (!ok(t != NULL, "the site with the new CRL builds")) {
		diag("%s", err);
		SSL_SESSION_free(sess);
		return;
	}
	ok(!verdict_known(tls_site_store(t, 1), cli_a.x), "the reload forgot every verdict");
	h = handshake(t, &cli_a, "a.example", 0, sess);
	ok(!h.done && !h.reused && h.refused == REASON_REVOKED,
	   "after a CRL reload a revoked certificate neither resumes nor passes: revoked");
	SSL_SESSION_free(sess);
	tls_free(t);
	config_free(cfg);
}

int main(void)
{
	if (!mkdtemp(dir) || tls_init() < 0)
		return 1;
	ca_a = pki_make(&(struct pki_opts){ .cn = "CA A", .ca = 1 }, NULL);
	ca_b = pki_make(&(struct pki_opts){ .cn = "CA B", .ca = 1 }, NULL);
	srv = pki_make(&(struct pki_opts){ .cn = "a.example", .eku = "serverAuth",
					   .san = "DNS:a.example" }, &ca_a);
	cli_a = pki_make(&(struct pki_opts){ .cn = "client a" }, &ca_a);
	cli_b = pki_make(&(struct pki_opts){ .cn = "client b" }, &ca_b);
	X509_CRL *crl = pki_crl(&ca_a, NULL, 0);

	pki_write_cert(at("ca_a.pem"), ca_a.x, NULL);
	pki_write_cert(at("ca_b.pem"), ca_b.x, NULL);
	pki_write_cert(at("srv.pem"), srv.x, NULL);
	pki_write_key(at("srv.key"), srv.k);
	pki_write_cert(at("cli_a.pem"), cli_a.x, NULL);
	pki_write_key(at("cli_a.key"), cli_a.k);
	pki_write_crl(at("crl_a.pem"), crl);
	X509_CRL_free(crl);
	FILE *ab = fopen(at("ca_ab.pem"), "w");

	PEM_write_X509(ab, ca_a.x);
	PEM_write_X509(ab, ca_b.x);
	fclose(ab);
	test_sites();
	test_files();
	test_optional();
	test_verdicts();
	test_alpn();
	if (!getenv("KEEP"))
		system((snprintf(err, sizeof(err), "rm -rf %s", dir), err));
	return tap_done();
}
