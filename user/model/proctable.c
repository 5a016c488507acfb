// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/json.h"
#include "model/proctable.h"

#define NBUCKETS 8192 /* power of two; chains stay short up to pid_max-sized tables */

struct ks_proctable {
	struct ks_proc *buckets[NBUCKETS];
	size_t count;                    /* entries, exited ones included */
	size_t exited;                   /* entries marked exited, awaiting purge */
	struct ks_proc *x_head, *x_tail; /* those entries, oldest exit first */
	uint64_t gen; /* bumped on any change that can alter an encoded process (image, parent, lineage) */
	char boot_id[64];
};

void ks_proc_make_id(const char *boot_id, uint32_t pid, uint64_t start_ns, char out[KS_PROC_ID_LEN])
{
	uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;

	a = ks_fnv1a(a, boot_id, strlen(boot_id));
	a = ks_fnv1a(a, &pid, sizeof(pid));
	a = ks_fnv1a(a, &start_ns, sizeof(start_ns));
	b = ks_fnv1a(b, &start_ns, sizeof(start_ns));
	b = ks_fnv1a(b, &pid, sizeof(pid));
	b = ks_fnv1a(b, boot_id, strlen(boot_id));
	ks_fmt_hex64(out, ks_mix64(a));
	ks_fmt_hex64(out + 16, ks_mix64(b ^ a));
}

struct ks_proctable *ks_proctable_new(const char *boot_id)
{
	struct ks_proctable *t = calloc(1, sizeof(*t));

	if (t)
		snprintf(t->boot_id, sizeof(t->boot_id), "%s", boot_id ? boot_id : "");
	return t;
}

static void proc_free(struct ks_proc *p)
{
	free(p->image);
	free(p);
}

static void exited_push(struct ks_proctable *t, struct ks_proc *p)
{
	p->xnext = NULL;
	p->xprev = t->x_tail;
	if (t->x_tail)
		t->x_tail->xnext = p;
	else
		t->x_head = p;
	t->x_tail = p;
	t->exited++;
}

/* p leaves the exited list (purged, removed, or its pid taken by a new process). */
static void exited_unlink(struct ks_proctable *t, struct ks_proc *p)
{
	if (p->xprev)
		p->xprev->xnext = p->xnext;
	else
		t->x_head = p->xnext;
	if (p->xnext)
		p->xnext->xprev = p->xprev;
	else
		t->x_tail = p->xprev;
	p->xprev = p->xnext = NULL;
	t->exited--;
}

void ks_proctable_free(struct ks_proctable *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < NBUCKETS; i++) {
		struct ks_proc *p = t->buckets[i], *next;

		for (; p; p = next) {
			next = p->hnext;
			proc_free(p);
		}
	}
	free(t);
}

void ks_proctable_touch(struct ks_proctable *t)
{
	t->gen++;
}

uint64_t ks_proctable_gen(const struct ks_proctable *t)
{
	return t->gen;
}

size_t ks_proctable_count(const struct ks_proctable *t)
{
	return t->count - t->exited;
}

static struct ks_proc **slot(struct ks_proctable *t, uint32_t pid)
{
	struct ks_proc **pp = &t->buckets[pid & (NBUCKETS - 1)];

	while (*pp && (*pp)->pid != pid)
		pp = &(*pp)->hnext;
	return pp;
}

struct ks_proc *ks_proc_lookup(struct ks_proctable *t, uint32_t pid)
{
	return *slot(t, pid);
}

static void reset(struct ks_proctable *t, struct ks_proc *p, uint32_t pid, uint64_t start_ns)
{
	struct ks_proc *next = p->hnext;

	t->gen++;
	free(p->image);
	memset(p, 0, sizeof(*p));
	p->hnext = next;
	p->pid = pid;
	p->start_ns = start_ns;
	p->creds.loginuid = p->creds.sessionid = KS_NO_ID;
	ks_proc_make_id(t->boot_id, pid, start_ns, p->id);
}

