/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Addresses in the gate's form: 16 bytes, IPv4 as v4-mapped IPv6
 * (::ffff:a.b.c.d), so one map key serves both families. Parsing,
 * formatting and conversion from socket addresses, for both tools.
 */
#ifndef AOPGATE_ADDR_H
#define AOPGATE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include "aopgate.h"

/* "[2001:db8::1]:443" and "192.0.2.1:443" fit. */
#define ADDR_PORT_STRLEN 56

/* addr_map4(addr, in4): the v4-mapped form of the 4 bytes at in4. */
void addr_map4(__u8 addr[16], const void *in4);

/* addr_is_v4(addr): whether addr is v4-mapped (its IPv4 is addr + 12). */
bool addr_is_v4(const __u8 addr[16]);

/* addr_parse(s, addr): an IPv4 or IPv6 address. 0, or -1 if s is not one. */
int addr_parse(const char *s, __u8 addr[16]);

/*
 * addr_cidr_parse(s, key): ADDR or ADDR/LEN into an LPM key (IPv4 prefix
 * lengths are offset by 96); host bits must be zero. 0, or -1 if s is not
 * a valid CIDR.
 */
int addr_cidr_parse(const char *s, struct allow_key *key);

/* addr_cidr_contains(key, addr): whether addr falls inside key's prefix. */
bool addr_cidr_contains(const struct allow_key *key, const __u8 addr[16]);

/* addr_str(addr, buf, len): IPv4 dotted for a mapped address, else IPv6; buf. */
const char *addr_str(const __u8 addr[16], char *buf, size_t len);

/* addr_port_str(addr, port, buf, len): "[v6]:port" or "v4:port" (port in host order); buf. */
const char *addr_port_str(const __u8 addr[16], unsigned int port, char *buf, size_t len);

/*
 * addr_from_sockaddr(sa, addr, port): the mapped address and the port (in
 * network order) of an AF_INET or AF_INET6 socket address; port may be
 * NULL. 0, or -1 for another family.
 */
int addr_from_sockaddr(const struct sockaddr *sa, __u8 addr[16], __be16 *port);

/* addr_sockaddr_str(sa, buf, len): addr_port_str of a socket address ("?:0" if not IP); buf. */
const char *addr_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len);

#endif
