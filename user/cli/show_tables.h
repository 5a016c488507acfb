/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The streamed tables (show_tables.c): ps (rows or the tree), conns and ports. */
#ifndef KANSOKU_CLI_SHOW_TABLES_H
#define KANSOKU_CLI_SHOW_TABLES_H

#include <stdbool.h>

struct ks_cli_reader;
struct json_object;

/*
 * A streamed table (ps, conns, ports): one row per line after the head, then {"end":true,"count":N}.
 * Rows are shown as they come (the tree needs them all first); json prints the document
 * {"NAME":[rows]}. tree, kthreads: ps only. Returns 0, or 1 when the reply was cut before its end line.
 */
int ks_cli_read_table(struct ks_cli_reader *r, const char *cmd, const char *name, bool tree, bool kthreads, bool json);

#endif
