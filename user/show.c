// SPDX-License-Identifier: GPL-2.0-only
/* `aopgate status`, `flows`, `deny list` and `allow list` output. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "attach.h"
#include "cli.h"
#include "gatemap.h"
#include "show.h"

#define FOREVER (~0ull)

static struct gatemap *open_maps(const char *pin_root)
{
	struct gatemap *gm;
	char err[256];

	gm = gatemap_open(pin_root, err, sizeof(err));
	if (!gm)
		cli_err("%s", err);
	return gm;
}

static __u32 map_count(struct gatemap *gm, enum gatemap_id id, size_t key_size)
{
	char cur[64], next[64];
	__u32 n = 0;

	if (key_size > sizeof(cur))
		return 0;
	while (!bpf_map_get_next_key(gatemap_fd(gm, id), n ? cur : NULL, next)) {
		memcpy(cur, next, key_size);
		n++;
	}
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

static const struct {
	enum gatemap_id id;
	size_t key_size;
} fill[] = {
	{ GM_VERIFIED, sizeof(struct flow_key) },
	{ GM_PENDING, sizeof(struct flow_key) },
	{ GM_PENALTY, sizeof(struct src_key) },
	{ GM_ALLOW_SRC, sizeof(struct allow_key) },
	{ GM_SYN_RL, sizeof(struct src_key) },
};

int show_status(const char *pin_root, bool json)
{
	struct attachment at[64];
	struct counter c[CNT_MAX];
	struct gatemap *gm;
	struct gate_cfg cfg;
	char d[32];
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
		cli_json_str(stdout, pin_root);
		printf(", \"mode\": \"%s\", \"attachments\": [", mode);
		for (i = 0; i < n; i++) {
			printf("%s{\"interface\": ", i ? ", " : "");
			cli_json_str(stdout, at[i].ifname);
			printf(", \"ifindex\": %d, \"attach_mode\": \"%s\", \"prog_id\": %u, \"link_id\": %u}",
			       at[i].ifindex, at[i].mode, at[i].prog_id, at[i].link_id);
		}
		printf("], \"gate_ports\": [");
		print_ports(gm, PORT_GATE, true);
		printf("], \"backend_ports\": [");
		print_ports(gm, PORT_BACKEND, true);
		printf("], \"config\": {\"allowlist\": %s, \"frag_pass\": %s, "
		       "\"pending_packets\": %u, \"pending_age_ns\": %llu, "
		       "\"syn_rate\": %llu, \"syn_burst\": %llu}, \"maps\": {",
		       cfg.flags & GATE_F_ALLOWLIST ? "true" : "false",
		       cfg.flags & GATE_F_FRAG_PASS ? "true" : "false",
		       cfg.pending_max_packets,
		       (unsigned long long)cfg.pending_max_age_ns,
		       (unsigned long long)cfg.syn_rate,
		       (unsigned long long)cfg.syn_burst);
		for (i = 0; i < (int)(sizeof(fill) / sizeof(fill[0])); i++)
			printf("%s\"%s\": {\"entries\": %u, \"max_entries\": %u}",
			       i ? ", " : "", gatemap_name(fill[i].id),
			       map_count(gm, fill[i].id, fill[i].key_size),
			       map_max(gm, fill[i].id));
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

	printf("pin root   %s\nmode       %s\n", pin_root, mode);
	if (!n)
		printf("attached   (none)\n");
	for (i = 0; i < n; i++)
		printf("attached   %-12s %-8s program id %u, link id %u\n",
		       at[i].ifname, at[i].mode, at[i].prog_id, at[i].link_id);
	printf("gate ports    ");
	print_ports(gm, PORT_GATE, false);
	printf("\nbackend ports ");
	print_ports(gm, PORT_BACKEND, false);
	printf("\nallowlist  %s   fragments %s\n",
	       cfg.flags & GATE_F_ALLOWLIST ? "on" : "off",
	       cfg.flags & GATE_F_FRAG_PASS ? "pass" : "drop");
	printf("pending    %u packets, %s   syn rate %llu/s burst %llu\n",
	       cfg.pending_max_packets,
	       cli_duration_str(cfg.pending_max_age_ns, d, sizeof(d)),
	       (unsigned long long)cfg.syn_rate, (unsigned long long)cfg.syn_burst);
	printf("\n%-12s %10s %10s\n", "map", "entries", "max");
	for (i = 0; i < (int)(sizeof(fill) / sizeof(fill[0])); i++)
		printf("%-12s %10u %10u\n", gatemap_name(fill[i].id),
		       map_count(gm, fill[i].id, fill[i].key_size),
		       map_max(gm, fill[i].id));
	printf("\n%-24s %14s %16s\n", "counter", "packets", "bytes");
	for (i = 0; i < CNT_MAX; i++)
		printf("%-24s %14llu %16llu\n", gatemap_counter_name(i),
		       (unsigned long long)c[i].packets,
		       (unsigned long long)c[i].bytes);
	gatemap_close(gm);
	return 0;
}

/* "[2001:db8::1]:443" or "192.0.2.1:443". */
static const char *endpoint(const __u8 addr[16], __be16 port, char *buf,
			    size_t len)
{
	char a[INET6_ADDRSTRLEN];

	gatemap_addr_str(addr, a, sizeof(a));
	snprintf(buf, len, strchr(a, ':') ? "[%s]:%u" : "%s:%u", a, ntohs(port));
	return buf;
}

