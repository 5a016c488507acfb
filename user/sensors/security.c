// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "model/proctable.h"
#include "pipeline/ocsf.h"
#include "sensors/security.h"
#include "sensors/watch.h"

static const struct ks_ocsf_class kernel_extension_activity = {
    1002, "Kernel Extension Activity", 1, "System Activity", false, "[\"host\"]"};

/* activity_id of Process Activity (1007) beyond Launch/Terminate, and of Kernel Extension Activity (1002) */
enum ks_ocsf_proc_access { KS_OCSF_PROC_OPEN = 3, KS_OCSF_PROC_INJECT = 4 };
enum ks_ocsf_kext_activity { KS_OCSF_KEXT_LOAD = 1 };
#define KS_OCSF_FILE_SET_SECURITY 7
#define KS_OCSF_INJECTION_OTHER 99
#define KS_OCSF_KERNEL_EXTENSION_ACTIVITY 1002

static bool hdr_ok(const void *data, size_t size, uint16_t kind, size_t fixed)
{
	const struct ks_hdr *h = data;

	return size >= fixed && h->kind == kind && h->version == KS_WIRE_VERSION && h->size <= size && h->size >= fixed;
}

int ks_ptrace_decode(const void *data, size_t size, const struct ks_ptrace **out)
{
	if (!hdr_ok(data, size, KS_EV_PTRACE, sizeof(struct ks_ptrace)))
		return -1;
	*out = data;
	return 0;
}

/* A NUL-terminated string of exactly len bytes (NUL included) at p, or NULL when len is 0. */
static int tail_str(const char *p, uint16_t len, const char **out)
{
	*out = NULL;
	if (!len)
		return 0;
	if (p[len - 1] != '\0')
		return -1;
	*out = p;
	return 0;
}

int ks_kmod_decode(const void *data, size_t size, struct ks_kmod_view *v)
{
	const struct ks_kmod *m = data;

	memset(v, 0, sizeof(*v));
	if (!hdr_ok(data, size, KS_EV_KMOD, KS_KMOD_FIXED_SIZE))
		return -1;
	if ((size_t)m->path_len + m->params_len > m->hdr.size - KS_KMOD_FIXED_SIZE || m->path_len > KS_PATH_MAX)
		return -1;
	/* the kernel always sends the parameters (at least their NUL) and names the call */
	if (!m->params_len || (m->call != KS_KMOD_INIT && m->call != KS_KMOD_FINIT))
		return -1;
	if (tail_str(m->data, m->path_len, &v->path) || tail_str(m->data + m->path_len, m->params_len, &v->params))
		return -1;
	v->m = m;
	return 0;
}

int ks_setid_decode(const void *data, size_t size, struct ks_setid_view *v)
{
	const struct ks_setid *s = data;
	const char *base, *name;

	memset(v, 0, sizeof(*v));
	if (!hdr_ok(data, size, KS_EV_SETID, KS_SETID_FIXED_SIZE))
		return -1;
	if ((size_t)s->base_len + s->name_len > s->hdr.size - KS_SETID_FIXED_SIZE || s->base_len > KS_PATH_MAX ||
	    s->name_len > KS_PATH_MAX)
		return -1;
	if (tail_str(s->data, s->base_len, &base) || tail_str(s->data + s->base_len, s->name_len, &name))
		return -1;
	if ((!base && !name) || s->call < KS_SETID_CHMOD || s->call > KS_SETID_FCHMODAT2)
		return -1;
	v->s = s;
	v->name_as_given = name;
	if (!name) /* fchmod: the file's own path */
		snprintf(v->path, sizeof(v->path), "%s", base);
	else if (name[0] == '/' || !base)
		snprintf(v->path, sizeof(v->path), "%s", name);
	else
		snprintf(v->path, sizeof(v->path), "%s/%s", base, name);
	if (v->path[0] == '/')
		ks_path_normalize(v->path);
	return 0;
}

const char *ks_ptrace_request_name(uint32_t req)
{
	switch (req) {
	case KS_PTRACE_ATTACH:
		return "PTRACE_ATTACH";
	case KS_PTRACE_SEIZE:
		return "PTRACE_SEIZE";
	case KS_PTRACE_POKETEXT:
		return "PTRACE_POKETEXT";
	case KS_PTRACE_POKEDATA:
		return "PTRACE_POKEDATA";
	case KS_PTRACE_POKEUSR:
		return "PTRACE_POKEUSER";
	case KS_PTRACE_SETREGS:
		return "PTRACE_SETREGS";
	case KS_PTRACE_SETREGSET:
		return "PTRACE_SETREGSET";
	}
	return "unknown";
}

