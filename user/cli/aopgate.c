// SPDX-License-Identifier: GPL-2.0-only
/* aopgate: the gate's loader and admin CLI. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "addr.h"
#include "attach.h"
#include "cli.h"
#include "drops.h"
#include "duration.h"
#include "gatemap.h"
#include "pinroot.h"
#include "settings.h"
#include "show.h"
#include "top.h"
#include "version.h"
#include "value.h"

#define MAX_PORTS 64

static const char usage[] =
	"usage: aopgate VERB [options]\n"
	"\n"
	"  attach -i IFACE [-m auto|native|generic|tc] [--gate-ports 443,...]\n"
	"         [--backend-ports 8080,...] [--mode monitor|enforce] [--force]\n"
	"         [--max-flows N] [--max-pending N] [--max-penalty N]\n"
	"         [--max-sources N] [--max-allow N] [--max-deny N]\n"
	"  detach -i IFACE [--purge]\n"
	"  status [--json]                  attachments, mode, knobs, counters\n"
	"  flows  [--json]                  verified and pending flows\n"
	"  drops  [--follow] [--json]       sampled drop events: who is (would be) dropped\n"
	"  top    [--once] [--interval D]   live view: verdict rates, drops, penalties\n"
	"  deny   add CIDR [--for DURATION] | del CIDR | list [--json]\n"
	"  allow  add CIDR | del CIDR | list [--json] | load FILE | clear\n"
	"  mode   monitor | enforce\n"
	"  set    KEY VALUE                 a runtime setting (below)\n"
	"\n"
	"Settings:\n";

static const char usage_end[] =
	"\n"
	"Every verb takes --pin-root DIR (default " AOPGATE_PIN_ROOT ").\n"
	"aopgate --version prints the version.\n";

static void print_usage(FILE *f)
{
	fputs(usage, f);
	settings_usage(f);
	fputs(usage_end, f);
}

struct cli {
	const char *pin_root;	/* where the pins are: pins->path once resolved */
	const struct pinroot *pins;
	bool json;
	int argc;		/* positional arguments after the verb */
	char **argv;
};

static struct gatemap *maps(const struct cli *c)
{
	struct gatemap *gm;
	char err[256];

	gm = gatemap_open(c->pin_root, err, sizeof(err));
	if (!gm)
		cli_err("%s", err);
	return gm;
}

static int need_args(const struct cli *c, int n, const char *what)
{
	if (c->argc == n)
		return 0;
	cli_err("%s", what);
	return 2;
}

static int verb_attach(struct cli *c, struct attach_opts *o)
{
	if (!o->ifname) {
		cli_err("attach needs -i IFACE");
		return 1;
	}
	if (need_args(c, 0, "attach takes no positional arguments"))
		return 1;
	o->pin_root = c->pin_root;
	if (attach_run(o))
		return 1;
	if (c->pins->reach == PINROOT_VIA_HOST)
		fprintf(stderr, "aopgate: note: %s is in %s; the gate stays attached after it exits\n",
			c->pins->dir, c->pins->note);
	return 0;
}

static int verb_detach(struct cli *c, const char *ifname, bool purge)
{
	if (!ifname) {
		cli_err("detach needs -i IFACE");
		return 1;
	}
	return detach_run(ifname, c->pin_root, purge) ? 1 : 0;
}

/*
 * `deny add CIDR [--for D]` writes an operator's deny, which nothing else
 * removes and nothing evicts; `deny del` removes a deny of any origin (an
 * operator's or a CrowdSec ban's) and any penalty the agent gave the
 * address's prefix.
 */
