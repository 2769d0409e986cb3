// SPDX-License-Identifier: GPL-2.0-only
/*
 * aopgate-bouncer: a CrowdSec bouncer for the gate. Every crowdsec_interval
 * it pulls the Local API's decisions stream and writes the bans into the
 * gate's deny map as CrowdSec-origin denies (decision.c). A program of its
 * own, not a part of aopgated: the agent never speaks to another server
 * than its upstream and links no HTTP client, and the bouncer keeps
 * working while the agent restarts.
 *
 * The LAPI being down changes nothing in the datapath: the bans written
 * stay until their own end (the gate compares until_ns), and the outage is
 * logged once, with its end.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <ini.h>
#include <microhttpd.h>
#include "decision.h"
#include "duration.h"
#include "gatemap.h"
#include "lapi.h"
#include "log.h"
#include "pinroot.h"
#include "value.h"
#include "version.h"

#define DEF_CONFIG "/etc/aopgate/bouncer.conf"

struct bouncer_cfg {
	char lapi[1024];
	char key_file[1024];
	uint64_t interval_ns;
	bool override_standing;
	char pin_root[1024];
	char metrics[256];	/* host:port, or "" for none */
	char log_level[16];
};

/* The directives of [bouncer]: parsing and --help read this one table. */
static const struct directive {
	const char *name, *def, *help;
} directives[] = {
	{ "crowdsec_lapi", "http://127.0.0.1:8080", "the CrowdSec Local API" },
	{ "crowdsec_key_file", "/etc/aopgate/crowdsec.key",
	  "the bouncer's API key (cscli bouncers add NAME -o raw), readable by root only" },
	{ "crowdsec_interval", "10s", "how often the decisions stream is pulled" },
	{ "crowdsec_override_standing", "no",
	  "yes: ban sources in good standing too (default: report them, ban nothing)" },
	{ "pin_root", AOPGATE_PIN_ROOT, "the gate's pin root" },
	{ "metrics", "off", "host:port of /metrics (Prometheus), or off" },
	{ "log_level", "info", "error, warn, info or debug" },
};
#define N_DIRECTIVES (sizeof(directives) / sizeof(directives[0]))

static int set(struct bouncer_cfg *c, const char *name, const char *v)
{
	if (!strcmp(name, "crowdsec_lapi"))
		return snprintf(c->lapi, sizeof(c->lapi), "%s", v) >= (int)sizeof(c->lapi) ||
		       (strncmp(v, "http://", 7) && strncmp(v, "https://", 8));
	if (!strcmp(name, "crowdsec_key_file"))
		return snprintf(c->key_file, sizeof(c->key_file), "%s", v) >=
		       (int)sizeof(c->key_file);
	if (!strcmp(name, "crowdsec_interval"))
		return duration_parse(v, &c->interval_ns) || c->interval_ns < 100000000ull;
	if (!strcmp(name, "crowdsec_override_standing"))
		return value_bool(v, &c->override_standing);
	if (!strcmp(name, "pin_root"))
		return snprintf(c->pin_root, sizeof(c->pin_root), "%s", v) >=
		       (int)sizeof(c->pin_root);
	if (!strcmp(name, "metrics"))
		return snprintf(c->metrics, sizeof(c->metrics), "%s", strcmp(v, "off") ? v : "") >=
		       (int)sizeof(c->metrics);
	if (!strcmp(name, "log_level"))
		return log_level_parse(v) < 0 ||
		       snprintf(c->log_level, sizeof(c->log_level), "%s", v) >=
			       (int)sizeof(c->log_level);
	return -1;
}

struct parse_ctx {
	struct bouncer_cfg *cfg;
	const char *path;
	int errors;
};

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;
	size_t i;

	if (strcmp(section, "bouncer")) {
		fprintf(stderr, "%s: [%s]: only a [bouncer] section belongs here\n", p->path, section);
		p->errors++;
		return 1;
	}
	for (i = 0; i < N_DIRECTIVES; i++)
		if (!strcmp(directives[i].name, name))
			break;
	if (i == N_DIRECTIVES) {
		fprintf(stderr, "%s: unknown directive %s\n", p->path, name);
		p->errors++;
	} else if (set(p->cfg, name, value)) {
		fprintf(stderr, "%s: %s = %s: not valid (%s)\n", p->path, name, value,
			directives[i].help);
		p->errors++;
	}
	return 1;
}

