/* PCIe hot-plug on the board, in the simulator, with the sim guest
 * driver playing pciehp: a board built from "-machine q35 -device
 * pcie-root-port ... -drive ..." gets a virtio-blk-pci through
 * config_add_device + board_hotplug_add (what device_add does); the
 * driver sees Presence Detect (and the INTx it raises), enumerates the
 * function behind the port, binds it and reads sector 0; device_del's
 * attention button, the driver's power-off, and the device is gone from
 * the board (device_deleted told once, its items freed: ASan would see a
 * leak or a use after free).  A failed hot-add leaves nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "devices/pci/pci.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/virtio.h"
#include "machine/board.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "sim/vdriver_queue.h"
#include "pci_fixture.h"
#include "hotplug_fixture.h"

#define RP_SLOT 2u

struct hfix {
	struct machine_config cfg;
	struct layout l;
	struct sim *s;
	struct board *b;
	struct board_host host;  /* the board keeps a pointer to it */
	char disk[64], err[512];
	char deleted[64];
	int ndeleted;
};

static void on_deleted(void *o, const char *id)
{
	struct hfix *f = o;
	f->ndeleted++;
	snprintf(f->deleted, sizeof(f->deleted), "%s", id);
}

static struct hfix *setup_board(void)
{
	struct hfix *f = calloc(1, sizeof(*f));
	strcpy(f->disk, "/tmp/test_hotplug_XXXXXX");
	int fd = mkstemp(f->disk);
	assert_true(fd >= 0);
	const char *text = "HOTPLUG-SECTOR-0";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	char drive[128];
	snprintf(drive, sizeof(drive), "id=d0,file=%s,readonly=on", f->disk);
	char *argv[] = { "vmm", "-machine", "q35", "-device",
			 "pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=4,addr=2",
			 "-drive", drive, NULL };
	if (config_parse(&f->cfg, 7, argv, f->err, sizeof(f->err)) != 0)
		fail_msg("config_parse: %s", f->err);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = 1 };
	f->s = sim_new(&sc);
	f->host = (struct board_host){ .wall_epoch = 1767225600,
				       .device_deleted = on_deleted, .device_deleted_opaque = f };
	f->b = board_new(&f->s->m, &f->cfg, &f->l, &f->host, f->err, sizeof(f->err));
	if (!f->b)
		fail_msg("board_new: %s", f->err);
	return f;
}

static void teardown_board(struct hfix *f)
{
	board_free(f->b);
	sim_free(f->s);
	unlink(f->disk);
	free(f);
}

static uint32_t prd(struct hfix *f, uint32_t off, unsigned len)
{
	return (uint32_t)sim_mmio_read(f->s, pcifx_ecam(0, PCI_DEVFN(RP_SLOT, 0), off), len);
}
static void pwr(struct hfix *f, uint32_t off, unsigned len, uint32_t v)
{
	sim_mmio_write(f->s, pcifx_ecam(0, PCI_DEVFN(RP_SLOT, 0), off), len, v);
}

static unsigned find_exp(struct hfix *f)
{
	for (unsigned p = prd(f, PCI_CAPABILITY_LIST, 1), n = 0; p && n < 48; n++) {
		if (prd(f, p, 1) == PCI_CAP_ID_EXP)
			return p;
		p = prd(f, p + 1, 1);
	}
	return 0;
}

/* device_add's steps on the board (kvm_hotplug.c does the same). */
static int hot_add(struct hfix *f, const char *opts)
{
	if (config_add_device(&f->cfg, opts, f->err, sizeof(f->err)) < 0)
		return -1;
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	if (board_hotplug_add(f->b, f->cfg.ndevices - 1, f->err, sizeof(f->err)) < 0) {
		f->cfg.ndevices--;
		layout_build(&f->l, &f->cfg, NULL, 0);
		return -1;
	}
	return 0;
}

/* Bind: probe behind the port, one IN request for sector 0. */
static void read_sector0(struct hfix *f, char *got)
{
	hpfx_read_sector0(f->s, 1, 0, got);
}

