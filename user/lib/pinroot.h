/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pin root as a directory to trust and to own: whoever may write it
 * may remove the link pin and detach the gate, so only a root-owned
 * directory that group and others cannot write is used; and one agent at
 * a time holds it. bpffs holds no regular files, so the lock is a
 * flock(2) on the directory itself, and the holder's pid is read back
 * from /proc/locks.
 */
#ifndef AOPGATE_PINROOT_H
#define AOPGATE_PINROOT_H

#include <stddef.h>
#include <sys/types.h>

/*
 * pinroot_check(path, err, errlen): 0 if path is a directory owned by
 * root that group and others cannot write; -1 with errno set (ENOENT: no
 * such directory, EPERM: owner or mode refused) and a message naming the
 * path, the owner and the mode in err.
 */
int pinroot_check(const char *path, char *err, size_t errlen);

/*
 * pinroot_lock(path, err, errlen): checks path as pinroot_check does, then
 * takes an exclusive lock on it, held until the returned descriptor is
 * closed or the process ends. Returns the descriptor, or -1 with errno
 * set (EWOULDBLOCK: another process holds it, named with its pid in err).
 */
int pinroot_lock(const char *path, char *err, size_t errlen);

/* pinroot_holder(fd): the pid holding the lock on fd's directory; 0 if unknown. */
pid_t pinroot_holder(int fd);

#endif