struct ks_proc *ks_proc_get(struct ks_proctable *t, uint32_t pid, uint64_t start_ns, bool *created)
{
	struct ks_proc **pp = slot(t, pid), *p = *pp;

	if (p) {
		*created = p->start_ns != start_ns;
		if (*created) { /* a new process holds the pid: the old one's entry goes */
			if (p->exited_ns)
				exited_unlink(t, p);
			reset(t, p, pid, start_ns);
		}
		return p;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	reset(t, p, pid, start_ns);
	*pp = p;
	t->count++;
	*created = true;
	return p;
}

/* The length of a wire string without the terminating NULs the wire keeps (we keep our own). */
static size_t str_len(const char *s, size_t n)
{
	while (s && n && s[n - 1] == '\0')
		n--;
	return n;
}

/* s[0, n) and a NUL at *at, moved past; NULL (and nothing written) without s. */
static char *put(char **at, const char *s, size_t n)
{
	char *start = *at;

	if (!s)
		return NULL;
	memcpy(start, s, n);
	start[n] = '\0';
	*at += n + 1;
	return start;
}

int ks_proc_set_image(struct ks_proc *p, const struct ks_proc_image *img)
{
	/* one block for the four strings: an exit frees one, a busy host's purge touches one cold block */
	const char *script = img->script_len ? img->script : NULL, *cgroup = img->cgroup_len ? img->cgroup : NULL;
	const char *args = img->args_len ? img->args : NULL;
	size_t exe_n = str_len(img->exe, img->exe_len), script_n = str_len(script, img->script_len),
	       cgroup_n = str_len(cgroup, img->cgroup_len), args_n = args ? img->args_len : 0;
	char *block, *at, *old = p->image;

	block = malloc(exe_n + script_n + cgroup_n + args_n + 4);
	if (!block)
		return -1; /* the old image stays */
	at = block;
	p->image = block;
	p->exe = put(&at, img->exe, exe_n);
	p->script = put(&at, script, script_n);
	p->cgroup = put(&at, cgroup, cgroup_n);
	p->args = put(&at, args, args_n); /* NUL-separated as the kernel keeps them, plus one NUL */
	p->args_len = args_n;
	free(old); /* last: img may point into it */
	return 0;
}

struct ks_proc *ks_proc_parent(struct ks_proctable *t, const struct ks_proc *p)
{
	struct ks_proc *pp;