static void print_flow_json(const struct flow_key *k, bool *first)
{
	char s[64], d[64];

	printf("%s{\"src\": \"%s\", \"dst\": \"%s\"", *first ? "" : ", ",
	       endpoint(k->saddr, k->sport, s, sizeof(s)),
	       endpoint(k->daddr, k->dport, d, sizeof(d)));
	*first = false;
}

int show_flows(const char *pin_root, bool json)
{
	struct flow_key cur, next;
	struct verified_flow vf;
	struct pending_flow pf;
	struct gatemap *gm;
	char s[64], d[64], age[32], exp[32];
	__u64 now = gatemap_now_ns();
	bool first = true;
	int fd;

	gm = open_maps(pin_root);
	if (!gm)
		return -1;

	fd = gatemap_fd(gm, GM_VERIFIED);
	if (json)
		printf("{\"verified\": [");
	else
		printf("%-8s %-42s %-42s %5s %-16s %9s %10s %12s %s\n", "state",
		       "source", "destination", "site", "cert", "age",
		       "packets", "bytes", "expires");
	for (bool start = true;
	     !bpf_map_get_next_key(fd, start ? NULL : &cur, &next); start = false) {
		cur = next;
		if (bpf_map_lookup_elem(fd, &cur, &vf))
			continue;
		char cert[17];

		for (int i = 0; i < 8; i++)
			sprintf(cert + 2 * i, "%02x", vf.cert_id[i]);
		if (json) {
			print_flow_json(&cur, &first);
			printf(", \"site_id\": %u, \"cert_id\": \"%s\", \"age_ns\": %llu, "
			       "\"expires_in_ns\": %lld, \"packets\": %llu, \"bytes\": %llu}",
			       vf.site_id, cert,
			       (unsigned long long)(now - vf.verified_ns),
			       vf.expires_ns ? (long long)(vf.expires_ns - now) : 0,
			       (unsigned long long)vf.packets,
			       (unsigned long long)vf.bytes);
			continue;
		}
		if (!vf.expires_ns)
			snprintf(exp, sizeof(exp), "open");
		else if (vf.expires_ns > now)
			cli_duration_str(vf.expires_ns - now, exp, sizeof(exp));
		else
			snprintf(exp, sizeof(exp), "expired");
		printf("%-8s %-42s %-42s %5u %-16s %9s %10llu %12llu %s\n",
		       "verified", endpoint(cur.saddr, cur.sport, s, sizeof(s)),
		       endpoint(cur.daddr, cur.dport, d, sizeof(d)), vf.site_id,
		       cert, cli_duration_str(now - vf.verified_ns, age, sizeof(age)),
		       (unsigned long long)vf.packets, (unsigned long long)vf.bytes,
		       exp);
	}

	fd = gatemap_fd(gm, GM_PENDING);
	first = true;
	if (json)
		printf("], \"pending\": [");
	for (bool start = true;
	     !bpf_map_get_next_key(fd, start ? NULL : &cur, &next); start = false) {
		cur = next;
		if (bpf_map_lookup_elem(fd, &cur, &pf))
			continue;
		if (json) {
			print_flow_json(&cur, &first);
			printf(", \"age_ns\": %llu, \"packets\": %u}",
			       (unsigned long long)(now - pf.first_seen_ns),
			       pf.packets);
			continue;
		}
		printf("%-8s %-42s %-42s %5s %-16s %9s %10u %12s %s\n", "pending",
		       endpoint(cur.saddr, cur.sport, s, sizeof(s)),
		       endpoint(cur.daddr, cur.dport, d, sizeof(d)), "-", "-",
		       cli_duration_str(now - pf.first_seen_ns, age, sizeof(age)),
		       pf.packets, "-", "-");
	}
	if (json)
		printf("]}\n");
	gatemap_close(gm);
	return 0;
}

