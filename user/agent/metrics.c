// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prometheus text exposition; see metrics.h. Served by libmicrohttpd from
 * its own threads, so a slow or idle scraper never holds up another one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <microhttpd.h>

#include "certinfo.h"
#include "gatemap.h"
#include "log.h"
#include "metrics.h"
#include "gateio.h"
#include "procstat.h"
#include "version.h"

#define METRICS_MAX_SITES 256

/* Upper bounds of the latency buckets, in seconds (Prometheus "le"). */
static const double lat_le[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				 0.25, 0.5, 1, 2.5, 5, 10 };
#define N_LE (sizeof(lat_le) / sizeof(lat_le[0]))

struct site_stats {
	char name[256];		/* "" for handshakes that matched no site */
	uint64_t by_reason[REASON_N_FAILURES];
	uint64_t lat_buckets[N_LE + 1], lat_count;	/* verified handshakes */
	double lat_sum;
};

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct site_stats sites[METRICS_MAX_SITES];
static size_t n_sites;
static uint64_t lat_buckets[N_LE + 1], lat_count;
static double lat_sum;
static uint64_t closes[REASON_MAX];
static int64_t active;
static uint64_t bytes_in, bytes_out, penalties, spared, reloads_ok, reloads_fail;

void metrics_handshake(const char *site, enum reason r, uint64_t ns)
{
	double s = ns / 1e9;
	size_t i;

	if (!site)
		site = "";
	if ((unsigned)r >= REASON_N_FAILURES)
		r = REASON_PROTOCOL_ERROR;
	pthread_mutex_lock(&metrics_lock);
	for (i = 0; i < n_sites && strcmp(sites[i].name, site); i++)
		;
	if (i == n_sites && n_sites < METRICS_MAX_SITES)
		snprintf(sites[n_sites++].name, sizeof(sites[0].name), "%s", site);
	if (i < n_sites)
		sites[i].by_reason[r]++;
	if (r == REASON_OK) {
		struct site_stats *st = i < n_sites ? &sites[i] : NULL;

		for (i = 0; i < N_LE && s > lat_le[i]; i++)
			;
		lat_buckets[i]++;
		lat_count++;
		lat_sum += s;
		if (st) {
			st->lat_buckets[i]++;
			st->lat_count++;
			st->lat_sum += s;
		}
	}
	pthread_mutex_unlock(&metrics_lock);
}

void metrics_close(enum reason r)
{
	if ((unsigned)r < REASON_MAX)
		__atomic_add_fetch(&closes[r], 1, __ATOMIC_RELAXED);
}

void metrics_active(int delta)
{
	__atomic_add_fetch(&active, delta, __ATOMIC_RELAXED);
}

void metrics_bytes(uint64_t in, uint64_t out)
{
	if (in)
		__atomic_add_fetch(&bytes_in, in, __ATOMIC_RELAXED);
	if (out)
		__atomic_add_fetch(&bytes_out, out, __ATOMIC_RELAXED);
}

void metrics_penalty(void)
{
	__atomic_add_fetch(&penalties, 1, __ATOMIC_RELAXED);
}

void metrics_spared(void)
{
	__atomic_add_fetch(&spared, 1, __ATOMIC_RELAXED);
}

void metrics_reload(int ok)
{
	__atomic_add_fetch(ok ? &reloads_ok : &reloads_fail, 1, __ATOMIC_RELAXED);
}

