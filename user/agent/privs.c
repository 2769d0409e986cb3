// SPDX-License-Identifier: GPL-2.0-only
/* Who the agent runs as, thread by thread; see privs.h. */
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

/* Whether this process kept CAP_DAC_READ_SEARCH for reloads. */
static bool kept;

/* capset(2) on the calling thread: permitted and effective masks of CAP_DAC_READ_SEARCH. */
static int set_read_cap(bool permitted, bool effective)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	int i = CAP_TO_INDEX(CAP_DAC_READ_SEARCH);

	d[i].permitted = permitted ? CAP_TO_MASK(CAP_DAC_READ_SEARCH) : 0;
	d[i].effective = effective ? CAP_TO_MASK(CAP_DAC_READ_SEARCH) : 0;
	return syscall(SYS_capset, &h, d);
}

int privs_become(const char *user)
{
	struct passwd *pw;

	/* Staying root is the operator's explicit choice (user = root). */
	if (!user || !strcmp(user, "root") || getuid() != 0)
		return 0;
	pw = getpwnam(user);
	if (!pw) {
		log_error("event=start error=\"user %s does not exist\"", user);
		return -1;
	}
	if (prctl(PR_SET_KEEPCAPS, 1) < 0 || setgroups(0, NULL) < 0 ||
	    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		log_error("event=start error=\"cannot become %s: %s\"", user, strerror(errno));
		return -1;
	}
	kept = set_read_cap(true, false) == 0;
	if (!kept)
		log_warn("event=start note=\"no CAP_DAC_READ_SEARCH: a reload reads only files "
			 "%s may read\" error=\"%s\"", user, strerror(errno));
	prctl(PR_SET_KEEPCAPS, 0);
	return 0;
}

void privs_reading(bool on)
{
	if (kept && set_read_cap(true, on) < 0)
		log_warn("event=reload note=\"cannot %s CAP_DAC_READ_SEARCH\" error=\"%s\"",
			 on ? "raise" : "lower", strerror(errno));
}

int privs_drop_thread(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };

	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}
