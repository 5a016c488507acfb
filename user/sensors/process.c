// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/users.h"
#include "pipeline/ocsf.h"
#include "sensors/process.h"
#include "sensors/security.h"

int ks_exec_decode(const void *data, size_t size, struct ks_exec_view *v)
{
	const struct ks_exec *e = data;
	const char *tail;
	size_t need, off = 0;

	memset(v, 0, sizeof(*v));
	if (size < KS_EXEC_FIXED_SIZE || e->hdr.size > size || e->hdr.size < KS_EXEC_FIXED_SIZE)
		return -1;
	if (e->hdr.kind != KS_EV_EXEC && e->hdr.kind != KS_EV_SEED)
		return -1;
	need = (size_t)e->exe_len + e->argv_len + e->script_len + e->cwd_len + e->cgroup_len;
	if (need > e->hdr.size - KS_EXEC_FIXED_SIZE)
		return -1;
	tail = (const char *)e->data;
	v->e = e;
	v->img.exe = tail + off;
	v->img.exe_len = e->exe_len;
	off += e->exe_len;
	v->img.args = tail + off;
	v->img.args_len = e->argv_len;
	off += e->argv_len;
	v->img.script = tail + off;
	v->img.script_len = e->script_len;
	off += e->script_len;
	v->cwd = tail + off;
	v->cwd_len = e->cwd_len;
	off += e->cwd_len;
	v->img.cgroup = tail + off;
	v->img.cgroup_len = e->cgroup_len;
	if (!e->exe_len)
		v->img.exe = NULL;
	return 0;
}

/* Store the record in the table; returns the entry (NULL on allocation failure). */
static struct ks_proc *apply_exec(struct ks_pipeline *pl, const struct ks_exec_view *v)
{
	const struct ks_exec *e = v->e;
	struct ks_proc_image img = v->img;
	char script[2 * KS_PATH_MAX + 2];
	struct ks_proc *p;
	bool created;