bool ks_ptrace_is_attach(uint32_t req)
{
	return req == KS_PTRACE_ATTACH || req == KS_PTRACE_SEIZE;
}

/* The process table's entry for (pid, start), or NULL. */
static struct ks_proc *proc_of(struct ks_pipeline *pl, uint32_t pid, uint64_t start_ns)
{
	struct ks_proc *p = pid ? ks_proc_lookup(pl->procs, pid) : NULL;

	return p && p->start_ns == start_ns ? p : NULL;
}

static void status(struct ks_pipeline *pl, int32_t ret)
{
	struct ks_jw *w = &pl->jw;

	ks_jw_ku64(w, "status_id", ret < 0 ? 2 : 1);
	ks_jw_kcstr(w, "status", ret < 0 ? "Failure" : "Success");
	if (ret < 0) {
		const char *name = strerrorname_np(-ret);

		ks_jw_kcstr(w, "status_detail", name ? name : "UNKNOWN");
		ks_jw_ki64(w, "status_code", -ret);
	}
}

static void unmapped_creds(struct ks_pipeline *pl, const struct ks_creds *c, uint32_t tid)
{
	struct ks_jw *w = &pl->jw;

	ks_jw_ku64(w, "tid", tid);
	ks_jw_ku64(w, "uid", c->uid);
	ks_jw_ku64(w, "euid", c->euid);
	if (c->loginuid != KS_NO_ID)
		ks_jw_ku64(w, "loginuid", c->loginuid);
}

/* The event as the evaluators see it: the subject is the process that acted (the tracer for ptrace). */
static struct ks_decoded *decoded(struct ks_pipeline *pl, int class_uid, int act, const char *act_name, int sev,
                                  const struct ks_hdr *h, uint64_t start_ns, const struct ks_creds *c, int32_t ret)
{
	struct ks_decoded *d = ks_pipeline_decoded(pl, class_uid, act, act_name, h->ts_ns);

	d->severity_id = sev;
	d->status_id = ret < 0 ? 2 : 1;
	d->status_detail = ret < 0 ? strerrorname_np(-ret) : NULL;
	d->proc = proc_of(pl, h->pid, start_ns);
	d->pid = h->pid;
	d->start_ns = start_ns;
	d->uid = c->uid;
	d->loginuid = c->loginuid;
	return d;
}

static void emit_ptrace(struct ks_pipeline *pl, const struct ks_ptrace *t)
{
	struct ks_jw *w = &pl->jw;
	struct ks_proc *tracer = proc_of(pl, t->hdr.pid, t->start_ns);
	struct ks_proc *tracee = proc_of(pl, t->target_pid, t->target_start_ns);
	bool attach = ks_ptrace_is_attach(t->request);

	decoded(pl, KS_OCSF_PROCESS_ACTIVITY, attach ? KS_OCSF_PROC_OPEN : KS_OCSF_PROC_INJECT,
	        attach ? "Open" : "Inject", t->ret < 0 ? KS_OCSF_SEV_MEDIUM : KS_OCSF_SEV_INFO, &t->hdr, t->start_ns,
	        &t->creds, t->ret);
	ks_ocsf_begin(pl, &ks_ocsf_process_activity, attach ? KS_OCSF_PROC_OPEN : KS_OCSF_PROC_INJECT,
	              attach ? "Open" : "Inject", t->ret < 0 ? KS_OCSF_SEV_MEDIUM : KS_OCSF_SEV_INFO,
	              ks_host_wall_ms(&pl->host, t->hdr.ts_ns));
	status(pl, t->ret);
	if (!attach) {
		ks_jw_ki64(w, "injection_type_id", KS_OCSF_INJECTION_OTHER);
		ks_jw_kcstr(w, "injection_type", "ptrace");
	}
	/* the target: the tracee (what the request named, when the kernel could not resolve it) */
	if (tracee) {
		ks_ocsf_process(pl, "process", tracee, true);
	} else {
		char id[KS_PROC_ID_LEN];

		ks_jw_key(w, "process");
		ks_jw_obj_begin(w);
		ks_jw_ku64(w, "pid", t->target_pid ? t->target_pid : t->target_arg);
		if (t->target_pid && t->target_start_ns) {
			ks_proc_make_id(pl->host.boot_id, t->target_pid, t->target_start_ns, id);
			ks_jw_kcstr(w, "uid", id);
		}
		if (t->target_comm[0])
			ks_jw_kstr(w, "name", t->target_comm, strnlen(t->target_comm, sizeof(t->target_comm)));
		ks_jw_obj_end(w);
	}
	ks_ocsf_actor(pl, tracer, t->hdr.pid, t->start_ns, t->creds.uid, t->creds.loginuid);
	ks_jw_key(w, "unmapped");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "ptrace_request", ks_ptrace_request_name(t->request));
	ks_jw_ku64(w, "ptrace_request_id", t->request);
	ks_jw_ku64(w, "target_pid_argument", t->target_arg);
	if (t->target_tid && t->target_tid != t->target_pid)
		ks_jw_ku64(w, "target_tid", t->target_tid);
	if (!t->target_pid)
		ks_jw_kbool(w, "target_unresolved", true);
	if (!attach) {
		char addr[24];

		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)t->addr);
		ks_jw_kcstr(w, "address", addr);
		ks_jw_kbool(w, "first_write_of_pair", true); /* later writes by this tracer are not reported */
	}
	unmapped_creds(pl, &t->creds, t->hdr.tid);
	ks_jw_obj_end(w);
	ks_jw_obj_end(w);
	pl->counters.sec_events++;
	ks_pipeline_emit(pl, KS_OCSF_PROCESS_ACTIVITY);
}

