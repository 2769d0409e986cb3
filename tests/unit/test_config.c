// SPDX-License-Identifier: GPL-2.0-only
/* The agent's configuration: parsing, defaults, errors, site matching. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "tap.h"
#include "config.h"
#include "confdoc.h"
#include "confval.h"
#include "duration.h"
#include "gatemap.h"

static char path[] = "/tmp/aopgate-test-config-XXXXXX";
static char err[4096];

/* load(text): writes text to the temp file and loads it. */
static struct config *load(const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	return config_load(path, err, sizeof(err));
}

/*
 * The examples drop privileges to the aopgate user, which a package
 * creates; a test host has none, and `user` must name one that exists.
 * They are loaded with "nobody" in its place.
 */
static struct config *load_example(const char *text)
{
	char *copy = strdup(text), *u = strstr(copy, "user = aopgate");
	struct config *c;

	if (u)
		memcpy(u, "user = nobody ", 14);
	c = load(copy);
	free(copy);
	return c;
}

/* fails_with(text, line, what): loading fails and names path:line: what. */
static void fails_with(const char *text, int line, const char *what, const char *name)
{
	char want[512];
	struct config *c = load(text);

	snprintf(want, sizeof(want), "%s:%d: ", path, line);
	ok(c == NULL && strstr(err, want) && strstr(err, what), "%s", name);
	if (c || !strstr(err, want) || !strstr(err, what))
		diag("got: %s", c ? "(loaded)" : err);
	config_free(c);
}

#define SITE_OK "[site a.example]\ncert = /c.pem\nkey = /k.pem\nclient_ca = /ca.pem\n" \
		"upstream = 127.0.0.1:8080\n"

static const char documented_example[] =
	"[agent]\n"
	"listen = 0.0.0.0:443, [::]:443\n"
	"workers = auto                  ; one event loop per core\n"
	"pin_root = /sys/fs/bpf/aopgate\n"
	"metrics = 127.0.0.1:9901        ; Prometheus text format, /metrics\n"
	"user = aopgate                  ; drop privileges after start-up\n"
	"handshake_timeout = 10s\n"
	"idle_timeout = 300s\n"
	"max_connections = 100000\n"
	"penalty = 10s                   ; first strike; doubles per strike\n"
	"penalty_max = 1h\n"
	"penalty_exempt = 192.0.2.0/24   ; never penalized (e.g. your own monitors)\n"
	"\n"
	"[site origin.example.com]       ; exact SNI, \"*.example.com\", or \"default\"\n"
	"cert = /etc/aopgate/origin.pem  ; ECDSA and/or RSA\n"
	"key = /etc/aopgate/origin.key\n"
	"client_ca = /etc/aopgate/origin-pull-ca.pem\n"
	"crl = /etc/aopgate/origin-pull.crl\n"
	"verify = on                     ; on | optional | off\n"
	"verify_depth = 2\n"
	"allow_cn = edge.example.net, other\n"
	"allow_san_dns = *.edge.example.net\n"
	"allow_san_uri = spiffe://example.net/edge/*\n"
	"pin_sha256 = " "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n"
	"upstream = 127.0.0.1:8080       ; or tls://host:port\n"
	"proxy_protocol = v2             ; off | v1 | v2\n";

