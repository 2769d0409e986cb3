/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What conn.c (accept, handshake, decision, close) and connup.c (the
 * upstream and the relay) share about a connection. Private to the two.
 */
#ifndef AOPGATE_CONNINT_H
#define AOPGATE_CONNINT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include "aopgate.h"
#include "config.h"
#include "conn.h"
#include "policy.h"
#include "reason.h"
#include "relay.h"

enum conn_state {
	CONN_HANDSHAKE,
	CONN_CONNECTING,	/* verified; upstream TCP connect under way */
	CONN_UPSTREAM_TLS,	/* upstream TLS handshake under way */
	CONN_RELAY,
	CONN_DRAINING,		/* refused: reading until the client has our alert */
	CONN_CLOSED,
};

/*
 * How long a refused client's socket stays open after our alert and FIN,
 * its input read and discarded: closing at once would answer the request
 * it sends right after its side of the handshake with a reset, which can
 * beat the alert and hide why it was refused (nginx's lingering close).
 */
#define DRAIN_NS 1000000000ull
#define DRAIN_MAX_BYTES (64 * 1024)

struct conn {
	struct conn_handle ch, uh;
	int epfd;
	enum conn_state state;
	struct runtime *rt;		/* a reference, dropped at free */
	const struct config_site *site;	/* in rt->cfg */
	const struct config_upstream *up;	/* the site's, by ALPN */
	SSL *ssl, *ussl;
	struct sockaddr_storage peer, local;
	char src[64];			/* "ip:port" for the log */
	char conn_id[25];		/* log's conn=, PROXY v2 UNIQUE_ID */
	struct flow_key key;
	bool keyed, admitted;	/* admitted: in verified */
	bool counted;			/* the handshake outcome is in the metrics */
	bool hs_held;			/* counted in its prefix's handshakes (hslimit) */
	struct policy_record rec;
	struct policy_ident id;
	struct policy_result res;
	uint64_t t_accept, deadline, last_io;
	struct relay relay;
};

/* The one close path: logs, counts, judges a failure, unpins. */
void conn_close(struct conn *c, enum reason r, uint64_t now);
/* Adds one of the connection's sockets to its epoll set. 0, or -1. */
int conn_watch(struct conn *c, struct conn_handle *h);

/* connup.c */
/* The site's upstream for this connection: upstream_h2 for h2 when set. */
const struct config_upstream *conn_upstream_for(const struct conn *c);
/* Queues the PROXY header for a plain upstream (a tls:// one sends it at connect). */
void conn_send_header(struct conn *c);
/* Connects to c->up; the relay starts once connected (and its TLS is up). */
void conn_upstream_start(struct conn *c, uint64_t now);
void conn_upstream_connected(struct conn *c, uint64_t now);
void conn_upstream_tls_step(struct conn *c, uint64_t now);
/* Closes the connection as upstream_error with what as its detail. */
void conn_upstream_fail(struct conn *c, const char *what, uint64_t now);
/* Relays what both sides have; closes the connection when the relay ends. */
void conn_pump(struct conn *c, uint64_t now);

#endif
