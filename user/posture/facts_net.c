// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The listening sockets: the daemon's network model (which names owners) handed in by the loop, merged
 * with the kernel's own list, which adds sockets whose owner the daemon cannot see (held by a process in
 * another PID namespace, or passed away over a Unix socket). On the running host the kernel is asked
 * through sock_diag for listeners only, so the cost follows the number of listeners, not of connections
 * (a busy server's /proc/net/tcp has 100,000 lines); under another root, <root>/proc/net is read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "env.h"

enum { KS_TCP_LISTEN = 10, KS_TCP_CLOSE = 7 }; /* kernel socket states (include/net/tcp_states.h) */

struct listener_set {
	struct ks_listener *v;
	size_t n, cap;
};

static int set_add(struct listener_set *s, const struct ks_listener *l)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		struct ks_listener *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = *l;
	return 0;
}

/* A 16-byte address in network order as text, and whether it is loopback (IPv4-mapped too). */
static void fill_addr(struct ks_listener *l, int family, const uint32_t *addr)
{
	const unsigned char *b = (const unsigned char *)addr;
	static const unsigned char lo6[16] = {[15] = 1};

	if (family == AF_INET) {
		snprintf(l->addr, sizeof(l->addr), "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
		l->loopback = b[0] == 127;
		return;
	}
	l->loopback = !memcmp(b, lo6, 16);
	if (!memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12))
		l->loopback = b[12] == 127;
	if (!inet_ntop(AF_INET6, b, l->addr, sizeof(l->addr)))
		l->addr[0] = 0;
}

/* ---- sock_diag: listeners only, filtered in the kernel ---- */

static int diag_request(int fd, int family, int protocol, unsigned states)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
	    .nlh = {.nlmsg_len = sizeof(req),
	            .nlmsg_type = SOCK_DIAG_BY_FAMILY,
	            .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
	    .r = {.sdiag_family = (uint8_t)family, .sdiag_protocol = (uint8_t)protocol, .idiag_states = states},
	};
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};

	return sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
}

/* One reply message: a listener, unless it is a UDP socket connected to a peer. */
static int diag_message(struct listener_set *s, const struct inet_diag_msg *m, int protocol)
{
	static const uint32_t any[4];
	struct ks_listener l = {0};

	if (protocol == IPPROTO_UDP && memcmp(m->id.idiag_dst, any, sizeof(any)))
		return 0;
	snprintf(l.proto, sizeof(l.proto), "%s", protocol == IPPROTO_TCP ? "tcp" : "udp");
	l.port = ntohs(m->id.idiag_sport);
	fill_addr(&l, m->idiag_family, m->id.idiag_src);
	return l.addr[0] ? set_add(s, &l) : 0;
}

static int diag_dump(struct listener_set *s, int family, int protocol)
{
	static __thread char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	unsigned states = 1u << (protocol == IPPROTO_TCP ? KS_TCP_LISTEN : KS_TCP_CLOSE);
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG), rc;

	if (fd < 0)
		return -errno;
	rc = diag_request(fd, family, protocol, states);
	while (!rc) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				goto cleanup;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				rc = e->error ? e->error : -EIO;
				goto cleanup;
			}
			if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				rc = diag_message(s, NLMSG_DATA(h), protocol);
			if (rc)
				goto cleanup;
		}
	}
cleanup:
	close(fd);
	return rc;
}

/* ---- <root>/proc/net/{tcp,udp}[6]: "sl local_address rem_address st ..." in kernel-order hex ---- */

static int parse_hex_addr(const char *hex, bool v6, uint32_t *addr)
{
	size_t words = v6 ? 4 : 1;
	char tmp[9];

	if (strlen(hex) != words * 8)
		return -1;
	memset(addr, 0, 16);
	for (size_t i = 0; i < words; i++) {
		memcpy(tmp, hex + i * 8, 8);
		tmp[8] = 0;
		addr[i] = (uint32_t)strtoul(tmp, NULL, 16); /* each word as the kernel holds it (host order) */
	}
	return 0;
}

static void read_proc_net(struct ks_posture_env *e, struct listener_set *s, const char *file, bool tcp, bool v6)
{
	char *text, *line, *save = NULL;

	if (ks_root_read(e, file, &text, NULL))
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char local[64], remote[64];
		unsigned st, port;
		uint32_t addr[4];
		struct ks_listener l = {0};

		if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%*x %x", local, &port, remote, &st) != 4)
			continue;
		/* TCP LISTEN; an unconnected bound UDP socket is TCP_CLOSE with no remote address */
		if (tcp ? st != KS_TCP_LISTEN : (st != KS_TCP_CLOSE || strspn(remote, "0") != strlen(remote)))
			continue;
		if (parse_hex_addr(local, v6, addr))
			continue;
		snprintf(l.proto, sizeof(l.proto), "%s", tcp ? "tcp" : "udp");
		l.port = (uint16_t)port;
		fill_addr(&l, v6 ? AF_INET6 : AF_INET, addr);
		if (l.addr[0] && set_add(s, &l))
			break;
	}
	free(text);
}

static void read_kernel(struct ks_posture_env *e, struct listener_set *s)
{
	static const struct {
		const char *file;
		int family, protocol;
	} src[] = {{"/proc/net/tcp", AF_INET, IPPROTO_TCP},
	           {"/proc/net/tcp6", AF_INET6, IPPROTO_TCP},
	           {"/proc/net/udp", AF_INET, IPPROTO_UDP},
	           {"/proc/net/udp6", AF_INET6, IPPROTO_UDP}};

	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
		size_t before = s->n;
		int rc = e->live ? diag_dump(s, src[i].family, src[i].protocol) : -EOPNOTSUPP;

		if (!rc)
			continue;
		/* not the running host, or no diag module for the protocol: the text file */
		s->n = before;
		if (e->live && rc != -ENOENT && rc != -EOPNOTSUPP)
			snprintf(e->listeners_err, sizeof(e->listeners_err), "sock_diag %s: %s", src[i].file + 10,
			         strerror(-rc));
		read_proc_net(e, s, src[i].file, src[i].protocol == IPPROTO_TCP, src[i].family == AF_INET6);
		if (e->yield_fn)
			e->yield_fn(e->yield_ctx);
	}
}

/* by port, protocol, address, then origin: the first of equal keys is the model's (it names owners) */
static int cmp_listener(const void *a, const void *b)
{
	const struct ks_listener *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return strcmp(x->proto, y->proto) ?: strcmp(x->addr, y->addr) ?: (x->pid == 0) - (y->pid == 0);
}

static bool same_socket(const struct ks_listener *a, const struct ks_listener *b)
{
	return a->port == b->port && !strcmp(a->proto, b->proto) && !strcmp(a->addr, b->addr);
}

const struct ks_listener *ks_facts_listeners(struct ks_posture_env *e, size_t *n)
{
	struct listener_set s = {0};
	size_t k = 0;

	if (e->listeners_loaded)
		goto out;
	e->listeners_loaded = true;
	e->listeners_err[0] = 0;
	for (size_t i = 0; e->live && i < e->n_model_listeners; i++)
		if (set_add(&s, &e->model_listeners[i]))
			break;
	read_kernel(e, &s);
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), cmp_listener);
	for (size_t i = 0; i < s.n; i++)
		if (!k || !same_socket(&s.v[k - 1], &s.v[i]))
			s.v[k++] = s.v[i];
	free(e->listeners);
	e->listeners = s.v;
	e->n_listeners = k;
out:
	*n = e->n_listeners;
	return e->listeners;
}
