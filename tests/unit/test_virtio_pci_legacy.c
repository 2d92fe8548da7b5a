/* virtio-pci's legacy interface (virtio 1.2 §4.1.4.10) and the three
 * shapes of a function (modern, transitional, legacy): identity and
 * BARs as QEMU presents them, the legacy header, page-frame-number queues
 * in the legacy layout, the config offset moving with MSI-X, and the
 * hostile cases the modern interface also refuses: a PFN outside RAM, a
 * queue size write, a queue select past the end, status out of order,
 * features after DRIVER_OK, wrong access widths, kicks without bus
 * mastering.  Device models over this interface: test_virtio_{blk,net,
 * console,rng,balloon} (VFX_PCI_LEGACY). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/virtio_pci.h>
#include "vdev_dummy.h"

#define NOVEC 0xffff

struct lenv {
	struct sim *s;
	struct dummy dev;
	struct pci_host *host;
	struct virtio_pci *pci;
	struct vdriver drv;
	struct vdq vq[2];
};

/* The dummy device, typed as a block device so it has a transitional
 * id (0x1001), in mode m, probed through its legacy interface unless
 * modern_driver. */
static struct lenv *lenv_new(enum virtio_pci_mode m, bool msix, bool modern_driver)
{
	struct lenv *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	struct sim_config sc = { .ram_size = 32 << 20 };
	e->s = sim_new(&sc);
	dummy_init(&e->dev, e->s->m.gm);
	e->dev.vd.device_id = VIRTIO_ID_BLOCK;
	e->dev.complete_on_kick = true;
	e->host = pci_host_new(e->s->m.pio, e->s->m.mmio, LAYOUT_ECAM_BASE, NULL,
			       e->s->m.irqchip, NULL);
	e->pci = virtio_pci_new_mode(e->s->m.gm, NULL, e->s->m.irqchip, &e->dev.vd, m);
	assert_non_null(e->pci);
	assert_int_equal(pci_host_attach(e->host, virtio_pci_dev(e->pci), DUMMY_SLOT, 0), 0);
	int r = modern_driver ? vdriver_pci_probe(&e->drv, e->s, DUMMY_SLOT, 0, msix)
			      : vdriver_pci_probe_legacy(&e->drv, e->s, DUMMY_SLOT, 0, msix);
	assert_int_equal(r, 0);
	return e;
}

static void lenv_free(struct lenv *e)
{
	virtio_pci_free(e->pci);
	pci_host_free(e->host);
	sim_free(e->s);
	free(e);
}

static uint64_t rd(struct lenv *e, uint32_t off, unsigned len)
{
	return sim_pio_read(e->s, (uint16_t)(e->drv.io + off), len);
}

static void wr(struct lenv *e, uint32_t off, unsigned len, uint64_t v)
{
	sim_pio_write(e->s, (uint16_t)(e->drv.io + off), len, v);
}

static uint32_t cfg(struct lenv *e, uint32_t off, unsigned len)
{
	return vdriver_pci_cfg_read(&e->drv, off, len);
}

static bool has_vendor_cap(struct lenv *e)
{
	uint8_t c = (uint8_t)cfg(e, PCI_CAPABILITY_LIST, 1);
	for (unsigned n = 0; c && n < 16; n++) {
		if (cfg(e, c, 1) == PCI_CAP_ID_VNDR)
			return true;
		c = (uint8_t)cfg(e, c + PCI_CAP_LIST_NEXT, 1);
	}
	return false;
}

static uint32_t bar_size(struct lenv *e, unsigned bar)
{
	uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * bar, old = cfg(e, reg, 4);
	vdriver_pci_cfg_write(&e->drv, reg, 4, 0xffffffffu);
	uint32_t v = cfg(e, reg, 4);
	vdriver_pci_cfg_write(&e->drv, reg, 4, old);
	if (!v)
		return 0;
	return ~(v & ((v & PCI_BASE_ADDRESS_SPACE_IO) ? ~3u : ~0xfu)) + 1;
}