static uint64_t ld(uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Label values here are site names (checked host names) and fixed words. */
static void render_handshakes(FILE *f)
{
	fputs("# HELP aopgate_handshakes_total TLS handshakes by site and result.\n"
	      "# TYPE aopgate_handshakes_total counter\n", f);
	pthread_mutex_lock(&metrics_lock);
	for (size_t i = 0; i < n_sites; i++)
		for (int r = 0; r < REASON_N_FAILURES; r++)
			if (sites[i].by_reason[r])
				fprintf(f, "aopgate_handshakes_total{site=\"%s\",result=\"%s\","
					"reason=\"%s\"} %llu\n", sites[i].name,
					r == REASON_OK ? "ok" : "fail", reason_name(r),
					(unsigned long long)sites[i].by_reason[r]);
	fputs("# HELP aopgate_handshake_seconds Time from accept to a verified handshake.\n"
	      "# TYPE aopgate_handshake_seconds histogram\n", f);
	uint64_t cum = 0;

	for (size_t i = 0; i <= N_LE; i++) {
		cum += lat_buckets[i];
		if (i < N_LE)
			fprintf(f, "aopgate_handshake_seconds_bucket{le=\"%g\"} %llu\n", lat_le[i],
				(unsigned long long)cum);
		else
			fprintf(f, "aopgate_handshake_seconds_bucket{le=\"+Inf\"} %llu\n",
				(unsigned long long)cum);
	}
	fprintf(f, "aopgate_handshake_seconds_sum %.6f\naopgate_handshake_seconds_count %llu\n",
		lat_sum, (unsigned long long)lat_count);
	fputs("# HELP aopgate_site_handshake_seconds Time from accept to a verified handshake, "
	      "by site.\n# TYPE aopgate_site_handshake_seconds histogram\n", f);
	for (size_t s = 0; s < n_sites; s++) {
		const struct site_stats *st = &sites[s];

		if (!st->lat_count)
			continue;
		cum = 0;
		for (size_t i = 0; i <= N_LE; i++) {
			cum += st->lat_buckets[i];
			if (i < N_LE)
				fprintf(f, "aopgate_site_handshake_seconds_bucket{site=\"%s\",le=\"%g\"} "
					"%llu\n", st->name, lat_le[i], (unsigned long long)cum);
			else
				fprintf(f, "aopgate_site_handshake_seconds_bucket{site=\"%s\",le=\"+Inf\"} "
					"%llu\n", st->name, (unsigned long long)cum);
		}
		fprintf(f, "aopgate_site_handshake_seconds_sum{site=\"%s\"} %.6f\n"
			"aopgate_site_handshake_seconds_count{site=\"%s\"} %llu\n",
			st->name, st->lat_sum, st->name, (unsigned long long)st->lat_count);
	}
	pthread_mutex_unlock(&metrics_lock);
}

static char *pin_root;		/* NULL: pin_root = off */
static int pin_dirfd = -1;	/* pin_root, opened before the privilege drop */
/* Its descriptors share one offset: one reader at a time. */
static pthread_mutex_t pin_dir_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gatemap *fill_maps;	/* our own fds, for the fill levels only */

/* The maps whose fill matters: verified is a plain hash (full: new flows
 * cannot be pinned); the others are LRU and evict, which weakens them. */
static const enum gatemap_id fill_ids[] = { GM_VERIFIED, GM_VERIFIED4, GM_PENDING,
					    GM_PENDING4, GM_PENALTY, GM_STANDING, GM_SYN_RL };

/* Entries by walking the keys only: no value copies, no per-CPU work. */
static long map_entries(int fd, __u32 key_size)
{
	unsigned char a[64], b[64], *cur = NULL, *next = a;
	long n = 0;

	if (key_size > sizeof(a))
		return -1;
	while (bpf_map_get_next_key(fd, cur, next) == 0) {
		n++;
		cur = next;
		next = next == a ? b : a;
	}
	return errno == ENOENT ? n : -1;
}

static void render_fill(FILE *f)
{
	enum { N = sizeof(fill_ids) / sizeof(fill_ids[0]) };
	long n[N];
	__u32 max[N];

	if (!fill_maps)
		return;
	for (size_t i = 0; i < N; i++) {
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = gatemap_fd(fill_maps, fill_ids[i]);

		n[i] = -1;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			n[i] = map_entries(fd, info.key_size);
		max[i] = info.max_entries;
	}
	fputs("# HELP aopgate_map_entries Entries in the gate's maps.\n"
	      "# TYPE aopgate_map_entries gauge\n", f);
	for (size_t i = 0; i < N; i++)
		if (n[i] >= 0)
			fprintf(f, "aopgate_map_entries{map=\"%s\"} %ld\n",
				gatemap_name(fill_ids[i]), n[i]);
	fputs("# HELP aopgate_map_max_entries Capacity of the gate's maps.\n"
	      "# TYPE aopgate_map_max_entries gauge\n", f);
	for (size_t i = 0; i < N; i++)
		if (n[i] >= 0)
			fprintf(f, "aopgate_map_max_entries{map=\"%s\"} %u\n",
				gatemap_name(fill_ids[i]), max[i]);
}

/*
 * Counts the pin root's entries whose names start with prefix (the whole
 * name with exact). The directory was opened at start, while the agent
 * could still search it: the pin root is root's and 0700, and reading an
 * open directory needs no permission, where opening it again would.
 */
static int pin_entries(const char *prefix, bool exact)
{
	struct dirent *e;
	int fd, n = 0;
	DIR *d;

	pthread_mutex_lock(&pin_dir_lock);
	fd = pin_dirfd >= 0 ? dup(pin_dirfd) : -1;
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d) {
		rewinddir(d);
		while ((e = readdir(d)))
			if (exact ? !strcmp(e->d_name, prefix) :
				    !strncmp(e->d_name, prefix, strlen(prefix)))
				n++;
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	pthread_mutex_unlock(&pin_dir_lock);
	return n;
}

/* Interfaces the gate is attached to: the link pins `aopgate attach` leaves. */
static int gate_links(void)
{
	return pin_entries("link-", false);
}

static void render_datapath(FILE *f)
{
	struct counter sum[CNT_MAX];

	fprintf(f, "# HELP aopgate_datapath_up Whether the gate's maps are open.\n"
		"# TYPE aopgate_datapath_up gauge\naopgate_datapath_up %d\n", gateio_ready());
	fprintf(f, "# HELP aopgate_gate_links Interfaces the gate is attached to "
		"(link pins under pin_root).\n"
		"# TYPE aopgate_gate_links gauge\naopgate_gate_links %d\n", gate_links());
	render_fill(f);
	if (gateio_stats(sum) < 0)
		return;
	fputs("# HELP aopgate_datapath_packets_total Packets by gate verdict.\n"
	      "# TYPE aopgate_datapath_packets_total counter\n", f);
	for (unsigned int i = 0; i < CNT_MAX; i++)
		fprintf(f, "aopgate_datapath_packets_total{verdict=\"%s\"} %llu\n",
			gatemap_counter_name(i), (unsigned long long)sum[i].packets);
	fputs("# HELP aopgate_datapath_bytes_total Bytes by gate verdict.\n"
	      "# TYPE aopgate_datapath_bytes_total counter\n", f);
	for (unsigned int i = 0; i < CNT_MAX; i++)
		fprintf(f, "aopgate_datapath_bytes_total{verdict=\"%s\"} %llu\n",
			gatemap_counter_name(i), (unsigned long long)sum[i].bytes);
}

int metrics_render(char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);

	if (!f)
		return -1;
	render_handshakes(f);
	fputs("# HELP aopgate_closes_total Connections closed, by reason.\n"
	      "# TYPE aopgate_closes_total counter\n", f);
	for (int r = 0; r < REASON_MAX; r++)
		fprintf(f, "aopgate_closes_total{reason=\"%s\"} %llu\n", reason_name(r),
			(unsigned long long)ld(&closes[r]));
	fprintf(f, "# HELP aopgate_connections_active Open client connections.\n"
		"# TYPE aopgate_connections_active gauge\naopgate_connections_active %lld\n",
		(long long)__atomic_load_n(&active, __ATOMIC_RELAXED));
	fprintf(f, "# HELP aopgate_relay_bytes_total Bytes relayed, by direction.\n"
		"# TYPE aopgate_relay_bytes_total counter\n"
		"aopgate_relay_bytes_total{direction=\"in\"} %llu\n"
		"aopgate_relay_bytes_total{direction=\"out\"} %llu\n",
		(unsigned long long)ld(&bytes_in), (unsigned long long)ld(&bytes_out));
	fprintf(f, "# HELP aopgate_penalties_total Penalties written to the penalty map.\n"
		"# TYPE aopgate_penalties_total counter\naopgate_penalties_total %llu\n",
		(unsigned long long)ld(&penalties));
	fprintf(f, "# HELP aopgate_spared_total Failed handshakes not counted against their "
		"source: in good standing or inside the enforced allowlist.\n"
		"# TYPE aopgate_spared_total counter\naopgate_spared_total %llu\n",
		(unsigned long long)ld(&spared));
	fprintf(f, "# HELP aopgate_log_lines_lost_total Log lines stderr would not take "
		"(a full disk).\n"
		"# TYPE aopgate_log_lines_lost_total counter\naopgate_log_lines_lost_total %lu\n",
		log_lines_lost());
	fprintf(f, "# HELP aopgate_reloads_total Reloads, by result.\n"
		"# TYPE aopgate_reloads_total counter\n"
		"aopgate_reloads_total{result=\"ok\"} %llu\n"
		"aopgate_reloads_total{result=\"fail\"} %llu\n",
		(unsigned long long)ld(&reloads_ok), (unsigned long long)ld(&reloads_fail));
	render_datapath(f);
	certinfo_render(f);
	fprintf(f, "# HELP aopgate_build_info The running version.\n"
		"# TYPE aopgate_build_info gauge\naopgate_build_info{version=\"%s\"} 1\n",
		AOPGATE_VERSION);
	procstat_render(f);
	return fclose(f) == 0 ? 0 : -1;
}