static void test_hot_add_bind_release(void **state)
{
	(void)state;
	struct hfix *f = setup_board();
	unsigned exp = find_exp(f);
	assert_true(exp);
	unsigned gsi = LAYOUT_GSI_PCI_INTX + (RP_SLOT + 0) % 4;
	/* pciehp's init: events on, INTx (no MSI). */
	pwr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	pwr(f, exp + PCI_EXP_SLTCTL, 2, PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_PDCE |
	    PCI_EXP_SLTCTL_HPIE | PCI_EXP_SLTCTL_ATTN_IND_OFF | PCI_EXP_SLTCTL_PWR_IND_OFF);
	pwr(f, exp + PCI_EXP_SLTSTA, 2, 0xffff);
	assert_false(prd(f, exp + PCI_EXP_SLTSTA, 2) & PCI_EXP_SLTSTA_PDS);
	assert_int_equal(f->s->gsi_level[gsi], 0);
	unsigned before = board_device_count(f->b);

	/* Refusals roll back: nothing is added. */
	assert_int_equal(hot_add(f, "virtio-blk-pci,id=v0,drive=nope,bus=rp0"), -1);
	assert_int_equal(hot_add(f, "virtio-blk-pci,id=v0,drive=d0,bus=rp0,iothread=x"), -1);
	assert_int_equal(board_device_count(f->b), before);
	assert_false(prd(f, exp + PCI_EXP_SLTSTA, 2) & PCI_EXP_SLTSTA_PDS);

	assert_int_equal(hot_add(f, "virtio-blk-pci,id=v0,drive=d0,bus=rp0,addr=0x0"), 0);
	assert_int_equal(board_device_count(f->b), before + 1);
	/* The guest is told: presence, its interrupt. */
	uint16_t sta = (uint16_t)prd(f, exp + PCI_EXP_SLTSTA, 2);
	assert_true(sta & PCI_EXP_SLTSTA_PDS);
	assert_true(sta & PCI_EXP_SLTSTA_PDC);
	assert_int_equal(f->s->gsi_level[gsi], 1);
	pwr(f, exp + PCI_EXP_SLTSTA, 2, 0xffff);
	assert_int_equal(f->s->gsi_level[gsi], 0);
	assert_true(prd(f, exp + PCI_EXP_LNKSTA, 2) & PCI_EXP_LNKSTA_DLLLA);
	char got[17];
	read_sector0(f, got);
	assert_string_equal(got, "HOTPLUG-SECTOR-0");
	/* Bound: the Power Indicator on, as pciehp leaves a working slot. */
	pwr(f, exp + PCI_EXP_SLTCTL, 2, (prd(f, exp + PCI_EXP_SLTCTL, 2) & ~PCI_EXP_SLTCTL_PIC) |
	    PCI_EXP_SLTCTL_PWR_IND_ON);
	pwr(f, exp + PCI_EXP_SLTSTA, 2, 0xffff);

	/* device_del: a request; the device stays until the guest acts. */
	assert_int_equal(board_hotplug_del(f->b, "nope"), -ENODEV);
	assert_int_equal(board_hotplug_del(f->b, "v0"), 0);
	assert_int_equal(board_hotplug_del(f->b, "v0"), -EALREADY);
	assert_int_equal(f->s->gsi_level[gsi], 1);
	assert_int_equal(f->ndeleted, 0);
	pwr(f, exp + PCI_EXP_SLTSTA, 2, PCI_EXP_SLTSTA_ABP);
	uint16_t ctl = (uint16_t)prd(f, exp + PCI_EXP_SLTCTL, 2);
	pwr(f, exp + PCI_EXP_SLTCTL, 2, ctl | PCI_EXP_SLTCTL_PCC);
	assert_int_equal(f->ndeleted, 0);
	pwr(f, exp + PCI_EXP_SLTCTL, 2, (ctl & ~PCI_EXP_SLTCTL_PIC) | PCI_EXP_SLTCTL_PCC |
	    PCI_EXP_SLTCTL_PWR_IND_OFF);
	assert_int_equal(f->ndeleted, 1);
	assert_string_equal(f->deleted, "v0");
	assert_int_equal(board_device_count(f->b), before);
	assert_int_equal((uint32_t)sim_mmio_read(f->s, pcifx_ecam(1, 0, 0), 4), 0xffffffffu);
	assert_int_equal(board_hotplug_del(f->b, "v0"), -ENODEV);
	/* The description follows (kvm_hotplug.c does this on the hook). */
	assert_int_equal(config_remove_device(&f->cfg, "v0"), 1);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);

	/* And again: the slot is reusable (powered on by the guest). */
	pwr(f, exp + PCI_EXP_SLTSTA, 2, 0xffff);
	assert_int_equal(hot_add(f, "virtio-blk-pci,id=v1,drive=d0,bus=rp0"), 0);
	pwr(f, exp + PCI_EXP_SLTCTL, 2, PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_PDCE |
	    PCI_EXP_SLTCTL_HPIE | PCI_EXP_SLTCTL_ATTN_IND_OFF | PCI_EXP_SLTCTL_PWR_IND_ON);
	read_sector0(f, got);
	assert_string_equal(got, "HOTPLUG-SECTOR-0");
	/* Left plugged: board_free frees it with the rest. */
	teardown_board(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hot_add_bind_release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