static void test_identity(void **state)
{
	(void)state;
	static const enum virtio_pci_mode modes[] = {
		VIRTIO_PCI_LEGACY, VIRTIO_PCI_TRANSITIONAL, VIRTIO_PCI_MODERN };
	for (unsigned i = 0; i < 3; i++) {
		enum virtio_pci_mode m = modes[i];
		struct lenv *e = lenv_new(m, true, m != VIRTIO_PCI_LEGACY);
		bool leg = m != VIRTIO_PCI_MODERN;
		/* §4.1.2: transitional id, subsystem = type, revision 0. */
		assert_int_equal(cfg(e, PCI_DEVICE_ID, 2), leg ? 0x1001 : 0x1042);
		assert_int_equal(cfg(e, PCI_SUBSYSTEM_ID, 2), leg ? VIRTIO_ID_BLOCK : 0x1042);
		assert_int_equal(cfg(e, PCI_REVISION_ID, 1), leg ? 0 : 1);
		assert_int_equal(vdriver_pci_virtio_id(&e->drv), VIRTIO_ID_BLOCK);
		/* BAR 0: I/O, the 24-byte header + 16 config bytes -> 64. */
		assert_int_equal(!!(cfg(e, PCI_BASE_ADDRESS_0, 4) & PCI_BASE_ADDRESS_SPACE_IO), leg);
		assert_int_equal(bar_size(e, 0), leg ? 64 : 0);
		assert_int_equal(bar_size(e, 4) != 0, m != VIRTIO_PCI_LEGACY);
		assert_int_equal(has_vendor_cap(e), m != VIRTIO_PCI_LEGACY);
		assert_true(e->drv.msix);
		lenv_free(e);
	}
	/* The other drivers' probes refuse what they cannot drive. */
	struct lenv *e = lenv_new(VIRTIO_PCI_LEGACY, false, false);
	struct vdriver d2;
	assert_int_equal(vdriver_pci_probe(&d2, e->s, DUMMY_SLOT, 0, false), -EPROTO);
	lenv_free(e);
	e = lenv_new(VIRTIO_PCI_MODERN, false, true);
	assert_int_equal(vdriver_pci_probe_legacy(&d2, e->s, DUMMY_SLOT, 0, false), -ENODEV);
	lenv_free(e);
	/* A type without a transitional id has no legacy interface. */
	struct sim_config sc = { .ram_size = 32 << 20 };
	struct sim *s = sim_new(&sc);
	struct dummy dv;
	dummy_init(&dv, s->m.gm);
	assert_null(virtio_pci_new_mode(s->m.gm, NULL, s->m.irqchip, &dv.vd, VIRTIO_PCI_LEGACY));
	assert_null(virtio_pci_new_mode(s->m.gm, NULL, s->m.irqchip, &dv.vd,
					VIRTIO_PCI_TRANSITIONAL));
	sim_free(s);
	assert_int_equal(virtio_pci_transitional_id(VIRTIO_ID_NET), 0x1000);
	assert_int_equal(virtio_pci_transitional_id(VIRTIO_ID_RNG), 0x1005);
	assert_int_equal(virtio_pci_transitional_id(DUMMY_ID), 0);
}

/* The header, and the device config after it: at 24 with MSI-X enabled,
 * at 20 without (VIRTIO_PCI_CONFIG_OFF). */
static void test_header_and_config(void **state)
{
	(void)state;
	for (int msix = 0; msix < 2; msix++) {
		struct lenv *e = lenv_new(VIRTIO_PCI_LEGACY, msix, false);
		uint32_t coff = msix ? 24 : 20;
		/* Host features: bits 0-31 of what is offered, so no
		 * VERSION_1 and no packed ring. */
		uint32_t hf = (uint32_t)rd(e, VIRTIO_PCI_HOST_FEATURES, 4);
		assert_true(hf & VIRTIO_BIT(DUMMY_F_X));
		assert_true(hf & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
		assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_NUM, 2), DUMMY_QMAX);
		assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_PFN, 4), 0);
		for (unsigned i = 0; i < 8; i++)
			assert_int_equal(rd(e, coff + i, 1), 0x10 + i);
		assert_int_equal(rd(e, coff, 4), 0x13121110u);
		/* Writable config bytes (dummy: 8..15) through the BAR. */
		wr(e, coff + 8, 4, 0xa1b2c3d4u);
		assert_int_equal(rd(e, coff + 8, 4), 0xa1b2c3d4u);
		/* Past the config: reads 0. */
		assert_int_equal(rd(e, coff + DUMMY_CFG, 4), 0);
		if (msix) {
			assert_int_equal(rd(e, VIRTIO_MSI_CONFIG_VECTOR, 2), NOVEC);
			wr(e, VIRTIO_MSI_CONFIG_VECTOR, 2, 1);
			assert_int_equal(rd(e, VIRTIO_MSI_CONFIG_VECTOR, 2), 1);
			wr(e, VIRTIO_MSI_CONFIG_VECTOR, 2, 77);  /* no such entry */
			assert_int_equal(rd(e, VIRTIO_MSI_CONFIG_VECTOR, 2), NOVEC);
		}
		lenv_free(e);
	}
}

