// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The live facts: running executables (/proc/PID/exe) and listening sockets (model, /proc/net). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "env.h"

/* ---- processes ---- */

const struct ks_proc_exe *ks_facts_procs(struct ks_posture_env *e, size_t *n)
{
	struct dirent *de;
	size_t cap = 0;
	int fd;
	DIR *d;

	if (e->procs_loaded) {
		*n = e->n_procs;
		return e->procs;
	}
	e->procs_loaded = true;
	fd = ks_root_open(e, "/proc", O_RDONLY | O_DIRECTORY);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		*n = 0;
		return NULL;
	}
	while ((de = readdir(d))) {
		char path[64];
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end || !pid)
			continue;
		if (e->n_procs == cap) {
			struct ks_proc_exe *np = realloc(e->procs, (cap = cap ? cap * 2 : 256) * sizeof(*np));

			if (!np)
				break;
			e->procs = np;
		}
		snprintf(path, sizeof(path), "/proc/%lu/exe", pid);
		/* kernel threads have no exe: skipped */
		if (ks_root_readlink(e, path, e->procs[e->n_procs].exe, sizeof(e->procs[e->n_procs].exe)))
			continue;
		e->procs[e->n_procs++].pid = (uint32_t)pid;
	}
	closedir(d);
	*n = e->n_procs;
	return e->procs;
}

/* ---- listening sockets ---- */

static void add_listener(struct ks_posture_env *e, size_t *cap, const struct ks_listener *l)
{
	for (size_t i = 0; i < e->n_listeners; i++) /* the model's entry (with its owner) wins */
		if (e->listeners[i].port == l->port && !strcmp(e->listeners[i].proto, l->proto) &&
		    !strcmp(e->listeners[i].addr, l->addr))
			return;
	if (e->n_listeners == *cap) {
		struct ks_listener *nl = realloc(e->listeners, (*cap = *cap ? *cap * 2 : 32) * sizeof(*nl));

		if (!nl)
			return;
		e->listeners = nl;
	}
	e->listeners[e->n_listeners++] = *l;
}

/* /proc/net/{tcp,udp}[6]: "sl local_address rem_address st ..." with addresses in kernel-order hex. */
static void read_proc_net(struct ks_posture_env *e, const char *file, const char *proto, bool v6, size_t *cap)
{
	char *text, *line, *save = NULL;
	int rc = ks_root_read(e, file, &text, NULL);

	if (rc)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char local[64], remote[64];
		unsigned st, port;
		struct ks_listener l = {0};

		if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%*x %x", local, &port, remote, &st) != 4)
			continue;
		/* TCP LISTEN is 0x0A; an unconnected bound UDP socket is 0x07 (TCP_CLOSE) */
		if (!strcmp(proto, "tcp") ? st != 0x0A : (st != 0x07 || strspn(remote, "0") != strlen(remote)))
			continue;
		snprintf(l.proto, sizeof(l.proto), "%s", proto);
		l.port = (uint16_t)port;
		if (!v6 && strlen(local) == 8) {
			unsigned a = (unsigned)strtoul(local, NULL, 16); /* little-endian on the hosts we run on */

			snprintf(l.addr, sizeof(l.addr), "%u.%u.%u.%u", a & 255, (a >> 8) & 255, (a >> 16) & 255,
			         a >> 24);
			l.loopback = (a & 255) == 127;
		} else if (v6 && strlen(local) == 32) {
			unsigned char b[16];
			char tmp[9];

			for (int i = 0; i < 4; i++) {
				unsigned w;

				memcpy(tmp, local + i * 8, 8);
				tmp[8] = 0;
				w = (unsigned)strtoul(tmp, NULL, 16);
				memcpy(b + i * 4, &w, 4);
			}
			{
				static const unsigned char lo[16] = {[15] = 1};

				l.loopback = !memcmp(b, lo, 16);
				/* IPv4-mapped loopback */
				if (!memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12))
					l.loopback = b[12] == 127;
			}
			if (!inet_ntop(AF_INET6, b, l.addr, sizeof(l.addr)))
				continue;
		} else
			continue;
		add_listener(e, cap, &l);
	}
	free(text);
}

const struct ks_listener *ks_facts_listeners(struct ks_posture_env *e, size_t *n)
{
	size_t cap = 0;

	if (!e->listeners_loaded) {
		e->listeners_loaded = true;
		/* the live model names owners; /proc/net adds sockets whose owner the daemon cannot see
		 * (held by a process in another PID namespace, or passed away over a Unix socket) */
		if (e->listeners_fn && e->live) {
			e->listeners = e->listeners_fn(e->listeners_ctx, &e->n_listeners);
			cap = e->n_listeners;
		}
		read_proc_net(e, "/proc/net/tcp", "tcp", false, &cap);
		read_proc_net(e, "/proc/net/tcp6", "tcp", true, &cap);
		read_proc_net(e, "/proc/net/udp", "udp", false, &cap);
		read_proc_net(e, "/proc/net/udp6", "udp", true, &cap);
	}
	*n = e->n_listeners;
	return e->listeners;
}
