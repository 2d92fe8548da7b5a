/* Shared by the virtio device unit tests (blk, net, console, rng,
 * balloon): a simulated machine, the device under test attached to
 * virtio-mmio or virtio-pci, and the sim guest driver (sim/vdriver.h)
 * playing the guest through the transport's one ops table, so every test
 * body runs on every transport: virtio-mmio, modern virtio-pci
 * (disable-legacy=on), a transitional function driven through its modern
 * interface (QEMU's default, Linux's choice), and a legacy-only function
 * (disable-modern=on) driven through the I/O BAR.  Static functions
 * only. */
#ifndef VMM_TESTS_VDEV_FIXTURE_H
#define VMM_TESTS_VDEV_FIXTURE_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/bus.h"
#include "core/gm.h"
#include "core/layout.h"
#include "core/log.h"
#include "devices/pci/pci.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/pci.h"
#include "devices/virtio/virtio.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "sim/vdriver_queue.h"

enum vfx_kind { VFX_MMIO, VFX_PCI, VFX_PCI_TRANSITIONAL, VFX_PCI_LEGACY };

/* One cmocka entry per transport for test body fn (state = the kind). */
#define VFX_TESTS(fn)                                                     \
	cmocka_unit_test_prestate(fn, (void *)(uintptr_t)VFX_MMIO),        \
		cmocka_unit_test_prestate(fn, (void *)(uintptr_t)VFX_PCI), \
		cmocka_unit_test_prestate(fn, (void *)(uintptr_t)VFX_PCI_TRANSITIONAL), \
		cmocka_unit_test_prestate(fn, (void *)(uintptr_t)VFX_PCI_LEGACY)

#define VFX_MMIO_GSI 5u
#define VFX_PCI_SLOT 3u
/* Data buffers live above the driver's ring area (1..16 MiB). */
#define VFX_DATA_BASE (16ull << 20)
#define VFX_DATA_SIZE (32ull << 20)

struct vfx {
	enum vfx_kind kind;
	struct sim *sim;
	struct log *log;
	struct vdev *vd;
	struct virtio_mmio *mmio;
	struct virtio_pci *pci;
	struct pci_host *host;
	struct vdriver d;
	struct vdq q[VDEV_MAX_QUEUES];
	uint64_t data_next;
};

/* Step 1: the machine (devices need its gm and clk to be created). */
static __attribute__((unused)) struct vfx *vfx_new(enum vfx_kind kind)
{
	struct vfx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->kind = kind;
	f->log = log_new_memory(LOG_DEBUG);
	struct sim_config sc = { .ram_size = 64ull << 20, .seed = 1, .log = f->log };
	f->sim = sim_new(&sc);
	assert_non_null(f->sim);
	f->data_next = VFX_DATA_BASE;
	return f;
}

static __attribute__((unused)) const struct gm *vfx_gm(struct vfx *f)
{
	return f->sim->m.gm;
}

static __attribute__((unused)) const struct clk *vfx_clk(struct vfx *f)
{
	return f->sim->m.clk;
}

/* Step 2: put the device on its transport and probe it. */
static __attribute__((unused)) void vfx_attach(struct vfx *f, struct vdev *vd)
{
	struct sim *s = f->sim;
	f->vd = vd;
	if (f->kind == VFX_MMIO) {
		f->mmio = virtio_mmio_new(s->m.gm, f->log,
					  irq_line(s->m.irqchip, VFX_MMIO_GSI), vd);
		assert_non_null(f->mmio);
		assert_int_equal(bus_register(s->m.mmio, LAYOUT_VIRTIO_MMIO_BASE,
					      VIRTIO_MMIO_WINDOW, virtio_mmio_access,
					      f->mmio, "virtio-mmio"), 0);
		assert_int_equal(vdriver_mmio_probe(&f->d, s, LAYOUT_VIRTIO_MMIO_BASE,
						    VFX_MMIO_GSI), 0);
	} else {
		f->host = pci_host_new(s->m.pio, s->m.mmio, LAYOUT_ECAM_BASE, NULL,
				       s->m.irqchip, f->log);
		assert_non_null(f->host);
		enum virtio_pci_mode mode = f->kind == VFX_PCI ? VIRTIO_PCI_MODERN :
			f->kind == VFX_PCI_LEGACY ? VIRTIO_PCI_LEGACY : VIRTIO_PCI_TRANSITIONAL;
		f->pci = virtio_pci_new_mode(s->m.gm, f->log, s->m.irqchip, vd, mode);
		assert_non_null(f->pci);
		assert_int_equal(pci_host_attach(f->host, virtio_pci_dev(f->pci),
						 VFX_PCI_SLOT, 0), 0);
		if (f->kind == VFX_PCI_LEGACY)
			assert_int_equal(vdriver_pci_probe_legacy(&f->d, s, VFX_PCI_SLOT,
								  0, true), 0);
		else
			assert_int_equal(vdriver_pci_probe(&f->d, s, VFX_PCI_SLOT, 0,
							   true), 0);
	}
	assert_int_equal(f->d.bus->device_id(&f->d), vd->device_id);
}