static int verb_deny(struct cli *c, uint64_t for_ns)
{
	struct gatemap *gm;
	struct allow_key key;
	struct src_key src;
	struct gate_cfg cfg;
	__u64 now;
	bool found;
	int fd, err, ret = 1;

	if (c->argc >= 1 && !strcmp(c->argv[0], "list"))
		return need_args(c, 1, "usage: aopgate deny list [--json]") ? 2 :
		       show_penalties(c->pin_root, c->json) ? 1 : 0;
	if (c->argc != 2 || (strcmp(c->argv[0], "add") && strcmp(c->argv[0], "del"))) {
		cli_err("usage: aopgate deny add CIDR [--for DURATION] | del CIDR | list");
		return 2;
	}
	if (addr_cidr_parse(c->argv[1], &key)) {
		cli_err("not an IP address or CIDR (host bits zero): %s", c->argv[1]);
		return 2;
	}
	gm = maps(c);
	if (!gm)
		return 1;
	fd = gatemap_fd(gm, GM_DENY);
	if (!strcmp(c->argv[0], "del")) {
		found = bpf_map_delete_elem(fd, &key) == 0;
		if (key.prefixlen == 128 && gatemap_read_cfg(gm, &cfg) == 0) {
			gatemap_src_prefix(&cfg, key.addr, &src);
			found |= bpf_map_delete_elem(gatemap_fd(gm, GM_PENALTY), &src) == 0;
		}
		if (!found)
			cli_err("%s is not denied", c->argv[1]);
		else if ((err = gatemap_deny_flag(gm)))
			cli_err("cannot write gate_cfg: %s", strerror(-err));
		else
			ret = 0;
		goto out;
	}
	now = gatemap_now_ns();
	err = gatemap_deny_put(gm, &key, for_ns == AOPGATE_FOREVER ? AOPGATE_FOREVER : now + for_ns,
			       DENY_OPERATOR);
	if (err == -ENOSPC || err == -E2BIG)
		cli_err("cannot deny %s: the deny map is full (%s); remove denies, or "
			"detach --purge and attach with a larger --max-deny", c->argv[1],
			strerror(-err));
	else if (err)
		cli_err("cannot deny %s: %s", c->argv[1], strerror(-err));
	else
		ret = 0;
out:
	gatemap_close(gm);
	return ret;
}

static int allowlist_on(struct gatemap *gm)
{
	struct gate_cfg cfg;

	return !gatemap_read_cfg(gm, &cfg) && (cfg.flags & GATE_F_ALLOWLIST);
}

/*
 * Reads FILE (one CIDR a line, '#' comments) and makes allow_src exactly
 * that set: new prefixes go in before stale ones go out, so no listed
 * source is refused while the list changes. Nothing changes on an error.
 */
static int allow_load(struct gatemap *gm, const char *file)
{
	struct allow_key *keys = NULL, *tmp, cur, next;
	size_t n = 0, cap = 0, i, lineno = 0;
	char line[512], *p, *end;
	int fd = gatemap_fd(gm, GM_ALLOW_SRC), ret = -1;
	FILE *f;

	f = fopen(file, "r");
	if (!f) {
		cli_err("cannot read %s: %s", file, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if ((p = strchr(line, '#')))
			*p = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		for (end = p + strlen(p); end > p && strchr(" \t\r\n", end[-1]); end--)
			;
		*end = '\0';
		if (!*p)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			tmp = realloc(keys, cap * sizeof(*keys));
			if (!tmp) {
				cli_err("out of memory");
				goto out;
			}
			keys = tmp;
		}
		if (addr_cidr_parse(p, &keys[n])) {
			cli_err("%s:%zu: not a CIDR: %s", file, lineno, p);
			goto out;
		}
		n++;
	}
	if (ferror(f)) {
		cli_err("cannot read %s: %s", file, strerror(errno));
		goto out;
	}
	for (i = 0; i < n; i++) {
		__u8 one = 1;

		if (bpf_map_update_elem(fd, &keys[i], &one, BPF_ANY)) {
			cli_err("%s: cannot add entry %zu: %s", file, i + 1,
				strerror(errno));
			goto out;
		}
	}
	for (bool start = true;
	     !bpf_map_get_next_key(fd, start ? NULL : &cur, &next);) {
		bool keep = false;

		for (i = 0; i < n && !keep; i++)
			keep = !memcmp(&keys[i], &next, sizeof(next));
		if (keep) {
			cur = next;
			start = false;
		} else if (bpf_map_delete_elem(fd, &next)) {
			/* (A deleted key restarts get_next_key from cur.) */
			cli_err("%s: cannot remove a stale prefix: %s", file,
				strerror(errno));
			goto out;
		}
	}
	printf("allowlist: %zu prefixes from %s\n", n, file);
	ret = 0;
out:
	fclose(f);
	free(keys);
	return ret;
}

