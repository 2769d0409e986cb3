// SPDX-License-Identifier: GPL-2.0-only
/* Loading the gate, pinning its maps and links, attaching and detaching. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach.h"
#include "cli.h"
#include "gatemap.h"
#include "iface.h"
#include "settings.h"
#include "syncookies.h"
#include "gate.skel.h"

/* tcx (kernel 6.6) is newer than the uapi headers libbpf 1.1 builds with. */
#ifndef BPF_TCX_INGRESS
#define AOPGATE_TCX_INGRESS 46
#else
#define AOPGATE_TCX_INGRESS BPF_TCX_INGRESS
#endif
#define AOPGATE_LINK_TYPE_TCX 11

#define LINK_PREFIX "link-"
/* The tc companion of an XDP attachment (gate_tc_cookie), beside its link. */
#define COMPANION_PREFIX "tccookie-"

int attach_mode_parse(const char *s, enum attach_mode *mode)
{
	static const char *const names[] = {
		[ATTACH_AUTO] = "auto", [ATTACH_NATIVE] = "native",
		[ATTACH_GENERIC] = "generic", [ATTACH_TC] = "tc",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*mode = i;
			return 0;
		}
	}
	return -1;
}

/* libbpf's own messages: warnings and errors only, with our prefix. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG || (level == LIBBPF_INFO && !getenv("AOPGATE_DEBUG")))
		return 0;
	fputs("aopgate: libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

static void link_pin_path(char *buf, size_t len, const char *pin_root,
			  const char *ifname)
{
	snprintf(buf, len, "%s/" LINK_PREFIX "%s", pin_root, ifname);
}

static void companion_pin_path(char *buf, size_t len, const char *pin_root,
			       const char *ifname)
{
	snprintf(buf, len, "%s/" COMPANION_PREFIX "%s", pin_root, ifname);
}

/*
 * Sizes a map: an existing pin keeps its size (libbpf refuses to reuse a
 * map of another size), a request that contradicts it is an error.
 */
static int size_map(struct bpf_map *map, const char *pin_root, __u32 want)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_root, bpf_map__name(map));
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (want)
			return bpf_map__set_max_entries(map, want);
		return 0;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		cli_err("cannot inspect pinned map %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (want && want != info.max_entries) {
		cli_err("map %s already holds up to %u entries; 'aopgate detach --purge' to resize it",
			bpf_map__name(map), info.max_entries);
		return -1;
	}
	return bpf_map__set_max_entries(map, info.max_entries);
}

static int write_ports(struct gatemap *gm, const struct attach_opts *o)
{
	struct port_cfg pc;
	__u32 port;
	int fd = gatemap_fd(gm, GM_PORTS), i;

	for (port = 0; port < 65536; port++) {
		pc.role = PORT_NONE;
		for (i = 0; i < o->n_gate_ports; i++)
			if (o->gate_ports[i] == port)
				pc.role = PORT_GATE;
		for (i = 0; i < o->n_backend_ports; i++)
			if (o->backend_ports[i] == port)
				pc.role = PORT_BACKEND;
		if (bpf_map_update_elem(fd, &port, &pc, BPF_ANY))
			return -errno;
	}
	return 0;
}

/*
 * Writes defaults on first attach, then what the options ask for; why:
 * why SYN cookies cannot work on this attachment, NULL if they can.
 */
