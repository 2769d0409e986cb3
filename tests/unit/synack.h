/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a well-formed cookie SYN-ACK is, checked byte by byte against the
 * SYN it answers, from the RFCs (791, 8200, 9293) and not from the gate's
 * code: for the packet tests and the randomized oracle. Header-only.
 */
#ifndef AOPGATE_SYNACK_H
#define AOPGATE_SYNACK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "frame.h"

static inline uint32_t sa_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void sa_wr32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* The one's-complement sum of the TCP segment at l4 (tl bytes) and its
 * pseudo header, from the IP header at l3: 0 when the checksum is right. */
static inline uint16_t sa_tcp_csum(const uint8_t *l3, int ipv6, const uint8_t *l4, size_t tl)
{
	uint8_t buf[FRAME_MAX + 40];
	size_t n;

	if (tl > FRAME_MAX)
		return 0xffff;
	if (ipv6) {
		memcpy(buf, l3 + 8, 32);
		memset(buf + 32, 0, 8);
		buf[34] = tl >> 8;
		buf[35] = tl;
		buf[39] = FR_PROTO_TCP;
		n = 40;
	} else {
		memcpy(buf, l3 + 12, 8);
		buf[8] = 0;
		buf[9] = FR_PROTO_TCP;
		buf[10] = tl >> 8;
		buf[11] = tl;
		n = 12;
	}
	memcpy(buf + n, l4, tl);
	return fr_csum(buf, n + tl);
}

/*
 * synack_why(syn, out, out_len, l3off, ipv6): why out is not a well-formed
 * answer to the SYN syn (IPv4 without options or IPv6 without extension
 * headers, after l3off bytes of Ethernet and VLAN tags), or NULL when it
 * is: the Ethernet, IP and TCP addresses swapped, the tags kept, SYN|ACK
 * with ack = the SYN's seq + 1, 40 bytes of TCP header starting with an
 * MSS option, the lengths right and the IP and TCP checksums valid.
 */
static inline const char *synack_why(const uint8_t *syn, const uint8_t *out, size_t out_len,
				     size_t l3off, int ipv6)
{
	size_t l4off = l3off + (ipv6 ? 40 : 20);
	const uint8_t *sip = syn + l3off, *oip = out + l3off;
	const uint8_t *sth = syn + l4off, *oth = out + l4off;

	if (out_len != l4off + 40)
		return "not one IP header and 40 bytes of TCP long";
	if (memcmp(out, syn + 6, 6) || memcmp(out + 6, syn, 6))
		return "Ethernet addresses not swapped";
	if (memcmp(out + 12, syn + 12, l3off - 12))
		return "VLAN tags or ethertype changed";
	if (ipv6) {
		if (oip[0] >> 4 != 6 || (oip[4] << 8 | oip[5]) != 40 || oip[6] != FR_PROTO_TCP ||
		    !oip[7])
			return "bad IPv6 header (version, payload length, next header, hop limit)";
		if (memcmp(oip + 8, sip + 24, 16) || memcmp(oip + 24, sip + 8, 16))
			return "IPv6 addresses not swapped";
	} else {
		if (oip[0] != 0x45 || (oip[2] << 8 | oip[3]) != 60 || oip[9] != FR_PROTO_TCP ||
		    !oip[8] || ((oip[6] << 8 | oip[7]) & 0x3fff))
			return "bad IPv4 header (version, IHL, length, protocol, TTL, fragment)";
		if (memcmp(oip + 12, sip + 16, 4) || memcmp(oip + 16, sip + 12, 4))
			return "IPv4 addresses not swapped";
		if (fr_csum(oip, 20))
			return "bad IPv4 header checksum";
	}
	if (memcmp(oth, sth + 2, 2) || memcmp(oth + 2, sth, 2))
		return "ports not swapped";
	if (oth[13] != (FR_SYN | FR_ACK))
		return "flags not SYN|ACK";
	if (oth[12] >> 4 != 10)
		return "TCP header not 40 bytes";
	if (sa_rd32(oth + 8) != sa_rd32(sth + 4) + 1)
		return "ack is not the SYN's seq + 1";
	if (oth[20] != 2 || oth[21] != 4 || !(oth[22] << 8 | oth[23]))
		return "no MSS option first";
	if (sa_tcp_csum(oip, ipv6, oth, 40))
		return "bad TCP checksum";
	return NULL;
}

#endif /* AOPGATE_SYNACK_H */