static void test_documented_example(void)
{
	struct config *c = load_example(documented_example);
	const struct config_site *s;
	__u8 a[16];

	if (!ok(c != NULL, "the documented example configuration loads")) {
		diag("%s", err);
		return;
	}
	ok(c->agent.n_listen == 2 && c->agent.listen[0].ss.ss_family == AF_INET &&
	   c->agent.listen[1].ss.ss_family == AF_INET6 &&
	   ntohs(((struct sockaddr_in6 *)&c->agent.listen[1].ss)->sin6_port) == 443,
	   "listen takes an IPv4 and a bracketed IPv6 address");
	ok(c->agent.workers == 0, "workers = auto is 0");
	ok(c->agent.metrics.len != 0, "metrics address is set");
	ok(c->agent.user && !strcmp(c->agent.user, "nobody"), "user (nobody in place of aopgate)");
	ok(c->agent.handshake_timeout_ns == 10000000000ull &&
	   c->agent.penalty_max_ns == 3600000000000ull, "durations in ns");
	ok(c->agent.max_connections == 100000, "max_connections");
	addr_parse("192.0.2.77", a);
	ok(config_exempt(c, a), "an address inside penalty_exempt is exempt");
	addr_parse("198.51.100.7", a);
	ok(!config_exempt(c, a), "an address outside penalty_exempt is not");
	ok(c->n_sites == 1, "one site");
	s = &c->sites[0];
	ok(!strcmp(s->name, "origin.example.com") && s->id == 1, "site name and id");
	ok(s->n_cert == 1 && !strcmp(s->cert[0].path, "/etc/aopgate/origin.pem") &&
	   s->cert[0].line == 15, "cert path keeps its line for later errors");
	ok(s->verify == CONFIG_VERIFY_ON && s->verify_depth == 2, "verify and depth");
	ok(s->allow_cn.n == 2 && !strcmp(s->allow_cn.v[1], "other"), "allow_cn list splits at commas");
	ok(s->pin_sha256.n == 1 && s->pin_sha256.v[0][0] == 0x00 &&
	   s->pin_sha256.v[0][31] == 0xff, "pin_sha256 hex, either case");
	ok(!s->upstream.tls && s->proxy_protocol == CONFIG_PP_V2, "plain upstream with PROXY v2");
	config_free(c);
}

static void test_defaults(void)
{
	struct config *c = load(SITE_OK);

	if (!ok(c != NULL, "a file with only a site loads")) {
		diag("%s", err);
		return;
	}
	ok(c->agent.n_listen == 2, "listen defaults to 0.0.0.0:443 and [::]:443");
	ok(!strcmp(c->agent.pin_root, AOPGATE_PIN_ROOT), "pin_root default");
	ok(c->agent.metrics.len == 0, "metrics default off");
	ok(c->agent.idle_timeout_ns == 300000000000ull, "idle_timeout default 300s");
	ok(c->agent.linger_ns == 5000000000ull, "linger default 5s");
	ok(c->agent.flow_lease_ns == 30000000000ull, "flow_lease default 30s");
	ok(c->agent.penalty_ns == 10000000000ull, "penalty default 10s");
	ok(c->agent.user && !strcmp(c->agent.user, "nobody"), "user default nobody, as nginx");
	ok(c->agent.max_connections == 10000, "max_connections default 10000 (about 0.6 GB idle)");
	ok(c->agent.max_handshakes_per_source == 100, "max_handshakes_per_source default 100");
	ok(!c->agent.strict_sni, "strict_sni default no");
	ok(c->sites[0].verify == CONFIG_VERIFY_ON && c->sites[0].verify_depth == 2,
	   "verify defaults to on, depth 2");
	ok(c->sites[0].proxy_protocol == CONFIG_PP_OFF, "proxy_protocol default off");
	config_free(c);

	c = load("[agent]\nmax_handshakes_per_source = off\n" SITE_OK);
	ok(c && c->agent.max_handshakes_per_source == 0, "max_handshakes_per_source = off: no cap");
	config_free(c);

	c = load("[agent]\nlisten = 10.0.0.1:8443\n" SITE_OK);
	ok(c && c->agent.n_listen == 1, "an explicit listen replaces the default");
	config_free(c);

	c = load("[site a.example]\ncert = /c.pem\nkey = /k.pem\nclient_ca = /ca.pem\n"
		 "upstream = tls://127.0.0.1:8443\nupstream_ca = /u.pem\nproxy_protocol = v1\n");
	ok(c && c->sites[0].upstream.tls && c->sites[0].proxy_protocol == CONFIG_PP_V1,
	   "a tls:// upstream takes a PROXY header, for origins that read it before TLS");
	if (!c)
		diag("%s", err);
	config_free(c);
}

