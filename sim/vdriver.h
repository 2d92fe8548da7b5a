/* The guest's virtio driver, played by tests, fuzzers, benchmarks and
 * simulator scenarios (QEMU libqos QVirtioBus): one ops table, struct
 * vdriver_bus, with a virtio-mmio and a virtio-pci implementation, so one
 * test body covers both transports.  Everything goes through the sim's
 * buses exactly as guest loads and stores would; rings are laid out by
 * sim/vdriver_queue.h in sim guest memory.
 *
 * The generic steps follow virtio 1.2 §3.1.1: reset, ACKNOWLEDGE, DRIVER,
 * read/write features, FEATURES_OK (and check it stuck), queue setup,
 * DRIVER_OK. */
#ifndef VMM_SIM_VDRIVER_H
#define VMM_SIM_VDRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include "devices/virtio/queue.h"
#include "sim/sim.h"
#include "sim/vdriver_queue.h"

struct vdriver;

/* ISR bits as both transports report them (§4.2.2 / §4.1.4.5). */
#define VDRIVER_ISR_QUEUE 1u
#define VDRIVER_ISR_CONFIG 2u
/* MSI-X messages the PCI driver programs: vector v sends data
 * VDRIVER_MSI_DATA(v) to VDRIVER_MSI_ADDR. */
#define VDRIVER_MSI_ADDR 0xfee00000ull
#define VDRIVER_MSI_DATA(v) (0x40u + (v))

struct vdriver_bus {
	const char *name;
	uint32_t (*device_id)(struct vdriver *d);
	uint8_t (*get_status)(struct vdriver *d);
	void (*set_status)(struct vdriver *d, uint8_t status);
	uint32_t (*get_features)(struct vdriver *d, uint32_t word);
	void (*set_features)(struct vdriver *d, uint32_t word, uint32_t val);
	uint32_t (*config_generation)(struct vdriver *d);
	uint64_t (*config_read)(struct vdriver *d, uint32_t off, unsigned len);
	void (*config_write)(struct vdriver *d, uint32_t off, unsigned len,
			     uint64_t val);
	uint16_t (*queue_max)(struct vdriver *d, unsigned q);
	/* Program queue q (size, ring addresses, MSI-X vector) and enable
	 * it.  Returns true when the device reports it ready. */
	bool (*queue_setup)(struct vdriver *d, unsigned q,
			    const struct vq_config *cfg);
	bool (*queue_ready)(struct vdriver *d, unsigned q);
	void (*kick)(struct vdriver *d, unsigned q);
	/* Route config-change interrupts (virtio-pci with MSI-X: vector 0,
	 * §4.1.5.1.2); NULL when the transport has nothing to set. */
	void (*config_irq_setup)(struct vdriver *d);
	/* Read and acknowledge the interrupt status (VDRIVER_ISR_*). */
	uint32_t (*isr_ack)(struct vdriver *d);
	/* Is the device's interrupt asserted (level line high or, with
	 * MSI-X, any message since the last call)? */
	bool (*irq_pending)(struct vdriver *d);
};

extern const struct vdriver_bus vdriver_mmio_bus;
extern const struct vdriver_bus vdriver_pci_bus;
extern const struct vdriver_bus vdriver_pci_legacy_bus;

struct vdriver {
	const struct vdriver_bus *bus;
	struct sim *sim;
	uint64_t features;       /* negotiated (after vdriver_negotiate) */
	/* Guest RAM the driver lays rings out in (bump allocator). */
	uint64_t mem_next, mem_end;
	/* virtio-mmio: */
	uint64_t base;           /* register window */
	unsigned gsi;            /* mmio line / PCI INTx GSI */
	/* virtio-pci: */
	unsigned devfn;
	uint64_t ecam;           /* this function's ECAM config base */
	uint64_t common, isr, device, notify; /* addresses from the caps */
	uint32_t notify_mult;
	uint8_t cfg_cap;         /* pci_cfg access capability offset */
	bool msix;               /* MSI-X enabled by probe */
	unsigned nvec;
	uint64_t msix_table;
	uint64_t msi_seen;       /* sim->msi_count at the last irq_pending */
	/* virtio-pci legacy interface (I/O BAR 0): */
	bool legacy;
	uint16_t io;
};

