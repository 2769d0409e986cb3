// SPDX-License-Identifier: GPL-2.0-only
/* `aopgate status`, `flows`, `deny list` and `allow list` output. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "addr.h"
#include "attach.h"
#include "cli.h"
#include "duration.h"
#include "gatemap.h"
#include "pinroot.h"
#include "settings.h"
#include "show.h"


static struct gatemap *open_maps(const char *pin_root)
{
	struct gatemap *gm;
	char err[256];

	gm = gatemap_open(pin_root, err, sizeof(err));
	if (!gm)
		cli_err("%s", err);
	return gm;
}

static int count_one(const void *key, const void *value, void *ctx)
{
	(void)key;
	(void)value;
	++*(__u32 *)ctx;
	return 0;
}

static __u32 map_count(struct gatemap *gm, enum gatemap_id id)
{
	__u32 n = 0;

	gatemap_each(gm, id, count_one, &n);
	return n;
}

static __u32 map_max(struct gatemap *gm, enum gatemap_id id)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(gatemap_fd(gm, id), &info, &len) ? 0
								       : info.max_entries;
}

/* Prints "443,8443" style lists of the ports holding role. */
static void print_ports(struct gatemap *gm, __u32 role, bool json)
{
	struct port_cfg pc;
	int n = 0;

	for (__u32 port = 0; port < 65536; port++) {
		if (bpf_map_lookup_elem(gatemap_fd(gm, GM_PORTS), &port, &pc) ||
		    pc.role != role)
			continue;
		printf("%s%u", n++ ? (json ? ", " : ",") : "", port);
	}
	if (!n && !json)
		printf("-");
}

/* The maps whose fill status shows. */
static const enum gatemap_id fill[] = {
	GM_VERIFIED, GM_VERIFIED4, GM_PENDING, GM_PENDING4, GM_PENALTY, GM_STANDING, GM_DENY,
	GM_ALLOW_SRC, GM_SYN_RL,
};

int show_status(const struct pinroot *pins, bool json)
{
	const char *pin_root = pins->path;
	struct attachment at[64];
	struct counter c[CNT_MAX];
	struct gatemap *gm;
	struct gate_cfg cfg;
	int n, i;

	n = attach_list(pin_root, at, 64);
	if (n < 0)
		return -1;
	gm = open_maps(pin_root);
	if (!gm)
		return -1;
	if (gatemap_read_cfg(gm, &cfg) || gatemap_read_stats(gm, c)) {
		cli_err("cannot read the gate's maps: %s", strerror(errno));
		gatemap_close(gm);
		return -1;
	}
	const char *mode = cfg.mode == GATE_MONITOR ? "monitor" : "enforce";

	if (json) {
		printf("{\"pin_root\": ");
		cli_json_str(stdout, pins->dir);
		printf(", \"pin_root_reach\": \"%s\", \"pin_root_note\": ",
		       pinroot_reach_name(pins->reach));
		cli_json_str(stdout, pins->note);
		printf(", \"mode\": \"%s\", \"attachments\": [", mode);
		for (i = 0; i < n; i++) {
			printf("%s{\"interface\": ", i ? ", " : "");
			cli_json_str(stdout, at[i].ifname);
			printf(", \"ifindex\": %d, \"attach_mode\": \"%s\", \"prog_id\": %u, "
			       "\"link_id\": %u, \"tc_companion_link_id\": %u}",
			       at[i].ifindex, at[i].mode, at[i].prog_id, at[i].link_id,
			       at[i].companion_id);
		}
		printf("], \"gate_ports\": [");
		print_ports(gm, PORT_GATE, true);
		printf("], \"backend_ports\": [");
		print_ports(gm, PORT_BACKEND, true);
		printf("], \"config\": {");
		settings_show(stdout, &cfg, true);
		printf("}, \"syncookie_ready\": %s, \"maps\": {",
		       cfg.syncookie_ready ? "true" : "false");
		for (i = 0; i < (int)(sizeof(fill) / sizeof(fill[0])); i++)
			printf("%s\"%s\": {\"entries\": %u, \"max_entries\": %u}",
			       i ? ", " : "", gatemap_name(fill[i]),
			       map_count(gm, fill[i]), map_max(gm, fill[i]));
		printf("}, \"counters\": {");
		for (i = 0; i < CNT_MAX; i++)
			printf("%s\"%s\": {\"packets\": %llu, \"bytes\": %llu}",
			       i ? ", " : "", gatemap_counter_name(i),
			       (unsigned long long)c[i].packets,
			       (unsigned long long)c[i].bytes);
		printf("}}\n");
		gatemap_close(gm);
		return 0;
	}

	printf("pin root   %s", pins->dir);
	if (pins->reach != PINROOT_SHARED)
		printf(" (%s)", pins->note);
	printf("\nmode       %s\n", mode);
	if (!n)
		printf("attached   (none)\n");
	for (i = 0; i < n; i++) {
		printf("attached   %-12s %-8s program id %u, link id %u",
		       at[i].ifname, at[i].mode, at[i].prog_id, at[i].link_id);
		if (at[i].companion_id)
			printf(", tc companion link id %u", at[i].companion_id);
		printf("\n");
	}
	printf("gate ports    ");
	print_ports(gm, PORT_GATE, false);
	printf("\nbackend ports ");
	print_ports(gm, PORT_BACKEND, false);
	printf("\n\n%-16s %s\n", "setting", "value");
	settings_show(stdout, &cfg, false);
	/* Whether the kernel takes the gate's cookie ACKs, as attach found. */
	printf("%-16s %s\n", "syncookie_ready",
	       cfg.syncookie_ready ? "yes" : "no (attach says why)");
	printf("\n%-12s %10s %10s\n", "map", "entries", "max");
	for (i = 0; i < (int)(sizeof(fill) / sizeof(fill[0])); i++)
		printf("%-12s %10u %10u\n", gatemap_name(fill[i]),
		       map_count(gm, fill[i]), map_max(gm, fill[i]));
	printf("\n%-24s %14s %16s\n", "counter", "packets", "bytes");
	for (i = 0; i < CNT_MAX; i++)
		printf("%-24s %14llu %16llu\n", gatemap_counter_name(i),
		       (unsigned long long)c[i].packets,
		       (unsigned long long)c[i].bytes);
	gatemap_close(gm);
	return 0;
}

