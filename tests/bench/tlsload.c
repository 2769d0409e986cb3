// SPDX-License-Identifier: GPL-2.0-only
/*
 * The benchmarks' load client, written with OpenSSL because no packaged
 * load generator presents a client certificate, resumes TLS 1.3 sessions
 * on demand and classifies refusals. It speaks just enough HTTP/1.1 to
 * talk to tests/bench/upstream.c through a TCP relay (aopgated, nginx
 * stream, HAProxy mode tcp) or to nginx http itself: "GET /N" with N the
 * response size, responses read by Content-Length.
 *
 *   conn  one connection per request: connect, handshake, GET, close
 *         (full or resumed handshakes; refused strangers; the siege)
 *   rr    kept-alive connections, small requests back to back (latency)
 *   bulk  one huge response per connection, read for -t seconds (MB/s)
 *
 * One thread per parallel connection, blocking sockets with deadlines.
 * Prints one JSON object: outcome counts, latency percentiles, bytes, the
 * wall time and this process's own CPU time. It never judges the figures.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_SRC	64

enum outcome {
	O_OK,
	O_HTTP_ERROR,		/* a response other than 200 */
	O_TLS_ERROR,		/* the handshake or a read failed with TLS */
	O_CLOSED,		/* the server closed without a response */
	O_CONNECT_TIMEOUT,	/* no SYN-ACK before the deadline */
	O_CONNECT_ERROR,	/* refused, unreachable */
	O_DEADLINE,		/* connected, but too slow afterwards */
	O_IO_ERROR,
	N_OUTCOMES
};

static const char *const outcome_name[N_OUTCOMES] = {
	"ok", "http_error", "tls_error", "closed", "connect_timeout",
	"connect_error", "deadline", "io_error",
};

enum mode { M_CONN, M_RR, M_BULK };

static struct {
	enum mode mode;
	struct sockaddr_storage dst;
	socklen_t dst_len;
	struct sockaddr_storage src[MAX_SRC];
	int n_src;
	long requests;
	double seconds;
	int parallel;
	double rate;
	int deadline_ms;
	int resume, plain, tls12;
	const char *sni;
	unsigned long long size;
	SSL_CTX *ctx;
} opt = {
	.requests = 100, .seconds = 10, .parallel = 1, .deadline_ms = 3000,
	.sni = "origin.bench",
};

static atomic_long started, src_next;
static double t_start, t_stop;
static pthread_barrier_t ready;

struct worker {
	pthread_t tid;
	long count[N_OUTCOMES];
	long resumed;
	unsigned long long bytes;
	float *lat;		/* microseconds per successful request */
	size_t n_lat, cap_lat;
	SSL_SESSION *sess;
};

