/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Putting the gate on an interface and taking it off: loading the program,
 * pinning (or reusing) its maps and its link under a pin root.
 */
#ifndef AOPGATE_ATTACH_H
#define AOPGATE_ATTACH_H

#include <stdbool.h>
#include <net/if.h>
#include "aopgate.h"

enum attach_mode {
	ATTACH_AUTO,	/* native XDP, or generic where the driver has none */
	ATTACH_NATIVE,
	ATTACH_GENERIC,
	ATTACH_TC,	/* tcx ingress */
};

struct attach_opts {
	const char *ifname;
	const char *pin_root;	/* a path pinroot_resolve() gave */
	enum attach_mode mode;
	bool force;		/* replace another XDP program on the interface */
	/* Map sizes; 0 keeps the existing maps' size or the default. */
	__u32 max_verified, max_pending, max_penalty, max_syn_rl, max_allow, max_deny;
	/* Port roles; NULL keeps the existing table (443 on first attach). */
	const __u16 *gate_ports, *backend_ports;
	int n_gate_ports, n_backend_ports;
	int gate_mode;		/* enum gate_mode, or -1 to keep */
};

struct attachment {
	char ifname[IF_NAMESIZE];
	int ifindex;		/* 0: the interface is gone */
	__u32 prog_id, link_id;
	const char *mode;	/* "native", "generic", "tc" */
	__u32 companion_id;	/* an XDP attachment's tc companion link, or 0 */
};

/* attach_mode_parse(s, mode): "native"|"generic"|"tc"|"auto". 0 or -1. */
int attach_mode_parse(const char *s, enum attach_mode *mode);

/*
 * attach_run(opts): loads the gate and attaches it (or atomically swaps the
 * program of an existing attachment, keeping map contents). Returns 0, or
 * -1 after printing a one-line error.
 */
int attach_run(const struct attach_opts *opts);


/*
 * detach_run(ifname, pin_root, purge): removes the gate from ifname; purge
 * also removes the map pins once no interface uses them. 0, or -1 after
 * printing why.
 */
int detach_run(const char *ifname, const char *pin_root, bool purge);

/*
 * attach_list(pin_root, out, max): the attachments pinned under pin_root.
 * Returns their number (at most max), or -1 after printing why.
 */
int attach_list(const char *pin_root, struct attachment *out, int max);

#endif