static void test_errors(void)
{
	fails_with("[agent]\nlisten = 0.0.0.0:443\nfrobnicate = 1\n" SITE_OK, 3,
		   "unknown key 'frobnicate'", "an unknown key names its line");
	fails_with("[agent]\nhandshake_timeout = soon\n" SITE_OK, 2,
		   "not a duration", "a bad duration names its line");
	fails_with(SITE_OK "verify = maybe\n", 6, "'maybe' is not on, optional or off",
		   "a bad verify value names its line");
	fails_with(SITE_OK "proxy_protocol = v3\n", 6, "not off, v1 or v2",
		   "a bad proxy_protocol value names its line");
	fails_with("[agent]\nuser = a\nuser = b\n" SITE_OK, 3, "'user' given twice",
		   "a repeated single-valued key is refused");
	fails_with("[agent]\ncert = /x.pem\n" SITE_OK, 2, "belongs in a [site NAME] section",
		   "a site key in [agent] says where it belongs");
	fails_with("[agnet]\n" SITE_OK, 1, "unknown section [agnet]", "an unknown section");
	fails_with("[agent]\nuser = nosuchuser\n" SITE_OK, 2, "user 'nosuchuser' does not exist",
		   "a user that does not exist is refused at -t, not only at start");
	fails_with("[site a.example]\ncert = /c.pem\nkey = /k.pem\nclient_ca = /ca.pem\n", 1,
		   "no upstream", "a site without upstream names its header line");
	fails_with("[site a.example]\nkey = /k.pem\nclient_ca = /ca.pem\nupstream = 127.0.0.1:1\n",
		   1, "no cert", "a site without cert");
	fails_with("[site a.example]\ncert = /c.pem\nkey = /k.pem\nupstream = 127.0.0.1:1\n",
		   1, "needs client_ca", "verify = on without client_ca");
	fails_with(SITE_OK "cert = relative.pem\n", 6, "not an absolute path",
		   "a relative path");
	fails_with(SITE_OK "pin_sha256 = abcd\n", 6, "not a SHA-256 digest", "a short pin");
	fails_with(SITE_OK "[site a.example]\n", 6, "already defined at line 1",
		   "a site defined twice");
	fails_with("[site Bad_Name!]\n", 1, "not a host name", "a bad site name");
	fails_with("[agent]\nlisten = 0.0.0.0\n" SITE_OK, 2, "not IP:PORT", "listen needs a port");
	fails_with("[agent]\npenalty_exempt = 10.0.0.1/8\n" SITE_OK, 2,
		   "zero host bits", "an exempt CIDR with host bits");
	fails_with("[agent]\npenalty = 2h\n" SITE_OK, 1, "penalty is longer than penalty_max",
		   "penalty beyond penalty_max");
	fails_with("[agent]\nflow_lease = 1s\n" SITE_OK, 1, "flow_lease must be from 3s to 1h",
		   "a flow_lease too short to outlast a busy moment");
	fails_with("[agent]\nflow_lease = 2h\n" SITE_OK, 1, "flow_lease must be from 3s to 1h",
		   "a flow_lease that would keep a dead agent's flows for hours");
	fails_with("[agent]\nstrict_sni = perhaps\n" SITE_OK, 2, "not yes or no", "a bad bool");
	fails_with("[agent]\nworkers = 0\n" SITE_OK, 2, "not auto or a number", "workers = 0");
	fails_with("[agent]\nlisten 0.0.0.0\n" SITE_OK, 2, "syntax error",
		   "a line without '=' is a syntax error");
	fails_with("[agent]\n", 1, "no [site NAME] section", "a file without sites");
	fails_with(SITE_OK "upstream_cert = /u.pem\n", 1, "go together",
		   "upstream_cert without upstream_key");
	fails_with(SITE_OK "upstream_ca = /u.pem\n", 5, "need a tls:// upstream",
		   "upstream_ca with a plain upstream");
	fails_with("[site a.example]\ncert = /c.pem\nkey = /k.pem\nclient_ca = /ca.pem\n"
		   "upstream = tls://127.0.0.1:8443\n", 5, "needs upstream_ca",
		   "a tls:// upstream without upstream_ca");
	fails_with("[site a.example]\ncert = /c.pem\nkey = /k.pem\nverify = off\n"
		   "allow_cn = x\nupstream = 127.0.0.1:1\n", 1, "need verify = on or optional",
		   "identity constraints with verify = off");
	fails_with("[site a.example]\ncert = /c.pem\nkey = /k.pem\nverify = off\n"
		   "upstream = localhost:99999\n", 5, "port must be a number from 1 to 65535",
		   "an upstream port past 65535 is refused, not wrapped");
	fails_with("[site a.example]\ncert = /c.pem\nkey = /k.pem\nverify = off\n"
		   "upstream = 127.0.0.1:99999\n", 5, "port must be a number from 1 to 65535",
		   "... with an IP address too");

	struct config *c = load("[agent]\nfoo = 1\nbar = 2\n" SITE_OK);

	ok(!c && strstr(err, ":2: unknown key 'foo'") && strstr(err, ":3: unknown key 'bar'"),
	   "every error is reported, one per line");
	ok(config_load("/nonexistent/aopgate.conf", err, sizeof(err)) == NULL &&
	   strstr(err, "No such file"), "a missing file says so");

	char long_line[600];

	snprintf(long_line, sizeof(long_line), "[agent]\nuser = %0300d\n" SITE_OK, 0);
	fails_with(long_line, 2, "line longer than", "an overlong line is an error, not truncated");
}