/*
 * Healthy: the gate's maps are open, still readable, and still pinned
 * (removing the pins, as `detach --purge` does, leaves our fds working
 * while nothing shares the maps with the gate any more).
 */
static int healthy(char *why, size_t len)
{
	struct counter sum[CNT_MAX];

	if (!pin_root) {
		snprintf(why, len, "ok (pin_root = off: no gate)\n");
		return 1;
	}
	if (!gateio_ready() || gateio_stats(sum) < 0) {
		snprintf(why, len, "the gate's maps are not open\n");
		return 0;
	}
	if (!pin_entries(gatemap_name(GM_STATS), true)) {
		snprintf(why, len, "the gate's maps are no longer pinned under %s\n", pin_root);
		return 0;
	}
	snprintf(why, len, "ok\n");
	return 1;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code, const char *type,
			     void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* GET or HEAD /metrics and /healthz; libmicrohttpd leaves out HEAD's body. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *data_len, void **req)
{
	static const char text[] = "text/plain; charset=utf-8";
	char why[512];
	char *body = NULL;
	size_t blen = 0;
	int ok;

	(void)cls, (void)version, (void)data, (void)data_len, (void)req;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, "GET or HEAD\n", 12,
			     MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/metrics")) {
		if (metrics_render(&body, &blen) < 0)
			return MHD_NO;
		return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4", body, blen,
			     MHD_RESPMEM_MUST_FREE);
	}
	if (!strcmp(url, "/healthz")) {
		ok = healthy(why, sizeof(why));
		return reply(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, text, why,
			     strlen(why), MHD_RESPMEM_MUST_COPY);
	}
	return reply(c, MHD_HTTP_NOT_FOUND, text, "/metrics or /healthz\n", 21,
		     MHD_RESPMEM_PERSISTENT);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256], q[300];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warn("event=metrics error=%s", log_quote(msg, q, sizeof(q)));
}

int metrics_serve(const struct config_addr *addr, const char *root)
{
	int one = 1, fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct MHD_Daemon *d;
	char err[256];

	if (fd < 0)
		goto err;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 || listen(fd, 64) < 0)
		goto err;
	if (strcmp(root, "off")) {
		pin_root = strdup(root);
		pin_dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		/* Missing maps are the agent's start-up error to report, not ours. */
		fill_maps = gatemap_open(root, err, sizeof(err));
	}
	/* Two threads, each polling its share of the connections: one idle
	 * or slow client ties up neither; each connection times out at 10 s. */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG,
			     0, NULL, NULL, handle, NULL,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)2,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
			     MHD_OPTION_END);
	if (!d) {
		errno = errno ? errno : EINVAL;
		goto err;
	}
	return 0;
err:
	log_error("event=metrics error=\"cannot serve: %s\"", strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

