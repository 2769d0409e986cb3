/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Encoders of the PROXY protocol header (haproxy's proxy-protocol.txt)
 * that the agent writes to the upstream before the relayed bytes (before
 * its TLS handshake for a tls:// upstream): version 1 (one text line) and
 * version 2 (binary, with TLVs carrying the SNI, the ALPN, the connection
 * id and the verified client identity).
 */
#ifndef AOPGATE_PROXYPROTO_H
#define AOPGATE_PROXYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* v1: "PROXY TCP6 " + 2 * 39 + 2 * 5 + 3 spaces + CRLF (spec section 2.1). */
#define PROXYPROTO_V1_MAX 107

/* TLV types and SSL sub-types of spec section 2.2.x. */
#define PP2_TYPE_ALPN            0x01
#define PP2_TYPE_AUTHORITY       0x02
#define PP2_TYPE_UNIQUE_ID       0x05	/* at most 128 bytes (spec 2.2.4) */
#define PP2_TYPE_SSL             0x20
#define PP2_SUBTYPE_SSL_VERSION  0x21
#define PP2_SUBTYPE_SSL_CN       0x22
#define PP2_SUBTYPE_SSL_CIPHER   0x23
#define PP2_CLIENT_SSL           0x01
#define PP2_CLIENT_CERT_CONN     0x02
#define PP2_CLIENT_CERT_SESS     0x04
/* Ours, in the custom range 0xE0..0xEF: SHA-256 of the client certificate. */
#define PP2_TYPE_AOPGATE_SHA256  0xE0

/* What a v2 header tells the upstream; every pointer may be NULL. */
struct proxyproto_info {
	const struct sockaddr *src;	/* the client */
	const struct sockaddr *dst;	/* the address it connected to */
	const char *authority;		/* SNI */
	const char *unique_id;		/* the connection's id in the agent's log */
	const unsigned char *alpn;
	size_t alpn_len;
	bool ssl;			/* emit PP2_TYPE_SSL at all */
	uint8_t client;			/* PP2_CLIENT_* bits */
	uint32_t verify;		/* 0: presented and verified */
	const char *version;		/* e.g. "TLSv1.3" */
	const char *cn;			/* client certificate subject CN */
	const char *cipher;
	const unsigned char *sha256;	/* 32 bytes */
};

/*
 * proxyproto_v1(buf, cap, src, dst): writes the v1 line for a TCP
 * connection ("PROXY UNKNOWN\r\n" for a non-IP family or mixed families
 * that cannot be expressed). Returns its length, or -1 if cap is too small.
 */
int proxyproto_v1(char *buf, size_t cap, const struct sockaddr *src,
		  const struct sockaddr *dst);

/*
 * proxyproto_v2(buf, cap, info): writes a v2 PROXY header with the TLVs
 * info asks for. IPv4-mapped IPv6 addresses are sent as TCP over IPv4.
 * Returns its length, or -1 if it does not fit cap, a TLV exceeds 65535 or
 * the unique id 128 bytes.
 */
int proxyproto_v2(uint8_t *buf, size_t cap, const struct proxyproto_info *info);

#endif
