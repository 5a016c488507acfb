// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stddef.h>
#include <sys/epoll.h>

#include "lib/loop.h"

int ks_loop_add(int epfd, struct ks_loop_fd *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, w->fd, &ev);
}

int ks_loop_mod(int epfd, struct ks_loop_fd *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	return epoll_ctl(epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void ks_loop_del(int epfd, struct ks_loop_fd *w)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
}
