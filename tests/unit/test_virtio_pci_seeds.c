/* The seed corpus of fuzz/fuzz_pci_config.c: real driver scenarios
 * (INTx and MSI-X) recorded from the sim event log (ECAM, port and BAR
 * accesses) into the fuzzer's record format, plus a hostile config
 * sequence and the legacy registers, each replayed through the fuzzer's
 * own code, which must reach what it was written for.
 * VMM_WRITE_SEEDS_PCI=DIR writes them (fuzz/corpus/pci_config). */
#define VIRTIO_PCI_NO_LEGACY
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/virtio_pci.h>
#include <stdio.h>
#include "devices/pci/msix.h"
#include "fuzz/fuzz_pci_config.h"
#include "vdev_dummy.h"

struct seed {
	uint8_t *bytes;
	size_t len, cap;
};

static void seed_rec(struct seed *sd, uint8_t op, uint8_t a, uint16_t off,
		     uint64_t val)
{
	if (sd->len + FPCI_REC > sd->cap) {
		sd->cap = sd->cap ? sd->cap * 2 : 4096;
		sd->bytes = realloc(sd->bytes, sd->cap);
		assert_non_null(sd->bytes);
	}
	uint8_t *r = sd->bytes + sd->len;
	r[0] = op;
	r[1] = a;
	r[2] = (uint8_t)off;
	r[3] = (uint8_t)(off >> 8);
	for (unsigned i = 0; i < 8; i++)
		r[4 + i] = (uint8_t)(val >> (8 * i));
	sd->len += FPCI_REC;
}

static uint8_t lenbits(unsigned len)
{
	return (uint8_t)((len == 1 ? 0 : len == 2 ? 1 : len == 4 ? 2 : 3) << 3);
}

static void seed_from_events(struct seed *sd, struct env *e)
{
	size_t n = sim_event_count(e->s);
	const struct sim_event *ev = sim_events(e->s);
	for (size_t i = 0; i < n; i++) {
		uint8_t w = ev[i].is_write ? 0 : 1, lb = lenbits(ev[i].len_or_level);
		uint64_t a = ev[i].addr;
		if (ev[i].kind == SIM_EV_PIO) {
			seed_rec(sd, (uint8_t)((FPCI_PIO_W + w) | lb), 0, (uint16_t)a,
				 ev[i].data);
		} else if (ev[i].kind != SIM_EV_MMIO) {
			continue;
		} else if (a >= LAYOUT_ECAM_BASE && a < LAYOUT_ECAM_BASE + (1u << 20)) {
			uint64_t o = a - LAYOUT_ECAM_BASE;
			seed_rec(sd, (uint8_t)((FPCI_ECAM_W + w) | lb), (uint8_t)(o >> 12),
				 (uint16_t)(o & 0xfff), ev[i].data);
		} else if (a >= LAYOUT_PCI_MMIO32_BASE &&
			   a < LAYOUT_PCI_MMIO32_BASE + (64u << 20)) {
			uint64_t o = a - LAYOUT_PCI_MMIO32_BASE;
			seed_rec(sd, (uint8_t)((FPCI_MMIO_W + w) | lb | (o & 3) << 6),
				 (uint8_t)(o >> 18), (uint16_t)(o >> 2), ev[i].data);
		}
	}
}

static void seed_write(const struct seed *sd, const char *name)
{
	const char *dir = getenv("VMM_WRITE_SEEDS_PCI");
	if (!dir)
		return;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(sd->bytes, 1, sd->len, fp), sd->len);
	fclose(fp);
}

static void seed_scenario(enum env_kind kind, const char *name)
{
	struct env *e = env_new_rec(kind, true);
	assert_non_null(e);
	vdriver_set_memory(&e->drv, 0x10000, 0xe0000);
	assert_int_equal(env_start(e, 0), 0);
	e->drv.bus->kick(&e->drv, 0);
	e->drv.bus->kick(&e->drv, 1);
	if (kind == ENV_PCI_MSIX) {
		uint64_t ctrl = e->drv.msix_table + PCI_MSIX_ENTRY_SIZE +
				PCI_MSIX_ENTRY_VECTOR_CTRL;
		sim_mmio_write(e->s, ctrl, 4, 1);
		sim_mmio_write(e->s, ctrl, 4, 0);
	}
	(void)e->drv.bus->isr_ack(&e->drv);
	(void)e->drv.bus->config_read(&e->drv, 0, 4);
	struct seed sd = { 0 };
	seed_from_events(&sd, e);
	/* Device events between driver steps: a used buffer on queue 0, a
	 * config change, INTx on the plain functions. */
	seed_rec(&sd, FPCI_DEVICE, 0, 0, 0);
	seed_rec(&sd, FPCI_DEVICE, 1, 0, 0);
	seed_rec(&sd, FPCI_DEVICE, 2, 0, 0);
	seed_rec(&sd, FPCI_DEVICE, 7, 1, 0);
	seed_rec(&sd, FPCI_DEVICE, 3, 0, 0);
	struct fpci_stats st;
	assert_int_equal(fpci_run(sd.bytes, sd.len, &st), 0);
	assert_int_equal(st.activates, 1);
	assert_int_equal(st.notifies, 2);
	assert_true(st.mapped_bars >= 2);
	if (kind == ENV_PCI_MSIX)
		assert_true(st.msi >= 2);
	seed_write(&sd, name);
	free(sd.bytes);
	env_free(e);
}

static void test_seed_intx(void **state)
{
	(void)state;
	seed_scenario(ENV_PCI_INTX, "virtio-intx");
}

