// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "host/users.h"

struct ks_user_ent {
	uint32_t uid;
	char *name;
};

struct ks_users {
	char *path;
	struct ks_user_ent *ents;
	size_t n, cap;
	struct timespec mtime;
	off_t size;
	time_t checked;
};

static void clear(struct ks_users *u)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		free(u->ents[i].name);
	u->n = 0;
}

static void load(struct ks_users *u)
{
	char line[1024];
	FILE *f;

	clear(u);
	f = fopen(u->path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *name = line, *c1, *c2, *end;
		unsigned long uid;

		c1 = strchr(line, ':');
		if (!c1)
			continue;
		c2 = strchr(c1 + 1, ':');
		if (!c2)
			continue;
		*c1 = '\0';
		uid = strtoul(c2 + 1, &end, 10);
		if (end == c2 + 1 || *end != ':' || uid > UINT32_MAX)
			continue;
		if (u->n == u->cap) {
			size_t cap = u->cap ? u->cap * 2 : 64;
			struct ks_user_ent *p = realloc(u->ents, cap * sizeof(*p));

			if (!p)
				break;
			u->ents = p;
			u->cap = cap;
		}
		u->ents[u->n].uid = (uint32_t)uid;
		u->ents[u->n].name = strdup(name);
		if (u->ents[u->n].name)
			u->n++;
	}
	fclose(f);
}

static void maybe_reload(struct ks_users *u)
{
	time_t now = time(NULL);
	struct stat st;

	if (now == u->checked)
		return;
	u->checked = now;
	if (stat(u->path, &st) < 0) {
		clear(u);
		return;
	}
	if (st.st_mtim.tv_sec == u->mtime.tv_sec && st.st_mtim.tv_nsec == u->mtime.tv_nsec && st.st_size == u->size)
		return;
	u->mtime = st.st_mtim;
	u->size = st.st_size;
	load(u);
}

struct ks_users *ks_users_new(const char *passwd_path)
{
	struct ks_users *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->path = strdup(passwd_path ? passwd_path : "/etc/passwd");
	if (!u->path) {
		free(u);
		return NULL;
	}
	u->checked = (time_t)-1;
	return u;
}

void ks_users_free(struct ks_users *u)
{
	if (!u)
		return;
	clear(u);
	free(u->ents);
	free(u->path);
	free(u);
}

const char *ks_users_name(struct ks_users *u, uint32_t uid)
{
	size_t i;

	if (!u)
		return NULL;
	maybe_reload(u);
	for (i = 0; i < u->n; i++) /* first match wins, as getpwuid does */
		if (u->ents[i].uid == uid)
			return u->ents[i].name;
	return NULL;
}
