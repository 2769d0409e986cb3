/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The directive table of the configuration, shared by the parser
 * (config.c) and the documentation writer (confdoc.c) so both read the
 * same names, sections, defaults and help texts.
 */
#ifndef AOPGATE_CONFDIR_H
#define AOPGATE_CONFDIR_H

#include <stddef.h>
#include "confval.h"

enum config_section {
	SEC_AGENT,
	SEC_SITE,
};

/* One parser per value type; field points into the agent or site struct. */

enum {
	DIR_LIST = 1u << 0,	/* may repeat; values accumulate */
};

struct config_directive {
	const char *name;
	confval_fn parse;
	enum config_section section;
	size_t offset;
	const char *def;	/* parsed like a value when absent; NULL: none */
	unsigned int flags;
	const char *help;
};

/* config_dirs[config_n_dirs]: every directive, in documentation order. */
extern const struct config_directive config_dirs[];
extern const size_t config_n_dirs;

#endif
