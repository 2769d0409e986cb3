// SPDX-License-Identifier: GPL-2.0-only
/* Addresses in the gate's 16-byte form; see addr.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static const __u8 v4_prefix[12] = { [10] = 0xff, [11] = 0xff };

void addr_map4(__u8 addr[16], const void *in4)
{
	memcpy(addr, v4_prefix, sizeof(v4_prefix));
	memcpy(addr + 12, in4, 4);
}

bool addr_is_v4(const __u8 addr[16])
{
	return !memcmp(addr, v4_prefix, sizeof(v4_prefix));
}

int addr_parse(const char *s, __u8 addr[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		addr_map4(addr, &a4);
		return 0;
	}
	return inet_pton(AF_INET6, s, addr) == 1 ? 0 : -1;
}

int addr_cidr_parse(const char *s, struct allow_key *key)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned long len;
	int v4, i;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (addr_parse(buf, key->addr))
		return -1;
	v4 = strchr(buf, ':') == NULL;
	if (!slash) {
		len = v4 ? 32 : 128;
	} else {
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || len > (v4 ? 32u : 128u))
			return -1;
	}
	key->prefixlen = v4 ? 96 + len : len;
	/* Host bits must be zero, so "10.0.0.1/8" is caught as a typo. */
	for (i = key->prefixlen; i < 128; i++)
		if (key->addr[i / 8] & (0x80 >> (i % 8)))
			return -1;
	return 0;
}

bool addr_cidr_contains(const struct allow_key *key, const __u8 addr[16])
{
	__u32 i;

	for (i = 0; i < key->prefixlen && i < 128; i++)
		if ((key->addr[i / 8] ^ addr[i / 8]) & (0x80 >> (i % 8)))
			return false;
	return true;
}

const char *addr_str(const __u8 addr[16], char *buf, size_t len)
{
	if (addr_is_v4(addr))
		return inet_ntop(AF_INET, addr + 12, buf, len);
	return inet_ntop(AF_INET6, addr, buf, len);
}

const char *addr_port_str(const __u8 addr[16], unsigned int port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, addr_is_v4(addr) ? "%s:%u" : "[%s]:%u",
		 addr_str(addr, a, sizeof(a)), port);
	return buf;
}

int addr_from_sockaddr(const struct sockaddr *sa, __u8 addr[16], __be16 *port)
{
	__be16 p;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		addr_map4(addr, &in->sin_addr);
		p = in->sin_port;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		memcpy(addr, &in6->sin6_addr, 16);
		p = in6->sin6_port;
	} else {
		return -1;
	}
	if (port)
		*port = p;
	return 0;
}

const char *addr_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	__u8 addr[16];
	__be16 port;

	if (addr_from_sockaddr(sa, addr, &port) < 0) {
		snprintf(buf, len, "?:0");
		return buf;
	}
	return addr_port_str(addr, ntohs(port), buf, len);
}
