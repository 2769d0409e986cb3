// SPDX-License-Identifier: GPL-2.0-only
/* One client connection; see conn.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "addr.h"
#include "certinfo.h"
#include "conn.h"
#include "connint.h"
#include "gatemap.h"
#include "log.h"
#include "metrics.h"
#include "gateio.h"
#include "hslimit.h"
#include "proxyproto.h"
#include "policy.h"
#include "relay.h"
#include "tls.h"

static long conn_count;

long conn_active(void)
{
	return __atomic_load_n(&conn_count, __ATOMIC_RELAXED);
}

static void drain(struct conn *c);
static void release(struct conn *c);

/*
 * A connection's id: a random number drawn once per process and a count,
 * so ids never repeat across restarts and cost no entropy per connection.
 */
static void make_conn_id(char *buf, size_t len)
{
	static uint64_t boot, seq;
	uint64_t b = __atomic_load_n(&boot, __ATOMIC_RELAXED);

	while (!b) {
		uint64_t r = 0;

		if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
			r = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
		r |= 1;
		__atomic_compare_exchange_n(&boot, &b, r, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
		b = __atomic_load_n(&boot, __ATOMIC_RELAXED);
	}
	snprintf(buf, len, "%016llx%08llx", (unsigned long long)b,
		 (unsigned long long)(__atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED) & 0xffffffff));
}

/* Edge-triggered for the whole life: relay_pump does all it can per edge. */
int conn_watch(struct conn *c, struct conn_handle *h)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = h,
	};

	return epoll_ctl(c->epfd, EPOLL_CTL_ADD, h->fd, &ev);
}

/*
 * The puller is never capped: a source in good standing, exempt or, as
 * judge_failure has it, inside the enforced allowlist (that is the CDN).
 */
static bool hs_spared(const uint8_t src[16], void *rt)
{
	const struct config *cfg = ((struct runtime *)rt)->cfg;

	return config_exempt(cfg, src) || gateio_in_standing(src) ||
	       (!cfg->agent.penalize_allowed && gateio_allowlisted(src));
}

/* A handshake over (done or refused) gives its prefix's slot back. */
static void hs_release(struct conn *c)
{
	if (c->hs_held)
		hslimit_put(c->key.saddr);
	c->hs_held = false;
}

/*
 * One log line a second at most for the refusals: a capped prefix is
 * refused at the rate it connects, and the log must not become the
 * attacker's amplifier. The count says how many the line stands for.
 */
static void log_hs_limit(const char *src, uint32_t max)
{
	static uint64_t last_ns, skipped;
	uint64_t now = gatemap_now_ns(), last = __atomic_load_n(&last_ns, __ATOMIC_RELAXED);

	if (now - last < 1000000000ull ||
	    !__atomic_compare_exchange_n(&last_ns, &last, now, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED)) {
		__atomic_add_fetch(&skipped, 1, __ATOMIC_RELAXED);
		return;
	}
	log_warn("event=close reason=handshake_limit src=%s max_handshakes_per_source=%u "
		 "refused=%llu note=\"this source's prefix holds that many unfinished handshakes\"",
		 src, max, (unsigned long long)__atomic_exchange_n(&skipped, 0, __ATOMIC_RELAXED) + 1);
}

struct conn *conn_new(int epfd, int fd, const struct sockaddr_storage *peer,
		      struct runtime *rt, uint64_t now)
{
	struct conn *c = calloc(1, sizeof(*c));
	socklen_t ll = sizeof(c ? c->local : (struct sockaddr_storage){ 0 });
	int one = 1;