	if (!p->ppid || p->ppid == p->pid)
		return NULL;
	pp = ks_proc_lookup(t, p->ppid);
	if (!pp || pp->start_ns != p->parent_start_ns)
		return NULL;
	return pp;
}

struct ks_proc *ks_proc_fork(struct ks_proctable *t, uint32_t pid, uint64_t start_ns, uint32_t ppid,
                             uint64_t parent_start_ns)
{
	bool created;
	struct ks_proc *p = ks_proc_get(t, pid, start_ns, &created), *parent;

	if (!p)
		return NULL;
	p->ppid = ppid;
	p->parent_start_ns = parent_start_ns;
	parent = ks_proc_parent(t, p);
	if (parent && (created || !p->exe)) {
		struct ks_proc_image img = {
		    .exe = parent->exe,
		    .exe_len = parent->exe ? strlen(parent->exe) : 0,
		    .args = parent->args,
		    .args_len = parent->args_len,
		    .script = parent->script,
		    .script_len = parent->script ? strlen(parent->script) : 0,
		    .cgroup = parent->cgroup,
		    .cgroup_len = parent->cgroup ? strlen(parent->cgroup) : 0,
		};

		p->creds = parent->creds;
		p->flags = parent->flags;
		p->argv_total = parent->argv_total;
		p->cgroup_id = parent->cgroup_id;
		memcpy(p->comm, parent->comm, sizeof(p->comm));
		memcpy(p->tty, parent->tty, sizeof(p->tty));
		ks_proc_set_image(p, &img);
	}
	return p;
}

size_t ks_proc_lineage(struct ks_proctable *t, const struct ks_proc *p, const struct ks_proc **out, size_t max)
{
	size_t n = 0, i;
	const struct ks_proc *cur = p;

	while (n < max) {
		const struct ks_proc *parent = ks_proc_parent(t, cur);

		if (!parent || parent == p)
			break;
		for (i = 0; i < n; i++) /* a cycle cannot happen with start-time checks, but never loop */
			if (out[i] == parent)
				return n;
		out[n++] = parent;
		cur = parent;
	}
	return n;
}

bool ks_proc_remove(struct ks_proctable *t, uint32_t pid, uint64_t start_ns)
{
	struct ks_proc **pp = slot(t, pid), *p = *pp;

	if (!p || p->start_ns != start_ns)
		return false;
	*pp = p->hnext;
	if (p->exited_ns)
		exited_unlink(t, p);
	proc_free(p);
	t->count--;
	t->gen++;
	return true;
}

bool ks_proc_mark_exited(struct ks_proctable *t, uint32_t pid, uint64_t start_ns, uint64_t ts)
{
	struct ks_proc *p = ks_proc_lookup(t, pid);

	if (!p || p->start_ns != start_ns || p->exited_ns)
		return false;
	p->exited_ns = ts ? ts : 1;
	exited_push(t, p);
	return true;
}

/* From the oldest exit on. Exits arrive in about their order (rings of several CPUs interleave): an entry
 * behind a later exit waits for the next purge. */
size_t ks_proctable_purge_beyond(struct ks_proctable *t, uint64_t before_ns, size_t keep)
{
	struct ks_proc *p, *next;
	size_t n = 0;

	for (p = t->x_head; p && p->exited_ns < before_ns && t->exited > keep; p = next) {
		struct ks_proc **pp = slot(t, p->pid);

		next = p->xnext;
		exited_unlink(t, p);
		if (*pp == p)
			*pp = p->hnext;
		proc_free(p);
		t->count--;
		n++;
	}
	if (n)
		t->gen++;
	return n;
}

size_t ks_proctable_purge(struct ks_proctable *t, uint64_t before_ns)
{
	return ks_proctable_purge_beyond(t, before_ns, 0);
}

static int cmp_pid(const void *a, const void *b)
{
	const struct ks_proc *x = *(const struct ks_proc *const *)a, *y = *(const struct ks_proc *const *)b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

struct ks_proc **ks_proctable_snapshot(struct ks_proctable *t, size_t *n)
{
	struct ks_proc **arr = malloc((t->count + 1) * sizeof(*arr));
	size_t i, k = 0;

	*n = 0;
	if (!arr)
		return NULL;
	for (i = 0; i < NBUCKETS; i++) {
		struct ks_proc *p;

		for (p = t->buckets[i]; p; p = p->hnext)
			if (!p->exited_ns)
				arr[k++] = p;
	}
	qsort(arr, k, sizeof(*arr), cmp_pid);
	*n = k;
	return arr;
}

size_t ks_proc_args_len(const struct ks_proc *p)
{
	size_t n = p->args ? p->args_len : 0;

	while (n && p->args[n - 1] == '\0')
		n--;
	return n;
}

const char *ks_proc_arg_next(const struct ks_proc *p, size_t *pos, size_t *len)
{
	size_t n = ks_proc_args_len(p);
	const char *a;

	if (*pos >= n)
		return NULL;
	a = p->args + *pos;
	*len = strnlen(a, n - *pos);
	*pos += *len + 1;
	return a;
}

size_t ks_proc_cmdline(const struct ks_proc *p, char *out, size_t outlen)
{
	size_t i, n = ks_proc_args_len(p), o;
	char *nul;

	if (!outlen)
		return 0;
	o = n < outlen - 1 ? n : outlen - 1;
	if (o)
		memcpy(out, p->args, o);
	/* argv's separators become spaces: memchr finds them a word at a time, not a byte per step */
	for (i = 0; i < o && (nul = memchr(out + i, '\0', o - i)); i = (size_t)(nul - out) + 1)
		*nul = ' ';
	out[o] = '\0';
	return o;
}
