/* The PCI config-space fuzz scenario, shared by the libFuzzer harness
 * (fuzz/fuzz_pci_config.c) and tests/unit/test_virtio_pci_seeds.c, which
 * records real driver scenarios into this format as seeds
 * (VMM_WRITE_SEEDS_PCI=DIR writes them; fuzz/corpus/pci_config is that
 * output) and replays them here.
 *
 * Machine: a PCI host with a transitional virtio-pci dummy device (typed
 * as a block device for its transitional id, so both the modern
 * capabilities and the legacy I/O BAR 0 are there) at 03.0, a plain
 * function with 32-bit, I/O and 64-bit BARs at 03.1 (so 03.0 is
 * multifunction) and another at 05.0 sharing its INTx line.
 *
 * Input: FPCI_REC-byte records
 *   op (u8) | a (u8) | off (u16 LE) | val (u64 LE)
 *   op bits 0-2: 0 ECAM write, 1 ECAM read: function a, register off & 0xfff
 *                2 port write, 3 port read: port off (0xCF8/0xCFC, I/O BARs)
 *                4 MMIO write, 5 MMIO read: window (op bit 5: 32- or 64-bit
 *                  window) + (a << 18 | off << 2 | op >> 6) (BARs, MSI-X)
 *                6 device event (a % 8, see fpci_device)
 *                7 sim driver step (a % 4: probe with MSI-X if off & 1,
 *                  through the legacy interface if off & 2, negotiate,
 *                  set up queue off % 3, DRIVER_OK)
 *   op bits 3-4: access width 1 << n
 *
 * After every record the invariants are checked and a violation aborts:
 * a mapped BAR has decode enabled and sits where the BAR register says;
 * an MSI-X pending bit belongs to a masked vector (or MSI-X is off); the
 * status Interrupt bit follows the device's pin. */
#ifndef VMM_FUZZ_FUZZ_PCI_CONFIG_H
#define VMM_FUZZ_FUZZ_PCI_CONFIG_H

#include <stdio.h>
#include <stdlib.h>
#include "devices/pci/msix.h"
#include "tests/unit/vdev_dummy.h"

#define FPCI_RAM (1u << 20)
#define FPCI_REC 12u
#define FPCI_MMIO64 0x8000000000ull
#define FPCI_VIRTIO_SLOT DUMMY_SLOT
#define FPCI_T1 PCI_DEVFN(DUMMY_SLOT, 1)
#define FPCI_T2 PCI_DEVFN(5, 0)

enum { FPCI_ECAM_W, FPCI_ECAM_R, FPCI_PIO_W, FPCI_PIO_R, FPCI_MMIO_W,
       FPCI_MMIO_R, FPCI_DEVICE, FPCI_DRIVER };

struct fpci_stats {
	unsigned records, mapped_bars, msi, activates, notifies;
};

struct fpci_fn {
	struct pci_dev pci;
	uint32_t reg;
};

static inline int fpci_bar(void *opaque, uint64_t off, void *data, unsigned len,
			   bool is_write)
{
	struct fpci_fn *f = opaque;
	if (is_write)
		memcpy(&f->reg, data, len < 4 ? len : 4);
	else
		memset(data, (int)(f->reg & 0xff), len);
	(void)off;
	return 0;
}

static inline void fpci_fn_init(struct fpci_fn *f, uint16_t id)
{
	struct pci_dev_info info = { .vendor_id = 0x1b36, .device_id = id,
				     .class_code = 0xff0000, .irq_pin = 1 };
	pci_dev_init(&f->pci, &info, "fuzz-fn", NULL);
	pci_dev_set_bar(&f->pci, 0, PCI_BAR_MEM32, 0x1000, false, fpci_bar, f, "m32");
	pci_dev_set_bar(&f->pci, 1, PCI_BAR_IO, 0x20, false, fpci_bar, f, "io");
	pci_dev_set_bar(&f->pci, 2, PCI_BAR_MEM64, 0x100000, true, fpci_bar, f, "m64");
	pci_dev_add_cap(&f->pci, PCI_CAP_ID_VNDR, 8);
}

struct fpci {
	struct sim *s;
	struct pci_host *h;
	struct dummy dev;
	struct virtio_pci *vp;
	struct fpci_fn t1, t2;
	struct vdriver drv;
	bool probed;
	struct vdq vq;
};

static inline void fpci_check_dev(struct pci_dev *d)
{
	bool ok = true;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar *b = &d->bars[i];
		if (!b->mapped)
			continue;
		bool dec = b->kind == PCI_BAR_IO ? pci_io_enabled(d) : pci_mem_enabled(d);
		if (!dec || b->mapped_addr != pci_bar_addr(d, i))
			ok = false;
	}
	/* A message may wait only while its vector is masked or the
	 * function may not master the bus (a message is a memory write). */
	if (d->msix && msix_enabled(d->msix) && pci_dma_allowed(d))
		for (unsigned v = 0; v < d->msix->nvec; v++)
			if (msix_pending(d->msix, v) && !msix_vector_masked(d->msix, v))
				ok = false;
	if (!!(pci_cfg_get16(d, PCI_STATUS) & PCI_STATUS_INTERRUPT) != d->intx_asserted)
		ok = false;
	if (!ok) {
		fprintf(stderr, "fuzz_pci_config: invariant broken on %s\n", d->name);
		abort();
	}
}

