// SPDX-License-Identifier: GPL-2.0-only
/* Prometheus text exposition; see metrics.h. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "gatemap.h"
#include "log.h"
#include "metrics.h"
#include "gateio.h"

#define METRICS_MAX_SITES 256

/* Upper bounds of the latency buckets, in seconds (Prometheus "le"). */
static const double lat_le[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				 0.25, 0.5, 1, 2.5, 5, 10 };
#define N_LE (sizeof(lat_le) / sizeof(lat_le[0]))

struct site_stats {
	char name[256];		/* "" for handshakes that matched no site */
	uint64_t by_reason[REASON_N_FAILURES];
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
		for (i = 0; i < N_LE && s > lat_le[i]; i++)
			;
		lat_buckets[i]++;
		lat_count++;
		lat_sum += s;
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
	pthread_mutex_unlock(&metrics_lock);
}

static void render_datapath(FILE *f)
{
	struct counter sum[CNT_MAX];

	fprintf(f, "# HELP aopgate_datapath_up Whether the gate's maps are open.\n"
		"# TYPE aopgate_datapath_up gauge\naopgate_datapath_up %d\n", gateio_ready());
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
	fprintf(f, "# HELP aopgate_reloads_total Reloads, by result.\n"
		"# TYPE aopgate_reloads_total counter\n"
		"aopgate_reloads_total{result=\"ok\"} %llu\n"
		"aopgate_reloads_total{result=\"fail\"} %llu\n",
		(unsigned long long)ld(&reloads_ok), (unsigned long long)ld(&reloads_fail));
	render_datapath(f);
	return fclose(f) == 0 ? 0 : -1;
}

/* One request per connection, answered in full; a slow client times out. */
static void serve_one(int fd)
{
	struct timeval tv = { .tv_sec = 2 };
	char req[1024], head[256];
	char *body = NULL;
	size_t blen = 0;
	ssize_t n;
	int hl;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = recv(fd, req, sizeof(req) - 1, 0);
	if (n <= 0)
		return;
	req[n] = '\0';
	if (strncmp(req, "GET /metrics ", 13) != 0 && strncmp(req, "GET /metrics?", 13) != 0) {
		static const char nf[] = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";

		if (send(fd, nf, sizeof(nf) - 1, MSG_NOSIGNAL) < 0)
			return;
		return;
	}
	if (metrics_render(&body, &blen) < 0)
		return;
	hl = snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\n"
		      "Content-Type: text/plain; version=0.0.4\r\n"
		      "Content-Length: %zu\r\nConnection: close\r\n\r\n", blen);
	if (send(fd, head, hl, MSG_NOSIGNAL | MSG_MORE) == hl)
		for (size_t off = 0; off < blen; off += n)
			if ((n = send(fd, body + off, blen - off, MSG_NOSIGNAL)) <= 0)
				break;
	free(body);
}

static void *metrics_thread(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			log_error("event=metrics error=\"accept: %s\"", strerror(errno));
			return NULL;
		}
		serve_one(fd);
		close(fd);
	}
}

int metrics_serve(const struct config_addr *addr)
{
	int one = 1, fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pthread_t th;

	if (fd < 0)
		goto err;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 || listen(fd, 64) < 0)
		goto err;
	if (pthread_create(&th, NULL, metrics_thread, (void *)(intptr_t)fd) != 0)
		goto err;
	pthread_detach(th);
	return 0;
err:
	log_error("event=metrics error=\"cannot serve: %s\"", strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}
