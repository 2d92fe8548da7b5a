/* SHPC hot-plug on the board, in the simulator, with the test playing
 * Linux's shpchp and the sim guest driver binding the device: a board
 * built from "-machine q35 -device pci-bridge,...,shpc=on -drive ..."
 * gets a virtio-blk-pci through config_add_device + board_hotplug_add
 * (what device_add does); the driver sees the presence/attention
 * interrupt, enables the slot with a Slot Operation command, enumerates
 * the function behind the bridge and reads sector 0; device_del's
 * attention button, the driver's disable with the Power Indicator off,
 * and the device is gone from the board (device_deleted told once, its
 * items freed: ASan would see a leak or a use after free).  A bridge with
 * shpc=off refuses, and a failed hot-add leaves nothing. */
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
#include "devices/pci/shpc.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/virtio.h"
#include "machine/board.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "sim/vdriver_queue.h"
#include "pci_fixture.h"
#include "hotplug_fixture.h"

#define BR_SLOT 2u
#define SEC_BUS 1u
#define HP_SLOT 3u

struct hfix {
	struct machine_config cfg;
	struct layout l;
	struct sim *s;
	struct board *b;
	struct board_host host;
	char disk[64], err[512];
	char deleted[64];
	int ndeleted;
	uint64_t bar;
	unsigned gsi;
};

static void on_deleted(void *o, const char *id)
{
	struct hfix *f = o;
	f->ndeleted++;
	snprintf(f->deleted, sizeof(f->deleted), "%s", id);
}

static uint32_t crd(struct hfix *f, uint32_t off, unsigned len)
{
	return (uint32_t)sim_mmio_read(f->s, pcifx_ecam(0, PCI_DEVFN(BR_SLOT, 0), off), len);
}

static struct hfix *setup_board(void)
{
	struct hfix *f = calloc(1, sizeof(*f));
	strcpy(f->disk, "/tmp/test_shpc_sim_XXXXXX");
	int fd = mkstemp(f->disk);
	assert_true(fd >= 0);
	const char *text = "SHPC-HOT-SECTOR0";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	char drive[128];
	snprintf(drive, sizeof(drive), "id=d0,file=%s,readonly=on", f->disk);
	char *argv[] = { "vmm", "-machine", "q35", "-device",
			 "pci-bridge,id=br0,bus=pcie.0,chassis_nr=1,shpc=on,addr=2",
			 "-device", "pci-bridge,id=br1,bus=pcie.0,chassis_nr=2,shpc=off,addr=5",
			 "-drive", drive, NULL };
	if (config_parse(&f->cfg, 9, argv, f->err, sizeof(f->err)) != 0)
		fail_msg("config_parse: %s", f->err);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = 1 };
	f->s = sim_new(&sc);
	f->host = (struct board_host){ .wall_epoch = 1767225600,
				       .device_deleted = on_deleted, .device_deleted_opaque = f };
	f->b = board_new(&f->s->m, &f->cfg, &f->l, &f->host, f->err, sizeof(f->err));
	if (!f->b)
		fail_msg("board_new: %s", f->err);
	/* shpchp's probe: the capability, BAR 0 as firmware assigned it
	 * (Base Offset 0), the bridge's INTx line. */
	bool cap = false;
	for (unsigned p = crd(f, PCI_CAPABILITY_LIST, 1), n = 0; p && n < 48; n++) {
		cap |= crd(f, p, 1) == PCI_CAP_ID_SHPC;
		p = crd(f, p + 1, 1);
	}
	assert_true(cap);
	f->bar = crd(f, PCI_BASE_ADDRESS_0, 4) & ~0xfu;
	assert_true(f->bar != 0);
	assert_int_equal(crd(f, PCI_SECONDARY_BUS, 1), SEC_BUS);
	f->gsi = crd(f, PCI_INTERRUPT_LINE, 1);
	assert_int_equal(f->gsi, LAYOUT_GSI_PCI_INTX + (BR_SLOT + 0) % 4);
	return f;
}

static void teardown_board(struct hfix *f)
{
	board_free(f->b);
	sim_free(f->s);
	unlink(f->disk);
	free(f);
}

static uint32_t mr(struct hfix *f, unsigned off, unsigned len)
{
	return (uint32_t)sim_mmio_read(f->s, f->bar + off, len);
}

static void mw(struct hfix *f, unsigned off, unsigned len, uint32_t v)
{
	sim_mmio_write(f->s, f->bar + off, len, v);
}

/* shpchp's shpc_write_cmd: code and target, wait for Command Detected,
 * acknowledge it.  Returns Command Status. */
static uint16_t slot_cmd(struct hfix *f, unsigned slot, uint8_t code)
{
	mw(f, SHPC_CMD, 2, slot << 8 | code);
	assert_true(mr(f, SHPC_SERR_INT, 4) & SHPC_SERRINT_CMD_DETECTED);
	uint16_t st = (uint16_t)mr(f, SHPC_CMD_STATUS, 2);
	mw(f, SHPC_SERR_INT, 4, (mr(f, SHPC_SERR_INT, 4) & 0xffff) | SHPC_SERRINT_CMD_DETECTED);
	return st;
}

#define OP(state, pwr, attn) ((uint8_t)((state) | (pwr) << 2 | (attn) << 4))

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

static void read_sector0(struct hfix *f, char *got)
{
	hpfx_read_sector0(f->s, SEC_BUS, HP_SLOT, got);
}