/* Defaults, then the file; -1 after saying what is wrong. */
static int config_load(const char *path, struct bouncer_cfg *c)
{
	struct parse_ctx p = { .cfg = c, .path = path };
	int rc;

	for (size_t i = 0; i < N_DIRECTIVES; i++)
		set(c, directives[i].name, directives[i].def);
	rc = ini_parse(path, on_ini, &p);
	if (rc < 0) {
		fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
		return -1;
	}
	if (rc > 0) {
		fprintf(stderr, "%s:%d: not an ini line\n", path, rc);
		return -1;
	}
	return p.errors ? -1 : 0;
}

/* The API key: the file's first line; a file others may read is refused. */
static int read_key(const char *path, char *key, size_t len)
{
	struct stat st;
	FILE *f = fopen(path, "r");

	if (!f) {
		log_error("event=start result=fail key_file=%s error=\"%s\"", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
		log_error("event=start result=fail key_file=%s error=\"group or others may read "
			  "it: chmod 600\"", path);
		fclose(f);
		return -1;
	}
	if (!fgets(key, (int)len, f))
		key[0] = '\0';
	fclose(f);
	key[strcspn(key, "\r\n")] = '\0';
	if (!key[0]) {
		log_error("event=start result=fail key_file=%s error=\"empty\"", path);
		return -1;
	}
	return 0;
}

/* What /metrics shows: the decisions' counters, copied after each pull. */
static struct {
	pthread_mutex_t lock;
	struct decision_counts c;
	uint64_t sync_errors;
	time_t last_sync;	/* wall clock of the last good pull, 0: none yet */
	int up;
} m = { .lock = PTHREAD_MUTEX_INITIALIZER };

static enum MHD_Result on_http(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *data_len, void **state)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char body[2048];
	int n;

	(void)cls, (void)version, (void)data, (void)data_len, (void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return MHD_NO;
	if (strcmp(url, "/metrics")) {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(c, MHD_HTTP_NOT_FOUND, r);
		MHD_destroy_response(r);
		return ret;
	}
	pthread_mutex_lock(&m.lock);
	n = snprintf(body, sizeof(body),
		"# HELP aopgate_crowdsec_decisions_total CrowdSec decisions by what the bouncer did.\n"
		"# TYPE aopgate_crowdsec_decisions_total counter\n"
		"aopgate_crowdsec_decisions_total{action=\"applied\"} %llu\n"
		"aopgate_crowdsec_decisions_total{action=\"removed\"} %llu\n"
		"aopgate_crowdsec_decisions_total{action=\"spared\"} %llu\n"
		"aopgate_crowdsec_decisions_total{action=\"skipped\"} %llu\n"
		"# HELP aopgate_crowdsec_errors_total Failed pulls and decisions not applied.\n"
		"# TYPE aopgate_crowdsec_errors_total counter\n"
		"aopgate_crowdsec_errors_total %llu\n"
		"# HELP aopgate_crowdsec_last_sync_timestamp_seconds The last good pull.\n"
		"# TYPE aopgate_crowdsec_last_sync_timestamp_seconds gauge\n"
		"aopgate_crowdsec_last_sync_timestamp_seconds %lld\n"
		"# HELP aopgate_crowdsec_lapi_up Whether the last pull reached the Local API.\n"
		"# TYPE aopgate_crowdsec_lapi_up gauge\n"
		"aopgate_crowdsec_lapi_up %d\n",
		(unsigned long long)m.c.applied, (unsigned long long)m.c.removed,
		(unsigned long long)m.c.spared, (unsigned long long)m.c.skipped,
		(unsigned long long)(m.c.errors + m.sync_errors), (long long)m.last_sync, m.up);
	pthread_mutex_unlock(&m.lock);
	r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static struct MHD_Daemon *metrics_start(const char *hostport)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai = NULL;
	struct MHD_Daemon *d;
	char host[sizeof(((struct bouncer_cfg *)0)->metrics)], *port;
	const char *src = hostport[0] == '[' ? hostport + 1 : hostport;
	size_t n = strnlen(src, sizeof(host) - 1);

	memcpy(host, src, n);
	host[n] = '\0';
	port = strrchr(host, ':');
	if (!port)
		return NULL;
	*port++ = '\0';
	if (port - 2 >= host && port[-2] == ']')
		port[-2] = '\0';
	if (getaddrinfo(host, port, &hints, &ai))
		return NULL;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, on_http, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16, MHD_OPTION_END);
	freeaddrinfo(ai);
	return d;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: aopgate-bouncer [-c FILE] [-t] [--once]\n"
		   "  -c FILE   configuration (default " DEF_CONFIG ")\n"
		   "  -t        check the configuration and exit\n"
		   "  --once    one pull (startup=true) and exit\n"
		   "directives of [bouncer], with their defaults:\n");
	for (size_t i = 0; i < N_DIRECTIVES; i++)
		fprintf(f, "  %-27s = %-26s %s\n", directives[i].name, directives[i].def,
			directives[i].help);
}

