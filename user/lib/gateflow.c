// SPDX-License-Identifier: GPL-2.0-only
/*
 * The gate's flows in its maps: a flow_key's entry in verified or pending
 * (verified4 and pending4 for IPv4), pinned, renewed, lingering, closed,
 * and the walks that collect and sweep them.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "addr.h"
#include "gatemap.h"

int gatemap_flow_fd(const struct gatemap *gm, enum gatemap_id id, const struct flow_key *key,
		    struct flow_key4 *k4, const void **mkey)
{
	if (!addr_is_v4(key->saddr)) {
		*mkey = key;
		return gatemap_fd(gm, id);
	}
	memcpy(&k4->saddr, key->saddr + 12, 4);
	memcpy(&k4->daddr, key->daddr + 12, 4);
	k4->sport = key->sport;
	k4->dport = key->dport;
	*mkey = k4;
	return gatemap_fd(gm, id == GM_VERIFIED ? GM_VERIFIED4 : GM_PENDING4);
}

void gatemap_key4_to_key(const struct flow_key4 *k4, struct flow_key *key)
{
	memset(key, 0, sizeof(*key));
	key->saddr[10] = key->saddr[11] = 0xff;
	key->daddr[10] = key->daddr[11] = 0xff;
	memcpy(key->saddr + 12, &k4->saddr, 4);
	memcpy(key->daddr + 12, &k4->daddr, 4);
	key->sport = k4->sport;
	key->dport = k4->dport;
	key->proto = IPPROTO_TCP;
}

/* FLOW_FD(id, key): fd and mkey of key's flow in map id (GM_VERIFIED, GM_PENDING). */
#define FLOW_FD(id, key)						\
	struct flow_key4 k4_;						\
	const void *mkey;						\
	int fd = gatemap_flow_fd(gm, id, key, &k4_, &mkey)

int gatemap_flow_key(struct flow_key *key, const struct sockaddr *peer,
		     const struct sockaddr *local)
{
	memset(key, 0, sizeof(*key));
	key->proto = IPPROTO_TCP;
	if (addr_from_sockaddr(peer, key->saddr, &key->sport) ||
	    addr_from_sockaddr(local, key->daddr, &key->dport))
		return -1;
	return 0;
}

int gatemap_verify(struct gatemap *gm, const struct flow_key *key,
		   __u32 site_id, const __u8 cert_id[8], __u32 flags, __u64 lease_ns)
{
	struct verified_flow vf = {
		.verified_ns = gatemap_now_ns(),
		.site_id = site_id,
		.flags = flags | VERIFIED_F_OPEN,
	};

	struct flow_key4 k4;
	const void *mkey;
	int fd = gatemap_flow_fd(gm, GM_VERIFIED, key, &k4, &mkey);

	vf.expires_ns = vf.verified_ns + lease_ns;
	memcpy(vf.cert_id, cert_id, sizeof(vf.cert_id));
	if (bpf_map_update_elem(fd, mkey, &vf, BPF_ANY))
		return -errno;
	/* The pending entry may already be gone (LRU); that is fine. */
	bpf_map_delete_elem(gatemap_flow_fd(gm, GM_PENDING, key, &k4, &mkey), mkey);
	return 0;
}

/*
 * Both rewrite the whole entry: packets the gate counts between the
 * lookup and the update are lost to its counters, never to the flow.
 */
int gatemap_renew(struct gatemap *gm, const struct flow_key *key, __u64 lease_ns)
{
	struct verified_flow vf;
	FLOW_FD(GM_VERIFIED, key);

	if (bpf_map_lookup_elem(fd, mkey, &vf))
		return errno == ENOENT ? 0 : -errno;
	if (!(vf.flags & VERIFIED_F_OPEN))
		return 0;
	vf.expires_ns = gatemap_now_ns() + lease_ns;
	if (bpf_map_update_elem(fd, mkey, &vf, BPF_EXIST))
		return errno == ENOENT ? 0 : -errno;
	return 1;
}

int gatemap_linger(struct gatemap *gm, const struct flow_key *key,
		   __u64 linger_ns)
{
	struct verified_flow vf;
	FLOW_FD(GM_VERIFIED, key);

	if (bpf_map_lookup_elem(fd, mkey, &vf))
		return -errno;
	vf.expires_ns = gatemap_now_ns() + linger_ns;
	vf.flags &= ~VERIFIED_F_OPEN;
	if (bpf_map_update_elem(fd, mkey, &vf, BPF_EXIST))
		return -errno;
	return 0;
}

