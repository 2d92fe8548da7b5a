/* Linux bzImage through the 64-bit boot protocol (boot.rst): setup header
 * validation, the zero page, initrd placement, and hostile headers. */
#include "boot_fixture.h"

#define ZP BOOT_ZERO_PAGE_ADDR
#define SETUP_SECTS 4
#define PM_LEN 0x3000u   /* protected-mode payload bytes */

static size_t make_bz(uint8_t *k, uint16_t version, uint32_t init_size)
{
	size_t setup = (SETUP_SECTS + 1) * 512;
	size_t len = setup + PM_LEN;
	assert_true(len <= 16384);
	memset(k, 0, len);
	k[0x1f1] = SETUP_SECTS;
	uint32_t syssize = PM_LEN / 16;
	memcpy(k + 0x1f4, &syssize, 4);
	k[0x1fe] = 0x55;
	k[0x1ff] = 0xaa;
	k[0x200] = 0xeb;
	k[0x201] = 0x6a;                 /* header ends at 0x26c */
	memcpy(k + 0x202, "HdrS", 4);
	memcpy(k + 0x206, &version, 2);
	k[0x211] = 0x01;                 /* LOADED_HIGH */
	uint32_t v32 = 0x37ffffff;       /* initrd_addr_max */
	memcpy(k + 0x22c, &v32, 4);
	v32 = 0x200000;                  /* kernel_alignment */
	memcpy(k + 0x230, &v32, 4);
	k[0x234] = 1;                    /* relocatable */
	uint16_t xlf = 0x1;              /* XLF_KERNEL_64 */
	memcpy(k + 0x236, &xlf, 2);
	v32 = 2047;                      /* cmdline_size */
	memcpy(k + 0x238, &v32, 4);
	memcpy(k + 0x260, &init_size, 4);
	for (size_t i = 0; i < PM_LEN; i++)
		k[setup + i] = (uint8_t)(i ^ 0xa5);
	return len;
}

static void test_bzimage_64bit(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-machine", "q35", "-m", "128M");
	static uint8_t k[16384];
	size_t len = make_bz(k, 0x020f, 0x800000);
	uint8_t initrd[3000];
	memset(initrd, 0x42, sizeof(initrd));
	assert_int_equal(bt_load(t, k, len, initrd, sizeof(initrd),
				 "console=ttyS0 earlyprintk=serial"), 0);
	/* Protected-mode code at 1 MiB, entered at startup_64 (+0x200). */
	for (unsigned i = 0; i < PM_LEN; i += 97)
		assert_int_equal(bt_u8(t, BOOT_KERNEL_ADDR + i), (uint8_t)(i ^ 0xa5));
	assert_int_equal(t->cpu.proto, BOOT_PROTO_LINUX64);
	assert_int_equal(t->cpu.rip, BOOT_KERNEL_ADDR + 0x200);
	assert_int_equal(t->cpu.rsi, ZP);
	assert_int_equal(t->cpu.cs.sel, 0x10);           /* __BOOT_CS */
	assert_int_equal(t->cpu.ds.sel, 0x18);           /* __BOOT_DS */
	assert_int_equal(t->cpu.cs.l, 1);
	assert_int_equal(t->cpu.efer & 0x500, 0x500);
	assert_int_equal(t->cpu.cr4 & 0x20, 0x20);
	assert_int_equal(t->info.boot_version, 0x020f);
	/* Header copied, loader fields set. */
	assert_int_equal(bt_u16(t, ZP + 0x1fe), 0xaa55);
	assert_int_equal(bt_u32(t, ZP + 0x202), 0x53726448u);
	assert_int_equal(bt_u16(t, ZP + 0x206), 0x020f);
	assert_int_equal(bt_u32(t, ZP + 0x260), 0x800000);
	assert_int_equal(bt_u8(t, ZP + 0x210), 0xff);    /* type_of_loader */
	assert_int_equal(bt_u8(t, ZP + 0x211) & 0x81, 0x81);
	assert_int_equal(bt_u64(t, ZP + 0x070), 0xe0000); /* acpi_rsdp_addr */
	uint32_t cmd = bt_u32(t, ZP + 0x228);
	char got[40] = "";
	assert_int_equal(gm_read(t->gm, cmd, got, 33), 0);
	assert_string_equal(got, "console=ttyS0 earlyprintk=serial");
	/* initrd: below initrd_addr_max and RAM, clear of init_size. */
	uint32_t ia = bt_u32(t, ZP + 0x218), isz = bt_u32(t, ZP + 0x21c);
	assert_int_equal(isz, sizeof(initrd));
	assert_int_equal(ia & 0xfff, 0);
	assert_true(ia >= BOOT_KERNEL_ADDR + 0x800000);
	assert_true((uint64_t)ia + isz <= (128ull << 20));
	assert_int_equal(bt_u8(t, ia + 100), 0x42);
	/* e820 in the zero page = boot_e820_build. */
	struct boot_e820 e[BOOT_E820_MAX];
	int n = boot_e820_build(&t->l, &t->cfg, e, BOOT_E820_MAX);
	assert_int_equal(bt_u8(t, ZP + 0x1e8), n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(bt_u64(t, ZP + 0x2d0 + 20 * i), e[i].addr);
		assert_int_equal(bt_u64(t, ZP + 0x2d0 + 20 * i + 8), e[i].size);
		assert_int_equal(bt_u32(t, ZP + 0x2d0 + 20 * i + 16), e[i].type);
	}
	bt_free(t);
}