	if (!c)
		goto err;
	c->epfd = epfd;
	c->rt = rt;
	c->ch = (struct conn_handle){ CONN_K_CLIENT, c, fd };
	c->uh = (struct conn_handle){ CONN_K_UPSTREAM, c, -1 };
	c->peer = *peer;
	if (getsockname(fd, (struct sockaddr *)&c->local, &ll) < 0)
		goto err;
	addr_sockaddr_str((struct sockaddr *)&c->peer, c->src, sizeof(c->src));
	make_conn_id(c->conn_id, sizeof(c->conn_id));
	c->keyed = gatemap_flow_key(&c->key, (struct sockaddr *)&c->peer,
				    (struct sockaddr *)&c->local) == 0;
	if (c->keyed) {
		uint32_t max = rt->cfg->agent.max_handshakes_per_source;

		if (!hslimit_take(c->key.saddr, max, hs_spared, rt)) {
			metrics_close(REASON_HANDSHAKE_LIMIT);
			log_hs_limit(c->src, max);
			goto err;
		}
		c->hs_held = true;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->ssl = tls_accept_new(rt->tls, fd);
	if (!c->ssl)
		goto err;
	policy_attach(c->ssl, &c->rec);
	c->t_accept = now;
	c->deadline = now + rt->cfg->agent.handshake_timeout_ns;
	relay_init(&c->relay, fd, c->ssl);
	if (conn_watch(c, &c->ch) < 0)
		goto err;
	__atomic_add_fetch(&conn_count, 1, __ATOMIC_RELAXED);
	metrics_active(1);
	return c;
err:
	if (c) {
		hs_release(c);
		SSL_free(c->ssl);
	}
	free(c);
	close(fd);
	runtime_put(rt);
	return NULL;
}

/* ---- handshake and decision ---- */

static void log_verify(struct conn *c, const char *result, enum reason r, uint64_t now,
		       const char *extra)
{
	char subj[300], iss[300], det[200], sni[300];

	log_msg(r == REASON_OK ? LOG_LVL_INFO : LOG_LVL_WARN,
		"event=verify result=%s reason=%s site=%s src=%s sni=%s subject=%s issuer=%s "
		"sha256=%s tls=%s resumed=%d ms=%.1f conn=%s%s%s%s",
		result, reason_name(r), c->site ? c->site->name : "-", c->src,
		c->ssl && tls_sni(c->ssl) ? log_quote(tls_sni(c->ssl), sni, sizeof(sni)) : "-",
		c->id.has_cert ? log_quote(c->id.subject, subj, sizeof(subj)) : "-",
		c->id.has_cert ? log_quote(c->id.issuer, iss, sizeof(iss)) : "-",
		c->id.has_cert ? c->id.sha256_hex : "-",
		c->ssl && SSL_is_init_finished(c->ssl) ? SSL_get_version(c->ssl) : "-",
		c->ssl ? SSL_session_reused(c->ssl) : 0, (now - c->t_accept) / 1e6, c->conn_id,
		c->res.detail[0] ? " detail=" : "",
		c->res.detail[0] ? log_quote(c->res.detail, det, sizeof(det)) : "",
		extra ? extra : "");
}


/* One handshake outcome, once per connection: the metrics and the gate's handshakes map. */
static void count_handshake(struct conn *c, enum reason r, uint64_t now)
{
	metrics_handshake(c->site ? c->site->name : NULL, r, now - c->t_accept);
	gateio_handshake(r);
	c->counted = true;
}

static void handshake_done(struct conn *c, uint64_t now)
{
	X509_STORE *store;
	enum reason r;
	const struct config_agent *a = &c->rt->cfg->agent;

	c->site = tls_site(c->ssl);
	if (!c->site) {		/* cannot happen: the hello callback picks one */
		conn_close(c, REASON_INTERNAL, now);
		return;
	}
	store = tls_site_store(c->rt->tls, c->site->id);
	r = policy_decide(c->site, store, c->ssl, false, &c->res);
	policy_describe(SSL_get0_peer_certificate(c->ssl), &c->id);
	count_handshake(c, r, now);
	if (r != REASON_OK) {
		if (c->site->verify != CONFIG_VERIFY_OPTIONAL) {
			conn_close(c, r, now);
			return;
		}
		/* The rollout step: admit, log what enforcement would refuse. */
		log_verify(c, "fail", r, now, " action=admit");
	} else {
		log_verify(c, "ok", r, now, NULL);
		if (c->id.has_cert)
			certinfo_puller(c->site->name, SSL_get0_peer_certificate(c->ssl));
		/* Only a verified certificate earns standing, not verify = off. */
		if (c->id.has_cert && c->site->verify != CONFIG_VERIFY_OFF)
			gateio_succeed(c->key.saddr, a->standing_ns);
	}
	if (c->keyed) {
		gateio_admit(&c->key, c->site->id, c->id.has_cert ? c->id.sha256 : NULL,
			     r != REASON_OK ? VERIFIED_F_UNVERIFIED : 0);
		c->admitted = true;
	}
	c->up = conn_upstream_for(c);
	c->last_io = now;
	c->deadline = now + a->handshake_timeout_ns;	/* for the upstream connect */
	hs_release(c);
	conn_send_header(c);
	conn_upstream_start(c, now);
}

/*
 * Why a handshake failed, read before the error queue is drained: a peer
 * that closed before sending a byte (a health check), the site's policy
 * refusing the client's certificate (with an alert), an SNI no site
 * serves, an alert from the client (it refused our certificate), or a
 * protocol error.
 */
static enum reason handshake_failure(struct conn *c)
{
	unsigned long e = ERR_peek_error();