static int verb_allow(struct cli *c)
{
	const char *sub = c->argc ? c->argv[0] : "";
	struct allow_key key, next;
	struct gatemap *gm;
	int fd, ret = 1;
	__u8 one = 1;

	if (!strcmp(sub, "list"))
		return show_allowlist(c->pin_root, c->json) ? 1 : 0;
	if (!((c->argc == 2 && (!strcmp(sub, "add") || !strcmp(sub, "del") ||
				!strcmp(sub, "load"))) ||
	      (c->argc == 1 && !strcmp(sub, "clear")))) {
		cli_err("usage: aopgate allow add CIDR | del CIDR | list | load FILE | clear");
		return 1;
	}
	if ((!strcmp(sub, "add") || !strcmp(sub, "del")) &&
	    addr_cidr_parse(c->argv[1], &key)) {
		cli_err("not a CIDR (address/length, host bits zero): %s", c->argv[1]);
		return 1;
	}
	gm = maps(c);
	if (!gm)
		return 1;
	fd = gatemap_fd(gm, GM_ALLOW_SRC);
	if (!strcmp(sub, "add")) {
		if (bpf_map_update_elem(fd, &key, &one, BPF_ANY))
			cli_err("cannot add %s: %s", c->argv[1], strerror(errno));
		else
			ret = 0;
	} else if (!strcmp(sub, "del")) {
		if (bpf_map_delete_elem(fd, &key))
			cli_err("%s is not in the allowlist", c->argv[1]);
		else
			ret = 0;
	} else if (!strcmp(sub, "load")) {
		ret = allow_load(gm, c->argv[1]) ? 1 : 0;
	} else if (allowlist_on(gm)) {
		cli_err("the allowlist is on and clearing it would drop every source; "
			"'aopgate set allowlist off' first");
	} else {
		ret = 0;
		while (!bpf_map_get_next_key(fd, NULL, &next)) {
			if (bpf_map_delete_elem(fd, &next)) {
				cli_err("cannot clear the allowlist: %s", strerror(errno));
				ret = 1;
				break;
			}
		}
	}
	if (!ret && strcmp(sub, "clear") && !allowlist_on(gm))
		fprintf(stderr, "aopgate: note: the allowlist is off; "
				"'aopgate set allowlist on' enforces it\n");
	gatemap_close(gm);
	return ret;
}

/* `mode X` and `set KEY VALUE`: edit gate_cfg in place. */
static int verb_set(struct cli *c, const char *key, const char *val)
{
	struct gatemap *gm;
	struct gate_cfg cfg;
	struct allow_key ak;
	char err[160];
	int ret = 1;

	gm = maps(c);
	if (!gm)
		return 1;
	if (gatemap_read_cfg(gm, &cfg)) {
		cli_err("cannot read gate_cfg: %s", strerror(errno));
		goto out;
	}
	if (settings_set(&cfg, key, val, err, sizeof(err))) {
		cli_err("%s", err);
		ret = 2;
		goto out;
	}
	/* An empty list enforced would drop every source, the CDN too. */
	if ((cfg.flags & GATE_F_ALLOWLIST) &&
	    bpf_map_get_next_key(gatemap_fd(gm, GM_ALLOW_SRC), NULL, &ak)) {
		cli_err("the allowlist is empty and would drop every source; "
			"'aopgate allow add' or 'allow load' first");
		goto out;
	}
	if (gatemap_write_cfg(gm, &cfg))
		cli_err("cannot write gate_cfg: %s", strerror(errno));
	else
		ret = 0;
out:
	gatemap_close(gm);
	return ret;
}

