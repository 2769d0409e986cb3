// SPDX-License-Identifier: GPL-2.0-only
/*
 * The origin app behind every proxy the benchmarks compare: plain HTTP/1.1
 * with keep-alive, where "GET /N" is answered with N bytes. A huge N
 * streams until the client goes away (the bulk test); a small N is the
 * small request of the latency test. One thread per connection: the
 * benchmarks open at most a few hundred at once, and this process's CPU
 * is not part of any figure.
 *
 * Usage: upstream -l ADDR:PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/tcp.h>
#include <unistd.h>

#define CHUNK	(64 * 1024)

static char zeros[CHUNK];

static int send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

/* Serves requests on one connection until the client closes it. */
static void *conn_main(void *arg)
{
	int fd = (int)(long)arg;
	char buf[4096];
	size_t have = 0;

	for (;;) {
		char *end = memmem(buf, have, "\r\n\r\n", 4), hdr[128];
		unsigned long long n;
		size_t used;
		ssize_t r;
		int hl;

		if (!end) {
			if (have == sizeof(buf))
				break;	/* a header this long is no request of ours */
			r = recv(fd, buf + have, sizeof(buf) - have, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			have += r;
			continue;
		}
		used = end + 4 - buf;
		if (strncmp(buf, "GET /", 5) || sscanf(buf + 5, "%llu", &n) != 1)
			n = 0;
		hl = snprintf(hdr, sizeof(hdr),
			      "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\n\r\n", n);
		if (send_all(fd, hdr, hl))
			break;
		while (n) {
			size_t k = n < CHUNK ? n : CHUNK;

			if (send_all(fd, zeros, k))
				goto out;
			n -= k;
		}
		memmove(buf, buf + used, have - used);
		have -= used;
	}
out:
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
	char host[256], *colon;
	int lfd, one = 1, opt;
	const char *listen_at = NULL;

	while ((opt = getopt(argc, argv, "l:")) != -1) {
		if (opt != 'l') {
			fprintf(stderr, "usage: upstream -l ADDR:PORT\n");
			return 2;
		}
		listen_at = optarg;
	}
	if (!listen_at || strlen(listen_at) >= sizeof(host)) {
		fprintf(stderr, "usage: upstream -l ADDR:PORT\n");
		return 2;
	}
	strcpy(host, listen_at);
	colon = strrchr(host, ':');
	if (!colon)
		return 2;
	*colon = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai)) {
		fprintf(stderr, "upstream: cannot resolve %s\n", listen_at);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(zeros, 'x', sizeof(zeros));
	lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, ai->ai_addr, ai->ai_addrlen) || listen(lfd, 4096)) {
		perror("upstream: bind/listen");
		return 1;
	}
	freeaddrinfo(ai);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_attr_t a;
		pthread_t t;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			perror("upstream: accept");
			return 1;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&a, 128 * 1024);
		if (pthread_create(&t, &a, conn_main, (void *)(long)fd))
			close(fd);
		pthread_attr_destroy(&a);
	}
}