/* Step 3: negotiate `want` (VERSION_1 always added), set up nq queues of
 * qsize entries, DRIVER_OK. */
static __attribute__((unused)) void vfx_start(struct vfx *f, uint64_t want, unsigned nq, uint16_t qsize)
{
	want |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
	assert_int_equal(vdriver_negotiate(&f->d, want), 0);
	for (unsigned q = 0; q < nq; q++)
		assert_int_equal(vdriver_setup_queue(&f->d, q, &f->q[q], qsize), 0);
	vdriver_driver_ok(&f->d);
}

/* Take the transport down (before the device model is freed). */
static __attribute__((unused)) void vfx_detach(struct vfx *f)
{
	if (f->mmio) {
		bus_unregister(f->sim->m.mmio, LAYOUT_VIRTIO_MMIO_BASE, f->mmio);
		virtio_mmio_free(f->mmio);
		f->mmio = NULL;
	}
	if (f->pci) {
		virtio_pci_free(f->pci);
		f->pci = NULL;
	}
	if (f->host) {
		pci_host_free(f->host);
		f->host = NULL;
	}
}

/* Free the machine: after the device model (it holds the sim's clock). */
static __attribute__((unused)) void vfx_free(struct vfx *f)
{
	vfx_detach(f);
	sim_free(f->sim);
	log_free(f->log);
	free(f);
}

/* Guest memory for data buffers (never reused within a test). */
static __attribute__((unused)) uint64_t vfx_alloc(struct vfx *f, uint64_t len)
{
	uint64_t a = (f->data_next + 15) & ~15ull;
	assert_true(a + len <= VFX_DATA_BASE + VFX_DATA_SIZE);
	f->data_next = a + len;
	return a;
}

static __attribute__((unused)) uint64_t vfx_put(struct vfx *f, const void *data, uint64_t len)
{
	uint64_t a = vfx_alloc(f, len);
	assert_int_equal(gm_write(vfx_gm(f), a, data, len), 0);
	return a;
}

/* Add a chain to queue q, publish and kick (if the device wants it). */
static __attribute__((unused)) int vfx_add(struct vfx *f, unsigned q, const struct vdq_buf *b,
		   unsigned n)
{
	int id = vdq_add(&f->q[q], b, n, false);
	assert_true(id >= 0);
	vdq_publish(&f->q[q]);
	vdriver_kick(&f->d, q, &f->q[q]);
	return id;
}

/* Add without kicking (batch), then vfx_kick. */
static __attribute__((unused)) int vfx_add_nokick(struct vfx *f, unsigned q, const struct vdq_buf *b,
			  unsigned n)
{
	int id = vdq_add(&f->q[q], b, n, false);
	assert_true(id >= 0);
	vdq_publish(&f->q[q]);
	return id;
}

static __attribute__((unused)) void vfx_kick(struct vfx *f, unsigned q)
{
	vdq_kick_prepare(&f->q[q]);
	f->d.bus->kick(&f->d, q);
}

/* Next used buffer of q: returns 1 and fills id/len, or 0. */
static __attribute__((unused)) int vfx_used(struct vfx *f, unsigned q, uint16_t *id, uint32_t *len)
{
	int r = vdq_get_used(&f->q[q], id, len);
	assert_true(r >= 0);
	return r;
}

static __attribute__((unused)) uint8_t vfx_status(struct vfx *f)
{
	return f->d.bus->get_status(&f->d);
}

static __attribute__((unused)) uint64_t vfx_cfg(struct vfx *f, uint32_t off, unsigned len)
{
	return f->d.bus->config_read(&f->d, off, len);
}

static __attribute__((unused)) bool vfx_irq(struct vfx *f)
{
	return f->d.bus->irq_pending(&f->d);
}

#endif
