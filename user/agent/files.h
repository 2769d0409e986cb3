/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every file a load reads (the configuration, its includes, certificates,
 * keys, CAs and CRLs) is read through here, by one of two means:
 *
 *   directly, by path (first start, `aopgated -t`, user = root);
 *   from a set of files the reader process opened (reader.h), during a
 *   reload of an agent that holds no capability: a path the set does not
 *   hold is refused.
 *
 * The reader builds its set by recording: while it parses the
 * configuration directly, every file and include pattern the parse opens
 * is also recorded, then every file a site names (config_each_path).
 */
#ifndef AOPGATE_FILES_H
#define AOPGATE_FILES_H

#include <stdio.h>
#include <sys/types.h>
#include <openssl/bio.h>

/* The largest file a set holds (a CRL of a big CA fits). */
#define FILES_MAX_SIZE (64u << 20)

/* One file: opened (fd, or its contents) or the errno of the attempt. */
struct files_file {
	char *path;
	int err;		/* 0: opened */
	int fd;			/* the reader's side: to send; -1 once read */
	mode_t mode;		/* st_mode, for the key's permission check */
	char *data;		/* the agent's side: the contents */
	size_t len;
};

/* One include pattern, as glob(3) expanded it. */
struct files_glob {
	char *pattern;
	int rc;			/* glob(3)'s return */
	char **names;
	size_t n;
};

struct files_set {
	struct files_file *files;
	size_t n_files;
	struct files_glob *globs;
	size_t n_globs;
};

/* A pattern's matches, owned by the caller (files_match_free). */
struct files_match {
	char **names;
	size_t n;
};

/* files_set_free(fs): closes and frees fs; fs may be NULL. */
void files_set_free(struct files_set *fs);

/*
 * files_set_file(fs, path, err, fd): adds path: with err 0, fd is read
 * (then closed) for its mode and contents. Returns 0, or -1 (no memory).
 */
int files_set_file(struct files_set *fs, const char *path, int err, int fd);

/* files_set_glob(fs, pattern, rc): adds a pattern; its matches follow. Returns 0 or -1. */
int files_set_glob(struct files_set *fs, const char *pattern, int rc);

/* files_set_match(fs, name): adds a match to the last pattern. Returns 0 or -1. */
int files_set_match(struct files_set *fs, const char *name);

/*
 * files_record(fs): from now on (until files_record(NULL)) what is read
 * directly is also opened again and recorded in fs, descriptors kept.
 */
void files_record(struct files_set *fs);

/* files_record_path(path): records path as files_record does (a no-op when not recording). */
void files_record_path(const char *path);

/*
 * files_serve(fs): from now on (until files_serve(NULL)) files come from
 * fs instead of their paths. fs must outlive what is read from it.
 */
void files_serve(const struct files_set *fs);

/* files_fopen(path): path for reading, as fopen(path, "r"). NULL with errno set. */
FILE *files_fopen(const char *path);

/* files_bio(path): path as a read-only BIO. NULL with errno set. */
BIO *files_bio(const char *path);

/* files_mode(path, mode): path's st_mode. Returns 0, or -1 with errno set. */
int files_mode(const char *path, mode_t *mode);

/*
 * files_glob(pattern, m): glob(3) with GLOB_NOCHECK, a directory that
 * does not exist holding no match. Returns glob's return value.
 */
int files_glob(const char *pattern, struct files_match *m);

/* files_match_free(m): frees m's names. */
void files_match_free(struct files_match *m);

#endif
