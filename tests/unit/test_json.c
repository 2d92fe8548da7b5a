/* core/json: valid documents, every rejection path, hostile inputs (deep
 * nesting, huge numbers, bad escapes, lone surrogates, embedded NUL,
 * truncation, invalid UTF-8), the writer's escaping and round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/json.h"

static struct json *parse(const char *s)
{
	char err[128];
	struct json *v = json_parse(s, strlen(s), err, sizeof(err));
	if (!v)
		fprintf(stderr, "parse(%s): %s\n", s, err);
	return v;
}

/* Parse must fail, and the message must contain `want`. */
static void reject_len(const char *s, size_t len, const char *want)
{
	char err[128] = "unset";
	struct json *v = json_parse(s, len, err, sizeof(err));
	if (v) {
		json_free(v);
		fail_msg("accepted: %.*s", (int)len, s);
	}
	if (!strstr(err, want))
		fail_msg("%.*s: error '%s', wanted '%s'", (int)len, s, err, want);
}

static void reject(const char *s, const char *want)
{
	reject_len(s, strlen(s), want);
}

/* Serialize v into a static-free heap string the caller frees. */
static char *dump(const struct json *v)
{
	struct json_buf b;
	json_buf_init(&b);
	assert_int_equal(json_write(&b, v), 0);
	assert_false(b.oom);
	return b.data;
}

static void test_scalars(void **state)
{
	(void)state;
	struct json *v = parse("  null ");
	assert_int_equal(json_type(v), JSON_NULL);
	json_free(v);
	v = parse("true");
	assert_true(json_get_bool(v));
	json_free(v);
	v = parse("false");
	assert_int_equal(json_type(v), JSON_BOOL);
	assert_false(json_get_bool(v));
	json_free(v);
	v = parse("-9223372036854775808");
	assert_int_equal(json_type(v), JSON_INT);
	assert_true(json_get_int(v) == INT64_MIN);
	json_free(v);
	v = parse("9223372036854775807");
	assert_true(json_get_int(v) == INT64_MAX);
	json_free(v);
	/* Past int64: a double, as QEMU keeps it. */
	v = parse("9223372036854775808");
	assert_int_equal(json_type(v), JSON_DOUBLE);
	assert_true(json_get_double(v) == 9223372036854775808.0);
	json_free(v);
	v = parse("-0.5e-3");
	assert_int_equal(json_type(v), JSON_DOUBLE);
	assert_true(fabs(json_get_double(v) + 0.0005) < 1e-12);
	json_free(v);
	v = parse("0");
	assert_int_equal(json_type(v), JSON_INT);
	assert_int_equal(json_get_int(v), 0);
	json_free(v);
	v = parse("1E+2");
	assert_true(json_get_double(v) == 100.0);
	json_free(v);
	/* Underflow is fine (tiny or zero), overflow is not. */
	v = parse("1e-400");
	assert_int_equal(json_type(v), JSON_DOUBLE);
	json_free(v);
	v = parse("\"x\"");
	assert_string_equal(json_get_str(v), "x");
	assert_null(json_at(v, 0));
	assert_int_equal(json_len(v), 0);
	json_free(v);
}

static void test_containers(void **state)
{
	(void)state;
	struct json *v = parse("{\"a\": [1, 2.5, \"s\", null, {}], \"b\": {\"c\": true}, \"\": []}");
	assert_non_null(v);
	assert_int_equal(json_type(v), JSON_OBJECT);
	assert_int_equal(json_len(v), 3);
	assert_string_equal(json_key_at(v, 0), "a");
	assert_string_equal(json_key_at(v, 2), "");
	assert_null(json_key_at(v, 3));
	struct json *a = json_get(v, "a");
	assert_int_equal(json_len(a), 5);
	assert_int_equal(json_get_int(json_at(a, 0)), 1);
	assert_true(json_get_double(json_at(a, 1)) == 2.5);
	assert_string_equal(json_get_str(json_at(a, 2)), "s");
	assert_int_equal(json_type(json_at(a, 3)), JSON_NULL);
	assert_int_equal(json_type(json_at(a, 4)), JSON_OBJECT);
	assert_null(json_at(a, 5));
	assert_true(json_get_bool(json_get(json_get(v, "b"), "c")));
	assert_null(json_get(v, "zz"));
	assert_null(json_get(a, "a")); /* not an object */
	assert_null(json_key_at(a, 0));
	char *s = dump(v);
	assert_string_equal(s, "{\"a\": [1, 2.5, \"s\", null, {}], \"b\": {\"c\": true}, \"\": []}");
	free(s);
	json_free(v);
	v = parse("[]");
	assert_int_equal(json_len(v), 0);
	json_free(v);
}

