/* The guest memory map: RAM around the 32-bit hole and the legacy area,
 * reserved ranges, nvdimms only with pmem-legacy=on. */
#include "boot_fixture.h"
#include "devices/nvdimm.h"

static void check_sorted_disjoint(const struct boot_e820 *e, int n)
{
	for (int i = 1; i < n; i++)
		assert_true(e[i - 1].addr + e[i - 1].size <= e[i].addr);
}

static void test_small_microvm(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-machine", "microvm", "-m", "256M");
	struct boot_e820 e[BOOT_E820_MAX];
	int n = boot_e820_build(&t->l, &t->cfg, e, BOOT_E820_MAX);
	assert_int_equal(n, 4);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, LAYOUT_EBDA_START);
	assert_int_equal(e[0].type, BOOT_E820_RAM);
	assert_int_equal(e[1].addr, LAYOUT_EBDA_START);
	assert_int_equal(e[1].addr + e[1].size, LAYOUT_BIOS_END);
	assert_int_equal(e[1].type, BOOT_E820_RESERVED);
	assert_int_equal(e[2].addr, LAYOUT_BIOS_END);
	assert_int_equal(e[2].addr + e[2].size, 256ull << 20);
	assert_int_equal(e[2].type, BOOT_E820_RAM);
	assert_int_equal(e[3].addr, BOOT_KVM_PRIVATE_ADDR);
	assert_int_equal(e[3].type, BOOT_E820_RESERVED);
	check_sorted_disjoint(e, n);
	bt_free(t);
}

/* 4 GiB of RAM: 3 GiB below the hole, 1 GiB from 4 GiB (layout.h). */
static void test_ram_split_around_hole(void **state)
{
	(void)state;
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	char *argv[] = { "vmm", "-m", "4G", NULL };
	char err[256];
	assert_int_equal(config_parse(cfg, 3, argv, err, sizeof(err)), 0);
	struct layout l;
	assert_int_equal(layout_build(&l, cfg, err, sizeof(err)), 0);
	struct boot_e820 e[BOOT_E820_MAX];
	int n = boot_e820_build(&l, cfg, e, BOOT_E820_MAX);
	assert_true(n >= 5);
	check_sorted_disjoint(e, n);
	uint64_t low = 0, high = 0;
	for (int i = 0; i < n; i++) {
		if (e[i].type != BOOT_E820_RAM)
			continue;
		if (e[i].addr < LAYOUT_HOLE_END) {
			assert_true(e[i].addr + e[i].size <= LAYOUT_LOW_RAM_END);
			low += e[i].size;
		} else {
			assert_int_equal(e[i].addr, LAYOUT_HOLE_END);
			high += e[i].size;
		}
	}
	assert_int_equal(low + (LAYOUT_BIOS_END - LAYOUT_EBDA_START), LAYOUT_LOW_RAM_END);
	assert_int_equal(high, 1ull << 30);
	free(cfg);
}

static bool has_range(const struct boot_e820 *e, int n, uint64_t a, uint64_t s,
		      uint32_t type)
{
	for (int i = 0; i < n; i++)
		if (e[i].addr == a && e[i].size == s && e[i].type == type)
			return true;
	return false;
}

static void test_q35_reserves_ecam(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-machine", "q35", "-m", "128M");
	struct boot_e820 e[BOOT_E820_MAX];
	int n = boot_e820_build(&t->l, &t->cfg, e, BOOT_E820_MAX);
	assert_true(has_range(e, n, LAYOUT_ECAM_BASE, LAYOUT_ECAM_SIZE,
			      BOOT_E820_RESERVED));
	check_sorted_disjoint(e, n);
	bt_free(t);
	t = BT_NEW("-machine", "microvm", "-m", "128M");
	n = boot_e820_build(&t->l, &t->cfg, e, BOOT_E820_MAX);
	assert_false(has_range(e, n, LAYOUT_ECAM_BASE, LAYOUT_ECAM_SIZE,
			       BOOT_E820_RESERVED));
	bt_free(t);
}

