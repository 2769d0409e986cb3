/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One client connection through its life: TLS handshake under a deadline,
 * the policy decision, pinning the flow (or a strike for its source), the
 * upstream connect with its PROXY header or TLS, the relay, and a single
 * close path that logs one line with the reason, counts it and unpins.
 * Connections belong to one worker's edge-triggered epoll.
 */
#ifndef AOPGATE_CONN_H
#define AOPGATE_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "runtime.h"

enum conn_kind {
	CONN_K_CLIENT,
	CONN_K_UPSTREAM,
	CONN_K_LISTEN,		/* used by the worker for its own fds */
	CONN_K_WAKE,
};

/* What epoll's data.ptr points at: which fd of which connection. */
struct conn_handle {
	enum conn_kind kind;
	struct conn *c;
	int fd;
};

/* One connection; its insides are conn.c's. */
struct conn;

/*
 * conn_new(epfd, fd, peer, rt, now): takes over an accepted socket, with
 * the peer address accept4() gave, and a reference to rt, and registers
 * it. Returns NULL (fd closed, rt put) on failure.
 */
struct conn *conn_new(int epfd, int fd, const struct sockaddr_storage *peer,
		      struct runtime *rt, uint64_t now);

/* conn_event(c, kind, events, now): an epoll edge on one of c's fds. */
void conn_event(struct conn *c, enum conn_kind kind, uint32_t events, uint64_t now);

/*
 * conn_tick(c, now, drain_deadline): enforces the handshake, connect and
 * idle deadlines and, when drain_deadline is not 0 and has passed, closes.
 */
void conn_tick(struct conn *c, uint64_t now, uint64_t drain_deadline);

/*
 * conn_recheck(c, rt): after a reload, closes (and unpins) a relayed
 * connection whose certificate the new policy no longer admits.
 */
void conn_recheck(struct conn *c, struct runtime *rt);

/* conn_closed(c): whether c has closed (it is freed after its epoll batch). */
bool conn_closed(const struct conn *c);

/* conn_free(c): frees a closed connection (after its epoll batch). */
void conn_free(struct conn *c);

/* conn_active(): connections open in this process. */
long conn_active(void);

#endif
