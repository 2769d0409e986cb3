// SPDX-License-Identifier: GPL-2.0-only
/* Access to the gate's pinned maps, shared by the CLI and the agent. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "gatemap.h"

struct gatemap {
	int fd[GM_N_MAPS];
};

static const char *const map_names[GM_N_MAPS] = {
	[GM_VERIFIED] = AOPGATE_MAP_VERIFIED,
	[GM_PENDING] = AOPGATE_MAP_PENDING,
	[GM_PENALTY] = AOPGATE_MAP_PENALTY,
	[GM_ALLOW_SRC] = AOPGATE_MAP_ALLOW_SRC,
	[GM_SYN_RL] = AOPGATE_MAP_SYN_RL,
	[GM_PORTS] = AOPGATE_MAP_PORTS,
	[GM_GATE_CFG] = AOPGATE_MAP_GATE_CFG,
	[GM_STATS] = AOPGATE_MAP_STATS,
	[GM_STANDING] = AOPGATE_MAP_STANDING,
	[GM_DENY] = AOPGATE_MAP_DENY,
	[GM_EVENTS] = AOPGATE_MAP_EVENTS,
	[GM_SITES] = AOPGATE_MAP_SITES,
	[GM_REASONS] = AOPGATE_MAP_REASONS,
	[GM_HANDSHAKES] = AOPGATE_MAP_HANDSHAKES,
	[GM_VERIFIED4] = AOPGATE_MAP_VERIFIED4,
	[GM_PENDING4] = AOPGATE_MAP_PENDING4,
};

#define NAME(id, name) name,
#define WOULD_NAME(id, name) "would-" name,
static const char *const counter_names[CNT_MAX] = {
	AOPGATE_PASS_COUNTERS(NAME)
	AOPGATE_DROP_COUNTERS(NAME)
	AOPGATE_DROP_COUNTERS(WOULD_NAME)
};

const char *gatemap_name(enum gatemap_id id)
{
	return id < GM_N_MAPS ? map_names[id] : "?";
}

const char *gatemap_counter_name(unsigned int id)
{
	return id < CNT_MAX ? counter_names[id] : "?";
}

struct gatemap *gatemap_open(const char *pin_root, char *err, size_t errlen)
{
	struct gatemap *gm;
	char path[4096];
	int i, e;

	gm = calloc(1, sizeof(*gm));
	if (!gm) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < GM_N_MAPS; i++)
		gm->fd[i] = -1;
	for (i = 0; i < GM_N_MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_root, map_names[i]);
		gm->fd[i] = bpf_obj_get(path);
		if (gm->fd[i] < 0) {
			e = errno;
			if (e == ENOENT)
				snprintf(err, errlen,
					 "no gate maps under %s (nothing attached; run 'aopgate attach')",
					 pin_root);
			else
				snprintf(err, errlen, "cannot open %s: %s", path,
					 strerror(e));
			goto err;
		}
	}
	return gm;
err:
	gatemap_close(gm);
	errno = e;
	return NULL;
}

void gatemap_close(struct gatemap *gm)
{
	if (!gm)
		return;
	for (int i = 0; i < GM_N_MAPS; i++)
		if (gm->fd[i] >= 0)
			close(gm->fd[i]);
	free(gm);
}

int gatemap_fd(const struct gatemap *gm, enum gatemap_id id)
{
	return gm->fd[id];
}

int gatemap_flow_fd(const struct gatemap *gm, enum gatemap_id id, const struct flow_key *key,
		    struct flow_key4 *k4, const void **mkey)
{
	if (!addr_is_v4(key->saddr)) {
		*mkey = key;
		return gm->fd[id];
	}
	memcpy(&k4->saddr, key->saddr + 12, 4);
	memcpy(&k4->daddr, key->daddr + 12, 4);
	k4->sport = key->sport;
	k4->dport = key->dport;
	*mkey = k4;
	return gm->fd[id == GM_VERIFIED ? GM_VERIFIED4 : GM_PENDING4];
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

__u64 gatemap_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

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

/* Key and value buffers large enough for every map of include/aopgate.h. */
#define EACH_KEY_MAX	64
#define EACH_VALUE_MAX	128
/* Entries per BPF_MAP_LOOKUP_BATCH call. */
#define EACH_BATCH	256
/* What a walk returns when fn stopped it (each_by_batch's 1: cannot batch). */
#define EACH_STOPPED	2

/* The walk by get_next_key and lookup: two system calls per entry. */
static int each_by_key(int fd, const struct bpf_map_info *info,
		       gatemap_each_fn fn, void *ctx)
{
	__u8 cur[EACH_KEY_MAX], next[EACH_KEY_MAX], value[EACH_VALUE_MAX];
	bool first = true;

	while (!bpf_map_get_next_key(fd, first ? NULL : cur, next)) {
		first = false;
		memcpy(cur, next, info->key_size);
		if (bpf_map_lookup_elem(fd, cur, value))
			continue;
		if (fn(cur, value, ctx))
			return EACH_STOPPED;
	}
	return errno == ENOENT ? 0 : -errno;
}

