/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Handshakes in flight per source prefix (an IPv4 /32, an IPv6 /64),
 * shared by the workers. An idle handshake holds its TLS state and two
 * socket buffers until handshake_timeout; one /64 of fresh addresses can
 * otherwise hold thousands of them and fill max_connections for everyone.
 * Over max_handshakes_per_source a new connection is closed at accept
 * (handshake_limit), except from a source in good standing or exempt: the
 * puller is never capped. The count is taken before the cap is asked, so
 * the map lookup for standing happens only on the capped path.
 */
#ifndef AOPGATE_HSLIMIT_H
#define AOPGATE_HSLIMIT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * hslimit_take(src, max, spared): counts a handshake of src's prefix in,
 * unless max is not 0 and the prefix already holds max of them and
 * spared(src, ctx) says no. Returns whether it was counted; a counted
 * handshake is given back with hslimit_put. Also false when out of memory
 * (fail closed: the connection is refused).
 */
bool hslimit_take(const uint8_t src[16], uint32_t max,
		  bool (*spared)(const uint8_t src[16], void *ctx), void *ctx);

/* hslimit_put(src): the handshake of src's prefix is over. */
void hslimit_put(const uint8_t src[16]);

#endif
