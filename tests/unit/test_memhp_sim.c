/* ACPI memory hot-plug in the simulator (issue 17): a board built from
 * "-m 128M,slots=2,maxmem=1G" with a cold pc-dimm, driven through port
 * 0xa00 the way the DSDT's MHPD methods (and the test guest) drive it:
 * the cold DIMM is enabled without an event and its memory is guest
 * RAM; a hot DIMM raises an insert event and GPE0 bit 3 (q35) or the GED
 * memory event (microvm); device_del's remove event; the guest's eject.
 * A hostile guest -- a selector past the slots, an eject of an empty
 * slot, an eject nobody asked for, events cleared twice -- leaves the
 * board consistent: the host hears of each DIMM's eject exactly once.
 * Also the placement rules (QEMU's errors), the SRAT, and an e820 map
 * without the window. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "devices/acpi/acpi.h"
#include "devices/acpi/mem_hotplug.h"
#include "kvm/boot.h"
#include "machine/board.h"
#include "sim/sim.h"

#define M128 (128ull << 20)
#define WIN 0x100000000ull

struct mfix {
	struct machine_config cfg;
	struct layout l;
	struct sim *s;
	struct board *b;
	struct board_host host;
	char err[512];
	unsigned ejected[8];
	unsigned nejected;
};

static void on_ejected(void *o, unsigned slot)
{
	struct mfix *f = o;
	if (f->nejected < 8)
		f->ejected[f->nejected] = slot;
	f->nejected++;
}

static struct mfix *mk(const char *machine)
{
	struct mfix *f = calloc(1, sizeof(*f));
	char *argv[] = { "vmm", "-machine", (char *)machine, "-m", "128M,slots=2,maxmem=1G",
			 "-object", "memory-backend-ram,id=m0,size=128M",
			 "-device", "pc-dimm,id=d0,memdev=m0", NULL };
	if (config_parse(&f->cfg, 9, argv, f->err, sizeof(f->err)) != 0)
		fail_msg("config_parse: %s", f->err);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = 1 };
	f->s = sim_new(&sc);
	f->host = (struct board_host){ .wall_epoch = 1767225600,
				       .dimm_ejected = on_ejected, .dimm_ejected_opaque = f };
	f->b = board_new(&f->s->m, &f->cfg, &f->l, &f->host, f->err, sizeof(f->err));
	if (!f->b)
		fail_msg("board_new: %s", f->err);
	return f;
}

static void rm(struct mfix *f)
{
	board_free(f->b);
	sim_free(f->s);
	free(f);
}

static uint32_t rd(struct mfix *f, unsigned off)
{
	return (uint32_t)sim_pio_read(f->s, (uint16_t)(MEMHP_IO_BASE + off), 4);
}
static uint8_t sts(struct mfix *f, unsigned slot)
{
	sim_pio_write(f->s, MEMHP_IO_BASE, 4, slot);
	return (uint8_t)sim_pio_read(f->s, MEMHP_IO_BASE + MEMHP_REG_STATUS, 1);
}
static void ctl(struct mfix *f, unsigned slot, uint8_t v)
{
	sim_pio_write(f->s, MEMHP_IO_BASE, 4, slot);
	sim_pio_write(f->s, MEMHP_IO_BASE + MEMHP_REG_STATUS, 1, v);
}

static void test_cold_dimm(void **state)
{
	(void)state;
	struct mfix *f = mk("q35");
	assert_int_equal(sts(f, 0), MEMHP_STS_ENABLED);   /* no event */
	assert_int_equal(rd(f, MEMHP_REG_BASE_LO), 0);
	assert_int_equal(rd(f, MEMHP_REG_BASE_HI), 1);
	assert_int_equal(rd(f, MEMHP_REG_LEN_LO), (uint32_t)M128);
	assert_int_equal(sts(f, 1), 0);
	/* Its memory is guest memory. */
	uint64_t v = 0x5a5a1234;
	assert_int_equal(gm_write_u64le(f->s->m.gm, WIN + M128 - 8, v), 0);
	assert_int_equal(gm_read_u64le(f->s->m.gm, WIN + M128 - 8, &v), 0);
	assert_int_equal(v, 0x5a5a1234);
	rm(f);
}