struct conn {
	int fd;
	SSL *ssl;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void lat_add(struct worker *w, double us)
{
	if (w->n_lat == w->cap_lat) {
		size_t cap = w->cap_lat ? 2 * w->cap_lat : 4096;
		float *n = realloc(w->lat, cap * sizeof(*n));

		if (!n)
			return;
		w->lat = n;
		w->cap_lat = cap;
	}
	w->lat[w->n_lat++] = us;
}

static void set_timeout(int fd, double until)
{
	double left = until - now_s();
	struct timeval tv;

	if (left < 0.001)
		left = 0.001;
	tv.tv_sec = (time_t)left;
	tv.tv_usec = (suseconds_t)((left - tv.tv_sec) * 1e6);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * Closes with a close_notify when the exchange went well. Freeing an SSL
 * without a shutdown would also mark its session not resumable.
 */
static void conn_close(struct conn *c, enum outcome o)
{
	if (c->ssl) {
		if (o != O_OK)
			SSL_set_quiet_shutdown(c->ssl, 1);
		ERR_clear_error();
		SSL_shutdown(c->ssl);
		ERR_clear_error();
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Connects (and handshakes) before until; O_OK or why not. */
static enum outcome conn_open(struct worker *w, struct conn *c, double until)
{
	struct pollfd pfd;
	int one = 1, err = 0, r;
	socklen_t el = sizeof(err);

	c->ssl = NULL;
	c->fd = socket(opt.dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return O_IO_ERROR;
	if (opt.n_src) {
		long i = atomic_fetch_add(&src_next, 1) % opt.n_src;

		if (bind(c->fd, (struct sockaddr *)&opt.src[i],
			 opt.src[i].ss_family == AF_INET ? sizeof(struct sockaddr_in)
							 : sizeof(struct sockaddr_in6)))
			return O_CONNECT_ERROR;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&opt.dst, opt.dst_len) && errno != EINPROGRESS)
		return O_CONNECT_ERROR;
	pfd.fd = c->fd;
	pfd.events = POLLOUT;
	do {
		int ms = (int)((until - now_s()) * 1000);

		r = poll(&pfd, 1, ms > 0 ? ms : 0);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return O_CONNECT_TIMEOUT;
	if (r < 0 || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) || err)
		return O_CONNECT_ERROR;
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
	set_timeout(c->fd, until);
	if (opt.plain)
		return O_OK;

	c->ssl = SSL_new(opt.ctx);
	if (!c->ssl)
		return O_IO_ERROR;
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, opt.sni);
	if (w->sess)
		SSL_set_session(c->ssl, w->sess);
	ERR_clear_error();
	if (SSL_connect(c->ssl) != 1) {
		ERR_clear_error();
		return errno == EAGAIN ? O_DEADLINE : O_TLS_ERROR;
	}
	if (SSL_session_reused(c->ssl))
		w->resumed++;
	return O_OK;
}

static ssize_t io_read(struct conn *c, void *buf, size_t n)
{
	if (!c->ssl)
		return recv(c->fd, buf, n, 0);
	ERR_clear_error();
	{
		int r = SSL_read(c->ssl, buf, (int)n);

		if (r > 0)
			return r;
		if (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (SSL_get_error(c->ssl, r) == SSL_ERROR_SSL) {
			ERR_clear_error();
			errno = EPROTO;
		}
		return -1;
	}
}

static int io_write(struct conn *c, const void *buf, size_t n)
{
	if (!c->ssl)
		return send(c->fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
	ERR_clear_error();
	if (SSL_write(c->ssl, buf, (int)n) == (int)n)
		return 0;
	if (SSL_get_error(c->ssl, -1) == SSL_ERROR_SSL)
		errno = EPROTO;
	ERR_clear_error();
	return -1;
}

static enum outcome read_failure(ssize_t r)
{
	if (r == 0)
		return O_CLOSED;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return O_DEADLINE;
	if (errno == EPROTO)
		return O_TLS_ERROR;
	if (errno == ECONNRESET)
		return O_CLOSED;
	return O_IO_ERROR;
}

/*
 * GET /size, then the response. body_until > 0: stop reading the body at
 * that time (bulk); the bytes read are added to w->bytes.
 */
static enum outcome request(struct worker *w, struct conn *c, unsigned long long size,
			    double body_until)
{
	char buf[65536], req[128];
	size_t have = 0;
	unsigned long long clen = 0, got;
	char *end;
	int status = 0, n;

	n = snprintf(req, sizeof(req), "GET /%llu HTTP/1.1\r\nHost: %s\r\n\r\n", size, opt.sni);
	if (io_write(c, req, n))
		return errno == EAGAIN ? O_DEADLINE : errno == EPROTO ? O_TLS_ERROR : O_CLOSED;
	for (;;) {
		ssize_t r = io_read(c, buf + have, sizeof(buf) - 1 - have);

		if (r <= 0)
			return read_failure(r);
		have += r;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
		if (have == sizeof(buf) - 1)
			return O_IO_ERROR;
	}
	sscanf(buf, "HTTP/1.%*d %d", &status);
	{
		char *cl = strcasestr(buf, "\r\nContent-Length:");

		if (cl)
			clen = strtoull(cl + 17, NULL, 10);
	}
	got = have - (end + 4 - buf);
	while (got < clen) {
		ssize_t r;

		if (body_until > 0 && now_s() >= body_until)
			break;
		r = io_read(c, buf, sizeof(buf));
		if (r <= 0) {
			w->bytes += got;
			return read_failure(r);
		}
		got += r;
	}
	w->bytes += got;
	return status == 200 ? O_OK : O_HTTP_ERROR;
}

static int more(void)
{
	if (now_s() >= t_stop)
		return 0;
	return atomic_fetch_add(&started, 1) < opt.requests;
}

/* conn: a new connection per request, optionally resuming the last session. */
static void run_conn(struct worker *w)
{
	double next = now_s();

	while (more()) {
		double t0, until;
		struct conn c;
		enum outcome o;

		if (opt.rate > 0) {
			double wait = next - now_s();

			if (wait > 0)
				usleep((useconds_t)(wait * 1e6));
			next += 1 / opt.rate;
		}
		t0 = now_s();
		until = t0 + opt.deadline_ms / 1000.0;
		o = conn_open(w, &c, until);
		if (o == O_OK)
			o = request(w, &c, opt.size, 0);
		if (o == O_OK) {
			lat_add(w, (now_s() - t0) * 1e6);
			if (opt.resume && c.ssl) {
				SSL_SESSION *s = SSL_get1_session(c.ssl);

				if (s && SSL_SESSION_is_resumable(s)) {
					SSL_SESSION_free(w->sess);
					w->sess = s;
				} else {
					SSL_SESSION_free(s);
				}
			}
		}
		w->count[o]++;
		conn_close(&c, o);
	}
}

/* rr: one kept-alive connection, small requests back to back. */
static void run_rr(struct worker *w)
{
	struct conn c;
	enum outcome o = conn_open(w, &c, now_s() + opt.deadline_ms / 1000.0);

	pthread_barrier_wait(&ready);
	if (o != O_OK) {
		w->count[o]++;
		conn_close(&c, o);
		return;
	}
	while (more()) {
		double t0 = now_s();

		set_timeout(c.fd, t0 + opt.deadline_ms / 1000.0);
		o = request(w, &c, opt.size, 0);
		w->count[o]++;
		if (o != O_OK)
			break;
		lat_add(w, (now_s() - t0) * 1e6);
	}
	conn_close(&c, o);
}

/* bulk: one huge response, read until the common window closes. */
static void run_bulk(struct worker *w)
{
	struct conn c;
	enum outcome o = conn_open(w, &c, now_s() + opt.deadline_ms / 1000.0);

	pthread_barrier_wait(&ready);
	if (o == O_OK) {
		set_timeout(c.fd, t_stop + opt.deadline_ms / 1000.0);
		o = request(w, &c, opt.size, t_stop);
		/* Cut short by the window, not by the server: that is success. */
		if (o == O_OK || now_s() >= t_stop)
			o = O_OK;
	}
	w->count[o]++;
	conn_close(&c, o);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	switch (opt.mode) {
	case M_CONN:
		run_conn(w);
		break;
	case M_RR:
		run_rr(w);
		break;
	case M_BULK:
		run_bulk(w);
		break;
	}
	return NULL;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len, int port_needed)
{
	char host[256], *port = NULL;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST }, *ai;

	if (strlen(s) >= sizeof(host))
		return -1;
	strcpy(host, s);
	if (port_needed) {
		port = strrchr(host, ':');
		if (!port)
			return -1;
		*port++ = '\0';
	}
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (host[n - 1] != ']')
			return -1;
		host[n - 1] = '\0';
		memmove(host, host + 1, n);
	}
	if (getaddrinfo(host, port ? port : "0", &hints, &ai))
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	if (len)
		*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: tlsload conn|rr|bulk -c ADDR:PORT [-n N] [-t SECONDS] [-P N] [-r RATE]\n"
		"               [-d MS] [-C CERT -K KEY] [-R] [-2] [-p] [-b SRC[,SRC...]]\n"
		"               [-s SNI] [-z BYTES]\n"
		"  conn  a connection per request (full or, with -R, resumed handshakes)\n"
		"  rr    -P kept-alive connections, requests back to back\n"
		"  bulk  -P connections each read one huge response for -t seconds\n"
		"  -n N        requests in all (conn, rr; default 100)\n"
		"  -t SECONDS  time limit, or bulk's window (default 10)\n"
		"  -P N        parallel connections, one thread each (default 1)\n"
		"  -r RATE     conn: requests per second per thread (default: back to back)\n"
		"  -d MS       deadline of one request (default 3000)\n"
		"  -C/-K       client certificate and key (default: none)\n"
		"  -R          conn: resume the last session after the first handshake\n"
		"  -2          TLS 1.2 (default 1.3)      -p  plain TCP, no TLS\n"
		"  -b SRC,...  source addresses, one per attempt in turn\n"
		"  -s SNI      server name (default origin.bench)\n"
		"  -z BYTES    response size (default 64; bulk: unbounded)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *dst = NULL;
	struct worker *w;
	struct rusage ru;
	long total[N_OUTCOMES] = { 0 }, resumed = 0;
	unsigned long long bytes = 0;
	size_t n_lat = 0;
	float *lat;
	double wall;
	int c;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "conn"))
		opt.mode = M_CONN;
	else if (!strcmp(argv[1], "rr"))
		opt.mode = M_RR;
	else if (!strcmp(argv[1], "bulk"))
		opt.mode = M_BULK;
	else
		usage();
	opt.size = opt.mode == M_BULK ? 1000000000000000ull : 64;
	optind = 2;
	while ((c = getopt(argc, argv, "c:n:t:P:r:d:C:K:R2pb:s:z:")) != -1) {
		switch (c) {
		case 'c': dst = optarg; break;
		case 'n': opt.requests = atol(optarg); break;
		case 't': opt.seconds = atof(optarg); break;
		case 'P': opt.parallel = atoi(optarg); break;
		case 'r': opt.rate = atof(optarg); break;
		case 'd': opt.deadline_ms = atoi(optarg); break;
		case 'C': cert = optarg; break;
		case 'K': key = optarg; break;
		case 'R': opt.resume = 1; break;
		case '2': opt.tls12 = 1; break;
		case 'p': opt.plain = 1; break;
		case 's': opt.sni = optarg; break;
		case 'z': opt.size = strtoull(optarg, NULL, 0); break;
		case 'b': {
			char *list = strdup(optarg), *save = NULL;

			for (char *s = strtok_r(list, ",", &save); s && opt.n_src < MAX_SRC;
			     s = strtok_r(NULL, ",", &save))
				if (parse_addr(s, &opt.src[opt.n_src++], NULL, 0))
					usage();
			free(list);
			break;
		}
		default: usage();
		}
	}
	if (!dst || parse_addr(dst, &opt.dst, &opt.dst_len, 1) || opt.parallel < 1 ||
	    opt.parallel > 4096 || (!cert != !key))
		usage();
	signal(SIGPIPE, SIG_IGN);

	if (!opt.plain) {
		opt.ctx = SSL_CTX_new(TLS_client_method());
		if (!opt.ctx)
			return 1;
		SSL_CTX_set_min_proto_version(opt.ctx, opt.tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
		SSL_CTX_set_max_proto_version(opt.ctx, opt.tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
		/* The origin's certificate is not checked: only its CPU is of interest. */
		SSL_CTX_set_verify(opt.ctx, SSL_VERIFY_NONE, NULL);
		if (!opt.resume)
			SSL_CTX_set_options(opt.ctx, SSL_OP_NO_TICKET);
		if (cert && (SSL_CTX_use_certificate_chain_file(opt.ctx, cert) != 1 ||
			     SSL_CTX_use_PrivateKey_file(opt.ctx, key, SSL_FILETYPE_PEM) != 1)) {
			fprintf(stderr, "tlsload: cannot load %s / %s\n", cert, key);
			ERR_print_errors_fp(stderr);
			return 1;
		}
	}

	w = calloc(opt.parallel, sizeof(*w));
	if (!w)
		return 1;
	pthread_barrier_init(&ready, NULL, opt.parallel + 1);
	t_start = now_s();
	t_stop = t_start + opt.seconds;
	for (int i = 0; i < opt.parallel; i++)
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]))
			return 1;
	if (opt.mode != M_CONN) {
		/* The window opens once every connection is up. */
		pthread_barrier_wait(&ready);
		t_start = now_s();
		t_stop = t_start + opt.seconds;
	}
	for (int i = 0; i < opt.parallel; i++) {
		pthread_join(w[i].tid, NULL);
		for (int o = 0; o < N_OUTCOMES; o++)
			total[o] += w[i].count[o];
		resumed += w[i].resumed;
		bytes += w[i].bytes;
		n_lat += w[i].n_lat;
	}
	wall = now_s() - t_start;
	getrusage(RUSAGE_SELF, &ru);

