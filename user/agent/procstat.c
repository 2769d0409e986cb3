// SPDX-License-Identifier: GPL-2.0-only
/* process_* metrics; see procstat.h. */
#include <dirent.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "procstat.h"

static double start_time;

void procstat_init(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	start_time = ts.tv_sec + ts.tv_nsec / 1e9;
}

/* After setuid the process is not dumpable and /proc/self/fd belongs to
 * root: the kept CAP_DAC_READ_SEARCH is what still lets it be listed. */
static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

void procstat_render(FILE *f)
{
	struct rusage ru;
	struct rlimit rl;
	unsigned long vsz, rss;
	long fds = open_fds();
	FILE *sm;

	fprintf(f, "# HELP process_start_time_seconds Start time of the process since the epoch.\n"
		"# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.3f\n",
		start_time);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		fprintf(f, "# HELP process_cpu_seconds_total User and system CPU time.\n"
			"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.6f\n",
			ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
			(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	if (fds >= 0)
		fprintf(f, "# HELP process_open_fds Open file descriptors.\n"
			"# TYPE process_open_fds gauge\nprocess_open_fds %ld\n", fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		fprintf(f, "# HELP process_max_fds The file descriptor limit.\n"
			"# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
			(unsigned long long)rl.rlim_cur);
	sm = fopen("/proc/self/statm", "r");
	if (sm) {
		if (fscanf(sm, "%lu %lu", &vsz, &rss) == 2) {
			long page = sysconf(_SC_PAGESIZE);

			fprintf(f, "# HELP process_virtual_memory_bytes Virtual memory size.\n"
				"# TYPE process_virtual_memory_bytes gauge\n"
				"process_virtual_memory_bytes %llu\n"
				"# HELP process_resident_memory_bytes Resident memory size.\n"
				"# TYPE process_resident_memory_bytes gauge\n"
				"process_resident_memory_bytes %llu\n",
				(unsigned long long)vsz * page, (unsigned long long)rss * page);
		}
		fclose(sm);
	}
}
