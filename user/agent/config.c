// SPDX-License-Identifier: GPL-2.0-only
/*
 * Configuration parsing with libinih, driven by one directive table. inih
 * does not report line numbers to the handler in the distribution build,
 * so the reader counts the lines it hands over: inih calls the handler for
 * a line before it reads the next one.
 */
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <stdarg.h>
#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "errbuf.h"
#include "files.h"
#include "hostname.h"
#include "confdir.h"
#include "confval.h"
#include "gatemap.h"
#include "log.h"

#define CONFIG_MAX_DEPTH 8	/* nested includes */
#define CONFIG_MAX_FILES 1024	/* files included, in all */

/*
 * One file being read. An included file is read in place of its include
 * line; when it ends, the section that was open at that line resumes.
 */
struct config_src {
	FILE *fp;		/* NULL until it becomes the file being read */
	const char *name;	/* in cfg->files */
	int line;
	int depth;		/* 0: the main file */
	const char *from;	/* the include line, for "cannot open" */
	int from_line;
	enum config_section section;	/* to resume at the end */
	long site;		/* index into cfg->sites, or -1 */
	int in_section;
};

/* Parsing state: the object under construction and the errors so far. */
struct config_parse {
	struct config *cfg;
	struct config_src src[CONFIG_MAX_FILES];	/* a stack: the top is read */
	size_t n_src;
	const char *file;	/* the file being read */
	FILE *fp;
	int line;
	struct config_where { const char *file; int line; } *lines;	/* by inih's count */
	size_t n_lines, cap_lines;
	size_t n_included;	/* files pushed by include lines so far */
	int too_long;		/* the current line exceeded inih's limit */
	struct config_site *site;	/* NULL in [agent] */
	enum config_section section;
	int in_section;		/* 0 before the first [section] */
	struct errbuf err;
};

static void cp_error_in(struct config_parse *cp, const char *file, int line,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void cp_error_in(struct config_parse *cp, const char *file, int line,
			const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vadd(&cp->err, file, line, fmt, ap);
	va_end(ap);
}

/* An error at line of the file being read. */
#define cp_error(cp, line, ...) cp_error_in(cp, (cp)->file, line, __VA_ARGS__)

/* ---- the ini handler ---- */

static int begin_section(struct config_parse *cp, const char *section);

/*
 * Sections begin here rather than in the handler: inih calls the handler
 * only for keys, and an empty [site] must still be created and checked.
 */
static void section_line(struct config_parse *cp, const char *str)
{
	char name[256];
	const char *p = str, *rb;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '[')
		return;
	rb = strchr(p, ']');
	if (!rb)
		return;	/* inih reports the syntax error */
	p++;
	while (*p == ' ')
		p++;
	while (rb > p && rb[-1] == ' ')
		rb--;
	snprintf(name, sizeof(name), "%.*s", (int)(rb - p), p);
	begin_section(cp, name);
}

/* Keeps a file name for as long as the configuration (sites point at it). */
static const char *keep_name(struct config_parse *cp, const char *name)
{
	struct config *cfg = cp->cfg;
	char **n = realloc(cfg->files, (cfg->n_files + 1) * sizeof(*n));

	if (!n)
		return NULL;
	cfg->files = n;
	n[cfg->n_files] = strdup(name);
	return n[cfg->n_files] ? n[cfg->n_files++] : NULL;
}

/* Is path the file being read or one that includes it (the same inode)? */
static int being_read(const struct config_parse *cp, const char *path)
{
	struct stat a, b;

	if (stat(path, &a))
		return 0;
	for (size_t i = 0; i < cp->n_src; i++)
		if (cp->src[i].fp && !fstat(fileno(cp->src[i].fp), &b) &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return 1;
	return 0;
}

/* The value of an "include = GLOB" line, or NULL for any other line. */
static char *include_value(char *str)
{
	char *p = str, *e;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "include", 7) || (p[7] != ' ' && p[7] != '\t' && p[7] != '='))
		return NULL;
	p += 7;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p++ != '=')
		return NULL;
	while (*p == ' ' || *p == '\t')
		p++;
	e = p + strlen(p);
	while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return p;
}

/*
 * Pushes the files pattern matches (relative to the including file's
 * directory), in reverse so the first in sorted order is read first. No
 * match is fine for a pattern (an empty conf.d), an error for a plain name.
 */