static void test_shpc_hot_add_bind_release(void **state)
{
	(void)state;
	struct hfix *f = setup_board();
	unsigned i = HP_SLOT - 1;
	/* shpchp's init: slot events and command completion unmasked. */
	for (unsigned k = 0; k < SHPC_NSLOTS; k++)
		mw(f, SHPC_SLOT(k) + SHPC_SLOT_MASK, 1,
		   SHPC_EV_MRL_SERR_MASK | SHPC_EV_CONN_FAULT_SERR_MASK);
	mw(f, SHPC_SERR_INT, 4, SHPC_SERRINT_SERR_MASK | SHPC_SERRINT_ARB_SERR_MASK);
	assert_int_equal(f->s->gsi_level[f->gsi], 0);
	unsigned before = board_device_count(f->b);

	/* Refusals leave nothing behind. */
	assert_int_equal(hot_add(f, "virtio-blk-pci,id=v0,drive=nope,bus=br0,addr=0x3"), -1);
	assert_int_equal(hot_add(f, "virtio-blk-pci,id=v0,drive=d0,bus=br1,addr=0x3"), -1);
	assert_string_equal(f->err, "Bus 'br1' does not support hotplugging");
	assert_int_equal(board_device_count(f->b), before);
	assert_int_equal(f->s->gsi_level[f->gsi], 0);

	assert_int_equal(hot_add(f, "virtio-blk-pci,id=v0,drive=d0,bus=br0,addr=0x3"), 0);
	assert_int_equal(board_device_count(f->b), before + 1);
	/* Told: presence, MRL, button; slot 3 in the locator; INTx up. */
	assert_int_equal(mr(f, SHPC_SLOT(i) + SHPC_SLOT_EVENTS, 1),
			 SHPC_EV_PRESENCE | SHPC_EV_MRL | SHPC_EV_BUTTON);
	assert_int_equal(mr(f, SHPC_INT_LOCATOR, 4), 1u << HP_SLOT);
	assert_int_equal(f->s->gsi_level[f->gsi], 1);
	mw(f, SHPC_SLOT(i) + SHPC_SLOT_EVENTS, 1, 0xff);
	assert_int_equal(f->s->gsi_level[f->gsi], 0);
	/* board_added: blink, enable, lit. */
	assert_int_equal(slot_cmd(f, HP_SLOT, OP(0, SHPC_LED_BLINK, 0)), 0);
	assert_int_equal(slot_cmd(f, HP_SLOT, OP(SHPC_STATE_ENABLED, 0, 0)), 0);
	assert_int_equal(slot_cmd(f, HP_SLOT, OP(0, SHPC_LED_ON, 0)), 0);
	char got[17];
	read_sector0(f, got);
	assert_string_equal(got, "SHPC-HOT-SECTOR0");

	/* device_del: a request; the device stays until the guest acts. */
	assert_int_equal(board_hotplug_del(f->b, "nope"), -ENODEV);
	assert_int_equal(board_hotplug_del(f->b, "v0"), 0);
	assert_true(mr(f, SHPC_SLOT(i) + SHPC_SLOT_EVENTS, 1) & SHPC_EV_BUTTON);
	/* Again: pressed again (QEMU's SHPC has no "already in process"). */
	mw(f, SHPC_SLOT(i) + SHPC_SLOT_EVENTS, 1, SHPC_EV_BUTTON);
	assert_int_equal(board_hotplug_del(f->b, "v0"), 0);
	assert_true(mr(f, SHPC_SLOT(i) + SHPC_SLOT_EVENTS, 1) & SHPC_EV_BUTTON);
	assert_int_equal(f->s->gsi_level[f->gsi], 1);
	assert_int_equal(f->ndeleted, 0);
	mw(f, SHPC_SLOT(i) + SHPC_SLOT_EVENTS, 1, SHPC_EV_BUTTON);
	/* remove_board: disable, then the indicator off completes it. */
	assert_int_equal(slot_cmd(f, HP_SLOT, OP(0, SHPC_LED_BLINK, 0)), 0);
	assert_int_equal(slot_cmd(f, HP_SLOT, OP(SHPC_STATE_DISABLED, SHPC_LED_OFF, 0)), 0);
	assert_int_equal(f->ndeleted, 1);
	assert_string_equal(f->deleted, "v0");
	assert_int_equal(board_device_count(f->b), before);
	assert_int_equal((uint32_t)sim_mmio_read(f->s, pcifx_ecam(SEC_BUS, PCI_DEVFN(HP_SLOT, 0), 0), 4),
			 0xffffffffu);
	assert_int_equal(mr(f, SHPC_SLOT(i), 2) & SHPC_STS_PRSNT_MASK, SHPC_STS_PRSNT_EMPTY);
	assert_int_equal(board_hotplug_del(f->b, "v0"), -ENODEV);
	assert_int_equal(config_remove_device(&f->cfg, "v0"), 2);   /* its index */
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);

	/* Again into the same slot; left plugged for board_free. */
	assert_int_equal(hot_add(f, "virtio-blk-pci,id=v1,drive=d0,bus=br0,addr=03"), 0);
	assert_int_equal(slot_cmd(f, HP_SLOT, OP(SHPC_STATE_ENABLED, SHPC_LED_ON, 0)), 0);
	read_sector0(f, got);
	assert_string_equal(got, "SHPC-HOT-SECTOR0");
	teardown_board(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shpc_hot_add_bind_release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