static void emit_kmod(struct ks_pipeline *pl, const struct ks_kmod_view *v)
{
	const struct ks_kmod *m = v->m;
	struct ks_jw *w = &pl->jw;

	decoded(pl, KS_OCSF_KERNEL_EXTENSION_ACTIVITY, KS_OCSF_KEXT_LOAD, "Load",
	        m->ret < 0 ? KS_OCSF_SEV_MEDIUM : KS_OCSF_SEV_INFO, &m->hdr, m->start_ns, &m->creds, m->ret);
	ks_ocsf_begin(pl, &kernel_extension_activity, KS_OCSF_KEXT_LOAD, "Load",
	              m->ret < 0 ? KS_OCSF_SEV_MEDIUM : KS_OCSF_SEV_INFO, ks_host_wall_ms(&pl->host, m->hdr.ts_ns));
	status(pl, m->ret);
	ks_jw_key(w, "driver");
	ks_jw_obj_begin(w);
	ks_jw_key(w, "file");
	ks_jw_obj_begin(w);
	if (v->path) {
		ks_jw_kcstr(w, "path", v->path);
		ks_jw_kcstr(w, "name", ks_basename(v->path));
	} else {
		ks_jw_kcstr(w, "name", "(image from memory)"); /* init_module: no file to name */
	}
	ks_jw_ku64(w, "type_id", 1); /* Regular File */
	ks_jw_obj_end(w);
	ks_jw_obj_end(w);
	ks_ocsf_actor(pl, proc_of(pl, m->hdr.pid, m->start_ns), m->hdr.pid, m->start_ns, m->creds.uid,
	              m->creds.loginuid);
	ks_jw_key(w, "unmapped");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "syscall", m->call == KS_KMOD_FINIT ? "finit_module" : "init_module");
	if (m->call == KS_KMOD_INIT)
		ks_jw_ku64(w, "image_bytes", m->image_len);
	else
		ks_jw_ku64(w, "flags", m->mod_flags);
	if (v->params && v->params[0])
		ks_jw_kcstr(w, "parameters", v->params);
	if (m->sflags & KS_SF_PARAMS_TRUNC)
		ks_jw_kbool(w, "parameters_truncated", true);
	if (m->sflags & KS_SF_DELETED)
		ks_jw_kbool(w, "file_deleted", true);
	if (m->sflags & KS_SF_UNREACHABLE)
		ks_jw_kbool(w, "file_unlinked_fs", true); /* a memfd: a module that never touched a disk */
	if (m->sflags & KS_SF_OTHER_MNTNS)
		ks_jw_kbool(w, "other_mount_namespace", true);
	unmapped_creds(pl, &m->creds, m->hdr.tid);
	ks_jw_obj_end(w);
	ks_jw_obj_end(w);
	pl->counters.sec_events++;
	ks_pipeline_emit(pl, KS_OCSF_KERNEL_EXTENSION_ACTIVITY);
}

/* OCSF file type_id from an inode mode: 1 regular, 2 folder, 0 unknown. */
static int setid_type(const struct ks_setid_view *v)
{
	struct stat st;
	uint32_t mode = v->s->file_mode;

	/* a name: the file's type now (the daemon shares the host's mount namespace, not the process's) */
	if (!mode && !(v->s->sflags & KS_SF_OTHER_MNTNS) && v->path[0] == '/' && lstat(v->path, &st) == 0)
		mode = st.st_mode;
	return S_ISREG(mode) ? 1 : S_ISDIR(mode) ? 2 : 0;
}

