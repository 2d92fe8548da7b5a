/* Replay opens no host path named in a trace (issue 11 item 1).
 *
 * A trace is recorded in which a virtio-blk read lands in a share=on
 * NVDIMM, with a -serial file:, an rng-random filename, -D and -pidfile
 * on the command line.  After the recording the NVDIMM file is put back
 * to its own bytes and the files the recording created are removed; then
 * the trace is replayed as a self-test recording and as a KVM recording.
 * Every named file must keep its bytes and no file may appear: before the
 * fix the replayed block read went through the shared mapping into the
 * NVDIMM file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/chardev.h"
#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "core/trace.h"
#include "devices/nvdimm.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/virtio.h"
#include "machine/board.h"
#include "sim/replay.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "vblk_fixture.h"

#define PMEM_SIZE (2u << 20)
#define DISK_SIZE (1u << 20)

struct fix {
	char dir[64];
	char pmem[128], disk[128], rng[128], com2[128], log[128], pid[128];
	char trace[128];
	char o_mem[256], o_drive[256], o_rng[256], o_serial[256];
	char *argv[40];
	int argc;
	uint8_t *pmem_bytes, *disk_bytes, *rng_bytes;
	unsigned nfiles;   /* directory entries before replay */
};

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 9));
}

static void put_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* The file holds exactly these bytes. */
static void check_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t *got = malloc(n + 1);
	size_t r = fread(got, 1, n + 1, f);
	fclose(f);
	if (r != n)
		fail_msg("%s: %zu bytes, expected %zu", path, r, n);
	if (memcmp(got, p, n)) {
		size_t i = 0;
		while (got[i] == p[i])
			i++;
		fail_msg("%s changed at byte %zu: 0x%02x, expected 0x%02x", path,
			 i, got[i], p[i]);
	}
	free(got);
}

static unsigned count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_replay_hostfiles_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->pmem, sizeof(f->pmem), "%s/pmem.img", f->dir);
	snprintf(f->disk, sizeof(f->disk), "%s/disk.img", f->dir);
	snprintf(f->rng, sizeof(f->rng), "%s/rng.bin", f->dir);
	snprintf(f->com2, sizeof(f->com2), "%s/com2.txt", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/vm.log", f->dir);
	snprintf(f->pid, sizeof(f->pid), "%s/vm.pid", f->dir);
	snprintf(f->trace, sizeof(f->trace), "%s/t.trace", f->dir);
	f->pmem_bytes = malloc(PMEM_SIZE);
	f->disk_bytes = malloc(DISK_SIZE);
	f->rng_bytes = malloc(4096);
	fill(f->pmem_bytes, PMEM_SIZE, 1);
	fill(f->disk_bytes, DISK_SIZE, 2);
	memcpy(f->disk_bytes, "CHOSEN-BY-THE-TRACE", 19);
	fill(f->rng_bytes, 4096, 3);
	put_file(f->pmem, f->pmem_bytes, PMEM_SIZE);
	put_file(f->disk, f->disk_bytes, DISK_SIZE);
	put_file(f->rng, f->rng_bytes, 4096);
	snprintf(f->o_mem, sizeof(f->o_mem), "memory-backend-file,id=mem0,"
		 "mem-path=%s,size=2M,share=on", f->pmem);
	snprintf(f->o_drive, sizeof(f->o_drive), "id=d0,file=%s", f->disk);
	snprintf(f->o_rng, sizeof(f->o_rng), "rng-random,id=rng0,filename=%s",
		 f->rng);
	snprintf(f->o_serial, sizeof(f->o_serial), "file:%s", f->com2);
	char *a[] = { "vmm", "-machine", "microvm,accel=sim,nvdimm=on",
		      "-m", "64M,slots=2,maxmem=1G",
		      "-serial", "stdio", "-serial", f->o_serial,
		      "-drive", f->o_drive, "-device", "virtio-blk-device,drive=d0",
		      "-object", f->o_rng, "-device", "virtio-rng-device,rng=rng0",
		      "-object", f->o_mem, "-device", "nvdimm,id=nv0,memdev=mem0",
		      "-D", f->log, "-pidfile", f->pid, NULL };
	for (f->argc = 0; a[f->argc]; f->argc++)
		f->argv[f->argc] = a[f->argc];
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	const char *files[] = { f->pmem, f->disk, f->rng, f->com2, f->log,
				f->pid, f->trace };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(f->dir);
	free(f->pmem_bytes);
	free(f->disk_bytes);
	free(f->rng_bytes);
	free(f);
	return 0;
}

