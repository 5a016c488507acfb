// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The JSON writer and its escaper: whatever bytes come in, a valid JSON document comes out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "lib/json.h"

/* Encode s as a JSON string with the writer and parse it back with json-c (strict). */
static char *roundtrip(const char *s, size_t n)
{
	static char out[4096];
	struct ks_jw w;
	struct json_object *o;
	struct json_tokener *tok = json_tokener_new_ex(4);

	ks_jw_init(&w);
	ks_jw_str(&w, s, n);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, w.buf, (int)w.len);
	assert_non_null(o);
	assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
	assert_true(json_object_is_type(o, json_type_string));
	snprintf(out, sizeof(out), "%s", json_object_get_string(o));
	json_object_put(o);
	json_tokener_free(tok);
	ks_jw_free(&w);
	return out;
}

static void test_plain_and_utf8_pass_through(void **state)
{
	(void)state;
	assert_string_equal(roundtrip("hello", 5), "hello");
	assert_string_equal(roundtrip("観測 ✓ 😀", strlen("観測 ✓ 😀")), "観測 ✓ 😀");
	assert_string_equal(roundtrip("", 0), "");
}

static void test_quotes_backslashes_controls(void **state)
{
	const char in[] = "a\"b\\c\nd\re\tf\x01g\x1fh\x7fi";
	char esc[128];
	size_t n;

	(void)state;
	assert_string_equal(roundtrip(in, sizeof(in) - 1), in);
	n = ks_json_escape(esc, sizeof(esc), in, sizeof(in) - 1);
	esc[n] = '\0';
	assert_string_equal(esc, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001fh\\u007fi\"");
	/* no raw newline can ever break a line-oriented stream */
	assert_null(memchr(esc, '\n', n));
}

static void test_nul_bytes_are_escaped(void **state)
{
	char esc[64];
	size_t n = ks_json_escape(esc, sizeof(esc), "a\0b", 3);

	(void)state;
	esc[n] = '\0';
	assert_string_equal(esc, "\"a\\u0000b\"");
}

static void test_invalid_utf8_becomes_replacement(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} cases[] = {
	    {"\xff", 1, "\xef\xbf\xbd"},                                                 /* never valid */
	    {"a\x80z", 3, "a\xef\xbf\xbdz"},                                             /* lone continuation */
	    {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},                                 /* overlong '/' */
	    {"\xe0\x80\xaf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong 3-byte */
	    {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},                 /* UTF-16 surrogate */
	    {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
	    {"\xe6\xbc", 2, "\xef\xbf\xbd\xef\xbf\xbd"},                                 /* cut multi-byte at the end */
	    {"\xe6\xbcx", 3, "\xef\xbf\xbd\xef\xbf\xbdx"},                               /* cut multi-byte mid-string */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_false(ks_utf8_valid(cases[i].in, cases[i].n));
		assert_string_equal(roundtrip(cases[i].in, cases[i].n), cases[i].out);
	}
	assert_true(ks_utf8_valid("観測", strlen("観測")));
	assert_true(ks_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF itself is valid */
}

static void test_every_byte_value(void **state)
{
	char all[256];
	int i;

	(void)state;
	for (i = 0; i < 256; i++)
		all[i] = (char)i;
	roundtrip(all, sizeof(all)); /* asserts it parses as strict JSON with valid UTF-8 */
}

static void test_writer_structure_and_commas(void **state)
{
	struct ks_jw w;
	struct json_object *o, *v;

	(void)state;
	ks_jw_init(&w);
	ks_jw_obj_begin(&w);
	ks_jw_ku64(&w, "a", 1);
	ks_jw_key(&w, "list");
	ks_jw_arr_begin(&w);
	ks_jw_cstr(&w, "x");
	ks_jw_u64(&w, 2);
	ks_jw_obj_begin(&w);
	ks_jw_obj_end(&w);
	ks_jw_arr_end(&w);
	ks_jw_ki64(&w, "neg", -5);
	ks_jw_kbool(&w, "t", true);
	ks_jw_key(&w, "hex");
	ks_jw_hex(&w, "\x00\xff", 2);
	ks_jw_key(&w, "raw");
	ks_jw_json(&w, "{\"k\":[1]}", 9);
	ks_jw_obj_end(&w);
	assert_string_equal(
	    w.buf, "{\"a\":1,\"list\":[\"x\",2,{}],\"neg\":-5,\"t\":true,\"hex\":\"00ff\",\"raw\":{\"k\":[1]}}");
	o = json_tokener_parse(w.buf);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "neg", &v));
	assert_int_equal(json_object_get_int(v), -5);
	json_object_put(o);

	/* reset reuses the buffer */
	ks_jw_reset(&w);
	ks_jw_obj_begin(&w);
	ks_jw_obj_end(&w);
	assert_string_equal(w.buf, "{}");
	ks_jw_free(&w);
}

static void test_large_string_grows_buffer(void **state)
{
	static char big[20000];
	struct ks_jw w;

	(void)state;
	memset(big, '\n', sizeof(big)); /* worst-case expansion */
	ks_jw_init(&w);
	ks_jw_str(&w, big, sizeof(big));
	assert_false(w.oom);
	assert_int_equal(w.len, sizeof(big) * 2 + 2);
	ks_jw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_and_utf8_pass_through),
	    cmocka_unit_test(test_quotes_backslashes_controls),
	    cmocka_unit_test(test_nul_bytes_are_escaped),
	    cmocka_unit_test(test_invalid_utf8_becomes_replacement),
	    cmocka_unit_test(test_every_byte_value),
	    cmocka_unit_test(test_writer_structure_and_commas),
	    cmocka_unit_test(test_large_string_grows_buffer),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
