// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "lib/time.h"
#include "sensors/file_access.h"
#include "host/mntns.h"
#include "pipeline/ocsf.h"
#include "model/proctable.h"
#include "sensors/watch.h"

#define HELD_BUCKETS 4096
#define HELD_MAX 16384 /* as many as the kernel's aggregation map holds: memory stays bounded */

/* A head event waiting for its aggregation window to close. */
struct held {
	struct ks_agg_key key;
	uint64_t first_ns;
	struct held *hnext;       /* hash chain */
	struct held *prev, *next; /* arrival order = deadline order */
	size_t size;
	unsigned char rec[];
};

struct ks_files {
	struct ks_rule rules[KS_RULES_MAX];
	int n_rules;
	int agg_fd;
	uint64_t window_ns;
	struct held *buckets[HELD_BUCKETS];
	struct held *oldest, *newest;
	size_t n_held;
};

static const char *const op_names[KS_FOP_MAX] = {
    [KS_FOP_OPEN] = "open",   [KS_FOP_UNLINK] = "unlink",     [KS_FOP_RMDIR] = "rmdir", [KS_FOP_RENAME] = "rename",
    [KS_FOP_LINK] = "link",   [KS_FOP_SYMLINK] = "symlink",   [KS_FOP_MKDIR] = "mkdir", [KS_FOP_CHMOD] = "chmod",
    [KS_FOP_CHOWN] = "chown", [KS_FOP_TRUNCATE] = "truncate",
};

const char *ks_file_op_name(uint32_t op)
{
	return op < KS_FOP_MAX && op_names[op] ? op_names[op] : "unknown";
}

struct ks_files *ks_files_new(const struct ks_rule *rules, int n_rules, int agg_fd, uint64_t window_ns)
{
	struct ks_files *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	if (n_rules > KS_RULES_MAX)
		n_rules = KS_RULES_MAX;
	memcpy(f->rules, rules, sizeof(*rules) * (size_t)n_rules);
	f->n_rules = n_rules;
	f->agg_fd = agg_fd;
	f->window_ns = window_ns;
	return f;
}

void ks_files_free(struct ks_files *f)
{
	struct held *h, *next;

	if (!f)
		return;
	for (h = f->oldest; h; h = next) {
		next = h->next;
		free(h);
	}
	free(f);
}

static unsigned bucket(const struct ks_agg_key *k)
{
	uint64_t x = (k->ino ^ k->name) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)k->tgid << 32 | k->dev) ^ k->ops_class;

	return (unsigned)(x >> 40) & (HELD_BUCKETS - 1);
}

static struct held **find(struct ks_files *f, const struct ks_agg_key *k)
{
	struct held **pp = &f->buckets[bucket(k)];

	while (*pp && memcmp(&(*pp)->key, k, sizeof(*k)))
		pp = &(*pp)->hnext;
	return pp;
}

static void unlink_held(struct ks_files *f, struct held *h)
{
	struct held **pp = find(f, &h->key);

	if (*pp == h)
		*pp = h->hnext;
	if (h->prev)
		h->prev->next = h->next;
	else
		f->oldest = h->next;
	if (h->next)
		h->next->prev = h->prev;
	else
		f->newest = h->prev;
	f->n_held--;
}

static const char *errno_name(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "UNKNOWN";
}

/* OCSF activity for an operation: Create 1, Read 2, Update 3, Delete 4, Rename 5, Set Security 7. */
static int activity(const struct ks_file *e, const char **name)
{
	switch (e->op) {
	case KS_FOP_OPEN:
		if (e->fflags & KS_FF_CREATED) {
			*name = "Create";
			return 1;
		}
		if (e->ops_class & KS_OPS_READ) {
			*name = "Read";
			return 2;
		}
		if (e->ops_class & KS_OPS_CREATE) { /* a failed open with O_CREAT */
			*name = "Create";
			return 1;
		}
		*name = "Update";
		return 3;
	case KS_FOP_TRUNCATE:
		*name = "Update";
		return 3;
	case KS_FOP_UNLINK:
	case KS_FOP_RMDIR:
		*name = "Delete";
		return 4;
	case KS_FOP_RENAME:
		*name = "Rename";
		return 5;
	case KS_FOP_CHMOD:
	case KS_FOP_CHOWN:
		*name = "Set Security";
		return 7;
	default: /* mkdir, link, symlink */
		*name = "Create";
		return 1;
	}
}

static int type_id(uint32_t mode, uint32_t op)
{
	switch (mode & 0170000) {
	case 0100000:
		return 1; /* File */
	case 0040000:
		return 2; /* Folder */
	case 0020000:
		return 3;
	case 0060000:
		return 4;
	case 0140000:
		return 5;
	case 0010000:
		return 6;
	case 0120000:
		return 7;
	}
	if (op == KS_FOP_MKDIR || op == KS_FOP_RMDIR)
		return 2;
	if (op == KS_FOP_SYMLINK)
		return 7;
	return 0;
}

