/* board_snapshot: a board saved and loaded into an identical board saves
 * the same stream again; a board with another device set or memory size
 * refuses it naming the first difference; and streams of a running
 * machine (the self-test saved mid-run) edited the way a hostile file
 * would be -- an index beyond a queue size, a BAR outside the host
 * window, a newer section version, pending MSI-X bits beyond the table,
 * a console port that is not there, hot-plug block flags no guest makes,
 * another DIMM -- are refused with one line naming
 * the field.  The edits go through a small rewriter of the documented
 * record format (docs/snapshot.md), so the damaged stream is otherwise
 * well-formed and correctly checksummed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/layout.h"
#include "core/snapshot.h"
#include "machine/board_snapshot.h"
#include "sim/selftest.h"
#include "sim/sim.h"
#include "sim/sim_board.h"

/* ---- machines ---- */

struct cmd {
	int argc;
	char *argv[64];
	char drive[128];
};

/* The self-test opens the drive's image (read-only, overlaid in memory);
 * the sim board opens nothing. */
static void drive_file(struct cmd *c)
{
	char dir[] = "/tmp/vmm-boardsnap.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[96];
	snprintf(path, sizeof(path), "%s/disk.img", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	snprintf(c->drive, sizeof(c->drive), "id=d0,file=%s", path);
}

static void drive_gone(struct cmd *c)
{
	const char *p = strchr(c->drive, '/');
	if (!p)
		return;
	unlink(p);
	char dir[128];
	snprintf(dir, sizeof(dir), "%s", p);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	rmdir(dir);
}

static void add(struct cmd *c, const char *s)
{
	c->argv[c->argc++] = (char *)s;
	c->argv[c->argc] = NULL;
}

/* microvm with every virtio model on virtio-mmio; without_rng / small
 * change the device set or the memory. */
static void microvm(struct cmd *c, bool without_rng, bool small)
{
	static const char *base[] = {
		"vmm", "-machine", "microvm,accel=sim", "-seed", "3",
		"-serial", "stdio",
		"-device", "virtio-blk-device,drive=d0",
		"-netdev", "tap,id=n0,ifname=vmmsnapt0",
		"-device", "virtio-net-device,netdev=n0",
		"-chardev", "file,id=c0,path=/nonexistent/console.txt",
		"-device", "virtio-serial-device",
		"-device", "virtconsole,chardev=c0",
		"-device", "virtio-balloon-device",
	};
	c->argc = 0;
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		add(c, base[i]);
	if (!c->drive[0])
		drive_file(c);
	add(c, "-drive");
	add(c, c->drive);
	add(c, "-m");
	add(c, small ? "8M" : "16M");
	if (!without_rng) {
		add(c, "-object");
		add(c, "rng-random,id=rng0");
		add(c, "-device");
		add(c, "virtio-rng-device,rng=rng0");
	}
}

/* q35: virtio-pci, a bridge, MSI-X; with hot: CPU hot-plug slots. */
static void q35_opts(struct cmd *c, bool hot)
{
	static const char *base[] = {
		"vmm", "-machine", "q35,accel=sim", "-m", "64M,slots=2,maxmem=1G", "-seed", "4",
		"-object", "memory-backend-ram,id=dm0,size=16M",
		"-device", "pc-dimm,id=dimm0,memdev=dm0",
		"-serial", "stdio",
		"-device", "virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3",
		"-device", "pci-bridge,bus=pcie.0,id=br0,chassis_nr=1,addr=0x8",
		"-object", "rng-random,id=rng0",
		"-device", "virtio-rng-pci,rng=rng0,bus=br0,addr=1",
		"-device", "virtio-balloon-pci",
	};
	c->argc = 0;
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		add(c, base[i]);
	if (!c->drive[0])
		drive_file(c);
	add(c, "-drive");
	add(c, c->drive);
	if (hot) {
		add(c, "-smp");
		add(c, "1,maxcpus=3");
	}
}

static void q35(struct cmd *c)
{
	q35_opts(c, true);
}

static struct sim_board *board(struct cmd *c)
{
	char err[512];
	struct sim_board *sb = sim_board_new(c->argc, c->argv, err, sizeof(err));
	if (!sb)
		fail_msg("sim_board_new: %s", err);
	return sb;
}

struct stream {
	uint8_t *buf;
	size_t len;
};

static struct stream save(struct sim_board *sb, bool ram)
{
	struct snap_w *w = snap_w_new();
	assert_int_equal(board_save_state(sb->b, w), 0);
	if (ram)
		assert_int_equal(board_save_ram(sb->b, w, false), 0);
	const uint8_t *b;
	struct stream s;
	assert_int_equal(snap_w_finish(w, &b, &s.len), 0);
	s.buf = malloc(s.len);
	memcpy(s.buf, b, s.len);
	snap_w_free(w);
	return s;
}

/* Load; returns the reader's error line ("" when it loaded). */
static char *load(struct sim_board *sb, const struct stream *s, bool ram)
{
	static char line[SNAP_ERR_LEN + 64];
	struct snap_r *r;
	char err[128];
	line[0] = 0;
	if (snap_r_open(&r, s->buf, s->len, err, sizeof(err))) {
		snprintf(line, sizeof(line), "open: %s", err);
		return line;
	}
	/* A self-test stream starts with the simulator's own section. */
	if (snap_r_next_is(r, "sim"))
		snap_r_skip(r);
	int rc = snap_r_next_is(r, "ram") ? 0 : board_load_state(sb->b, r);
	if (!rc && ram)
		rc = board_load_ram(sb->b, r, false);
	if (!rc && ram)
		rc = snap_r_done(r);
	if (rc)
		snprintf(line, sizeof(line), "%s", snap_r_error(r));
	snap_r_free(r);
	return line;
}

static void test_round_trip_same_stream(void **state)
{
	(void)state;
	struct cmd c = { 0 };
	microvm(&c, false, false);
	struct sim_board *a = board(&c), *b = board(&c);
	struct stream s = save(a, true);
	assert_string_equal(load(b, &s, true), "");
	struct stream t = save(b, true);
	assert_int_equal(s.len, t.len);
	assert_memory_equal(s.buf, t.buf, s.len);
	free(s.buf);
	free(t.buf);
	sim_board_free(a);
	sim_board_free(b);
	drive_gone(&c);
}

static void expect_err(const char *got, const char *want)
{
	if (!strstr(got, want))
		fail_msg("error '%s' lacks '%s'", got, want);
	assert_null(strchr(got, '\n'));
}

static void test_other_device_set_refused(void **state)
{
	(void)state;
	struct cmd c = { 0 };
	microvm(&c, false, false);
	struct sim_board *a = board(&c);
	microvm(&c, true, false);
	struct sim_board *b = board(&c);
	struct stream s = save(a, false);
	const char *e = load(b, &s, false);
	expect_err(e, "board.device");
	expect_err(e, "virtio-rng-device");
	free(s.buf);
	sim_board_free(a);
	sim_board_free(b);
	drive_gone(&c);
}

static void test_other_memory_refused(void **state)
{
	(void)state;
	struct cmd c = { 0 };
	microvm(&c, false, false);
	struct sim_board *a = board(&c);
	microvm(&c, false, true);
	struct sim_board *b = board(&c);
	struct stream s = save(a, true);
	expect_err(load(b, &s, true),
		   "virtio-mmio/virtio/virtio-balloon.npages: another amount of RAM");
	free(s.buf);
	/* RAM alone. */
	struct snap_w *w = snap_w_new();
	assert_int_equal(board_save_ram(a->b, w, false), 0);
	const uint8_t *buf;
	assert_int_equal(snap_w_finish(w, &buf, &s.len), 0);
	s.buf = malloc(s.len);
	memcpy(s.buf, buf, s.len);
	snap_w_free(w);
	expect_err(load(b, &s, true), "ram/region0.size: the region's place or size differs");
	free(s.buf);
	sim_board_free(a);
	sim_board_free(b);
	drive_gone(&c);
}

/* A hot-plug block the saved machine had and this one has not (or the
 * other way round) is named with the option that makes it. */
static void test_hotplug_block_presence(void **state)
{
	(void)state;
	struct cmd c = { 0 };
	q35_opts(&c, true);
	struct sim_board *a = board(&c);
	q35_opts(&c, false);
	struct sim_board *b = board(&c);
	struct stream s = save(a, false);
	expect_err(load(b, &s, false), "acpi-cpuhp: the saved machine had this hot-plug "
		   "block (-smp maxcpus), this one has none");
	free(s.buf);
	s = save(b, false);
	expect_err(load(a, &s, false), "acpi-cpuhp: this machine has this hot-plug block "
		   "(-smp maxcpus), the saved one had none");
	free(s.buf);
	sim_board_free(a);
	sim_board_free(b);
	drive_gone(&c);
}

/* ---- a running machine's stream, and a rewriter for hostile edits ---- */

static void capture(void *opaque, const uint8_t *buf, size_t len)
{
	struct stream *s = opaque;
	s->buf = malloc(len);
	memcpy(s->buf, buf, len);
	s->len = len;
}

/* The self-test of argv saved at point `at` (the sim board's and the
 * self-test's device sets are the same configuration). */
static struct stream running_stream(struct cmd *c, uint64_t at)
{
	char err[512];
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	assert_int_equal(config_parse(cfg, c->argc, c->argv, err, sizeof(err)), 0);
	struct layout l;
	assert_int_equal(layout_build(&l, cfg, err, sizeof(err)), 0);
	struct sim_config sc = { .ram_size = l.ram[0].size, .seed = cfg->seed };
	struct sim *s = sim_new(&sc);
	FILE *out = fopen("/dev/null", "w");
	struct stream st = { 0 };
	struct selftest_snap sn = { .at = at, .on_stream = capture,
				    .stream_opaque = &st };
	selftest_sim_snap(s, cfg, NULL, out, &sn, err, sizeof(err));
	fclose(out);
	sim_free(s);
	free(cfg);
	return st;   /* buf NULL: the run had fewer points */
}

/* Rewrite: copy records, replacing the value of the field at `path`
 * ("sec/sec.field"), or the version of the section at `path` when
 * field is NULL; section lengths are recomputed and the stream resealed. */
struct rw {
	const uint8_t *in;
	size_t pos, end;
	uint8_t *out;
	size_t olen;
	char path[256];
	const char *want;
	const void *val;
	size_t vlen;
	bool hit;
};

static void put(struct rw *r, const void *p, size_t n)
{
	memcpy(r->out + r->olen, p, n);
	r->olen += n;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put64at(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void rw_records(struct rw *r, size_t end)
{
	static const size_t fixed[] = { 0, 1, 2, 4, 8 };
	while (r->pos < end) {
		uint8_t kind = r->in[r->pos], nl = r->in[r->pos + 1];
		char name[256];
		memcpy(name, r->in + r->pos + 2, nl);
		name[nl] = 0;
		size_t plen = strlen(r->path);
		char full[512];
		snprintf(full, sizeof(full), "%s%s%s", r->path,
			 kind == 6 ? (plen ? "/" : "") : ".", name);
		put(r, r->in + r->pos, 2 + nl);
		r->pos += 2 + nl;
		if (kind == 6) {
			uint32_t ver = (uint32_t)r->in[r->pos] |
				       (uint32_t)r->in[r->pos + 1] << 8;
			uint64_t body = get64(r->in + r->pos + 4);
			if (!strcmp(full, r->want) && r->vlen == 4) {
				memcpy(&ver, r->val, 4);
				r->hit = true;
			}
			uint8_t v4[4] = { (uint8_t)ver, (uint8_t)(ver >> 8), 0, 0 };
			put(r, v4, 4);
			size_t lenat = r->olen;
			uint8_t z[8] = { 0 };
			put(r, z, 8);
			r->pos += 12;
			char save[256];
			snprintf(save, sizeof(save), "%s", r->path);
			snprintf(r->path, sizeof(r->path), "%.255s", full);
			size_t start = r->olen;
			rw_records(r, r->pos + body);
			put64at(r->out + lenat, r->olen - start);
			snprintf(r->path, sizeof(r->path), "%s", save);
			continue;
		}
		size_t n = kind == 5 ? 8 + get64(r->in + r->pos) : fixed[kind];
		if (!strcmp(full, r->want) && kind != 5) {
			put(r, r->val, n);
			r->hit = true;
		} else if (!strcmp(full, r->want) && kind == 5 && r->vlen == 16) {
			/* bytes: val is {offset, byte...} (8-byte offset + 8 bytes) */
			uint64_t off = get64(r->val);
			put(r, r->in + r->pos, n);
			memcpy(r->out + r->olen - n + 8 + off, (const uint8_t *)r->val + 8, 1);
			r->hit = true;
		} else {
			put(r, r->in + r->pos, n);
		}
		r->pos += n;
	}
}

static struct stream rewrite(const struct stream *s, const char *want,
			     const void *val, size_t vlen, bool *hit)
{
	struct rw r = { .in = s->buf, .pos = SNAP_HDR_SIZE, .want = want,
			.val = val, .vlen = vlen };
	r.out = malloc(s->len + 64);
	put(&r, s->buf, SNAP_HDR_SIZE);
	rw_records(&r, s->len);
	snap_reseal(r.out, r.olen);
	*hit = r.hit;
	return (struct stream){ r.out, r.olen };
}

/* Find a point whose stream has the field, edit it, load into a fresh
 * board of the same configuration, expect `why` naming it. */
static void hostile(struct cmd *c, const char *field, const void *val,
		    size_t vlen, const char *why)
{
	for (uint64_t at = 100; ; at += 37) {
		struct stream s = running_stream(c, at);
		if (!s.buf)
			fail_msg("no stream holds %s", field);
		bool hit = false;
		struct stream h = rewrite(&s, field, val, vlen, &hit);
		free(s.buf);
		if (!hit) {
			free(h.buf);
			continue;
		}
		struct sim_board *b = board(c);
		const char *e = load(b, &h, false);
		if (!strstr(e, why))
			fail_msg("%s edited: error '%s' lacks '%s'", field, e, why);
		assert_null(strchr(e, '\n'));
		sim_board_free(b);
		free(h.buf);
		return;
	}
}

/* VMM_FUZZ_SEEDS_DIR=dir: write streams of both machines saved mid-run
 * as fuzz/fuzz_snapshot.c seeds (byte 0: machine, checksum fix-up). */
static void write_seeds(struct cmd *c, uint8_t machine)
{
	const char *dir = getenv("VMM_FUZZ_SEEDS_DIR");
	if (!dir)
		return;
	for (uint64_t at = 150; ; at += 250) {
		struct stream s = running_stream(c, at);
		if (!s.buf)
			break;
		char p[256];
		snprintf(p, sizeof(p), "%s/%s-%llu", dir, machine & 1 ? "q35" : "microvm",
			 (unsigned long long)at);
		FILE *f = fopen(p, "wb");
		assert_non_null(f);
		uint8_t b0 = machine | 2;
		fwrite(&b0, 1, 1, f);
		fwrite(s.buf, 1, s.len, f);
		fclose(f);
		free(s.buf);
	}
}

static void test_hostile_microvm(void **state)
{
	(void)state;
	struct cmd c = { 0 };
	microvm(&c, false, false);
	uint16_t big = 0x7fff;
	hostile(&c, "virtio-mmio/virtio/vq0.last_avail", &big, 2,
		"virtio-mmio/virtio/vq0.last_avail: more chains in flight");
	uint16_t three = 3;
	hostile(&c, "virtio-mmio/virtio/vq0.size", &three, 2,
		"virtio-mmio/virtio/vq0.desc: rings misaligned");
	uint32_t v2 = 2;
	hostile(&c, "rtc", &v2, 4, "rtc: section version 2, this vmm reads 1..1");
	uint8_t idx = 200;
	hostile(&c, "rtc.index", &idx, 1, "rtc.index: beyond the CMOS");
	uint64_t feat = 1ull << 60;
	hostile(&c, "virtio-mmio/virtio.features", &feat, 8,
		"virtio-mmio/virtio.features: bits the device never offered");
	uint16_t gpe = 0x4;
	hostile(&c, "acpi-pm.gpe0_en", &gpe, 2,
		"acpi-pm.gpe0_sts: GPE bits on a hardware-reduced machine");
	write_seeds(&c, 0);
	drive_gone(&c);
}

static void test_hostile_q35(void **state)
{
	(void)state;
	struct cmd c = { 0 };
	q35(&c);
	/* BAR4 (the 64-bit modern BAR) moved to 0x7f000000_xxxxxxxx, far
	 * above every window, with memory decode on (firmware assigned the
	 * BARs): cfg byte 0x27 is the top byte of its upper half. */
	uint8_t bar[16] = { 0x27 };
	bar[8] = 0x7f;
	hostile(&c, "virtio-pci/pci.cfg", bar, 16,
		"virtio-pci/pci.bar4: decodes outside the host bridge's window");
	uint64_t pba = ~0ull;
	hostile(&c, "virtio-pci/msix.pba", &pba, 8,
		"virtio-pci/msix.pba: pending bits beyond the table");
	uint8_t mode = 2;
	hostile(&c, "virtio-pci.mode", &mode, 1, "virtio-pci.mode: modern/transitional");
	/* The hot-plug blocks and the DIMM list (docs/snapshot.md). */
	uint8_t ins[16] = { 1, 0, 0, 0, 0, 0, 0, 0, 0x02 };
	hostile(&c, "acpi-cpuhp.flags", ins, 16,
		"acpi-cpuhp.flags: slot 1: an event on an empty slot");
	uint8_t id7[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 7 };
	hostile(&c, "acpi-cpuhp.apic_ids", id7, 16,
		"acpi-cpuhp.apic_ids: slot 0: APIC id 7, here 0 (another -smp shape)");
	uint64_t sz = 32ull << 20;
	hostile(&c, "acpi-memhp/slot0.size", &sz, 8,
		"acpi-memhp/slot0.size: slot 0: saved a 32 MiB DIMM");
	uint8_t fl = 0x2;
	hostile(&c, "acpi-memhp/slot1.flags", &fl, 1,
		"acpi-memhp/slot1.flags: an event on an empty slot");
	uint8_t other[16] = { 8, 0, 0, 0, 0, 0, 0, 0, 'x' };
	hostile(&c, "board.memdev0", other, 16,
		"board.memdev0: saved 'pc-dimm ximm0 (dm0) slot 0 16 MiB @0x");
	write_seeds(&c, 1);
	drive_gone(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_same_stream),
		cmocka_unit_test(test_other_device_set_refused),
		cmocka_unit_test(test_other_memory_refused),
		cmocka_unit_test(test_hostile_microvm),
		cmocka_unit_test(test_hostile_q35),
		cmocka_unit_test(test_hotplug_block_presence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
