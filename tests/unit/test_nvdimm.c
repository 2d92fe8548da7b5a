/* NVDIMM: geometry and configuration errors (nvdimm_describe) and the
 * host mapping semantics (nvdimm_map_all with gm_add_mmap on temp files):
 * readonly=on never changes the file, share=on writes reach it, share=off
 * is a private copy-on-write view; bad files fail before anything maps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acpi_fixture.h"
#include "core/gm.h"
#include "devices/nvdimm.h"
#include "machine/nvdimm_map.h"

#define MiB (1ull << 20)

struct tmp {
	char dir[64];
	char path[96];
};

static void tmp_file(struct tmp *t, uint64_t size, uint8_t seed)
{
	strcpy(t->dir, "/tmp/test_nvdimm.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/backing.img", t->dir);
	int fd = open(t->path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	assert_true(fd >= 0);
	uint8_t buf[4096];
	for (uint64_t off = 0; off < size; off += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)(seed + off / sizeof(buf) + i);
		assert_int_equal(pwrite(fd, buf, sizeof(buf), (off_t)off), sizeof(buf));
	}
	close(fd);
}

static void tmp_gone(struct tmp *t)
{
	unlink(t->path);
	rmdir(t->dir);
}

static void file_read(const char *path, uint64_t off, void *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, n, (off_t)off), (ssize_t)n);
	close(fd);
}

/* A machine with one nvdimm on `path` and the given extra properties. */
static struct acpi_fixture *one(const char *path, const char *objprops,
				const char *devprops)
{
	char obj[512], dev[256];
	snprintf(obj, sizeof(obj), "memory-backend-file,id=mem0,mem-path=%s,%s",
		 path, objprops);
	snprintf(dev, sizeof(dev), "nvdimm,id=nv0,memdev=mem0%s", devprops);
	const char *args[] = { "-machine", "microvm,accel=sim,nvdimm=on",
			       "-m", "64M,slots=2,maxmem=1G", "-object", obj,
			       "-device", dev, NULL };
	return acpi_fixture_new(args);
}

/* One nvdimm on a fresh temp file, mapped by nvdimm_map_all into a fresh
 * gm: the steps every mapping test shares. */
struct pm {
	struct tmp t;
	struct acpi_fixture *f;
	struct gm *gm;
	const struct layout_dev *ld;
	char err[256];
};

static void pm_file(struct pm *p, uint64_t size, uint8_t seed)
{
	memset(p, 0, sizeof(*p));
	tmp_file(&p->t, size, seed);
}

/* Returns nvdimm_map_all's result; p->err holds its message. */
static int pm_map(struct pm *p, const char *path, const char *objprops)
{
	p->f = one(path, objprops, "");
	assert_non_null(p->f);
	p->gm = gm_new();
	p->err[0] = '\0';
	int rc = nvdimm_map_all(p->gm, &p->f->cfg, &p->f->l, NULL, p->err,
				sizeof(p->err));
	p->ld = layout_dev_for(&p->f->l, 0);
	return rc;
}

/* Drops the guest mapping (munmap: shared writes are in the file after). */
static void pm_unmap(struct pm *p)
{
	if (p->gm)
		gm_free(p->gm);
	p->gm = NULL;
	free(p->f);
	p->f = NULL;
}

static void pm_done(struct pm *p)
{
	pm_unmap(p);
	tmp_gone(&p->t);
}

static void test_readonly_never_changes_file(void **state)
{
	(void)state;
	struct pm p;
	pm_file(&p, 4 * MiB, 1);
	uint8_t before[4096], after[4096], g[4096];
	file_read(p.t.path, 0, before, sizeof(before));
	assert_int_equal(pm_map(&p, p.t.path, "size=4M,readonly=on"), 0);
	const struct gm_region *r = gm_region_find(p.gm, p.ld->pmem_base);
	assert_non_null(r);
	assert_true(r->flags & GM_READONLY);
	assert_true(r->flags & GM_PMEM);
	assert_int_equal(r->size, 4 * MiB);
	/* The guest sees the file's bytes ... */
	assert_int_equal(gm_read(p.gm, p.ld->pmem_base, g, sizeof(g)), 0);
	assert_memory_equal(g, before, sizeof(g));
	/* ... and cannot write them, by copy or by mapping. */
	assert_int_equal(gm_write_u32le(p.gm, p.ld->pmem_base, 0xdeadbeef), -EFAULT);
	assert_null(gm_map(p.gm, p.ld->pmem_base, 4096, true));
	assert_int_equal(nvdimm_flush(p.gm), 0);
	pm_unmap(&p);
	file_read(p.t.path, 0, after, sizeof(after));
	assert_memory_equal(before, after, sizeof(after));
	pm_done(&p);
}