static void test_hot_plug_and_eject_q35(void **state)
{
	(void)state;
	struct mfix *f = mk("q35");
	sim_pio_write(f->s, ACPI_GPE0_IO_BASE + 2, 1, 1u << MEMHP_GPE_BIT);  /* GPE0_EN */
	assert_int_equal(board_dimm_plug(f->b, 0, WIN, M128, 0), -EBUSY);
	assert_int_equal(board_dimm_plug(f->b, 2, WIN, M128, 0), -EINVAL);
	assert_int_equal(board_dimm_plug(f->b, 1, WIN + M128, M128, 0), 0);
	assert_int_equal(sts(f, 1), MEMHP_STS_ENABLED | MEMHP_STS_INSERT);
	assert_int_equal(sim_pio_read(f->s, ACPI_GPE0_IO_BASE, 1), 1u << MEMHP_GPE_BIT);
	assert_int_equal(rd(f, MEMHP_REG_BASE_LO), (uint32_t)M128);
	ctl(f, 1, MEMHP_CTL_CLEAR_INSERT);
	assert_int_equal(sts(f, 1), MEMHP_STS_ENABLED);
	sim_pio_write(f->s, ACPI_GPE0_IO_BASE, 1, 1u << MEMHP_GPE_BIT);  /* W1C */
	assert_int_equal(sim_pio_read(f->s, ACPI_GPE0_IO_BASE, 1), 0);
	/* device_del: remove event, asked once. */
	assert_int_equal(board_dimm_unplug_request(f->b, 1), 0);
	assert_int_equal(board_dimm_unplug_request(f->b, 1), -EALREADY);
	assert_int_equal(sts(f, 1), MEMHP_STS_ENABLED | MEMHP_STS_REMOVE);
	ctl(f, 1, MEMHP_CTL_CLEAR_REMOVE);
	/* _OST, then _EJ0. */
	sim_pio_write(f->s, MEMHP_IO_BASE + MEMHP_REG_OST_EVENT, 4, 0x103);
	sim_pio_write(f->s, MEMHP_IO_BASE + MEMHP_REG_OST_STATUS, 4, 0x80);
	assert_int_equal(board_memhp(f->b)->slots[1].ost_event, 0x103);
	ctl(f, 1, MEMHP_CTL_EJECT);
	assert_int_equal(f->nejected, 1);
	assert_int_equal(f->ejected[0], 1);
	assert_int_equal(sts(f, 1), 0);
	assert_int_equal(rd(f, MEMHP_REG_LEN_LO), 0);
	assert_int_equal(board_dimm_unplug_request(f->b, 1), -ENODEV);
	/* The slot takes a DIMM again. */
	assert_int_equal(board_dimm_plug(f->b, 1, WIN + M128, M128, 0), 0);
	rm(f);
}

static void test_hostile_guest(void **state)
{
	(void)state;
	struct mfix *f = mk("q35");
	struct memhp *h = board_memhp(f->b);
	uint64_t rej = h->rejected;
	/* A selector past the slots reads zeros; writes through it drop. */
	assert_int_equal(sts(f, 7), 0);
	assert_int_equal(rd(f, MEMHP_REG_BASE_HI), 0);
	ctl(f, 7, MEMHP_CTL_EJECT);
	sim_pio_write(f->s, MEMHP_IO_BASE, 4, 0xffffffffu);
	sim_pio_write(f->s, MEMHP_IO_BASE + MEMHP_REG_OST_EVENT, 4, 1);
	assert_true(h->rejected > rej);
	/* Ejecting the empty slot: nothing. */
	ctl(f, 1, MEMHP_CTL_EJECT);
	assert_int_equal(f->nejected, 0);
	/* Clearing events that are not there, odd widths, the reserved
	 * bytes: no effect on the DIMM. */
	ctl(f, 0, MEMHP_CTL_CLEAR_INSERT | MEMHP_CTL_CLEAR_REMOVE);
	sim_pio_write(f->s, MEMHP_IO_BASE + 0x15, 2, 0xffff);
	sim_pio_write(f->s, MEMHP_IO_BASE + 0x0c, 4, 0xffffffffu);
	assert_int_equal(sts(f, 0), MEMHP_STS_ENABLED);
	/* An eject nobody asked for is an eject (ACPI lets OSPM start one,
	 * QEMU honours it): the host hears once, a second does nothing. */
	ctl(f, 0, MEMHP_CTL_EJECT);
	ctl(f, 0, MEMHP_CTL_EJECT);
	assert_int_equal(f->nejected, 1);
	assert_int_equal(f->ejected[0], 0);
	assert_int_equal(sts(f, 0), 0);
	/* One action per write, QEMU's order: clear-insert wins over eject. */
	assert_int_equal(board_dimm_plug(f->b, 0, WIN, M128, 0), 0);
	ctl(f, 0, MEMHP_CTL_CLEAR_INSERT | MEMHP_CTL_EJECT);
	assert_int_equal(sts(f, 0), MEMHP_STS_ENABLED);
	assert_int_equal(f->nejected, 1);
	rm(f);
}