/*
 * One pull and its application. The first good pull asks for the whole
 * active set (startup=true); an outage is logged when it starts and when
 * it ends, never once per pull. Returns 0 or -1.
 */
static int sync_once(struct lapi *l, struct decisions *ds, struct gatemap *gm, bool *synced,
		     bool *down)
{
	char err[512], *body = NULL;
	int rc;

	if (lapi_stream(l, !*synced, &body, err, sizeof(err))) {
		pthread_mutex_lock(&m.lock);
		m.sync_errors++;
		m.up = 0;
		pthread_mutex_unlock(&m.lock);
		if (!*down)
			log_warn("event=crowdsec_sync result=fail error=\"%s\" note=\"the bans in "
				 "place stay until they end; logged once per outage\"", err);
		*down = true;
		return -1;
	}
	if (*down)
		log_info("event=crowdsec_sync result=ok note=\"the Local API answers again\"");
	*down = false;
	rc = decisions_apply(ds, gm, body, !*synced);
	free(body);
	if (rc == 0)
		*synced = true;
	decisions_sweep(gm);
	pthread_mutex_lock(&m.lock);
	m.c = *decisions_counts(ds);
	m.up = 1;
	if (rc == 0)
		m.last_sync = time(NULL);
	pthread_mutex_unlock(&m.lock);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *path = DEF_CONFIG;
	struct bouncer_cfg cfg = { 0 };
	struct MHD_Daemon *httpd = NULL;
	struct decisions *ds = NULL;
	struct gatemap *gm = NULL;
	struct lapi *l = NULL;
	struct pinroot pr;
	bool check = false, once = false, synced = false, down = false;
	char key[512], err[1024];
	struct timespec ts;
	sigset_t sigs;
	int opt, sig, rc = 1;

	while ((opt = getopt_long(argc, argv, "c:thV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 't': check = true; break;
		case 'o': once = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("aopgate-bouncer %s\n", AOPGATE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (config_load(path, &cfg))
		return 1;
	if (check) {
		printf("%s: ok\n", path);
		return 0;
	}
	log_init();
	log_set_level(log_level_parse(cfg.log_level));
	if (read_key(cfg.key_file, key, sizeof(key)))
		return 1;
	if (pinroot_resolve(cfg.pin_root, 0, &pr, err, sizeof(err))) {
		log_error("event=maps result=fail pin_root=%s error=\"%s\"", cfg.pin_root, err);
		return 1;
	}
	gm = gatemap_open(pr.path, err, sizeof(err));
	if (!gm) {
		log_error("event=maps result=fail pin_root=%s error=\"%s\"", cfg.pin_root, err);
		return 1;
	}
	l = lapi_new(cfg.lapi, key);
	explicit_bzero(key, sizeof(key));
	ds = decisions_new(cfg.override_standing);
	if (!l || !ds) {
		log_error("event=start result=fail error=\"out of memory\"");
		goto out;
	}
	if (cfg.metrics[0] && !(httpd = metrics_start(cfg.metrics))) {
		log_error("event=start result=fail error=\"cannot serve metrics on %s\"", cfg.metrics);
		goto out;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	log_info("event=start result=ok version=%s lapi=%s pin_root=%s interval=%.1fs "
		 "override_standing=%s", AOPGATE_VERSION, cfg.lapi, cfg.pin_root,
		 cfg.interval_ns / 1e9, cfg.override_standing ? "yes" : "no");
	if (once) {
		rc = sync_once(l, ds, gm, &synced, &down) ? 1 : 0;
		goto out;
	}
	for (;;) {
		sync_once(l, ds, gm, &synced, &down);
		ts.tv_sec = (time_t)(cfg.interval_ns / 1000000000ull);
		ts.tv_nsec = (long)(cfg.interval_ns % 1000000000ull);
		sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	log_info("event=stop result=ok");
	rc = 0;
out:
	if (httpd)
		MHD_stop_daemon(httpd);
	decisions_free(ds);
	lapi_free(l);
	gatemap_close(gm);
	return rc;
}
