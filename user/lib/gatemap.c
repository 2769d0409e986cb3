// SPDX-License-Identifier: GPL-2.0-only
/*
 * Access to the gate's pinned maps, shared by the CLI and the agent: opening
 * them, their names, walks, the settings and the counters. Flows are in
 * gateflow.c, sources in gatesrc.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

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

__u64 gatemap_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
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
