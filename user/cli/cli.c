// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "value.h"

void cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("aopgate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_ports_parse(const char *s, __u16 *ports, int max)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int n = 0;
	uint64_t v;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == max || value_u64(tok, 1, 65535, &v)) {
			n = -1;
			break;
		}
		ports[n++] = v;
	}
	free(copy);
	return n;
}

void cli_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static volatile sig_atomic_t cli_stop;

static void on_stop(int sig)
{
	(void)sig;
	cli_stop = 1;
}

void cli_catch_stop(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool cli_stopped(void)
{
	return cli_stop;
}
