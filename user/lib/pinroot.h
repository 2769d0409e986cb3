/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Finding the bpf filesystem a pin root lives on, as the host sees it.
 *
 * Pins last as long as the bpffs they are in stays mounted. A process with
 * a mount namespace of its own (`ip netns exec` gives it a fresh /sys;
 * a container may have no /sys/fs/bpf) would pin into a bpffs that goes
 * when it exits, and the gate's link with it. The host is PID 1's mount
 * namespace or, where PID 1 cannot be read, the kernel threads' (PID 2);
 * a pin root this process does not share with the host is reached through
 * /proc/PID/root, which bpf(2) pins and opens through like any path.
 *
 * The pin root is also a directory to trust and to own: whoever may write it
 * may remove the link pin and detach the gate, so only a root-owned
 * directory that group and others cannot write is used; and one agent at
 * a time holds it. bpffs holds no regular files, so the lock is a
 * flock(2) on the directory itself, and the holder's pid is read back
 * from /proc/locks.
 */
#ifndef AOPGATE_PINROOT_H
#define AOPGATE_PINROOT_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

enum pinroot_reach {
	PINROOT_SHARED,		/* the bpffs this process sees there is the host's */
	PINROOT_VIA_HOST,	/* the host's bpffs, through /proc/PID/root */
	PINROOT_UNVERIFIED,	/* the host cannot be read: this process's bpffs */
};

struct pinroot {
	char dir[PATH_MAX - 64];	/* the pin root as named (room left for /proc/PID/root) */
	char path[PATH_MAX];	/* where to pin, open and list: dir, or through /proc */
	enum pinroot_reach reach;
	char note[320];		/* for VIA_HOST and UNVERIFIED: how, or why not known */
};

enum {
	/* In the host's mount namespace, mount a bpffs at /sys/fs/bpf when
	 * the pin root is under it and nothing is mounted there. */
	PINROOT_MOUNT = 1 << 0,
	/* Keep a descriptor on a pin root reached through /proc/PID/root and
	 * name it by /proc/self/fd/N, which still resolves after the process
	 * gives up the privileges that /proc/PID/root needs (the agent). */
	PINROOT_HOLD = 1 << 1,
};

/*
 * pinroot_resolve(dir, flags, pr, err, errlen): finds where the pin root
 * dir (absolute) is, as the host sees it, into pr. Returns 0, or -1 with
 * a message in err saying why and what to run instead: dir is not on a
 * bpffs the host keeps, or cannot be shown to be.
 */
int pinroot_resolve(const char *dir, int flags, struct pinroot *pr, char *err, size_t errlen);

/* pinroot_reach_name(r): "shared", "via-host" or "unverified". */
const char *pinroot_reach_name(enum pinroot_reach r);

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
