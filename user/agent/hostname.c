// SPDX-License-Identifier: GPL-2.0-only
/* Host-name matching; see hostname.h. */
#include <string.h>
#include <strings.h>

#include "hostname.h"

bool hostname_is_wildcard(const char *pattern)
{
	return !strncmp(pattern, "*.", 2);
}

bool hostname_match(const char *pattern, const char *name)
{
	const char *dot;

	if (!strcasecmp(pattern, name))
		return true;
	if (!hostname_is_wildcard(pattern))
		return false;
	dot = strchr(name, '.');
	return dot && dot != name && !strcasecmp(dot, pattern + 1);
}
