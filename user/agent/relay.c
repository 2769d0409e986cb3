// SPDX-License-Identifier: GPL-2.0-only
/* The byte relay; see relay.h. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>

#include "relay.h"

void relay_init(struct relay *r, int cfd, SSL *cssl)
{
	r->c = (struct relay_end){ .fd = cfd, .ssl = cssl };
	r->u = (struct relay_end){ .fd = -1 };
	r->cu.off = r->cu.len = 0;
	r->uc.off = r->uc.len = 0;
	r->u_ready = false;
	r->in = r->out = 0;
}

int relay_queue(struct relay *r, const void *data, size_t n)
{
	if (r->cu.len || n > sizeof(r->cu.data))
		return -1;
	memcpy(r->cu.data, data, n);
	r->cu.off = 0;
	r->cu.len = n;
	return 0;
}

void relay_edge(struct relay *r, int fd)
{
	struct relay_end *e = fd == r->c.fd ? &r->c : fd == r->u.fd ? &r->u : NULL;

	if (e)
		e->rd_wait = e->wr_wait = false;
}

enum { IO_AGAIN = -1, IO_ERR = -2, DST_ERR = -3 };

/* Maps an SSL result: wait (the edge will come), EOF, or a failure. */
static ssize_t ssl_result(struct relay_end *e, int rc)
{
	switch (SSL_get_error(e->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return IO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		e->err = errno ? errno : ECONNRESET;
		return IO_ERR;
	default:
		e->err = -1;
		return IO_ERR;
	}
}

/* A plain socket call's result: bytes, IO_AGAIN, or IO_ERR with e->err set. */
static ssize_t sock_result(struct relay_end *e, ssize_t rc)
{
	if (rc >= 0)
		return rc;
	if (errno == EAGAIN || errno == EINTR)
		return IO_AGAIN;
	e->err = errno;
	return IO_ERR;
}

static ssize_t end_read(struct relay_end *e, void *buf, size_t n)
{
	ssize_t rc;

	if (e->ssl) {
		ERR_clear_error();
		rc = SSL_read(e->ssl, buf, n);
		rc = rc > 0 ? rc : ssl_result(e, rc);
	} else {
		rc = sock_result(e, recv(e->fd, buf, n, 0));
	}
	/* SSL_read says "not now" only once its socket did (read-ahead or not). */
	e->rd_wait = rc == IO_AGAIN;
	return rc;
}

static ssize_t end_write(struct relay_end *e, const void *buf, size_t n)
{
	ssize_t rc;

	if (e->ssl) {
		ERR_clear_error();
		rc = SSL_write(e->ssl, buf, n);
		if (rc <= 0) {
			rc = ssl_result(e, rc);
			if (rc == 0)
				rc = IO_ERR;	/* close_notify while writing */
		}
	} else {
		rc = sock_result(e, send(e->fd, buf, n, MSG_NOSIGNAL));
	}
	e->wr_wait = rc == IO_AGAIN;
	return rc;
}

/*
 * Our EOF towards e: TLS close_notify first (it may need to wait for the
 * socket), then the TCP half-close. Reading from e goes on afterwards.
 */
static ssize_t end_shutdown(struct relay_end *e)
{
	if (e->ssl) {
		int rc;

		ERR_clear_error();
		rc = SSL_shutdown(e->ssl);
		if (rc < 0) {
			rc = ssl_result(e, rc);
			if (rc == IO_AGAIN)
				return IO_AGAIN;
		}
	}
	shutdown(e->fd, SHUT_WR);
	e->wr_shut = true;
	return 0;
}

/*
 * One direction: src -> b -> dst. Returns 1 on progress, 0 without,
 * IO_ERR when src failed and DST_ERR when dst did. Moving unsent bytes is
 * safe for a pending SSL_write: the contexts set
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER.
 */
static int move(struct relay_end *src, struct relay_buf *b, struct relay_end *dst,
		bool dst_ready, uint64_t *count)
{
	int progress = 0;
	ssize_t n;

	/* Compacting lets a half-drained buffer read again. */
	if (b->off && b->off + b->len == sizeof(b->data)) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	if (!src->rd_eof && !src->rd_wait && b->off + b->len < sizeof(b->data)) {
		n = end_read(src, b->data + b->off + b->len, sizeof(b->data) - b->off - b->len);
		if (n > 0) {
			b->len += n;
			progress = 1;
		} else if (n == 0) {
			src->rd_eof = true;
			progress = 1;
		} else if (n == IO_ERR) {
			return IO_ERR;
		}
	}
	if (!dst_ready)
		return progress;
	if (b->len && !dst->wr_wait) {
		n = end_write(dst, b->data + b->off, b->len);
		if (n > 0) {
			b->off += n;
			b->len -= n;
			*count += n;
			progress = 1;
		} else if (n == IO_ERR) {
			return DST_ERR;
		}
	}
	if (b->len == 0) {
		b->off = 0;
		if (src->rd_eof && !dst->wr_shut) {
			if (end_shutdown(dst) == 0)
				progress = 1;
		}
	}
	return progress;
}

enum relay_status relay_pump(struct relay *r)
{
	int a, b;

	do {
		a = move(&r->c, &r->cu, &r->u, r->u_ready, &r->in);
		if (a == IO_ERR)
			return RELAY_ERR_CLIENT;
		if (a == DST_ERR)
			return RELAY_ERR_UPSTREAM;
		b = 0;
		if (r->u_ready) {
			b = move(&r->u, &r->uc, &r->c, true, &r->out);
			if (b == IO_ERR)
				return RELAY_ERR_UPSTREAM;
			if (b == DST_ERR)
				return RELAY_ERR_CLIENT;
		}
	} while (a > 0 || b > 0);
	if (r->c.wr_shut && r->u.wr_shut && r->c.rd_eof && r->u.rd_eof)
		return RELAY_DONE;
	return RELAY_AGAIN;
}