static void file_object(struct ks_pipeline *pl, const char *key, const char *path, const struct ks_file *e, bool inode)
{
	struct ks_jw *w = &pl->jw;
	char num[24];

	ks_jw_key(w, key);
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "path", path);
	ks_jw_kcstr(w, "name", ks_basename(path));
	ks_jw_ku64(w, "type_id", (uint64_t)type_id(inode ? e->mode : 0, e->op));
	if (inode && e->ino) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)e->ino);
		ks_jw_kcstr(w, "uid", num);
		ks_ocsf_user(pl, "owner", e->owner_uid);
	}
	ks_jw_obj_end(w);
}

/* Paths of a process in another mount namespace: the file's path as the host sees it, when it can be
 * found, and the path inside the namespace. */
struct ns_view {
	const char *ns_path, *ns_path2;
	bool host_view; /* path/path2 are the host's view */
};

/* The event as the evaluators see it: the same file and subject as the encoded one. */
static void decoded_file(struct ks_pipeline *pl, const struct ks_file *e, const struct ks_proc *p, int act,
                         const char *act_name, const char *path, const char *path2, uint64_t count)
{
	struct ks_decoded *d = ks_pipeline_decoded(pl, KS_OCSF_FILE_ACTIVITY, act, act_name, e->hdr.ts_ns);

	d->severity_id = e->ret < 0 ? KS_OCSF_SEV_MEDIUM : KS_OCSF_SEV_INFO;
	d->status_id = e->ret < 0 ? 2 : 1;
	d->status_detail = e->ret < 0 ? errno_name(-e->ret) : NULL;
	d->proc = p;
	d->pid = e->hdr.pid;
	d->start_ns = e->start_ns;
	d->uid = e->uid;
	d->loginuid = e->loginuid;
	d->count = count;
	if (e->op == KS_FOP_SYMLINK) { /* the new link is the file; its target text is the result */
		d->file_path = path2 ? path2 : "";
		d->file_result_path = path;
	} else {
		d->file_path = path;
		d->file_result_path = path2;
	}
}

