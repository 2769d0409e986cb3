/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's privileges after start-up. It starts as root to bind, open
 * the pin root and read its keys, then becomes `user`. What it keeps
 * differs by thread (Linux capabilities are per thread):
 *
 *   workers (TLS clients' bytes): no capabilities at all, no_new_privs;
 *   the main thread (reloads):    CAP_DAC_READ_SEARCH permitted, raised to
 *                                 effective only while a reload reads the
 *                                 certificates, keys and CRLs;
 *   others (metrics, leases):     none, as setuid leaves them.
 */
#ifndef AOPGATE_PRIVS_H
#define AOPGATE_PRIVS_H

#include <stdbool.h>

/*
 * privs_become(user): the process becomes user (no supplementary groups),
 * the calling thread keeping CAP_DAC_READ_SEARCH permitted but not
 * effective. A no-op when user is NULL or the process is not root.
 * Returns 0, or -1 after logging why.
 */
int privs_become(const char *user);

/*
 * privs_reading(on): raises (or lowers again) CAP_DAC_READ_SEARCH in the
 * calling thread's effective set, around reading files that only root
 * may read. Harmless where it was never kept.
 */
void privs_reading(bool on);

/*
 * privs_drop_thread(): the calling thread gives up every capability and
 * can never gain one (no_new_privs). Returns 0, or -1 with errno set.
 */
int privs_drop_thread(void);

#endif
