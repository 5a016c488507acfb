/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A pipeline writing to a file output in a temp dir, for the unit tests of the encoders. */
#ifndef KS_TEST_PIPELINE_FIXTURE_H
#define KS_TEST_PIPELINE_FIXTURE_H

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "sensors/net.h"
#include "outputs/outputs.h"
#include "pipeline/pipeline.h"
#include "model/proctable.h"
#include "host/users.h"

struct fixture {
	struct ks_pipeline pl;
	struct ks_outputs *outs; /* the pipeline's one sink */
	char dir[64];
	char events[128];
};

/* Every event written so far (the output flushed first), parsed, in order: of class_a or class_b only,
 * unless both are 0. NULL when the output file cannot be read or a line is not JSON. */
static inline struct json_object *fixture_written(struct fixture *f, int64_t class_a, int64_t class_b)
{
	struct json_object *arr = json_object_new_array(), *o, *cls;
	char *line = NULL;
	size_t cap = 0;
	FILE *fp;

	ks_outputs_flush(f->outs);
	fp = fopen(f->events, "r");
	if (!fp) {
		json_object_put(arr);
		return NULL;
	}
	while (arr && getline(&line, &cap, fp) > 0) {
		if (!(o = json_tokener_parse(line))) {
			json_object_put(arr);
			arr = NULL;
			break;
		}
		if ((!class_a && !class_b) ||
		    (json_object_object_get_ex(o, "class_uid", &cls) &&
		     (json_object_get_int64(cls) == class_a || json_object_get_int64(cls) == class_b)))
			json_object_array_add(arr, o);
		else
			json_object_put(o);
	}
	free(line);
	fclose(fp);
	return arr;
}

static void fixture_sink(void *ctx, int class_uid, const char *line, size_t len)
{
	(void)class_uid;
	ks_outputs_write(ctx, line, len);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ks_config cfg;
	char err[256], passwd[160];
	FILE *pw;

	snprintf(f->dir, sizeof(f->dir), "/tmp/ks-unit-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->events, sizeof(f->events), "%s/events.json", f->dir);
	snprintf(passwd, sizeof(passwd), "%s/passwd", f->dir);
	pw = fopen(passwd, "w");
	fputs("root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n", pw);
	fclose(pw);
	ks_config_defaults(&cfg);
	snprintf(cfg.outputs[0].path, sizeof(cfg.outputs[0].path), "%s", f->events);
	snprintf(f->pl.host.boot_id, sizeof(f->pl.host.boot_id), "boot");
	snprintf(f->pl.host.machine_id, sizeof(f->pl.host.machine_id), "machine");
	snprintf(f->pl.host.hostname, sizeof(f->pl.host.hostname), "host");
	f->pl.users = ks_users_new(passwd);
	f->pl.procs = ks_proctable_new("boot");
	f->outs = ks_outputs_open(&cfg, err, sizeof(err));
	assert_non_null(f->outs);
	assert_int_equal(ks_pipeline_add_sink(&f->pl, "outputs", fixture_sink, f->outs), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	ks_outputs_close(f->outs);
	ks_proctable_free(f->pl.procs);
	ks_users_free(f->pl.users);
	ks_jw_free(&f->pl.jw);
	ks_netmodel_free(f->pl.net);
	free(f->pl.device_json);
	ks_pipeline_free_actors(&f->pl);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The last event written, parsed. */
static struct json_object *last_event(struct fixture *f)
{
	static char buf[1 << 16];
	FILE *fp;
	char *line = NULL, *last = NULL;

	ks_outputs_flush(f->outs);
	fp = fopen(f->events, "r");
	assert_non_null(fp);
	while (fgets(buf, sizeof(buf), fp)) {
		free(last);
		last = strdup(buf);
	}
	fclose(fp);
	assert_non_null(last);
	line = last;
	{
		struct json_object *o = json_tokener_parse(line);

		free(last);
		assert_non_null(o);
		return o;
	}
}

static struct json_object *get(struct json_object *o, const char *path)
{
	char key[64];
	const char *p = path;

	while (o && *p) {
		size_t n = strcspn(p, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		if (json_object_is_type(o, json_type_array)) /* "observables.0.name" */
			o = json_object_array_get_idx(o, (size_t)atoi(key));
		else if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		p += n;
		if (*p == '.')
			p++;
	}
	return o;
}

static const char *gets_(struct json_object *o, const char *path)
{
	struct json_object *v = get(o, path);

	return v ? json_object_get_string(v) : "(missing)";
}

#endif
