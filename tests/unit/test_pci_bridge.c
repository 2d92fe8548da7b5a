/* The PCI-to-PCI bridge (devices/pci/bridge.h): its type 1 header as
 * Linux's pci_setup_device / pci_read_bridge_windows probe it, type 1
 * config routing through 0xCF8 and ECAM by bus number, BAR decode gated
 * by the windows and the bridge's command register, ISA enable, the
 * double INTx swizzle, secondary bus reset, firmware-style resource
 * assignment and hostile bus numbers.  A virtio-pci function behind the
 * bridge is in test_pci_bridge_virtio.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/layout.h"
#include "devices/pci/bridge.h"
#include "devices/pci/pci.h"
#include "sim/sim.h"
#include "pci_fixture.h"

#define BR_SLOT 2u
#define BR_DEVFN PCI_DEVFN(BR_SLOT, 0)
#define MMIO64_BASE 0x8000000000ull

struct tdev {
	struct pci_dev pci;
	unsigned hits;
};

static int tdev_access(void *opaque, uint64_t off, void *data, unsigned len,
		       bool is_write)
{
	struct tdev *t = opaque;
	(void)off;
	t->hits++;
	if (!is_write)
		memset(data, 0x5a, len);
	return 0;
}

/* MEM32 BAR0 4 KiB, I/O BAR1 16 bytes, 64-bit prefetchable BAR2 16 KiB. */
static void tdev_init(struct tdev *t, uint16_t devid)
{
	struct pci_dev_info info = { .vendor_id = 0x1b36, .device_id = devid,
				     .class_code = 0xff0000, .irq_pin = 1 };
	memset(t, 0, sizeof(*t));
	pci_dev_init(&t->pci, &info, "tdev", NULL);
	assert_int_equal(pci_dev_set_bar(&t->pci, 0, PCI_BAR_MEM32, 0x1000, false,
					 tdev_access, t, "m"), 0);
	assert_int_equal(pci_dev_set_bar(&t->pci, 1, PCI_BAR_IO, 0x10, false,
					 tdev_access, t, "io"), 0);
	assert_int_equal(pci_dev_set_bar(&t->pci, 2, PCI_BAR_MEM64, 0x4000, true,
					 tdev_access, t, "m64"), 0);
}

struct fix {
	struct sim *s;
	struct pci_host *h;
	struct pci_bridge *br;
	struct tdev a, b, c;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sim_config sc = { .ram_size = 32 << 20 };
	f->s = sim_new(&sc);
	struct pci_host_windows w = {
		.mmio32_base = LAYOUT_PCI_MMIO32_BASE, .mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
		.mmio64_base = MMIO64_BASE, .mmio64_size = 1ull << 30,
		.io_base = LAYOUT_PCI_IO_BASE, .io_size = LAYOUT_PCI_IO_SIZE,
	};
	f->h = pci_host_new(f->s->m.pio, f->s->m.mmio, LAYOUT_ECAM_BASE, &w,
			    f->s->m.irqchip, NULL);
	f->br = pci_bridge_new(7, true, "br", NULL);
	tdev_init(&f->a, 0xa);
	tdev_init(&f->b, 0xb);
	tdev_init(&f->c, 0xc);
	*state = f;
	if (!f->h || !f->br)
		return -1;
	return pci_host_attach(f->h, pci_bridge_dev(f->br), BR_SLOT, 0);
}

static int teardown(void **state)
{
	struct fix *f = *state;
	pci_bridge_free(f->br);
	pci_host_free(f->h);
	sim_free(f->s);
	free(f);
	return 0;
}

/* The bridge's registers as the guest writes them (bus 0, ECAM). */
static uint32_t brd(struct fix *f, uint32_t off, unsigned len)
{
	return (uint32_t)sim_mmio_read(f->s, pcifx_ecam(0, BR_DEVFN, off), len);
}

static void bwr(struct fix *f, uint32_t off, unsigned len, uint32_t v)
{
	sim_mmio_write(f->s, pcifx_ecam(0, BR_DEVFN, off), len, v);
}