static int configure(const struct attach_opts *o, bool first, const char *why)
{
	static const __u16 default_gate[] = { 443 };
	struct attach_opts ports = *o;
	struct gatemap *gm;
	struct gate_cfg cfg;
	char err[256];
	int ret = -1;

	gm = gatemap_open(o->pin_root, err, sizeof(err));
	if (!gm) {
		cli_err("%s", err);
		return -1;
	}
	if (first) {
		settings_defaults(&cfg);
		if (!ports.gate_ports) {
			ports.gate_ports = default_gate;
			ports.n_gate_ports = 1;
		}
	} else if (gatemap_read_cfg(gm, &cfg)) {
		cli_err("cannot read gate_cfg: %s", strerror(errno));
		goto out;
	}
	if (o->gate_mode >= 0)
		cfg.mode = o->gate_mode;
	syncookies_configure(o, &cfg, first, why);
	if (gatemap_write_cfg(gm, &cfg)) {
		cli_err("cannot write gate_cfg: %s", strerror(errno));
		goto out;
	}
	if ((ports.gate_ports || ports.backend_ports) && write_ports(gm, &ports)) {
		cli_err("cannot write the port table: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	gatemap_close(gm);
	return ret;
}

/* Fills a's mode/ids from the link behind fd; -1 if it is not ours. */
static int link_describe(int fd, struct attachment *a)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -1;
	a->link_id = info.id;
	a->prog_id = info.prog_id;
	/* xdp.ifindex and tcx.ifindex share the union's first word. */
	a->ifindex = info.xdp.ifindex;
	if (info.type == AOPGATE_LINK_TYPE_TCX) {
		a->mode = "tc";
	} else if (info.type == BPF_LINK_TYPE_XDP) {
		a->mode = "native";
		if (a->ifindex && !bpf_xdp_query(a->ifindex, 0, &q) &&
		    q.attach_mode == XDP_ATTACHED_SKB)
			a->mode = "generic";
	} else {
		return -1;
	}
	if (!a->ifindex)
		a->mode = "defunct";
	return 0;
}

/* Finds the link fd holding the XDP program prog_id on ifindex, or -1. */
static int find_xdp_link(int ifindex, __u32 prog_id)
{
	__u32 id = 0;

	while (!bpf_link_get_next_id(id, &id)) {
		struct attachment a = {};
		int fd = bpf_link_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (!link_describe(fd, &a) && a.ifindex == ifindex &&
		    a.prog_id == prog_id && strcmp(a.mode, "tc"))
			return fd;
		close(fd);
	}
	return -1;
}

/* Makes room on ifindex: refuses a foreign XDP program unless forced. */
static int clear_foreign_xdp(const struct attach_opts *o, int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int fd;

	if (bpf_xdp_query(ifindex, 0, &q) || q.attach_mode == XDP_ATTACHED_NONE)
		return 0;
	if (!o->force) {
		cli_err("%s already carries XDP program id %u; use --force to replace it, "
			"or -m tc to run beside it", o->ifname, q.prog_id);
		return -1;
	}
	fd = find_xdp_link(ifindex, q.prog_id);
	if (fd >= 0) {
		int ret = bpf_link_detach(fd);

		close(fd);
		if (!ret)
			return 0;
	}
	if (bpf_xdp_detach(ifindex, q.attach_mode == XDP_ATTACHED_SKB ?
					    XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE,
			   NULL)) {
		cli_err("cannot remove XDP program id %u from %s: %s", q.prog_id,
			o->ifname, strerror(errno));
		return -1;
	}
	return 0;
}

static int link_new(const struct attach_opts *o, int ifindex, int prog_fd,
		    enum attach_mode mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	int fd;

	if (mode == ATTACH_TC)
		return bpf_link_create(prog_fd, ifindex, AOPGATE_TCX_INGRESS, NULL);
	if (clear_foreign_xdp(o, ifindex))
		return -EEXIST;
	lo.flags = mode == ATTACH_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lo);
	if (fd < 0 && mode == ATTACH_AUTO && (errno == EOPNOTSUPP || errno == EINVAL)) {
		fprintf(stderr, "aopgate: %s has no native XDP; using generic mode\n",
			o->ifname);
		lo.flags = XDP_FLAGS_SKB_MODE;
		fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lo);
	}
	return fd < 0 ? -errno : fd;
}

static bool mode_matches(enum attach_mode want, const char *have)
{
	switch (want) {
	case ATTACH_AUTO:
		return strcmp(have, "tc") && strcmp(have, "defunct");
	case ATTACH_NATIVE:
		return !strcmp(have, "native");
	case ATTACH_GENERIC:
		return !strcmp(have, "generic");
	case ATTACH_TC:
		return !strcmp(have, "tc");
	}
	return false;
}

/* Attaches prog_fd to ifname: swaps it into an existing link, or makes one. */
static int link_program(const struct attach_opts *o, int ifindex, int prog_fd,
			struct attachment *a)
{
	char path[PATH_MAX];
	int fd, ret;