static void expect_bad(struct bt *t, const uint8_t *k, size_t len,
		       const char *needle)
{
	assert_int_equal(bt_load(t, k, len, NULL, 0, ""), -1);
	if (!strstr(t->err, needle))
		fail_msg("error '%s' does not mention '%s'", t->err, needle);
}

static void test_bzimage_hostile_headers(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-m", "32M", "-kernel", "/k/bzImage");
	static uint8_t k[16384], good[16384];
	size_t len = make_bz(good, 0x020f, 0x100000);

	expect_bad(t, good, 0x210, "truncated bzImage");      /* header cut */
	memcpy(k, good, len);
	k[0x1fe] = 0;
	expect_bad(t, k, len, "boot_flag");
	memcpy(k, good, len);
	k[0x206] = 0x04;
	k[0x207] = 0x02;                                       /* 2.04 */
	expect_bad(t, k, len, "boot protocol 2.04");
	memcpy(k, good, len);
	k[0x236] = 0;                                          /* no 64-bit entry */
	expect_bad(t, k, len, "XLF_KERNEL_64");
	memcpy(k, good, len);
	k[0x211] = 0;                                          /* zImage */
	expect_bad(t, k, len, "zImage");
	memcpy(k, good, len);
	expect_bad(t, k, len - 1, "truncated bzImage");       /* payload cut */
	memcpy(k, good, len);
	uint32_t huge = 0xffffffffu;
	memcpy(k + 0x1f4, &huge, 4);                           /* syssize */
	expect_bad(t, k, len, "truncated bzImage");
	memcpy(k, good, len);
	k[0x1f1] = 200;                                        /* setup past EOF */
	expect_bad(t, k, len, "truncated bzImage");
	memcpy(k, good, len);
	uint32_t init = 64u << 20;                             /* > 32 MiB RAM */
	memcpy(k + 0x260, &init, 4);
	expect_bad(t, k, len, "raise -m");
	assert_non_null(strstr(t->err, "/k/bzImage"));
	/* setup_sects 0 means 4: the same image still loads. */
	memcpy(k, good, len);
	k[0x1f1] = 0;
	assert_int_equal(bt_load(t, k, len, NULL, 0, ""), 0);
	/* A jump displacement claiming a huge header is clamped. */
	memcpy(k, good, len);
	k[0x201] = 0xff;
	assert_int_equal(bt_load(t, k, len, NULL, 0, ""), 0);
	bt_free(t);
}

/* cmdline_size bounds the command line (boot.rst: excluding the NUL). */
static void test_bzimage_cmdline_size(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-m", "32M");
	static uint8_t k[16384];
	size_t len = make_bz(k, 0x020f, 0x100000);
	uint32_t cs = 16;
	memcpy(k + 0x238, &cs, 4);
	assert_int_equal(bt_load(t, k, len, NULL, 0, "0123456789abcdef"), 0);
	assert_int_equal(bt_load(t, k, len, NULL, 0, "0123456789abcdefX"), -1);
	assert_non_null(strstr(t->err, "limit of 16"));
	bt_free(t);
}

/* initrd_addr_max caps where the initrd goes. */
static void test_bzimage_initrd_addr_max(void **state)
{
	(void)state;
	struct bt *t = BT_NEW("-m", "256M");
	static uint8_t k[16384];
	size_t len = make_bz(k, 0x020f, 0x100000);
	uint32_t max = (64u << 20) - 1;
	memcpy(k + 0x22c, &max, 4);
	uint8_t rd[8192];
	memset(rd, 1, sizeof(rd));
	assert_int_equal(bt_load(t, k, len, rd, sizeof(rd), ""), 0);
	assert_int_equal(t->info.initrd_addr + sizeof(rd), 64u << 20);
	/* Too big to fit below initrd_addr_max: refused. */
	max = (2u << 20) - 1;
	memcpy(k + 0x22c, &max, 4);
	assert_int_equal(bt_load(t, k, len, rd, sizeof(rd), ""), -1);
	assert_non_null(strstr(t->err, "initrd"));
	bt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bzimage_64bit),
		cmocka_unit_test(test_bzimage_hostile_headers),
		cmocka_unit_test(test_bzimage_cmdline_size),
		cmocka_unit_test(test_bzimage_initrd_addr_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
