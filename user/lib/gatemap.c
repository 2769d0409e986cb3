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
};

static const char *const counter_names[CNT_MAX] = {
	[CNT_PASS_OTHER] = "pass-other",
	[CNT_PASS_VERIFIED] = "pass-verified",
	[CNT_PASS_PENDING] = "pass-pending",
	[CNT_PASS_SYN] = "pass-syn",
	[CNT_DROP_BACKEND] = "drop-backend",
	[CNT_DROP_PENALTY] = "drop-penalty",
	[CNT_DROP_NOT_ALLOWED] = "drop-not-allowed",
	[CNT_DROP_BUDGET] = "drop-budget",
	[CNT_DROP_RATELIMIT] = "drop-ratelimit",
	[CNT_DROP_UNKNOWN] = "drop-unknown",
	[CNT_DROP_FRAGMENT] = "drop-fragment",
	[CNT_DROP_MALFORMED] = "drop-malformed",
	[CNT_DROP_NON_TCP] = "drop-non-tcp",
};

const char *gatemap_name(enum gatemap_id id)
{
	return id < GM_N_MAPS ? map_names[id] : "?";
}

const char *gatemap_counter_name(unsigned int id)
{
	/* "would-drop-X" for each "drop-X", built once from the drop names. */
	static char would[CNT_N_DROPS][40];

	if (id < CNT_WOULD_DROP_BASE)
		return counter_names[id];
	if (id >= CNT_MAX)
		return "?";
	id -= CNT_WOULD_DROP_BASE;
	if (!would[id][0])
		snprintf(would[id], sizeof(would[id]), "would-%s",
			 counter_names[CNT_DROP_BASE + id]);
	return would[id];
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

static void map_v4(__u8 addr[16], const void *in4)
{
	memset(addr, 0, 10);
	addr[10] = addr[11] = 0xff;
	memcpy(addr + 12, in4, 4);
}

static bool is_v4_mapped(const __u8 addr[16])
{
	static const __u8 prefix[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(addr, prefix, sizeof(prefix));
}

int gatemap_addr_parse(const char *s, __u8 addr[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		map_v4(addr, &a4);
		return 0;
	}
	return inet_pton(AF_INET6, s, addr) == 1 ? 0 : -1;
}

int gatemap_cidr_parse(const char *s, struct allow_key *key)
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
	if (gatemap_addr_parse(buf, key->addr))
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

bool gatemap_cidr_contains(const struct allow_key *key, const __u8 addr[16])
{
	__u32 i;

	for (i = 0; i < key->prefixlen && i < 128; i++)
		if ((key->addr[i / 8] ^ addr[i / 8]) & (0x80 >> (i % 8)))
			return false;
	return true;
}

const char *gatemap_addr_str(const __u8 addr[16], char *buf, size_t len)
{
	if (is_v4_mapped(addr))
		return inet_ntop(AF_INET, addr + 12, buf, len);
	return inet_ntop(AF_INET6, addr, buf, len);
}

/* Stores a socket address as a mapped address and port; -1 if not IP. */
static int sockaddr_split(const struct sockaddr *sa, __u8 addr[16], __be16 *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		map_v4(addr, &in->sin_addr);
		*port = in->sin_port;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		memcpy(addr, &in6->sin6_addr, 16);
		*port = in6->sin6_port;
		return 0;
	}
	return -1;
}

int gatemap_flow_key(struct flow_key *key, const struct sockaddr *peer,
		     const struct sockaddr *local)
{
	memset(key, 0, sizeof(*key));
	key->proto = IPPROTO_TCP;
	if (sockaddr_split(peer, key->saddr, &key->sport) ||
	    sockaddr_split(local, key->daddr, &key->dport))
		return -1;
	return 0;
}

int gatemap_verify(struct gatemap *gm, const struct flow_key *key,
		   __u32 site_id, const __u8 cert_id[8])
{
	struct verified_flow vf = {
		.verified_ns = gatemap_now_ns(),
		.site_id = site_id,
	};

	memcpy(vf.cert_id, cert_id, sizeof(vf.cert_id));
	if (bpf_map_update_elem(gm->fd[GM_VERIFIED], key, &vf, BPF_ANY))
		return -errno;
	/* The pending entry may already be gone (LRU); that is fine. */
	bpf_map_delete_elem(gm->fd[GM_PENDING], key);
	return 0;
}

int gatemap_linger(struct gatemap *gm, const struct flow_key *key,
		   __u64 linger_ns)
{
	struct verified_flow vf;
	int fd = gm->fd[GM_VERIFIED];

	if (bpf_map_lookup_elem(fd, key, &vf))
		return -errno;
	vf.expires_ns = gatemap_now_ns() + linger_ns;
	if (bpf_map_update_elem(fd, key, &vf, BPF_EXIST))
		return -errno;
	return 0;
}

int gatemap_each(const struct gatemap *gm, enum gatemap_id id,
		 gatemap_each_fn fn, void *ctx)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	/* Large enough for every key and value of include/aopgate.h. */
	__u8 cur[64], next[64], value[128];
	int fd = gm->fd[id];
	bool first = true;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.key_size > sizeof(cur) || info.value_size > sizeof(value))
		return -E2BIG;
	while (!bpf_map_get_next_key(fd, first ? NULL : cur, next)) {
		first = false;
		memcpy(cur, next, info.key_size);
		if (bpf_map_lookup_elem(fd, cur, value))
			continue;
		if (fn(cur, value, ctx))
			return 0;
	}
	return errno == ENOENT ? 0 : -errno;
}

