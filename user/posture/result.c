// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Check results, parameters, and the names of areas and statuses (severities are config's). */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"

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