/*
 * The walk in batches: one system call per EACH_BATCH entries, which is
 * what keeps the agent's sweep cheap with many flows. Returns 1 when the
 * kernel cannot batch this map (nothing was read), for the walk by key.
 */
static int each_by_batch(int fd, const struct bpf_map_info *info,
			 gatemap_each_fn fn, void *ctx)
{
	__u8 in[EACH_KEY_MAX], out[EACH_KEY_MAX];
	__u8 *keys = malloc((size_t)EACH_BATCH * info->key_size);
	__u8 *values = malloc((size_t)EACH_BATCH * info->value_size);
	bool first = true, done = false;
	int ret = 0;

	if (!keys || !values) {
		ret = -ENOMEM;
		goto out;
	}
	while (!done) {
		__u32 n = EACH_BATCH;

		if (bpf_map_lookup_batch(fd, first ? NULL : in, out, keys, values, &n, NULL)) {
			if (errno != ENOENT) {
				/* A bucket larger than the batch, or no batch ops. */
				ret = first && n == 0 ? 1 : -errno;
				break;
			}
			done = true;
		}
		first = false;
		memcpy(in, out, sizeof(in));
		for (__u32 i = 0; i < n; i++)
			if (fn(keys + (size_t)i * info->key_size,
			       values + (size_t)i * info->value_size, ctx)) {
				ret = EACH_STOPPED;
				goto out;
			}
	}
out:
	free(keys);
	free(values);
	return ret;
}

/* One map's walk: 0 when done, EACH_STOPPED, or -errno. */
static int each_map(int fd, gatemap_each_fn fn, void *ctx)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int ret;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.key_size > EACH_KEY_MAX || info.value_size > EACH_VALUE_MAX)
		return -E2BIG;
	if (info.type == BPF_MAP_TYPE_HASH || info.type == BPF_MAP_TYPE_LRU_HASH) {
		ret = each_by_batch(fd, &info, fn, ctx);
		if (ret != 1)
			return ret;
	}
	return each_by_key(fd, &info, fn, ctx);
}

/* The walk of an IPv4 map, handing fn each key as a flow_key. */
struct each4 {
	gatemap_each_fn fn;
	void *ctx;
};

static int each4_one(const void *key, const void *value, void *ctx)
{
	struct each4 *e = ctx;
	struct flow_key k;

	gatemap_key4_to_key(key, &k);
	return e->fn(&k, value, e->ctx);
}

