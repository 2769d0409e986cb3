// SPDX-License-Identifier: GPL-2.0-only
/* Event loops; see worker.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <unistd.h>

#include "conn.h"
#include "gatemap.h"
#include "log.h"
#include "metrics.h"
#include "privs.h"
#include "worker.h"

#define TICK_NS 200000000ull	/* deadlines are checked this often */

/* The worker's list node for one of its connections. */
struct wconn {
	TAILQ_ENTRY(wconn) link;
	struct conn *c;
};

TAILQ_HEAD(wconn_list, wconn);

struct worker {
	pthread_t th;
	int epfd;
	struct conn_handle wake;
	struct conn_handle *listen;
	struct wconn_list conns;
	unsigned int gen;
	bool listening;		/* listen fds are in this epoll set */
	uint64_t resume_ns;	/* out of fds: listen again from then on */
};

static struct worker *workers;
static int n_workers;
static const int *listen_fds;
static size_t n_listen;
static long max_conns;
static uint64_t drain_deadline;	/* 0: running */

void worker_set_max(long m)
{
	__atomic_store_n(&max_conns, m, __ATOMIC_RELAXED);
}

static int listen_set(struct worker *w, bool on)
{
	int rc = 0;

	for (size_t i = 0; i < n_listen && on != w->listening; i++) {
		struct epoll_event e = { .events = EPOLLIN | EPOLLEXCLUSIVE,
					 .data.ptr = &w->listen[i] };

		if (epoll_ctl(w->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, listen_fds[i],
			      on ? &e : NULL) < 0)
			rc = -1;
	}
	w->listening = on;
	return rc;
}

static void accept_some(struct worker *w, int lfd, uint64_t now)
{
	/* Bounded, so one loop cannot starve its connections under a flood. */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer = { 0 };
		socklen_t pl = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct runtime *rt;
		struct wconn *wc;

		if (fd < 0) {
			/*
			 * Out of descriptors the listening socket stays readable:
			 * leave it alone for a moment rather than spin on it.
			 */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_warn("event=accept error=\"%s\" note=\"pausing accepts 100ms\"",
					 strerror(errno));
				listen_set(w, false);
				w->resume_ns = now + 100000000ull;
			} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				log_warn("event=accept error=\"%s\"", strerror(errno));
			}
			return;
		}
		if (conn_active() >= __atomic_load_n(&max_conns, __ATOMIC_RELAXED)) {
			metrics_close(REASON_OVERLOAD);
			close(fd);
			continue;
		}
		wc = malloc(sizeof(*wc));
		rt = wc ? runtime_get() : NULL;
		if (!rt) {
			close(fd);
			free(wc);
			continue;
		}
		/* On failure conn_new has closed fd and dropped rt. */
		wc->c = conn_new(w->epfd, fd, &peer, rt, now);
		if (wc->c)
			TAILQ_INSERT_HEAD(&w->conns, wc, link);
		else
			free(wc);
	}
}

/* Frees what the batch closed; handles stay valid until the batch ends. */
static size_t reap(struct worker *w)
{
	size_t live = 0;

	struct wconn *wc, *next;

	for (wc = TAILQ_FIRST(&w->conns); wc; wc = next) {
		next = TAILQ_NEXT(wc, link);
		if (!conn_closed(wc->c)) {
			live++;
			continue;
		}
		TAILQ_REMOVE(&w->conns, wc, link);
		conn_free(wc->c);
		free(wc);
	}
	return live;
}

static void recheck_all(struct worker *w)
{
	unsigned int gen = runtime_generation();
	struct runtime *rt;
	struct wconn *wc;

	if (gen == w->gen)
		return;
	w->gen = gen;
	rt = runtime_get();
	if (!rt)
		return;
	TAILQ_FOREACH(wc, &w->conns, link)
		conn_recheck(wc->c, rt);
	runtime_put(rt);
}

static void *worker_loop(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[128];
	uint64_t last_tick = 0, drain;
	size_t live = 0;

	/* The code that reads TLS clients' bytes holds no privilege at all. */
	if (privs_drop_thread() < 0)
		log_warn("event=start note=\"a worker keeps its capabilities\" error=\"%s\"",
			 strerror(errno));
	w->gen = runtime_generation();
	for (;;) {
		int n = epoll_wait(w->epfd, ev, 128, TICK_NS / 1000000);
		uint64_t now = gatemap_now_ns();

		for (int i = 0; i < n; i++) {
			struct conn_handle *h = ev[i].data.ptr;
			uint64_t v;

			switch (h->kind) {
			case CONN_K_LISTEN:
				if (w->listening)
					accept_some(w, h->fd, now);
				break;
			case CONN_K_WAKE:
				if (read(h->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					log_warn("event=wake error=\"%s\"", strerror(errno));
				break;
			default:
				if (!conn_closed(h->c))
					conn_event(h->c, h->kind, ev[i].events, now);
			}
		}
		recheck_all(w);
		drain = __atomic_load_n(&drain_deadline, __ATOMIC_ACQUIRE);
		if (drain) {
			listen_set(w, false);
			w->resume_ns = 0;
		} else if (w->resume_ns && now >= w->resume_ns) {
			listen_set(w, true);
			w->resume_ns = 0;
		}
		if (now - last_tick >= TICK_NS || drain) {
			last_tick = now;
			struct wconn *wc;

			TAILQ_FOREACH(wc, &w->conns, link)
				conn_tick(wc->c, now, drain);
		}
		live = reap(w);
		if (drain && live == 0)
			return NULL;
	}
}

static int worker_init(struct worker *w)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = &w->wake };

	TAILQ_INIT(&w->conns);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->wake = (struct conn_handle){ CONN_K_WAKE, NULL,
					eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
	w->listen = calloc(n_listen, sizeof(*w->listen));
	if (w->epfd < 0 || w->wake.fd < 0 || !w->listen ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake.fd, &e) < 0)
		return -1;
	for (size_t i = 0; i < n_listen; i++)
		w->listen[i] = (struct conn_handle){ CONN_K_LISTEN, NULL, listen_fds[i] };
	return listen_set(w, true);
}

int worker_start(int n, const int *lfds, size_t nl, long max)
{
	listen_fds = lfds;
	n_listen = nl;
	worker_set_max(max);
	workers = calloc(n, sizeof(*workers));
	if (!workers)
		return -1;
	for (int i = 0; i < n; i++) {
		if (worker_init(&workers[i]) < 0 ||
		    pthread_create(&workers[i].th, NULL, worker_loop, &workers[i]) != 0) {
			log_error("event=start error=\"worker %d: %s\"", i, strerror(errno));
			return -1;
		}
		pthread_setname_np(workers[i].th, "aopgated-work");
		n_workers++;
	}
	return 0;
}

void worker_notify(void)
{
	uint64_t one = 1;

	for (int i = 0; i < n_workers; i++)
		if (write(workers[i].wake.fd, &one, sizeof(one)) < 0)
			log_warn("event=wake error=\"%s\"", strerror(errno));
}

void worker_drain(uint64_t deadline_ns)
{
	__atomic_store_n(&drain_deadline, deadline_ns ? deadline_ns : 1, __ATOMIC_RELEASE);
	worker_notify();
}

void worker_join(void)
{
	for (int i = 0; i < n_workers; i++) {
		pthread_join(workers[i].th, NULL);
		close(workers[i].epfd);
		close(workers[i].wake.fd);
		free(workers[i].listen);
	}
	free(workers);
	workers = NULL;
	n_workers = 0;
}
