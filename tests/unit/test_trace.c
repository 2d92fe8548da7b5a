/* core/trace: the file format round trip (writer -> reader, header,
 * device tree with vmm,argv, records and payloads), the size limit, and
 * every way a hostile or damaged trace file is rejected with a message
 * that says what is wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/trace.h"

struct tbuf {
	uint8_t *p;
	size_t len;
};

static char *tmp_path(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/test_trace_%d_XXXXXX", (int)getpid());
	int fd = mkstemp(buf);
	assert_true(fd >= 0);
	close(fd);
	return buf;
}

static struct tbuf slurp(const char *path)
{
	struct tbuf b = { NULL, 0 };
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	b.len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	b.p = malloc(b.len ? b.len : 1);
	assert_non_null(b.p);
	assert_int_equal(fread(b.p, 1, b.len, f), b.len);
	fclose(f);
	return b;
}

/* A tiny valid device tree with vmm,argv. */
static void *mk_dtb(uint32_t *size)
{
	static const char argv[] = "vmm\0-machine\0microvm,accel=sim";
	void *fdt = calloc(1, 4096);
	assert_int_equal(fdt_create_empty_tree(fdt, 4096), 0);
	assert_int_equal(fdt_setprop(fdt, 0, "vmm,argv", argv, sizeof(argv)), 0);
	assert_int_equal(fdt_pack(fdt), 0);
	*size = fdt_totalsize(fdt);
	return fdt;
}

/* A writer on a fresh temp file (its name in path) with mk_dtb's tree. */
static struct trace_writer *new_writer(char *path, size_t plen, uint32_t flags,
				       uint64_t limit)
{
	char err[256];
	uint32_t dsize;
	void *dtb = mk_dtb(&dsize);
	tmp_path(path, plen);
	struct trace_writer *w = trace_writer_open(path, dtb, dsize, flags, limit,
						   err, sizeof(err));
	free(dtb);
	if (!w)
		print_error("trace_writer_open: %s\n", err);
	assert_non_null(w);
	return w;
}

/* A well-formed trace with one of most record shapes. */
static struct tbuf mk_trace(uint64_t limit, char *path, size_t plen)
{
	char err[256];
	struct trace_writer *w = new_writer(path, plen, TRACE_F_KVM, limit);
	struct trace_ev e;
	memset(&e, 0, sizeof(e));
	e = (struct trace_ev){ .kind = TR_HOST, .a = 1000, .b = 3600 };
	trace_writer_add(w, &e, NULL);
	e = (struct trace_ev){ .kind = TR_BACKEND, .unit = 0, .a = TRACE_BK_BLOCK,
			       .b = 4096, .size = 2 };
	trace_writer_add(w, &e, "d0");
	e = (struct trace_ev){ .kind = TR_START };
	trace_writer_add(w, &e, NULL);
	e = (struct trace_ev){ .kind = TR_GM_READ, .a = 0x1000, .size = 3 };
	trace_writer_add(w, &e, "abc");
	e = (struct trace_ev){ .kind = TR_BUS, .unit = 0, .a = 0x3f8, .b = 1,
			       .d = 1, .size = 1 };
	trace_writer_add(w, &e, "A");
	e = (struct trace_ev){ .kind = TR_TIMER_BEGIN, .a = 2, .b = 777 };
	trace_writer_add(w, &e, NULL);
	e = (struct trace_ev){ .kind = TR_IRQ, .a = 4, .b = 1 };
	trace_writer_add(w, &e, NULL);
	e = (struct trace_ev){ .kind = TR_END };
	trace_writer_add(w, &e, NULL);
	e = (struct trace_ev){ .kind = TR_BLK_READ, .unit = 0, .a = 0, .b = 5,
			       .size = 5 };
	trace_writer_add2(w, &e, "he", 2, "llo", 3);
	assert_int_equal(trace_writer_close(w, err, sizeof(err)), 0);
	return slurp(path);
}

