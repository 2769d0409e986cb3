/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The service manager's notification protocol (sd_notify(3)): readiness,
 * reloads, stopping and a one-line status. Without NOTIFY_SOCKET (not
 * started by systemd) every call does nothing.
 */
#ifndef AOPGATE_NOTIFY_H
#define AOPGATE_NOTIFY_H

#include <stddef.h>

/* notify_ready(sites, conns): listening with the maps open; READY=1 and STATUS=. */
void notify_ready(size_t sites, long conns);

/* notify_reloading(): RELOADING=1 with MONOTONIC_USEC=, before a reload is read. */
void notify_reloading(void);

/* notify_status(sites, conns): STATUS= when it changed since the last one sent. */
void notify_status(size_t sites, long conns);

/* notify_stopping(): STOPPING=1, when the drain starts. */
void notify_stopping(void);

#endif
