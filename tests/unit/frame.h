/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Builds Ethernet frames for the packet-level tests from a description:
 * IPv4 (with options, fragments, forged version/IHL) or IPv6 (with any
 * chain of extension headers), no, one (802.1Q) or stacked (802.1ad +
 * 802.1Q) VLAN tags, TCP with options, UDP, ICMP, and ARP. Header-only.
 * The gate reads no checksum; only IPv4's header checksum is filled, so a
 * capture of a test frame looks sane in tcpdump.
 */
#ifndef AOPGATE_FRAME_H
#define AOPGATE_FRAME_H

#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/types.h>
#include "aopgate.h"

#define FRAME_MAX	2048
#define FRAME_MAX_EXT	16

#define FR_ETH_ARP	0x0806
#define FR_ETH_IP	0x0800
#define FR_ETH_IPV6	0x86DD
#define FR_ETH_8021Q	0x8100
#define FR_ETH_8021AD	0x88A8

#define FR_FIN 0x01
#define FR_SYN 0x02
#define FR_RST 0x04
#define FR_PSH 0x08
#define FR_ACK 0x10
#define FR_URG 0x20
#define FR_ECE 0x40
#define FR_CWR 0x80

#define FR_PROTO_ICMP	1
#define FR_PROTO_TCP	6
#define FR_PROTO_UDP	17
#define FR_PROTO_ICMPV6	58

#define FR_EXT_HOP	0
#define FR_EXT_ROUTING	43
#define FR_EXT_FRAG	44
#define FR_EXT_AUTH	51
#define FR_EXT_DEST	60

/* One IPv6 extension header, in wire order. */
struct fr_ext {
	uint8_t type;		/* FR_EXT_* (any value is written as given) */
	uint8_t len;		/* the Hdr Ext Len byte: (len+1)*8 bytes, AH (len+2)*4 */
	uint16_t frag_off;	/* fragment header: offset in 8-byte units */
	uint8_t more;		/* fragment header: M flag */
};

/* What a frame carries. Addresses are 16 bytes, IPv4 as v4-mapped IPv6. */
struct fspec {
	int ipv6;
	int vlans;		/* tags: 0; 1 = 802.1Q; 2 = 802.1ad+802.1Q; n>2 adds 802.1Q */
	int arp;		/* an ARP request instead of IP */
	uint8_t src[16], dst[16];
	uint8_t proto;		/* FR_PROTO_* or any other number */
	uint16_t sport, dport;	/* host order */
	uint8_t flags;		/* TCP flags byte */
	uint8_t tcp_opt_len;	/* TCP option bytes, multiple of 4, <= 40 */
	uint8_t ip_opt_len;	/* IPv4 option bytes, multiple of 4, <= 40 */
	uint16_t frag_off;	/* IPv4: offset in 8-byte units */
	uint8_t more_frags;	/* IPv4: MF */
	uint8_t version;	/* IP version nibble to write; 0: the right one */
	uint8_t ihl_set;	/* write ihl instead of the right IHL */
	uint8_t ihl;
	int n_ext;
	struct fr_ext ext[FRAME_MAX_EXT];
	uint16_t payload_len;	/* bytes after the L4 header */
};

/* fr_addr(a, text): fills a 16-byte address from IPv4 (v4-mapped) or IPv6 text. */
static inline void fr_addr(uint8_t a[16], const char *text)
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET6, text, a) == 1)
		return;
	a[10] = a[11] = 0xff;
	inet_pton(AF_INET, text, a + 12);
}

/* fr_tcp(s, ipv6, src, dst, sport, dport, flags): a TCP segment with the
 * options a Linux SYN carries (20 bytes). */
static inline void fr_tcp(struct fspec *s, int ipv6, const char *src,
			  const char *dst, uint16_t sport, uint16_t dport,
			  uint8_t flags)
{
	memset(s, 0, sizeof(*s));
	s->ipv6 = ipv6;
	fr_addr(s->src, src);
	fr_addr(s->dst, dst);
	s->proto = FR_PROTO_TCP;
	s->sport = sport;
	s->dport = dport;
	s->flags = flags;
	s->tcp_opt_len = 20;
}

/* fr_key(s): the gate's flow key for the frame s describes. */
static inline struct flow_key fr_key(const struct fspec *s)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.saddr, s->src, 16);
	memcpy(k.daddr, s->dst, 16);
	k.sport = htons(s->sport);
	k.dport = htons(s->dport);
	k.proto = s->proto;
	return k;
}

static inline uint8_t *fr_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
	return p + 2;
}

static inline uint16_t fr_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* Length of the L4 header plus payload the spec describes. */
static inline size_t fr_l4_len(const struct fspec *s)
{
	size_t h;

	switch (s->proto) {
	case FR_PROTO_TCP:
		h = 20 + s->tcp_opt_len;
		break;
	case FR_PROTO_UDP:
	case FR_PROTO_ICMP:
	case FR_PROTO_ICMPV6:
		h = 8;
		break;
	default:
		h = 4;	/* two ports, as UDP-Lite, SCTP and DCCP start */
	}
	return h + s->payload_len;
}

static inline size_t fr_ext_size(const struct fr_ext *e)
{
	if (e->type == FR_EXT_FRAG)
		return 8;
	if (e->type == FR_EXT_AUTH)
		return (e->len + 2) * 4;
	return (e->len + 1) * 8;
}

