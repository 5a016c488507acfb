/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The file watch set: config rules (with '*' components) expanded into the canonical prefixes the BPF
 * programs match, and the same match in user space for paths the kernel could not decide (names with
 * "." or ".." parts, folded here first).
 */
#ifndef KANSOKU_WATCH_H
#define KANSOKU_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "kansoku/events.h"

/* Expands cfg->watch into rules (at most max). Returns how many, or -1 with err (too many rules). */
int ks_watch_build(const struct ks_config *cfg, struct ks_rule *rules, int max, char *err, size_t errlen);
/* KS_OPS_* the rules give to an absolute canonical path: the most specific rule wins, ignore gives 0. */
uint32_t ks_watch_match(const struct ks_rule *rules, int n, const char *path);
/* The executables of files.ignore, as the kernel identifies them (inode, kernel dev_t). Returns how many. */
int ks_watch_ignored_exes(const struct ks_config *cfg, struct ks_exe_id *out, int max);
/* Folds "//", "." and ".." of an absolute path in place ("/.." stays "/"). */
void ks_path_normalize(char *path);

#endif
