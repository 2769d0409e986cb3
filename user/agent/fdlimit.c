// SPDX-License-Identifier: GPL-2.0-only
/* RLIMIT_NOFILE sized to max_connections; see fdlimit.h. */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "fdlimit.h"
#include "log.h"

#define FDS_PER_CONNECTION 2
#define FDS_OWN 128

uint64_t fdlimit_need(uint32_t max_connections)
{
	return (uint64_t)max_connections * FDS_PER_CONNECTION + FDS_OWN;
}

uint64_t fdlimit_apply(uint32_t max_connections, bool raise)
{
	uint64_t need = fdlimit_need(max_connections), target = need;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("event=limits error=\"cannot read RLIMIT_NOFILE: %s\"", strerror(errno));
		return 0;
	}
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		uint64_t fit = rl.rlim_max > FDS_OWN ? (rl.rlim_max - FDS_OWN) / FDS_PER_CONNECTION : 0;

		log_warn("event=limits nofile_hard=%llu nofile_needed=%llu note=\"max_connections = "
			 "%u needs %llu descriptors but the hard limit is %llu: past about %llu "
			 "connections accepts fail; set LimitNOFILE=%llu in the unit (or ulimit -Hn "
			 "%llu), or lower max_connections\"",
			 (unsigned long long)rl.rlim_max, (unsigned long long)need, max_connections,
			 (unsigned long long)need, (unsigned long long)rl.rlim_max,
			 (unsigned long long)fit, (unsigned long long)need, (unsigned long long)need);
		target = rl.rlim_max;
	}
	if (!raise || rl.rlim_cur >= target)
		return rl.rlim_cur;
	rl.rlim_cur = target;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("event=limits error=\"cannot raise RLIMIT_NOFILE to %llu: %s\"",
			 (unsigned long long)target, strerror(errno));
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}
