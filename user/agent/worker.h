/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Event loops: one thread per worker, each with its own epoll set, all
 * sharing the listening sockets (EPOLLEXCLUSIVE wakes one). A worker owns
 * the connections it accepted: their events, deadlines, the re-check after
 * a reload and the drain.
 */
#ifndef AOPGATE_WORKER_H
#define AOPGATE_WORKER_H

#include <stddef.h>
#include <stdint.h>

/*
 * worker_start(n, lfds, nl, max_conns): starts n event loops accepting on
 * the nl listening sockets. Returns 0, or -1 (logged).
 */
int worker_start(int n, const int *lfds, size_t nl, long max_conns);

/* worker_notify(): wakes every loop to look at a new runtime generation. */
void worker_notify(void);

/*
 * worker_drain(deadline_ns): stop accepting; connections still open at
 * deadline_ns (CLOCK_MONOTONIC) are closed. Loops end when empty.
 */
void worker_drain(uint64_t deadline_ns);

/* worker_join(): waits for every loop to end (after worker_drain). */
void worker_join(void);

/* worker_set_max(max_conns): the connection limit for later accepts. */
void worker_set_max(long max_conns);

#endif
