// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a client sends first, as the agent's TLS server sees it: arbitrary
 * bytes in place of a ClientHello (records, extensions, SNI with any
 * bytes in it, a certificate flight) into the real per-site contexts
 * (SNI selection in the hello callback, the verify callback, the policy's
 * refusal), through a socket pair, as the agent reads a client. It must
 * fail or wait for more, never crash; what it reports about the client
 * (SNI, site, refusal) must be well-formed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>

#include "config.h"
#include "pki.h"
#include "policy.h"
#include "tls.h"
#include "scratch.h"

static struct tls *tls;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		abort();
}

/* Two sites and a default, verify = on, as a real configuration has. */
static void setup(void)
{
	const char *dir = scratch_dir("aopgate-fuzz-hello");
	char path[4200], conf[16384], err[4096];
	struct pki_cert ca, srv;
	struct config *cfg;

	if (tls_init() < 0 || policy_init() < 0)
		abort();
	ca = pki_make(&(struct pki_opts){ .cn = "CA", .ca = 1 }, NULL);
	srv = pki_make(&(struct pki_opts){ .cn = "a.example", .eku = "serverAuth",
					   .san = "DNS:a.example" }, &ca);
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	pki_write_cert(path, ca.x, NULL);
	snprintf(path, sizeof(path), "%s/srv.pem", dir);
	pki_write_cert(path, srv.x, NULL);
	snprintf(path, sizeof(path), "%s/srv.key", dir);
	pki_write_key(path, srv.k);
	pki_free(&ca);
	pki_free(&srv);
	snprintf(conf, sizeof(conf),
		 "[site a.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n"
		 "client_ca = %1$s/ca.pem\nallow_cn = edge\nalpn = http/1.1\n"
		 "upstream = 127.0.0.1:1\n"
		 "[site *.b.example]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n"
		 "client_ca = %1$s/ca.pem\nverify = optional\nupstream = 127.0.0.1:2\n"
		 "[site default]\ncert = %1$s/srv.pem\nkey = %1$s/srv.key\n"
		 "client_ca = %1$s/ca.pem\nupstream = 127.0.0.1:3\n", dir);
	snprintf(path, sizeof(path), "%s/aopgate.conf", dir);
	write_file(path, conf);
	cfg = config_load(path, err, sizeof(err));
	tls = cfg ? tls_build(cfg, err, sizeof(err)) : NULL;
	if (!tls) {
		fprintf(stderr, "fuzz_hello: %s\n", err);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct policy_record rec;
	struct policy_result res;
	int sv[2], rc = 0;
	const char *sni;
	SSL *s;

	if (!tls)
		setup();
	if (size > 65536)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	if (write(sv[0], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[0], SHUT_WR);
	s = tls_accept_new(tls, sv[1]);
	if (!s)
		abort();
	policy_attach(s, &rec);
	for (int i = 0; i < 8 && rc != 1; i++) {
		ERR_clear_error();
		rc = SSL_do_handshake(s);
		if (rc <= 0 && SSL_get_error(s, rc) != SSL_ERROR_WANT_WRITE)
			break;
	}
	/* What the agent logs about the client must be a C string it can quote. */
	sni = tls_sni(s);
	if (sni && strlen(sni) > 255)
		abort();
	if (tls_unknown_sni(s) && tls_site(s))
		abort();
	policy_refusal(s, &res);
	if (res.reason != REASON_OK && !res.detail[0])
		abort();
	ERR_clear_error();
	SSL_free(s);
	policy_detach(&rec);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