static void test_strings_and_escapes(void **state)
{
	(void)state;
	struct json *v = parse("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"");
	assert_string_equal(json_get_str(v), "\" \\ / \b \f \n \r \t");
	json_free(v);
	/* \u escapes to UTF-8, 1..3 bytes, and a surrogate pair to 4. */
	v = parse("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"");
	assert_string_equal(json_get_str(v), "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	json_free(v);
	/* Raw UTF-8 passes through; U+10FFFF is the last valid one. */
	v = parse("\"\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf\"");
	assert_string_equal(json_get_str(v), "\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf");
	json_free(v);
}

static void test_reject_syntax(void **state)
{
	(void)state;
	reject("", "expecting value");
	reject("   ", "expecting value");
	reject("nul", "expecting value");
	reject("True", "expecting value");
	reject("'a'", "expecting value"); /* QEMU's single quotes: not JSON */
	reject("[1,]", "expecting value");
	reject("[,1]", "expecting value");
	reject("{\"a\" 1}", "missing :");
	reject("{\"a\":1,}", "expecting value");
	reject("{1:2}", "expecting value");
	reject("[1 2]", "separator");
	reject("{\"a\":1 \"b\":2}", "separator");
	reject("1 2", "trailing");
	reject("{} x", "trailing");
	reject("[1]]", "trailing");
	reject("01", "trailing");
	reject("-", "expecting value");
	reject("1.", "invalid number");
	reject(".5", "expecting value");
	reject("1e", "invalid number");
	reject("1e+", "invalid number");
	reject("+1", "expecting value");
	reject("0x10", "trailing");
	reject("NaN", "expecting value");
	reject("Infinity", "expecting value");
}

static void test_reject_truncated(void **state)
{
	(void)state;
	const char *doc = "{\"execute\": \"balloon\", \"arguments\": {\"value\": [1, true, \"\\u00e9\"]}}";
	/* Every proper prefix is an error, never a crash or a partial value. */
	for (size_t n = 0; n < strlen(doc); n++) {
		char err[128];
		struct json *v = json_parse(doc, n, err, sizeof(err));
		assert_null(v);
		assert_true(err[0] != '\0');
	}
	struct json *v = json_parse(doc, strlen(doc), NULL, 0);
	assert_non_null(v);
	json_free(v);
	reject("\"abc", "unterminated");
	reject("\"abc\\", "unterminated");
	reject("\"\\u12", "unterminated");
}

static void test_reject_strings(void **state)
{
	(void)state;
	reject("\"\\x\"", "invalid escape");
	reject("\"\\u12G4\"", "invalid \\u escape");
	reject("\"\\u12\"", "invalid \\u escape");
	reject("\"\\U0041\"", "invalid escape");
	/* Lone and reversed surrogates. */
	reject("\"\\ud800\"", "\\ud800 is not a valid Unicode character");
	reject("\"\\ud800x\"", "not a valid Unicode");
	reject("\"\\ud800\\u0041\"", "not a valid Unicode");
	reject("\"\\udc00\\ud800\"", "\\udc00 is not a valid");
	reject("\"\\ude00\"", "not a valid Unicode");
	reject("\"\\ud800\\ud800\"", "not a valid Unicode");
	reject("\"\\u0000\"", "\\u0000");
	/* Raw control characters, embedded NUL included. */
	reject("\"a\tb\"", "control character");
	reject("\"a\nb\"", "control character");
	reject_len("\"a\0b\"", 5, "control character");
	reject_len("[1,\0 2]", 7, "expecting value");
	reject_len("{}\0", 3, "trailing");
	/* Invalid UTF-8: stray continuation, overlong, surrogates encoded,
	 * past U+10FFFF, truncated sequences, 0xFF. */
	reject("\"\x80\"", "invalid UTF-8");
	reject("\"\xc0\xaf\"", "invalid UTF-8");
	reject("\"\xc1\xbf\"", "invalid UTF-8");
	reject("\"\xe0\x80\xaf\"", "invalid UTF-8");
	reject("\"\xed\xa0\x80\"", "invalid UTF-8");
	reject("\"\xf0\x80\x80\xaf\"", "invalid UTF-8");
	reject("\"\xf4\x90\x80\x80\"", "invalid UTF-8");
	reject("\"\xf5\x80\x80\x80\"", "invalid UTF-8");
	reject("\"\xe2\x82\"", "invalid UTF-8");
	reject("\"\xe2\x82", "unterminated");
	reject("\"\xff\"", "invalid UTF-8");
	reject("\"\xc3\"", "invalid UTF-8");
}

static void test_duplicates(void **state)
{
	(void)state;
	reject("{\"a\":1,\"a\":2}", "duplicate key");
	reject("{\"a\":1,\"b\":{\"x\":1,\"x\":1}}", "duplicate key");
	/* "\u0061" is "a": duplicates are found after unescaping. */
	reject("{\"a\":1,\"\\u0061\":2}", "duplicate key");
	/* A big object goes through the sorted check. */
	char buf[4096];
	size_t n = 0;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{");
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\"k%d\":%d,", i, i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\"k7\":0}");
	reject(buf, "duplicate key");
	buf[n - 5] = '9'; /* "k9": a duplicate of the earlier k9 */
	reject(buf, "duplicate key");
	memcpy(buf + n - 6, "zz", 2); /* "zz": unique */
	struct json *v = parse(buf);
	assert_non_null(v);
	assert_int_equal(json_len(v), 201);
	assert_int_equal(json_get_int(json_get(v, "k199")), 199);
	json_free(v);
}

static void test_depth(void **state)
{
	(void)state;
	char buf[300];
	/* Exactly JSON_MAX_DEPTH levels parse; one more is refused. */
	memset(buf, '[', JSON_MAX_DEPTH);
	memset(buf + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
	struct json *v = json_parse(buf, 2 * JSON_MAX_DEPTH, NULL, 0);
	assert_non_null(v);
	char *s = dump(v);
	assert_int_equal(strlen(s), 2 * JSON_MAX_DEPTH);
	free(s);
	struct json *c = json_clone(v);
	assert_non_null(c);
	json_free(c);
	json_free(v);
	memset(buf, '[', JSON_MAX_DEPTH + 1);
	memset(buf + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
	reject_len(buf, 2 * (JSON_MAX_DEPTH + 1), "nesting too deep");
	/* Objects count too, and a truncated deep one is as cheap. */
	size_t n = 0;
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{\"a\":");
	reject_len(buf, n, "nesting too deep");

	/* A megabyte of '[' is refused by depth, without a deep stack. */
	size_t big = JSON_MAX_INPUT;
	char *deep = malloc(big + 1);
	memset(deep, '[', big + 1);
	reject_len(deep, big, "nesting too deep");
	reject_len(deep, big + 1, "input too large");
	free(deep);
}

static void test_numbers_hostile(void **state)
{
	(void)state;
	reject("1e400", "out of range");
	reject("-1e400", "out of range");
	/* A 300-digit integer is a (finite) double, but the token limit
	 * keeps strtod's work bounded. */
	char buf[400];
	memset(buf, '9', 300);
	buf[300] = '\0';
	reject(buf, "number too long");
	memset(buf, '9', 100);
	buf[100] = '\0';
	struct json *v = parse(buf);
	assert_int_equal(json_type(v), JSON_DOUBLE);
	assert_true(json_get_double(v) > 9e99);
	json_free(v);
	/* Not a NUL-terminated input: a number at the very end. */
	v = json_parse("12345", 3, NULL, 0);
	assert_int_equal(json_get_int(v), 123);
	json_free(v);
}

static void test_writer_escapes(void **state)
{
	(void)state;
	struct json_buf b;
	json_buf_init(&b);
	json_write_str(&b, "a\"b\\c\n\r\t\b\f\x01/\x7f");
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001/\\u007F\"");
	json_buf_reset(&b);
	/* Non-ASCII is escaped (QEMU's upper-case hex), astral as a pair. */
	json_write_str(&b, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_string_equal(b.data, "\"\\u00E9\\u20AC\\uD83D\\uDE00\"");
	json_buf_reset(&b);
	/* Host strings with invalid UTF-8 become U+FFFD, never raw bytes. */
	json_write_str(&b, "x\xff\xc3");
	assert_string_equal(b.data, "\"x\\uFFFD\\uFFFD\"");
	json_buf_reset(&b);
	json_write_str(&b, "\xed\xa0\x80");
	assert_string_equal(b.data, "\"\\uFFFD\\uFFFD\\uFFFD\"");
	json_buf_free(&b);
}

static void test_round_trip(void **state)
{
	(void)state;
	const char *docs[] = {
		"{\"execute\": \"balloon\", \"arguments\": {\"value\": 536870912}, \"id\": [1, \"x\"]}",
		"[-1, 0, 1.5, -9223372036854775808, true, false, null, \"\\u00E9\"]",
		"{\"a\": {\"b\": {\"c\": [[], {}]}}}",
		"1.5000000000000001e+300",
		/* Integral doubles stay doubles, -0.0 keeps its sign. */
		"[-0.0, 1.0, 1e+20, 9.2233720368547758e+18]",
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct json *v = parse(docs[i]);
		assert_non_null(v);
		char *s = dump(v);
		assert_string_equal(s, docs[i]);
		struct json *c = json_clone(v);
		char *s2 = dump(c);
		assert_string_equal(s2, docs[i]);
		free(s);
		free(s2);
		json_free(c);
		json_free(v);
	}
}

static void test_builders(void **state)
{
	(void)state;
	struct json *o = json_new_object();
	assert_int_equal(json_object_add(o, "n", json_new_int(-3)), 0);
	assert_int_equal(json_object_add(o, "d", json_new_double(0.25)), 0);
	struct json *a = json_new_array();
	for (int i = 0; i < 20; i++)
		assert_int_equal(json_array_add(a, json_new_bool(i & 1)), 0);
	assert_int_equal(json_object_add(o, "a", a), 0);
	assert_int_equal(json_object_add(o, "s", json_new_str("q\"")), 0);
	assert_int_equal(json_object_add(o, "z", json_new_null()), 0);
	/* Wrong container or missing value: refused, nothing leaked. */
	assert_int_equal(json_array_add(o, json_new_int(1)), -1);
	assert_int_equal(json_object_add(a, "k", json_new_int(1)), -1);
	assert_int_equal(json_object_add(o, "k", NULL), -1);
	char *s = dump(o);
	assert_non_null(strstr(s, "\"n\": -3, \"d\": 0.25, \"a\": [false, true"));
	assert_non_null(strstr(s, "\"s\": \"q\\\"\", \"z\": null}"));
	free(s);
	json_free(o);
	/* Non-finite doubles cannot be written as JSON. */
	struct json *inf = json_new_double(INFINITY);
	struct json_buf b;
	json_buf_init(&b);
	assert_int_equal(json_write(&b, inf), -1);
	json_buf_free(&b);
	json_free(inf);
	assert_string_equal(json_type_name(JSON_INT), "integer");
	assert_string_equal(json_type_name(JSON_ARRAY), "array");
}

static void test_buf(void **state)
{
	(void)state;
	struct json_buf b;
	json_buf_init(&b);
	for (int i = 0; i < 1000; i++)
		json_buf_printf(&b, "%04d", i);
	assert_int_equal(b.len, 4000);
	assert_memory_equal(b.data + 3996, "0999", 4);
	json_buf_consume(&b, 3996);
	assert_string_equal(b.data, "0999");
	json_buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	json_buf_put(&b, "ab", 2);
	assert_string_equal(b.data, "ab");
	json_buf_free(&b);
	assert_null(b.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_strings_and_escapes),
		cmocka_unit_test(test_reject_syntax),
		cmocka_unit_test(test_reject_truncated),
		cmocka_unit_test(test_reject_strings),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_numbers_hostile),
		cmocka_unit_test(test_writer_escapes),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_buf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
