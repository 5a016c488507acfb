// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The posture environment: the root every file is read through and the facts cached per run. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"

/* ---- the environment ---- */

struct ks_posture_env *ks_posture_env_new(const struct ks_posture_cfg *cfg, char *err, size_t errlen)
{
	struct ks_posture_env *e = calloc(1, sizeof(*e));
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

void ks_posture_env_forget_live(struct ks_posture_env *e)
{
	for (size_t i = 0; i < e->n_procs; i++)
		free(e->procs[i].exe);
	free(e->procs);
	e->procs = NULL;
	e->n_procs = 0;
	e->procs_loaded = false;
	free(e->listeners);
	e->listeners = NULL;
	e->n_listeners = 0;
	e->listeners_loaded = false;
}

void ks_posture_env_invalidate(struct ks_posture_env *e, bool walk)
{
	tab_free(&e->passwd);
	tab_free(&e->group);
	tab_free(&e->shadow);
	if (walk)
		ks_walk_free(&e->walk);
	ks_posture_env_forget_live(e);
	json_object_put(e->sshd);
	e->sshd = NULL;
	e->sshd_loaded = false;
	e->os_loaded = false;
}

void ks_posture_env_free(struct ks_posture_env *e)
{
	if (!e)
		return;
	ks_posture_env_invalidate(e, true);
	free(e->model_listeners);
	close(e->rootfd);
	free(e);
}

void ks_posture_env_set_model_listeners(struct ks_posture_env *e, struct ks_listener *v, size_t n)
{
	free(e->model_listeners);
	e->model_listeners = v;
	e->n_model_listeners = n;
	e->listeners_loaded = false;
}

void ks_posture_env_set_device(struct ks_posture_env *e, const char *uid, const char *source)
{
	snprintf(e->device_uid, sizeof(e->device_uid), "%s", uid);
	snprintf(e->device_uid_source, sizeof(e->device_uid_source), "%s", source);
}

void ks_posture_env_set_yield(struct ks_posture_env *e, void (*fn)(void *), void *ctx)
{
	e->yield_fn = fn;
	e->yield_ctx = ctx;
}
