// SPDX-License-Identifier: GPL-2.0-only
/* sd_notify(3) messages; see notify.h. Called from the main thread only. */
#include <stdio.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "notify.h"

static size_t last_sites = (size_t)-1;
static long last_conns = -1;

static void status(char *buf, size_t len, size_t sites, long conns)
{
	snprintf(buf, len, "STATUS=%zu sites, %ld connections", sites, conns);
	last_sites = sites;
	last_conns = conns;
}

void notify_ready(size_t sites, long conns)
{
	char st[128];

	status(st, sizeof(st), sites, conns);
	sd_notifyf(0, "READY=1\n%s", st);
}

void notify_reloading(void)
{
	struct timespec ts;

	/* systemd matches the reload to this message by its monotonic time. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000ull + ts.tv_nsec / 1000);
}

void notify_status(size_t sites, long conns)
{
	char st[128];

	if (sites == last_sites && conns == last_conns)
		return;
	status(st, sizeof(st), sites, conns);
	sd_notify(0, st);
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