int show_penalties(const char *pin_root, bool json)
{
	struct src_key cur, next;
	struct penalty p;
	struct gatemap *gm;
	char a[INET6_ADDRSTRLEN], left[32];
	__u64 now = gatemap_now_ns();
	bool first = true;
	int fd;

	gm = open_maps(pin_root);
	if (!gm)
		return -1;
	fd = gatemap_fd(gm, GM_PENALTY);
	if (json)
		printf("[");
	else
		printf("%-40s %8s %s\n", "source", "strikes", "remaining");
	for (bool start = true;
	     !bpf_map_get_next_key(fd, start ? NULL : &cur, &next); start = false) {
		cur = next;
		if (bpf_map_lookup_elem(fd, &cur, &p) || p.until_ns <= now)
			continue;
		gatemap_addr_str(cur.addr, a, sizeof(a));
		if (p.until_ns == FOREVER)
			snprintf(left, sizeof(left), "forever");
		else
			cli_duration_str(p.until_ns - now, left, sizeof(left));
		if (json) {
			printf("%s{\"source\": \"%s\", \"strikes\": %u, \"remaining_ns\": %lld}",
			       first ? "" : ", ", a, p.strikes,
			       p.until_ns == FOREVER ? -1 : (long long)(p.until_ns - now));
			first = false;
		} else {
			printf("%-40s %8u %s\n", a, p.strikes, left);
		}
	}
	if (json)
		printf("]\n");
	gatemap_close(gm);
	return 0;
}

int show_allowlist(const char *pin_root, bool json)
{
	struct allow_key cur, next;
	struct gatemap *gm;
	char a[INET6_ADDRSTRLEN];
	bool first = true, v4;
	int fd;

	gm = open_maps(pin_root);
	if (!gm)
		return -1;
	fd = gatemap_fd(gm, GM_ALLOW_SRC);
	if (json)
		printf("[");
	for (bool start = true;
	     !bpf_map_get_next_key(fd, start ? NULL : &cur, &next); start = false) {
		cur = next;
		gatemap_addr_str(cur.addr, a, sizeof(a));
		v4 = !strchr(a, ':');
		if (json) {
			printf("%s\"%s/%u\"", first ? "" : ", ", a,
			       v4 ? cur.prefixlen - 96 : cur.prefixlen);
			first = false;
		} else {
			printf("%s/%u\n", a, v4 ? cur.prefixlen - 96 : cur.prefixlen);
		}
	}
	if (json)
		printf("]\n");
	gatemap_close(gm);
	return 0;
}