static void test_round_trip(void **state)
{
	(void)state;
	char path[64], err[256];
	struct tbuf b = mk_trace(0, path, sizeof(path));
	struct trace_reader r;
	assert_int_equal(trace_reader_open(&r, path, err, sizeof(err)), 0);
	assert_true(r.clean);
	assert_false(r.stopped);
	assert_int_equal(r.flags, TRACE_F_KVM);
	assert_int_equal(r.nev, 10);   /* 9 + TR_EOF */
	assert_int_equal(r.ev[0].kind, TR_HOST);
	assert_int_equal(r.ev[0].b, 3600);
	assert_int_equal(r.ev[3].kind, TR_GM_READ);
	assert_memory_equal(r.payload[3], "abc", 3);
	assert_int_equal(r.ev[4].a, 0x3f8);
	assert_int_equal(r.match[5], 7);     /* timer-fire ... end */
	assert_int_equal(r.ev[8].size, 5);
	assert_memory_equal(r.payload[8], "hello", 5);
	assert_int_equal(r.ev[9].kind, TR_EOF);
	assert_int_equal(r.ev[9].a, 9);
	char *argv[8];
	assert_int_equal(trace_reader_argv(&r, argv, 8, err, sizeof(err)), 3);
	assert_string_equal(argv[1], "-machine");
	assert_string_equal(argv[2], "microvm,accel=sim");
	assert_int_equal(trace_reader_argv(&r, argv, 2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 2"));
	trace_reader_close(&r);
	unlink(path);
	free(b.p);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(trace_kind_name(TR_BUS), "bus");
	assert_string_equal(trace_kind_name(TR_GM_WRITE), "gm-write");
	assert_string_equal(trace_kind_name(0), "unknown");
	assert_string_equal(trace_kind_name(9999), "unknown");
	assert_true(trace_kind_is_begin(TR_NET_RX_BEGIN));
	assert_false(trace_kind_is_begin(TR_END));
	/* FNV-1a test vector: "a" */
	assert_true(trace_fnv1a(TRACE_FNV_INIT, "a", 1) == 0xaf63dc4c8601ec8cull);
}

/* The limit: recording stops with TR_STOP, the file stays valid. */
static void test_limit(void **state)
{
	(void)state;
	char path[64], err[256];
	struct trace_writer *w = new_writer(path, sizeof(path), 0, 2048);
	struct trace_ev e = { .kind = TR_CLK_READ };
	int ok = 0;
	for (int i = 0; i < 100; i++) {
		e.a = (uint64_t)i;
		if (trace_writer_add(w, &e, NULL) == 0)
			ok++;
	}
	assert_true(ok > 0 && ok < 100);
	assert_true(trace_writer_stopped(w));
	assert_int_equal(trace_writer_close(w, err, sizeof(err)), 0);
	struct tbuf b = slurp(path);
	assert_true(b.len <= 2048);
	struct trace_reader r;
	assert_int_equal(trace_reader_parse(&r, b.p, b.len, err, sizeof(err)), 0);
	assert_true(r.stopped);
	assert_int_equal(r.ev[r.nev - 2].kind, TR_STOP);
	trace_reader_close(&r);
	unlink(path);
	free(b.p);
}

static void test_open_errors(void **state)
{
	(void)state;
	char err[256];
	struct trace_reader r;
	assert_int_equal(trace_reader_open(&r, "/nonexistent/t", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open"));
	assert_int_equal(trace_reader_open(&r, "/tmp", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "regular file"));
	assert_null(trace_writer_open("/nonexistent/t", "", 0, 0, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot create"));
}

/* Where the first record starts: after the header and the padded DTB. */
static size_t dtb_end_of(const uint8_t *p)
{
	struct trace_file_hdr h;
	memcpy(&h, p, sizeof(h));
	return sizeof(h) + ((h.dtb_size + 7u) & ~7u);
}

/* A copy of a good trace with 64 zero bytes of slack after it. */
static uint8_t *good_copy(const struct tbuf *good, size_t *dtb_end)
{
	uint8_t *p = malloc(good->len + 64);
	memcpy(p, good->p, good->len);
	memset(p + good->len, 0, 64);
	*dtb_end = dtb_end_of(p);
	return p;
}

/* Parse the first len bytes of p, expect rejection with `msg`; frees p. */
static void parse_must_fail(uint8_t *p, size_t len, const char *msg)
{
	char err[256] = "";
	struct trace_reader r;
	int rc = trace_reader_parse(&r, p, len, err, sizeof(err));
	if (rc == 0 || !strstr(err, msg))
		fail_msg("expected rejection '%s', got rc %d '%s'", msg, rc, err);
	assert_null(r.ev);
	free(p);
}

/* Apply fn to a copy of a good trace and expect rejection with `msg`. */
static void expect_reject(const struct tbuf *good, size_t len,
			  void (*fn)(uint8_t *p, size_t dtb_end), const char *msg)
{
	size_t dtb_end;
	uint8_t *p = good_copy(good, &dtb_end);
	if (fn)
		fn(p, dtb_end);
	parse_must_fail(p, len, msg);
}

/* Record k (0-based) of the good trace starts at this offset: records
 * 0..k-1 of mk_trace have these payload sizes. */
static size_t rec_off(size_t dtb_end, unsigned k)
{
	static const unsigned psize[] = { 0, 8, 0, 8, 8, 0, 0, 0, 8 };
	size_t off = dtb_end;
	for (unsigned i = 0; i < k; i++)
		off += sizeof(struct trace_ev) + psize[i];
	return off;
}

static void m_magic(uint8_t *p, size_t d) { (void)d; p[0] = 'X'; }
/* A pre-16 device tree (names inline): libfdt 1.6.1's fdt_check_full()
 * dereferences NULL on such trees, found by fuzz_trace. */
static void m_dtb_v4(uint8_t *p, size_t d)
{
	(void)d;
	uint8_t *dtb = p + sizeof(struct trace_file_hdr);
	dtb[offsetof(struct fdt_header, version) + 3] = 4;
	dtb[offsetof(struct fdt_header, last_comp_version) + 3] = 0;
}
static void m_dtb(uint8_t *p, size_t d)
{
	(void)d;
	memset(p + sizeof(struct trace_file_hdr), 0xee, 8);
}

/* One hostile value in one field: of the file header (rec HDR) or of
 * record `rec` of the good trace (see rec_off for the record order). */
enum { HDR = -1 };
struct bad_field {
	int rec;
	size_t off, width;
	uint64_t v;
	const char *msg;
};
#define HDR_F(m) offsetof(struct trace_file_hdr, m), \
	sizeof(((struct trace_file_hdr *)0)->m)
#define EV_F(m) offsetof(struct trace_ev, m), sizeof(((struct trace_ev *)0)->m)

static const struct bad_field bad_fields[] = {
	{ HDR, HDR_F(version), 99, "version 99 is not supported" },
	{ HDR, HDR_F(hdr_size), 16, "header size" },
	{ HDR, HDR_F(dtb_size), 0x7fffffff, "does not fit" },
	{ 2, EV_F(kind), 200, "unknown record kind (record 2)" },
	{ 2, EV_F(kind), 0, "unknown record kind" },
	{ 2, EV_F(kind), TR_END, "end record without a beginning" },
	{ 3, EV_F(size), 1u << 23, "runs past the end" },
	{ 3, EV_F(size), 0xffffffffu, "runs past the end" },
	{ 4, EV_F(b), 9, "1..8" },                      /* bus length */
	{ 4, EV_F(unit), 7, "pio (0) nor mmio" },        /* bus */
	{ 6, EV_F(b), 2, "level is not 0/1" },           /* irq level */
	{ 5, EV_F(a), TRACE_MAX_TIMERS, "timer id out of range" },
	{ 8, EV_F(unit), 3, "backend index not declared" },
	{ 1, EV_F(a), 77, "unknown backend kind" },
	{ 9, EV_F(a), 1234, "count does not match" },    /* eof count */
	{ 3, EV_F(a), UINT64_MAX - 1, "wraps" },         /* gm address */
	/* Length no longer matches the 5 data bytes of the block read. */
	{ 8, EV_F(b), 6, "does not match its length" },
};

/* A 9-byte bus access whose record is self-consistent (length and payload
 * size both 9): refused for its length alone, not for a mismatch. */
static void m_bus9(uint8_t *p, size_t d)
{
	struct trace_ev e;
	memcpy(&e, p + rec_off(d, 4), sizeof(e));
	e.b = 9;
	e.size = 9;
	memcpy(p + rec_off(d, 4), &e, sizeof(e));
}

static void expect_reject_field(const struct tbuf *good,
				const struct bad_field *bf)
{
	size_t dtb_end;
	uint8_t *p = good_copy(good, &dtb_end);
	size_t at = bf->rec == HDR ? bf->off : rec_off(dtb_end, (unsigned)bf->rec) + bf->off;
	memcpy(p + at, &bf->v, bf->width); /* little-endian, like the file */
	parse_must_fail(p, good->len, bf->msg);
}

static void test_hostile(void **state)
{
	(void)state;
	char path[64];
	struct tbuf g = mk_trace(0, path, sizeof(path));
	unlink(path);
	size_t dtb_end = dtb_end_of(g.p);
	expect_reject(&g, 10, NULL, "too short");
	expect_reject(&g, g.len, m_magic, "bad magic");
	expect_reject(&g, g.len, m_dtb, "not a valid device tree");
	expect_reject(&g, g.len, m_dtb_v4, "not a valid device tree");
	expect_reject(&g, g.len, m_bus9, "bus access length is not 1..8");
	for (size_t i = 0; i < sizeof(bad_fields) / sizeof(bad_fields[0]); i++)
		expect_reject_field(&g, &bad_fields[i]);
	/* Truncations: inside a record header, inside a payload, and right
	 * at a record boundary before the end record. */
	expect_reject(&g, g.len - 20, NULL, "truncated record header");
	expect_reject(&g, rec_off(dtb_end, 3) + sizeof(struct trace_ev) + 2, NULL,
		      "runs past the end");
	expect_reject(&g, rec_off(dtb_end, 9), NULL, "no end record");
	/* Data after the end record. */
	expect_reject(&g, g.len + 40, NULL, "after the end record");
	free(g.p);
}

/* Deliveries nested deeper than TRACE_MAX_DEPTH. */
static void test_too_deep(void **state)
{
	(void)state;
	char path[64], err[256];
	struct trace_writer *w = new_writer(path, sizeof(path), 0, 0);
	struct trace_ev e = { .kind = TR_TIMER_BEGIN };
	for (unsigned i = 0; i <= TRACE_MAX_DEPTH; i++)
		trace_writer_add(w, &e, NULL);
	assert_int_equal(trace_writer_close(w, err, sizeof(err)), 0);
	struct trace_reader r;
	assert_int_equal(trace_reader_open(&r, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nested too deep"));
	unlink(path);
}

/* A trace whose recording ended inside a delivery is still readable:
 * the open bracket is marked unclosed. */
static void test_unclosed(void **state)
{
	(void)state;
	char path[64], err[256];
	struct trace_writer *w = new_writer(path, sizeof(path), 0, 0);
	struct trace_ev e = { .kind = TR_TIMER_BEGIN };
	trace_writer_add(w, &e, NULL);
	assert_int_equal(trace_writer_close(w, err, sizeof(err)), 0);
	struct trace_reader r;
	assert_int_equal(trace_reader_open(&r, path, err, sizeof(err)), 0);
	assert_true(r.match[0] == SIZE_MAX);
	trace_reader_close(&r);
	unlink(path);
}

/* A description without vmm,argv cannot be replayed. */
static void test_no_argv(void **state)
{
	(void)state;
	char path[64], err[256];
	void *fdt = calloc(1, 1024);
	assert_int_equal(fdt_create_empty_tree(fdt, 1024), 0);
	fdt_pack(fdt);
	tmp_path(path, sizeof(path));
	struct trace_writer *w = trace_writer_open(path, fdt, fdt_totalsize(fdt), 0,
						   0, err, sizeof(err));
	free(fdt);
	assert_int_equal(trace_writer_close(w, err, sizeof(err)), 0);
	struct trace_reader r;
	assert_int_equal(trace_reader_open(&r, path, err, sizeof(err)), 0);
	char *argv[4];
	assert_int_equal(trace_reader_argv(&r, argv, 4, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "vmm,argv"));
	trace_reader_close(&r);
	unlink(path);
}

/* iothread= devices cannot be recorded. */
static void test_refuse_iothread(void **state)
{
	(void)state;
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	char err[256];
	char *argv[] = { "vmm", "-machine", "microvm,accel=sim", "-object",
			 "iothread,id=io0", "-drive", "id=d0,file=x.img", "-device",
			 "virtio-blk-device,drive=d0,iothread=io0", NULL };
	assert_int_equal(config_parse(cfg, 9, argv, err, sizeof(err)), 0);
	assert_int_equal(trace_rec_check(cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "iothread"));
	assert_null(trace_rec_open("/tmp/never", 9, argv, cfg, false, 0, NULL, err,
				   sizeof(err)));
	assert_int_equal(access("/tmp/never", F_OK), -1);
	free(cfg);
}

/* -incoming is recorded (the restore's board state becomes a state
 * record, kvm/kvm_migrate.c); iothread= still is not, with or without. */
static void test_incoming_recorded(void **state)
{
	(void)state;
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	char err[256] = "";
	char *argv[] = { "vmm", "-machine", "microvm", "-kernel", "k",
			 "-incoming", "file:state.bin", NULL };
	assert_int_equal(config_parse(cfg, 7, argv, err, sizeof(err)), 0);
	assert_int_equal(trace_rec_check(cfg, err, sizeof(err)), 0);
	char *argv2[] = { "vmm", "-machine", "microvm", "-kernel", "k",
			  "-incoming", "file:state.bin", "-object", "iothread,id=io0",
			  "-drive", "id=d0,file=x.img", "-device",
			  "virtio-blk-device,drive=d0,iothread=io0", NULL };
	memset(cfg, 0, sizeof(*cfg));
	assert_int_equal(config_parse(cfg, 13, argv2, err, sizeof(err)), 0);
	assert_int_equal(trace_rec_check(cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "iothread"));
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_too_deep),
		cmocka_unit_test(test_unclosed),
		cmocka_unit_test(test_no_argv),
		cmocka_unit_test(test_refuse_iothread),
		cmocka_unit_test(test_incoming_recorded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