static void include(struct config_parse *cp, const char *pattern)
{
	const struct config_src *cur = &cp->src[cp->n_src - 1];
	char full[4096], dir[4096];
	struct files_match g;
	int rc;

	if (!*pattern) {
		cp_error(cp, cp->line, "include: no file or pattern");
		return;
	}
	if (cur->depth + 1 >= CONFIG_MAX_DEPTH) {
		cp_error(cp, cp->line, "include: nested more than %d deep",
			 CONFIG_MAX_DEPTH - 1);
		return;
	}
	snprintf(dir, sizeof(dir), "%s", cur->name);
	if (pattern[0] == '/')
		snprintf(full, sizeof(full), "%s", pattern);
	else
		snprintf(full, sizeof(full), "%s/%s", dirname(dir), pattern);
	rc = files_glob(full, &g);
	if (rc != 0) {
		cp_error(cp, cp->line, "include %s: %s", full,
			 rc == GLOB_ABORTED ? "cannot read a directory" : "cannot expand");
		files_match_free(&g);
		return;
	}
	/* GLOB_NOCHECK hands back a pattern that matched nothing as itself. */
	if (g.n == 1 && !strcmp(g.names[0], full) && strpbrk(full, "*?[")) {
		files_match_free(&g);
		return;
	}
	/*
	 * In all, not at once: a file that includes another several times,
	 * each including more, reads exponentially many without a loop.
	 */
	if (cp->n_included + g.n > CONFIG_MAX_FILES || cp->n_src + g.n > CONFIG_MAX_FILES) {
		cp_error(cp, cp->line, "include %s: more than %d files in all", full,
			 CONFIG_MAX_FILES);
		files_match_free(&g);
		return;
	}
	for (size_t i = 0; i < g.n; i++) {
		if (being_read(cp, g.names[i])) {
			cp_error(cp, cp->line, "include %s: %s is being read already (an include loop)",
				 full, g.names[i]);
			files_match_free(&g);
			return;
		}
	}
	cp->n_included += g.n;
	for (size_t i = g.n; i-- > 0;) {
		struct config_src *s = &cp->src[cp->n_src];
		const char *name = keep_name(cp, g.names[i]);

		if (!name)
			break;
		*s = (struct config_src){
			.name = name, .depth = cur->depth + 1, .from = cp->file,
			.from_line = cp->line, .section = cp->section, .in_section = cp->in_section,
			.site = cp->site ? cp->site - cp->cfg->sites : -1,
		};
		cp->n_src++;
	}
	files_match_free(&g);
}

/* The next line of the current file, moving to the next file at the end. */
static char *next_line(struct config_parse *cp, char *str, int num)
{
	while (cp->n_src) {
		struct config_src *s = &cp->src[cp->n_src - 1];

		if (!s->fp) {
			s->fp = files_fopen(s->name);
			if (!s->fp) {
				cp_error_in(cp, s->from, s->from_line, "include %s: %s", s->name,
					    strerror(errno));
				cp->n_src--;
				continue;
			}
		}
		cp->fp = s->fp;
		cp->file = s->name;
		if (fgets(str, num, s->fp)) {
			cp->line = ++s->line;
			/* inih reports a syntax error by its own line count. */
			if (cp->n_lines == cp->cap_lines) {
				size_t cap = cp->cap_lines ? 2 * cp->cap_lines : 256;
				struct config_where *w = realloc(cp->lines, cap * sizeof(*w));

				if (w) {
					cp->lines = w;
					cp->cap_lines = cap;
				}
			}
			if (cp->n_lines < cp->cap_lines)
				cp->lines[cp->n_lines++] = (struct config_where){ cp->file, cp->line };
			return str;
		}
		if (s->depth == 0)
			return NULL;	/* the main file: the caller closes it */
		fclose(s->fp);
		cp->section = s->section;
		cp->in_section = s->in_section;
		cp->site = s->site >= 0 ? &cp->cfg->sites[s->site] : NULL;
		cp->n_src--;
	}
	return NULL;
}

/* Hands inih one line at a time and counts them; flags overlong lines. */
static char *config_reader(char *str, int num, void *stream)
{
	struct config_parse *cp = stream;
	char *pattern;
	size_t n;
	int c;

	if (!next_line(cp, str, num))
		return NULL;
	cp->too_long = 0;
	n = strlen(str);
	if (n == (size_t)num - 1 && str[n - 1] != '\n') {
		while ((c = fgetc(cp->fp)) != EOF && c != '\n')
			;
		cp->too_long = 1;
		cp_error(cp, cp->line, "line longer than %d characters (repeat the key instead)",
			 num - 2);
		str[0] = '\0';
		return str;
	}
	pattern = include_value(str);
	if (pattern) {
		include(cp, pattern);
		str[0] = '\0';	/* inih sees a blank line */
		return str;
	}
	section_line(cp, str);
	return str;
}

static struct config_site *site_new(struct config_parse *cp, const char *name)
{
	struct config *cfg = cp->cfg;
	struct config_site *n;

