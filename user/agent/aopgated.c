// SPDX-License-Identifier: GPL-2.0-only
/*
 * aopgated: the agent. Setup only: load and check the configuration, bind
 * the listeners and the metrics socket, open the gate's maps, drop
 * privileges, start the event loops, then turn signals into reloads
 * (SIGHUP) and a drain (SIGTERM, SIGINT), and run the periodic sweep.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "certinfo.h"
#include "confdoc.h"
#include "conn.h"
#include "fdlimit.h"
#include "files.h"
#include "gatemap.h"
#include "log.h"
#include "metrics.h"
#include "gateio.h"
#include "notify.h"
#include "pinroot.h"
#include "privs.h"
#include "reader.h"
#include "procstat.h"
#include "runtime.h"
#include "tls.h"
#include "version.h"
#include "worker.h"

#define DEFAULT_CONFIG "/etc/aopgate/aopgate.conf"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: aopgated [-c FILE] [-t]\n"
		"       aopgated -D [man]\n"
		"       aopgated -V | --version\n"
		"  -c FILE  configuration (default " DEFAULT_CONFIG ")\n"
		"  -t       check the configuration, its certificates, keys, CAs and CRLs, then exit\n"
		"  -D       print the documentation of every directive (man: as roff)\n"
		"  -V       print the version\n"
		"Runs in the foreground, logs to stderr; SIGHUP reloads, SIGTERM drains.\n"
		"Under systemd: Type=notify, socket activation of the listen addresses.\n");
}

/* Each "file:line: what" line of err as its own log line. */
static void log_errors(const char *event, const char *err)
{
	char line[600], q[700];

	for (const char *p = err; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		log_error("event=%s result=fail error=%s", event, log_quote(line, q, sizeof(q)));
		p += n + (nl ? 1 : 0);
	}
}

/*
 * A socket systemd passed for a (socket activation), made non-blocking
 * for the event loops and taken off the list; -1 if none matches.
 */
static int activated(const struct config_addr *a, int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		if (fds[i] < 0 ||
		    sd_is_socket_sockaddr(fds[i], SOCK_STREAM, (const struct sockaddr *)&a->ss,
					  a->len, 1) <= 0)
			continue;
		int fd = fds[i];

		fds[i] = -1;
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
			return -1;
		return fd;
	}
	return -1;
}

static int listen_on(const struct config_addr *a)
{
	int one = 1, fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::]:443 next to 0.0.0.0:443 must not claim the IPv4 port too. */
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 || listen(fd, 4096) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * The path the agent opens its pin root by: pin_root itself, or the host's
 * bpffs through a held descriptor when this process has a mount namespace
 * of its own (ip netns exec). NULL after logging why there is none.
 */
static const char *pin_path(const char *pin_root)
{
	static struct pinroot pr;
	char err[1024], q[1100];

	if (!strcmp(pin_root, "off"))
		return pin_root;
	if (pinroot_resolve(pin_root, PINROOT_HOLD, &pr, err, sizeof(err))) {
		log_error("event=maps result=fail pin_root=%s error=%s", pin_root,
			  log_quote(err, q, sizeof(q)));
		return NULL;
	}
	if (pr.reach != PINROOT_SHARED)
		log_info("event=maps pin_root=%s reach=%s note=%s", pin_root,
			 pinroot_reach_name(pr.reach), log_quote(pr.note, q, sizeof(q)));
	return pr.path;
}

/*
 * -t: what start-up checks beyond the configuration, short of taking the
 * pin root and opening its maps, which belong to the running agent.
 */
static int check_only(const char *path, struct runtime *rt)
{
	const struct config_agent *a = &rt->cfg->agent;
	char err[512];
	int rc = 0;

	fdlimit_apply(a->max_connections, false);
	/* A pin root not there yet is the loader's to make; a wrong one is ours to refuse. */
	if (strcmp(a->pin_root, "off") && pinroot_check(a->pin_root, err, sizeof(err)) < 0 &&
	    errno != ENOENT) {
		fprintf(stderr, "%s: %s\n", path, err);
		rc = 1;
	} else {
		printf("%s: ok (%zu sites)\n", path, rt->cfg->n_sites);
	}
	runtime_put(rt);
	return rc;
}

