// SPDX-License-Identifier: GPL-2.0-only
/* Who the agent and its reader run as; see privs.h. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "log.h"
#include "privs.h"

/* capset(2) on the calling thread: permitted = effective = keep (a mask of the low word). */
static int set_caps(__u32 keep)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };

	d[0].permitted = d[0].effective = keep;
	return syscall(SYS_capset, &h, d);
}

/*
 * Drops every capability but keep (a capability number, or -1) from the
 * bounding set. That takes CAP_SETPCAP; without it (a unit's
 * CapabilityBoundingSet without it) the set stays as it is, which
 * no_new_privs makes harmless: nothing can be gained from it by execve.
 */
static void bound_to(int keep, const char *event)
{
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
		if (cap == keep || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0 ||
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		log_warn("event=%s note=\"the bounding set stays as it is: no CAP_SETPCAP\" "
			 "error=\"%s\"", event, strerror(errno));
		return;
	}
}

/* user's ids; -1 after logging when there is no such user. */
static int lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		log_error("event=start error=\"user %s does not exist\"", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

bool privs_split(const char *user)
{
	/* Staying root is the operator's explicit choice (user = root). */
	return user && strcmp(user, "root") && getuid() == 0;
}

int privs_lockdown(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	bound_to(-1, "start");
	if (syscall(SYS_capget, &h, d) < 0)
		goto err;
	d[0].inheritable = d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		goto err;
	return 0;
err:
	log_error("event=start error=\"cannot give up capabilities: %s\"", strerror(errno));
	return -1;
}

int privs_become(const char *user)
{
	uid_t uid;
	gid_t gid;

	if (!privs_split(user))
		return 0;
	if (lookup(user, &uid, &gid) < 0)
		return -1;
	/* setuid(2) from root clears permitted and effective on every thread (glibc's setxid). */
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0 || set_caps(0) < 0) {
		log_error("event=start error=\"cannot become %s: %s\"", user, strerror(errno));
		return -1;
	}
	return 0;
}

int privs_reader(const char *user)
{
	__u32 mask = CAP_TO_MASK(CAP_DAC_READ_SEARCH);
	uid_t uid;
	gid_t gid;

	if (lookup(user, &uid, &gid) < 0)
		return -1;
	bound_to(CAP_DAC_READ_SEARCH, "reader");
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
	    setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0 ||
	    set_caps(mask) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_error("event=reader error=\"cannot become %s with CAP_DAC_READ_SEARCH: %s\"",
			  user, strerror(errno));
		return -1;
	}
	return 0;
}

int privs_drop_thread(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };

	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}