	for (size_t i = 0; i < cfg->n_sites; i++) {
		if (!strcmp(cfg->sites[i].name, name)) {
			if (cfg->sites[i].file == cp->file)
				cp_error(cp, cp->line, "site '%s' already defined at line %d",
					 name, cfg->sites[i].line);
			else
				cp_error(cp, cp->line, "site '%s' already defined at %s:%d",
					 name, cfg->sites[i].file, cfg->sites[i].line);
			return NULL;
		}
	}
	n = realloc(cfg->sites, (cfg->n_sites + 1) * sizeof(*n));
	if (!n)
		return NULL;
	cfg->sites = n;
	n = &cfg->sites[cfg->n_sites];
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	if (!n->name)
		return NULL;
	n->file = cp->file;
	n->line = cp->line;
	n->id = ++cfg->n_sites;
	return n;
}

/* A site name is "default", "*.suffix" or a host name (lower case). */
static int site_name_ok(const char *s)
{
	if (!strcmp(s, "default"))
		return 1;
	if (hostname_is_wildcard(s))
		s += 2;
	if (!*s || *s == '.' || strlen(s) > 253)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '.'))
			return 0;
	return 1;
}

/* Starts a section; the site pointer moves (realloc), so it is re-derived. */
static int begin_section(struct config_parse *cp, const char *section)
{
	cp->in_section = 1;
	if (!strcmp(section, "agent")) {
		cp->section = SEC_AGENT;
		cp->site = NULL;
		return 0;
	}
	if (!strncmp(section, "site ", 5)) {
		const char *name = section + 5;

		while (*name == ' ')
			name++;
		cp->section = SEC_SITE;
		if (!site_name_ok(name)) {
			cp_error(cp, cp->line, "'%s' is not a host name, *.suffix or default",
				 name);
			cp->site = NULL;
			return -1;
		}
		cp->site = site_new(cp, name);
		return cp->site ? 0 : -1;
	}
	cp_error(cp, cp->line, "unknown section [%s] (expected [agent] or [site NAME])",
		 section);
	cp->section = SEC_SITE;
	cp->site = NULL;
	return -1;
}

static const struct config_directive *dir_find(enum config_section sec, const char *name)
{
	for (size_t i = 0; i < config_n_dirs; i++)
		if (config_dirs[i].section == sec && !strcmp(config_dirs[i].name, name))
			return &config_dirs[i];
	return NULL;
}

static int config_handler(void *user, const char *section, const char *name,
			  const char *value)
{
	struct config_parse *cp = user;
	const struct config_directive *d;
	char msg[512];
	uint64_t *seen;
	void *base;
	size_t idx;

	(void)section;	/* the reader saw the header and began the section */
	if (cp->too_long)
		return 1;
	if (!cp->in_section) {
		cp_error(cp, cp->line, "'%s' outside a section", name);
		return 1;
	}
	if (cp->section == SEC_SITE && !cp->site)
		return 1;	/* the section's error is already reported */
	d = dir_find(cp->section, name);
	if (!d) {
		const struct config_directive *other =
			dir_find(cp->section == SEC_AGENT ? SEC_SITE : SEC_AGENT, name);

		if (other)
			cp_error(cp, cp->line, "'%s' belongs in %s", name,
				 other->section == SEC_AGENT ? "[agent]" : "a [site NAME] section");
		else
			cp_error(cp, cp->line, "unknown key '%s'", name);
		return 1;
	}
	idx = d - config_dirs;
	base = cp->section == SEC_AGENT ? (void *)&cp->cfg->agent : (void *)cp->site;
	seen = cp->section == SEC_AGENT ? &cp->cfg->agent.seen : &cp->site->seen;
	if ((*seen & (1ull << idx)) && !(d->flags & DIR_LIST)) {
		cp_error(cp, cp->line, "'%s' given twice", name);
		return 1;
	}
	*seen |= 1ull << idx;
	msg[0] = '\0';
	if (d->parse((char *)base + d->offset, value, cp->line, msg, sizeof(msg)) < 0)
		cp_error(cp, cp->line, "%s: %s", name, msg);
	return 1;
}

/* Defaults go through the same parsers as values, so they cannot drift. */
static void apply_defaults(struct config_parse *cp, enum config_section sec,
			   void *base, uint64_t seen, int line)
{
	char msg[256];

	for (size_t i = 0; i < config_n_dirs; i++) {
		const struct config_directive *d = &config_dirs[i];

		if (d->section != sec || !d->def || (seen & (1ull << i)))
			continue;
		if (d->parse((char *)base + d->offset, d->def, line, msg, sizeof(msg)) < 0)
			cp_error(cp, line, "default of %s: %s", d->name, msg);
	}
}