	if (BIO_number_read(SSL_get_rbio(c->ssl)) == 0)
		return REASON_NO_HELLO;
	if (policy_refusal(c->ssl, &c->res) != REASON_OK)
		return c->res.reason;
	if (tls_unknown_sni(c->ssl))
		return REASON_UNKNOWN_SNI;
	/* A received alert is queued as reason SSL_AD_REASON_OFFSET + its code. */
	if (e && ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET)
		return REASON_CLIENT_REFUSED;
	return REASON_PROTOCOL_ERROR;
}

static void handshake_step(struct conn *c, uint64_t now)
{
	char errs[256];
	enum reason r;
	int rc;

	ERR_clear_error();
	rc = SSL_do_handshake(c->ssl);
	if (rc == 1) {
		handshake_done(c, now);
		return;
	}
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return;
	default:
		r = handshake_failure(c);
		log_ssl_errors(errs, sizeof(errs));
		if (!c->res.detail[0])
			snprintf(c->res.detail, sizeof(c->res.detail), "%.150s",
				 errs[0] ? errs : rc == 0 || !errno ? "connection closed"
								   : strerror(errno));
		c->site = tls_site(c->ssl);
		if (r == REASON_UNKNOWN_SNI)
			snprintf(c->res.detail, sizeof(c->res.detail), "no site for this SNI");
		conn_close(c, r, now);
	}
}

void conn_event(struct conn *c, enum conn_kind kind, uint32_t events, uint64_t now)
{
	int fd = kind == CONN_K_CLIENT ? c->ch.fd : c->uh.fd;

	relay_edge(&c->relay, fd);
	switch (c->state) {
	case CONN_HANDSHAKE:
		if (kind == CONN_K_CLIENT)
			handshake_step(c, now);
		return;
	case CONN_CONNECTING:
		if (kind == CONN_K_UPSTREAM)
			conn_upstream_connected(c, now);
		else
			conn_pump(c, now);
		return;
	case CONN_UPSTREAM_TLS:
		if (kind == CONN_K_UPSTREAM)
			conn_upstream_tls_step(c, now);
		else
			conn_pump(c, now);
		return;
	case CONN_RELAY:
		conn_pump(c, now);
		/* An error edge nothing else would notice (the end is idle). */
		if (c->state == CONN_RELAY && (events & EPOLLERR)) {
			int err = 0;
			socklen_t l = sizeof(err);

			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
			snprintf(c->res.detail, sizeof(c->res.detail), "%s",
				 strerror(err ? err : ECONNRESET));
			conn_close(c, kind == CONN_K_CLIENT ? REASON_CLIENT_RESET
							    : REASON_UPSTREAM_ERROR, now);
		}
		return;
	case CONN_DRAINING:
		if (kind == CONN_K_CLIENT)
			drain(c);
		return;
	case CONN_CLOSED:
		return;
	}
}