/* A legacy driver's whole life, Linux's order: ACK, DRIVER, features,
 * PFN (+ vector), DRIVER_OK, kick; the used ring is where the legacy
 * layout puts it and the interrupt arrives. */
static void test_run(void **state)
{
	(void)state;
	for (int msix = 0; msix < 2; msix++)
		for (int trans = 0; trans < 2; trans++) {
			struct lenv *e = lenv_new(trans ? VIRTIO_PCI_TRANSITIONAL
						  : VIRTIO_PCI_LEGACY, msix, false);
			assert_int_equal(vdriver_negotiate(&e->drv, VIRTIO_BIT(DUMMY_F_X) |
							  VIRTIO_BIT(VIRTIO_F_EVENT_IDX)), 0);
			assert_int_equal(e->dev.vd.features, VIRTIO_BIT(DUMMY_F_X) |
							     VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
			for (unsigned q = 0; q < 2; q++)
				assert_int_equal(vdriver_setup_queue(&e->drv, q, &e->vq[q], 16), 0);
			/* Sizes are the device's: 64, not the 16 asked for. */
			assert_int_equal(e->vq[0].size, DUMMY_QMAX);
			assert_int_equal(e->vq[0].device & 4095, 0);
			assert_int_equal(e->vq[0].device, e->vq[0].desc +
					 ((16u * DUMMY_QMAX + 6 + 2 * DUMMY_QMAX + 4095) & ~4095u));
			vdriver_driver_ok(&e->drv);
			assert_int_equal(e->dev.activates, 1);
			assert_int_equal(rd(e, VIRTIO_PCI_STATUS, 1),
					 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					 VIRTIO_STATUS_DRIVER_OK);
			uint64_t buf = 0x800000;
			struct vdq_buf b = { buf, 4, true };
			assert_true(vdq_add(&e->vq[1], &b, 1, false) >= 0);
			vdq_publish(&e->vq[1]);
			e->drv.bus->irq_pending(&e->drv);
			vdriver_kick(&e->drv, 1, &e->vq[1]);
			uint16_t id;
			uint32_t len;
			assert_int_equal(vdq_get_used(&e->vq[1], &id, &len), 1);
			assert_int_equal(len, 4);
			assert_true(e->drv.bus->irq_pending(&e->drv));
			if (!msix) {
				/* ISR: read returns and clears, INTx drops. */
				assert_int_equal(rd(e, VIRTIO_PCI_ISR, 1), 1);
				assert_int_equal(rd(e, VIRTIO_PCI_ISR, 1), 0);
				assert_false(e->drv.bus->irq_pending(&e->drv));
			}
			/* Reset: status 0, queues gone (PFN reads 0). */
			vdriver_reset(&e->drv);
			assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_PFN, 4), 0);
			lenv_free(e);
		}
}

