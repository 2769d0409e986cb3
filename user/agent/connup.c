// SPDX-License-Identifier: GPL-2.0-only
/*
 * A connection's upstream side (the TCP connect, a tls:// upstream's
 * handshake, the PROXY header) and the relay that follows; see connint.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include "conn.h"
#include "connint.h"
#include "log.h"
#include "metrics.h"
#include "proxyproto.h"
#include "tls.h"

/*
 * The site's PROXY header for this connection into buf: its length, 0 when
 * the site sends none, -1 when it does not fit.
 */
static int header_build(struct conn *c, uint8_t *buf, size_t len)
{
	const struct config_site *s = c->site;
	struct proxyproto_info in = {
		.src = (struct sockaddr *)&c->peer,
		.dst = (struct sockaddr *)&c->local,
		.ssl = true,
	};
	const unsigned char *alpn;
	unsigned int alpn_len = 0;

	if (s->proxy_protocol == CONFIG_PP_V1) {
		return proxyproto_v1((char *)buf, len, in.src, in.dst);
	} else if (s->proxy_protocol == CONFIG_PP_V2) {
		SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
		in.alpn = alpn;
		in.alpn_len = alpn_len;
		in.authority = tls_sni(c->ssl);
		in.unique_id = c->conn_id;
		in.client = PP2_CLIENT_SSL;
		if (c->id.has_cert)
			in.client |= SSL_session_reused(c->ssl) ? PP2_CLIENT_CERT_SESS
								 : PP2_CLIENT_CERT_CONN;
		/* 0 only for a presented, verified certificate (spec 2.2.5). */
		in.verify = c->id.has_cert && c->res.reason == REASON_OK ? 0
			    : c->res.x509_err ? (uint32_t)c->res.x509_err : 1;
		in.version = SSL_get_version(c->ssl);
		in.cn = c->id.cn[0] ? c->id.cn : NULL;
		in.cipher = SSL_get_cipher_name(c->ssl);
		in.sha256 = c->id.has_cert ? c->id.sha256 : NULL;
		return proxyproto_v2(buf, len, &in);
	}
	return 0;
}

/* A plain upstream: the header goes ahead of the client's bytes. */
void conn_send_header(struct conn *c)
{
	uint8_t buf[1024];
	int n;

	if (c->up->tls)
		return;		/* upstream_connected sends it before TLS */
	n = header_build(c, buf, sizeof(buf));
	if (n < 0 || (n > 0 && relay_queue(&c->relay, buf, n) < 0))
		log_error("event=proxy_header site=%s src=%s error=\"does not fit\"",
			  c->site->name, c->src);
}

/* A client that negotiated h2 goes to upstream_h2 (h2 is offered only then). */
const struct config_upstream *conn_upstream_for(const struct conn *c)
{
	const unsigned char *alpn;
	unsigned int len = 0;

	SSL_get0_alpn_selected(c->ssl, &alpn, &len);
	if (c->site->upstream_h2.host && len == 2 && !memcmp(alpn, "h2", 2))
		return &c->site->upstream_h2;
	return &c->site->upstream;
}

void conn_upstream_fail(struct conn *c, const char *what, uint64_t now)
{
	snprintf(c->res.detail, sizeof(c->res.detail), "%.150s", what);
	conn_close(c, REASON_UPSTREAM_ERROR, now);
}

void conn_upstream_start(struct conn *c, uint64_t now)
{
	const struct config_addr *ua = &c->up->addr;
	int one = 1;
	int fd = socket(ua->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		conn_upstream_fail(c, strerror(errno), now);
		return;
	}
	c->uh.fd = fd;
	c->relay.u.fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&ua->ss, ua->len) < 0 && errno != EINPROGRESS) {
		conn_upstream_fail(c, strerror(errno), now);
		return;
	}
	c->state = CONN_CONNECTING;
	if (conn_watch(c, &c->uh) < 0) {
		conn_upstream_fail(c, strerror(errno), now);
		return;
	}
	conn_pump(c, now);	/* client bytes already decrypted may be buffered now */
}

