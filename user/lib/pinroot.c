// SPDX-License-Identifier: GPL-2.0-only
/* The pin root: where the host has it, who may own it, which agent holds it; see pinroot.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "pinroot.h"

#define SYS_BPF "/sys/fs/bpf"
/* /proc/PID/stat's flag for a kernel thread, which no process can pose as. */
#define PF_KTHREAD 0x00200000UL

static const char *const reach_names[] = {
	[PINROOT_SHARED] = "shared",
	[PINROOT_VIA_HOST] = "via-host",
	[PINROOT_UNVERIFIED] = "unverified",
};

const char *pinroot_reach_name(enum pinroot_reach r)
{
	return r <= PINROOT_UNVERIFIED ? reach_names[r] : "?";
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Whether pid is a kernel thread: those all live in the initial mount namespace. */
static bool kernel_thread(int pid)
{
	char path[64], buf[512], *p;
	unsigned long flags = 0;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After "pid (comm) ": state ppid pgrp session tty_nr tpgid flags. */
	p = strrchr(buf, ')');
	return p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) == 1 &&
	       (flags & PF_KTHREAD);
}

/*
 * The host's mount namespace, into ns: PID 1's or, where PID 1 cannot be
 * read (an init that forbids it, a caller without CAP_SYS_PTRACE), the
 * kernel threads'. Returns the pid, or 0 with why in why.
 */
static int host_pid(struct stat *ns, char *why, size_t len)
{
	/* As PID 1 (`unshare --pid`, a container's entry point) there is no
	 * other process to compare with: its namespace goes with this one. */
	if (getpid() == 1)
		snprintf(why, len, "this process is PID 1 of its PID namespace");
	else if (!stat("/proc/1/ns/mnt", ns))
		return 1;
	else
		snprintf(why, len, "/proc/1/ns/mnt: %s", strerror(errno));
	if (kernel_thread(2) && !stat("/proc/2/ns/mnt", ns))
		return 2;
	return 0;
}

/* The nearest existing ancestor of path, or path itself: its stat and statfs. 0 or -1. */
static int nearest(const char *path, struct stat *st, struct statfs *fs, char *anc, size_t len)
{
	char *slash;

	snprintf(anc, len, "%s", path);
	while (stat(anc, st) || statfs(anc, fs)) {
		if (errno != ENOENT && errno != ENOTDIR)
			return -1;
		slash = strrchr(anc, '/');
		if (!slash || !strcmp(anc, "/"))
			return -1;
		slash[slash == anc] = '\0';
	}
	return 0;
}

/*
 * "nsenter --net=/run/netns/NAME PROGRAM ...": this program in the host's
 * mount namespace and this process's network namespace, named if it can be.
 */
static void nsenter_hint(char *buf, size_t len)
{
	struct stat self, st;
	struct dirent *de;
	char path[PATH_MAX];
	DIR *d;

	snprintf(buf, len, "nsenter --net=/run/netns/NAME %s ...", program_invocation_short_name);
	if (stat("/proc/self/ns/net", &self) || !(d = opendir("/run/netns")))
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
		if (!stat(path, &st) && st.st_dev == self.st_dev && st.st_ino == self.st_ino) {
			snprintf(buf, len, "nsenter --net=%s %s ...", path,
				 program_invocation_short_name);
			break;
		}
	}
	closedir(d);
}

/* In the host's mount namespace: dir must be on a bpffs, which may be mounted. */
static int at_host(struct pinroot *pr, int flags, char *err, size_t errlen)
{
	char anc[PATH_MAX];
	struct statfs fs;
	struct stat st;

	if (nearest(pr->dir, &st, &fs, anc, sizeof(anc)))
		return fail(err, errlen, "cannot inspect %s: %s", pr->dir, strerror(errno));
	if (fs.f_type == BPF_FS_MAGIC)
		return 0;
	if ((flags & PINROOT_MOUNT) && !strncmp(pr->dir, SYS_BPF "/", strlen(SYS_BPF "/")) &&
	    !strcmp(anc, SYS_BPF) && !mount("bpf", SYS_BPF, "bpf", 0, "mode=0700"))
		return 0;
	return fail(err, errlen,
		    "%s is not on a bpf filesystem; mount one with: mount -t bpf bpf " SYS_BPF,
		    pr->dir);
}

/*
 * In a mount namespace other than the host's, whose root is /proc/pid/root:
 * the bpffs there must be the host's, or the host's is used through /proc.
 */
