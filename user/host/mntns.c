// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The host's view of a path seen in another mount namespace (a container): the kernel resolves a file's
 * path inside the process's namespace; here the mount holding it (from /proc/PID/mountinfo) gives the
 * filesystem and the path inside it, and a host mount of the same filesystem (/proc/self/mountinfo) gives
 * where the host sees it. Overlay roots of containers are mounted on the host too, so this covers them;
 * a filesystem only the container mounted (its own tmpfs) has no host view.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host/mntns.h"

struct mnt {
	unsigned major, minor;
	char root[KS_MNT_PATH], point[KS_MNT_PATH];
};

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Calls fn for each mount of the file; stops when fn returns non-zero. Returns -1 if unreadable. */
static int each_mount(const char *file, int (*fn)(const struct mnt *m, void *arg), void *arg)
{
	char line[3 * KS_MNT_PATH];
	struct mnt m;
	FILE *f = fopen(file, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char root[KS_MNT_PATH], point[KS_MNT_PATH];

		if (sscanf(line, "%*u %*u %u:%u %4095s %4095s", &m.major, &m.minor, root, point) != 4)
			continue;
		unescape(root);
		unescape(point);
		snprintf(m.root, sizeof(m.root), "%s", root);
		snprintf(m.point, sizeof(m.point), "%s", point);
		if (fn(&m, arg))
			break;
	}
	fclose(f);
	return 0;
}

/* Length of prefix when it is a whole-component prefix of path ("/" prefixes everything), else -1. */
static long under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (!strcmp(prefix, "/"))
		return 0;
	if (strncmp(path, prefix, n) || (path[n] != '/' && path[n] != '\0'))
		return -1;
	return (long)n;
}

struct find_ns {
	const char *path;
	struct mnt best;
	long best_len;
};

static int pick_ns(const struct mnt *m, void *arg)
{
	struct find_ns *a = arg;
	long n = under(a->path, m->point);

	/* the last of equal mount points is the one on top */
	if (n >= 0 && n >= a->best_len) {
		a->best = *m;
		a->best_len = n;
	}
	return 0;
}

struct find_host {
	const struct mnt *fs;
	const char *fs_path;
	struct mnt best;
	long best_len;
	int found;
};

static int pick_host(const struct mnt *m, void *arg)
{
	struct find_host *a = arg;
	long n;

	if (m->major != a->fs->major || m->minor != a->fs->minor)
		return 0;
	n = under(a->fs_path, m->root);
	if (n > a->best_len || (n == a->best_len && n >= 0 && strlen(m->point) < strlen(a->best.point))) {
		a->best = *m;
		a->best_len = n;
		a->found = 1;
	}
	return 0;
}

static void join(char *out, size_t len, const char *a, const char *b)
{
	size_t la = strlen(a);

	if (la && a[la - 1] == '/')
		la--;
	snprintf(out, len, "%.*s%s%s", (int)la, a, *b == '/' || !*b ? "" : "/", b);
	if (!*out)
		snprintf(out, len, "/");
}

static bool in_ns(uint32_t pid, uint32_t mntns)
{
	char p[64];
	struct stat st;

	snprintf(p, sizeof(p), "/proc/%u/ns/mnt", pid);
	return stat(p, &st) == 0 && (uint32_t)st.st_ino == mntns;
}

/* A live process in mount namespace mntns: pid itself, the one found last time, or a scan of /proc (the
 * process that touched the file is often gone by the time its event is read). 0 if none. */
static uint32_t ns_member(uint32_t pid, uint32_t mntns)
{
	static struct {
		uint32_t mntns, pid;
	} last[16];
	static unsigned next;
	struct dirent *de;
	uint32_t found = 0;
	unsigned i;
	DIR *d;

	if (in_ns(pid, mntns))
		return pid;
	for (i = 0; i < 16; i++)
		if (last[i].mntns == mntns && in_ns(last[i].pid, mntns))
			return last[i].pid;
	d = opendir("/proc");
	while (d && !found && (de = readdir(d))) {
		uint32_t p = (uint32_t)strtoul(de->d_name, NULL, 10);

		if (p && in_ns(p, mntns))
			found = p;
	}
	if (d)
		closedir(d);
	if (found) {
		last[next % 16].mntns = mntns;
		last[next++ % 16].pid = found;
	}
	return found;
}

bool ks_mntns_host_path(uint32_t pid, uint32_t mntns, const char *path, const char *host_mountinfo, char *out,
                        size_t outlen)
{
	char file[64], fs_path[2 * KS_MNT_PATH];
	struct find_ns ns = {.path = path, .best_len = -1};
	struct find_host host = {.best_len = -1};

	if (path[0] != '/' || !(pid = ns_member(pid, mntns)))
		return false;
	snprintf(file, sizeof(file), "/proc/%u/mountinfo", pid);
	if (each_mount(file, pick_ns, &ns) < 0 || ns.best_len < 0)
		return false;
	/* the file inside its filesystem: the mount's root, then the rest of the path below the mount point */
	join(fs_path, sizeof(fs_path), ns.best.root, path + ns.best_len);
	host.fs = &ns.best;
	host.fs_path = fs_path;
	if (each_mount(host_mountinfo ? host_mountinfo : "/proc/self/mountinfo", pick_host, &host) < 0 || !host.found)
		return false;
	join(out, outlen, host.best.point, fs_path + host.best_len);
	return true;
}