static void test_sites(void)
{
	static const char text[] =
		"[site a.example.com]\ncert = /c\nkey = /k\nverify = off\nupstream = 127.0.0.1:1\n"
		"[site *.example.com]\ncert = /c\nkey = /k\nverify = off\nupstream = 127.0.0.1:2\n"
		"[site *.b.example.com]\ncert = /c\nkey = /k\nverify = off\nupstream = 127.0.0.1:3\n"
		"[site default]\ncert = /c\nkey = /k\nverify = off\nupstream = [::1]:4\n";
	struct config *c = load(text);
	const struct config_site *s;

	if (!ok(c != NULL, "four sites load")) {
		diag("%s", err);
		return;
	}
	s = config_site_match(c, "a.example.com");
	ok(s && s->id == 1, "an exact name wins over a wildcard");
	s = config_site_match(c, "A.Example.COM");
	ok(s && s->id == 1, "SNI matching ignores case");
	s = config_site_match(c, "x.example.com");
	ok(s && s->id == 2, "*.example.com covers one label");
	s = config_site_match(c, "x.b.example.com");
	ok(s && s->id == 3, "the longest wildcard wins");
	s = config_site_match(c, "x.y.a.example.com");
	ok(s && s->id == 4, "a wildcard does not cover two labels: default");
	s = config_site_match(c, "example.com");
	ok(s && s->id == 4, "*.example.com does not cover example.com itself");
	s = config_site_match(c, NULL);
	ok(s && s->id == 4, "no SNI uses the default site");
	ok(config_site_by_id(c, 3) == &c->sites[2] && config_site_by_id(c, 5) == NULL,
	   "sites by id");
	ok(c->sites[3].upstream.addr.ss.ss_family == AF_INET6, "IPv6 upstream");
	c->agent.strict_sni = true;
	ok(config_site_match(c, NULL) == NULL && config_site_match(c, "other.org") == NULL,
	   "strict_sni refuses a missing or unknown SNI despite a default site");
	ok(config_site_match(c, "a.example.com") != NULL, "strict_sni still matches names");
	config_free(c);

	c = load("[site a.example.com]\ncert = /c\nkey = /k\nverify = off\nupstream = 127.0.0.1:1\n");
	ok(c && config_site_match(c, "b.example.com") == NULL && config_site_match(c, NULL) == NULL,
	   "without a default site an unknown SNI matches nothing");
	config_free(c);
}

