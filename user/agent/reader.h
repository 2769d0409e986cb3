/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The reader: a process forked at start-up, before the agent drops every
 * capability, that keeps CAP_DAC_READ_SEARCH to open what a reload reads
 * (keys only root may read) and does nothing else.
 *
 * It serves one request, "load": it parses the configuration it was
 * started with itself, recording every file and include pattern the parse
 * reads and every file a site names (files.h), and answers with those
 * files' descriptors. The agent never names a path, so a compromised
 * agent gets the files the configuration names and no other; any other
 * request is refused and logged.
 *
 * On the socketpair (SOCK_SEQPACKET), one record per message: struct
 * reader_rec, then a name (not NUL-terminated), with a descriptor in
 * SCM_RIGHTS for a file opened.
 */
#ifndef AOPGATE_READER_H
#define AOPGATE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "files.h"

enum reader_kind {
	READER_FILE = 1,	/* name: a path; err 0 with a descriptor, or its errno */
	READER_GLOB,		/* name: a pattern; rc: glob(3)'s; its READER_MATCHes follow */
	READER_MATCH,		/* name: a path the last pattern matched */
	READER_END,		/* err: 0, or why the request was refused */
};

#define READER_LOAD 'L'		/* the one request: a message of this byte */
#define READER_READY 'R'	/* sent once, when the reader's privileges are set */

struct reader_rec {
	uint32_t kind;		/* enum reader_kind */
	int32_t err;
	int32_t rc;
	uint32_t reserved;
};

/*
 * reader_start(config, user): forks the reader for configuration file
 * config, running as user, and waits until it is ready. Returns 0, or -1
 * after logging why.
 */
int reader_start(const char *config, const char *user);

/*
 * reader_fetch(err, errlen): the files of a reload, from the reader.
 * Returns a set for files_serve (files_set_free it), or NULL with why in
 * err; a reader that is gone or did not answer is not asked again.
 */
struct files_set *reader_fetch(char *err, size_t errlen);

/* reader_check(): logs once when the reader has exited, and reaps it. */
void reader_check(void);

#endif
