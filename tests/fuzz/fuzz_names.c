// SPDX-License-Identifier: GPL-2.0-only
/*
 * The identity matchers on arbitrary names: the host-name wildcard rule
 * (SNI to site, DNS SANs) and the URI SAN patterns. Besides not crashing,
 * the rule's promises hold: a name matches itself, and "*.x" never covers
 * a name with more than one label before x.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hostname.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const unsigned char *nul = memchr(data, '\0', size);
	char *pattern, *name;
	size_t pl;

	if (!nul)
		return 0;
	pl = nul - data;
	pattern = strndup((const char *)data, pl);
	name = strndup((const char *)nul + 1, size - pl - 1);
	if (!hostname_match(name, name) || !policy_uri_match(name, name))
		abort();
	if (hostname_match(pattern, name) && hostname_is_wildcard(pattern) &&
	    strcasecmp(pattern, name)) {
		const char *dot = strchr(name, '.');

		/* One label, then exactly the pattern's suffix. */
		if (!dot || dot == name || strcasecmp(dot, pattern + 1))
			abort();
	}
	free(pattern);
	free(name);
	return 0;
}