void conn_tick(struct conn *c, uint64_t now, uint64_t drain_deadline)
{
	const struct config_agent *a = &c->rt->cfg->agent;

	if (c->state == CONN_CLOSED)
		return;
	if (c->state == CONN_DRAINING) {
		if (now >= c->deadline || (drain_deadline && now >= drain_deadline))
			release(c);
		return;
	}
	if (drain_deadline && now >= drain_deadline) {
		conn_close(c, REASON_SHUTDOWN, now);
	} else if (c->state == CONN_HANDSHAKE && now >= c->deadline) {
		snprintf(c->res.detail, sizeof(c->res.detail), "no handshake within %llums",
			 (unsigned long long)(a->handshake_timeout_ns / 1000000));
		c->site = tls_site(c->ssl);	/* known once the ClientHello was read */
		conn_close(c, REASON_HANDSHAKE_TIMEOUT, now);
	} else if ((c->state == CONN_CONNECTING || c->state == CONN_UPSTREAM_TLS) &&
		   now >= c->deadline) {
		conn_upstream_fail(c, "upstream did not answer in time", now);
	} else if (c->state == CONN_RELAY && a->idle_timeout_ns &&
		   now - c->last_io >= a->idle_timeout_ns) {
		conn_close(c, REASON_IDLE_TIMEOUT, now);
	}
}

void conn_recheck(struct conn *c, struct runtime *rt)
{
	const struct config_site *s;
	struct policy_result res;

	if (c->state == CONN_HANDSHAKE || c->state == CONN_DRAINING || c->state == CONN_CLOSED ||
	    !c->site)
		return;
	s = config_site_by_name(rt->cfg, c->site->name);
	if (!s) {
		snprintf(c->res.detail, sizeof(c->res.detail), "site removed");
		conn_close(c, REASON_POLICY_CHANGED, gatemap_now_ns());
		return;
	}
	/* Connections admitted under verify = optional stay admitted. */
	if (s->verify != CONFIG_VERIFY_ON ||
	    policy_decide(s, tls_site_store(rt->tls, s->id), c->ssl, true, &res) == REASON_OK)
		return;
	snprintf(c->res.detail, sizeof(c->res.detail), "%s: %.130s", reason_name(res.reason),
		 res.detail);
	conn_close(c, REASON_POLICY_CHANGED, gatemap_now_ns());
}

/* ---- the one close path ---- */

/*
 * What a failed handshake costs its source, said in the log line's extra:
 * nothing under verify = optional or when the failure was not the client's
 * doing (a health check, the client refusing us, a handshake the gate's
 * pending budget cut short); nothing but a log line and a count for a
 * source in good standing or, unless penalize_allowed, one inside the
 * enforced allowlist (that is the CDN); otherwise a failure counted
 * towards a penalty.
 */
static void judge_failure(struct conn *c, enum reason r, char *extra, size_t len)
{
	const struct config_agent *a = &c->rt->cfg->agent;
	const struct gatemap_penalty_rule rule = {
		.after = a->penalty_after, .window_ns = a->penalty_window_ns,
		.base_ns = a->penalty_ns, .max_ns = a->penalty_max_ns,
	};
	const __u8 *src = c->key.saddr;
	struct penalty p;

	if (c->site && c->site->verify == CONFIG_VERIFY_OPTIONAL) {
		snprintf(extra, len, " penalty=optional");
	} else if (!reason_is_clients_fault(r)) {
		snprintf(extra, len, " penalty=none");
	} else if (r == REASON_HANDSHAKE_TIMEOUT && gateio_budget_spent(&c->key)) {
		snprintf(extra, len, " penalty=none note=\"cut short by the gate's pending budget\"");
	} else if (config_exempt(c->rt->cfg, src)) {
		snprintf(extra, len, " penalty=exempt");
	} else if (gateio_in_standing(src)) {
		metrics_spared();
		snprintf(extra, len, " action=spared standing=yes");
	} else if (!a->penalize_allowed && gateio_allowlisted(src)) {
		metrics_spared();
		snprintf(extra, len, " action=spared allowlisted=yes");
	} else {
		switch (gateio_fail(src, &rule, r, c->site ? c->site->id : 0, &p)) {
		case 1:
			metrics_penalty();
			snprintf(extra, len, " action=penalized penalty=%.0fs strikes=%u",
				 (p.until_ns - gatemap_now_ns()) / 1e9, p.strikes);
			break;
		case 0:
			snprintf(extra, len, " action=counted fails=%u/%u", p.fails,
				 a->penalty_after);
			break;
		}
	}
}

