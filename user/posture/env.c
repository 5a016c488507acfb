// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The posture environment: rooted file access and the facts evaluators share, read once per run. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "penv.h"

const char *const ks_area_names[KS_AREA_MAX] = {"device", "user", "system", "data"};
const char *const ks_chk_status_names[] = {"pass", "fail", "error", "not_applicable"};

int ks_area_parse(const char *s)
{
	for (int i = 0; i < KS_AREA_MAX; i++)
		if (s && !strcmp(s, ks_area_names[i]))
			return i;
	return -1;
}

/* ---- results ---- */

void ks_result_reset(struct ks_check_result *r)
{
	for (size_t i = 0; i < r->n_items; i++) {
		free(r->items[i].key);
		free(r->items[i].actual);
	}
	r->n_items = 0;
	r->status = KS_CHK_PASS;
	r->expected[0] = r->actual[0] = r->reason[0] = 0;
}

void ks_result_free(struct ks_check_result *r)
{
	ks_result_reset(r);
	free(r->items);
	r->items = NULL;
	r->cap_items = 0;
}

int ks_result_error(struct ks_check_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	r->status = KS_CHK_ERROR;
	return r->status;
}

int ks_result_na(struct ks_check_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	r->status = KS_CHK_NA;
	return r->status;
}

void ks_result_expected(struct ks_check_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->expected, sizeof(r->expected), fmt, ap);
	va_end(ap);
}

void ks_result_actual(struct ks_check_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->actual, sizeof(r->actual), fmt, ap);
	va_end(ap);
}

