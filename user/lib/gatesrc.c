// SPDX-License-Identifier: GPL-2.0-only
/*
 * The gate's sources in its maps: the prefix a source is judged by, its
 * strikes and penalty, its good standing, and the operator's denies.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <bpf/bpf.h>

#include "addr.h"
#include "gatemap.h"

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
	int fd = gatemap_fd(gm, GM_PENALTY);
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
	int fd = gatemap_fd(gm, GM_STANDING);
	struct standing st = {};
	__u64 now = gatemap_now_ns();

	if (bpf_map_lookup_elem(fd, src, &st) || st.until_ns <= now)
		st.since_ns = now;
	st.until_ns = now + standing_ns;
	if (bpf_map_update_elem(fd, src, &st, BPF_ANY))
		return -errno;
	/* A verified handshake proves the prefix holds a puller. */
	if (bpf_map_delete_elem(gatemap_fd(gm, GM_PENALTY), src) && errno != ENOENT)
		return -errno;
	return 0;
}

int gatemap_in_standing(struct gatemap *gm, const struct src_key *src)
{
	struct standing st;

	if (bpf_map_lookup_elem(gatemap_fd(gm, GM_STANDING), src, &st))
		return errno == ENOENT ? 0 : -errno;
	return st.until_ns > gatemap_now_ns();
}

int gatemap_deny_flag(struct gatemap *gm)
{
	struct allow_key k;
	struct gate_cfg cfg;
	bool any = bpf_map_get_next_key(gatemap_fd(gm, GM_DENY), NULL, &k) == 0;
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
	    bpf_map_lookup_elem(gatemap_fd(gm, GM_DENY), key, &d) == 0 &&
	    d.origin != origin && d.until_ns > now)
		return -EEXIST;
	d = (struct deny){ .added_ns = now, .until_ns = until_ns, .origin = origin };
	if (bpf_map_update_elem(gatemap_fd(gm, GM_DENY), key, &d, BPF_ANY))
		return -errno;
	return gatemap_deny_flag(gm);
}

int gatemap_deny_del(struct gatemap *gm, const struct allow_key *key, enum deny_origin origin)
{
	struct deny d;
	int ret;

	if (bpf_map_lookup_elem(gatemap_fd(gm, GM_DENY), key, &d))
		return errno == ENOENT ? 0 : -errno;
	if (d.origin != origin)
		return 0;
	if (bpf_map_delete_elem(gatemap_fd(gm, GM_DENY), key))
		return errno == ENOENT ? 0 : -errno;
	ret = gatemap_deny_flag(gm);
	return ret ? ret : 1;
}