	link_pin_path(path, sizeof(path), o->pin_root, o->ifname);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (!link_describe(fd, a) && a->ifindex == ifindex &&
		    mode_matches(o->mode, a->mode)) {
			/* The same attachment: swap the program atomically. */
			ret = bpf_link_update(fd, prog_fd, NULL);
			if (ret)
				cli_err("cannot replace the program on %s: %s",
					o->ifname, strerror(errno));
			else
				link_describe(fd, a);	/* the id now attached, not the old one */
			close(fd);
			return ret ? -1 : 0;
		}
		/* Another mode, or the interface was recreated: start over. */
		bpf_link_detach(fd);
		close(fd);
		unlink(path);
	}
	fd = link_new(o, ifindex, prog_fd, o->mode);
	if (fd == -EEXIST)
		return -1;
	if (fd < 0) {
		cli_err("cannot attach to %s in %s mode: %s%s", o->ifname,
			o->mode == ATTACH_TC ? "tc" : o->mode == ATTACH_GENERIC ? "generic" : "native",
			strerror(-fd),
			-fd == EOPNOTSUPP ? " (try -m generic or -m tc)" : "");
		return -1;
	}
	if (bpf_obj_pin(fd, path)) {
		cli_err("cannot pin the link at %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	link_describe(fd, a);
	close(fd);
	return 0;
}

/*
 * The tc companion of an XDP attachment: gate_tc_cookie on the same
 * interface's tcx ingress, its link pinned beside the XDP link. XDP has
 * no socket to hand the listener, so the companion assigns the request
 * socket for the cookie ACKs the XDP gate accepted. Returns NULL, or why
 * it could not be attached (cookies then stay off).
 */
static const char *companion_attach(const struct attach_opts *o, int ifindex, int prog_fd)
{
	static char why[PATH_MAX + 160];
	struct attachment a = { 0 };
	char path[PATH_MAX];
	int fd;

	companion_pin_path(path, sizeof(path), o->pin_root, o->ifname);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (!link_describe(fd, &a) && a.ifindex == ifindex && !strcmp(a.mode, "tc") &&
		    !bpf_link_update(fd, prog_fd, NULL)) {
			close(fd);
			return NULL;
		}
		bpf_link_detach(fd);
		close(fd);
		unlink(path);
	}
	fd = bpf_link_create(prog_fd, ifindex, AOPGATE_TCX_INGRESS, NULL);
	if (fd < 0) {
		snprintf(why, sizeof(why), "its tc companion cannot be attached to %s: %s",
			 o->ifname, strerror(errno));
		return why;
	}
	if (bpf_obj_pin(fd, path)) {
		snprintf(why, sizeof(why), "its tc companion cannot be pinned at %s: %s",
			 path, strerror(errno));
		bpf_link_detach(fd);
		close(fd);
		return why;
	}
	close(fd);
	return NULL;
}

/* Removes ifname's tc companion, if it has one. */
static void companion_detach(const char *pin_root, const char *ifname)
{
	char path[PATH_MAX];
	int fd;

	companion_pin_path(path, sizeof(path), pin_root, ifname);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (bpf_link_detach(fd) && errno != ENOLINK)
		cli_err("cannot detach the tc companion from %s: %s", ifname, strerror(errno));
	close(fd);
	unlink(path);
}

/* The link id of ifname's tc companion, or 0. */
static __u32 companion_id(const char *pin_root, const char *ifname)
{
	struct attachment a = { 0 };
	char path[PATH_MAX];
	int fd;

	companion_pin_path(path, sizeof(path), pin_root, ifname);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (link_describe(fd, &a))
		a.link_id = 0;
	close(fd);
	return a.link_id;
}

