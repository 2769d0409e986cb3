// SPDX-License-Identifier: GPL-2.0-only
/* PROXY protocol v1 and v2 encoders; see proxyproto.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "addr.h"
#include "proxyproto.h"

static const uint8_t pp2_sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
};

/* An endpoint reduced to what the header carries. */
struct pp_end {
	uint8_t addr[16];	/* the gate's form: IPv4 v4-mapped */
	uint16_t port;		/* host order */
	bool ip;		/* AF_INET or AF_INET6 */
};

static void pp_end(struct pp_end *e, const struct sockaddr *sa)
{
	__be16 port = 0;

	memset(e, 0, sizeof(*e));
	e->ip = sa && addr_from_sockaddr(sa, e->addr, &port) == 0;
	e->port = ntohs(port);
}

/*
 * The header's family: IPv4 when both ends are (a v4-mapped IPv6 end is
 * the client's IPv4, and the upstream should see that form), IPv6 for
 * mixed families (an IPv4 end in its mapped form), 0 if an end is not IP.
 */
static int pp_pair(struct pp_end *s, struct pp_end *d,
		   const struct sockaddr *src, const struct sockaddr *dst)
{
	pp_end(s, src);
	pp_end(d, dst);
	if (!s->ip || !d->ip)
		return 0;
	return addr_is_v4(s->addr) && addr_is_v4(d->addr) ? AF_INET : AF_INET6;
}

/* The address bytes of an end as the family puts them on the wire. */
static const uint8_t *pp_bytes(const struct pp_end *e, int fam)
{
	return fam == AF_INET ? e->addr + 12 : e->addr;
}

int proxyproto_v1(char *buf, size_t cap, const struct sockaddr *src,
		  const struct sockaddr *dst)
{
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	struct pp_end s, d;
	int fam = pp_pair(&s, &d, src, dst);
	int n;

	if (!fam) {
		n = snprintf(buf, cap, "PROXY UNKNOWN\r\n");
	} else {
		inet_ntop(fam, pp_bytes(&s, fam), sa, sizeof(sa));
		inet_ntop(fam, pp_bytes(&d, fam), da, sizeof(da));
		n = snprintf(buf, cap, "PROXY %s %s %s %u %u\r\n",
			     fam == AF_INET ? "TCP4" : "TCP6", sa, da, s.port, d.port);
	}
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* A bounded writer: every put checks room, the first miss sticks. */
struct pp_buf {
	uint8_t *p;
	size_t cap, len;
	int fail;
};

static void put(struct pp_buf *b, const void *src, size_t n)
{
	if (b->fail || b->cap - b->len < n) {
		b->fail = 1;
		return;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put8(struct pp_buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put16(struct pp_buf *b, uint16_t v)
{
	uint8_t be[2] = { v >> 8, v & 0xff };

	put(b, be, 2);
}

/* Patches a 16-bit length at off to cover everything written after it. */
static void patch_len(struct pp_buf *b, size_t off)
{
	size_t n = b->len - (off + 2);

	if (b->fail)
		return;
	if (n > 0xffff) {
		b->fail = 1;
		return;
	}
	b->p[off] = n >> 8;
	b->p[off + 1] = n & 0xff;
}

static void put_tlv(struct pp_buf *b, uint8_t type, const void *v, size_t n)
{
	if (n > 0xffff) {
		b->fail = 1;
		return;
	}
	put8(b, type);
	put16(b, n);
	put(b, v, n);
}

int proxyproto_v2(uint8_t *buf, size_t cap, const struct proxyproto_info *info)
{
	struct pp_buf b = { .p = buf, .cap = cap };
	struct pp_end s, d;
	int fam = pp_pair(&s, &d, info->src, info->dst);
	size_t len_off, ssl_off;

	put(&b, pp2_sig, sizeof(pp2_sig));
	put8(&b, 0x21);			/* version 2, command PROXY */
	put8(&b, fam == AF_INET ? 0x11 : fam == AF_INET6 ? 0x21 : 0x00);
	len_off = b.len;
	put16(&b, 0);
	if (fam) {
		size_t alen = fam == AF_INET ? 4 : 16;

		put(&b, pp_bytes(&s, fam), alen);
		put(&b, pp_bytes(&d, fam), alen);
		put16(&b, s.port);
		put16(&b, d.port);
	}
	if (info->alpn && info->alpn_len)
		put_tlv(&b, PP2_TYPE_ALPN, info->alpn, info->alpn_len);
	if (info->authority && *info->authority)
		put_tlv(&b, PP2_TYPE_AUTHORITY, info->authority, strlen(info->authority));
	if (info->unique_id && *info->unique_id) {
		if (strlen(info->unique_id) > 128)
			return -1;
		put_tlv(&b, PP2_TYPE_UNIQUE_ID, info->unique_id, strlen(info->unique_id));
	}
	if (info->ssl) {
		put8(&b, PP2_TYPE_SSL);
		ssl_off = b.len;
		put16(&b, 0);
		put8(&b, info->client);
		put16(&b, info->verify >> 16);
		put16(&b, info->verify & 0xffff);
		if (info->version)
			put_tlv(&b, PP2_SUBTYPE_SSL_VERSION, info->version,
				strlen(info->version));
		if (info->cn)
			put_tlv(&b, PP2_SUBTYPE_SSL_CN, info->cn, strlen(info->cn));
		if (info->cipher)
			put_tlv(&b, PP2_SUBTYPE_SSL_CIPHER, info->cipher, strlen(info->cipher));
		patch_len(&b, ssl_off);
	}
	if (info->sha256)
		put_tlv(&b, PP2_TYPE_AOPGATE_SHA256, info->sha256, 32);
	patch_len(&b, len_off);
	return b.fail ? -1 : (int)b.len;
}
