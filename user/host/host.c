// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "lib/time.h"
#include "host/host.h"

int ks_read_line(const char *path, char *buf, int len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	char *nl;

	if (len <= 0)
		return -1;
	buf[0] = '\0';
	if (fd < 0)
		return -1;
	n = read(fd, buf, (size_t)len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	return (int)strlen(buf);
}

static void os_release(struct ks_host *h, const char *root)
{
	char path[4096], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/etc/os-release", root);
	f = fopen(path, "re");
	if (!f) {
		snprintf(path, sizeof(path), "%s/usr/lib/os-release", root);
		f = fopen(path, "re");
	}
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *val = strchr(line, '='), *end;
		char *dst = NULL;
		size_t cap = 0;

		if (!val)
			continue;
		*val++ = '\0';
		if (!strcmp(line, "NAME")) {
			dst = h->os_name;
			cap = sizeof(h->os_name);
		} else if (!strcmp(line, "VERSION_ID")) {
			dst = h->os_version;
			cap = sizeof(h->os_version);
		}
		if (!dst)
			continue;
		end = val + strcspn(val, "\n");
		*end = '\0';
		if (*val == '"' && end > val + 1 && end[-1] == '"') {
			val++;
			end[-1] = '\0';
		}
		snprintf(dst, cap, "%s", val);
	}
	fclose(f);
}

uint64_t ks_boot_ns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

void ks_host_refresh_clock(struct ks_host *h)
{
	struct timespec rt;
	uint64_t b1, b2;

	/* bracket the realtime read with two boottime reads to halve the skew */
	b1 = ks_boot_ns_now();
	clock_gettime(CLOCK_REALTIME, &rt);
	b2 = ks_boot_ns_now();
	h->boot_to_wall_ns = ((int64_t)rt.tv_sec * 1000000000ll + rt.tv_nsec) - (int64_t)(b1 + (b2 - b1) / 2);
}

void ks_host_load(struct ks_host *h, const char *root)
{
	char path[4096];
	struct utsname u;

	memset(h, 0, sizeof(*h));
	if (!root || !strcmp(root, "/"))
		root = "";
	if (gethostname(h->hostname, sizeof(h->hostname) - 1) < 0)
		snprintf(h->hostname, sizeof(h->hostname), "unknown");
	ks_host_device_id(h, root, NULL, false, path, sizeof(path)); /* files only: cannot fail */
	ks_read_line("/proc/sys/kernel/random/boot_id", h->boot_id, sizeof(h->boot_id));
	os_release(h, root);
	if (uname(&u) == 0) {
		snprintf(h->kernel_release, sizeof(h->kernel_release), "%s", u.release);
		snprintf(h->arch, sizeof(h->arch), "%s", u.machine);
	}
	ks_host_refresh_clock(h);
}