/* Whether a reader opens reloads' files for an agent without capabilities (privs.h). */
static bool split;

static void reload(const char *path, const struct config *running)
{
	char err[8192], q[8300];
	const struct config_agent *o = &running->agent, *n;
	struct runtime *rt;

	struct files_set *fs = NULL;

	/* Keys only root may read, as the first load read them: the reader opens them. */
	if (split) {
		fs = reader_fetch(err, sizeof(err));
		if (!fs) {
			metrics_reload(0);
			log_error("event=reload result=fail error=%s note=\"the running "
				  "configuration stays; restart aopgated to reload again\"",
				  log_quote(err, q, sizeof(q)));
			return;
		}
	}
	files_serve(fs);
	rt = runtime_load(path, err, sizeof(err));
	if (rt)
		certinfo_update(rt->cfg);
	files_serve(NULL);
	files_set_free(fs);
	if (!rt) {
		metrics_reload(0);
		log_errors("reload", err);
		log_error("event=reload result=fail note=\"the running configuration stays\"");
		return;
	}
	n = &rt->cfg->agent;
	/* Sockets, maps and the user were set up once; say what needs a restart. */
	if (n->n_listen != o->n_listen ||
	    memcmp(n->listen, o->listen, n->n_listen * sizeof(*n->listen)) ||
	    strcmp(n->pin_root, o->pin_root) || n->workers != o->workers ||
	    memcmp(&n->metrics, &o->metrics, sizeof(n->metrics)) ||
	    !n->user != !o->user || (n->user && strcmp(n->user, o->user)))
		log_warn("event=reload note=\"listen, workers, pin_root, metrics and user "
			 "change only on restart\"");
	log_set_level(n->log_level);
	log_set_format(n->log_format);
	if (n->max_connections != o->max_connections)
		fdlimit_apply(n->max_connections, true);
	worker_set_max(n->max_connections);
	runtime_publish(rt);
	gateio_publish(rt->cfg);
	worker_notify();
	metrics_reload(1);
	log_info("event=reload result=ok gen=%u sites=%zu", rt->gen, rt->cfg->n_sites);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = DEFAULT_CONFIG, *pins;
	int check = 0, opt, *lfds = NULL, workers, n_act, rc = 1;
	int *act = NULL;
	size_t n_listen = 0;
	struct passwd *pw;
	char err[8192];
	struct runtime *rt;
	const struct config_agent *a;
	sigset_t sigs;
	uint64_t last_sweep = 0;

	while ((opt = getopt_long(argc, argv, "c:tDhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'D':
			confdoc_write(stdout, optind < argc && !strcmp(argv[optind], "man")
						   ? CONFIG_DOC_MAN : CONFIG_DOC_TEXT);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("aopgated %s\n", AOPGATE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	procstat_init();
	log_init();
	if (tls_init() < 0) {
		fprintf(stderr, "aopgated: cannot initialise OpenSSL\n");
		return 1;
	}
	rt = runtime_load(path, err, sizeof(err));
	if (!rt) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	a = &rt->cfg->agent;
	if (check)
		return check_only(path, rt);
	log_set_level(a->log_level);
	log_set_format(a->log_format);
	fdlimit_apply(a->max_connections, true);
	certinfo_update(rt->cfg);
	runtime_publish(rt);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	/* Blocked before any thread starts, so only sigtimedwait sees them. */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/*
	 * Before any thread starts: the reader keeps what reading needs, and
	 * this process (every thread it starts from here on) can never gain a
	 * capability again; privs_become gives up the rest.
	 */
	split = privs_split(a->user);
	if (split && (reader_start(path, a->user) < 0 || privs_lockdown() < 0))
		goto out;

	/*
	 * Before binding or touching a map: a second agent on the same pin
	 * root must stop here, not sweep the first one's flows.
	 */
	pins = pin_path(a->pin_root);
	if (!pins || (strcmp(pins, "off") && gateio_lock(pins) < 0))
		goto out;

	/* a belongs to the first runtime, which a reload frees: nothing below
	 * the signal loop may use it. */
	n_listen = a->n_listen;
	lfds = calloc(n_listen, sizeof(*lfds));
	n_act = sd_listen_fds(1);
	if (n_act < 0)
		n_act = 0;
	act = calloc(n_act + 1, sizeof(*act));
	if (!lfds || !act)
		goto out;
	for (int i = 0; i < n_act; i++)
		act[i] = SD_LISTEN_FDS_START + i;
	for (size_t i = 0; i < a->n_listen; i++) {
		lfds[i] = activated(&a->listen[i], act, n_act);
		if (lfds[i] < 0)
			lfds[i] = listen_on(&a->listen[i]);
		if (lfds[i] < 0) {
			log_error("event=start error=\"cannot listen on address %zu of listen: %s\"",
				  i + 1, strerror(errno));
			goto out;
		}
	}
	/* A passed socket no listen address names would accept and never answer. */
	for (int i = 0; i < n_act; i++) {
		if (act[i] < 0)
			continue;
		log_warn("event=start note=\"socket %d from the service manager matches no listen "
			 "address; closed\"", act[i]);
		close(act[i]);
	}
	free(act);
	act = NULL;
	if (a->metrics.len && metrics_serve(&a->metrics, pins) < 0)
		goto out;
	if (strcmp(pins, "off")) {
		/* Fail closed: without the maps nobody is pinned or penalized. */
		if (gateio_open(pins) < 0)
			goto out;
		/* The sockets of a previous process are gone: so are its flows. */
		log_info("event=sweep stale_verified=%d", gateio_sweep(true));
		gateio_publish(rt->cfg);
	} else {
		log_warn("event=maps note=\"pin_root = off: flows are not pinned and "
			 "failed sources are not penalized\"");
	}
	if (privs_become(a->user) < 0)
		goto out;
	workers = a->workers ? a->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (workers < 1)
		workers = 1;
	if (worker_start(workers, lfds, a->n_listen, a->max_connections) < 0 ||
	    gateio_lease_start() < 0)
		goto out;
	pw = getpwuid(geteuid());
	log_info("event=start user=%s uid=%u result=ok version=%s config=%s workers=%d "
		 "listeners=%zu activated=%d sites=%zu maps=%s",
		 pw ? pw->pw_name : "?", (unsigned)geteuid(), AOPGATE_VERSION, path, workers,
		 a->n_listen, n_act, rt->cfg->n_sites, gateio_ready() ? "open" : "none");
	notify_ready(rt->cfg->n_sites, conn_active());

	for (;;) {
		struct timespec ts = { .tv_sec = 1 };
		int sig = sigtimedwait(&sigs, NULL, &ts);
		uint64_t now = gatemap_now_ns();
		struct runtime *cur;

		if (sig == SIGHUP) {
			notify_reloading();
			cur = runtime_get();
			reload(path, cur->cfg);
			runtime_put(cur);
			cur = runtime_get();
			notify_ready(cur->cfg->n_sites, conn_active());
			runtime_put(cur);
		} else if (sig == SIGTERM || sig == SIGINT) {
			notify_stopping();
			cur = runtime_get();
			log_info("event=drain connections=%ld timeout=%.0fs", conn_active(),
				 cur->cfg->agent.drain_timeout_ns / 1e9);
			worker_drain(now + cur->cfg->agent.drain_timeout_ns);
			runtime_put(cur);
			break;
		}
		if (now - last_sweep >= 1000000000ull) {
			last_sweep = now;
			if (gateio_ready())
				gateio_tick();
			reader_check();
			cur = runtime_get();
			notify_status(cur->cfg->n_sites, conn_active());
			runtime_put(cur);
		}
	}
	worker_join();
	gateio_sweep(false);
	log_info("event=stop result=ok");
	rc = 0;
out:
	for (size_t i = 0; lfds && i < n_listen; i++)
		if (lfds[i] > 0)
			close(lfds[i]);
	free(lfds);
	free(act);
	return rc;
}