static void test_microvm_ged(void **state)
{
	(void)state;
	struct mfix *f = mk("microvm");
	assert_int_equal(board_dimm_plug(f->b, 1, WIN + M128, M128, 0), 0);
	/* _EVT reads the selector (read clears): the memory event. */
	assert_int_equal(sim_pio_read(f->s, ACPI_PM_IO_BASE + ACPI_GED_SEL_OFF, 1), MEMHP_GED_EVT);
	assert_int_equal(sim_pio_read(f->s, ACPI_PM_IO_BASE + ACPI_GED_SEL_OFF, 1), 0);
	assert_int_equal(sts(f, 1), MEMHP_STS_ENABLED | MEMHP_STS_INSERT);
	rm(f);
}

/* Placement: QEMU 7.2's words for each refusal. */
static void expect_layout(const char *m, const char *const *devs, const char *want)
{
	struct machine_config cfg;
	struct layout l;
	char err[512];
	const char *argv[32] = { "vmm", "-machine", "q35", "-m", m };
	int n = 5;
	for (unsigned i = 0; devs[i]; i++)
		argv[n++] = devs[i];
	assert_int_equal(config_parse(&cfg, n, (char **)argv, err, sizeof(err)), want ? 0 : 0);
	int r = layout_build(&l, &cfg, err, sizeof(err));
	if (!want) {
		assert_int_equal(r, 0);
		return;
	}
	assert_int_equal(r, -1);
	if (!strstr(err, want))
		fail_msg("got '%s', want '%s'", err, want);
}

static void test_placement(void **state)
{
	(void)state;
	static const char *const two[] = {
		"-object", "memory-backend-ram,id=a,size=128M", "-device", "pc-dimm,id=da,memdev=a",
		"-object", "memory-backend-ram,id=b,size=128M", "-device", "pc-dimm,id=db,memdev=b",
		"-object", "memory-backend-ram,id=c,size=128M", "-device", "pc-dimm,id=dc,memdev=c", NULL };
	expect_layout("256M,slots=2,maxmem=2G", two, "no free slots available");
	static const char *const big[] = {
		"-object", "memory-backend-ram,id=a,size=1G", "-device", "pc-dimm,id=da,memdev=a", NULL };
	expect_layout("256M,slots=2,maxmem=1G", big,
		      "not enough space, currently 0x0 in use of total space for memory devices 0x30000000");
	static const char *const busy[] = {
		"-object", "memory-backend-ram,id=a,size=128M", "-device", "pc-dimm,id=da,memdev=a,slot=1",
		"-object", "memory-backend-ram,id=b,size=128M", "-device", "pc-dimm,id=db,memdev=b,slot=1", NULL };
	expect_layout("256M,slots=2,maxmem=2G", busy, "slot 1 is busy");
	static const char *const clash[] = {
		"-object", "memory-backend-ram,id=a,size=128M", "-device", "pc-dimm,id=da,memdev=a,addr=0x100000000",
		"-object", "memory-backend-ram,id=b,size=128M", "-device", "pc-dimm,id=db,memdev=b,addr=0x104000000", NULL };
	expect_layout("256M,slots=2,maxmem=2G", clash, "address range conflicts with memory device id='da'");
	/* First fit around a fixed one. */
	static const char *const fit[] = {
		"-object", "memory-backend-ram,id=a,size=128M", "-device", "pc-dimm,id=da,memdev=a,addr=0x108000000",
		"-object", "memory-backend-ram,id=b,size=128M", "-device", "pc-dimm,id=db,memdev=b", NULL };
	expect_layout("256M,slots=2,maxmem=2G", fit, NULL);
	struct machine_config cfg;
	struct layout l;
	char err[256];
	char *argv[] = { "vmm", "-m", "256M,slots=2,maxmem=2G", "-object", "memory-backend-ram,id=a,size=3M",
			 "-device", "pc-dimm,id=da,memdev=a", NULL };
	assert_int_equal(config_parse(&cfg, 7, argv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "backend memory size must be multiple of 0x200000"));
	char *argv2[] = { "vmm", "-m", "256M", "-object", "memory-backend-ram,id=a,size=2M",
			  "-device", "pc-dimm,id=da,memdev=a", NULL };
	assert_int_equal(config_parse(&cfg, 7, argv2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "memory devices (e.g. for memory hotplug) are not supported by the machine"));
	(void)l;
}

