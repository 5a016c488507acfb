/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Facts about this host that every event carries, and the boot-time -> wall-clock conversion. */
#ifndef KANSOKU_HOST_H
#define KANSOKU_HOST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KS_MACHINE_ID_SOURCE_MAX (PATH_MAX + 32) /* "generated (" PATH ")" */

struct ks_host {
	char hostname[256];
	char machine_id[64]; /* the OCSF device uid: never empty in the daemon (ks_host_device_id) */
	char machine_id_source[KS_MACHINE_ID_SOURCE_MAX]; /* "/etc/machine-id", ..., "generated (DIR/machine-id)",
	                                                     "none" */
	char boot_id[64];                                 /* /proc/sys/kernel/random/boot_id */
	char os_name[128];                                /* os-release NAME */
	char os_version[64];                              /* os-release VERSION_ID */
	char kernel_release[128];
	char arch[65];
	int64_t boot_to_wall_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME */
};

/* Reads everything below root ("" or "/" for this host), the device id from files only. Missing files
 * leave fields empty. */
void ks_host_load(struct ks_host *h, const char *root);
/* The device id, in order: the files of ks_machine_id_paths under root (empty or invalid ones count as
 * absent), else the id kept in state_dir/machine-id, which is generated there once (0600, written
 * atomically) when create is set. state_dir NULL: the files only. Sets machine_id and machine_id_source
 * ("none" and an empty id when nothing was found). Returns 0, or -1 with err when the kept id cannot be
 * read, is not an id, or cannot be written. */
enum { KS_MACHINE_ID_LEN = 32, KS_MACHINE_ID_PATHS = 2 };
extern const char *const ks_machine_id_paths[KS_MACHINE_ID_PATHS];
bool ks_machine_id_valid(const char *s); /* 32 hex digits */
int ks_host_device_id(struct ks_host *h, const char *root, const char *state_dir, bool create, char *err,
                      size_t errlen);
/* Re-measure the offset: call on a timer so NTP steps and suspend are followed. */
void ks_host_refresh_clock(struct ks_host *h);
static inline int64_t ks_host_wall_ms(const struct ks_host *h, uint64_t boot_ns)
{
	return ((int64_t)boot_ns + h->boot_to_wall_ns) / 1000000;
}
uint64_t ks_boot_ns_now(void);
/* Reads a small file's first line into buf without the newline; returns length or -1. */
int ks_read_line(const char *path, char *buf, int len);

#endif