enum {
	OPT_PIN_ROOT = 256, OPT_JSON, OPT_GATE_PORTS, OPT_BACKEND_PORTS,
	OPT_MODE, OPT_FORCE, OPT_PURGE, OPT_FOR, OPT_MAX_FLOWS, OPT_MAX_PENDING,
	OPT_MAX_PENALTY, OPT_MAX_SOURCES, OPT_MAX_ALLOW, OPT_MAX_DENY,
	OPT_FOLLOW, OPT_ONCE, OPT_INTERVAL,
};

static const struct option options[] = {
	{ "interface", required_argument, NULL, 'i' },
	{ "xdp-mode", required_argument, NULL, 'm' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "pin-root", required_argument, NULL, OPT_PIN_ROOT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "gate-ports", required_argument, NULL, OPT_GATE_PORTS },
	{ "backend-ports", required_argument, NULL, OPT_BACKEND_PORTS },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "purge", no_argument, NULL, OPT_PURGE },
	{ "for", required_argument, NULL, OPT_FOR },
	{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
	{ "max-pending", required_argument, NULL, OPT_MAX_PENDING },
	{ "max-penalty", required_argument, NULL, OPT_MAX_PENALTY },
	{ "max-sources", required_argument, NULL, OPT_MAX_SOURCES },
	{ "max-allow", required_argument, NULL, OPT_MAX_ALLOW },
	{ "max-deny", required_argument, NULL, OPT_MAX_DENY },
	{ "follow", no_argument, NULL, OPT_FOLLOW },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ 0 },
};

