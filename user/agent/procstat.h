/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The process_* families every Prometheus client library exports: start
 * time, CPU, open and maximum file descriptors, memory. From /proc/self.
 */
#ifndef AOPGATE_PROCSTAT_H
#define AOPGATE_PROCSTAT_H

#include <stdio.h>

/* procstat_init(): records the start time; call once, early in main(). */
void procstat_init(void);

/* procstat_render(f): the process_* families; a value that cannot be read is left out. */
void procstat_render(FILE *f);

#endif
