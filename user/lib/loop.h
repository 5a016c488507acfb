/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The daemon's one epoll loop: each fd is registered (struct ks_loop_fd) with the callback that owns it. */
#ifndef KANSOKU_LOOP_H
#define KANSOKU_LOOP_H

#include <stdint.h>

struct ks_loop_fd {
	int fd;
	void (*fn)(struct ks_loop_fd *w, uint32_t events);
	void *ctx;
};

int ks_loop_add(int epfd, struct ks_loop_fd *w, uint32_t events);
int ks_loop_mod(int epfd, struct ks_loop_fd *w, uint32_t events);
void ks_loop_del(int epfd, struct ks_loop_fd *w);

#endif
