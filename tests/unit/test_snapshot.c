/* snapshot: the state-stream format round-trips every field kind and nested
 * sections; the reader refuses damaged, foreign, newer and inconsistent
 * streams with one line naming the section and field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/snapshot.h"

/* A stream the tests copy and damage. */
struct stream {
	uint8_t *buf;
	size_t len;
};

static struct stream build(void (*fill)(struct snap_w *))
{
	struct snap_w *w = snap_w_new();
	assert_non_null(w);
	fill(w);
	const uint8_t *b;
	size_t n;
	assert_int_equal(snap_w_finish(w, &b, &n), 0);
	struct stream s = { malloc(n), n };
	memcpy(s.buf, b, n);
	snap_w_free(w);
	return s;
}

static void fill_basic(struct snap_w *w)
{
	static const uint8_t blob[5] = { 1, 2, 3, 4, 5 };
	snap_w_begin(w, "dev", 2);
	snap_w_u8(w, "a", 0xab);
	snap_w_u16(w, "b", 0xbeef);
	snap_w_u32(w, "c", 0xdeadbeef);
	snap_w_u64(w, "d", 0x0123456789abcdefull);
	snap_w_bool(w, "on", true);
	snap_w_begin(w, "vq0", 1);
	snap_w_u16(w, "avail_idx", 7);
	snap_w_end(w);
	snap_w_bytes(w, "regs", blob, sizeof(blob));
	snap_w_blob(w, "ram", blob, 3);
	snap_w_end(w);
	snap_w_begin(w, "tail", 1);
	snap_w_end(w);
}

static struct snap_r *open_ok(const struct stream *s)
{
	struct snap_r *r;
	char err[128];
	assert_int_equal(snap_r_open(&r, s->buf, s->len, err, sizeof(err)), 0);
	return r;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct stream s = build(fill_basic);
	struct snap_r *r = open_ok(&s);
	uint32_t ver = 0;
	uint8_t a;
	uint16_t b, idx;
	uint32_t c;
	uint64_t d;
	bool on;
	uint8_t regs[5];
	const uint8_t *p;
	size_t n;
	assert_int_equal(snap_r_begin(r, "dev", 3, &ver), 0);
	assert_int_equal(ver, 2);
	snap_r_u8(r, "a", &a);
	snap_r_u16(r, "b", &b);
	snap_r_u32(r, "c", &c);
	snap_r_u64(r, "d", &d);
	snap_r_bool(r, "on", &on);
	assert_true(snap_r_next_is(r, "vq0"));
	assert_false(snap_r_next_is(r, "vq1"));
	snap_r_begin(r, "vq0", 1, NULL);
	snap_r_u16(r, "avail_idx", &idx);
	snap_r_end(r);
	snap_r_bytes(r, "regs", regs, sizeof(regs));
	assert_int_equal(snap_r_blob(r, "ram", &p, &n), 0);
	assert_int_equal(snap_r_end(r), 0);
	assert_int_equal(snap_r_skip(r), 0);
	assert_int_equal(snap_r_done(r), 0);
	assert_int_equal(snap_r_failed(r), 0);
	assert_string_equal(snap_r_error(r), "");
	assert_int_equal(a, 0xab);
	assert_int_equal(b, 0xbeef);
	assert_int_equal(c, 0xdeadbeef);
	assert_int_equal(d, 0x0123456789abcdefull);
	assert_true(on);
	assert_int_equal(idx, 7);
	assert_int_equal(regs[4], 5);
	assert_int_equal(n, 3);
	assert_int_equal(p[2], 3);
	snap_r_free(r);
	free(s.buf);
}

/* The error names the section path and the field. */
static void expect_err(struct snap_r *r, const char *want)
{
	assert_true(snap_r_failed(r) < 0);
	if (!strstr(snap_r_error(r), want))
		fail_msg("error '%s' lacks '%s'", snap_r_error(r), want);
	assert_null(strchr(snap_r_error(r), '\n'));
}

static void test_wrong_field_named(void **state)
{
	(void)state;
	struct stream s = build(fill_basic);
	struct snap_r *r = open_ok(&s);
	uint8_t a;
	uint32_t c;
	snap_r_begin(r, "dev", 2, NULL);
	snap_r_u8(r, "a", &a);
	/* Asking for c where b is stored. */
	assert_int_equal(snap_r_u32(r, "c", &c), -EINVAL);
	expect_err(r, "dev.c: found 'b'");
	/* Sticky: later calls fail too and keep the first error. */
	assert_int_equal(snap_r_u8(r, "a", &a), -EINVAL);
	assert_int_equal(snap_r_end(r), -EINVAL);
	expect_err(r, "dev.c");
	snap_r_free(r);

	r = open_ok(&s);
	snap_r_begin(r, "dev", 2, NULL);
	snap_r_u8(r, "a", &a);
	assert_int_equal(snap_r_u32(r, "b", &c), -EINVAL);
	expect_err(r, "dev.b: stored as u16, expected u32");
	snap_r_free(r);
	free(s.buf);
}

