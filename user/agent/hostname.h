/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one wildcard rule for host names, shared by the choice of a site by
 * SNI and by the DNS SAN constraints: a name matches itself in any case,
 * and "*.example.com" covers exactly one more label ("a.example.com", not
 * "a.b.example.com", nor "example.com").
 */
#ifndef AOPGATE_HOSTNAME_H
#define AOPGATE_HOSTNAME_H

#include <stdbool.h>

/* hostname_match(pattern, name): whether pattern covers name. */
bool hostname_match(const char *pattern, const char *name);

/* hostname_is_wildcard(pattern): whether pattern is "*.something". */
bool hostname_is_wildcard(const char *pattern);

#endif