static void emit(struct ks_pipeline *pl, const struct ks_file *e, const char *path, const char *path2,
                 const char *raw_path, uint64_t count, bool count_unknown, const struct ns_view *nv)
{
	struct ks_jw *w = &pl->jw;
	struct ks_proc *p = ks_proc_lookup(pl->procs, e->hdr.pid);
	const char *act_name;
	int act = activity(e, &act_name);

	if (p && p->start_ns != e->start_ns)
		p = NULL;
	decoded_file(pl, e, p, act, act_name, path, path2, count);
	ks_ocsf_begin(pl, &ks_ocsf_file_activity, act, act_name, e->ret < 0 ? KS_OCSF_SEV_MEDIUM : KS_OCSF_SEV_INFO,
	              ks_host_wall_ms(&pl->host, e->hdr.ts_ns));
	ks_jw_ku64(w, "status_id", e->ret < 0 ? 2 : 1);
	ks_jw_kcstr(w, "status", e->ret < 0 ? "Failure" : "Success");
	if (e->ret < 0) {
		char code[12];

		ks_jw_kcstr(w, "status_detail", errno_name(-e->ret));
		snprintf(code, sizeof(code), "%d", -e->ret); /* OCSF: the source's code, as a string */
		ks_jw_kcstr(w, "status_code", code);
	}
	{
		char comm[KS_COMM_LEN + 1];
		const char *who = p ? ks_ocsf_proc_name(p, comm) : "process";

		if (e->ret < 0)
			ks_ocsf_message(pl, "%s %s by %s (pid %u) failed: %s", act_name, path ? path : "", who,
			                e->hdr.pid, errno_name(-e->ret));
		else
			ks_ocsf_message(pl, "%s %s by %s (pid %u)", act_name, path ? path : "", who, e->hdr.pid);
	}
	ks_jw_ku64(w, "count", count);
	if (e->op == KS_FOP_SYMLINK) { /* the new link is the file; its target text is the result */
		file_object(pl, "file", path2 ? path2 : "", e, false);
		if (path)
			file_object(pl, "file_result", path, e, false);
	} else {
		file_object(pl, "file", path, e, (e->fflags & KS_FF_FROM_FILE) != 0);
		if (path2)
			file_object(pl, "file_result", path2, e, false);
	}
	ks_ocsf_actor(pl, p, e->hdr.pid, e->start_ns, e->uid, e->loginuid);
	ks_jw_key(w, "unmapped");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "operation", ks_file_op_name(e->op));
	ks_jw_ku64(w, "tid", e->hdr.tid);
	if (e->op == KS_FOP_OPEN) {
		char fl[16];

		snprintf(fl, sizeof(fl), "0%o", e->open_flags);
		ks_jw_kcstr(w, "open_flags", fl);
		ks_jw_kcstr(w, "access",
		            (e->open_flags & 3) == 0   ? "read"
		            : (e->open_flags & 3) == 1 ? "write"
		                                       : "read-write");
	} else if (e->op == KS_FOP_CHMOD || e->op == KS_FOP_MKDIR) {
		char m[16];

		snprintf(m, sizeof(m), "0%o", e->open_flags & 07777);
		ks_jw_kcstr(w, "mode_requested", m);
	} else if (e->op == KS_FOP_CHOWN) {
		ks_jw_ki64(w, "uid_requested", (int32_t)e->open_flags);
		ks_jw_ki64(w, "gid_requested", (int32_t)e->arg2);
	}
	if (e->mode) {
		char m[16];

		snprintf(m, sizeof(m), "0%o", e->mode & 07777);
		ks_jw_kcstr(w, "mode", m);
	}
	ks_jw_ku64(w, "uid", e->uid);
	ks_jw_ku64(w, "euid", e->euid);
	ks_jw_ku64(w, "mnt_ns", e->mntns);
	if (e->fflags & KS_FF_OTHER_MNTNS)
		ks_jw_kbool(w, "other_mount_namespace", true);
	if (e->fflags & KS_FF_DELETED)
		ks_jw_kbool(w, "deleted", true);
	if (e->fflags & (KS_FF_PATH_TRUNC | KS_FF_NAME_TRUNC))
		ks_jw_kbool(w, "path_truncated", true);
	if (e->fflags & KS_FF_PATH2_TRUNC)
		ks_jw_kbool(w, "path2_truncated", true);
	ks_jw_kcstr(w, "path_source", (e->fflags & KS_FF_FROM_FILE) ? "file" : "name");
	if (raw_path)
		ks_jw_kcstr(w, "path_as_given", raw_path);
	if (nv->ns_path) {
		ks_jw_kcstr(w, "namespace_path", nv->ns_path);
		if (nv->ns_path2)
			ks_jw_kcstr(w, "namespace_path2", nv->ns_path2);
		ks_jw_kbool(w, "host_view", nv->host_view);
	}
	if (path && !ks_utf8_valid(path, strlen(path))) {
		ks_jw_key(w, "path_hex");
		ks_jw_hex(w, path, strlen(path));
	}
	if (count_unknown)
		ks_jw_kbool(w, "count_incomplete", true);
	ks_jw_obj_end(w);
	if (e->op == KS_FOP_SYMLINK)
		ks_ocsf_observe(pl, "file.path", KS_OCSF_OBS_FILE_PATH, path2);
	else
		ks_ocsf_observe(pl, "file.path", KS_OCSF_OBS_FILE_PATH, path);
	ks_ocsf_end(pl);
	pl->counters.file_events++;
	ks_pipeline_emit(pl, KS_OCSF_FILE_ACTIVITY);
}

/* Decode, fold and (for names the kernel could not decide) filter; then emit with count. */
static void process_record(struct ks_pipeline *pl, const struct ks_file *e, uint64_t count, bool count_unknown)
{
	char path[KS_FILE_PATH_MAX + 1], path2[KS_FILE_PATH_MAX + 257], raw[KS_FILE_PATH_MAX + 257];
	const char *tail = e->data;
	bool has2 = e->path2_len > 0;
	const char *rawp = NULL;

	snprintf(path, sizeof(path), "%.*s", (int)e->path_len, tail);
	snprintf(path2, sizeof(path2), "%.*s", (int)e->path2_len, tail + e->path_len);
	if (e->fflags & KS_FF_NEEDS_NORMALIZE) {
		struct ks_files *f = pl->files;
		uint32_t ops = 0;

		snprintf(raw, sizeof(raw), "%s", e->op == KS_FOP_SYMLINK ? path2 : path);
		rawp = raw;
		if (e->op != KS_FOP_SYMLINK) {
			ks_path_normalize(path);
			ops |= ks_watch_match(f->rules, f->n_rules, path);
		}
		if (has2) {
			ks_path_normalize(path2);
			ops |= ks_watch_match(f->rules, f->n_rules, path2);
		}
		if (!(ops & e->ops_class)) {
			pl->counters.file_filtered_user++;
			return;
		}
	}
	if (e->fflags & KS_FF_OTHER_MNTNS) { /* report the host's view; keep the namespace's */
		char host[KS_FILE_PATH_MAX + 1], host2[KS_FILE_PATH_MAX + 257];
		bool ok =
		    e->op != KS_FOP_SYMLINK && ks_mntns_host_path(e->hdr.pid, e->mntns, path, NULL, host, sizeof(host));
		bool ok2 = has2 && e->op != KS_FOP_SYMLINK &&
		           ks_mntns_host_path(e->hdr.pid, e->mntns, path2, NULL, host2, sizeof(host2));
		struct ns_view nv = {
		    .ns_path = path, .ns_path2 = has2 ? path2 : NULL, .host_view = ok && (!has2 || ok2)};

		emit(pl, e, ok ? host : path, has2 ? (ok2 ? host2 : path2) : NULL, rawp, count, count_unknown, &nv);
		return;
	}
	emit(pl, e, path, has2 ? path2 : NULL, rawp, count, count_unknown, &(struct ns_view){0});
}

