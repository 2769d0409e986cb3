/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The byte relay between a client end and an upstream end, each a
 * non-blocking socket with or without TLS. One bounded buffer per
 * direction gives backpressure (a full buffer stops reading its source),
 * and an EOF is passed on as a half-close once its buffer drained. The
 * ends are meant for edge-triggered epoll: relay_pump does everything
 * that can be done now, so any edge on either socket may call it.
 */
#ifndef AOPGATE_RELAY_H
#define AOPGATE_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#define RELAY_BUF (16 * 1024)

struct relay_end {
	int fd;
	SSL *ssl;		/* NULL: plain TCP */
	bool rd_eof;		/* no more bytes will come from this end */
	bool wr_shut;		/* we sent our EOF to this end */
	int err;		/* errno of a failed op, or -1 for a TLS error */
	/*
	 * The socket said "not now" to a read (rd_wait) or a write (wr_wait):
	 * trying again before its next epoll edge would be a system call that
	 * fails the same way (relay_edge clears both).
	 */
	bool rd_wait, wr_wait;
};

struct relay_buf {
	size_t off, len;
	unsigned char data[RELAY_BUF];
};

struct relay {
	struct relay_end c, u;	/* client, upstream */
	struct relay_buf cu, uc;	/* client->upstream, upstream->client */
	bool u_ready;		/* upstream connected (and its TLS done) */
	uint64_t in, out;	/* bytes delivered to upstream / to client */
};

enum relay_status {
	RELAY_AGAIN,		/* waiting for events */
	RELAY_DONE,		/* both directions closed cleanly */
	RELAY_ERR_CLIENT,	/* the client end failed (reset, TLS error) */
	RELAY_ERR_UPSTREAM,
};

/* relay_init(r, cfd, cssl): a relay whose upstream is not connected yet. */
void relay_init(struct relay *r, int cfd, SSL *cssl);

/*
 * relay_queue(r, data, n): puts n bytes (the PROXY header) ahead of any
 * client data. Returns 0, or -1 if the buffer already holds data or n
 * does not fit.
 */
int relay_queue(struct relay *r, const void *data, size_t n);

/*
 * relay_edge(r, fd): an epoll edge on fd (either end's socket). Call it for
 * every edge, before relay_pump: an end that said "not now" is tried
 * again only after an edge of its own.
 */
void relay_edge(struct relay *r, int fd);

/*
 * relay_pump(r): moves bytes both ways until nothing more can move now.
 * Until u_ready only the client is read (into the bounded buffer).
 * Returns the status; bytes moved are added to r->in / r->out.
 */
enum relay_status relay_pump(struct relay *r);

#endif
