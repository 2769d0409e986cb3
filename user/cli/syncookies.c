// SPDX-License-Identifier: GPL-2.0-only
/* SYN cookies at attach and detach: the kernel side, the key, the mode, the sysctl; see syncookies.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "gatemap.h"
#include "iface.h"
#include "syncookies.h"

#define SYSCTL_SYNCOOKIES "/proc/sys/net/ipv4/tcp_syncookies"

/* net.ipv4.tcp_syncookies of this namespace (it covers IPv6 too), or -1. */
static int syncookies_sysctl(void)
{
	FILE *f = fopen(SYSCTL_SYNCOOKIES, "r");
	int v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int syncookies_sysctl_set(int v)
{
	FILE *f = fopen(SYSCTL_SYNCOOKIES, "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%d\n", v) < 0;
	return fclose(f) || ret ? -1 : 0;
}

const char *syncookies_why(void)
{
	struct btf *vmlinux;
	bool kfunc;

	vmlinux = btf__load_vmlinux_btf();
	kfunc = vmlinux && btf__find_by_name_kind(vmlinux, "bpf_sk_assign_tcp_reqsk",
						  BTF_KIND_FUNC) > 0;
	btf__free(vmlinux);
	if (!kfunc)
		return "the kernel has no bpf_sk_assign_tcp_reqsk (Linux 6.9+ with SYN cookies)";
	return NULL;
}

void syncookies_configure(const struct attach_opts *o, struct gate_cfg *cfg, bool first,
			  const char *why)
{
	int sysctl;

	if (!cfg->syncookie_key[0] && !cfg->syncookie_key[1] &&
	    getrandom(cfg->syncookie_key, sizeof(cfg->syncookie_key), 0) !=
		    sizeof(cfg->syncookie_key))
		why = "no random key (getrandom failed)";
	if (!why) {
		sysctl = syncookies_sysctl();
		if (sysctl == 0) {
			if (syncookies_sysctl_set(1))
				why = "net.ipv4.tcp_syncookies is 0 and cannot be set to 1";
			else
				cfg->syncookie_sysctl = 0 + 1;
		} else if (sysctl < 0) {
			why = "net.ipv4.tcp_syncookies cannot be read";
		}
	}
	cfg->syncookie_ready = !why;
	if (why) {
		cfg->syncookies = GATE_SC_OFF;
		printf("syncookies: off: %s\n", why);
		return;
	}
	/*
	 * Native XDP on a veth sends XDP_TX to the peer's XDP ring, which
	 * only a peer running XDP itself reads: elsewhere every SYN-ACK would
	 * vanish and no new connection open. attach cannot see the peer (it
	 * may sit in another namespace), so cookies start off there, ready
	 * for set syncookies on.
	 */
	if (first && o->mode != ATTACH_TC && o->mode != ATTACH_GENERIC &&
	    iface_is_veth(o->ifname)) {
		cfg->syncookies = GATE_SC_OFF;
		printf("syncookies: off: the default for native XDP on a veth, whose XDP_TX "
		       "reaches the peer only while the peer runs XDP; kernel side ready "
		       "('aopgate set syncookies on' once the peer runs XDP, or -m tc)\n");
		return;
	}
	if (first)
		cfg->syncookies = AOPGATE_DEF_SYNCOOKIES;
	printf("syncookies: %s: %s; kernel side ready (%s, bpf_sk_assign_tcp_reqsk, "
	       "net.ipv4.tcp_syncookies=%d%s)\n",
	       cfg->syncookies == GATE_SC_ON ? "on" :
	       cfg->syncookies == GATE_SC_AUTO ? "auto" : "off",
	       first ? "the default" : "as set before (aopgate set syncookies)",
	       o->mode == ATTACH_TC ? "tc" : "XDP answers, its tc companion hands over",
	       syncookies_sysctl(), cfg->syncookie_sysctl ? ", set by attach" : "");
}

/* Once nothing is attached. */
void syncookies_restore(const char *pin_root)
{
	struct gatemap *gm;
	struct gate_cfg cfg;
	char err[256];

	gm = gatemap_open(pin_root, err, sizeof(err));
	if (!gm)
		return;
	if (!gatemap_read_cfg(gm, &cfg) && cfg.syncookie_sysctl) {
		if (syncookies_sysctl_set(cfg.syncookie_sysctl - 1))
			cli_err("cannot restore net.ipv4.tcp_syncookies to %u: %s",
				cfg.syncookie_sysctl - 1, strerror(errno));
		else
			printf("net.ipv4.tcp_syncookies restored to %u\n", cfg.syncookie_sysctl - 1);
		cfg.syncookie_sysctl = 0;
		cfg.syncookie_ready = 0;
		cfg.syncookies = GATE_SC_OFF;
		gatemap_write_cfg(gm, &cfg);
	}
	gatemap_close(gm);
}
