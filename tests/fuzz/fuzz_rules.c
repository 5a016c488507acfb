// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for the rule loader and condition parser. The first byte picks the mode: odd, the
 * rest is a whole rule file; even, the rest is a condition placed in a rule next to a few lists and
 * macros (the parser is reached without YAML getting in the way). What loads is evaluated on two views.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

static const char prefix[] = "lists:\n  l1: [/etc/shadow, a, '1']\n  l2: [l1, /tmp/]\n"
                             "macros:\n  m1: file.path in (l1)\n  m2: m1 or process.pid > 3\n"
                             "rules:\n  - id: fz\n    title: fuzz %{file.path}\n    condition: |\n      ";

static void eval_some(struct ks_rules *r)
{
	static const char *lin[] = {"/usr/bin/bash", "/usr/sbin/sshd"};
	struct ks_rproc_id anc = {1, 1};
	struct ks_rview v;

	ks_rview_reset(&v);
	ks_rview_int(&v, KS_RF_CLASS_UID, 1001);
	ks_rview_int(&v, KS_RF_ACTIVITY_ID, 2);
	ks_rview_str(&v, KS_RF_ACTIVITY_NAME, "Read");
	ks_rview_str(&v, KS_RF_FILE_PATH, "/etc/shadow");
	ks_rview_str(&v, KS_RF_PROC_EXE, "/usr/bin/cat");
	ks_rview_int(&v, KS_RF_PROC_PID, 42);
	ks_rview_list(&v, KS_RF_PROC_LINEAGE, lin, 2);
	v.proc.pid = 42;
	v.proc.start_ns = 9;
	v.ancestors = &anc;
	v.n_ancestors = 1;
	ks_rules_eval(r, &v, 1000000000ull);
	ks_rview_reset(&v);
	ks_rview_int(&v, KS_RF_CLASS_UID, 4001);
	ks_rview_int(&v, KS_RF_ACTIVITY_ID, 1);
	ks_rview_ip_str(&v, KS_RF_DST_IP, "10.1.2.3");
	ks_rview_int(&v, KS_RF_DST_PORT, 3333);
	v.proc.pid = 43;
	v.proc.start_ns = 10;
	v.ancestors = &anc;
	v.n_ancestors = 1;
	ks_rules_eval(r, &v, 2000000000ull);
	ks_rules_proc_exit(r, 42, 9);
}

/* The condition as a block scalar: every line indented under `condition: |`. */
static char *wrap(const uint8_t *data, size_t size, size_t *len)
{
	char *s = malloc(sizeof(prefix) + 7 * size + 2), *o;
	size_t i;

	if (!s)
		return NULL;
	memcpy(s, prefix, sizeof(prefix) - 1);
	o = s + sizeof(prefix) - 1;
	for (i = 0; i < size; i++) {
		*o++ = (char)data[i];
		if (data[i] == '\n') {
			memcpy(o, "      ", 6);
			o += 6;
		}
	}
	*o++ = '\n';
	*len = (size_t)(o - s);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_rules_builder *b;
	struct ks_rules_err err;
	struct ks_rules *r;
	char *text = NULL;
	size_t len;

	if (!size)
		return 0;
	b = ks_rules_builder_new();
	if (!b)
		return 0;
	if (data[0] & 1) {
		text = malloc(size);
		if (text)
			memcpy(text, data + 1, size - 1);
		len = size - 1;
	} else {
		text = wrap(data + 1, size - 1, &len);
	}
	if (text && !ks_rules_add_text(b, "fuzz.yaml", text, len, &err)) {
		r = ks_rules_build(b, NULL, &err);
		if (r) {
			eval_some(r);
			ks_rules_free(r);
		}
	}
	free(text);
	ks_rules_builder_free(b);
	return 0;
}