/* Checks that need the whole section: required keys and combinations. */
static void validate_site(struct config_parse *cp, struct config_site *s)
{
	if (s->n_cert == 0)
		cp_error_in(cp, s->file, s->line, "site %s: no cert", s->name);
	if (s->n_cert != s->n_key)
		cp_error_in(cp, s->file, s->line, "site %s: %d cert but %d key lines", s->name,
			 s->n_cert, s->n_key);
	if (s->verify != CONFIG_VERIFY_OFF && !s->client_ca.path)
		cp_error_in(cp, s->file, s->line, "site %s: verify = %s needs client_ca", s->name,
			 config_verify_name(s->verify));
	if (s->crl.path && !s->client_ca.path)
		cp_error_in(cp, s->file, s->crl.line, "site %s: crl without client_ca", s->name);
	if (!s->upstream.host)
		cp_error_in(cp, s->file, s->line, "site %s: no upstream", s->name);
	if (!!s->upstream_cert.path != !!s->upstream_key.path)
		cp_error_in(cp, s->file, s->line, "site %s: upstream_cert and upstream_key go together",
			 s->name);
	if ((s->upstream_cert.path || s->upstream_ca.path) && s->upstream.host &&
	    !s->upstream.tls && !s->upstream_h2.tls)
		cp_error_in(cp, s->file, s->upstream.line,
			 "site %s: upstream_cert/upstream_ca need a tls:// upstream", s->name);
	/* Fail closed: an unchecked upstream could be anyone on the path. */
	if ((s->upstream.tls || s->upstream_h2.tls) && !s->upstream_ca.path)
		cp_error_in(cp, s->file, s->upstream.line,
			 "site %s: a tls:// upstream needs upstream_ca to check its certificate",
			 s->name);
	if (s->verify == CONFIG_VERIFY_OFF &&
	    (s->allow_cn.n || s->allow_san_dns.n || s->allow_san_uri.n ||
	     s->pin_sha256.n || s->pin_spki_sha256.n))
		cp_error_in(cp, s->file, s->line, "site %s: identity constraints need verify = on or optional",
			 s->name);
}

static void validate(struct config_parse *cp)
{
	struct config_agent *a = &cp->cfg->agent;

	if (a->penalty_window_ns == 0)
		cp_error(cp, 1, "penalty_window must not be 0");
	if (a->penalty_ns > a->penalty_max_ns)
		cp_error(cp, 1, "penalty is longer than penalty_max");
	if (a->handshake_timeout_ns == 0)
		cp_error(cp, 1, "handshake_timeout must not be 0");
	if (a->flow_lease_ns < 3000000000ull || a->flow_lease_ns > 3600000000000ull)
		cp_error(cp, 1, "flow_lease must be from 3s to 1h");
	if (cp->cfg->n_sites == 0)
		cp_error(cp, cp->line, "no [site NAME] section");
	for (size_t i = 0; i < cp->cfg->n_sites; i++)
		validate_site(cp, &cp->cfg->sites[i]);
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
	struct config_parse cp = { 0 };
	int rc;

	errbuf_init(&cp.err, err, errlen);
	cp.cfg = calloc(1, sizeof(*cp.cfg));
	if (!cp.cfg)
		return NULL;
	cp.cfg->file = strdup(path);
	if (!cp.cfg->file)
		goto err;
	cp.src[0].name = cp.file = cp.cfg->file;
	cp.src[0].fp = files_fopen(path);
	if (!cp.src[0].fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto err;
	}
	cp.n_src = 1;
	rc = ini_parse_stream(config_reader, &cp, config_handler, &cp);
	/* A syntax error stops inih mid-way: close what is still open. */
	for (size_t i = 0; i < cp.n_src; i++)
		if (cp.src[i].fp)
			fclose(cp.src[i].fp);
	/* inih's own syntax errors (e.g. a line without '=') come back here. */
	if (rc > 0 && (size_t)rc <= cp.n_lines)
		cp_error_in(&cp, cp.lines[rc - 1].file, cp.lines[rc - 1].line,
			    "syntax error (expected key = value or [section])");
	else if (rc != 0)
		cp_error(&cp, 0, "cannot parse");
	free(cp.lines);
	/* What follows concerns the whole configuration: the main file. */
	cp.file = cp.cfg->file;
	cp.line = cp.src[0].line;
	apply_defaults(&cp, SEC_AGENT, &cp.cfg->agent, cp.cfg->agent.seen, 1);
	for (size_t i = 0; i < cp.cfg->n_sites; i++)
		apply_defaults(&cp, SEC_SITE, &cp.cfg->sites[i], cp.cfg->sites[i].seen,
			       cp.cfg->sites[i].line);
	if (cp.err.n == 0)
		validate(&cp);
	if (cp.err.n)
		goto err;
	return cp.cfg;
err:
	config_free(cp.cfg);
	return NULL;
}
