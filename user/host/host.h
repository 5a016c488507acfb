/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Facts about this host that every event carries, and the boot-time -> wall-clock conversion. */
#ifndef KANSOKU_HOST_H
#define KANSOKU_HOST_H

#include <stdint.h>

struct ks_host {
	char hostname[256];
	char machine_id[64]; /* /etc/machine-id: the OCSF device uid */
	char boot_id[64];    /* /proc/sys/kernel/random/boot_id */
	char os_name[128];   /* os-release NAME */
	char os_version[64]; /* os-release VERSION_ID */
	char kernel_release[128];
	char arch[65];
	int64_t boot_to_wall_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME */
};

/* Reads everything below root ("" or "/" for this host). Missing files leave fields empty. */
void ks_host_load(struct ks_host *h, const char *root);
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