	p = ks_proc_get(pl->procs, e->hdr.pid, e->start_ns, &created);
	if (!p)
		return NULL;
	p->ppid = e->ppid;
	p->parent_start_ns = e->parent_start_ns;
	p->creds = e->creds;
	p->flags = e->flags;
	p->argv_total = e->argv_total;
	p->cgroup_id = e->hdr.cgroup_id;
	memcpy(p->comm, e->comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = '\0';
	memcpy(p->tty, e->tty, sizeof(p->tty));
	p->tty[sizeof(p->tty) - 1] = '\0';
	if (e->hdr.kind == KS_EV_EXEC)
		p->exec_ns = e->hdr.ts_ns;
	/* a relative script name is made absolute with the cwd the kernel resolved */
	if ((e->flags & KS_F_SCRIPT_REL) && v->cwd_len && img.script_len) {
		size_t cl = strnlen(v->cwd, v->cwd_len), sl = strnlen(img.script, img.script_len);
		const char *s = img.script;

		if (sl >= 2 && s[0] == '.' && s[1] == '/') {
			s += 2;
			sl -= 2;
		}
		snprintf(script, sizeof(script), "%.*s%s%.*s", (int)cl, v->cwd,
		         (cl && v->cwd[cl - 1] == '/') ? "" : "/", (int)sl, s);
		img.script = script;
		img.script_len = strlen(script);
	}
	ks_proc_set_image(p, &img);
	return p;
}

static const char *signal_name(int sig)
{
	static char buf[16];
	const char *abbrev = sigabbrev_np(sig);

	if (!abbrev)
		return NULL;
	snprintf(buf, sizeof(buf), "SIG%s", abbrev);
	return buf;
}

/* Fields with no OCSF home. */
static void unmapped_proc(struct ks_pipeline *pl, const struct ks_proc *p)
{
	struct ks_jw *w = &pl->jw;
	size_t n = ks_proc_args_len(p), pos = 0, len;
	const char *arg;

	/* why process.file and cmd_line can be missing: a kernel thread has neither; a process forked by one
	 * kansoku never knew, that did not exec since, has nothing the table could copy */
	if (p->flags & KS_F_KTHREAD)
		ks_jw_kbool(w, "kernel_thread", true);
	else if (!p->exe)
		ks_jw_kcstr(w, "image_unknown", "forked by a process kansoku did not know, and no exec since");
	ks_jw_ku64(w, "ppid", p->ppid);
	ks_jw_ku64(w, "gid", p->creds.gid);
	ks_jw_ku64(w, "euid", p->creds.euid);
	ks_jw_ku64(w, "egid", p->creds.egid);
	if (p->creds.loginuid != KS_NO_ID)
		ks_jw_ku64(w, "loginuid", p->creds.loginuid);
	if (p->creds.sessionid != KS_NO_ID)
		ks_jw_ku64(w, "sessionid", p->creds.sessionid);
	if (p->tty[0])
		ks_jw_kcstr(w, "tty", p->tty);
	ks_jw_key(w, "cgroup");
	ks_jw_obj_begin(w);
	ks_jw_ku64(w, "id", p->cgroup_id);
	if (p->cgroup)
		ks_jw_kcstr(w, "path", p->cgroup);
	if (p->flags & KS_F_CGROUP_TRUNC)
		ks_jw_kbool(w, "truncated", true);
	ks_jw_obj_end(w);
	if (p->args) {
		ks_jw_key(w, "argv");
		ks_jw_obj_begin(w);
		/* ocsf.c writes the list itself; here only what a SIEM needs to judge it */
		ks_jw_ku64(w, "bytes", p->argv_total);
		ks_jw_kbool(w, "truncated", (p->flags & KS_F_ARGV_TRUNC) != 0);
		ks_jw_obj_end(w);
	}
	if (p->flags & KS_F_SCRIPT) {
		if (p->script)
			ks_jw_kcstr(w, "script_path", p->script);
		ks_jw_kcstr(w, "interpreter", p->exe);
	}
	if (p->flags & KS_F_DELETED)
		ks_jw_kbool(w, "exe_deleted", true);
	if (p->flags & KS_F_PSEUDO)
		ks_jw_kbool(w, "exe_unlinked_fs", true); /* memfd and other unmounted filesystems */
	if (p->flags & KS_F_PATH_TRUNC)
		ks_jw_kbool(w, "exe_path_truncated", true);
	if (p->flags & KS_F_STDIO_INET) { /* at exec: a reverse shell's mark */
		ks_jw_kbool(w, "stdio_socket", true);
		ks_jw_key(w, "stdio_sockets");
		ks_jw_arr_begin(w);
		if (p->flags & KS_F_STDIN_INET)
			ks_jw_cstr(w, "stdin");
		if (p->flags & KS_F_STDOUT_INET)
			ks_jw_cstr(w, "stdout");
		if (p->flags & KS_F_STDERR_INET)
			ks_jw_cstr(w, "stderr");
		ks_jw_arr_end(w);
	}
	if (p->exe && !ks_utf8_valid(p->exe, strlen(p->exe))) {
		ks_jw_key(w, "exe_path_hex");
		ks_jw_hex(w, p->exe, strlen(p->exe));
	}
	if (p->args && !ks_utf8_valid(p->args, n)) {
		ks_jw_key(w, "args_hex");
		ks_jw_hex(w, p->args, n);
	}
	ks_jw_key(w, "args");
	ks_jw_arr_begin(w);
	while ((arg = ks_proc_arg_next(p, &pos, &len)))
		ks_jw_str(w, arg, len);
	ks_jw_arr_end(w);
	if (p->seeded)
		ks_jw_kbool(w, "seeded", true);
}

/* The observables of a process event: the process, its executable and its user. */
static void observe_process(struct ks_pipeline *pl, const struct ks_proc *p)
{
	char comm[KS_COMM_LEN + 1];

	ks_ocsf_observe(pl, "process.name", KS_OCSF_OBS_PROCESS_NAME, ks_ocsf_proc_name(p, comm));
	if (p->exe)
		ks_ocsf_observe(pl, "process.file.path", KS_OCSF_OBS_FILE_PATH, p->exe);
	ks_ocsf_observe(pl, "process.user.name", KS_OCSF_OBS_USER_NAME, ks_users_name(pl->users, p->creds.uid));
}

/* The event as the evaluators see it: the process is its own subject. */
static void decoded_proc(struct ks_pipeline *pl, const struct ks_proc *p, int act, const char *act_name, uint64_t ts_ns)
{
	struct ks_decoded *d = ks_pipeline_decoded(pl, KS_OCSF_PROCESS_ACTIVITY, act, act_name, ts_ns);

	d->severity_id = KS_OCSF_SEV_INFO;
	d->proc = p;
	d->pid = p->pid;
	d->start_ns = p->start_ns;
	d->uid = p->creds.uid;
	d->loginuid = p->creds.loginuid;
}

static void emit_launch(struct ks_pipeline *pl, const struct ks_proc *p, uint64_t ts_ns)
{
	struct ks_jw *w = &pl->jw;
	struct ks_proc *parent = ks_proc_parent(pl->procs, p);
	uint32_t person = p->creds.loginuid != KS_NO_ID ? p->creds.loginuid : p->creds.uid;
	char comm[KS_COMM_LEN + 1], pcomm[KS_COMM_LEN + 1];

	decoded_proc(pl, p, KS_OCSF_PROC_LAUNCH, "Launch", ts_ns);
	ks_ocsf_begin(pl, &ks_ocsf_process_activity, KS_OCSF_PROC_LAUNCH, "Launch", KS_OCSF_SEV_INFO,
	              ks_host_wall_ms(&pl->host, ts_ns));
	ks_ocsf_message(pl, "%s (pid %u) launched by %s (pid %u)", p->exe ? p->exe : ks_ocsf_proc_name(p, comm), p->pid,
	                parent ? ks_ocsf_proc_name(parent, pcomm) : "a process kansoku did not see", p->ppid);
	ks_ocsf_process(pl, "process", p, true);
	ks_jw_key(w, "actor");
	ks_jw_obj_begin(w);
	if (parent) {
		ks_ocsf_process(pl, "process", parent, false);
	} else if (p->ppid) {
		/* the parent ended, or started while records were lost, before this exec was read: what the
		 * kernel said of it (pid, start time) still names it */
		char id[KS_PROC_ID_LEN];

		ks_jw_key(w, "process");
		ks_jw_obj_begin(w);
		ks_jw_ku64(w, "pid", p->ppid);
		if (p->parent_start_ns) {
			ks_proc_make_id(pl->host.boot_id, p->ppid, p->parent_start_ns, id);
			ks_jw_kcstr(w, "uid", id);
		}
		ks_jw_obj_end(w);
	}
	/* the person behind it: the login uid survives sudo and su */
	ks_ocsf_user(pl, "user", person);
	ks_jw_obj_end(w);
	ks_jw_key(w, "unmapped");
	ks_jw_obj_begin(w);
	if (!parent && p->ppid)
		ks_jw_kcstr(w, "actor_unknown",
		            "the parent is not in the process table (it ended, or records were lost, "
		            "before this exec was read): only its pid and uid are known");
	unmapped_proc(pl, p);
	ks_jw_obj_end(w);
	observe_process(pl, p);
	if (parent)
		ks_ocsf_observe(pl, "actor.process.name", KS_OCSF_OBS_PROCESS_NAME, ks_ocsf_proc_name(parent, pcomm));
	ks_ocsf_observe(pl, "actor.user.name", KS_OCSF_OBS_USER_NAME, ks_users_name(pl->users, person));
	ks_ocsf_end(pl);
	pl->counters.emitted_launch++;
	ks_pipeline_emit(pl, KS_OCSF_PROCESS_ACTIVITY);
}

/* unknown: the exit of a process the table never had (see handle_exit) */
static void emit_terminate(struct ks_pipeline *pl, const struct ks_proc *p, const struct ks_exit *x, bool unknown)
{
	struct ks_jw *w = &pl->jw;
	unsigned status = x->exit_code, sig = status & 0x7f;
	int exit_code = sig ? 128 + (int)sig : (int)((status >> 8) & 0xff);
	uint32_t person = p->creds.loginuid != KS_NO_ID ? p->creds.loginuid : p->creds.uid;
	const char *signame = sig ? signal_name((int)sig) : NULL;
	char comm[KS_COMM_LEN + 1];

	decoded_proc(pl, p, KS_OCSF_PROC_TERMINATE, "Terminate", x->hdr.ts_ns);
	pl->dec.exit_code = sig ? 128 + (int)sig : (int)((status >> 8) & 0xff);
	pl->dec.has_exit_code = true;
	ks_ocsf_begin(pl, &ks_ocsf_process_activity, KS_OCSF_PROC_TERMINATE, "Terminate", KS_OCSF_SEV_INFO,
	              ks_host_wall_ms(&pl->host, x->hdr.ts_ns));
	if (sig)
		ks_ocsf_message(pl, "%s (pid %u) killed by %s", unknown ? "a process" : ks_ocsf_proc_name(p, comm),
		                p->pid, signame ? signame : "a signal");
	else
		ks_ocsf_message(pl, "%s (pid %u) exited with %d", unknown ? "a process" : ks_ocsf_proc_name(p, comm),
		                p->pid, exit_code);
	ks_ocsf_process(pl, "process", p, true);
	ks_jw_key(w, "actor");
	ks_jw_obj_begin(w);
	ks_ocsf_process(pl, "process", p, false);
	if (!unknown)
		ks_ocsf_user(pl, "user", person);
	ks_jw_obj_end(w);
	/* exit_code: the status for a normal exit; 128 + signal for a signal death, as shells report it */
	ks_jw_ki64(w, "exit_code", exit_code);
	ks_jw_key(w, "unmapped");
	ks_jw_obj_begin(w);
	if (unknown)
		ks_jw_kcstr(w, "process_unknown",
		            "kansoku never saw this process start (it started while the daemon "
		            "was starting, or its records were lost): only its pid, start time "
		            "and exit are known");
	if (sig) {
		ks_jw_key(w, "signal");
		ks_jw_obj_begin(w);
		ks_jw_ku64(w, "number", sig);
		if (signame)
			ks_jw_kcstr(w, "name", signame);
		ks_jw_kbool(w, "core_dumped", (status & 0x80) != 0);
		ks_jw_obj_end(w);
	}
	ks_jw_ku64(w, "wait_status", status);
	if (x->hdr.tid != x->hdr.pid)
		ks_jw_ku64(w, "last_tid", x->hdr.tid);
	if (!unknown) {
		unmapped_proc(pl, p);
	} else {
		ks_jw_key(w, "cgroup");
		ks_jw_obj_begin(w);
		ks_jw_ku64(w, "id", p->cgroup_id);
		ks_jw_obj_end(w);
	}
	ks_jw_obj_end(w);
	if (!unknown) {
		observe_process(pl, p);
		ks_ocsf_observe(pl, "actor.user.name", KS_OCSF_OBS_USER_NAME, ks_users_name(pl->users, person));
	}
	ks_ocsf_end(pl);
	pl->counters.emitted_terminate++;
	ks_pipeline_emit(pl, KS_OCSF_PROCESS_ACTIVITY);
}

static int handle_exit(struct ks_pipeline *pl, const struct ks_exit *x)
{
	struct ks_proc *p = ks_proc_lookup(pl->procs, x->hdr.pid);

	/* Two threads ending at once can both see signal->live at 0 in the kernel: the process ended once. */
	if (p && p->start_ns == x->start_ns && p->exited_ns) {
		pl->counters.exit_duplicate++;
		return 0;
	}
	if (!p || p->start_ns != x->start_ns) {
		/* never seen (e.g. started in the gap before seeding): report what the kernel told us */
		struct ks_proc stub;

		memset(&stub, 0, sizeof(stub));
		stub.pid = x->hdr.pid;
		stub.start_ns = x->start_ns;
		stub.cgroup_id = x->hdr.cgroup_id;
		stub.creds.uid = stub.creds.loginuid = stub.creds.sessionid = KS_NO_ID;
		ks_proc_make_id(pl->host.boot_id, stub.pid, stub.start_ns, stub.id);
		pl->counters.exit_unknown++;
		emit_terminate(pl, &stub, x, true);
		return 0;
	}
	emit_terminate(pl, p, x, false);
	ks_proc_mark_exited(pl->procs, p->pid, p->start_ns, x->hdr.ts_ns);
	return 0;
}

int ks_process_handle(struct ks_pipeline *pl, const void *data, size_t size)
{
	const struct ks_hdr *h = data;
	struct ks_exec_view v;
	struct ks_proc *p;

	if (size < sizeof(*h) || h->version != KS_WIRE_VERSION || h->size > size || h->kind >= KS_EV_KIND_MAX) {
		pl->counters.malformed++;
		return -1;
	}
	pl->counters.received[h->kind]++;
	ks_proctable_touch(pl->procs);
	switch (h->kind) {
	case KS_EV_EXEC:
		if (ks_exec_decode(data, size, &v)) {
			pl->counters.malformed++;
			return -1;
		}
		p = apply_exec(pl, &v);
		if (p)
			emit_launch(pl, p, h->ts_ns);
		return 0;
	case KS_EV_FORK: {
		const struct ks_fork *f = data;

		if (h->size < sizeof(*f)) {
			pl->counters.malformed++;
			return -1;
		}
		ks_proc_fork(pl->procs, h->pid, f->start_ns, f->ppid, f->parent_start_ns);
		return 0;
	}
	case KS_EV_EXIT:
		if (h->size < sizeof(struct ks_exit)) {
			pl->counters.malformed++;
			return -1;
		}
		return handle_exit(pl, data);
	case KS_EV_PTRACE:
	case KS_EV_KMOD:
	case KS_EV_SETID: /* the security sensors share this ring buffer */
		return ks_security_handle(pl, data, size);
	default:
		pl->counters.malformed++;
		return -1;
	}
}

/* argv of a process that was running before us: the kernel keeps it in /proc/PID/cmdline. */
static size_t read_cmdline(const char *proc_root, uint32_t pid, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	size_t total = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%u/cmdline", proc_root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (total < len && (n = read(fd, buf + total, len - total)) > 0)
		total += (size_t)n;
	close(fd);
	return total;
}

int ks_process_seed(struct ks_pipeline *pl, const void *data, size_t size, const char *proc_root)
{
	static char args[KS_ARGV_MAX];
	struct ks_exec_view v;
	struct ks_proc *p;

	if (ks_exec_decode(data, size, &v)) {
		pl->counters.malformed++;
		return -1;
	}
	if (!(v.e->flags & KS_F_KTHREAD)) {
		v.img.args_len = read_cmdline(proc_root, v.e->hdr.pid, args, sizeof(args));
		v.img.args = args;
	}
	p = apply_exec(pl, &v);
	if (!p)
		return -1;
	p->seeded = true;
	pl->counters.received[KS_EV_SEED]++;
	p->argv_total = (uint32_t)v.img.args_len;
	pl->counters.seeded++;
	return 0;
}