static void test_seed_msix(void **state)
{
	(void)state;
	seed_scenario(ENV_PCI_MSIX, "virtio-msix");
}

/* The fuzzer's own driver steps and a hostile config sequence: BAR
 * sizing and moving with decode on, 0xCF8 garbage, resource assignment,
 * resets. */
static void test_seed_hostile(void **state)
{
	(void)state;
	struct seed sd = { 0 };
	uint8_t t1 = FPCI_T1;
	seed_rec(&sd, FPCI_DRIVER, 0, 1, 0);       /* probe with MSI-X */
	seed_rec(&sd, FPCI_DRIVER, 1, 0x40, 0);    /* negotiate (+PACKED) */
	seed_rec(&sd, FPCI_DRIVER, 2, 0, 0);
	seed_rec(&sd, FPCI_DRIVER, 3, 0, 0);
	seed_rec(&sd, FPCI_ECAM_W | lenbits(4), t1, PCI_BASE_ADDRESS_0, 0xffffffff);
	seed_rec(&sd, FPCI_ECAM_R | lenbits(4), t1, PCI_BASE_ADDRESS_0, 0);
	seed_rec(&sd, FPCI_ECAM_W | lenbits(4), t1, PCI_BASE_ADDRESS_0,
		 LAYOUT_PCI_MMIO32_BASE + 0x4000000);
	seed_rec(&sd, FPCI_ECAM_W | lenbits(4), t1, PCI_BASE_ADDRESS_1, 0x7000);
	seed_rec(&sd, FPCI_ECAM_W | lenbits(2), t1, PCI_COMMAND, 7);
	seed_rec(&sd, FPCI_MMIO_W | lenbits(4), 0x10, 0, 0x55);
	seed_rec(&sd, FPCI_PIO_W | lenbits(2), 0, 0x7000, 0x66);
	seed_rec(&sd, FPCI_ECAM_W | lenbits(4), t1, PCI_BASE_ADDRESS_2, 0);
	seed_rec(&sd, FPCI_ECAM_W | lenbits(4), t1, PCI_BASE_ADDRESS_3, 0x80);
	seed_rec(&sd, FPCI_PIO_W | lenbits(4), 0, 0xcf8, 0x80000000u | t1 << 8 | 4);
	seed_rec(&sd, FPCI_PIO_W | lenbits(2), 0, 0xcfc, 0x400);
	seed_rec(&sd, FPCI_PIO_R | lenbits(1), 0, 0xcfd, 0);
	seed_rec(&sd, FPCI_PIO_W | lenbits(1), 0, 0xcf9, 0);
	seed_rec(&sd, FPCI_DEVICE, 2, 0, 0);
	seed_rec(&sd, FPCI_DEVICE, 4, 0, 0);
	seed_rec(&sd, FPCI_DEVICE, 5, 0, 0);
	seed_rec(&sd, FPCI_DEVICE, 6, 0, 0);
	seed_rec(&sd, FPCI_ECAM_W | lenbits(8), t1, 0, ~0ull);
	seed_rec(&sd, FPCI_ECAM_R | lenbits(4) | 0x40, 0x18, 0x3fe, 0);
	struct fpci_stats st;
	assert_int_equal(fpci_run(sd.bytes, sd.len, &st), 0);
	assert_int_equal(st.records, sd.len / FPCI_REC);
	assert_int_equal(st.activates, 1);
	seed_write(&sd, "hostile");
	free(sd.bytes);
}

/* The fuzzer's legacy driver steps on its transitional function, then
 * hostile port writes into the legacy header: a seed for the legacy
 * registers. */
static void test_seed_legacy(void **state)
{
	(void)state;
	struct seed sd = { 0 };
	seed_rec(&sd, FPCI_DRIVER, 0, 3, 0);       /* legacy probe, MSI-X */
	seed_rec(&sd, FPCI_DRIVER, 1, 0, 0);
	seed_rec(&sd, FPCI_DRIVER, 2, 0, 0);
	seed_rec(&sd, FPCI_DRIVER, 2, 1, 0);
	seed_rec(&sd, FPCI_DRIVER, 3, 0, 0);
	/* The sim driver put BAR 0 at the start of its 03.0 I/O slice. */
	uint16_t io = (uint16_t)(LAYOUT_PCI_IO_BASE + PCI_DEVFN(FPCI_VIRTIO_SLOT, 0) * 0x80);
	seed_rec(&sd, FPCI_PIO_W | lenbits(2), 0, io + 16, 0);      /* notify 0 */
	seed_rec(&sd, FPCI_PIO_W | lenbits(2), 0, io + 14, 9);      /* select past end */
	seed_rec(&sd, FPCI_PIO_W | lenbits(4), 0, io + 8, 0xfffff); /* PFN */
	seed_rec(&sd, FPCI_PIO_W | lenbits(2), 0, io + 12, 8);      /* size: r/o */
	seed_rec(&sd, FPCI_PIO_R | lenbits(4), 0, io + 17, 0);
	seed_rec(&sd, FPCI_PIO_W | lenbits(1), 0, io + 18, 0);      /* reset */
	struct fpci_stats st;
	assert_int_equal(fpci_run(sd.bytes, sd.len, &st), 0);
	assert_int_equal(st.activates, 1);
	assert_int_equal(st.notifies, 1);
	seed_write(&sd, "legacy");
	free(sd.bytes);
}
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_intx),
		cmocka_unit_test(test_seed_msix),
		cmocka_unit_test(test_seed_hostile),
		cmocka_unit_test(test_seed_legacy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
