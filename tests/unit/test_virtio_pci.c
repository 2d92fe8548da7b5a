/* virtio-pci modern details (virtio 1.2 §4.1): identity, the vendor
 * capabilities, common-config field widths, ISR read-to-clear with INTx,
 * MSI-X vector mapping and masking, the pci_cfg access window.  The state
 * machine itself is covered on both transports by test_virtio_transport; the fuzzer seeds are recorded by
 * test_virtio_pci_seeds.c. */
#define VIRTIO_PCI_NO_LEGACY
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/virtio_pci.h>
#include <stdio.h>
#include "devices/pci/msix.h"
#include "vdev_dummy.h"

#define C(f) offsetof(struct virtio_pci_common_cfg, f)
#define NOVEC 0xffff

static const enum env_kind intx = ENV_PCI_INTX, msi = ENV_PCI_MSIX;

static int setup(void **state)
{
	struct env *e = env_new(*(const enum env_kind *)*state);
	*state = e;
	return e ? 0 : -1;
}

static int teardown(void **state)
{
	env_free(*state);
	return 0;
}

static uint64_t cr(struct env *e, uint32_t off, unsigned len)
{
	return sim_mmio_read(e->s, e->drv.common + off, len);
}

static void cw(struct env *e, uint32_t off, unsigned len, uint64_t v)
{
	sim_mmio_write(e->s, e->drv.common + off, len, v);
}

static uint32_t cfg(struct env *e, uint32_t off, unsigned len)
{
	return vdriver_pci_cfg_read(&e->drv, off, len);
}

