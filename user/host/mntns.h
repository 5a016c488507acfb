/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Paths seen in another mount namespace, translated to the host's view through the mount tables. */
#ifndef KANSOKU_MNTNS_H
#define KANSOKU_MNTNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KS_MNT_PATH 4096

/* path as process pid in mount namespace mntns saw it -> out, the same file as the host sees it (any live
 * process of that namespace will do when pid is gone). host_mountinfo: the host's table (NULL:
 * /proc/self/mountinfo). false when no process is left in the namespace or the filesystem has no host
 * mount (a tmpfs only the container mounted). */
bool ks_mntns_host_path(uint32_t pid, uint32_t mntns, const char *path, const char *host_mountinfo, char *out,
                        size_t outlen);

#endif
