// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Workloads for the live tests:
 *   proc_helper exit CODE              exit with CODE
 *   proc_helper threads N CODE         start N threads, the last one to run calls exit(CODE)
 *   proc_helper exec-deleted SRC TMP   copy SRC to TMP, open it, unlink it, execveat the fd ("deleted")
 *   proc_helper exec-memfd SRC NAME    copy SRC into a memfd called NAME and execute it
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int code;

static void *thread_main(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

static int copy_into(const char *src, int dst)
{
	struct stat st;
	int in = open(src, O_RDONLY | O_CLOEXEC);
	off_t off = 0;

	if (in < 0 || fstat(in, &st) < 0)
		return -1;
	while (off < st.st_size)
		if (sendfile(dst, in, &off, (size_t)(st.st_size - off)) <= 0)
			return -1;
	close(in);
	return 0;
}

static int exec_fd(int fd, const char *argv0)
{
	char *const args[] = {(char *)argv0, "from-fd", NULL};
	char *const env[] = {NULL};

	syscall(SYS_execveat, fd, "", args, env, AT_EMPTY_PATH);
	perror("execveat");
	return 127;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "exit"))
		return atoi(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "threads")) {
		int i, n = atoi(argv[2]);
		pthread_t t;

		code = atoi(argv[3]);
		for (i = 0; i < n; i++)
			pthread_create(&t, NULL, thread_main, NULL);
		usleep(100000);
		exit(code); /* exit_group: every thread dies, one Terminate expected */
	}
	if (argc >= 4 && !strcmp(argv[1], "exec-deleted")) {
		int fd = open(argv[3], O_RDWR | O_CREAT | O_TRUNC, 0755);

		if (fd < 0 || copy_into(argv[2], fd) < 0)
			return 1;
		close(fd);
		fd = open(argv[3], O_RDONLY); /* no O_CLOEXEC: the exec needs the fd */
		if (fd < 0 || unlink(argv[3]) < 0)
			return 1;
		return exec_fd(fd, "deleted-exe");
	}
	if (argc >= 4 && !strcmp(argv[1], "exec-memfd")) {
		int fd = memfd_create(argv[3], 0);

		if (fd < 0 || copy_into(argv[2], fd) < 0)
			return 1;
		return exec_fd(fd, "memfd-exe");
	}
	fprintf(stderr, "usage: see the comment at the top of proc_helper.c\n");
	return 2;
}