static void emit_setid(struct ks_pipeline *pl, const struct ks_setid_view *v)
{
	const struct ks_setid *s = v->s;
	static const char *const calls[] = {[KS_SETID_CHMOD] = "chmod",
	                                    [KS_SETID_FCHMOD] = "fchmod",
	                                    [KS_SETID_FCHMODAT] = "fchmodat",
	                                    [KS_SETID_FCHMODAT2] = "fchmodat2"};
	struct ks_jw *w = &pl->jw;
	char mode[16];

	struct ks_decoded *d = decoded(pl, KS_OCSF_FILE_ACTIVITY, KS_OCSF_FILE_SET_SECURITY, "Set Security",
	                               KS_OCSF_SEV_INFO, &s->hdr, s->start_ns, &s->creds, s->ret);

	d->file_path = v->path;
	d->has_setid = true;
	d->setuid = (s->mode & 04000) != 0;
	d->setgid = (s->mode & 02000) != 0;
	ks_ocsf_begin(pl, &ks_ocsf_file_activity, KS_OCSF_FILE_SET_SECURITY, "Set Security", KS_OCSF_SEV_INFO,
	              ks_host_wall_ms(&pl->host, s->hdr.ts_ns));
	status(pl, s->ret);
	ks_jw_key(w, "file");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "path", v->path);
	ks_jw_kcstr(w, "name", ks_basename(v->path));
	ks_jw_ku64(w, "type_id", (uint64_t)setid_type(v));
	if (s->ino) {
		char num[24];

		snprintf(num, sizeof(num), "%llu", (unsigned long long)s->ino);
		ks_jw_kcstr(w, "uid", num);
		ks_ocsf_user(pl, "owner", s->owner_uid);
	}
	ks_jw_obj_end(w);
	ks_ocsf_actor(pl, proc_of(pl, s->hdr.pid, s->start_ns), s->hdr.pid, s->start_ns, s->creds.uid,
	              s->creds.loginuid);
	ks_jw_key(w, "unmapped");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "operation", "chmod");
	ks_jw_kcstr(w, "syscall", s->call < sizeof(calls) / sizeof(calls[0]) && calls[s->call] ? calls[s->call] : "?");
	snprintf(mode, sizeof(mode), "0%o", s->mode & 07777);
	ks_jw_kcstr(w, "mode_requested", mode);
	if (s->file_mode) {
		snprintf(mode, sizeof(mode), "0%o", s->file_mode & 07777);
		ks_jw_kcstr(w, "mode", mode);
	}
	ks_jw_kbool(w, "setuid", (s->mode & 04000) != 0);
	ks_jw_kbool(w, "setgid", (s->mode & 02000) != 0);
	ks_jw_kcstr(w, "path_source", (s->sflags & KS_SF_FROM_FILE) ? "file" : "name");
	if (v->name_as_given && strcmp(v->name_as_given, v->path))
		ks_jw_kcstr(w, "path_as_given", v->name_as_given);
	if (s->sflags & (KS_SF_PATH_TRUNC | KS_SF_NAME_TRUNC))
		ks_jw_kbool(w, "path_truncated", true);
	if (s->sflags & KS_SF_OTHER_MNTNS)
		ks_jw_kbool(w, "other_mount_namespace", true);
	unmapped_creds(pl, &s->creds, s->hdr.tid);
	ks_jw_ku64(w, "mnt_ns", s->mntns);
	ks_jw_obj_end(w);
	ks_jw_obj_end(w);
	pl->counters.sec_events++;
	ks_pipeline_emit(pl, KS_OCSF_FILE_ACTIVITY);
}

int ks_security_handle(struct ks_pipeline *pl, const void *data, size_t size)
{
	const struct ks_hdr *h = data;

	if (size < sizeof(*h))
		goto malformed;
	switch (h->kind) {
	case KS_EV_PTRACE: {
		const struct ks_ptrace *t;

		if (ks_ptrace_decode(data, size, &t))
			goto malformed;
		emit_ptrace(pl, t);
		return 0;
	}
	case KS_EV_KMOD: {
		struct ks_kmod_view v;

		if (ks_kmod_decode(data, size, &v))
			goto malformed;
		emit_kmod(pl, &v);
		return 0;
	}
	case KS_EV_SETID: {
		static struct ks_setid_view v; /* two paths: too large for the stack of the loop */

		if (ks_setid_decode(data, size, &v))
			goto malformed;
		emit_setid(pl, &v);
		return 0;
	}
	}
malformed:
	pl->counters.malformed++;
	return -1;
}