static void test_values(void)
{
	uint64_t ns;
	struct config_addr a;

	ok(duration_parse("250ms", &ns) == 0 && ns == 250000000ull, "250ms");
	ok(duration_parse("7", &ns) == 0 && ns == 7000000000ull, "bare seconds");
	ok(duration_parse("2d", &ns) == 0 && ns == 172800000000000ull, "days");
	ok(duration_parse("-1s", &ns) < 0 && duration_parse("1x", &ns) < 0 &&
	   duration_parse("", &ns) < 0, "bad durations");
	ok(confval_addr_parse("[fd00::1]:9", 0, &a) == 0 && a.ss.ss_family == AF_INET6, "[v6]:port");
	ok(confval_addr_parse("fd00::1", 443, &a) == 0 && a.ss.ss_family == AF_INET6,
	   "bare v6 with a default port");
	ok(confval_addr_parse("10.1.2.3:70000", 0, &a) < 0, "port out of range");
	ok(confval_addr_parse("host:80", 0, &a) < 0, "listen addresses are numeric");
}

static void test_doc(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	static const char *const keys[] = {
		"listen", "workers", "pin_root", "metrics", "user", "handshake_timeout",
		"idle_timeout", "linger", "flow_lease", "drain_timeout", "max_connections", "penalty", "penalty_max",
		"penalty_exempt", "strict_sni", "cert", "key", "client_ca", "crl", "verify",
		"verify_depth", "allow_cn", "allow_san_dns", "allow_san_uri", "pin_sha256",
		"pin_spki_sha256", "alpn", "upstream", "proxy_protocol", "upstream_cert",
		"upstream_key", "upstream_ca",
	};
	int all = 1;

	confdoc_write(f, CONFIG_DOC_TEXT);
	fclose(f);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char k[64];

		snprintf(k, sizeof(k), "  %s ", keys[i]);
		if (!strstr(buf, k)) {
			diag("missing from the documentation: %s", keys[i]);
			all = 0;
		}
	}
	ok(all, "the documentation lists every directive");
	free(buf);

	/* The shipped man page is the table's output, so it cannot drift. */
	FILE *man = fopen("man/aopgate.conf.5", "r");
	char *want = NULL, *got = NULL;
	size_t wl = 0, gl = 0;

	if (!ok(man != NULL, "man/aopgate.conf.5 exists (run from the top of the tree)"))
		return;
	f = open_memstream(&want, &wl);
	for (int ch; (ch = fgetc(man)) != EOF;)
		fputc(ch, f);
	fclose(f);
	fclose(man);
	f = open_memstream(&got, &gl);
	confdoc_write(f, CONFIG_DOC_MAN);
	fclose(f);
	ok(gl == wl && !memcmp(got, want, gl),
	   "man/aopgate.conf.5 equals `aopgated -D man` (regenerate it after a table change)");
	free(want);
	free(got);
}

static char incdir[] = "/tmp/aopgate-test-include-XXXXXX";

/* put(name, text): writes incdir/name. */
static void put(const char *name, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", incdir, name);
	f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
}

/* inc_fails(main, file, line, what, name): loading main.conf fails at incdir/file:line. */
static void inc_fails(const char *file, int line, const char *what, const char *name)
{
	char p[256], want[512];
	struct config *c;

	snprintf(p, sizeof(p), "%s/main.conf", incdir);
	snprintf(want, sizeof(want), "%s/%s:%d: ", incdir, file, line);
	c = config_load(p, err, sizeof(err));
	ok(c == NULL && strstr(err, want) && strstr(err, what), "%s", name);
	if (c || !strstr(err, want) || !strstr(err, what))
		diag("want %s%s, got: %s", want, what, c ? "(loaded)" : err);
	config_free(c);
}