int attach_run(const struct attach_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = o->pin_root);
	struct attachment a = { 0 };
	struct gate_bpf *skel;
	struct bpf_program *prog;
	char cfg_path[PATH_MAX];
	const char *why;
	int ifindex, err;
	bool first, tc = o->mode == ATTACH_TC;

	ifindex = if_nametoindex(o->ifname);
	if (!ifindex) {
		cli_err("unknown interface: %s", o->ifname);
		return -1;
	}
	if (mkdir(o->pin_root, 0700) && errno != EEXIST) {
		cli_err("cannot create pin root %s: %s", o->pin_root, strerror(errno));
		return -1;
	}
	libbpf_set_print(libbpf_print);

	snprintf(cfg_path, sizeof(cfg_path), "%s/%s", o->pin_root,
		 AOPGATE_MAP_GATE_CFG);
	first = access(cfg_path, F_OK) != 0;

	skel = gate_bpf__open_opts(&oo);
	if (!skel) {
		cli_err("cannot open the gate program: %s", strerror(errno));
		return -1;
	}
	/* Each family's verified and pending take the sizes given. */
	if (size_map(skel->maps.verified, o->pin_root, o->max_verified) ||
	    size_map(skel->maps.verified4, o->pin_root, o->max_verified) ||
	    size_map(skel->maps.pending, o->pin_root, o->max_pending) ||
	    size_map(skel->maps.pending4, o->pin_root, o->max_pending) ||
	    size_map(skel->maps.penalty, o->pin_root, o->max_penalty) ||
	    size_map(skel->maps.syn_rl, o->pin_root, o->max_syn_rl) ||
	    size_map(skel->maps.allow_src, o->pin_root, o->max_allow) ||
	    size_map(skel->maps.deny, o->pin_root, o->max_deny))
		goto err;
	/*
	 * Only the entry points this attachment uses need loading: gate_tc,
	 * or gate_xdp with its tc companion where cookies can work.
	 */
	why = syncookies_why();
	bpf_program__set_autoload(skel->progs.gate_tc, tc);
	bpf_program__set_autoload(skel->progs.gate_xdp, !tc);
	bpf_program__set_autoload(skel->progs.gate_tc_cookie, !tc && !why);
	prog = tc ? skel->progs.gate_tc : skel->progs.gate_xdp;

	err = gate_bpf__load(skel);
	if (err) {
		cli_err("cannot load the gate program: %s", strerror(-err));
		goto err;
	}
	/* The companion goes first: cookie ACKs must find it ready. */
	if (!tc && !why)
		why = companion_attach(o, ifindex, bpf_program__fd(skel->progs.gate_tc_cookie));
	if (tc || why)
		companion_detach(o->pin_root, o->ifname);
	if (configure(o, first, why))
		goto err_companion;
	if (link_program(o, ifindex, bpf_program__fd(prog), &a))
		goto err_companion;
	printf("attached to %s (%s, program id %u), maps under %s\n", o->ifname,
	       a.mode ? a.mode : "?", a.prog_id, o->pin_root);
	a.companion_id = companion_id(o->pin_root, o->ifname);
	if (a.companion_id)
		printf("tc companion on %s (link id %u): hands the listener the cookie ACKs "
		       "XDP accepted\n", o->ifname, a.companion_id);
	gate_bpf__destroy(skel);
	return 0;
err_companion:
	/* A companion without an XDP gate on its interface serves nobody. */
	link_pin_path(cfg_path, sizeof(cfg_path), o->pin_root, o->ifname);
	if (!tc && access(cfg_path, F_OK))
		companion_detach(o->pin_root, o->ifname);
err:
	gate_bpf__destroy(skel);
	return -1;
}

int attach_list(const char *pin_root, struct attachment *out, int max)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(pin_root);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		cli_err("cannot read %s: %s", pin_root, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) && n < max) {
		struct attachment *a = &out[n];
		int fd;

		if (strncmp(de->d_name, LINK_PREFIX, strlen(LINK_PREFIX)))
			continue;
		if (strlen(de->d_name + strlen(LINK_PREFIX)) >= IF_NAMESIZE)
			continue;
		memset(a, 0, sizeof(*a));
		strcpy(a->ifname, de->d_name + strlen(LINK_PREFIX));
		snprintf(path, sizeof(path), "%s/%s", pin_root, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (!link_describe(fd, a)) {
			a->companion_id = companion_id(pin_root, a->ifname);
			n++;
		}
		close(fd);
	}
	closedir(d);
	return n;
}

int detach_run(const char *ifname, const char *pin_root, bool purge)
{
	struct attachment others[64];
	char path[PATH_MAX];
	int fd, n;

	link_pin_path(path, sizeof(path), pin_root, ifname);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		cli_err("nothing attached to %s under %s", ifname, pin_root);
		return -1;
	}
	if (bpf_link_detach(fd) && errno != ENOLINK) {
		cli_err("cannot detach from %s: %s", ifname, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	unlink(path);
	companion_detach(pin_root, ifname);
	printf("detached from %s\n", ifname);
	if (attach_list(pin_root, others, 64) == 0)
		syncookies_restore(pin_root);
	if (!purge)
		return 0;

	n = attach_list(pin_root, others, 64);
	if (n < 0)
		return -1;
	if (n > 0) {
		cli_err("maps kept: still attached to %s (detach it first)",
			others[0].ifname);
		return -1;
	}
	for (int i = 0; i < GM_N_MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_root, gatemap_name(i));
		if (unlink(path) && errno != ENOENT) {
			cli_err("cannot remove %s: %s", path, strerror(errno));
			return -1;
		}
	}
	if (rmdir(pin_root) && errno != ENOENT && errno != ENOTEMPTY) {
		cli_err("cannot remove %s: %s", pin_root, strerror(errno));
		return -1;
	}
	printf("removed the maps under %s\n", pin_root);
	return 0;
}
