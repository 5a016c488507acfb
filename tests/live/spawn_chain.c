// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* spawn_chain N CMD...: N nested processes, each fork+exec of itself with N-1; the innermost execs CMD.
 * Every level waits for its child and exits with its status, so the chain is alive while CMD runs. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char level[16];
	int n, status;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: spawn_chain N CMD [ARGS...]\n");
		return 2;
	}
	n = atoi(argv[1]);
	if (n <= 0) {
		execvp(argv[2], argv + 2);
		perror("exec");
		return 127;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		snprintf(level, sizeof(level), "%d", n - 1);
		argv[1] = level;
		execv("/proc/self/exe", argv);
		perror("exec self");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