int gatemap_pending_close(struct gatemap *gm, const struct flow_key *key, __u64 linger_ns,
			  __u64 max_age_ns, __u64 *stamp)
{
	__u64 now = gatemap_now_ns();
	/*
	 * A fresh budget, since reading the spent one would be a second
	 * call: the flow's socket is closed, so what it lets through for
	 * linger_ns meets a reset. A linger past max_age_ns gets max_age_ns.
	 */
	struct pending_flow pf = {
		.first_seen_ns = linger_ns < max_age_ns ? now + linger_ns - max_age_ns : now,
	};
	FLOW_FD(GM_PENDING, key);

	if (bpf_map_update_elem(fd, mkey, &pf, BPF_EXIST))
		return -errno;
	*stamp = pf.first_seen_ns;
	return 0;
}

int gatemap_pending_forget(struct gatemap *gm, const struct flow_key *key, __u64 stamp)
{
	struct pending_flow pf;
	FLOW_FD(GM_PENDING, key);

	if (bpf_map_lookup_elem(fd, mkey, &pf))
		return errno == ENOENT ? 0 : -errno;
	if (pf.first_seen_ns != stamp)
		return 0;
	if (bpf_map_delete_elem(fd, mkey))
		return errno == ENOENT ? 0 : -errno;
	return 1;
}

static bool swept(const struct verified_flow *vf, bool all, __u64 now)
{
	return all || (!(vf->flags & VERIFIED_F_OPEN) && vf->expires_ns && vf->expires_ns <= now);
}

int gatemap_verified_forget(struct gatemap *gm, const struct flow_key *key)
{
	struct verified_flow vf;
	FLOW_FD(GM_VERIFIED, key);

	if (bpf_map_lookup_elem(fd, mkey, &vf))
		return errno == ENOENT ? 0 : -errno;
	if (!swept(&vf, false, gatemap_now_ns()))
		return 0;
	if (bpf_map_delete_elem(fd, mkey))
		return errno == ENOENT ? 0 : -errno;
	return 1;
}

/* The keys of the verified entries that want() picks, collected in a walk. */
struct collect {
	bool (*want)(const struct verified_flow *vf, const struct collect *c);
	bool all;
	__u64 now;
	struct flow_key *keys;
	size_t n, cap;
	int err;
};

static int collect_one(const void *key, const void *value, void *ctx)
{
	struct collect *c = ctx;
	struct flow_key *tmp;

	if (!c->want(value, c))
		return 0;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		tmp = realloc(c->keys, c->cap * sizeof(*tmp));
		if (!tmp) {
			c->err = -ENOMEM;
			return 1;
		}
		c->keys = tmp;
	}
	c->keys[c->n++] = *(const struct flow_key *)key;
	return 0;
}

/*
 * Collect first, act after: get_next_key on a deleted key restarts the
 * walk, which would make a sweep quadratic. On failure nothing is kept.
 */
static int collect(struct gatemap *gm, struct collect *c)
{
	int err = gatemap_each(gm, GM_VERIFIED, collect_one, c);

	if (c->err)
		err = c->err;
	if (err) {
		free(c->keys);
		c->keys = NULL;
		c->n = 0;
	}
	return err;
}

static bool want_open(const struct verified_flow *vf, const struct collect *c)
{
	(void)c;
	return vf->flags & VERIFIED_F_OPEN;
}

int gatemap_open_flows(struct gatemap *gm, struct flow_key **keys, size_t *n)
{
	struct collect c = { .want = want_open };
	int err = collect(gm, &c);

	*keys = c.keys;
	*n = c.n;
	return err;
}

static bool want_swept(const struct verified_flow *vf, const struct collect *c)
{
	return swept(vf, c->all, c->now);
}

int gatemap_sweep(struct gatemap *gm, bool all)
{
	struct collect c = { .want = want_swept, .all = all, .now = gatemap_now_ns() };
	int n = 0, err = collect(gm, &c);

	for (size_t i = 0; i < c.n; i++) {
		FLOW_FD(GM_VERIFIED, &c.keys[i]);

		if (!bpf_map_delete_elem(fd, mkey))
			n++;
	}
	free(c.keys);
	return err ? err : n;
}