/* A row of `flows`: sites by name (cut at 20 in the table, whole in JSON). */
#define FLOW_HEAD "%-10s %-42s %-42s %-20s %-16s %9s %10s %12s %s\n"
#define FLOW_ROW "%-10s %-42s %-42s %-20.20s %-16s %9s %10llu %12llu %s\n"

/* A row of `deny list`. */
#define DENY_ROW "%-43s %-8s %7s %9s  %-17s %-20s %s\n"

/* State of one listing: output form, the clock, and the separator. */
struct listing {
	bool json, first;
	__u64 now;
	struct gate_cfg cfg;	/* for the prefix lengths of penalties */
	struct gatemap *gm;	/* for the names the agent published */
};

static void json_sep(struct listing *l)
{
	if (!l->first)
		printf(", ");
	l->first = false;
}

static void flow_json(struct listing *l, const struct flow_key *k)
{
	char s[64], d[64];

	json_sep(l);
	printf("{\"src\": \"%s\", \"dst\": \"%s\"",
	       addr_port_str(k->saddr, ntohs(k->sport), s, sizeof(s)),
	       addr_port_str(k->daddr, ntohs(k->dport), d, sizeof(d)));
}

/*
 * A flow the agent admitted under verify = optional without a verified
 * certificate is "unverified": enforcement would refuse it.
 */
static const char *flow_state(const struct verified_flow *vf)
{
	return vf->flags & VERIFIED_F_UNVERIFIED ? "unverified" : "verified";
}