/* NFIT describes nvdimms; only pmem-legacy=on puts them in e820 (12). */
static void test_nvdimm_only_with_pmem_legacy(void **state)
{
	(void)state;
	const char *base[] = { "-m", "128M,slots=2,maxmem=1G", "-object",
		"memory-backend-file,id=m0,mem-path=/nonexistent,size=2M",
		"-device", "nvdimm,id=nv0,memdev=m0", "-machine", NULL, NULL };
	for (int legacy = 0; legacy < 2; legacy++) {
		base[7] = legacy ? "microvm,nvdimm=on,pmem-legacy=on" : "microvm,nvdimm=on";
		struct bt *t = bt_new_v(base);
		const struct layout_dev *ld = NULL;
		for (unsigned i = 0; i < t->l.ndevs; i++)
			if (t->l.devs[i].pmem_size)
				ld = &t->l.devs[i];
		assert_non_null(ld);
		struct boot_e820 e[BOOT_E820_MAX];
		int n = boot_e820_build(&t->l, &t->cfg, e, BOOT_E820_MAX);
		bool found = false;
		for (int i = 0; i < n; i++) {
			/* Never RAM, never overlapping. */
			assert_false(e[i].addr < ld->pmem_base + ld->pmem_size &&
				     ld->pmem_base < e[i].addr + e[i].size &&
				     e[i].type != BOOT_E820_PRAM);
			if (e[i].type == BOOT_E820_PRAM) {
				assert_int_equal(e[i].addr, ld->pmem_base);
				assert_int_equal(e[i].size, ld->pmem_size);
				found = true;
			}
		}
		assert_int_equal(found, legacy);
		check_sorted_disjoint(e, n);
		bt_free(t);
	}
}

/* The NFIT's flush hints (one 4 KiB page per nvdimm at NVDIMM_FLUSH_BASE)
 * are reserved in e820 whenever the NFIT points at them, and only then:
 * no nvdimm=on, or pmem-legacy=on (no NFIT), leaves the page out. */
static void test_flush_hints_reserved(void **state)
{
	(void)state;
	const char *args[] = { "-m", "128M,slots=3,maxmem=1G",
		"-object", "memory-backend-file,id=m0,mem-path=/nonexistent,size=2M",
		"-device", "nvdimm,id=nv0,memdev=m0",
		"-object", "memory-backend-file,id=m1,mem-path=/nonexistent,size=2M",
		"-device", "nvdimm,id=nv1,memdev=m1", "-machine", NULL, NULL };
	static const struct { const char *machine; uint64_t size; } cases[] = {
		{ "q35,nvdimm=on", 2 * NVDIMM_FLUSH_STRIDE },
		{ "microvm,nvdimm=on", 2 * NVDIMM_FLUSH_STRIDE },
		{ "microvm,nvdimm=on,pmem-legacy=on", 0 },
	};
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		args[11] = cases[c].machine;
		struct bt *t = bt_new_v(args);
		struct boot_e820 e[BOOT_E820_MAX];
		int n = boot_e820_build(&t->l, &t->cfg, e, BOOT_E820_MAX);
		assert_true(n > 0);
		check_sorted_disjoint(e, n);
		bool found = false;
		for (int i = 0; i < n; i++) {
			bool in_hints = e[i].addr < NVDIMM_FLUSH_BASE + 2 * NVDIMM_FLUSH_STRIDE &&
					NVDIMM_FLUSH_BASE < e[i].addr + e[i].size;
			if (e[i].addr == NVDIMM_FLUSH_BASE) {
				assert_int_equal(e[i].size, cases[c].size);
				assert_int_equal(e[i].type, BOOT_E820_RESERVED);
				found = true;
			} else {
				/* Nothing else (RAM least of all) covers them. */
				assert_false(in_hints);
			}
		}
		assert_int_equal(found, cases[c].size != 0);
		bt_free(t);
	}
	/* No nvdimm at all: no flush-hint entry. */
	struct bt *t = BT_NEW("-machine", "q35", "-m", "128M");
	struct boot_e820 e[BOOT_E820_MAX];
	int n = boot_e820_build(&t->l, &t->cfg, e, BOOT_E820_MAX);
	for (int i = 0; i < n; i++)
		assert_true(e[i].addr != NVDIMM_FLUSH_BASE);
	bt_free(t);
}

static void test_table_too_small(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-m", "256M");
	struct boot_e820 e[2];
	assert_int_equal(boot_e820_build(&t->l, &t->cfg, e, 2), -ENOSPC);
	assert_int_equal(boot_e820_build(&t->l, &t->cfg, e, 0), -ENOSPC);
	bt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_microvm),
		cmocka_unit_test(test_ram_split_around_hole),
		cmocka_unit_test(test_q35_reserves_ecam),
		cmocka_unit_test(test_nvdimm_only_with_pmem_legacy),
		cmocka_unit_test(test_flush_hints_reserved),
		cmocka_unit_test(test_table_too_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