static void test_include(void)
{
	char p[256], sub[256];
	struct config *c;

	if (!mkdtemp(incdir))
		return;
	snprintf(sub, sizeof(sub), "%s/conf.d", incdir);
	mkdir(sub, 0700);
	snprintf(p, sizeof(p), "%s/main.conf", incdir);
	put("main.conf", "[agent]\nworkers = 2\ninclude = conf.d/*.conf\nmax_connections = 7\n");
	put("conf.d/b.conf", "[site b.example]\ncert = /c.pem\nkey = /k.pem\n"
	    "client_ca = /ca.pem\nupstream = 127.0.0.1:8081\n");
	put("conf.d/a.conf", SITE_OK);
	put("conf.d/README", "not a configuration");
	c = config_load(p, err, sizeof(err));
	ok(c && c->n_sites == 2 && !strcmp(c->sites[0].name, "a.example") &&
	   !strcmp(c->sites[1].name, "b.example"),
	   "include: the sites of conf.d/*.conf, in sorted order, other names ignored");
	ok(c && c->agent.max_connections == 7 && c->agent.workers == 2,
	   "include: the including section resumes after the included files");
	if (!c)
		diag("%s", err);
	config_free(c);

	put("conf.d/b.conf", "[site b.example]\ncert = /c.pem\nbogus = 1\n");
	inc_fails("conf.d/b.conf", 3, "unknown key 'bogus'",
		  "include: an error in an included file names that file and line");
	put("conf.d/b.conf", "[site b.example]\ncert = /c.pem\nkey = /k.pem\nclient_ca = /ca.pem\n");
	inc_fails("conf.d/b.conf", 1, "site b.example: no upstream",
		  "include: a site's missing directive names the included file");
	put("conf.d/b.conf", "[site b.example]\nno equals sign here\n");
	inc_fails("conf.d/b.conf", 2, "syntax error",
		  "include: a syntax error in an included file names that file and line");
	put("conf.d/b.conf", "[site a.example]\n");
	inc_fails("conf.d/b.conf", 1, "already defined at",
		  "include: a site defined in two files is an error");
	put("conf.d/b.conf", "");
	put("main.conf", "[agent]\nworkers = 2\n\ninclude = missing.conf\n" SITE_OK);
	inc_fails("main.conf", 4, "include", "include: a named file that does not exist is an error");
	put("main.conf", "include = empty.d/*.conf\n" SITE_OK);
	c = config_load(p, err, sizeof(err));
	ok(c != NULL, "include: a pattern that matches nothing is no error (an empty conf.d)");
	config_free(c);
	put("main.conf", SITE_OK "include = main.conf\n");
	inc_fails("main.conf", 6, "include loop", "include: a file including itself is an error");
	put("main.conf", SITE_OK "include = loop.d/a.conf\n");
	mkdir(strcat(strcpy(sub, incdir), "/loop.d"), 0700);
	put("loop.d/a.conf", "include = b.conf\n");
	put("loop.d/b.conf", "# b\ninclude = a.conf\n");
	inc_fails("loop.d/b.conf", 2, "include loop",
		  "include: a loop through another file is an error, at the line that closes it");
	mkdir(strcat(strcpy(sub, incdir), "/fan.d"), 0700);
	for (int i = 0; i < 6; i++) {
		char name[32], text[256];

		snprintf(name, sizeof(name), "fan.d/%d.conf", i);
		snprintf(text, sizeof(text), i < 5 ? "include = %1$d.conf\ninclude = %1$d.conf\n"
			 "include = %1$d.conf\ninclude = %1$d.conf\n" : "# the last\n", i + 1);
		put(name, text);
	}
	put("main.conf", SITE_OK "include = fan.d/0.conf\n");
	inc_fails("fan.d/0.conf", 4, "more than 1024 files in all",
		  "include: files that include others several times stop at 1024 files in all");
	snprintf(p, sizeof(p), "rm -rf '%s'", incdir);
	if (system(p) != 0)
		diag("cannot remove %s", incdir);
}

int main(void)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return 1;
	close(fd);
	test_documented_example();
	test_defaults();
	test_errors();
	test_sites();
	test_values();
	test_doc();
	test_include();
	FILE *exf = fopen("dist/aopgate.conf.example", "r");
	static char extext[16384];
	size_t exn = exf ? fread(extext, 1, sizeof(extext) - 1, exf) : 0;

	if (exf)
		fclose(exf);
	extext[exn] = '\0';
	struct config *ex = exn ? load_example(extext) : NULL;

	ok(ex != NULL, "dist/aopgate.conf.example parses and validates");
	if (!ex)
		diag("%s", err);
	config_free(ex);
	unlink(path);
	return tap_done();
}
