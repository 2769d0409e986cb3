// SPDX-License-Identifier: GPL-2.0-only
/*
 * The configuration parser on arbitrary text: INI syntax, every directive's
 * value parser (durations, addresses, CIDRs, lists, pins, upstreams), the
 * validation, and the file:line error text. It must load or refuse with an
 * error, never crash, leak or read out of bounds; a loaded configuration
 * must free cleanly, and a refused one must say why.
 */
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "scratch.h"

/*
 * Upstream host names resolve through getaddrinfo: here it answers
 * "no such name" without asking a resolver, so fuzzed names never leave
 * the machine (and a run does not wait on DNS). Numeric addresses do not
 * come here: the parser takes them itself.
 */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	(void)node;
	(void)service;
	(void)hints;
	*res = NULL;
	return EAI_NONAME;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static char path[4200];
	static int fd = -1;
	char err[4096];
	struct config *c;

	if (fd < 0) {
		snprintf(path, sizeof(path), "%s/aopgated.conf", scratch_dir("aopgate-fuzz-config"));
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			abort();
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	c = config_load(path, err, sizeof(err));
	if (!c && !err[0])
		abort();	/* a refusal always says why */
	config_free(c);
	return 0;
}