int gatemap_each(const struct gatemap *gm, enum gatemap_id id,
		 gatemap_each_fn fn, void *ctx)
{
	struct each4 e = { fn, ctx };
	int ret = each_map(gm->fd[id], fn, ctx);

	if (ret == 0 && (id == GM_VERIFIED || id == GM_PENDING))
		ret = each_map(gm->fd[id == GM_VERIFIED ? GM_VERIFIED4 : GM_PENDING4],
			       each4_one, &e);
	return ret == EACH_STOPPED ? 0 : ret;
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

void gatemap_src_prefix(const struct gate_cfg *cfg, const __u8 addr[16], struct src_key *key)
{
	bool v4 = addr_is_v4(addr);
	__u32 bits = v4 ? 96 + cfg->penalty_prefix4 : cfg->penalty_prefix6;

	/* The gate's rule (src_prefix in gate.bpf.c): unset is the whole address. */
	if (bits > 128 || (v4 && bits == 96) || bits == 0)
		bits = 128;
	for (__u32 i = 0; i < 16; i++) {
		__u8 b = addr[i];

		if (bits <= i * 8)
			b = 0;
		else if (bits < i * 8 + 8)
			b &= (__u8)(0xff << (i * 8 + 8 - bits));
		key->addr[i] = b;
	}
}

int gatemap_fail(struct gatemap *gm, const struct src_key *src,
		 const struct gatemap_penalty_rule *rule, __u32 reason, __u32 site_id,
		 struct penalty *out)
{
	int fd = gm->fd[GM_PENALTY];
	struct penalty p = {};
	__u64 now = gatemap_now_ns(), dur = rule->base_ns;
	bool found = bpf_map_lookup_elem(fd, src, &p) == 0;

	/* A run of failures starts afresh once its window has passed. */
	if (!found || now - p.window_ns > rule->window_ns) {
		p.window_ns = now;
		p.fails = 0;
	}
	p.fails++;
	if (p.fails >= rule->after && p.until_ns <= now) {
		/*
		 * Penalties accumulate while the prefix keeps failing: one
		 * within max_ns of the last one's end doubles the next; a
		 * prefix that stayed quiet longer starts over.
		 */
		if (p.strikes && now < p.until_ns + rule->max_ns)
			p.strikes++;
		else
			p.strikes = 1;
		for (__u32 i = 1; i < p.strikes && dur < rule->max_ns; i++)
			dur *= 2;
		if (dur > rule->max_ns)
			dur = rule->max_ns;
		p.until_ns = now + dur;
		p.fails = 0;
		p.window_ns = now;
	}
	p.last_ns = now;
	p.last_reason = reason;
	p.last_site = site_id;
	if (bpf_map_update_elem(fd, src, &p, BPF_ANY))
		return -errno;
	if (out)
		*out = p;
	return p.until_ns > now;
}

int gatemap_succeed(struct gatemap *gm, const struct src_key *src, __u64 standing_ns)
{
	int fd = gm->fd[GM_STANDING];
	struct standing st = {};
	__u64 now = gatemap_now_ns();

	if (bpf_map_lookup_elem(fd, src, &st) || st.until_ns <= now)
		st.since_ns = now;
	st.until_ns = now + standing_ns;
	if (bpf_map_update_elem(fd, src, &st, BPF_ANY))
		return -errno;
	/* A verified handshake proves the prefix holds a puller. */
	if (bpf_map_delete_elem(gm->fd[GM_PENALTY], src) && errno != ENOENT)
		return -errno;
	return 0;
}

int gatemap_in_standing(struct gatemap *gm, const struct src_key *src)
{
	struct standing st;

	if (bpf_map_lookup_elem(gm->fd[GM_STANDING], src, &st))
		return errno == ENOENT ? 0 : -errno;
	return st.until_ns > gatemap_now_ns();
}

int gatemap_deny_flag(struct gatemap *gm)
{
	struct allow_key k;
	struct gate_cfg cfg;
	bool any = bpf_map_get_next_key(gm->fd[GM_DENY], NULL, &k) == 0;
	int ret = gatemap_read_cfg(gm, &cfg);

	if (ret)
		return ret;
	if (!!(cfg.flags & GATE_F_DENY) == any)
		return 0;
	cfg.flags = any ? cfg.flags | GATE_F_DENY : cfg.flags & ~GATE_F_DENY;
	return gatemap_write_cfg(gm, &cfg);
}

int gatemap_deny_put(struct gatemap *gm, const struct allow_key *key, __u64 until_ns,
		     enum deny_origin origin)
{
	struct deny d = { 0 };
	__u64 now = gatemap_now_ns();

	/*
	 * An operator's deny is the operator's alone: a CrowdSec ban of the
	 * same CIDR neither shortens it nor takes it over (so a later
	 * CrowdSec delete cannot lift it). An operator's add replaces anything.
	 */
	if (origin != DENY_OPERATOR &&
	    bpf_map_lookup_elem(gm->fd[GM_DENY], key, &d) == 0 &&
	    d.origin != origin && d.until_ns > now)
		return -EEXIST;
	d = (struct deny){ .added_ns = now, .until_ns = until_ns, .origin = origin };
	if (bpf_map_update_elem(gm->fd[GM_DENY], key, &d, BPF_ANY))
		return -errno;
	return gatemap_deny_flag(gm);
}

int gatemap_deny_del(struct gatemap *gm, const struct allow_key *key, enum deny_origin origin)
{
	struct deny d;
	int ret;

	if (bpf_map_lookup_elem(gm->fd[GM_DENY], key, &d))
		return errno == ENOENT ? 0 : -errno;
	if (d.origin != origin)
		return 0;
	if (bpf_map_delete_elem(gm->fd[GM_DENY], key))
		return errno == ENOENT ? 0 : -errno;
	ret = gatemap_deny_flag(gm);
	return ret ? ret : 1;
}

int gatemap_read_cfg(struct gatemap *gm, struct gate_cfg *cfg)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(gm->fd[GM_GATE_CFG], &zero, cfg) ? -errno : 0;
}

int gatemap_write_cfg(struct gatemap *gm, const struct gate_cfg *cfg)
{
	__u32 zero = 0;

	return bpf_map_update_elem(gm->fd[GM_GATE_CFG], &zero, cfg, BPF_ANY)
		       ? -errno
		       : 0;
}

int gatemap_read_stats(struct gatemap *gm, struct counter sum[CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	struct counter *percpu;
	__u32 id;
	int cpu;

	if (ncpu < 0)
		return ncpu;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (id = 0; id < CNT_MAX; id++) {
		if (bpf_map_lookup_elem(gm->fd[GM_STATS], &id, percpu)) {
			int e = -errno;

			free(percpu);
			return e;
		}
		sum[id] = (struct counter){ 0 };
		for (cpu = 0; cpu < ncpu; cpu++) {
			sum[id].packets += percpu[cpu].packets;
			sum[id].bytes += percpu[cpu].bytes;
		}
	}
	free(percpu);
	return 0;
}

int gatemap_name_put(struct gatemap *gm, enum gatemap_id id, __u32 idx, const char *name)
{
	struct gate_name n = { { 0 } };

	if (name)
		snprintf(n.name, sizeof(n.name), "%s", name);
	if (bpf_map_update_elem(gm->fd[id], &idx, &n, BPF_ANY))
		return -errno;
	return 0;
}

const char *gatemap_name_get(const struct gatemap *gm, enum gatemap_id id, __u32 idx,
			     char *buf, size_t len)
{
	struct gate_name n;

	if (bpf_map_lookup_elem(gm->fd[id], &idx, &n) || !n.name[0])
		snprintf(buf, len, "#%u", idx);
	else
		snprintf(buf, len, "%.*s", (int)sizeof(n.name) - 1, n.name);
	return buf;
}