/* Start the legacy way up to DRIVER (features written). */
static void to_driver(struct lenv *e)
{
	wr(e, VIRTIO_PCI_STATUS, 1, 0);
	wr(e, VIRTIO_PCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(e, VIRTIO_PCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(e, VIRTIO_PCI_GUEST_FEATURES, 4, VIRTIO_BIT(DUMMY_F_X));
}

static void test_hostile_pfn_and_queues(void **state)
{
	(void)state;
	struct lenv *e = lenv_new(VIRTIO_PCI_LEGACY, false, false);
	/* A PFN before DRIVER: refused. */
	wr(e, VIRTIO_PCI_QUEUE_SEL, 2, 0);
	wr(e, VIRTIO_PCI_QUEUE_PFN, 4, 0x100);
	assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_PFN, 4), 0);
	to_driver(e);
	/* Outside RAM (32 MiB), and straddling its end: the queue stays
	 * off, the PFN reads 0. */
	wr(e, VIRTIO_PCI_QUEUE_PFN, 4, 0xfffff);
	assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_PFN, 4), 0);
	wr(e, VIRTIO_PCI_QUEUE_PFN, 4, (32u << 20) / 4096 - 1);
	assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_PFN, 4), 0);
	/* Queue size is read-only. */
	wr(e, VIRTIO_PCI_QUEUE_NUM, 2, 8);
	assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_NUM, 2), DUMMY_QMAX);
	/* A queue past the end: size 0, PFN and vector writes dropped,
	 * a kick for it ignored. */
	wr(e, VIRTIO_PCI_QUEUE_SEL, 2, 500);
	assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_SEL, 2), 500);
	assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_NUM, 2), 0);
	wr(e, VIRTIO_PCI_QUEUE_PFN, 4, 0x100);
	assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_PFN, 4), 0);
	/* A good PFN, then another while it is live: the first stays. */
	wr(e, VIRTIO_PCI_QUEUE_SEL, 2, 0);
	wr(e, VIRTIO_PCI_QUEUE_PFN, 4, 0x100);
	assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_PFN, 4), 0x100);
	wr(e, VIRTIO_PCI_QUEUE_PFN, 4, 0x200);
	assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_PFN, 4), 0x100);
	/* PFN 0 releases it before DRIVER_OK (Linux's del_vq)... */
	wr(e, VIRTIO_PCI_QUEUE_PFN, 4, 0);
	assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_PFN, 4), 0);
	wr(e, VIRTIO_PCI_QUEUE_PFN, 4, 0x100);
	wr(e, VIRTIO_PCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(e->dev.activates, 1);
	/* ...but not after: a live queue stays until reset, and no new
	 * one appears. */
	wr(e, VIRTIO_PCI_QUEUE_PFN, 4, 0);
	assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_PFN, 4), 0x100);
	wr(e, VIRTIO_PCI_QUEUE_SEL, 2, 1);
	wr(e, VIRTIO_PCI_QUEUE_PFN, 4, 0x300);
	assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_PFN, 4), 0);
	/* Kicks: a queue past the end and the never-enabled queue 1 are
	 * ignored; queue 0 reaches the device, but not without bus
	 * mastering. */
	wr(e, VIRTIO_PCI_QUEUE_NOTIFY, 2, 500);
	wr(e, VIRTIO_PCI_QUEUE_NOTIFY, 2, 1);
	assert_int_equal(e->dev.notifies[1], 0);
	uint16_t cmd = (uint16_t)cfg(e, PCI_COMMAND, 2);
	vdriver_pci_cfg_write(&e->drv, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER);
	wr(e, VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
	assert_int_equal(e->dev.notifies[0], 0);
	/* Bus mastering back on: virtio-pci kicks every ready queue itself
	 * (work that waited for it resumes), then the driver's own kick. */
	vdriver_pci_cfg_write(&e->drv, PCI_COMMAND, 2, cmd);
	assert_int_equal(e->dev.notifies[0], 1);
	wr(e, VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
	assert_int_equal(e->dev.notifies[0], 2);
	lenv_free(e);
}

static void test_hostile_status_and_features(void **state)
{
	(void)state;
	struct lenv *e = lenv_new(VIRTIO_PCI_LEGACY, true, false);
	/* Out of order: DRIVER without ACKNOWLEDGE, DRIVER_OK without
	 * DRIVER. */
	wr(e, VIRTIO_PCI_STATUS, 1, VIRTIO_STATUS_DRIVER);
	assert_int_equal(rd(e, VIRTIO_PCI_STATUS, 1), 0);
	wr(e, VIRTIO_PCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(e, VIRTIO_PCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(rd(e, VIRTIO_PCI_STATUS, 1), VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(e->dev.activates, 0);
	/* Unoffered bits are dropped. */
	wr(e, VIRTIO_PCI_GUEST_FEATURES, 4, 0xffffffffu);
	assert_int_equal(rd(e, VIRTIO_PCI_GUEST_FEATURES, 4),
			 rd(e, VIRTIO_PCI_HOST_FEATURES, 4));
	wr(e, VIRTIO_PCI_GUEST_FEATURES, 4, VIRTIO_BIT(DUMMY_F_X));
	wr(e, VIRTIO_PCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(e, VIRTIO_PCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(e->dev.activates, 1);
	assert_int_equal(e->dev.vd.features, VIRTIO_BIT(DUMMY_F_X));
	/* Features after DRIVER_OK: ignored. */
	wr(e, VIRTIO_PCI_GUEST_FEATURES, 4, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	assert_int_equal(e->dev.vd.features, VIRTIO_BIT(DUMMY_F_X));
	assert_int_equal(rd(e, VIRTIO_PCI_GUEST_FEATURES, 4), VIRTIO_BIT(DUMMY_F_X));
	/* Clearing a bit without a reset: ignored. */
	wr(e, VIRTIO_PCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(rd(e, VIRTIO_PCI_STATUS, 1) & VIRTIO_STATUS_DRIVER_OK,
			 VIRTIO_STATUS_DRIVER_OK);
	/* Wrong widths and read-only registers: no effect. */
	wr(e, VIRTIO_PCI_STATUS, 4, 0);
	wr(e, VIRTIO_PCI_HOST_FEATURES, 4, 0);
	wr(e, VIRTIO_PCI_ISR, 1, 0xff);
	wr(e, VIRTIO_PCI_QUEUE_SEL, 4, 1);
	assert_int_equal(rd(e, VIRTIO_PCI_QUEUE_SEL, 2), 0);
	assert_true(rd(e, VIRTIO_PCI_STATUS, 1) & VIRTIO_STATUS_DRIVER_OK);
	assert_true(rd(e, VIRTIO_PCI_HOST_FEATURES, 4) & VIRTIO_BIT(DUMMY_F_X));
	/* Odd-width reads across the header return its bytes. */
	uint32_t w = (uint32_t)rd(e, VIRTIO_PCI_QUEUE_NOTIFY, 4);
	assert_int_equal((w >> 16) & 0xff, rd(e, VIRTIO_PCI_STATUS, 1));
	/* Reset, then the device starts over. */
	wr(e, VIRTIO_PCI_STATUS, 1, 0);
	assert_int_equal(rd(e, VIRTIO_PCI_STATUS, 1), 0);
	assert_int_equal(rd(e, VIRTIO_PCI_GUEST_FEATURES, 4), 0);
	assert_int_equal(rd(e, VIRTIO_MSI_CONFIG_VECTOR, 2), NOVEC);
	lenv_free(e);
}

/* A transitional function serves either driver; a modern driver still
 * has to accept VERSION_1 (§6.1), a legacy one never sees it. */
static void test_transitional_modern_driver(void **state)
{
	(void)state;
	struct lenv *e = lenv_new(VIRTIO_PCI_TRANSITIONAL, true, true);
	assert_int_equal(vdriver_negotiate(&e->drv, VIRTIO_BIT(DUMMY_F_X)), -EPROTO);
	assert_int_equal(vdriver_negotiate(&e->drv, VIRTIO_BIT(DUMMY_F_X) |
					  VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0);
	for (unsigned q = 0; q < 2; q++)
		assert_int_equal(vdriver_setup_queue(&e->drv, q, &e->vq[q], 16), 0);
	/* Modern queues keep the size the driver chose. */
	assert_int_equal(e->vq[0].size, 16);
	vdriver_driver_ok(&e->drv);
	assert_int_equal(e->dev.activates, 1);
	lenv_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_header_and_config),
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_hostile_pfn_and_queues),
		cmocka_unit_test(test_hostile_status_and_features),
		cmocka_unit_test(test_transitional_modern_driver),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