/* Record: the disk's first sector read straight into the NVDIMM. */
static void record(struct fix *f)
{
	char err[512];
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	struct layout l;
	if (config_parse(cfg, f->argc, f->argv, err, sizeof(err)))
		fail_msg("%s", err);
	if (layout_build(&l, cfg, err, sizeof(err)))
		fail_msg("%s", err);
	struct nvdimm_desc nv[LAYOUT_MAX_NVDIMM];
	assert_int_equal(nvdimm_describe(cfg, &l, nv, err, sizeof(err)), 1);
	struct sim_config sc = { .ram_size = l.ram[0].size, .seed = cfg->seed };
	struct sim *s = sim_new(&sc);
	assert_non_null(s);
	struct chr *com1 = chr_mem_new("com1", 0);
	struct board_host host = { .wall_epoch = 1767225600ll };
	host.serial[0] = com1;
	struct trace_rec *tr = trace_rec_open(f->trace, f->argc, f->argv, cfg,
					      false, 0, NULL, err, sizeof(err));
	if (!tr)
		fail_msg("%s", err);
	assert_int_equal(board_trace_attach(&host, &s->m, tr, err, sizeof(err)), 0);
	struct board *b = board_new(&s->m, cfg, &l, &host, err, sizeof(err));
	if (!b)
		fail_msg("%s", err);
	trace_rec_start(tr);
	struct vdriver d;
	struct vdq vq;
	vblkfx_mmio_start(s, &l, &d, &vq);
	vblkfx_req(s, &d, &vq, VIRTIO_BLK_T_IN, 0, nv[0].base + 4096);
	trace_rec_finish(tr);
	board_shutdown(b);
	board_free(b);
	trace_rec_close(tr, err, sizeof(err));
	sim_free(s);
	chr_close(com1);
	free(cfg);
	/* The recording was told to write these: it did. */
	assert_int_equal(access(f->com2, F_OK), 0);
	FILE *pf = fopen(f->pmem, "rb");
	char sig[20] = "";
	assert_non_null(pf);
	assert_int_equal(fseek(pf, 4096, SEEK_SET), 0);
	assert_int_equal(fread(sig, 1, 19, pf), 19);
	fclose(pf);
	assert_string_equal(sig, "CHOSEN-BY-THE-TRACE");
	/* Now the victim state replay must leave alone. */
	put_file(f->pmem, f->pmem_bytes, PMEM_SIZE);
	unlink(f->com2);
	f->nfiles = count_dir(f->dir);
}

static void check_untouched(struct fix *f)
{
	check_file(f->pmem, f->pmem_bytes, PMEM_SIZE);
	check_file(f->disk, f->disk_bytes, DISK_SIZE);
	check_file(f->rng, f->rng_bytes, 4096);
	assert_int_equal(access(f->com2, F_OK), -1);
	assert_int_equal(access(f->log, F_OK), -1);
	assert_int_equal(access(f->pid, F_OK), -1);
	assert_int_equal(count_dir(f->dir), f->nfiles);
}

/* Replay the trace with the header's flags set to `flags`. */
static void replay_with_flags(struct fix *f, uint32_t flags)
{
	char err[512];
	struct trace_reader r;
	if (trace_reader_open(&r, f->trace, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	uint8_t *buf = malloc(r.len);
	memcpy(buf, r.data, r.len);
	memcpy(buf + offsetof(struct trace_file_hdr, flags), &flags, sizeof(flags));
	struct trace_reader p;
	if (trace_reader_parse(&p, buf, r.len, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	struct replay_result res;
	if (replay_run(&p, NULL, &res, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	/* Anonymous memory in place of the file changes nothing a device
	 * sees: the replay still matches. */
	if (res.diverged)
		fail_msg("diverged at %zu: %s", res.event, res.msg);
	assert_true(res.accesses > 10);
	trace_reader_close(&p);
	trace_reader_close(&r);
	free(buf);
}

static void test_selftest_trace_writes_no_host_file(void **state)
{
	struct fix *f = *state;
	record(f);
	replay_with_flags(f, 0);
	check_untouched(f);
}

static void test_kvm_trace_writes_no_host_file(void **state)
{
	struct fix *f = *state;
	record(f);
	replay_with_flags(f, TRACE_F_KVM);
	check_untouched(f);
}

/* A board asked to open no host path must not be built without the
 * stand-ins that keep it from opening drives and chardevs. */
static void test_no_host_paths_needs_replace(void **state)
{
	struct fix *f = *state;
	char err[512];
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	struct layout l;
	assert_int_equal(config_parse(cfg, f->argc, f->argv, err, sizeof(err)), 0);
	assert_int_equal(layout_build(&l, cfg, err, sizeof(err)), 0);
	struct sim_config sc = { .ram_size = l.ram[0].size };
	struct sim *s = sim_new(&sc);
	struct board_host host = { .no_host_paths = true };
	assert_null(board_new(&s->m, cfg, &l, &host, err, sizeof(err)));
	assert_non_null(strstr(err, "backend_replace"));
	sim_free(s);
	free(cfg);
	f->nfiles = count_dir(f->dir);
	check_untouched(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_selftest_trace_writes_no_host_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_kvm_trace_writes_no_host_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_host_paths_needs_replace,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
