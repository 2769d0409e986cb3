/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's privileges after start-up. It starts as root to bind, open
 * the pin root and read its keys. Then, unless user = root, it splits in
 * two processes (nginx's master and workers, turned around):
 *
 *   the agent (every thread: workers, leases, metrics, the main thread
 *   that reloads): `user`, no capability in any set, an empty bounding
 *   set, no_new_privs;
 *   the reader (reader.h): `user`, CAP_DAC_READ_SEARCH alone (permitted,
 *   effective and bounding), no_new_privs; it opens a reload's files.
 *
 * With user = root the agent stays root and reads its files itself; its
 * workers still drop every capability.
 */
#ifndef AOPGATE_PRIVS_H
#define AOPGATE_PRIVS_H

#include <stdbool.h>

/*
 * privs_split(user): whether the agent drops to user with a reader beside
 * it: it runs as root and user is neither NULL nor root.
 */
bool privs_split(const char *user);

/*
 * privs_lockdown(): the calling thread, and every thread it starts after,
 * can never gain a capability: empty bounding and inheritable sets,
 * no_new_privs. Permitted and effective stay until privs_become. Call
 * before any thread starts. Returns 0, or -1 after logging why.
 */
int privs_lockdown(void);

/*
 * privs_become(user): the process becomes user (no supplementary groups)
 * with no capability left on any thread. A no-op when privs_split(user)
 * is false. Returns 0, or -1 after logging why.
 */
int privs_become(const char *user);

/*
 * privs_reader(user): the reader process becomes user keeping
 * CAP_DAC_READ_SEARCH alone (permitted, effective, bounding) and sets
 * no_new_privs. Returns 0, or -1 after logging why.
 */
int privs_reader(const char *user);

/*
 * privs_drop_thread(): the calling thread gives up every capability and
 * can never gain one (no_new_privs). Returns 0, or -1 with errno set.
 */
int privs_drop_thread(void);

#endif
