// SPDX-License-Identifier: GPL-2.0-only
/* Reading a load's files by path or from a reader's set; see files.h. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "files.h"
#include "log.h"

static struct files_set *recording;
static const struct files_set *serving;

void files_set_free(struct files_set *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; i < fs->n_files; i++) {
		if (fs->files[i].fd >= 0)
			close(fs->files[i].fd);
		free(fs->files[i].path);
		free(fs->files[i].data);
	}
	for (size_t i = 0; i < fs->n_globs; i++) {
		for (size_t j = 0; j < fs->globs[i].n; j++)
			free(fs->globs[i].names[j]);
		free(fs->globs[i].names);
		free(fs->globs[i].pattern);
	}
	free(fs->files);
	free(fs->globs);
	free(fs);
}

/* The contents of fd, at most FILES_MAX_SIZE bytes. Returns 0 or an errno. */
static int slurp(int fd, struct files_file *f)
{
	struct stat st;
	size_t cap = 0;

	if (fstat(fd, &st) < 0)
		return errno;
	f->mode = st.st_mode;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	for (;;) {
		ssize_t n;

		if (f->len == cap) {
			char *d;

			if (cap >= FILES_MAX_SIZE)
				return EFBIG;
			cap = cap ? cap * 2 : 16384;
			d = realloc(f->data, cap + 1);
			if (!d)
				return ENOMEM;
			f->data = d;
		}
		n = read(fd, f->data + f->len, cap - f->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			break;
		f->len += n;
	}
	f->data[f->len] = '\0';
	return 0;
}

int files_set_file(struct files_set *fs, const char *path, int err, int fd)
{
	struct files_file *n = realloc(fs->files, (fs->n_files + 1) * sizeof(*n));
	struct files_file *f;

	if (!n) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fs->files = n;
	f = &n[fs->n_files];
	*f = (struct files_file){ .path = strdup(path), .err = err, .fd = -1 };
	if (!f->path) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fs->n_files++;
	if (err == 0) {
		f->err = fd >= 0 ? slurp(fd, f) : EBADF;
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

int files_set_glob(struct files_set *fs, const char *pattern, int rc)
{
	struct files_glob *n = realloc(fs->globs, (fs->n_globs + 1) * sizeof(*n));

	if (!n)
		return -1;
	fs->globs = n;
	n[fs->n_globs] = (struct files_glob){ .pattern = strdup(pattern), .rc = rc };
	if (!n[fs->n_globs].pattern)
		return -1;
	fs->n_globs++;
	return 0;
}

int files_set_match(struct files_set *fs, const char *name)
{
	struct files_glob *g;
	char **v;

	if (!fs->n_globs)
		return -1;
	g = &fs->globs[fs->n_globs - 1];
	v = realloc(g->names, (g->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	g->names = v;
	v[g->n] = strdup(name);
	return v[g->n] ? (g->n++, 0) : -1;
}

void files_record(struct files_set *fs)
{
	recording = fs;
}

void files_record_path(const char *path)
{
	struct files_file *n;
	int fd;

	if (!recording)
		return;
	for (size_t i = 0; i < recording->n_files; i++)
		if (!strcmp(recording->files[i].path, path))
			return;
	n = realloc(recording->files, (recording->n_files + 1) * sizeof(*n));
	if (!n)
		return;
	recording->files = n;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	n[recording->n_files] = (struct files_file){
		.path = strdup(path), .fd = fd, .err = fd < 0 ? errno : 0,
	};
	if (!n[recording->n_files].path) {
		if (fd >= 0)
			close(fd);
		return;
	}
	recording->n_files++;
}

void files_serve(const struct files_set *fs)
{
	serving = fs;
}

/* The served file of path, or NULL with errno set after logging why. */
static const struct files_file *served(const char *path)
{
	for (size_t i = 0; i < serving->n_files; i++) {
		const struct files_file *f = &serving->files[i];

		if (strcmp(f->path, path))
			continue;
		if (f->err) {
			errno = f->err;
			return NULL;
		}
		return f;
	}
	log_warn("event=reload file=%s note=\"not among the files the reader opened for "
		 "this configuration\"", path);
	errno = EACCES;
	return NULL;
}

FILE *files_fopen(const char *path)
{
	const struct files_file *f;

	if (!serving) {
		files_record_path(path);
		return fopen(path, "r");
	}
	f = served(path);
	return f ? fmemopen(f->data, f->len, "r") : NULL;
}

BIO *files_bio(const char *path)
{
	const struct files_file *f;

	if (!serving) {
		files_record_path(path);
		return BIO_new_file(path, "r");
	}
	f = served(path);
	return f ? BIO_new_mem_buf(f->data, (int)f->len) : NULL;
}

int files_mode(const char *path, mode_t *mode)
{
	const struct files_file *f;
	struct stat st;

	if (!serving) {
		files_record_path(path);
		if (stat(path, &st) < 0)
			return -1;
		*mode = st.st_mode;
		return 0;
	}
	f = served(path);
	if (!f)
		return -1;
	*mode = f->mode;
	return 0;
}

/* A directory that does not exist holds no match; one that cannot be read is an error. */
static int glob_error(const char *path, int e)
{
	(void)path;
	return e != ENOENT && e != ENOTDIR;
}

static int match_add(struct files_match *m, const char *name)
{
	char **v = realloc(m->names, (m->n + 1) * sizeof(*v));

	if (!v)
		return -1;
	m->names = v;
	v[m->n] = strdup(name);
	return v[m->n] ? (m->n++, 0) : -1;
}

int files_glob(const char *pattern, struct files_match *m)
{
	glob_t g;
	int rc;

	*m = (struct files_match){ 0 };
	if (serving) {
		for (size_t i = 0; i < serving->n_globs; i++) {
			const struct files_glob *s = &serving->globs[i];

			if (strcmp(s->pattern, pattern))
				continue;
			for (size_t j = 0; j < s->n; j++)
				if (match_add(m, s->names[j]) < 0)
					return GLOB_NOSPACE;
			return s->rc;
		}
		log_warn("event=reload include=%s note=\"not among the patterns the reader "
			 "expanded for this configuration\"", pattern);
		return GLOB_ABORTED;
	}
	rc = glob(pattern, GLOB_NOCHECK, glob_error, &g);
	if (recording && files_set_glob(recording, pattern, rc) < 0)
		recording = NULL;
	for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
		if (match_add(m, g.gl_pathv[i]) < 0) {
			rc = GLOB_NOSPACE;
			break;
		}
		if (recording && files_set_match(recording, g.gl_pathv[i]) < 0)
			recording = NULL;
	}
	globfree(&g);
	return rc;
}

void files_match_free(struct files_match *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->names[i]);
	free(m->names);
	*m = (struct files_match){ 0 };
}