void conn_close(struct conn *c, enum reason r, uint64_t now)
{
	const struct config_agent *a = &c->rt->cfg->agent;
	char extra[96] = "", det[200];

	if (c->state == CONN_CLOSED)
		return;
	hs_release(c);
	metrics_close(r);
	if (c->state == CONN_HANDSHAKE) {
		/* A refused handshake: its verify line is the connection's line. */
		if (reason_is_failure(r)) {
			judge_failure(c, r, extra, sizeof(extra));
			if (!c->counted)
				count_handshake(c, r, now);
		}
		if (!c->id.has_cert && c->ssl)
			policy_describe(policy_peer_cert(c->ssl), &c->id);
		log_verify(c, "fail", r, now, extra);
	} else {
		log_msg(r == REASON_UPSTREAM_ERROR || r == REASON_INTERNAL ? LOG_LVL_WARN
									  : LOG_LVL_INFO,
			"event=close reason=%s site=%s src=%s conn=%s in=%llu out=%llu "
			"duration=%.3fs%s%s",
			reason_name(r), c->site ? c->site->name : "-", c->src, c->conn_id,
			(unsigned long long)c->relay.in, (unsigned long long)c->relay.out,
			(now - c->t_accept) / 1e9, c->res.detail[0] ? " detail=" : "",
			c->res.detail[0] ? log_quote(c->res.detail, det, sizeof(det)) : "");
	}
	/* Let the TCP teardown through; a revoked client gets no grace. */
	if (c->admitted)
		gateio_linger(&c->key, r == REASON_POLICY_CHANGED ? 0 : a->linger_ns);
	if (c->ssl && SSL_is_init_finished(c->ssl))
		SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(c->ssl);
	SSL_free(c->ussl);
	c->ssl = c->ussl = NULL;
	policy_detach(&c->rec);
	if (c->state == CONN_HANDSHAKE && r != REASON_NO_HELLO && r != REASON_SHUTDOWN &&
	    r != REASON_HANDSHAKE_TIMEOUT && shutdown(c->ch.fd, SHUT_WR) == 0) {
		c->state = CONN_DRAINING;
		c->deadline = now + DRAIN_NS;
		/* The client's alert, its FIN and our FIN's ACK pass until the drain ends. */
		if (c->keyed)
			gateio_pending_close(&c->key, DRAIN_NS + a->linger_ns);
		drain(c);
		return;
	}
	if (c->keyed && !c->admitted)
		gateio_pending_close(&c->key, a->linger_ns);
	release(c);
}

/* Reads and discards what a refused client still sends; its EOF ends it. */
static void drain(struct conn *c)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(c->ch.fd, buf, sizeof(buf), 0)) > 0) {
		c->relay.in += n;
		if (c->relay.in > DRAIN_MAX_BYTES)
			break;
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
	    c->relay.in > DRAIN_MAX_BYTES)
		release(c);
}

static void release(struct conn *c)
{
	c->state = CONN_CLOSED;
	close(c->ch.fd);
	if (c->uh.fd >= 0)
		close(c->uh.fd);
	c->ch.fd = c->uh.fd = -1;
	__atomic_sub_fetch(&conn_count, 1, __ATOMIC_RELAXED);
	metrics_active(-1);
}

bool conn_closed(const struct conn *c)
{
	return c->state == CONN_CLOSED;
}

void conn_free(struct conn *c)
{
	if (!c)
		return;
	runtime_put(c->rt);
	free(c);
}