static void test_header(void **state)
{
	struct fix *f = *state;
	assert_int_equal(brd(f, PCI_VENDOR_ID, 4), 0x00011b36);
	assert_int_equal(brd(f, PCI_CLASS_REVISION, 4) >> 8, 0x060400);
	assert_int_equal(brd(f, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_BRIDGE);
	assert_int_equal(brd(f, PCI_INTERRUPT_PIN, 1), 0);
	/* Unconfigured: all bus numbers 0, as after reset. */
	assert_int_equal(brd(f, PCI_PRIMARY_BUS, 4), 0);
	bwr(f, PCI_PRIMARY_BUS, 4, 0x40030100);
	assert_int_equal(brd(f, PCI_PRIMARY_BUS, 4), 0x40030100);
	assert_int_equal(pci_bridge_secondary(f->br), 1);
	assert_int_equal(pci_bridge_subordinate(f->br), 3);
	/* pci_read_bridge_windows: I/O window probe 0xe0f0 sticks, the
	 * low nibbles say 16-bit I/O, the upper-16 registers stay 0. */
	bwr(f, PCI_IO_BASE, 2, 0xe0f0);
	assert_int_equal(brd(f, PCI_IO_BASE, 2), 0xe0f0);
	bwr(f, PCI_IO_BASE, 2, 0xffff);
	assert_int_equal(brd(f, PCI_IO_BASE, 2), 0xf0f0);
	bwr(f, PCI_IO_BASE_UPPER16, 4, 0xffffffff);
	assert_int_equal(brd(f, PCI_IO_BASE_UPPER16, 4), 0);
	/* Memory window: bits 31:20 only. */
	bwr(f, PCI_MEMORY_BASE, 4, 0xffffffff);
	assert_int_equal(brd(f, PCI_MEMORY_BASE, 4), 0xfff0fff0);
	/* Prefetchable: 64-bit type in the low nibble, read-only; upper
	 * halves writable. */
	assert_int_equal(brd(f, PCI_PREF_MEMORY_BASE, 4), 0x00010001);
	bwr(f, PCI_PREF_MEMORY_BASE, 4, 0xfff0fff0);
	assert_int_equal(brd(f, PCI_PREF_MEMORY_BASE, 4), 0xfff1fff1);
	bwr(f, PCI_PREF_BASE_UPPER32, 4, 0xffffffff);
	assert_int_equal(brd(f, PCI_PREF_BASE_UPPER32, 4), 0xffffffff);
	bwr(f, PCI_PREF_LIMIT_UPPER32, 4, 0x12345678);
	assert_int_equal(brd(f, PCI_PREF_LIMIT_UPPER32, 4), 0x12345678);
	/* Bridge control: VGA stays off, ISA / SERR / parity / master
	 * abort / bus reset writable. */
	bwr(f, PCI_BRIDGE_CONTROL, 2, 0xffff);
	assert_int_equal(brd(f, PCI_BRIDGE_CONTROL, 2),
			 PCI_BRIDGE_CTL_PARITY | PCI_BRIDGE_CTL_SERR |
			 PCI_BRIDGE_CTL_ISA | PCI_BRIDGE_CTL_MASTER_ABORT |
			 PCI_BRIDGE_CTL_BUS_RESET);
	/* No expansion ROM, no BARs. */
	bwr(f, PCI_ROM_ADDRESS1, 4, 0xffffffff);
	assert_int_equal(brd(f, PCI_ROM_ADDRESS1, 4), 0);
	bwr(f, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(brd(f, PCI_BASE_ADDRESS_0, 4), 0);
	/* Secondary status: error bits are write-1-to-clear. */
	pci_cfg_set16(pci_bridge_dev(f->br), PCI_SEC_STATUS, PCI_STATUS_REC_MASTER_ABORT);
	bwr(f, PCI_SEC_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT);
	assert_int_equal(brd(f, PCI_SEC_STATUS, 2), 0);
}

static void test_slot_id_cap(void **state)
{
	struct fix *f = *state;
	assert_true(brd(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	unsigned c = brd(f, PCI_CAPABILITY_LIST, 1), found = 0;
	for (unsigned n = 0; c && n < 48; n++) {
		if (brd(f, c, 1) == PCI_CAP_ID_SLOTID) {
			found = c;
			break;
		}
		c = brd(f, c + PCI_CAP_LIST_NEXT, 1);
	}
	assert_true(found >= PCI_STD_HEADER_SIZEOF);
	assert_int_equal(brd(f, found + PCI_SID_ESR, 1), PCI_SID_ESR_FIC);
	assert_int_equal(brd(f, found + PCI_SID_CHASSIS_NR, 1), 7);
	/* The chassis number is software-writable (§13.4.1), the rest not. */
	bwr(f, found, 4, 0xffffffff);
	assert_int_equal(brd(f, found, 4),
			 0xff000000u | PCI_SID_ESR_FIC << 16 | PCI_CAP_ID_SLOTID);
	/* No SHPC capability even with shpc=on (hot-plug not modelled). */
	assert_int_equal(brd(f, found + PCI_CAP_LIST_NEXT, 1), 0);
}

static void test_config_routing(void **state)
{
	struct fix *f = *state;
	assert_int_equal(pci_bridge_attach(f->br, &f->a.pci, 1, 0), 0);
	assert_int_equal(pci_bridge_attach(f->br, &f->b.pci, 4, 3), 0);
	/* Secondary 0: nothing routes (bus 0 is the host's). */
	assert_int_equal(sim_mmio_read(f->s, pcifx_ecam(1, PCI_DEVFN(1, 0), 0), 4), 0xffffffff);
	assert_int_equal(pcifx_cf8_read(f->s, 1, PCI_DEVFN(1, 0), 0, 4), 0xffffffff);
	assert_int_equal(sim_mmio_read(f->s, pcifx_ecam(0, PCI_DEVFN(1, 0), 0), 4), 0xffffffff);
	/* Linux (or firmware) numbers the bridge 0/1/1. */
	pcifx_cf8_write(f->s, 0, BR_DEVFN, PCI_PRIMARY_BUS, 4, 0x00010100);
	assert_int_equal(sim_mmio_read(f->s, pcifx_ecam(1, PCI_DEVFN(1, 0), 0), 4), 0x000a1b36);
	assert_int_equal(pcifx_cf8_read(f->s, 1, PCI_DEVFN(1, 0), 0, 4), 0x000a1b36);
	assert_int_equal(pcifx_cf8_read(f->s, 1, PCI_DEVFN(4, 3), 2, 2), 0x000b);
	/* Slot 4 function 0 absent: function 3 answers anyway, 0 reads
	 * all-ones, and function 0 of slot 1 has no multifunction bit. */
	assert_int_equal(pcifx_cf8_read(f->s, 1, PCI_DEVFN(4, 0), 0, 4), 0xffffffff);
	assert_int_equal(pcifx_cf8_read(f->s, 1, PCI_DEVFN(1, 0), PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(pcifx_cf8_read(f->s, 2, PCI_DEVFN(1, 0), 0, 4), 0xffffffff);
	/* Writes reach the child: type 1 converted to type 0. */
	pcifx_cf8_write(f->s, 1, PCI_DEVFN(1, 0), PCI_INTERRUPT_LINE, 1, 0x33);
	assert_int_equal(pci_cfg_get8(&f->a.pci, PCI_INTERRUPT_LINE), 0x33);
	sim_mmio_write(f->s, pcifx_ecam(1, PCI_DEVFN(1, 0), PCI_CACHE_LINE_SIZE), 1, 0x10);
	assert_int_equal(pci_cfg_get8(&f->a.pci, PCI_CACHE_LINE_SIZE), 0x10);
	/* Renumbered: the children follow the secondary bus. */
	bwr(f, PCI_SECONDARY_BUS, 1, 5);
	bwr(f, PCI_SUBORDINATE_BUS, 1, 9);
	assert_int_equal(sim_mmio_read(f->s, pcifx_ecam(1, PCI_DEVFN(1, 0), 0), 4), 0xffffffff);
	assert_int_equal(sim_mmio_read(f->s, pcifx_ecam(5, PCI_DEVFN(1, 0), 0), 4), 0x000a1b36);
	/* Buses 6..9 would be behind a bridge behind this one: none, so a
	 * master abort; bus 10 is nobody's. */
	for (unsigned bus = 6; bus <= 10; bus++)
		assert_int_equal(pcifx_cf8_read(f->s, bus, PCI_DEVFN(1, 0), 0, 4), 0xffffffff);
	/* Config forwarding ignores the bridge's command register. */
	bwr(f, PCI_COMMAND, 2, 0);
	assert_int_equal(pcifx_cf8_read(f->s, 5, PCI_DEVFN(1, 0), 0, 2), 0x1b36);
	/* Attach errors. */
	assert_int_equal(pci_bridge_attach(f->br, &f->c.pci, 1, 0), -EEXIST);
	assert_int_equal(pci_bridge_attach(f->br, &f->c.pci, 32, 0), -EINVAL);
	assert_int_equal(pci_bridge_attach(f->br, &f->a.pci, 2, 0), -EINVAL);
	assert_int_equal(pci_bridge_attach(f->br, pci_bridge_dev(f->br), 3, 0), -EINVAL);
	struct pci_bridge *loose = pci_bridge_new(1, false, NULL, NULL);
	assert_int_equal(pci_bridge_attach(loose, &f->c.pci, 1, 0), -EINVAL);
	pci_bridge_free(loose);
	/* Detach: the function vanishes from the bus. */
	pci_bridge_detach(f->br, &f->a.pci);
	assert_null(f->a.pci.host);
	assert_int_equal(sim_mmio_read(f->s, pcifx_ecam(5, PCI_DEVFN(1, 0), 0), 4), 0xffffffff);
	pci_bridge_detach(f->br, &f->a.pci);   /* twice: harmless */
}

/* Child a's BARs programmed and decode on: memory 0xc0100000, I/O 0x7100,
 * 64-bit prefetchable at MMIO64_BASE + 1 MiB. */
static void program_child(struct fix *f)
{
	assert_int_equal(pci_bridge_attach(f->br, &f->a.pci, 1, 0), 0);
	pci_bridge_set_buses(f->br, 0, 1, 1);
	unsigned fn = PCI_DEVFN(1, 0);
	pcifx_cf8_write(f->s, 1, fn, PCI_BASE_ADDRESS_0, 4, 0xc0100000);
	pcifx_cf8_write(f->s, 1, fn, PCI_BASE_ADDRESS_1, 4, 0x7100);
	pcifx_cf8_write(f->s, 1, fn, PCI_BASE_ADDRESS_2, 4, (uint32_t)(MMIO64_BASE + 0x100000));
	pcifx_cf8_write(f->s, 1, fn, PCI_BASE_ADDRESS_3, 4, (uint32_t)(MMIO64_BASE >> 32));
	pcifx_cf8_write(f->s, 1, fn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
}

static bool mem_hit(struct fix *f, uint64_t a)
{
	return sim_mmio_read(f->s, a, 4) == 0x5a5a5a5a;
}

static bool io_hit(struct fix *f, uint16_t port)
{
	return sim_pio_read(f->s, port, 1) == 0x5a;
}

static void test_windows_gate_decode(void **state)
{
	struct fix *f = *state;
	program_child(f);
	/* Bridge decode off, windows closed: nothing reaches the child. */
	assert_false(mem_hit(f, 0xc0100000));
	assert_false(io_hit(f, 0x7100));
	assert_false(mem_hit(f, MMIO64_BASE + 0x100000));
	/* Memory window [0xc0100000, 0xc01fffff] but Memory Space off. */
	bwr(f, PCI_MEMORY_BASE, 2, 0xc010);
	bwr(f, PCI_MEMORY_LIMIT, 2, 0xc010);
	assert_false(mem_hit(f, 0xc0100000));
	bwr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(mem_hit(f, 0xc0100000));
	assert_false(io_hit(f, 0x7100));
	/* The 64-bit BAR is outside both windows until the prefetchable
	 * window opens with its upper 32 bits (written after the low half,
	 * as Linux's pci_setup_bridge_mmio_pref does). */
	assert_false(mem_hit(f, MMIO64_BASE + 0x100000));
	bwr(f, PCI_PREF_MEMORY_BASE, 2, 0x0010);
	bwr(f, PCI_PREF_MEMORY_LIMIT, 2, 0x0010);
	assert_false(mem_hit(f, MMIO64_BASE + 0x100000));
	bwr(f, PCI_PREF_BASE_UPPER32, 4, (uint32_t)(MMIO64_BASE >> 32));
	assert_false(mem_hit(f, MMIO64_BASE + 0x100000));  /* base > limit */
	bwr(f, PCI_PREF_LIMIT_UPPER32, 4, (uint32_t)(MMIO64_BASE >> 32));
	assert_true(mem_hit(f, MMIO64_BASE + 0x100000));
	struct pci_bridge_windows w;
	pci_bridge_get_windows(f->br, &w);
	assert_true(w.pref_base == MMIO64_BASE + 0x100000 &&
		    w.pref_limit == MMIO64_BASE + 0x1fffff);
	/* Window moved away: the BAR stops decoding, moved back: again. */
	bwr(f, PCI_MEMORY_BASE, 4, 0xc020c020);
	assert_false(mem_hit(f, 0xc0100000));
	bwr(f, PCI_MEMORY_BASE, 4, 0xc010c010);
	assert_true(mem_hit(f, 0xc0100000));
	/* The window's last page decodes; limit below base closes it. */
	pcifx_cf8_write(f->s, 1, PCI_DEVFN(1, 0), PCI_BASE_ADDRESS_0, 4, 0xc01ff000);
	assert_true(mem_hit(f, 0xc01ff000));
	bwr(f, PCI_MEMORY_BASE, 4, 0xc000c010);   /* limit 0xc00fffff < base */
	assert_false(mem_hit(f, 0xc01ff000));
	bwr(f, PCI_MEMORY_BASE, 4, 0xc010c000);   /* [0xc0000000, 0xc01fffff] */
	assert_true(mem_hit(f, 0xc01ff000));
	/* I/O: window 0x7000-0x7fff plus I/O Space Enable. */
	bwr(f, PCI_IO_BASE, 2, 0x7070);
	assert_false(io_hit(f, 0x7100));
	bwr(f, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_true(io_hit(f, 0x7100));
	pci_bridge_get_windows(f->br, &w);
	assert_true(w.io_base == 0x7000 && w.io_limit == 0x7fff);
	/* ISA Enable: 0x7100 is in the top 768 bytes of its 1 KiB block,
	 * so not forwarded; 0x7400 (first 256 bytes) is. */
	bwr(f, PCI_BRIDGE_CONTROL, 2, PCI_BRIDGE_CTL_ISA);
	assert_false(io_hit(f, 0x7100));
	pcifx_cf8_write(f->s, 1, PCI_DEVFN(1, 0), PCI_BASE_ADDRESS_1, 4, 0x7400);
	assert_true(io_hit(f, 0x7400));
	bwr(f, PCI_BRIDGE_CONTROL, 2, 0);
	pcifx_cf8_write(f->s, 1, PCI_DEVFN(1, 0), PCI_BASE_ADDRESS_1, 4, 0x7100);
	assert_true(io_hit(f, 0x7100));
	/* Bridge decode off again: all of it gone. */
	bwr(f, PCI_COMMAND, 2, 0);
	assert_false(io_hit(f, 0x7100));
	assert_false(mem_hit(f, MMIO64_BASE + 0x100000));
}

static void test_forwards_edges(void **state)
{
	struct fix *f = *state;
	struct pci_bridge_windows w = { .io_base = 0x6000, .io_limit = 0x6fff,
		.mem_base = 0xc0000000, .mem_limit = 0xc00fffff,
		.pref_base = 1, .pref_limit = 0 };
	pci_bridge_set_windows(f->br, &w);
	pci_cfg_write(pci_bridge_dev(f->br), PCI_COMMAND, 2,
		      PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_true(pci_bridge_forwards(f->br, false, 0xc0000000, 0x100000));
	assert_false(pci_bridge_forwards(f->br, false, 0xc0000000, 0x100001));
	assert_false(pci_bridge_forwards(f->br, false, 0xbffff000, 0x2000));
	assert_false(pci_bridge_forwards(f->br, false, 0xc00ff000, 0));
	assert_false(pci_bridge_forwards(f->br, false, ~0ull - 0xfff, 0x1000));
	assert_false(pci_bridge_forwards(f->br, false, 0, 0x1000));   /* pref closed */
	assert_true(pci_bridge_forwards(f->br, true, 0x6ff0, 0x10));
	assert_false(pci_bridge_forwards(f->br, true, 0x6ff0, 0x20));
	pci_cfg_write(pci_bridge_dev(f->br), PCI_BRIDGE_CONTROL, 2, PCI_BRIDGE_CTL_ISA);
	assert_true(pci_bridge_forwards(f->br, true, 0x6400, 0x100));
	assert_false(pci_bridge_forwards(f->br, true, 0x6400, 0x200));
	assert_false(pci_bridge_forwards(f->br, true, 0x64f8, 0x10));
	assert_false(pci_bridge_forwards(f->br, true, 0x6200, 0x10));
}

static void test_intx_swizzle(void **state)
{
	struct fix *f = *state;
	struct tdev kids[4];
	/* Slot S pin A on the secondary bus -> pin (S mod 4) on the bridge's
	 * side -> GSI 16 + (bridge slot + that pin) mod 4 (bus 0 swizzle),
	 * which is what core/layout.h computes for the ACPI _PRT. */
	for (unsigned s = 0; s < 4; s++) {
		tdev_init(&kids[s], (uint16_t)(0x10 + s));
		assert_int_equal(pci_bridge_attach(f->br, &kids[s].pci, s, 0), 0);
		unsigned gsi = LAYOUT_GSI_PCI_INTX + (BR_SLOT + s) % 4;
		assert_int_equal(pci_cfg_get8(&kids[s].pci, PCI_INTERRUPT_LINE), gsi);
		assert_int_equal(kids[s].pci.intx.gsi, gsi);
		assert_int_equal(gsi, layout_intx_gsi(BR_SLOT, (0 + s) % 4));
	}
	unsigned g1 = LAYOUT_GSI_PCI_INTX + (BR_SLOT + 1) % 4;
	pci_set_irq(&kids[1].pci, 1);
	assert_int_equal(f->s->gsi_level[g1], 1);
	for (unsigned g = LAYOUT_GSI_PCI_INTX; g < LAYOUT_GSI_PCI_INTX + 4; g++)
		if (g != g1)
			assert_int_equal(f->s->gsi_level[g], 0);
	/* Wired-OR with a bus 0 function on the same line: slot 3 pin A is
	 * GSI 16 + 3, the same as the child at secondary slot 1. */
	assert_int_equal(pci_host_attach(f->h, &f->c.pci, 3, 0), 0);
	assert_int_equal(f->c.pci.intx.gsi, g1);
	pci_set_irq(&f->c.pci, 1);
	pci_set_irq(&kids[1].pci, 0);
	assert_int_equal(f->s->gsi_level[g1], 1);
	pci_set_irq(&f->c.pci, 0);
	assert_int_equal(f->s->gsi_level[g1], 0);
	/* Interrupt Disable on the child masks its pin. */
	pci_set_irq(&kids[1].pci, 1);
	pci_cfg_write(&kids[1].pci, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(f->s->gsi_level[g1], 0);
	pci_cfg_write(&kids[1].pci, PCI_COMMAND, 2, 0);
	assert_int_equal(f->s->gsi_level[g1], 1);
	/* Detaching an asserting child drops its contribution. */
	pci_bridge_detach(f->br, &kids[1].pci);
	assert_int_equal(f->s->gsi_level[g1], 0);
	for (unsigned s = 0; s < 4; s++)
		pci_bridge_detach(f->br, &kids[s].pci);
	pci_host_detach(f->h, &f->c.pci);
}

static void test_secondary_bus_reset(void **state)
{
	struct fix *f = *state;
	program_child(f);
	bwr(f, PCI_MEMORY_BASE, 4, 0xc010c010);
	bwr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(mem_hit(f, 0xc0100000));
	bwr(f, PCI_BRIDGE_CONTROL, 2, PCI_BRIDGE_CTL_BUS_RESET);
	assert_int_equal(pci_cfg_get16(&f->a.pci, PCI_COMMAND), 0);
	assert_int_equal(pci_bar_addr(&f->a.pci, 0), 0);
	assert_false(mem_hit(f, 0xc0100000));
	/* Held in reset, re-writing the bit does not reset again; a second
	 * 0 -> 1 edge does. */
	pcifx_cf8_write(f->s, 1, PCI_DEVFN(1, 0), PCI_INTERRUPT_LINE, 1, 0x42);
	bwr(f, PCI_BRIDGE_CONTROL, 2, PCI_BRIDGE_CTL_BUS_RESET);
	assert_int_equal(pcifx_cf8_read(f->s, 1, PCI_DEVFN(1, 0), PCI_INTERRUPT_LINE, 1), 0x42);
	pcifx_cf8_write(f->s, 1, PCI_DEVFN(1, 0), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	bwr(f, PCI_BRIDGE_CONTROL, 2, 0);
	assert_int_equal(pci_cfg_get16(&f->a.pci, PCI_COMMAND), PCI_COMMAND_MEMORY);
	bwr(f, PCI_BRIDGE_CONTROL, 2, PCI_BRIDGE_CTL_BUS_RESET);
	assert_int_equal(pci_cfg_get16(&f->a.pci, PCI_COMMAND), 0);
	/* The bit lives in the register's low byte: a byte write there
	 * resets the bus too. */
	bwr(f, PCI_BRIDGE_CONTROL, 1, 0);
	pcifx_cf8_write(f->s, 1, PCI_DEVFN(1, 0), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	bwr(f, PCI_BRIDGE_CONTROL, 1, PCI_BRIDGE_CTL_BUS_RESET);
	assert_int_equal(pci_cfg_get16(&f->a.pci, PCI_COMMAND), 0);
	/* The bridge's own reset closes its windows and drops decode. */
	pci_dev_reset(pci_bridge_dev(f->br));
	assert_int_equal(brd(f, PCI_COMMAND, 2), 0);
	assert_int_equal(brd(f, PCI_MEMORY_BASE, 4), 0);
	assert_int_equal(brd(f, PCI_PREF_MEMORY_BASE, 4), 0x00010001);
}

static void test_firmware_assignment(void **state)
{
	struct fix *f = *state;
	assert_int_equal(pci_host_attach(f->h, &f->c.pci, 1, 0), 0);
	assert_int_equal(pci_bridge_attach(f->br, &f->a.pci, 1, 0), 0);
	assert_int_equal(pci_bridge_attach(f->br, &f->b.pci, 5, 0), 0);
	pci_bridge_set_buses(f->br, 0, 1, 1);
	assert_int_equal(pci_host_assign_resources(f->h), 0);
	struct pci_bridge_windows w;
	pci_bridge_get_windows(f->br, &w);
	/* Windows on their granularity, holding every child BAR. */
	assert_int_equal(w.io_base % PCI_BRIDGE_IO_ALIGN, 0);
	assert_int_equal(w.mem_base % PCI_BRIDGE_MEM_ALIGN, 0);
	assert_int_equal(w.pref_base % PCI_BRIDGE_MEM_ALIGN, 0);
	assert_true(w.pref_base >= MMIO64_BASE);
	struct tdev *kids[2] = { &f->a, &f->b };
	for (unsigned k = 0; k < 2; k++) {
		struct pci_dev *d = &kids[k]->pci;
		uint64_t m = pci_bar_addr(d, 0), io = pci_bar_addr(d, 1),
			 p = pci_bar_addr(d, 2);
		assert_true(m >= w.mem_base && m + 0xfff <= w.mem_limit);
		assert_true(io >= w.io_base && io + 0xf <= w.io_limit);
		assert_true(p >= w.pref_base && p + 0x3fff <= w.pref_limit);
		assert_true(mem_hit(f, m) && mem_hit(f, p) && io_hit(f, (uint16_t)io));
		assert_true(pci_bus_master(d));
	}
	/* The bus 0 function got its BARs outside the bridge's windows. */
	uint64_t cm = pci_bar_addr(&f->c.pci, 0);
	assert_true(cm < w.mem_base || cm > w.mem_limit);
	assert_true(mem_hit(f, cm));
	uint16_t bcmd = (uint16_t)brd(f, PCI_COMMAND, 2);
	assert_true(bcmd & PCI_COMMAND_MEMORY && bcmd & PCI_COMMAND_IO &&
		    bcmd & PCI_COMMAND_MASTER);
	pci_host_detach(f->h, &f->c.pci);
}

static void test_empty_bridge_windows_closed(void **state)
{
	struct fix *f = *state;
	assert_int_equal(pci_host_assign_resources(f->h), 0);
	struct pci_bridge_windows w;
	pci_bridge_get_windows(f->br, &w);
	assert_true(w.io_base > w.io_limit);
	assert_true(w.mem_base > w.mem_limit);
	assert_true(w.pref_base > w.pref_limit);
}

/* Hostile bus numbering: subordinate below secondary, a secondary of 0,
 * the whole 0..255 range, primary claims; nothing crashes, bus 0 stays the
 * host's and a claimed bus past the secondary master-aborts. */
static void test_hostile_bus_numbers(void **state)
{
	struct fix *f = *state;
	assert_int_equal(pci_bridge_attach(f->br, &f->a.pci, 0, 0), 0);
	static const uint32_t settings[] = {
		0x00000100, 0x00ff0100, 0x00ffff00, 0x00000000, 0x00ff00ff,
		0x00010203, 0xffffffff, 0x00050a00,
	};
	for (unsigned i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		bwr(f, PCI_PRIMARY_BUS, 4, settings[i]);
		unsigned sec = (settings[i] >> 8) & 0xff, sub = (settings[i] >> 16) & 0xff;
		/* Bus 0 device 2 is always the bridge itself. */
		assert_int_equal(brd(f, PCI_VENDOR_ID, 2), 0x1b36);
		for (unsigned bus = 1; bus < 256; bus++) {
			uint32_t v = pcifx_cf8_read(f->s, bus, 0, 0, 4);
			bool want = bus == sec && sec <= sub;
			assert_int_equal(v, want ? 0x000a1b36u : 0xffffffffu);
		}
	}
	/* ECAM beyond the 256 buses is not decoded by the host at all. */
	assert_int_equal(sim_mmio_read(f->s, LAYOUT_ECAM_BASE + LAYOUT_ECAM_SIZE, 4),
			 0xffffffff);
}

/* Freeing the bridge first detaches its children (they can be freed
 * later, or re-attached); freeing the host detaches the bridge with its
 * children. */
static void test_free_order(void **state)
{
	struct fix *f = *state;
	assert_int_equal(pci_bridge_attach(f->br, &f->a.pci, 1, 0), 0);
	pci_bridge_free(f->br);
	assert_null(f->a.pci.host);
	assert_null(f->a.pci.parent);
	f->br = pci_bridge_new(1, false, NULL, NULL);
	assert_non_null(f->br);
	assert_int_equal(pci_host_attach(f->h, pci_bridge_dev(f->br), 4, 0), 0);
	assert_int_equal(pci_bridge_attach(f->br, &f->a.pci, 1, 0), 0);
	pci_host_detach(f->h, pci_bridge_dev(f->br));
	assert_null(f->a.pci.host);
	assert_null(pci_bridge_dev(f->br)->host);
	assert_null(pci_host_dev(f->h, 4, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slot_id_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_routing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_windows_gate_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forwards_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_swizzle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secondary_bus_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_firmware_assignment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_bridge_windows_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_bus_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_order, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