static int show_verified(const void *key, const void *value, void *ctx)
{
	const struct verified_flow *vf = value;
	const struct flow_key *k = key;
	struct listing *l = ctx;
	char s[64], d[64], age[32], exp[32], cert[17], site[AOPGATE_NAME_LEN];

	for (int i = 0; i < 8; i++)
		sprintf(cert + 2 * i, "%02x", vf->cert_id[i]);
	gatemap_name_get(l->gm, GM_SITES, vf->site_id, site, sizeof(site));
	if (l->json) {
		flow_json(l, k);
		printf(", \"state\": \"%s\", \"unverified\": %s, \"site_id\": %u, \"site\": ",
		       flow_state(vf), vf->flags & VERIFIED_F_UNVERIFIED ? "true" : "false",
		       vf->site_id);
		cli_json_str(stdout, site);
		printf(", \"cert_id\": \"%s\", \"age_ns\": %llu, "
		       "\"expires_in_ns\": %lld, \"packets\": %llu, \"bytes\": %llu}",
		       cert,
		       (unsigned long long)(l->now - vf->verified_ns),
		       vf->expires_ns ? (long long)(vf->expires_ns - l->now) : 0,
		       (unsigned long long)vf->packets,
		       (unsigned long long)vf->bytes);
		return 0;
	}
	/* An open connection's lease is renewed while the agent holds it. */
	if (!vf->expires_ns || (vf->flags & VERIFIED_F_OPEN && vf->expires_ns > l->now))
		snprintf(exp, sizeof(exp), "open");
	else if (vf->expires_ns > l->now)
		duration_str(vf->expires_ns - l->now, exp, sizeof(exp));
	else
		snprintf(exp, sizeof(exp), "expired");
	printf(FLOW_ROW, flow_state(vf),
	       addr_port_str(k->saddr, ntohs(k->sport), s, sizeof(s)),
	       addr_port_str(k->daddr, ntohs(k->dport), d, sizeof(d)), site, cert,
	       duration_str(l->now - vf->verified_ns, age, sizeof(age)),
	       (unsigned long long)vf->packets, (unsigned long long)vf->bytes, exp);
	return 0;
}

static int show_pending(const void *key, const void *value, void *ctx)
{
	const struct pending_flow *pf = value;
	const struct flow_key *k = key;
	struct listing *l = ctx;
	char s[64], d[64], age[32];

	if (l->json) {
		flow_json(l, k);
		printf(", \"state\": \"pending\", \"age_ns\": %llu, \"packets\": %u, "
		       "\"bytes\": %u}", (unsigned long long)(l->now - pf->first_seen_ns),
		       pf->packets, pf->bytes);
		return 0;
	}
	printf(FLOW_ROW, "pending",
	       addr_port_str(k->saddr, ntohs(k->sport), s, sizeof(s)),
	       addr_port_str(k->daddr, ntohs(k->dport), d, sizeof(d)), "-", "-",
	       duration_str(l->now - pf->first_seen_ns, age, sizeof(age)),
	       (unsigned long long)pf->packets, (unsigned long long)pf->bytes, "-");
	return 0;
}

int show_flows(const char *pin_root, bool json)
{
	struct listing l = { .json = json, .first = true, .now = gatemap_now_ns() };
	struct gatemap *gm = open_maps(pin_root);

	if (!gm)
		return -1;
	l.gm = gm;
	if (json)
		printf("{\"verified\": [");
	else
		printf(FLOW_HEAD, "state", "source", "destination", "site", "cert", "age",
		       "packets", "bytes", "expires");
	gatemap_each(gm, GM_VERIFIED, show_verified, &l);
	if (json)
		printf("], \"pending\": [");
	l.first = true;
	gatemap_each(gm, GM_PENDING, show_pending, &l);
	if (json)
		printf("]}\n");
	gatemap_close(gm);
	return 0;
}

/* "a.b.c.d", "2001:db8::/64": a prefix, its length only when not a host. */
static const char *prefix_str(const __u8 addr[16], __u32 prefixlen, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	bool v4 = addr_is_v4(addr);
	__u32 bits = v4 ? prefixlen - 96 : prefixlen;

	addr_str(addr, a, sizeof(a));
	if (prefixlen >= 128)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, bits);
	return buf;
}

/*
 * One row of `deny list`: a deny (kind and reason "operator" or "crowdsec", no site)
 * or an agent's penalty, with the reason and site of the prefix's last
 * failed handshake and how long ago it was (since for an operator's deny:
 * when it was added).
 */
struct deny_row {
	const char *source, *kind, *reason, *site;	/* site NULL: none */
	long long strikes;				/* -1: not counted */
	__u64 until_ns, since_ns;
};

static void deny_row(struct listing *l, const struct deny_row *r)
{
	char left[32], ago[32], strikes[24];

	if (r->until_ns == AOPGATE_FOREVER)
		snprintf(left, sizeof(left), "forever");
	else
		duration_str(r->until_ns - l->now, left, sizeof(left));
	duration_str(l->now > r->since_ns ? l->now - r->since_ns : 0, ago, sizeof(ago));
	if (l->json) {
		json_sep(l);
		printf("{\"source\": \"%s\", \"kind\": \"%s\", \"strikes\": %lld, "
		       "\"remaining_ns\": %lld, \"reason\": ", r->source, r->kind, r->strikes,
		       r->until_ns == AOPGATE_FOREVER ? -1 : (long long)(r->until_ns - l->now));
		cli_json_str(stdout, r->reason);
		printf(", \"site\": ");
		if (r->site)
			cli_json_str(stdout, r->site);
		else
			printf("null");
		printf(", \"ago_ns\": %llu}", (unsigned long long)(l->now - r->since_ns));
		return;
	}
	if (r->strikes < 0)
		snprintf(strikes, sizeof(strikes), "-");
	else
		snprintf(strikes, sizeof(strikes), "%lld", r->strikes);
	printf(DENY_ROW, r->source, r->kind, strikes, left, r->reason,
	       r->site ? r->site : "-", ago);
}

