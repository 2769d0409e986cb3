/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SYN cookies as attach and detach set them up: whether the kernel can
 * take the gate's cookie ACKs, the cookie key, the mode attach chooses,
 * and net.ipv4.tcp_syncookies, which attach may set and detach restores.
 */
#ifndef AOPGATE_SYNCOOKIES_H
#define AOPGATE_SYNCOOKIES_H

#include <stdbool.h>
#include "aopgate.h"
#include "attach.h"

/*
 * syncookies_why(): why the kernel cannot take the gate's cookie ACKs
 * (no bpf_sk_assign_tcp_reqsk); NULL when it can.
 */
const char *syncookies_why(void);

/*
 * syncookies_configure(o, cfg, first, why): the key (random, once),
 * whether the kernel side is ready for this attachment (why is NULL when
 * it is), and the mode: on where ready unless the operator chose
 * otherwise, off where not. The kernel hands a cookie ACK to the request
 * socket the gate assigned only while net.ipv4.tcp_syncookies is not 0,
 * so it is set to 1 then, and detach puts it back. Says what it chose.
 */
void syncookies_configure(const struct attach_opts *o, struct gate_cfg *cfg, bool first,
			  const char *why);

/* syncookies_restore(pin_root): puts back the tcp_syncookies attach changed. */
void syncookies_restore(const char *pin_root);

#endif
