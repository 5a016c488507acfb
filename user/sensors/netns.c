// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The kernel's sockets listed per network namespace, from a short-lived thread that enters each one. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "host/host.h"
#include "lib/log.h"
#include "sensors/netns.h"

#define IDS_FIRST_CAP (64 * 1024) /* bytes; doubled as needed */

/* The pass thread's view: the namespace filesystem's device, its own namespace, whether it left it. */
struct ns_walk {
	dev_t nsfs_dev;
	int home; /* fd of the namespace the thread started in (the daemon's) */
	bool away;
};

uint32_t ks_netns_self(void)
{
	struct stat st;

	return stat("/proc/thread-self/ns/net", &st) ? 0 : (uint32_t)st.st_ino;
}

/* An fd of path when it is network namespace netns, else -1. */
static int open_ns(const char *path, const struct ns_walk *x, uint32_t netns)
{
	struct stat st;
	int fd;

	if (stat(path, &st) || st.st_dev != x->nsfs_dev || st.st_ino != netns)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* the process may have moved (or died and its pid been reused) between the two */
	if (fstat(fd, &st) || st.st_dev != x->nsfs_dev || st.st_ino != netns) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The first entry of dir that is netns: `ip netns` names (procs false), or /proc/PID/ns/net (procs true).
 * -1 when none is; *unreadable when dir could not be read (nothing can be concluded then). */
static int scan_for(const char *dir, bool procs, const struct ns_walk *x, uint32_t netns, bool *unreadable)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[320];
	int fd = -1;

	if (!d) {
		*unreadable = errno != ENOENT;
		return -1;
	}
	while (fd < 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (procs && !isdigit((unsigned char)de->d_name[0])))
			continue;
		if (procs)
			snprintf(path, sizeof(path), "%s/%s/ns/net", dir, de->d_name);
		else
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open_ns(path, x, netns);
	}
	closedir(d);
	return fd;
}

/*
 * An fd of the namespace: through a process the model knows in it (the owners of its sockets), else an
 * `ip netns` name, else any process (O(processes), only when the owners are gone). -1 and *gone when
 * nothing holds it any more, -1 alone when that cannot be told.
 */
static int find_ns(const struct ks_netns_owners *w, const struct ns_walk *x, bool *gone)
{
	bool unreadable = false;
	char path[64];
	int fd = -1;

	*gone = false;
	for (int i = 0; fd < 0 && i < KS_NETNS_PIDS && w->pids[i]; i++) {
		snprintf(path, sizeof(path), "/proc/%u/ns/net", w->pids[i]);
		fd = open_ns(path, x, w->netns);
	}
	if (fd < 0)
		fd = scan_for("/run/netns", false, x, w->netns, &unreadable);
	if (fd < 0)
		fd = scan_for("/proc", true, x, w->netns, &unreadable);
	*gone = fd < 0 && !unreadable;
	return fd;
}

/* Everything one iterator writes in the calling thread's namespace: socket ids, *n of them; NULL if it
 * failed (never NULL for an empty list). */
static uint64_t *read_ids(int link_fd, size_t *n)
{
	size_t len = 0, cap = IDS_FIRST_CAP;
	char *buf = malloc(cap);
	int fd = buf ? bpf_iter_create(link_fd) : -1;
	ssize_t got;

	*n = 0;
	if (fd < 0)
		goto fail;
	for (;;) {
		if (cap - len < IDS_FIRST_CAP / 2) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger)
				goto fail;
			buf = bigger;
			cap *= 2;
		}
		got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			goto fail;
		if (got == 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	*n = len / sizeof(uint64_t);
	return (uint64_t *)(void *)buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* Enters want[i]'s namespace (or finds it gone) and lists its sockets into out[i]. */
static void list_one(struct ks_netns_pass *p, size_t i, struct ns_walk *x)
{
	const struct ks_netns_owners *w = &p->want[i];
	struct ks_net_listing *out = &p->out[i];
	bool want_tcp = p->tcp_iter >= 0 && w->tcp, want_udp = p->udp_iter >= 0 && w->udp;
	int fd = -1;

	memset(out, 0, sizeof(*out));
	out->netns = w->netns;
	if (w->netns == p->self_netns) {
		if (x->away && setns(x->home, CLONE_NEWNET))
			return; /* nothing listed: nothing ended */
		x->away = false;
	} else {
		fd = find_ns(w, x, &out->gone);
		if (fd < 0) {
			out->listed_ns = ks_boot_ns_now();
			out->tcp_listed = out->gone && want_tcp;
			out->udp_listed = out->gone && want_udp;
			return;
		}
		if (setns(fd, CLONE_NEWNET)) {
			ks_warn("network namespace %u: cannot enter it (%s); its connections are not reconciled",
			        w->netns, strerror(errno));
			close(fd);
			return;
		}
		close(fd);
		x->away = true;
	}
	out->listed_ns = ks_boot_ns_now(); /* before the lists: a socket made later may be missing from them */
	if (want_tcp)
		out->tcp_listed = (out->tcp = read_ids(p->tcp_iter, &out->n_tcp)) != NULL;
	if (want_udp)
		out->udp_listed = (out->udp = read_ids(p->udp_iter, &out->n_udp)) != NULL;
}

static void *pass_main(void *arg)
{
	struct ks_netns_pass *p = arg;
	struct ns_walk x = {.home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)};
	struct stat st;

	if (x.home >= 0 && !fstat(x.home, &st)) {
		x.nsfs_dev = st.st_dev;
		for (size_t i = 0; i < p->n; i++)
			list_one(p, i, &x);
	} else {
		ks_warn("cannot open /proc/thread-self/ns/net (%s): connections are not reconciled", strerror(errno));
	}
	if (x.home >= 0)
		close(x.home);
	/* this thread may be in another namespace now: it ends here, never to be reused */
	atomic_store(&p->done, true);
	return NULL;
}

int ks_netns_pass_start(struct ks_netns_pass *p)
{
	int rc;

	memset(p->out, 0, sizeof(p->out));
	atomic_store(&p->done, false);
	rc = pthread_create(&p->thread, NULL, pass_main, p);
	if (rc) {
		errno = rc;
		return -1;
	}
	p->running = true;
	return 0;
}

bool ks_netns_pass_idle(struct ks_netns_pass *p)
{
	if (p->running && atomic_load(&p->done)) {
		pthread_join(p->thread, NULL);
		p->running = false;
	}
	return !p->running;
}

void ks_netns_pass_clear(struct ks_netns_pass *p)
{
	if (p->running) {
		pthread_join(p->thread, NULL);
		p->running = false;
	}
	for (size_t i = 0; i < KS_NETNS_MAX; i++) {
		free(p->out[i].tcp);
		free(p->out[i].udp);
	}
	memset(p->out, 0, sizeof(p->out));
	p->n = 0;
}
