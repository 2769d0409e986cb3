/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A harness's files go in a private directory under $TMPDIR (or /tmp),
 * removed with what it holds when the harness exits: nothing of a run is
 * left behind, and a fuzzed "include = *" sees only the harness's own
 * files, not whatever else the machine keeps in /tmp.
 */
#ifndef AOPGATE_FUZZ_SCRATCH_H
#define AOPGATE_FUZZ_SCRATCH_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static char scratch_path[4096];

static int scratch_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void scratch_cleanup(void)
{
	nftw(scratch_path, scratch_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* scratch_dir(name): makes the directory (once) and returns its path. */
static const char *scratch_dir(const char *name)
{
	const char *tmp = getenv("TMPDIR");

	if (scratch_path[0])
		return scratch_path;
	snprintf(scratch_path, sizeof(scratch_path), "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp",
		 name);
	if (!mkdtemp(scratch_path))
		abort();
	atexit(scratch_cleanup);
	return scratch_path;
}

#endif