static void test_version_and_section(void **state)
{
	(void)state;
	struct stream s = build(fill_basic);
	struct snap_r *r = open_ok(&s);
	assert_int_equal(snap_r_begin(r, "dev", 1, NULL), -EINVAL);
	expect_err(r, "dev: section version 2");
	snap_r_free(r);

	r = open_ok(&s);
	assert_int_equal(snap_r_begin(r, "rtc", 1, NULL), -EINVAL);
	expect_err(r, "stream.rtc: found 'dev'");
	snap_r_free(r);
	free(s.buf);
}

static void test_unread_and_missing(void **state)
{
	(void)state;
	struct stream s = build(fill_basic);
	struct snap_r *r = open_ok(&s);
	uint8_t a;
	snap_r_begin(r, "dev", 2, NULL);
	snap_r_u8(r, "a", &a);
	assert_int_equal(snap_r_end(r), -EINVAL);
	expect_err(r, "dev: ");
	expect_err(r, "unread bytes");
	snap_r_free(r);

	r = open_ok(&s);
	snap_r_begin(r, "dev", 2, NULL);
	snap_r_skip(r); /* not a section here: "a" is a field */
	expect_err(r, "no section to skip");
	snap_r_free(r);

	r = open_ok(&s);
	snap_r_skip(r);
	snap_r_begin(r, "tail", 1, NULL);
	assert_int_equal(snap_r_u8(r, "x", &a), -EINVAL);
	expect_err(r, "tail.x: missing");
	snap_r_free(r);

	r = open_ok(&s);
	snap_r_skip(r);
	assert_int_equal(snap_r_done(r), -EINVAL);
	expect_err(r, "trailing section 'tail'");
	snap_r_free(r);
	free(s.buf);
}

static void test_bytes_length(void **state)
{
	(void)state;
	struct stream s = build(fill_basic);
	struct snap_r *r = open_ok(&s);
	uint8_t a, regs[4];
	uint16_t b;
	uint32_t c;
	uint64_t d;
	bool on;
	snap_r_begin(r, "dev", 2, NULL);
	snap_r_u8(r, "a", &a);
	snap_r_u16(r, "b", &b);
	snap_r_u32(r, "c", &c);
	snap_r_u64(r, "d", &d);
	snap_r_bool(r, "on", &on);
	snap_r_skip(r);
	assert_int_equal(snap_r_bytes(r, "regs", regs, sizeof(regs)), -EINVAL);
	expect_err(r, "dev.regs: 5 bytes, expected 4");
	snap_r_free(r);
	free(s.buf);
}

static void fill_nested(struct snap_w *w)
{
	snap_w_begin(w, "dev", 1);
	snap_w_begin(w, "vq0", 1);
	snap_w_u16(w, "avail_idx", 9);
	snap_w_end(w);
	snap_w_end(w);
}

static void test_check(void **state)
{
	(void)state;
	struct stream s = build(fill_nested);
	struct snap_r *r = open_ok(&s);
	uint16_t idx;
	snap_r_begin(r, "dev", 2, NULL);
	snap_r_begin(r, "vq0", 1, NULL);
	snap_r_u16(r, "avail_idx", &idx);
	assert_int_equal(snap_r_check(r, true, "avail_idx", "fine"), 0);
	assert_int_equal(snap_r_check(r, false, "avail_idx",
				      "beyond queue size 4"), -EINVAL);
	expect_err(r, "dev/vq0.avail_idx: beyond queue size 4");
	snap_r_free(r);
	free(s.buf);
}

static void expect_open_err(const uint8_t *buf, size_t len, const char *want)
{
	struct snap_r *r = (struct snap_r *)1;
	char err[128] = "";
	assert_true(snap_r_open(&r, buf, len, err, sizeof(err)) < 0);
	assert_null(r);
	if (!strstr(err, want))
		fail_msg("open error '%s' lacks '%s'", err, want);
}

static void test_header(void **state)
{
	(void)state;
	struct stream s = build(fill_basic);
	uint8_t *c = malloc(s.len);
	expect_open_err(s.buf, 10, "truncated");
	expect_open_err(s.buf, s.len - 1, "length");
	memcpy(c, s.buf, s.len);
	c[s.len - 1] ^= 1;
	expect_open_err(c, s.len, "checksum");
	memcpy(c, s.buf, s.len);
	c[0] = 'X';
	expect_open_err(c, s.len, "bad magic");
	memcpy(c, "QEVM\0\0\0\3", 8);
	expect_open_err(c, s.len, "QEMU migration stream");
	memcpy(c, s.buf, s.len);
	c[8] = 2;
	snap_reseal(c, s.len);
	expect_open_err(c, s.len, "format version 2");
	memcpy(c, s.buf, s.len);
	c[12] = 1;
	snap_reseal(c, s.len);
	expect_open_err(c, s.len, "flags");
	/* Resealing an untouched copy yields an identical stream. */
	memcpy(c, s.buf, s.len);
	snap_reseal(c, s.len);
	assert_memory_equal(c, s.buf, s.len);
	free(c);
	free(s.buf);
}