	lat = malloc((n_lat ? n_lat : 1) * sizeof(*lat));
	if (!lat)
		return 1;
	n_lat = 0;
	for (int i = 0; i < opt.parallel; i++) {
		memcpy(lat + n_lat, w[i].lat, w[i].n_lat * sizeof(*lat));
		n_lat += w[i].n_lat;
	}
	qsort(lat, n_lat, sizeof(*lat), cmp_float);

	printf("{\"mode\":\"%s\",\"parallel\":%d,\"attempts\":%ld", argv[1], opt.parallel,
	       total[O_OK] + total[O_HTTP_ERROR] + total[O_TLS_ERROR] + total[O_CLOSED] +
	       total[O_CONNECT_TIMEOUT] + total[O_CONNECT_ERROR] + total[O_DEADLINE] +
	       total[O_IO_ERROR]);
	for (int o = 0; o < N_OUTCOMES; o++)
		printf(",\"%s\":%ld", outcome_name[o], total[o]);
	printf(",\"resumed\":%ld,\"bytes\":%llu,\"wall_s\":%.6f,\"client_cpu_s\":%.6f",
	       resumed, bytes, wall,
	       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	printf(",\"lat_us\":{\"n\":%zu", n_lat);
	if (n_lat) {
		static const struct { const char *name; double q; } qs[] = {
			{ "p50", 0.50 }, { "p90", 0.90 }, { "p99", 0.99 }, { "max", 1.0 },
		};

		for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
			size_t k = (size_t)ceil(qs[i].q * n_lat);

			printf(",\"%s\":%.1f", qs[i].name, lat[k ? k - 1 : 0]);
		}
	}
	printf("}}\n");
	return 0;
}
