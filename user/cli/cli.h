/* SPDX-License-Identifier: GPL-2.0-only */
/* Small pieces the aopgate CLI's verbs share: errors, numbers, JSON. */
#ifndef AOPGATE_CLI_H
#define AOPGATE_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

/* cli_err(fmt, ...): prints "aopgate: <message>" on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * cli_ports_parse(s, ports, max): "443,8443" into ports (1..65535).
 * Returns the count, or -1 if s has a bad port or more than max.
 */
int cli_ports_parse(const char *s, __u16 *ports, int max);

/* cli_json_str(f, s): writes s as a JSON string literal. */
void cli_json_str(FILE *f, const char *s);

/*
 * cli_catch_stop(): SIGINT and SIGTERM set a flag instead of killing the
 * process (without SA_RESTART, so a blocking wait returns EINTR), for the
 * verbs that run until stopped. cli_stopped(): whether one arrived.
 */
void cli_catch_stop(void);
bool cli_stopped(void);

#endif