/* A hostile length inside the payload is caught by bounds, not by luck:
 * every byte position is flipped (and the checksum fixed up), and a full
 * read must either succeed or fail with a message; ASan checks bounds. */
static void read_all(struct snap_r *r)
{
	uint8_t a, regs[5];
	uint16_t b;
	uint32_t c;
	uint64_t d;
	bool on;
	const uint8_t *p;
	size_t n;
	snap_r_begin(r, "dev", 2, NULL);
	snap_r_u8(r, "a", &a);
	snap_r_u16(r, "b", &b);
	snap_r_u32(r, "c", &c);
	snap_r_u64(r, "d", &d);
	snap_r_bool(r, "on", &on);
	snap_r_next_is(r, "vq0");
	snap_r_begin(r, "vq0", 1, NULL);
	snap_r_u16(r, "avail_idx", &b);
	snap_r_end(r);
	snap_r_bytes(r, "regs", regs, sizeof(regs));
	snap_r_blob(r, "ram", &p, &n);
	snap_r_end(r);
	snap_r_skip(r);
	snap_r_done(r);
}

static void test_every_byte_flipped(void **state)
{
	(void)state;
	struct stream s = build(fill_basic);
	uint8_t *c = malloc(s.len);
	unsigned failed = 0;
	for (size_t i = 32; i < s.len; i++) {
		for (unsigned bit = 0; bit < 8; bit += 3) {
			memcpy(c, s.buf, s.len);
			c[i] ^= (uint8_t)(1u << bit);
			snap_reseal(c, s.len);
			struct snap_r *r = open_ok(&(struct stream){ c, s.len });
			read_all(r);
			if (snap_r_failed(r)) {
				failed++;
				assert_true(strlen(snap_r_error(r)) > 0);
			}
			snap_r_free(r);
		}
	}
	/* Most flips land in names, kinds and lengths, which must fail. */
	assert_true(failed > (s.len - 32));
	free(c);
	free(s.buf);
}

static void test_writer_errors(void **state)
{
	(void)state;
	const uint8_t *b;
	size_t n;
	struct snap_w *w = snap_w_new();
	snap_w_begin(w, "open", 1);
	assert_int_equal(snap_w_finish(w, &b, &n), -EINVAL);
	snap_w_free(w);

	w = snap_w_new();
	snap_w_end(w);
	assert_int_equal(snap_w_finish(w, &b, &n), -EINVAL);
	snap_w_free(w);

	w = snap_w_new();
	snap_w_u8(w, "", 1);
	assert_int_equal(snap_w_finish(w, &b, &n), -EINVAL);
	snap_w_free(w);

	w = snap_w_new();
	snap_w_begin(w, "v0", 0); /* versions start at 1 */
	assert_int_equal(snap_w_finish(w, &b, &n), -EINVAL);
	snap_w_free(w);

	w = snap_w_new();
	for (unsigned i = 0; i <= SNAP_MAX_DEPTH; i++)
		snap_w_begin(w, "deep", 1);
	assert_int_equal(snap_w_finish(w, &b, &n), -EINVAL);
	snap_w_free(w);
}

static void test_large_blob(void **state)
{
	(void)state;
	size_t big = (8u << 20) + 13;
	uint8_t *ram = malloc(big);
	for (size_t i = 0; i < big; i++)
		ram[i] = (uint8_t)(i * 7 + (i >> 12));
	struct snap_w *w = snap_w_new();
	snap_w_begin(w, "ram", 1);
	snap_w_blob(w, "bytes", ram, big);
	snap_w_end(w);
	const uint8_t *b;
	size_t n;
	assert_int_equal(snap_w_finish(w, &b, &n), 0);
	struct snap_r *r;
	char err[128];
	assert_int_equal(snap_r_open(&r, b, n, err, sizeof(err)), 0);
	const uint8_t *p;
	size_t got;
	snap_r_begin(r, "ram", 1, NULL);
	assert_int_equal(snap_r_blob(r, "bytes", &p, &got), 0);
	assert_int_equal(got, big);
	assert_memory_equal(p, ram, big);
	assert_int_equal(snap_r_end(r), 0);
	assert_int_equal(snap_r_done(r), 0);
	snap_r_free(r);
	snap_w_free(w);
	free(ram);
}

static void test_hash_vectors(void **state)
{
	(void)state;
	/* XXH64 reference values, seed 0. */
	assert_int_equal(snap_hash64((const uint8_t *)"", 0, 0),
			 0xEF46DB3751D8E999ull);
	assert_int_equal(snap_hash64((const uint8_t *)"a", 1, 0),
			 0xD24EC4F1A98C6E5Bull);
	assert_int_equal(snap_hash64((const uint8_t *)"abc", 3, 0),
			 0x44BC2CF5AD770999ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_wrong_field_named),
		cmocka_unit_test(test_version_and_section),
		cmocka_unit_test(test_unread_and_missing),
		cmocka_unit_test(test_bytes_length),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_every_byte_flipped),
		cmocka_unit_test(test_writer_errors),
		cmocka_unit_test(test_large_blob),
		cmocka_unit_test(test_hash_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
