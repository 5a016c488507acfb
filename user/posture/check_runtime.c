// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The running system: listening sockets outside the allow-list, executables running from deleted or
 * writable files. Both re-run when the live model changes (a new listener, a new process). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "env.h"

static bool allowed(const struct ks_posture_cfg *cfg, const struct ks_listener *l)
{
	for (int i = 0; i < cfg->n_allowed; i++)
		if (cfg->allowed[i].port == l->port &&
		    (!cfg->allowed[i].proto[0] || !strcmp(cfg->allowed[i].proto, l->proto)))
			return true;
	return false;
}

static int listening_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	size_t n, open = 0;
	const struct ks_listener *l = ks_facts_listeners(e, &n);
	char list[256] = "";
	size_t off = 0;
	(void)params;

	for (int i = 0; i < e->cfg.n_allowed && off < sizeof(list); i++)
		off +=
		    (size_t)snprintf(list + off, sizeof(list) - off, "%s%s%s%u", i ? ", " : "", e->cfg.allowed[i].proto,
		                     e->cfg.allowed[i].proto[0] ? "/" : "", e->cfg.allowed[i].port);
	ks_result_expected(r, "only allowed ports listen%s: %s", e->cfg.ignore_loopback ? " (loopback excepted)" : "",
	                   list[0] ? list : "none");
	for (size_t i = 0; i < n; i++) {
		char key[96];

		if ((e->cfg.ignore_loopback && l[i].loopback) || allowed(&e->cfg, &l[i]))
			continue;
		open++;
		snprintf(key, sizeof(key), "%s/%s:%u", l[i].proto, l[i].addr, l[i].port);
		if (l[i].pid)
			ks_result_item(r, key, "%s %s port %u open by pid %u (%s)", l[i].proto, l[i].addr, l[i].port,
			               l[i].pid, l[i].comm[0] ? l[i].comm : "?");
		else
			ks_result_item(r, key, "%s %s port %u open", l[i].proto, l[i].addr, l[i].port);
	}
	if (!open)
		ks_result_actual(r, "%zu listening, all allowed", n);
	return open ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_listening = {"listening_ports", KS_TRIG_PORTS, NULL, listening_run, NULL};

/* One process's verdict: an item when its executable was deleted or replaced, is writable by group or
 * others, or sits in a world-writable directory. st: the executable as /proc/PID/exe reaches it. */
static void exe_verdict(struct ks_posture_env *e, uint32_t pid, const char *exe, struct ks_check_result *r)
{
	size_t len = strlen(exe);
	struct stat st, dst;
	char dir[4096];

	for (size_t j = 0; j < r->n_items; j++) /* one item per executable */
		if (!strcmp(r->items[j].key, exe))
			return;
	if (exe[0] != '/')
		return;
	if (len > 10 && !strcmp(exe + len - 10, " (deleted)")) {
		ks_result_item(r, exe, "pid %u runs %s: the file was deleted or replaced", pid, exe);
		return;
	}
	if (ks_root_stat(e, exe, &st, true))
		return; /* gone since the listing */
	snprintf(dir, sizeof(dir), "%s", exe);
	*strrchr(dir, '/') = 0;
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		ks_result_item(r, exe, "pid %u runs %s, mode %04o (writable by group or others)", pid, exe,
		               st.st_mode & 07777);
	else if (!ks_root_stat(e, dir[0] ? dir : "/", &dst, true) && (dst.st_mode & S_IWOTH))
		ks_result_item(r, exe, "pid %u runs %s from a world-writable directory", pid, exe);
}

static const char exe_expected[] = "every running executable is a file on disk that only root can change";

static int exe_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	size_t n;
	const struct ks_proc_exe *p = ks_facts_procs(e, &n);
	(void)params;

	ks_result_expected(r, "%s", exe_expected);
	ks_exe_cache_clear(e); /* a full pass looks again at everything */
	for (size_t i = 0; i < n; i++)
		exe_verdict(e, p[i].pid, p[i].exe, r);
	if (!r->n_items)
		ks_result_actual(r, "%zu processes checked", n);
	return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
}

/* Processes that just exec'd: one stat of /proc/PID/exe each; an executable already found safe (same
 * inode, unchanged since) is not looked at again, so an exec storm of one binary costs one stat per exec. */
static int exe_run_pids(struct ks_posture_env *e, struct json_object *params, const uint32_t *pids, size_t n,
                        struct ks_check_result *r)
{
	(void)params;

	ks_result_expected(r, "%s", exe_expected);
	for (size_t i = 0; e->live && i < n; i++) {
		char path[64], exe[4096];
		struct stat st;
		size_t before = r->n_items;

		snprintf(path, sizeof(path), "/proc/%u/exe", pids[i]);
		/* the magic link is followed here: openat2's RESOLVE_IN_ROOT refuses it, and root is "/" */
		if (stat(path, &st))
			continue; /* gone already, or a kernel thread */
		if (st.st_nlink && ks_exe_cache_safe(e, &st))
			continue;
		if (ks_root_readlink(e, path, exe, sizeof(exe)))
			continue;
		exe_verdict(e, pids[i], exe, r);
		if (r->n_items == before && st.st_nlink)
			ks_exe_cache_add(e, &st);
		if (e->yield_fn && !(i % 64))
			e->yield_fn(e->yield_ctx);
	}
	if (!r->n_items)
		ks_result_actual(r, "%zu new processes checked", n);
	return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_exe_unsafe = {"exe_unsafe", KS_TRIG_EXEC, NULL, exe_run, exe_run_pids};