void conn_upstream_tls_step(struct conn *c, uint64_t now)
{
	char errs[200], what[240];
	int rc;

	ERR_clear_error();
	rc = SSL_do_handshake(c->ussl);
	if (rc == 1) {
		c->relay.u.ssl = c->ussl;
		c->relay.u_ready = true;
		c->state = CONN_RELAY;
		c->deadline = 0;
		conn_pump(c, now);
		return;
	}
	rc = SSL_get_error(c->ussl, rc);
	if (rc == SSL_ERROR_WANT_READ || rc == SSL_ERROR_WANT_WRITE)
		return;
	log_ssl_errors(errs, sizeof(errs));
	snprintf(what, sizeof(what), "upstream TLS: %s", errs[0] ? errs : "handshake failed");
	conn_upstream_fail(c, what, now);
}

/*
 * A tls:// upstream: the header goes in clear before the ClientHello, where
 * nginx (listen ... ssl proxy_protocol), HAProxy (accept-proxy ssl) and
 * Apache (RemoteIPProxyProtocol) read it. Returns 0, or -1 with the
 * connection closed.
 */
static int send_header_clear(struct conn *c, uint64_t now)
{
	uint8_t buf[1024];
	int n = header_build(c, buf, sizeof(buf));
	ssize_t w;

	if (n == 0)
		return 0;
	if (n < 0) {
		conn_upstream_fail(c, "PROXY header does not fit", now);
		return -1;
	}
	/*
	 * A just-connected socket's send buffer takes the whole header at once;
	 * a short write would leave half a header in front of the ClientHello,
	 * which the origin reads as garbage, so it fails rather than retries.
	 */
	w = send(c->uh.fd, buf, n, MSG_NOSIGNAL);
	if (w != n) {
		conn_upstream_fail(c, w < 0 ? strerror(errno) : "PROXY header: short write", now);
		return -1;
	}
	c->relay.in += n;
	metrics_bytes(n, 0);
	return 0;
}

void conn_upstream_connected(struct conn *c, uint64_t now)
{
	int err = 0;
	socklen_t l = sizeof(err);

	if (getsockopt(c->uh.fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return;
	if (err) {
		conn_upstream_fail(c, strerror(err), now);
		return;
	}
	if (c->up->tls) {
		if (send_header_clear(c, now) < 0)
			return;
		c->ussl = tls_upstream_new(c->rt->tls, c->site->id, c->up, c->uh.fd);
		if (!c->ussl) {
			conn_upstream_fail(c, "cannot create the upstream TLS session", now);
			return;
		}
		c->state = CONN_UPSTREAM_TLS;
		conn_upstream_tls_step(c, now);
		return;
	}
	c->relay.u_ready = true;
	c->state = CONN_RELAY;
	c->deadline = 0;
	conn_pump(c, now);
}

/* The relay: moves what both sides have, and ends the connection when it ends. */
void conn_pump(struct conn *c, uint64_t now)
{
	uint64_t in = c->relay.in, out = c->relay.out;
	enum relay_status st = relay_pump(&c->relay);

	if (c->relay.in != in || c->relay.out != out) {
		metrics_bytes(c->relay.in - in, c->relay.out - out);
		c->last_io = now;
	}
	switch (st) {
	case RELAY_AGAIN:
		return;
	case RELAY_DONE:
		conn_close(c, REASON_DONE, now);
		return;
	case RELAY_ERR_CLIENT:
		snprintf(c->res.detail, sizeof(c->res.detail), "%s",
			 c->relay.c.err > 0 ? strerror(c->relay.c.err) : "TLS error");
		conn_close(c, REASON_CLIENT_RESET, now);
		return;
	case RELAY_ERR_UPSTREAM:
		conn_upstream_fail(c, c->relay.u.err > 0 ? strerror(c->relay.u.err) : "TLS error", now);
		return;
	}
}