static void test_share_on_writes_reach_file(void **state)
{
	(void)state;
	struct pm p;
	pm_file(&p, 4 * MiB, 2);
	assert_int_equal(pm_map(&p, p.t.path, "size=4M,share=on"), 0);
	static const char msg[] = "written by the guest";
	assert_int_equal(gm_write(p.gm, p.ld->pmem_base + 3 * MiB + 5, msg, sizeof(msg)), 0);
	assert_int_equal(nvdimm_flush(p.gm), 0);
	char got[sizeof(msg)];
	file_read(p.t.path, 3 * MiB + 5, got, sizeof(got));
	assert_memory_equal(got, msg, sizeof(msg));
	pm_unmap(&p);
	file_read(p.t.path, 3 * MiB + 5, got, sizeof(got));
	assert_memory_equal(got, msg, sizeof(msg));
	pm_done(&p);
}

static void test_share_off_is_private(void **state)
{
	(void)state;
	struct pm p;
	pm_file(&p, 4 * MiB, 3);
	uint8_t before[64], after[64];
	file_read(p.t.path, 0, before, sizeof(before));
	assert_int_equal(pm_map(&p, p.t.path, "size=4M,share=off"), 0);
	assert_int_equal(gm_fill(p.gm, p.ld->pmem_base, 0x5a, sizeof(before)), 0);
	uint8_t g[64];
	assert_int_equal(gm_read(p.gm, p.ld->pmem_base, g, sizeof(g)), 0);
	for (size_t i = 0; i < sizeof(g); i++)
		assert_int_equal(g[i], 0x5a);
	assert_int_equal(nvdimm_flush(p.gm), 0);
	pm_unmap(&p);
	file_read(p.t.path, 0, after, sizeof(after));
	assert_memory_equal(before, after, sizeof(after));
	pm_done(&p);
}

static void test_flush_hint_syncs_shared_mapping(void **state)
{
	(void)state;
	struct pm p;
	pm_file(&p, 4 * MiB, 6);
	assert_int_equal(pm_map(&p, p.t.path, "size=4M,share=on"), 0);
	struct nvdimm_flusher fl;
	nvdimm_flusher_init(&fl, p.gm, NULL);
	static const char msg[] = "flushed";
	assert_int_equal(gm_write(p.gm, p.ld->pmem_base + 4096, msg, sizeof(msg)), 0);
	/* The guest's flush: any width, any value, any offset in the page. */
	uint8_t v[8] = { 1 };
	assert_int_equal(nvdimm_flush_access(&fl, 0, v, 8, true), 0);
	assert_int_equal(nvdimm_flush_access(&fl, 4095, v, 1, true), 0);
	assert_int_equal(fl.flushes, 2);
	assert_int_equal(fl.errors, 0);
	char got[sizeof(msg)];
	file_read(p.t.path, 4096, got, sizeof(got));
	assert_memory_equal(got, msg, sizeof(msg));
	/* Reads are harmless zeros and flush nothing. */
	memset(v, 0xff, sizeof(v));
	assert_int_equal(nvdimm_flush_access(&fl, 8, v, 4, false), 0);
	assert_int_equal(v[0] | v[1] | v[2] | v[3], 0);
	assert_int_equal(v[4], 0xff);
	assert_int_equal(fl.flushes, 2);
	pm_done(&p);
}

static void test_size_larger_than_file(void **state)
{
	(void)state;
	struct pm p;
	pm_file(&p, 2 * MiB, 4);
	assert_int_equal(pm_map(&p, p.t.path, "size=4M"), -1);
	assert_non_null(strstr(p.err, "does not equal the size of"));
	assert_int_equal(gm_region_count(p.gm), 0); /* nothing mapped */
	pm_done(&p);
}

/* README: size= must equal the image's size.  A smaller size= would
 * show the guest a truncated image, so it is refused too. */
static void test_size_smaller_than_file(void **state)
{
	(void)state;
	struct pm p;
	pm_file(&p, 4 * MiB, 4);
	assert_int_equal(pm_map(&p, p.t.path, "size=2M"), -1);
	assert_non_null(strstr(p.err, "size=2097152 does not equal"));
	assert_non_null(strstr(p.err, "4194304 bytes"));
	assert_int_equal(gm_region_count(p.gm), 0);
	pm_done(&p);
}

static void test_missing_file_and_directory(void **state)
{
	(void)state;
	struct pm p;
	pm_file(&p, 2 * MiB, 5);
	char missing[128];
	snprintf(missing, sizeof(missing), "%s/nope.img", p.t.dir);
	const char *paths[] = { missing, p.t.dir };
	const char *want[] = { "No such file", "not a regular file" };
	/* Not a regular file is the configuration's error (exit 2). */
	const int rc[] = { -1, -2 };
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pm_map(&p, paths[i], "size=2M"), rc[i]);
		assert_non_null(strstr(p.err, want[i]));
		assert_int_equal(gm_region_count(p.gm), 0);
		pm_unmap(&p);
	}
	pm_done(&p);
}

