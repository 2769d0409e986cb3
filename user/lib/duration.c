// SPDX-License-Identifier: GPL-2.0-only
/* Durations: parsing and formatting; see duration.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

#define NS_S 1000000000ull

/* Largest first, for duration_str; "" is a bare number of seconds. */
static const struct {
	const char *suffix;
	uint64_t ns;
} units[] = {
	{ "d", 86400 * NS_S }, { "h", 3600 * NS_S }, { "m", 60 * NS_S },
	{ "s", NS_S }, { "ms", NS_S / 1000 }, { "", NS_S },
};

int duration_parse(const char *s, uint64_t *ns)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (v > UINT64_MAX / units[i].ns)
				return -1;
			*ns = v * units[i].ns;
			return 0;
		}
	}
	return -1;
}

const char *duration_str(uint64_t ns, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (ns < NS_S) {
		snprintf(buf, len, "%llums", (unsigned long long)(ns / 1000000));
		return buf;
	}
	for (size_t i = 0; units[i].ns >= NS_S && units[i].suffix[0] && off < len; i++) {
		uint64_t n = ns / units[i].ns;

		if (!n)
			continue;
		off += snprintf(buf + off, len - off, "%llu%s", (unsigned long long)n,
				units[i].suffix);
		ns -= n * units[i].ns;
	}
	return buf;
}