/* Probe a virtio-mmio window at base (magic, version 2) whose interrupt
 * is gsi.  0 or -ENODEV. */
int vdriver_mmio_probe(struct vdriver *d, struct sim *s, uint64_t base,
		       unsigned gsi);
/* Probe bus 0 slot.func through ECAM as an OS would: check the virtio
 * vendor/device IDs, size and assign the BARs (I/O from mmio_base in the
 * PCI windows), walk the vendor capabilities, enable memory decode and bus
 * mastering and, when use_msix, MSI-X with vector v sending
 * VDRIVER_MSI_DATA(v).  0, -ENODEV or -EPROTO (capabilities missing). */
int vdriver_pci_probe(struct vdriver *d, struct sim *s, unsigned slot,
		      unsigned func, bool use_msix);
/* The same for a function on the secondary bus of a bus 0 PCI-to-PCI
 * bridge: the driver opens that bridge's memory window on the bridge
 * slot's slice and places the BARs inside it.  -ENODEV also when no
 * bridge leads to bus. */
int vdriver_pci_probe_bus(struct vdriver *d, struct sim *s, unsigned bus,
			  unsigned slot, unsigned func, bool use_msix);
/* The legacy interface of a transitional or legacy function (virtio 1.2
 * §4.1.4.10), as Linux's virtio_pci_legacy drives it: I/O BAR 0 assigned
 * (behind a bridge: its I/O window opened), I/O decode, bus mastering,
 * MSI-X as above.  -ENODEV also for a modern-only function, -EPROTO when
 * BAR 0 is no I/O BAR.  Queues then use the legacy layout (vdq_init_legacy)
 * and features are bits 0-31 without VERSION_1. */
int vdriver_pci_probe_legacy(struct vdriver *d, struct sim *s, unsigned slot,
			     unsigned func, bool use_msix);
int vdriver_pci_probe_legacy_bus(struct vdriver *d, struct sim *s, unsigned bus,
				 unsigned slot, unsigned func, bool use_msix);
/* MSI-X on with vector v sending VDRIVER_MSI_DATA(v) (both interfaces). */
void vdriver_pci_enable_msix(struct vdriver *d, uint8_t cap, const uint64_t bars[6]);
/* The virtio device type of the probed function (modern or transitional
 * id). */
uint32_t vdriver_pci_virtio_id(struct vdriver *d);
/* ECAM config access for the probed function. */
uint32_t vdriver_pci_cfg_read(struct vdriver *d, uint32_t off, unsigned len);
void vdriver_pci_cfg_write(struct vdriver *d, uint32_t off, unsigned len,
			   uint32_t val);

/* Where rings go (default after probe: 1 MiB .. 16 MiB of sim RAM). */
void vdriver_set_memory(struct vdriver *d, uint64_t base, uint64_t size);
/* Bump-allocate guest memory; 0 when exhausted. */
uint64_t vdriver_alloc(struct vdriver *d, uint64_t size, uint64_t align);

/* Write 0 to status and check it reads back 0. */
void vdriver_reset(struct vdriver *d);
/* Reset, ACKNOWLEDGE, DRIVER, accept want & offered, FEATURES_OK.
 * Returns 0, or -EPROTO when the device did not keep FEATURES_OK. */
int vdriver_negotiate(struct vdriver *d, uint64_t want);
uint64_t vdriver_device_features(struct vdriver *d);
/* Lay queue q out (size entries, split or packed per the negotiated
 * features) in driver memory and enable it.  0, -ENOMEM, -EINVAL (bad
 * size), -EIO (device refused ready). */
int vdriver_setup_queue(struct vdriver *d, unsigned q, struct vdq *vq,
			uint16_t size);
void vdriver_driver_ok(struct vdriver *d);
/* Kick q if the ring wants one (vdq_kick_prepare); returns whether it did. */
bool vdriver_kick(struct vdriver *d, unsigned q, struct vdq *vq);

#endif
