// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The account tables (passwd, group, shadow), parsed once per run, and what evaluators ask of them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"

/* ---- account tables ---- */

/* Splits text into lines of at least min_fields ':'-separated fields; calls fn per row. */
static int load_tab(struct ks_posture_env *e, struct ks_tab *t, const char *path, size_t rowsize, int min_fields,
                    void (*fill)(void *row, char **f, int nf))
{
	char *line, *save = NULL;
	size_t cap = 0;

	if (t->loaded)
		return t->err;
	t->loaded = true;
	t->err = ks_root_read(e, path, &t->text, NULL);
	if (t->err)
		return t->err;
	for (line = strtok_r(t->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[8], *p = line;
		int nf = 0;

		if (!*line || *line == '#' || *line == '+' || *line == '-')
			continue;
		while (nf < 8) {
			f[nf++] = p;
			p = strchr(p, ':');
			if (!p)
				break;
			*p++ = 0;
		}
		if (nf < min_fields)
			continue;
		if (t->n == cap) {
			void *nr = realloc(t->rows, (cap = cap ? cap * 2 : 64) * rowsize);

			if (!nr)
				return t->err = -ENOMEM;
			t->rows = nr;
		}
		fill((char *)t->rows + t->n * rowsize, f, nf);
		t->n++;
	}
	return 0;
}

static uint32_t num(const char *s)
{
	return (uint32_t)strtoul(s, NULL, 10);
}

static void fill_pw(void *row, char **f, int nf)
{
	struct ks_pw *p = row;

	p->name = f[0];
	p->pw = f[1];
	p->uid = num(f[2]);
	p->gid = num(f[3]);
	p->home = nf > 5 ? f[5] : "";
	p->shell = nf > 6 ? f[6] : "";
}

static void fill_grp(void *row, char **f, int nf)
{
	struct ks_grp *g = row;

	g->name = f[0];
	g->pw = f[1];
	g->gid = num(f[2]);
	g->members = nf > 3 ? f[3] : "";
}

static void fill_sp(void *row, char **f, int nf)
{
	struct ks_sp *s = row;

	s->name = f[0];
	s->pw = f[1];
	s->last_change = nf > 2 && f[2][0] ? strtol(f[2], NULL, 10) : -1;
	s->max_days = nf > 4 && f[4][0] ? strtol(f[4], NULL, 10) : -1;
}

const struct ks_pw *ks_facts_passwd(struct ks_posture_env *e, size_t *n, int *err)
{
	*err = load_tab(e, &e->passwd, "/etc/passwd", sizeof(struct ks_pw), 4, fill_pw);
	*n = e->passwd.n;
	return *err ? NULL : e->passwd.rows;
}

const struct ks_grp *ks_facts_group(struct ks_posture_env *e, size_t *n, int *err)
{
	*err = load_tab(e, &e->group, "/etc/group", sizeof(struct ks_grp), 3, fill_grp);
	*n = e->group.n;
	return *err ? NULL : e->group.rows;
}

const struct ks_sp *ks_facts_shadow(struct ks_posture_env *e, size_t *n, int *err)
{
	*err = load_tab(e, &e->shadow, "/etc/shadow", sizeof(struct ks_sp), 2, fill_sp);
	*n = e->shadow.n;
	return *err ? NULL : e->shadow.rows;
}

bool ks_login_shell(const char *shell)
{
	const char *b = strrchr(shell, '/');

	b = b ? b + 1 : shell;
	return *shell && strcmp(b, "nologin") && strcmp(b, "false") && strcmp(b, "sync") && strcmp(b, "halt") &&
	       strcmp(b, "shutdown");
}

bool ks_sudoers_d_name(const char *name)
{
	return *name && !strchr(name, '.') && name[strlen(name) - 1] != '~';
}

const char *ks_pw_state(const char *pw)
{
	if (!pw)
		return "none";
	if (!pw[0])
		return "empty";
	if (pw[0] == '!' || pw[0] == '*')
		return "locked";
	return "set";
}