static int show_deny(const void *key, const void *value, void *ctx)
{
	const struct allow_key *k = key;
	const struct deny *d = value;
	struct listing *l = ctx;
	char src[INET6_ADDRSTRLEN + 8];
	struct deny_row r = {
		.source = prefix_str(k->addr, k->prefixlen, src, sizeof(src)),
		.kind = d->origin == DENY_CROWDSEC ? "crowdsec" : "operator",
		.reason = d->origin == DENY_CROWDSEC ? "crowdsec" : "operator", .strikes = -1,
		.until_ns = d->until_ns, .since_ns = d->added_ns,
	};

	if (d->until_ns > l->now)
		deny_row(l, &r);
	return 0;
}

static int show_penalty(const void *key, const void *value, void *ctx)
{
	const struct penalty *p = value;
	const struct src_key *k = key;
	struct listing *l = ctx;
	char src[INET6_ADDRSTRLEN + 8], why[AOPGATE_NAME_LEN], site[AOPGATE_NAME_LEN];
	__u32 bits = addr_is_v4(k->addr) ? 96 + l->cfg.penalty_prefix4 : l->cfg.penalty_prefix6;
	struct deny_row r = {
		.source = prefix_str(k->addr, bits, src, sizeof(src)),
		.kind = "penalty", .strikes = p->strikes,
		.until_ns = p->until_ns, .since_ns = p->last_ns,
		.reason = gatemap_name_get(l->gm, GM_REASONS, p->last_reason, why, sizeof(why)),
		.site = p->last_site ? gatemap_name_get(l->gm, GM_SITES, p->last_site, site,
							sizeof(site)) : NULL,
	};

	if (p->until_ns > l->now)
		deny_row(l, &r);
	return 0;
}

static int show_prefix(const void *key, const void *value, void *ctx)
{
	const struct allow_key *k = key;
	struct listing *l = ctx;
	char a[INET6_ADDRSTRLEN];
	__u32 len;

	(void)value;
	addr_str(k->addr, a, sizeof(a));
	len = strchr(a, ':') ? k->prefixlen : k->prefixlen - 96;
	if (l->json) {
		json_sep(l);
		printf("\"%s/%u\"", a, len);
	} else {
		printf("%s/%u\n", a, len);
	}
	return 0;
}

/* Lists one map as a JSON array or as lines under an optional header. */
static int show_list(const char *pin_root, bool json, enum gatemap_id id,
		     gatemap_each_fn fn, const char *header)
{
	struct listing l = { .json = json, .first = true, .now = gatemap_now_ns() };
	struct gatemap *gm = open_maps(pin_root);

	if (!gm)
		return -1;
	if (json)
		printf("[");
	else if (header)
		printf("%s\n", header);
	gatemap_each(gm, id, fn, &l);
	if (json)
		printf("]\n");
	gatemap_close(gm);
	return 0;
}

int show_penalties(const char *pin_root, bool json)
{
	struct listing l = { .json = json, .first = true, .now = gatemap_now_ns() };
	struct gatemap *gm = open_maps(pin_root);

	if (!gm)
		return -1;
	if (gatemap_read_cfg(gm, &l.cfg)) {
		cli_err("cannot read gate_cfg: %s", strerror(errno));
		gatemap_close(gm);
		return -1;
	}
	l.gm = gm;
	if (json)
		printf("[");
	else
		printf(DENY_ROW, "source", "kind", "strikes", "remaining", "last reason",
		       "site", "ago");
	gatemap_each(gm, GM_DENY, show_deny, &l);
	gatemap_each(gm, GM_PENALTY, show_penalty, &l);
	if (json)
		printf("]\n");
	gatemap_close(gm);
	return 0;
}

int show_allowlist(const char *pin_root, bool json)
{
	return show_list(pin_root, json, GM_ALLOW_SRC, show_prefix, NULL);
}