static void test_identity(void **state)
{
	struct env *e = *state;
	assert_int_equal(cfg(e, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg(e, PCI_DEVICE_ID, 2), 0x1040 + DUMMY_ID);
	assert_int_equal(cfg(e, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg(e, PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg(e, PCI_CLASS_REVISION, 4) >> 8, 0xff0000);
	assert_int_equal(cfg(e, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cfg(e, PCI_INTERRUPT_LINE, 1),
			 pci_host_intx_gsi(DUMMY_SLOT, 1));
	assert_int_equal(cfg(e, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(virtio_pci_class(VIRTIO_ID_NET), 0x020000);
	assert_int_equal(virtio_pci_class(VIRTIO_ID_BLOCK), 0x010000);
	assert_int_equal(virtio_pci_class(VIRTIO_ID_CONSOLE), 0x078000);
	assert_int_equal(virtio_pci_class(VIRTIO_ID_RNG), 0xff0000);
	assert_ptr_equal(virtio_pci_vdev(e->pci), &e->dev.vd);
}

static void test_capabilities(void **state)
{
	struct env *e = *state;
	unsigned seen = 0;
	uint8_t c = (uint8_t)cfg(e, PCI_CAPABILITY_LIST, 1);
	assert_true(cfg(e, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (unsigned n = 0; c && n < 16; n++) {
		uint8_t id = (uint8_t)cfg(e, c, 1);
		if (id == PCI_CAP_ID_MSIX) {
			assert_int_equal(cfg(e, c + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE, 2);
			assert_int_equal(cfg(e, c + PCI_MSIX_TABLE, 4), VIRTIO_PCI_BAR_MSIX);
			assert_int_equal(cfg(e, c + PCI_MSIX_PBA, 4),
					 VIRTIO_PCI_MSIX_PBA_OFF | VIRTIO_PCI_BAR_MSIX);
			seen |= 1u << 7;
		} else {
			assert_int_equal(id, PCI_CAP_ID_VNDR);
			uint8_t type = (uint8_t)cfg(e, c + offsetof(struct virtio_pci_cap, cfg_type), 1);
			uint8_t bar = (uint8_t)cfg(e, c + offsetof(struct virtio_pci_cap, bar), 1);
			uint32_t off = cfg(e, c + offsetof(struct virtio_pci_cap, offset), 4);
			uint32_t len = cfg(e, c + offsetof(struct virtio_pci_cap, length), 4);
			seen |= 1u << type;
			if (type != VIRTIO_PCI_CAP_PCI_CFG)
				assert_int_equal(bar, VIRTIO_PCI_BAR_REGS);
			if (type == VIRTIO_PCI_CAP_COMMON_CFG)
				assert_int_equal(len, sizeof(struct virtio_pci_common_cfg));
			if (type == VIRTIO_PCI_CAP_DEVICE_CFG)
				assert_int_equal(len, DUMMY_CFG);
			if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
				assert_int_equal(off, VIRTIO_PCI_NOTIFY_OFF);
				assert_int_equal(cfg(e, c + offsetof(struct virtio_pci_notify_cap,
								   notify_off_multiplier), 4), 4);
			}
		}
		c = (uint8_t)cfg(e, c + 1, 1);
	}
	assert_int_equal(seen, (1u << 7) | 0x3e);  /* MSI-X and types 1..5 */
	assert_int_equal(e->drv.notify_mult, 4);
}

static void test_common_widths(void **state)
{
	struct env *e = *state;
	assert_int_equal(cr(e, C(num_queues), 2), 2);
	assert_int_equal(cr(e, C(num_queues), 1), 2);
	/* Unaligned or odd reads just see the bytes; beyond the structure 0. */
	assert_int_equal(cr(e, C(msix_config), 4), NOVEC | (2u << 16));
	assert_int_equal(cr(e, 0x100, 4), 0);
	assert_int_equal(cr(e, sizeof(struct virtio_pci_common_cfg) - 2, 4), 0);
	/* Writes of the wrong width or to read-only fields are dropped. */
	cw(e, C(device_status), 2, VIRTIO_STATUS_ACKNOWLEDGE);
	cw(e, C(device_status), 4, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(cr(e, C(device_status), 1), 0);
	cw(e, C(num_queues), 2, 9);
	cw(e, C(config_generation), 1, 9);
	cw(e, C(device_feature), 4, 0);
	cw(e, C(queue_notify_off), 2, 7);
	cw(e, 0x200, 4, 1);
	assert_int_equal(cr(e, C(num_queues), 2), 2);
	assert_int_equal(cr(e, C(queue_notify_off), 2), 0);
	/* Feature words and selectors. */
	cw(e, C(device_feature_select), 4, 1);
	assert_int_equal(cr(e, C(device_feature_select), 4), 1);
	assert_int_equal(cr(e, C(device_feature), 4),
			 (uint32_t)(vdev_offered_features(&e->dev.vd) >> 32));
	cw(e, C(device_feature_select), 4, 7);
	assert_int_equal(cr(e, C(device_feature), 4), 0);
	cw(e, C(guest_feature_select), 4, 1);
	cw(e, C(guest_feature), 4, 1);
	assert_int_equal(cr(e, C(guest_feature), 4), 1);
	assert_int_equal(cr(e, C(guest_feature_select), 4), 1);
	cw(e, C(guest_feature_select), 4, 5);
	assert_int_equal(cr(e, C(guest_feature), 4), 0);
}

static void test_queue_fields(void **state)
{
	struct env *e = *state;
	assert_int_equal(vdriver_negotiate(&e->drv, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0);
	cw(e, C(queue_select), 2, 1);
	assert_int_equal(cr(e, C(queue_size), 2), DUMMY_QMAX);
	assert_int_equal(cr(e, C(queue_notify_off), 2), 1);
	cw(e, C(queue_size), 2, 8);
	/* One 64-bit write of an address is two halves. */
	cw(e, C(queue_desc_lo), 8, 0x40000);
	cw(e, C(queue_avail_lo), 4, 0x41000);
	cw(e, C(queue_avail_hi), 4, 0);
	cw(e, C(queue_used_lo), 8, 0x42000);
	assert_int_equal(cr(e, C(queue_desc_lo), 4), 0x40000);
	assert_true(cr(e, C(queue_used_lo), 8) == 0x42000);
	cw(e, C(queue_desc_lo), 2, 0x1);  /* half a half: dropped */
	assert_int_equal(cr(e, C(queue_desc_lo), 4), 0x40000);
	/* Vectors beyond the table read back NO_VECTOR (§4.1.5.1.2.1). */
	cw(e, C(queue_msix_vector), 2, 2);
	assert_int_equal(cr(e, C(queue_msix_vector), 2), 2);
	cw(e, C(queue_msix_vector), 2, 3);
	assert_int_equal(cr(e, C(queue_msix_vector), 2), NOVEC);
	cw(e, C(msix_config), 2, 77);
	assert_int_equal(cr(e, C(msix_config), 2), NOVEC);
	cw(e, C(queue_enable), 2, 1);
	assert_int_equal(cr(e, C(queue_enable), 2), 1);
	/* The driver must not write 0 to queue_enable: ignored. */
	cw(e, C(queue_enable), 2, 0);
	assert_int_equal(cr(e, C(queue_enable), 2), 1);
	/* Frozen while enabled. */
	cw(e, C(queue_size), 2, 4);
	assert_int_equal(cr(e, C(queue_size), 2), 8);
	/* A queue that does not exist reads size 0 and ignores writes. */
	cw(e, C(queue_select), 2, 40);
	assert_int_equal(cr(e, C(queue_size), 2), 0);
	cw(e, C(queue_size), 2, 8);
	cw(e, C(queue_enable), 2, 1);
	assert_int_equal(cr(e, C(queue_size), 2), 0);
	assert_int_equal(cr(e, C(queue_enable), 2), 0);
}

static void test_isr_and_intx(void **state)
{
	struct env *e = *state;
	assert_int_equal(env_start(e, 0), 0);
	unsigned gsi = e->drv.gsi;
	e->dev.vd.tops->notify_queue(e->dev.vd.transport, 0);
	assert_int_equal(e->s->gsi_level[gsi], 1);
	assert_true(cfg(e, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(virtio_pci_isr(e->pci), 1);
	/* Interrupt Disable masks the line but not the status bit. */
	vdriver_pci_cfg_write(&e->drv, PCI_COMMAND, 2,
			      cfg(e, PCI_COMMAND, 2) | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(e->s->gsi_level[gsi], 0);
	assert_true(cfg(e, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	vdriver_pci_cfg_write(&e->drv, PCI_COMMAND, 2,
			      cfg(e, PCI_COMMAND, 2) & ~PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(e->s->gsi_level[gsi], 1);
	/* Writes to ISR do nothing; other bytes read 0 without clearing. */
	sim_mmio_write(e->s, e->drv.isr, 1, 0);
	assert_int_equal(sim_mmio_read(e->s, e->drv.isr + 1, 1), 0);
	assert_int_equal(e->s->gsi_level[gsi], 1);
	/* Reading ISR returns and clears it and drops the line. */
	assert_int_equal(sim_mmio_read(e->s, e->drv.isr, 1), 1);
	assert_int_equal(e->s->gsi_level[gsi], 0);
	assert_false(cfg(e, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(sim_mmio_read(e->s, e->drv.isr, 1), 0);
}

static void test_msix_masking(void **state)
{
	struct env *e = *state;
	assert_int_equal(env_start(e, 0), 0);
	struct msix *m = virtio_pci_msix(e->pci);
	uint64_t ctrl1 = e->drv.msix_table + 1 * PCI_MSIX_ENTRY_SIZE +
			 PCI_MSIX_ENTRY_VECTOR_CTRL;
	uint64_t n = e->s->msi_count;
	sim_mmio_write(e->s, ctrl1, 4, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	e->dev.vd.tops->notify_queue(e->dev.vd.transport, 0);  /* vector 1 */
	assert_int_equal(e->s->msi_count, n);
	assert_true(msix_pending(m, 1));
	uint64_t pba = e->drv.msix_table - VIRTIO_PCI_MSIX_TABLE_OFF +
		       VIRTIO_PCI_MSIX_PBA_OFF;
	assert_int_equal(sim_mmio_read(e->s, pba, 8), 2);
	/* No INTx while MSI-X is on. */
	assert_int_equal(e->s->gsi_level[e->drv.gsi], 0);
	sim_mmio_write(e->s, ctrl1, 4, 0);
	assert_int_equal(e->s->msi_count, n + 1);
	assert_int_equal(e->s->last_msi_data, VDRIVER_MSI_DATA(1));
	assert_int_equal(e->s->last_msi_addr, VDRIVER_MSI_ADDR);
	assert_false(msix_pending(m, 1));
	/* Function mask: everything pends, clearing it delivers. */
	uint32_t cap = 0;
	for (uint8_t c = (uint8_t)cfg(e, PCI_CAPABILITY_LIST, 1); c;
	     c = (uint8_t)cfg(e, c + 1, 1))
		if (cfg(e, c, 1) == PCI_CAP_ID_MSIX)
			cap = c;
	assert_int_not_equal(cap, 0);
	uint32_t ctl = cfg(e, cap + PCI_MSIX_FLAGS, 2);
	vdriver_pci_cfg_write(&e->drv, cap + PCI_MSIX_FLAGS, 2,
			      ctl | PCI_MSIX_FLAGS_MASKALL);
	e->dev.vd.tops->notify_queue(e->dev.vd.transport, 1);  /* vector 2 */
	vdev_config_changed(&e->dev.vd);                      /* vector 0 */
	assert_int_equal(e->s->msi_count, n + 1);
	assert_true(msix_pending(m, 2) && msix_pending(m, 0));
	vdriver_pci_cfg_write(&e->drv, cap + PCI_MSIX_FLAGS, 2, ctl);
	assert_int_equal(e->s->msi_count, n + 3);
	assert_false(msix_pending(m, 2) || msix_pending(m, 0));
	/* Config vector NO_VECTOR: no message, no INTx. */
	cw(e, C(msix_config), 2, NOVEC);
	vdev_config_changed(&e->dev.vd);
	assert_int_equal(e->s->msi_count, n + 3);
	assert_int_equal(e->s->gsi_level[e->drv.gsi], 0);
	/* Between the table and the PBA the BAR reads 0. */
	assert_int_equal(sim_mmio_read(e->s, e->drv.msix_table + 0x400, 4), 0);
	sim_mmio_write(e->s, e->drv.msix_table + 0x400, 4, 1);
}

static void window_setup(struct env *e, uint8_t bar, uint32_t off, uint32_t len)
{
	uint8_t c = e->drv.cfg_cap;
	vdriver_pci_cfg_write(&e->drv, c + offsetof(struct virtio_pci_cap, bar), 1, bar);
	vdriver_pci_cfg_write(&e->drv, c + offsetof(struct virtio_pci_cap, offset), 4, off);
	vdriver_pci_cfg_write(&e->drv, c + offsetof(struct virtio_pci_cap, length), 4, len);
}

static void test_pci_cfg_window(void **state)
{
	struct env *e = *state;
	uint32_t data = e->drv.cfg_cap + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);
	assert_int_not_equal(e->drv.cfg_cap, 0);
	window_setup(e, VIRTIO_PCI_BAR_REGS, C(num_queues), 2);
	assert_int_equal(cfg(e, data, 4) & 0xffff, 2);
	assert_int_equal(cfg(e, data, 2), 2);
	/* A write through the window reaches the common config. */
	window_setup(e, VIRTIO_PCI_BAR_REGS, C(device_status), 1);
	vdriver_pci_cfg_write(&e->drv, data, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(cr(e, C(device_status), 1), VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(cfg(e, data, 1), VIRTIO_STATUS_ACKNOWLEDGE);
	/* Refused windows: bad length, other BAR, misaligned, past the end. */
	static const struct { uint8_t bar; uint32_t off, len; } bad[] = {
		{ VIRTIO_PCI_BAR_REGS, C(device_status), 3 },
		{ VIRTIO_PCI_BAR_REGS, C(device_status), 0 },
		{ VIRTIO_PCI_BAR_MSIX, 0, 4 },
		{ VIRTIO_PCI_BAR_REGS, C(device_status) + 1, 2 },
		{ VIRTIO_PCI_BAR_REGS, VIRTIO_PCI_REGS_SIZE, 4 },
		{ VIRTIO_PCI_BAR_REGS, 0xfffffffc, 4 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		window_setup(e, bad[i].bar, bad[i].off, bad[i].len);
		vdriver_pci_cfg_write(&e->drv, data, 4, 0);
		(void)cfg(e, data, 4);
		assert_int_equal(cr(e, C(device_status), 1), VIRTIO_STATUS_ACKNOWLEDGE);
	}
	/* Other capability bytes stay read-only. */
	uint32_t type = e->drv.cfg_cap + offsetof(struct virtio_pci_cap, cfg_type);
	vdriver_pci_cfg_write(&e->drv, type, 1, 1);
	assert_int_equal(cfg(e, type, 1), VIRTIO_PCI_CAP_PCI_CFG);
}

static void test_notify_region(void **state)
{
	struct env *e = *state;
	assert_int_equal(env_start(e, 0), 0);
	sim_mmio_write(e->s, e->drv.notify + 2, 2, 0);   /* unaligned */
	sim_mmio_write(e->s, e->drv.notify + 4 * 9, 2, 9); /* no such queue */
	assert_int_equal(e->dev.notifies[0], 0);
	assert_int_equal(sim_mmio_read(e->s, e->drv.notify, 2), 0);
	sim_mmio_write(e->s, e->drv.notify + 4, 2, 1);
	assert_int_equal(e->dev.notifies[1], 1);
	/* With bus mastering off the device may not DMA: a kick waits;
	 * when mastering is back every ready queue is looked at again. */
	uint32_t cmd = cfg(e, PCI_COMMAND, 2);
	vdriver_pci_cfg_write(&e->drv, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER);
	sim_mmio_write(e->s, e->drv.notify + 4, 2, 1);
	assert_int_equal(e->dev.notifies[1], 1);
	vdriver_pci_cfg_write(&e->drv, PCI_COMMAND, 2, cmd);
	assert_int_equal(e->dev.notifies[1], 2);
	sim_mmio_write(e->s, e->drv.notify + 4, 2, 1);
	assert_int_equal(e->dev.notifies[1], 3);
}

static void test_free_detaches_and_limits(void **state)
{
	struct env *e = *state;
	struct dummy d2;
	dummy_init(&d2, e->s->m.gm);
	struct virtio_pci *p = virtio_pci_new(e->s->m.gm, NULL, e->s->m.irqchip, &d2.vd);
	assert_non_null(p);
	assert_int_equal(pci_host_attach(e->host, virtio_pci_dev(p), 4, 0), 0);
	assert_int_equal(pci_host_cfg_read(e->host, 0, PCI_DEVFN(4, 0), 0, 2), 0x1af4);
	virtio_pci_free(p);
	assert_int_equal(pci_host_cfg_read(e->host, 0, PCI_DEVFN(4, 0), 0, 2), 0xffff);
	virtio_pci_free(NULL);
	d2.vd.nqueues = VDEV_MAX_QUEUES + 1;
	assert_null(virtio_pci_new(e->s->m.gm, NULL, e->s->m.irqchip, &d2.vd));
	d2.vd.nqueues = 1;
	d2.vd.config_size = 0;   /* no device config: no device capability */
	p = virtio_pci_new(e->s->m.gm, NULL, e->s->m.irqchip, &d2.vd);
	assert_non_null(p);
	virtio_pci_free(p);
}

/* The MSI-X capability of a function at slot 4, or 0 when it has none. */
static uint32_t msix_cap_at(struct env *e)
{
	uint32_t c = pci_host_cfg_read(e->host, 0, PCI_DEVFN(4, 0),
				       PCI_CAPABILITY_LIST, 1);
	for (unsigned n = 0; c && n < 16; n++) {
		if (pci_host_cfg_read(e->host, 0, PCI_DEVFN(4, 0), c, 1) ==
		    PCI_CAP_ID_MSIX)
			return c;
		c = pci_host_cfg_read(e->host, 0, PCI_DEVFN(4, 0), c + 1, 1);
	}
	return 0;
}

/* vectors=N sizes the MSI-X table (PCI 3.0 §6.8.2.3: Table Size is N-1);
 * vectors=0 leaves the function without MSI-X, on INTx (QEMU's meaning),
 * and without the table BAR; more than the table holds is refused. */
static void test_vectors(void **state)
{
	struct env *e = *state;
	struct dummy d2;
	dummy_init(&d2, e->s->m.gm);
	static const unsigned nvec[] = { 1, 2, 7, MSIX_MAX_VECTORS };
	for (unsigned i = 0; i < sizeof(nvec) / sizeof(nvec[0]); i++) {
		struct virtio_pci *p = virtio_pci_new_nvec(e->s->m.gm, NULL,
			e->s->m.irqchip, &d2.vd, nvec[i]);
		assert_non_null(p);
		assert_int_equal(pci_host_attach(e->host, virtio_pci_dev(p), 4, 0), 0);
		uint32_t cap = msix_cap_at(e);
		assert_int_not_equal(cap, 0);
		assert_int_equal(pci_host_cfg_read(e->host, 0, PCI_DEVFN(4, 0),
			cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE, nvec[i] - 1);
		assert_int_equal(virtio_pci_msix(p)->nvec, nvec[i]);
		virtio_pci_free(p);
	}
	struct virtio_pci *p = virtio_pci_new_nvec(e->s->m.gm, NULL,
		e->s->m.irqchip, &d2.vd, 0);
	assert_non_null(p);
	assert_int_equal(pci_host_attach(e->host, virtio_pci_dev(p), 4, 0), 0);
	assert_int_equal(msix_cap_at(e), 0);
	assert_false(msix_enabled(virtio_pci_msix(p)));
	/* BAR 1 (the table's) is not implemented: it reads back 0 after
	 * the all-ones sizing write (PCI 3.0 §6.2.5.1). */
	pci_host_cfg_write(e->host, 0, PCI_DEVFN(4, 0), PCI_BASE_ADDRESS_1, 4,
			   0xffffffff);
	assert_int_equal(pci_host_cfg_read(e->host, 0, PCI_DEVFN(4, 0),
					   PCI_BASE_ADDRESS_1, 4), 0);
	/* An interrupt takes the INTx path without touching a table. */
	vdev_config_changed(&d2.vd);
	virtio_pci_free(p);
	assert_null(virtio_pci_new_nvec(e->s->m.gm, NULL, e->s->m.irqchip,
					&d2.vd, MSIX_MAX_VECTORS + 1));
}

/* Two virtio functions in one slot: function 0 advertises multifunction,
 * both are probed (their BARs in separate places) and work with MSI-X. */
static void test_multifunction_virtio(void **state)
{
	struct env *e = *state;
	struct dummy d2;
	dummy_init(&d2, e->s->m.gm);
	struct virtio_pci *p2 = virtio_pci_new(e->s->m.gm, NULL, e->s->m.irqchip, &d2.vd);
	assert_int_equal(pci_host_attach(e->host, virtio_pci_dev(p2), DUMMY_SLOT, 1), 0);
	assert_int_equal(cfg(e, PCI_HEADER_TYPE, 1), 0x80);
	struct vdriver drv2;
	assert_int_equal(vdriver_pci_probe(&drv2, e->s, DUMMY_SLOT, 1, true), 0);
	assert_int_equal(vdriver_pci_probe(&e->drv, e->s, DUMMY_SLOT, 0, true), 0);
	assert_true(drv2.common != e->drv.common);
	assert_int_equal(env_start(e, 0), 0);
	struct vdq q;
	assert_int_equal(vdriver_negotiate(&drv2, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0);
	assert_int_equal(vdriver_setup_queue(&drv2, 1, &q, 8), 0);
	vdriver_driver_ok(&drv2);
	drv2.bus->kick(&drv2, 1);
	assert_int_equal(d2.notifies[1], 1);
	assert_int_equal(e->dev.notifies[1], 0);
	d2.vd.tops->notify_queue(d2.vd.transport, 1);
	assert_true(drv2.bus->irq_pending(&drv2));
	assert_int_equal(e->s->last_msi_data, VDRIVER_MSI_DATA(2));
	virtio_pci_free(p2);
}

#define TI(f) cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, (void *)&intx)
#define TM(f) cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, (void *)&msi)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TI(test_identity),
		TI(test_capabilities),
		TI(test_common_widths),
		TM(test_queue_fields),
		TI(test_isr_and_intx),
		TM(test_msix_masking),
		TI(test_pci_cfg_window),
		TI(test_notify_region),
		TI(test_free_detaches_and_limits),
		TI(test_vectors),
		TI(test_multifunction_virtio),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
