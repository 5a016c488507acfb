/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The event stream as lines (show_events.c): events, files, alerts. */
#ifndef KANSOKU_CLI_SHOW_EVENTS_H
#define KANSOKU_CLI_SHOW_EVENTS_H

#include <stdbool.h>

struct ks_cli_reader;
/* `files`: file accesses under path_prefix (NULL: all), a table or one event per line (json). */
void ks_cli_read_files(struct ks_cli_reader *r, const char *path_prefix, bool json);
/* `events` and `alerts` (Detection Findings): one line each until the daemon closes. */
void ks_cli_read_events(struct ks_cli_reader *r, bool alerts, bool follow, bool json);

#endif