static int size_opt(const char *name, const char *val, __u32 *out)
{
	uint64_t v;

	if (value_u64(val, 1, 1u << 28, &v)) {
		cli_err("--%s must be a number from 1 to %u: %s", name, 1u << 28, val);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static __u16 gate_ports[MAX_PORTS], backend_ports[MAX_PORTS];
	struct attach_opts ao = { .gate_mode = -1 };
	struct cli c = { .pin_root = AOPGATE_PIN_ROOT };
	static struct pinroot pins;
	char err[1024];
	const char *verb, *ifname = NULL;
	uint64_t for_ns = AOPGATE_FOREVER, interval_ns = 1000000000ull;
	bool purge = false, follow = false, once = false;
	int opt;

	/* Options may come before or after the verb (getopt permutes). */
	while ((opt = getopt_long(argc, argv, "i:m:hV", options, NULL)) != -1) {
		switch (opt) {
		case 'i':
			ifname = ao.ifname = optarg;
			break;
		case 'm':
			if (attach_mode_parse(optarg, &ao.mode)) {
				cli_err("-m is auto, native, generic or tc, not '%s'", optarg);
				return 2;
			}
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		case 'V':
			printf("aopgate %s\n", AOPGATE_VERSION);
			return 0;
		case OPT_PIN_ROOT:
			c.pin_root = optarg;
			break;
		case OPT_JSON:
			c.json = true;
			break;
		case OPT_GATE_PORTS:
		case OPT_BACKEND_PORTS: {
			__u16 *p = opt == OPT_GATE_PORTS ? gate_ports : backend_ports;
			int n = cli_ports_parse(optarg, p, MAX_PORTS);

			if (n <= 0) {
				cli_err("invalid port list (1-65535, comma-separated): %s", optarg);
				return 2;
			}
			if (opt == OPT_GATE_PORTS) {
				ao.gate_ports = p;
				ao.n_gate_ports = n;
			} else {
				ao.backend_ports = p;
				ao.n_backend_ports = n;
			}
			break;
		}
		case OPT_MODE:
			if (strcmp(optarg, "monitor") && strcmp(optarg, "enforce")) {
				cli_err("--mode is monitor or enforce, not '%s'", optarg);
				return 2;
			}
			ao.gate_mode = optarg[0] == 'm' ? GATE_MONITOR : GATE_ENFORCE;
			break;
		case OPT_FORCE:
			ao.force = true;
			break;
		case OPT_PURGE:
			purge = true;
			break;
		case OPT_FOR:
			if (duration_parse(optarg, &for_ns) || !for_ns) {
				cli_err("--for must be a duration like 30s, 10m or 1h: %s", optarg);
				return 2;
			}
			break;
		case OPT_MAX_FLOWS:
			if (size_opt("max-flows", optarg, &ao.max_verified))
				return 2;
			break;
		case OPT_MAX_PENDING:
			if (size_opt("max-pending", optarg, &ao.max_pending))
				return 2;
			break;
		case OPT_MAX_PENALTY:
			if (size_opt("max-penalty", optarg, &ao.max_penalty))
				return 2;
			break;
		case OPT_MAX_SOURCES:
			if (size_opt("max-sources", optarg, &ao.max_syn_rl))
				return 2;
			break;
		case OPT_MAX_ALLOW:
			if (size_opt("max-allow", optarg, &ao.max_allow))
				return 2;
			break;
		case OPT_MAX_DENY:
			if (size_opt("max-deny", optarg, &ao.max_deny))
				return 2;
			break;
		case OPT_FOLLOW:
			follow = true;
			break;
		case OPT_ONCE:
			once = true;
			break;
		case OPT_INTERVAL:
			if (duration_parse(optarg, &interval_ns) || interval_ns < 100000000ull) {
				cli_err("--interval must be a duration of 100ms or more: %s", optarg);
				return 2;
			}
			break;
		default:
			print_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		print_usage(stderr);
		return 2;
	}
	verb = argv[optind];
	if (!strcmp(verb, "help")) {
		print_usage(stdout);
		return 0;
	}
	c.argc = argc - optind - 1;
	c.argv = argv + optind + 1;

	if (geteuid() != 0) {
		cli_err("must run as root (the gate needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN)");
		return 1;
	}
	/* Every verb works on the bpffs the host keeps, wherever this runs. */
	if (pinroot_resolve(c.pin_root, PINROOT_MOUNT, &pins, err, sizeof(err))) {
		cli_err("%s", err);
		return 1;
	}
	c.pins = &pins;
	c.pin_root = pins.path;
	if (!strcmp(verb, "attach"))
		return verb_attach(&c, &ao);
	if (!strcmp(verb, "detach"))
		return verb_detach(&c, ifname, purge);
	if (!strcmp(verb, "status"))
		return need_args(&c, 0, "status takes no arguments") ||
		       show_status(&pins, c.json);
	if (!strcmp(verb, "flows"))
		return need_args(&c, 0, "flows takes no arguments") ||
		       show_flows(c.pin_root, c.json);
	if (!strcmp(verb, "drops"))
		return need_args(&c, 0, "drops takes no arguments") ||
		       drops_run(c.pin_root, follow, c.json);
	if (!strcmp(verb, "top"))
		return need_args(&c, 0, "top takes no arguments") ||
		       top_run(c.pin_root, interval_ns, once);
	if (!strcmp(verb, "deny"))
		return verb_deny(&c, for_ns);
	if (!strcmp(verb, "allow"))
		return verb_allow(&c);
	if (!strcmp(verb, "mode"))
		return need_args(&c, 1, "usage: aopgate mode monitor|enforce") ? 2 :
		       verb_set(&c, "mode", c.argv[0]);
	if (!strcmp(verb, "set"))
		return need_args(&c, 2, "usage: aopgate set KEY VALUE") ? 2 :
		       verb_set(&c, c.argv[0], c.argv[1]);
	cli_err("unknown verb '%s'", verb);
	print_usage(stderr);
	return 2;
}