static void finalize(struct ks_pipeline *pl, struct held *h, uint64_t repeats, bool unknown)
{
	struct ks_files *f = pl->files;

	unlink_held(f, h);
	pl->counters.file_aggregated += repeats;
	process_record(pl, (const struct ks_file *)h->rec, 1 + repeats, unknown);
	free(h);
}

int ks_file_handle(struct ks_pipeline *pl, const void *data, size_t size)
{
	const struct ks_file *e = data;
	struct ks_files *f = pl->files;
	struct held **pp, *h;

	if (size < KS_FILE_FIXED_SIZE || e->hdr.kind != KS_EV_FILE || e->hdr.size > size ||
	    e->hdr.version != KS_WIRE_VERSION ||
	    (size_t)e->path_len + e->path2_len > e->hdr.size - KS_FILE_FIXED_SIZE || e->path_len > KS_FILE_PATH_MAX ||
	    !f) {
		pl->counters.malformed++;
		return -1;
	}
	pl->counters.received[KS_EV_FILE]++;
	if (!(e->fflags & KS_FF_AGG_HEAD)) {
		process_record(pl, e, 1, false);
		return 0;
	}
	{
		struct ks_agg_key k = {.tgid = e->hdr.pid,
		                       .ops_class = e->ops_class | e->op << KS_AGG_OP_SHIFT,
		                       .ino = e->ino,
		                       .dev = e->dev,
		                       .name = e->agg_name};

		pp = find(f, &k);
		if (*pp) /* a new window began before we closed the old one: it tells the old count */
			finalize(pl, *pp, e->prev_repeats, false);
		h = malloc(sizeof(*h) + e->hdr.size);
		if (!h) { /* cannot hold it: report it now, uncounted */
			process_record(pl, e, 1, true);
			return 0;
		}
		h->key = k;
		h->first_ns = e->hdr.ts_ns;
		memcpy(h->rec, e, e->hdr.size);
		pp = find(f, &k);
		h->hnext = *pp;
		*pp = h;
		h->next = NULL;
		h->prev = f->newest;
		if (f->newest)
			f->newest->next = h;
		else
			f->oldest = h;
		f->newest = h;
		f->n_held++;
		/* more open windows than the kernel map can track: report the oldest now, with the repeats
		 * counted so far, flagged incomplete. The analyzer cannot see that finalize() moves f->oldest
		 * on (unlink_held: the oldest has no prev), so it reads the loop as a use after free. */
		// NOLINTBEGIN(clang-analyzer-unix.Malloc)
		while (f->n_held > HELD_MAX && f->oldest) {
			struct ks_agg_val v = {0};
			struct held *old = f->oldest;
			bool got = f->agg_fd >= 0 && bpf_map_lookup_elem(f->agg_fd, &old->key, &v) == 0 &&
			           v.first_ns == old->first_ns;

			pl->counters.file_agg_unknown++;
			finalize(pl, old, got ? v.repeats : 0, true);
		}
		// NOLINTEND(clang-analyzer-unix.Malloc)
	}
	return 0;
}

uint64_t ks_files_held_since(const struct ks_pipeline *pl)
{
	const struct ks_files *f = pl->files;

	return f && f->oldest ? f->oldest->first_ns : UINT64_MAX;
}

void ks_files_tick(struct ks_pipeline *pl, uint64_t now_ns, int flush)
{
	struct ks_files *f = pl->files;

	if (!f)
		return;
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): finalize() moved f->oldest on (see ks_file_handle)
	while (f->oldest && (flush || f->oldest->first_ns + f->window_ns < now_ns)) {
		struct held *h = f->oldest;
		struct ks_agg_val v;

		if (f->agg_fd >= 0 && bpf_map_lookup_elem(f->agg_fd, &h->key, &v) == 0) {
			if (v.first_ns == h->first_ns) {
				finalize(pl, h, v.repeats, false);
				continue;
			}
			/* replaced by a newer window: its head is on its way and carries our count; do not
			 * wait for it forever */
			if (!flush && h->first_ns + 2 * f->window_ns + NSEC_PER_SEC > now_ns)
				break;
		}
		pl->counters.file_agg_unknown++;
		finalize(pl, h, 0, true);
	}
}