struct sweep {
	bool all;
	__u64 now;
	struct flow_key *doomed;
	size_t n, cap;
	int err;
};

static int sweep_collect(const void *key, const void *value, void *ctx)
{
	const struct verified_flow *vf = value;
	struct sweep *sw = ctx;
	struct flow_key *tmp;

	if (!sw->all && !(vf->expires_ns && vf->expires_ns <= sw->now))
		return 0;
	if (sw->n == sw->cap) {
		sw->cap = sw->cap ? sw->cap * 2 : 64;
		tmp = realloc(sw->doomed, sw->cap * sizeof(*tmp));
		if (!tmp) {
			sw->err = -ENOMEM;
			return 1;
		}
		sw->doomed = tmp;
	}
	sw->doomed[sw->n++] = *(const struct flow_key *)key;
	return 0;
}

int gatemap_sweep(struct gatemap *gm, bool all)
{
	struct sweep sw = { .all = all, .now = gatemap_now_ns() };
	int n = 0, err;

	/*
	 * Collect first, delete after: get_next_key on a deleted key restarts
	 * the walk, which would make a sweep quadratic.
	 */
	err = gatemap_each(gm, GM_VERIFIED, sweep_collect, &sw);
	for (size_t i = 0; i < sw.n; i++)
		if (!bpf_map_delete_elem(gm->fd[GM_VERIFIED], &sw.doomed[i]))
			n++;
	free(sw.doomed);
	if (sw.err)
		return sw.err;
	return err ? err : n;
}

int gatemap_penalize(struct gatemap *gm, const __u8 src[16], __u64 base_ns,
		     __u64 max_ns, struct penalty *out)
{
	struct src_key key;
	struct penalty p = {};
	__u64 now = gatemap_now_ns(), dur = base_ns;
	int fd = gm->fd[GM_PENALTY];

	memcpy(key.addr, src, sizeof(key.addr));
	/*
	 * Strikes accumulate while the source keeps failing: a strike within
	 * max_ns of the last penalty's end doubles the next one; a source
	 * that stayed quiet longer starts over.
	 */
	if (!bpf_map_lookup_elem(fd, &key, &p) && now < p.until_ns + max_ns)
		p.strikes++;
	else
		p.strikes = 1;
	for (__u32 i = 1; i < p.strikes && dur < max_ns; i++)
		dur *= 2;
	if (dur > max_ns)
		dur = max_ns;
	p.until_ns = now + dur;
	if (bpf_map_update_elem(fd, &key, &p, BPF_ANY))
		return -errno;
	if (out)
		*out = p;
	return 0;
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
