// SPDX-License-Identifier: GPL-2.0-only
/* Handshakes in flight per source prefix; see hslimit.h. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hslimit.h"

/*
 * A chained hash of the prefixes that hold a handshake now; an entry goes
 * when its count returns to 0, so the table holds at most one entry per
 * handshake in flight (bounded by max_connections). One lock: the work
 * under it is a hash and a short chain, twice per connection.
 */
#define N_BUCKETS 4096

struct entry {
	struct entry *next;
	uint8_t prefix[16];
	uint32_t held;
};

static struct entry *buckets[N_BUCKETS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seed;

/* An IPv4 source is its own /32; an IPv6 one counts with its /64. */
static void prefix_of(const uint8_t src[16], uint8_t p[16])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	memcpy(p, src, 16);
	if (memcmp(src, mapped, sizeof(mapped)))
		memset(p + 8, 0, 8);
}

static size_t bucket(const uint8_t p[16])
{
	uint64_t a, b, h;

	if (!seed)	/* not secret, only not the same in every process */
		seed = (uint64_t)(uintptr_t)&seed ^ 0x9e3779b97f4a7c15ull;
	memcpy(&a, p, 8);
	memcpy(&b, p + 8, 8);
	h = (a ^ seed) * 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h = (h ^ b) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h % N_BUCKETS;
}

static struct entry **find(const uint8_t p[16])
{
	struct entry **e = &buckets[bucket(p)];

	while (*e && memcmp((*e)->prefix, p, 16))
		e = &(*e)->next;
	return e;
}

bool hslimit_take(const uint8_t src[16], uint32_t max,
		  bool (*spared)(const uint8_t src[16], void *ctx), void *ctx)
{
	uint8_t p[16];
	struct entry **e, *n;
	bool ok = true;

	prefix_of(src, p);
	pthread_mutex_lock(&lock);
	e = find(p);
	if (*e && max && (*e)->held >= max) {
		pthread_mutex_unlock(&lock);
		/* Asked outside the lock: it may read a map. */
		if (!spared || !spared(src, ctx))
			return false;
		pthread_mutex_lock(&lock);
		e = find(p);
	}
	if (*e) {
		(*e)->held++;
	} else if ((n = calloc(1, sizeof(*n)))) {
		memcpy(n->prefix, p, 16);
		n->held = 1;
		*e = n;
	} else {
		ok = false;
	}
	pthread_mutex_unlock(&lock);
	return ok;
}

void hslimit_put(const uint8_t src[16])
{
	uint8_t p[16];
	struct entry **e, *gone = NULL;

	prefix_of(src, p);
	pthread_mutex_lock(&lock);
	e = find(p);
	if (*e && --(*e)->held == 0) {
		gone = *e;
		*e = gone->next;
	}
	pthread_mutex_unlock(&lock);
	free(gone);
}