static void test_describe_geometry_and_label(void **state)
{
	(void)state;
	struct acpi_fixture *f = one("/x.img", "size=4224K,share=on", ",label-size=128K");
	assert_non_null(f);
	struct nvdimm_desc nv[LAYOUT_MAX_NVDIMM];
	char err[256] = "";
	assert_int_equal(nvdimm_describe(&f->cfg, &f->l, nv, err, sizeof(err)), 1);
	assert_int_equal(nv[0].handle, 1);
	assert_int_equal(nv[0].size, 4 * MiB + 128 * 1024);
	assert_int_equal(nv[0].pmem_size, 4 * MiB);
	assert_int_equal(nv[0].label_size, 128 * 1024);
	assert_int_equal(nv[0].base, layout_dev_for(&f->l, 0)->pmem_base);
	assert_true(nv[0].share);
	assert_false(nv[0].readonly);
	assert_false(nv[0].unarmed);
	free(f);
}

static void test_describe_rejects_bad_configs(void **state)
{
	(void)state;
	struct nvdimm_desc nv[LAYOUT_MAX_NVDIMM];
	char err[256];

	/* Not a multiple of the 2 MiB alignment. */
	struct acpi_fixture *f = one("/x.img", "size=3M", "");
	assert_non_null(f);
	assert_int_equal(nvdimm_describe(&f->cfg, &f->l, nv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "2 MiB"));
	free(f);

	/* A label area below Linux's 128 KiB minimum, or not page sized
	 * (the parser refuses these too; describe must not rely on it). */
	static const uint64_t bad_labels[] = { 64 * 1024, 128 * 1024 + 1, 4224 * 1024 };
	for (unsigned i = 0; i < 3; i++) {
		f = one("/x.img", "size=4224K", ",label-size=128K");
		assert_non_null(f);
		f->cfg.devices[0].label_size = bad_labels[i];
		assert_int_equal(nvdimm_describe(&f->cfg, &f->l, nv, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "label-size"));
		free(f);
	}

	/* Beyond maxmem (window shrunk as if maxmem were smaller). */
	f = one("/x.img", "size=4M", "");
	assert_non_null(f);
	f->l.devmem_size = 2 * MiB;
	assert_int_equal(nvdimm_describe(&f->cfg, &f->l, nv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "maxmem"));
	free(f);

	/* A memdev used twice, past the parser (hand-built config). */
	const char *args[] = {
		"-machine", "microvm,accel=sim,nvdimm=on", "-m", "64M,slots=2,maxmem=1G",
		"-object", "memory-backend-file,id=mem0,mem-path=/a.img,size=4M",
		"-object", "memory-backend-file,id=mem1,mem-path=/b.img,size=4M",
		"-device", "nvdimm,id=nv0,memdev=mem0",
		"-device", "nvdimm,id=nv1,memdev=mem1", NULL };
	f = acpi_fixture_new(args);
	assert_non_null(f);
	assert_int_equal(nvdimm_describe(&f->cfg, &f->l, nv, err, sizeof(err)), 2);
	assert_int_equal(nv[1].handle, 2);
	assert_true(nv[1].base >= nv[0].base + nv[0].size);
	strcpy(f->cfg.devices[1].memdev, "mem0");
	assert_int_equal(nvdimm_describe(&f->cfg, &f->l, nv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already used"));
	/* A memdev that names nothing, or not a file backend. */
	strcpy(f->cfg.devices[1].memdev, "nothing");
	assert_int_equal(nvdimm_describe(&f->cfg, &f->l, nv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "memory-backend-file"));
	free(f);
}

static void test_label_area_needs_room(void **state)
{
	(void)state;
	/* nv0 has labels but nv1 sits right after its pmem range. */
	const char *args[] = {
		"-machine", "microvm,accel=sim,nvdimm=on", "-m", "64M,slots=2,maxmem=1G",
		"-object", "memory-backend-file,id=mem0,mem-path=/a.img,size=4224K",
		"-object", "memory-backend-file,id=mem1,mem-path=/b.img,size=4M",
		"-device", "nvdimm,id=nv0,memdev=mem0,label-size=128K",
		"-device", "nvdimm,id=nv1,memdev=mem1", NULL };
	struct acpi_fixture *f = acpi_fixture_new(args);
	assert_non_null(f);
	struct nvdimm_desc nv[LAYOUT_MAX_NVDIMM];
	char err[256] = "";
	assert_int_equal(nvdimm_describe(&f->cfg, &f->l, nv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "label area"));
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readonly_never_changes_file),
		cmocka_unit_test(test_share_on_writes_reach_file),
		cmocka_unit_test(test_share_off_is_private),
		cmocka_unit_test(test_flush_hint_syncs_shared_mapping),
		cmocka_unit_test(test_size_larger_than_file),
		cmocka_unit_test(test_size_smaller_than_file),
		cmocka_unit_test(test_missing_file_and_directory),
		cmocka_unit_test(test_describe_geometry_and_label),
		cmocka_unit_test(test_describe_rejects_bad_configs),
		cmocka_unit_test(test_label_area_needs_room),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