static void test_srat_and_e820(void **state)
{
	(void)state;
	struct mfix *f = mk("q35");
	struct acpi_blob b;
	assert_int_equal(acpi_blob_build(&b, &f->cfg, &f->l, LAYOUT_ACPI_BASE, LAYOUT_ACPI_SIZE, NULL), 0);
	const struct acpi_table_ref *t = acpi_blob_find(&b, "SRAT");
	assert_non_null(t);
	/* The last Memory Affinity entry: the window, hot-pluggable. */
	const uint8_t *p = b.data + t->off + t->len - 40;
	uint64_t base, len;
	uint32_t flags;
	memcpy(&base, p + 8, 8);
	memcpy(&len, p + 16, 8);
	memcpy(&flags, p + 28, 4);
	assert_int_equal(p[0], 1);
	assert_int_equal(base, WIN);
	assert_int_equal(len, (1ull << 30) - M128);
	assert_int_equal(flags, 3);
	assert_non_null(acpi_blob_find(&b, "DSDT"));
	acpi_blob_free(&b);
	/* The window (and the cold DIMM in it) is not in e820, as QEMU. */
	struct boot_e820 map[32];
	int n = boot_e820_build(&f->l, &f->cfg, map, 32);
	assert_true(n > 0);
	for (int i = 0; i < n; i++)
		assert_true(map[i].addr + map[i].size <= WIN || map[i].addr >= WIN + (1ull << 30));
	rm(f);
}

/* object-add / object-del on the description: all or nothing, in use
 * refused by the caller's check. */
static void test_objects(void **state)
{
	(void)state;
	struct machine_config cfg;
	char err[256];
	char *argv[] = { "vmm", "-m", "256M,slots=2,maxmem=2G", NULL };
	assert_int_equal(config_parse(&cfg, 3, argv, err, sizeof(err)), 0);
	unsigned n = cfg.nobjects;
	assert_int_equal(config_add_object(&cfg, "memory-backend-ram,id=m1,size=134217728", err, sizeof(err)), 0);
	assert_int_equal(config_add_object(&cfg, "memory-backend-ram,id=m1,size=134217728", err, sizeof(err)), -1);
	assert_int_equal(config_add_object(&cfg, "memory-backend-file,id=f1,size=2M", err, sizeof(err)), -1);
	assert_int_equal(config_add_object(&cfg, "memory-backend-ram,id=m2,size=1G,bogus=1", err, sizeof(err)), -1);
	assert_int_equal(cfg.nobjects, n + 1);
	assert_int_equal(config_add_device(&cfg, "pc-dimm,id=d1,memdev=m1", err, sizeof(err)), 0);
	assert_true(config_object_in_use(&cfg, "m1"));
	int idx = (int)cfg.ndevices - 1;
	assert_int_equal(config_remove_device(&cfg, "d1"), idx);
	assert_false(config_object_in_use(&cfg, "m1"));
	assert_int_equal(config_remove_object(&cfg, "m1"), 0);
	assert_int_equal(config_remove_object(&cfg, "m1"), -1);
	assert_int_equal(cfg.nobjects, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cold_dimm),
		cmocka_unit_test(test_hot_plug_and_eject_q35),
		cmocka_unit_test(test_hostile_guest),
		cmocka_unit_test(test_microvm_ged),
		cmocka_unit_test(test_placement),
		cmocka_unit_test(test_srat_and_e820),
		cmocka_unit_test(test_objects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