static int beside_host(struct pinroot *pr, int pid, char *err, size_t errlen)
{
	char anc[PATH_MAX], hint[PATH_MAX + 32];
	struct statfs hfs, fs;
	struct stat hst, st;

	snprintf(pr->path, sizeof(pr->path), "/proc/%d/root%s", pid, pr->dir);
	if (nearest(pr->path, &hst, &hfs, anc, sizeof(anc)))
		return fail(err, errlen, "cannot reach the host's %s through /proc/%d/root: %s",
			    pr->dir, pid, strerror(errno));
	if (hfs.f_type != BPF_FS_MAGIC) {
		nsenter_hint(hint, sizeof(hint));
		return fail(err, errlen,
			    "%s is not on a bpf filesystem in the host's mount namespace, and one "
			    "mounted in this process's own (ip netns exec gives it its own /sys) "
			    "would go when it exits; mount one on the host (mount -t bpf bpf "
			    SYS_BPF "), or run this there: %s", pr->dir, hint);
	}
	/* A bind mount of the host's bpffs (a container's /sys/fs/bpf) is the host's. */
	if (!nearest(pr->dir, &st, &fs, anc, sizeof(anc)) && fs.f_type == BPF_FS_MAGIC &&
	    st.st_dev == hst.st_dev) {
		snprintf(pr->path, sizeof(pr->path), "%s", pr->dir);
		return 0;
	}
	pr->reach = PINROOT_VIA_HOST;
	snprintf(pr->note, sizeof(pr->note),
		 "the host's bpffs, through /proc/%d/root: this process has a mount "
		 "namespace of its own", pid);
	return 0;
}

/* The host cannot be read: a bpffs this process sees is used, unverified. */
static int unverified(struct pinroot *pr, const char *why, char *err, size_t errlen)
{
	char anc[PATH_MAX], hint[PATH_MAX + 32];
	struct statfs fs;
	struct stat st;

	if (!nearest(pr->dir, &st, &fs, anc, sizeof(anc)) && fs.f_type == BPF_FS_MAGIC) {
		pr->reach = PINROOT_UNVERIFIED;
		snprintf(pr->note, sizeof(pr->note),
			 "not known to be the host's bpffs: the host's mount namespace cannot "
			 "be read (%s)", why);
		return 0;
	}
	nsenter_hint(hint, sizeof(hint));
	return fail(err, errlen,
		    "%s is not on a bpf filesystem, and the host's mount namespace cannot be "
		    "read (%s) to pin there instead; one mounted in this process's own (ip "
		    "netns exec gives it its own /sys) would go when it exits, and the gate "
		    "with it; run this in the host's mount namespace instead: %s",
		    pr->dir, why, hint);
}

/* Names a pin root reached through /proc/PID/root by a descriptor held open. */
static int hold(struct pinroot *pr, char *err, size_t errlen)
{
	/* Never closed: the path below names it for the process's lifetime. */
	int fd = open(pr->path, O_PATH | O_DIRECTORY | O_CLOEXEC), e = errno;

	if (fd < 0)
		return fail(err, errlen, "cannot open %s in the host's bpffs: %s%s", pr->dir,
			    strerror(e), e == ENOENT ? " (nothing attached; run 'aopgate attach')" : "");
	snprintf(pr->path, sizeof(pr->path), "/proc/self/fd/%d", fd);
	return 0;
}

int pinroot_resolve(const char *dir, int flags, struct pinroot *pr, char *err, size_t errlen)
{
	struct stat host, self;
	char why[160];
	int pid, ret;

	memset(pr, 0, sizeof(*pr));
	if (dir[0] != '/' || strlen(dir) >= sizeof(pr->dir))
		return fail(err, errlen, "pin root must be an absolute path: %s", dir);
	strcpy(pr->dir, dir);
	strcpy(pr->path, dir);
	pr->reach = PINROOT_SHARED;
	pid = host_pid(&host, why, sizeof(why));
	if (pid && !stat("/proc/self/ns/mnt", &self) && self.st_dev == host.st_dev &&
	    self.st_ino == host.st_ino)
		ret = at_host(pr, flags, err, errlen);
	else if (pid)
		ret = beside_host(pr, pid, err, errlen);
	else
		ret = unverified(pr, why, err, errlen);
	if (ret)
		return -1;
	if ((flags & PINROOT_HOLD) && pr->reach == PINROOT_VIA_HOST)
		return hold(pr, err, errlen);
	return 0;
}

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
