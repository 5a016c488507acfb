// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The JSON writer and its escaper: whatever bytes come in, a valid JSON document comes out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
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

/* Decimal against printf: every length boundary (10^k - 1, 10^k, 10^k + 1), 0 and the extremes, and a
 * spread of values of every size. */
static void test_decimal_formatting_matches_printf(void **state)
{
	char got[21], want[32];
	uint64_t p = 1, x = 0x9e3779b97f4a7c15ull;
	int k, d;

	(void)state;
	for (k = 0; k < 20; k++, p *= 10)
		for (d = -1; d <= 1; d++) {
			uint64_t v = p + (uint64_t)(int64_t)d;

			snprintf(want, sizeof(want), "%" PRIu64, v);
			assert_int_equal(ks_fmt_u64(got, v), strlen(want));
			assert_string_equal(got, want);
		}
	assert_int_equal(ks_fmt_u64(got, 0), 1);
	assert_string_equal(got, "0");
	assert_int_equal(ks_fmt_u64(got, UINT64_MAX), 20);
	assert_string_equal(got, "18446744073709551615");
	for (k = 0; k < 100000; k++) {
		x ^= x << 13; /* xorshift: values of every bit length */
		x ^= x >> 7;
		x ^= x << 17;
		snprintf(want, sizeof(want), "%" PRIu64, x >> (k % 64));
		assert_int_equal(ks_fmt_u64(got, x >> (k % 64)), strlen(want));
		assert_string_equal(got, want);
	}
}

static void test_signed_formatting(void **state)
{
	static const int64_t cases[] = {
	    0, 1, -1, 9, -9, 10, -10, 99999999, -100000000, 1764633600001, INT64_MAX, INT64_MIN, INT64_MIN + 1};
	char got[21], want[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(want, sizeof(want), "%" PRId64, cases[i]);
		assert_int_equal(ks_fmt_i64(got, cases[i]), strlen(want));
		assert_string_equal(got, want);
	}
	assert_string_equal(got, "-9223372036854775807");
	ks_fmt_i64(got, INT64_MIN);
	assert_string_equal(got, "-9223372036854775808"); /* 20 characters and the NUL: the whole buffer */
}

static void test_hex_formatting(void **state)
{
	char got[17];

	(void)state;
	ks_fmt_hex64(got, 0);
	assert_string_equal(got, "0000000000000000");
	ks_fmt_hex64(got, UINT64_MAX);
	assert_string_equal(got, "ffffffffffffffff");
	ks_fmt_hex64(got, 0x0123456789abcdefull);
	assert_string_equal(got, "0123456789abcdef");
	ks_fmt_hex64(got, 0xf00000000000000aull);
	assert_string_equal(got, "f00000000000000a");
}

/* Numbers through the writer: in place, with the commas, negative and extreme values. */
static void test_writer_numbers(void **state)
{
	struct ks_jw w;

	(void)state;
	ks_jw_init(&w);
	ks_jw_obj_begin(&w);
	ks_jw_ku64(&w, "max", UINT64_MAX);
	ks_jw_ku64(&w, "zero", 0);
	ks_jw_ki64(&w, "min", INT64_MIN);
	ks_jw_ki64(&w, "neg", -128);
	ks_jw_kbool(&w, "f", false);
	ks_jw_key(&w, "a");
	ks_jw_arr_begin(&w);
	ks_jw_u64(&w, 7);
	ks_jw_i64(&w, -7);
	ks_jw_bool(&w, true);
	ks_jw_arr_end(&w);
	ks_jw_obj_end(&w);
	assert_string_equal(w.buf, "{\"max\":18446744073709551615,\"zero\":0,\"min\":-9223372036854775808,"
	                           "\"neg\":-128,\"f\":false,\"a\":[7,-7,true]}");
	assert_int_equal(w.len, strlen(w.buf));
	ks_jw_free(&w);
}

/* The word-at-a-time scan finds the first byte needing care wherever it is, whatever its value: every
 * byte value at every offset of strings of several lengths, against the byte table's answer. */
static void test_plain_run_scan_every_byte_and_offset(void **state)
{
	char s[40];
	size_t len, at, want;
	int b;

	(void)state;
	for (len = 0; len <= sizeof(s); len++) {
		memset(s, 'a', sizeof(s));
		assert_int_equal(ks_json_plain_len(s, len), len);
		for (at = 0; at < len; at++)
			for (b = 0; b < 256; b++) {
				bool plain = b >= 0x20 && b < 0x7f && b != '"' && b != '\\';

				memset(s, b % 2 ? '~' : ' ', sizeof(s)); /* the edges of the printable range */
				s[at] = (char)b;
				want = plain ? len : at;
				assert_int_equal(ks_json_plain_len(s, len), want);
			}
	}
}

/* Strings through the writer: a plain prefix copied, then the escapes, UTF-8 kept, control bytes and
 * invalid bytes replaced, in the same bytes as the escaper alone writes. */
static void test_writer_strings_match_the_escaper(void **state)
{
	static const struct {
		const char *in;
		size_t n;
	} cases[] = {
	    {"", 0},
	    {"/usr/bin/true", 13},
	    {"0123456789abcdef0123456789abcdef", 32},
	    {"long plain prefix then a \"quote\"", 32},
	    {"tab\tand\\backslash in the middle of a line", 41},
	    {"\x01\x02\x1f\x7f", 4},
	    {"\xe8\xa6\xb3\xe6\xb8\xac \xf0\x9f\x98\x80 ok", 14},
	    {"ends with an invalid byte \xff", 27},
	    {"nul\0inside", 11},
	};
	char esc[512];
	struct ks_jw w;
	size_t i, n;

	(void)state;
	ks_jw_init(&w);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ks_jw_reset(&w);
		ks_jw_obj_begin(&w);
		ks_jw_kstr(&w, "k", cases[i].in, cases[i].n);
		ks_jw_obj_end(&w);
		n = ks_json_escape(esc, sizeof(esc), cases[i].in, cases[i].n);
		assert_int_equal(w.len, n + 6);
		assert_memory_equal(w.buf + 5, esc, n);
		assert_int_equal(w.buf[w.len], '\0');
		roundtrip(cases[i].in, cases[i].n); /* and strict JSON with valid UTF-8 */
	}
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
	    cmocka_unit_test(test_decimal_formatting_matches_printf),
	    cmocka_unit_test(test_signed_formatting),
	    cmocka_unit_test(test_hex_formatting),
	    cmocka_unit_test(test_writer_numbers),
	    cmocka_unit_test(test_plain_run_scan_every_byte_and_offset),
	    cmocka_unit_test(test_writer_strings_match_the_escaper),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