void ks_result_item(struct ks_check_result *r, const char *key, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	r->status = KS_CHK_FAIL;
	if (r->n_items == r->cap_items) {
		size_t cap = r->cap_items ? r->cap_items * 2 : 8;
		struct ks_check_item *n = realloc(r->items, cap * sizeof(*n));

		if (!n)
			return; /* the status still says fail */
		r->items = n;
		r->cap_items = cap;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->items[r->n_items].key = strdup(key);
	r->items[r->n_items].actual = strdup(buf);
	if (r->items[r->n_items].key && r->items[r->n_items].actual)
		r->n_items++;
	else {
		free(r->items[r->n_items].key);
		free(r->items[r->n_items].actual);
	}
}

/* ---- params ---- */

const char *ks_param_str(struct json_object *params, const char *key)
{
	struct json_object *v;

	if (!params || !json_object_object_get_ex(params, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool ks_param_in(struct json_object *arr, const char *v)
{
	if (!arr || !json_object_is_type(arr, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), v))
			return true;
	return false;
}

char *ks_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		*--end = 0;
	return s;
}

/* ---- the environment ---- */

struct ks_penv *ks_penv_new(const struct ks_posture_cfg *cfg, char *err, size_t errlen)
{
	struct ks_penv *e = calloc(1, sizeof(*e));
	const char *root = cfg->root[0] ? cfg->root : "/";

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->cfg = *cfg;
	e->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (e->rootfd < 0) {
		snprintf(err, errlen, "posture.root %s: %s", root, strerror(errno));
		free(e);
		return NULL;
	}
	{
		struct stat a, b;

		e->live = !fstat(e->rootfd, &a) && !stat("/", &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	}
	return e;
}

static void tab_free(struct ks_tab *t)
{
	free(t->text);
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

static void walk_free(struct ks_walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->hits[i].path);
	free(w->hits);
	memset(w, 0, sizeof(*w));
}

void ks_penv_forget_live(struct ks_penv *e)
{
	free(e->procs);
	e->procs = NULL;
	e->n_procs = 0;
	e->procs_loaded = false;
	free(e->listeners);
	e->listeners = NULL;
	e->n_listeners = 0;
	e->listeners_loaded = false;
}

void ks_penv_invalidate(struct ks_penv *e, bool walk)
{
	tab_free(&e->passwd);
	tab_free(&e->group);
	tab_free(&e->shadow);
	if (walk)
		walk_free(&e->walk);
	ks_penv_forget_live(e);
	json_object_put(e->sshd);
	e->sshd = NULL;
	e->sshd_loaded = false;
	e->os_loaded = false;
}

void ks_penv_free(struct ks_penv *e)
{
	if (!e)
		return;
	ks_penv_invalidate(e, true);
	close(e->rootfd);
	free(e);
}

void ks_penv_set_listeners(struct ks_penv *e, ks_listeners_fn fn, void *ctx)
{
	e->listeners_fn = fn;
	e->listeners_ctx = ctx;
}

void ks_penv_set_yield(struct ks_penv *e, void (*fn)(void *), void *ctx)
{
	e->yield_fn = fn;
	e->yield_ctx = ctx;
}

/* ---- rooted access ---- */

int ks_root_open(struct ks_penv *e, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT};
	const char *rel = path;
	long fd;

	while (*rel == '/')
		rel++;
	if (!*rel)
		rel = ".";
	fd = syscall(SYS_openat2, e->rootfd, rel, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

int ks_root_read(struct ks_penv *e, const char *path, char **text, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf;
	int fd = ks_root_open(e, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);

	*text = NULL;
	if (fd < 0)
		return fd;
	buf = malloc(cap);
	for (;;) {
		ssize_t r;

		if (!buf) {
			close(fd);
			return -ENOMEM;
		}
		if (n + 1 >= cap) {
			char *nb = cap >= (64u << 20) ? NULL : realloc(buf, cap * 2);

			if (!nb) { /* a 64 MiB "configuration file" is not one */
				free(buf);
				close(fd);
				return -EFBIG;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int er = -errno;

			free(buf);
			close(fd);
			return er;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	*text = buf;
	if (len)
		*len = n;
	return 0;
}

int ks_root_line(struct ks_penv *e, const char *path, char *buf, size_t len)
{
	char *text, *nl;
	int rc = ks_root_read(e, path, &text, NULL);

	if (rc)
		return rc;
	nl = strchr(text, '\n');
	if (nl)
		*nl = 0;
	snprintf(buf, len, "%s", ks_trim(text));
	free(text);
	return 0;
}

int ks_root_stat(struct ks_penv *e, const char *path, struct stat *st, bool follow)
{
	int fd = ks_root_open(e, path, O_PATH | (follow ? 0 : O_NOFOLLOW)), rc = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, st))
		rc = -errno;
	close(fd);
	return rc;
}

static int split_parent(const char *path, char *dir, size_t dirlen, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (!slash || !slash[1])
		return -EINVAL;
	snprintf(dir, dirlen, "%.*s", (int)(slash - path), path);
	if (!dir[0])
		snprintf(dir, dirlen, "/");
	*base = slash + 1;
	return 0;
}

int ks_root_readlink(struct ks_penv *e, const char *path, char *buf, size_t len)
{
	char dir[4096];
	const char *base;
	ssize_t n;
	int fd;

	if (split_parent(path, dir, sizeof(dir), &base))
		return -EINVAL;
	fd = ks_root_open(e, dir, O_PATH | O_DIRECTORY);
	if (fd < 0)
		return fd;
	n = readlinkat(fd, base, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = 0;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void ks_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A pattern whose '*' or '?' may be in any component: expanded component by component. */
static int glob_rec(struct ks_penv *e, const char *prefix, const char *rest, char ***out, size_t *n, size_t *cap)
{
	char comp[256], next[4096];
	const char *slash;
	size_t clen;

	while (*rest == '/')
		rest++;
	if (!*rest) {
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 8;
			char **nv = realloc(*out, nc * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			*out = nv;
			*cap = nc;
		}
		(*out)[*n] = strdup(prefix[0] ? prefix : "/");
		if (!(*out)[*n])
			return -ENOMEM;
		(*n)++;
		return 0;
	}
	slash = strchr(rest, '/');
	clen = slash ? (size_t)(slash - rest) : strlen(rest);
	if (clen >= sizeof(comp))
		return -ENAMETOOLONG;
	memcpy(comp, rest, clen);
	comp[clen] = 0;
	if (!strpbrk(comp, "*?[")) {
		struct stat st;

		snprintf(next, sizeof(next), "%s/%s", prefix, comp);
		if (ks_root_stat(e, next, &st, false))
			return 0;
		return glob_rec(e, next, rest + clen, out, n, cap);
	}
	{
		int fd = ks_root_open(e, prefix[0] ? prefix : "/", O_RDONLY | O_DIRECTORY);
		struct dirent *de;
		char **names = NULL;
		size_t nn = 0, nc = 0;
		DIR *d;
		int rc = 0;

		if (fd < 0)
			return 0; /* nothing there: no match */
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			return -errno;
		}
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' && comp[0] != '.')
				continue;
			if (fnmatch(comp, de->d_name, FNM_PERIOD))
				continue;
			if (nn == nc) {
				char **nv = realloc(names, (nc = nc ? nc * 2 : 16) * sizeof(*nv));

				if (!nv) {
					rc = -ENOMEM;
					break;
				}
				names = nv;
			}
			names[nn] = strdup(de->d_name);
			if (names[nn])
				nn++;
		}
		closedir(d);
		if (nn)
			qsort(names, nn, sizeof(*names), cmp_str);
		for (size_t i = 0; !rc && i < nn; i++) {
			snprintf(next, sizeof(next), "%s/%s", prefix, names[i]);
			rc = glob_rec(e, next, rest + clen, out, n, cap);
		}
		ks_strv_free(names, nn);
		return rc;
	}
}

int ks_root_glob(struct ks_penv *e, const char *pattern, char ***out, size_t *n)
{
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = glob_rec(e, "", pattern, out, n, &cap);
	if (rc) {
		ks_strv_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* ---- account tables ---- */

/* Splits text into lines of at least min_fields ':'-separated fields; calls fn per row. */
static int load_tab(struct ks_penv *e, struct ks_tab *t, const char *path, size_t rowsize, int min_fields,
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

const struct ks_pw *ks_facts_passwd(struct ks_penv *e, size_t *n, int *err)
{
	*err = load_tab(e, &e->passwd, "/etc/passwd", sizeof(struct ks_pw), 4, fill_pw);
	*n = e->passwd.n;
	return *err ? NULL : e->passwd.rows;
}

const struct ks_grp *ks_facts_group(struct ks_penv *e, size_t *n, int *err)
{
	*err = load_tab(e, &e->group, "/etc/group", sizeof(struct ks_grp), 3, fill_grp);
	*n = e->group.n;
	return *err ? NULL : e->group.rows;
}

const struct ks_sp *ks_facts_shadow(struct ks_penv *e, size_t *n, int *err)
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

/* ---- the filesystem walk ---- */

/*
 * A walk is a job: everything it needs is copied in (root, scan paths, known IDs), so the daemon can run
 * it on a thread at idle priority while the loop goes on, and --audit or the tests can run it in place.
 */
struct ks_walk_job {
	int rootfd;
	char scan[16][256];
	int n_scan;
	struct {
		dev_t dev;
		ino_t ino;
	} roots[16];
	uint32_t *uids, *gids; /* sorted; NULL: account tables unreadable, unowned files not looked for */
	size_t n_uids, n_gids;
	struct ks_walk w;
	char path[4096];
	dev_t dev;
	atomic_bool cancel; /* the daemon is stopping: give up */
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool has_id(const uint32_t *v, size_t n, uint32_t id)
{
	return v && bsearch(&id, v, n, sizeof(*v), cmp_u32);
}

static void walk_hit(struct ks_walk_job *j, unsigned kind, const struct stat *st)
{
	struct ks_walk *w = &j->w;
	int k = __builtin_ctz(kind);

	if (w->count[k] >= KS_WALK_HITS_MAX) {
		w->overflow[k]++;
		return;
	}
	if (w->n == w->cap) {
		struct ks_walk_hit *nh = realloc(w->hits, (w->cap ? w->cap * 2 : 64) * sizeof(*nh));

		if (!nh) {
			w->overflow[k]++;
			return;
		}
		w->hits = nh;
		w->cap = w->cap ? w->cap * 2 : 64;
	}
	w->hits[w->n] = (struct ks_walk_hit){.path = strdup(j->path[0] ? j->path : "/"),
	                                     .kind = kind,
	                                     .mode = st->st_mode,
	                                     .uid = st->st_uid,
	                                     .gid = st->st_gid};
	if (w->hits[w->n].path) {
		w->n++;
		w->count[k]++;
	}
}

static bool other_root(const struct ks_walk_job *j, int self, const struct stat *st)
{
	for (int i = 0; i < j->n_scan; i++)
		if (i != self && j->roots[i].dev == st->st_dev && j->roots[i].ino == st->st_ino)
			return true;
	return false;
}

static void walk_dir(struct ks_walk_job *j, int self, int dfd, int depth)
{
	size_t base = strlen(j->path);
	struct dirent *de;
	DIR *d = fdopendir(dfd);

	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) && !atomic_load_explicit(&j->cancel, memory_order_relaxed)) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		j->w.entries++;
		if (de->d_type == DT_LNK && j->uids == NULL)
			continue; /* a symlink's mode means nothing; only its owner could matter */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		snprintf(j->path + base, sizeof(j->path) - base, "/%s", de->d_name);
		if (S_ISREG(st.st_mode)) {
			if (st.st_mode & S_ISUID)
				walk_hit(j, KS_HIT_SUID, &st);
			if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP))
				walk_hit(j, KS_HIT_SGID, &st);
			if (st.st_mode & S_IWOTH)
				walk_hit(j, KS_HIT_WW_FILE, &st);
		} else if (S_ISDIR(st.st_mode) && (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
			walk_hit(j, KS_HIT_WW_DIR, &st);
		if (j->uids && (!has_id(j->uids, j->n_uids, st.st_uid) || !has_id(j->gids, j->n_gids, st.st_gid)))
			walk_hit(j, KS_HIT_UNOWNED, &st);
		/* one filesystem per scan path; a directory that is another scan path is walked there */
		if (S_ISDIR(st.st_mode) && st.st_dev == j->dev && depth < 64 && !other_root(j, self, &st)) {
			int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (fd >= 0)
				walk_dir(j, self, fd, depth + 1);
		}
		j->path[base] = 0;
	}
	closedir(d);
}

static double thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct ks_walk_job *ks_walk_prepare(struct ks_penv *e)
{
	struct ks_walk_job *j = calloc(1, sizeof(*j));
	const struct ks_pw *pw;
	const struct ks_grp *gr;
	size_t npw = 0, ngr = 0;
	int err;

	if (!j)
		return NULL;
	j->rootfd = dup(e->rootfd);
	pw = ks_facts_passwd(e, &npw, &err);
	gr = ks_facts_group(e, &ngr, &err);
	if (pw && gr) { /* unowned files only make sense against readable account tables */
		j->uids = malloc((npw + 1) * sizeof(uint32_t));
		j->gids = malloc((ngr + 1) * sizeof(uint32_t));
		if (j->uids && j->gids) {
			for (size_t i = 0; i < npw; i++)
				j->uids[j->n_uids++] = pw[i].uid;
			for (size_t i = 0; i < ngr; i++)
				j->gids[j->n_gids++] = gr[i].gid;
			qsort(j->uids, j->n_uids, sizeof(uint32_t), cmp_u32);
			qsort(j->gids, j->n_gids, sizeof(uint32_t), cmp_u32);
		} else {
			free(j->uids);
			free(j->gids);
			j->uids = j->gids = NULL;
		}
	}
	for (int i = 0; i < e->cfg.n_scan_paths; i++)
		snprintf(j->scan[j->n_scan++], sizeof(j->scan[0]), "%s", e->cfg.scan_paths[i]);
	return j;
}

void ks_walk_execute(struct ks_walk_job *j)
{
	double t0 = thread_cpu_ms();
	struct timespec now;
	int fds[16];

	/* the scan roots first, so nested ones are walked once */
	for (int i = 0; i < j->n_scan; i++) {
		struct ks_penv tmp = {.rootfd = j->rootfd};
		struct stat st;

		/* a scan path that is a symlink (/bin -> usr/bin) is walked where it points, not twice */
		fds[i] = ks_root_open(&tmp, j->scan[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fds[i] >= 0 && !fstat(fds[i], &st)) {
			j->roots[i].dev = st.st_dev;
			j->roots[i].ino = st.st_ino;
		} else if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	for (int i = 0; i < j->n_scan; i++) {
		bool dup = false;

		if (fds[i] < 0)
			continue;
		for (int k = 0; k < i; k++)
			dup |= fds[k] >= 0 && j->roots[k].dev == j->roots[i].dev && j->roots[k].ino == j->roots[i].ino;
		if (dup) {
			close(fds[i]);
			continue;
		}
		j->dev = j->roots[i].dev;
		snprintf(j->path, sizeof(j->path), "%s", strcmp(j->scan[i], "/") ? j->scan[i] : "");
		walk_dir(j, i, fds[i], 0);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	j->w.at_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	j->w.done = true;
	j->w.cpu_ms = thread_cpu_ms() - t0;
}

void ks_walk_cancel(struct ks_walk_job *j)
{
	atomic_store(&j->cancel, true);
}

void ks_walk_job_free(struct ks_walk_job *j)
{
	if (!j)
		return;
	walk_free(&j->w);
	free(j->uids);
	free(j->gids);
	if (j->rootfd >= 0)
		close(j->rootfd);
	free(j);
}

void ks_penv_install_walk(struct ks_penv *e, struct ks_walk_job *j)
{
	walk_free(&e->walk);
	e->walk = j->w; /* the hits move over */
	memset(&j->w, 0, sizeof(j->w));
	ks_walk_job_free(j);
}

const struct ks_walk *ks_facts_walk(struct ks_penv *e)
{
	struct ks_walk_job *j;

	if (e->walk.done || e->async_walk)
		return &e->walk; /* async: the last finished walk, or none yet (done false) */
	j = ks_walk_prepare(e);
	if (!j) {
		snprintf(e->walk.err, sizeof(e->walk.err), "out of memory");
		return &e->walk;
	}
	ks_walk_execute(j);
	ks_penv_install_walk(e, j);
	return &e->walk;
}

/* ---- processes ---- */

const struct ks_proc_exe *ks_facts_procs(struct ks_penv *e, size_t *n)
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

static void add_listener(struct ks_penv *e, size_t *cap, const struct ks_listener *l)
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
static void read_proc_net(struct ks_penv *e, const char *file, const char *proto, bool v6, size_t *cap)
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

const struct ks_listener *ks_facts_listeners(struct ks_penv *e, size_t *n)
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

/* ---- os-release ---- */

void ks_facts_os(struct ks_penv *e)
{
	char *text, *line, *save = NULL;

	if (e->os_loaded)
		return;
	e->os_loaded = true;
	e->os_id[0] = e->os_version_id[0] = e->os_name[0] = e->os_pretty[0] = 0;
	if (ks_root_read(e, "/etc/os-release", &text, NULL) && ks_root_read(e, "/usr/lib/os-release", &text, NULL))
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '='), *v;

		if (!eq)
			continue;
		*eq = 0;
		v = eq + 1;
		if (*v == '"' || *v == '\'') {
			v++;
			v[strcspn(v, "\"'")] = 0;
		}
		if (!strcmp(line, "ID"))
			snprintf(e->os_id, sizeof(e->os_id), "%s", v);
		else if (!strcmp(line, "VERSION_ID"))
			snprintf(e->os_version_id, sizeof(e->os_version_id), "%s", v);
		else if (!strcmp(line, "NAME"))
			snprintf(e->os_name, sizeof(e->os_name), "%s", v);
		else if (!strcmp(line, "PRETTY_NAME"))
			snprintf(e->os_pretty, sizeof(e->os_pretty), "%s", v);
	}
	free(text);
}

/* ---- package ownership (dpkg file lists) ---- */

struct owned_q {
	const char *path;
	size_t idx;
};

static int cmp_q(const void *a, const void *b)
{
	return strcmp(((const struct owned_q *)a)->path, ((const struct owned_q *)b)->path);
}

static void mark(struct owned_q *q, size_t n, const char *path, bool *owned)
{
	struct owned_q key = {.path = path}, *hit = bsearch(&key, q, n, sizeof(*q), cmp_q);
	size_t at, i;

	if (!hit)
		return;
	at = (size_t)(hit - q);
	/* equal paths sit together: mark them all */
	for (i = at; i < n && !strcmp(q[i].path, path); i++)
		owned[q[i].idx] = true;
	for (i = at; i-- > 0 && !strcmp(q[i].path, path);)
		owned[q[i].idx] = true;
}

int ks_facts_pkg_owned(struct ks_penv *e, const char *const *paths, size_t n, bool *owned, char *err, size_t errlen)
{
	struct owned_q *q;
	struct stat st;
	struct dirent *de;
	int fd;
	DIR *d;

	for (size_t i = 0; i < n; i++)
		owned[i] = false;
	q = malloc((n + 1) * sizeof(*q));
	if (!q) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		q[i] = (struct owned_q){.path = paths[i], .idx = i};
	qsort(q, n, sizeof(*q), cmp_q);
	if (ks_root_stat(e, "/var/lib/dpkg/status", &st, true)) {
		snprintf(err, errlen, "no package database: /var/lib/dpkg/status is missing");
		free(q);
		return -ENOENT;
	}
	fd = ks_root_open(e, "/var/lib/dpkg/info", O_RDONLY | O_DIRECTORY);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "cannot list /var/lib/dpkg/info: %s", strerror(fd < 0 ? -fd : errno));
		free(q);
		return -ENOENT;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char path[512], *text, *line, *save = NULL;

		if (len < 6 || strcmp(de->d_name + len - 5, ".list"))
			continue;
		snprintf(path, sizeof(path), "/var/lib/dpkg/info/%s", de->d_name);
		if (ks_root_read(e, path, &text, NULL))
			continue;
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char usr[4200];

			mark(q, n, line, owned);
			/* dpkg records the path a package shipped; on merged-/usr systems /bin/x is /usr/bin/x */
			if (!strncmp(line, "/bin/", 5) || !strncmp(line, "/sbin/", 6) || !strncmp(line, "/lib", 4)) {
				snprintf(usr, sizeof(usr), "/usr%s", line);
				mark(q, n, usr, owned);
			}
		}
		free(text);
		if (e->yield_fn)
			e->yield_fn(e->yield_ctx);
	}
	closedir(d);
	free(q);
	return 0;
}
