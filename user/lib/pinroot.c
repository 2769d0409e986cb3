// SPDX-License-Identifier: GPL-2.0-only
/* The pin root's ownership check and the agent's lock on it; see pinroot.h. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pinroot.h"

static const char *owner_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
	return buf;
}

static int check_fd(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;
	char who[64];

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_uid == 0 && !(st.st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	snprintf(err, errlen,
		 "pin root %s is owned by %s with mode %04o: it must be owned by root and "
		 "not writable by group or others, or whoever may write it may detach the gate "
		 "(fix: chown root %s && chmod go-w %s)",
		 path, owner_name(st.st_uid, who, sizeof(who)), (unsigned)(st.st_mode & 07777),
		 path, path);
	errno = EPERM;
	return -1;
}

static int open_dir(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			snprintf(err, errlen,
				 "no gate maps under %s (nothing attached; run 'aopgate attach')",
				 path);
		else
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		errno = e;
	}
	return fd;
}

int pinroot_check(const char *path, char *err, size_t errlen)
{
	int fd = open_dir(path, err, errlen), rc, e;

	if (fd < 0)
		return -1;
	rc = check_fd(fd, path, err, errlen);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* Says in err who holds fd's lock, or why it could not be taken; keeps errno. */
static void lock_error(int fd, const char *path, char *err, size_t errlen)
{
	int e = errno;
	pid_t pid = e == EWOULDBLOCK ? pinroot_holder(fd) : 0;

	if (e != EWOULDBLOCK)
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
	else if (pid > 0)
		snprintf(err, errlen, "another aopgated (pid %d) holds %s", (int)pid, path);
	else
		snprintf(err, errlen, "another aopgated holds %s", path);
	errno = e;
}

int pinroot_lock(const char *path, char *err, size_t errlen)
{
	int fd = open_dir(path, err, errlen), e;

	if (fd < 0)
		return -1;
	if (check_fd(fd, path, err, errlen) < 0)
		goto err;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	lock_error(fd, path, err, errlen);
err:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/*
 * A line of /proc/locks: "1: FLOCK  ADVISORY  WRITE 1234 00:1f:5678 0 EOF"
 * (a blocked waiter's line has "->" after the number). The pid is given
 * in the reader's pid namespace, 0 or -1 when the holder is outside it.
 */
pid_t pinroot_holder(int fd)
{
	char line[256], type[16], kind[16], mode[16];
	unsigned int maj, min;
	unsigned long long ino;
	struct stat st;
	pid_t found = 0;
	int pid;
	FILE *f;

	if (fstat(fd, &st) < 0)
		return 0;
	f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *p = strchr(line, ':');

		if (!p || strstr(line, "->"))
			continue;
		if (sscanf(p + 1, "%15s %15s %15s %d %x:%x:%llu", type, kind, mode, &pid, &maj,
			   &min, &ino) != 7)
			continue;
		if (!strcmp(type, "FLOCK") && ino == (unsigned long long)st.st_ino &&
		    makedev(maj, min) == st.st_dev && pid > 0)
			found = pid;
	}
	fclose(f);
	return found;
}