static inline void fpci_device(struct fpci *f, unsigned what, uint16_t off)
{
	switch (what % 8) {
	case 0: f->dev.vd.tops->notify_queue(f->dev.vd.transport, off % 3); break;
	case 1: vdev_config_changed(&f->dev.vd); break;
	case 2: pci_set_irq(&f->t1.pci, 1); break;
	case 3: pci_set_irq(&f->t1.pci, 0); break;
	case 4: pci_host_assign_resources(f->h); break;
	case 5: pci_dev_reset(off & 1 ? &f->t2.pci : &f->t1.pci); break;
	case 6: pci_dev_reset(virtio_pci_dev(f->vp)); break;
	default: pci_set_irq(&f->t2.pci, off & 1); break;
	}
}

static inline void fpci_driver(struct fpci *f, unsigned what, uint16_t off)
{
	if (what % 4 == 0) {
		f->probed = (off & 2 ? vdriver_pci_probe_legacy(&f->drv, f->s,
								FPCI_VIRTIO_SLOT, 0, off & 1)
				     : vdriver_pci_probe(&f->drv, f->s, FPCI_VIRTIO_SLOT, 0,
							 off & 1)) == 0;
		vdriver_set_memory(&f->drv, 0x10000, 0xe0000);
		return;
	}
	if (!f->probed)
		return;
	if (what % 4 == 1)
		vdriver_negotiate(&f->drv, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
				  ((uint64_t)off << 28 & VIRTIO_TRANSPORT_FEATURES));
	else if (what % 4 == 2)
		vdriver_setup_queue(&f->drv, off % 3, &f->vq, 8);
	else
		vdriver_driver_ok(&f->drv);
}

static inline int fpci_run(const uint8_t *data, size_t size, struct fpci_stats *st)
{
	memset(st, 0, sizeof(*st));
	struct fpci *f = calloc(1, sizeof(*f));
	struct sim_config sc = { .ram_size = FPCI_RAM };
	if (!f || !(f->s = sim_new(&sc))) {
		free(f);
		return -1;
	}
	struct pci_host_windows w = {
		.mmio32_base = LAYOUT_PCI_MMIO32_BASE, .mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
		.mmio64_base = FPCI_MMIO64, .mmio64_size = 1ull << 32,
		.io_base = LAYOUT_PCI_IO_BASE, .io_size = LAYOUT_PCI_IO_SIZE,
	};
	f->h = pci_host_new(f->s->m.pio, f->s->m.mmio, LAYOUT_ECAM_BASE, &w,
			    f->s->m.irqchip, NULL);
	dummy_init(&f->dev, f->s->m.gm);
	f->dev.vd.device_id = VIRTIO_ID_BLOCK;
	f->vp = virtio_pci_new_mode(f->s->m.gm, NULL, f->s->m.irqchip, &f->dev.vd,
				    VIRTIO_PCI_TRANSITIONAL);
	fpci_fn_init(&f->t1, 1);
	fpci_fn_init(&f->t2, 2);
	pci_host_attach(f->h, virtio_pci_dev(f->vp), FPCI_VIRTIO_SLOT, 0);
	pci_host_attach(f->h, &f->t1.pci, FPCI_VIRTIO_SLOT, 1);
	pci_host_attach(f->h, &f->t2.pci, 5, 0);
	for (size_t i = 0; i + FPCI_REC <= size; i += FPCI_REC) {
		const uint8_t *r = data + i;
		uint8_t op = r[0], a = r[1];
		uint16_t off = (uint16_t)(r[2] | r[3] << 8);
		uint64_t val = 0;
		for (unsigned b = 0; b < 8; b++)
			val |= (uint64_t)r[4 + b] << (8 * b);
		unsigned len = 1u << ((op >> 3) & 3);
		uint64_t ecam = LAYOUT_ECAM_BASE + ((uint64_t)a << 12) + (off & 0xfff);
		uint64_t mm = ((op & 0x20) ? FPCI_MMIO64 : LAYOUT_PCI_MMIO32_BASE) +
			      ((uint64_t)a << 18 | (uint64_t)off << 2 | op >> 6);
		switch (op & 7) {
		case FPCI_ECAM_W: sim_mmio_write(f->s, ecam, len, val); break;
		case FPCI_ECAM_R: (void)sim_mmio_read(f->s, ecam, len); break;
		case FPCI_PIO_W: sim_pio_write(f->s, off, len, val); break;
		case FPCI_PIO_R: (void)sim_pio_read(f->s, off, len); break;
		case FPCI_MMIO_W: sim_mmio_write(f->s, mm, len, val); break;
		case FPCI_MMIO_R: (void)sim_mmio_read(f->s, mm, len); break;
		case FPCI_DEVICE: fpci_device(f, a, off); break;
		default: fpci_driver(f, a, off); break;
		}
		fpci_check_dev(virtio_pci_dev(f->vp));
		fpci_check_dev(&f->t1.pci);
		fpci_check_dev(&f->t2.pci);
		st->records++;
	}
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		st->mapped_bars += virtio_pci_dev(f->vp)->bars[i].mapped +
				   f->t1.pci.bars[i].mapped;
	st->msi = (unsigned)f->s->msi_count;
	st->activates = f->dev.activates;
	st->notifies = f->dev.notifies[0] + f->dev.notifies[1];
	virtio_pci_free(f->vp);
	pci_host_free(f->h);
	sim_free(f->s);
	free(f);
	return 0;
}

#endif