static inline uint8_t *fr_l4(const struct fspec *s, uint8_t *p)
{
	/* A Linux SYN's options: MSS, SACK-permitted, timestamps, NOP, wscale. */
	static const uint8_t opts[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10,
					  0, 0, 0x12, 0x34, 0, 0, 0, 0,
					  1, 3, 3, 7 };
	switch (s->proto) {
	case FR_PROTO_TCP:
		p = fr_put16(p, s->sport);
		p = fr_put16(p, s->dport);
		memcpy(p, "\x11\x22\x33\x44", 4);		/* seq */
		memcpy(p + 4, (s->flags & FR_ACK) ? "\x55\x66\x77\x88" : "\0\0\0\0", 4);
		p += 8;
		*p++ = ((20 + s->tcp_opt_len) / 4) << 4;
		*p++ = s->flags;
		p = fr_put16(p, 64240);
		p = fr_put16(p, 0);
		p = fr_put16(p, 0);
		for (int i = 0; i < s->tcp_opt_len; i++)
			*p++ = i < 20 ? opts[i] : 1;
		break;
	case FR_PROTO_UDP:
		p = fr_put16(p, s->sport);
		p = fr_put16(p, s->dport);
		p = fr_put16(p, 8 + s->payload_len);
		p = fr_put16(p, 0);
		break;
	case FR_PROTO_ICMP:
	case FR_PROTO_ICMPV6:
		*p++ = s->proto == FR_PROTO_ICMP ? 8 : 128;	/* echo request */
		*p++ = 0;
		p = fr_put16(p, 0);
		p = fr_put16(p, 0x1234);
		p = fr_put16(p, 1);
		break;
	default:
		p = fr_put16(p, s->sport);
		p = fr_put16(p, s->dport);
	}
	memset(p, 'x', s->payload_len);
	p += s->payload_len;
	return p;
}

/* frame_build(s, buf): writes the frame into buf (FRAME_MAX bytes); returns its length. */
static inline size_t frame_build(const struct fspec *s, uint8_t *buf)
{
	uint8_t *p = buf;
	size_t l4len = fr_l4_len(s);

	memcpy(p, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	p += 12;
	for (int i = 0; i < s->vlans; i++) {
		uint16_t tpid = i == 0 && s->vlans >= 2 ? FR_ETH_8021AD : FR_ETH_8021Q;

		p = fr_put16(p, tpid);
		p = fr_put16(p, 100 + i);	/* TCI: VLAN id */
	}
	if (s->arp) {
		static const uint8_t arp[28] = {
			0, 1, 8, 0, 6, 4, 0, 1,
			2, 0, 0, 0, 0, 2, 192, 0, 2, 1,
			0, 0, 0, 0, 0, 0, 192, 0, 2, 2 };

		p = fr_put16(p, FR_ETH_ARP);
		memcpy(p, arp, sizeof(arp));
		return p + sizeof(arp) - buf;
	}
	if (!s->ipv6) {
		uint8_t *ip;
		int hl = 20 + s->ip_opt_len;

		p = fr_put16(p, FR_ETH_IP);
		ip = p;
		*p++ = (s->version ? s->version : 4) << 4 |
		       (s->ihl_set ? s->ihl : hl / 4);
		*p++ = 0;
		p = fr_put16(p, hl + l4len);
		p = fr_put16(p, 0x4242);
		p = fr_put16(p, (s->more_frags ? 0x2000 : 0) | (s->frag_off & 0x1fff));
		*p++ = 64;
		*p++ = s->proto;
		p = fr_put16(p, 0);
		memcpy(p, s->src + 12, 4);
		memcpy(p + 4, s->dst + 12, 4);
		p += 8;
		for (int i = 0; i < s->ip_opt_len; i++)
			/* Router Alert (RFC 2113), then NOPs. */
			*p++ = i < 4 ? "\x94\x04\x00\x00"[i] : 1;
		fr_put16(ip + 10, fr_csum(ip, hl));
		return fr_l4(s, p) - buf;
	}

	p = fr_put16(p, FR_ETH_IPV6);
	{
		size_t plen = l4len;

		for (int i = 0; i < s->n_ext; i++)
			plen += fr_ext_size(&s->ext[i]);
		*p++ = (s->version ? s->version : 6) << 4;
		*p++ = 0;
		*p++ = 0;
		*p++ = 0;
		p = fr_put16(p, plen);
		*p++ = s->n_ext ? s->ext[0].type : s->proto;
		*p++ = 64;
		memcpy(p, s->src, 16);
		memcpy(p + 16, s->dst, 16);
		p += 32;
	}
	for (int i = 0; i < s->n_ext; i++) {
		const struct fr_ext *e = &s->ext[i];
		size_t n = fr_ext_size(e);

		memset(p, 0, n);
		p[0] = i + 1 < s->n_ext ? s->ext[i + 1].type : s->proto;
		if (e->type == FR_EXT_FRAG) {
			fr_put16(p + 2, e->frag_off << 3 | (e->more ? 1 : 0));
			memcpy(p + 4, "\xde\xad\xbe\xef", 4);
		} else {
			p[1] = e->len;
			if ((e->type == FR_EXT_HOP || e->type == FR_EXT_DEST) && n > 2) {
				p[2] = 1;	/* PadN over the rest */
				p[3] = n - 4;
			}
			if (e->type == FR_EXT_AUTH && n >= 12)
				memcpy(p + 4, "\0\0\x10\x01\0\0\0\x01", 8); /* SPI, seq */
		}
		p += n;
	}
	return fr_l4(s, p) - buf;
}

#endif
