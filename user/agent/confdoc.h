/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The configuration's documentation, from the directive table: plain text
 * for `aopgated -D` and roff for man/aopgate.conf.5.
 */
#ifndef AOPGATE_CONFDOC_H
#define AOPGATE_CONFDOC_H

#include <stdio.h>

enum config_doc_fmt {
	CONFIG_DOC_TEXT,	/* aopgated -D */
	CONFIG_DOC_MAN,		/* man/aopgate.conf.5 */
};

/* confdoc_write(out, fmt): writes the documentation of every directive. */
void confdoc_write(FILE *out, enum config_doc_fmt fmt);

#endif
