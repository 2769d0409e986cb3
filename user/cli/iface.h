/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What attach needs to know of an interface beyond its index. Apart from
 * attach.c because <linux/ethtool.h> defines PORT_* names that clash with
 * aopgate.h's port roles.
 */
#ifndef AOPGATE_IFACE_H
#define AOPGATE_IFACE_H

#include <stdbool.h>

/* iface_is_veth(ifname): whether ifname's driver is veth; false when unknown. */
bool iface_is_veth(const char *ifname);

#endif
