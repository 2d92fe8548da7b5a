/* PCI functions and the PCI host bridge (PCI Local Bus 3.0 §6, PCIe Base
 * 4.0 §7.2 ECAM).
 *
 * A device model embeds a struct pci_dev, describes its identity and BARs,
 * adds capabilities, and attaches to a pci_host at slot.func.  The config
 * space is emulated byte by byte with a writable mask and a
 * write-1-to-clear mask, so BAR sizing (all-ones write, read back
 * ~(size-1)|flags), command and status semantics fall out of the masks.
 * The host maps a BAR's access callback onto the machine's MMIO or port-I/O
 * bus when the guest programs an address inside the host's windows and
 * enables memory / I/O decode, and unmaps it when either changes.
 *
 * Config register offsets and bits come from <linux/pci_regs.h> (the spec's
 * names); nothing here hard-codes a layout the spec does not. */
#ifndef VMM_DEVICES_PCI_PCI_H
#define VMM_DEVICES_PCI_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/pci_regs.h>
#include "core/bus.h"
#include "core/irq.h"
#include "core/log.h"

#define PCI_CFG_SIZE 4096u       /* PCIe extended config space per function */
#define PCI_CFG_LEGACY_SIZE 256u /* what 0xCF8/0xCFC reaches */
#define PCI_NUM_BARS 6u
#define PCI_SLOTS 32u
#define PCI_FUNCS 8u
#define PCI_DEVFN(slot, func) (((slot) << 3) | (func))

/* BAR kinds (the low bits of the BAR register, PCI 3.0 §6.2.5.1). */
enum pci_bar_kind {
	PCI_BAR_NONE = 0,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,   /* occupies this BAR and the next */
	PCI_BAR_IO,
};

struct pci_bar {
	enum pci_bar_kind kind;
	bool prefetch;
	uint64_t size;           /* power of two; 0 when unused */
	bus_access_fn fn;
	void *opaque;
	const char *name;
	/* Current mapping on the machine bus (host-owned). */
	bool mapped;
	uint64_t mapped_addr;
};

struct pci_dev;
struct msix;
struct pci_host;
struct pci_bridge;

/* Optional device hooks into config space. */
struct pci_dev_ops {
	/* Called after the guest wrote [off, off+len) (already applied to
	 * cfg[] through the masks). */
	void (*cfg_written)(struct pci_dev *d, uint32_t off, unsigned len);
	/* Called before a guest read of [off, off+len) so the device can
	 * refresh bytes in cfg[] (virtio pci_cfg window). */
	void (*cfg_before_read)(struct pci_dev *d, uint32_t off, unsigned len);
	/* pci_dma_allowed() may have changed (a Bus Master Enable write to
	 * the function or to the bridge above it): pending work can go on. */
	void (*dma_changed)(struct pci_dev *d);
	/* A conventional reset reached the function (secondary bus reset,
	 * PCI-to-PCI Bridge Arch 1.2 §3.2.5.17): the device model returns to
	 * its power-on state, after pci_dev_reset did the config header. */
	void (*reset)(struct pci_dev *d);
};

struct pci_dev_info {
	uint16_t vendor_id, device_id;
	uint16_t subsys_vendor_id, subsys_id;
	uint32_t class_code;     /* base class << 16 | subclass << 8 | prog-if */
	uint8_t revision;
	uint8_t irq_pin;         /* 0: none, 1..4: INTA..INTD */
	bool multifunction;      /* header type bit 7 */
};

struct pci_dev {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];   /* bits the guest may write */
	uint8_t w1cmask[PCI_CFG_SIZE]; /* bits a 1 written clears */
	struct pci_bar bars[PCI_NUM_BARS];
	const struct pci_dev_ops *ops;
	void *opaque;                  /* the device model */
	struct msix *msix;             /* set by msix_init() */
	char name[32];
	struct log *log;
	struct log_rl rl;
	/* Host-owned: */
	struct pci_host *host;
	unsigned devfn;
	struct irq intx;               /* GSI after the host's swizzle */
	bool intx_asserted;            /* the device's view */
	uint16_t cap_end;              /* next free offset for a capability */
	/* devices/pci/bridge.h: the bridge this function is (NULL for a
	 * type 0 function), and the bridge whose secondary bus it sits on
	 * (NULL on bus 0). */
	struct pci_bridge *bridge;
	struct pci_bridge *parent;
};

/* Fill the type 0 header.  The whole struct is zeroed first. */
void pci_dev_init(struct pci_dev *d, const struct pci_dev_info *info,
		  const char *name, struct log *log);

/* Declare BAR idx.  size must be a power of two (>= 16 for memory, >= 4
 * for I/O); a 64-bit BAR uses idx and idx+1.  Returns 0 or -EINVAL. */
int pci_dev_set_bar(struct pci_dev *d, unsigned idx, enum pci_bar_kind kind,
		    uint64_t size, bool prefetch, bus_access_fn fn,
		    void *opaque, const char *name);

/* Append a capability of len bytes with ID id to the list (PCI 3.0
 * §6.7).  Returns its config offset, or -ENOSPC.  The caller fills the
 * body with pci_cfg_set*() and sets writable bits with pci_cfg_set_wmask. */
int pci_dev_add_cap(struct pci_dev *d, uint8_t id, unsigned len);

/* Host-side (device model) accessors, no masks applied. */
void pci_cfg_set8(struct pci_dev *d, uint32_t off, uint8_t v);
void pci_cfg_set16(struct pci_dev *d, uint32_t off, uint16_t v);
void pci_cfg_set32(struct pci_dev *d, uint32_t off, uint32_t v);
uint8_t pci_cfg_get8(const struct pci_dev *d, uint32_t off);
uint16_t pci_cfg_get16(const struct pci_dev *d, uint32_t off);
uint32_t pci_cfg_get32(const struct pci_dev *d, uint32_t off);
void pci_cfg_set_wmask(struct pci_dev *d, uint32_t off, unsigned len,
		       uint32_t mask);

/* Guest config accesses (from the host bridge).  len 1, 2 or 4 and the
 * access must not cross a dword; anything else reads all-ones / is
 * dropped, with a rate-limited log line. */
uint32_t pci_cfg_read(struct pci_dev *d, uint32_t off, unsigned len);
void pci_cfg_write(struct pci_dev *d, uint32_t off, unsigned len, uint32_t val);

/* Current BAR address as programmed (flags stripped), whatever decode. */
uint64_t pci_bar_addr(const struct pci_dev *d, unsigned idx);
bool pci_mem_enabled(const struct pci_dev *d);
bool pci_io_enabled(const struct pci_dev *d);
bool pci_bus_master(const struct pci_dev *d);
/* May the function master the bus now: its own Bus Master Enable and, for
 * a function behind a bridge, the bridge's (which forwards its memory
 * requests upstream only with BME set, PCI-to-PCI Bridge Arch 1.2
 * §3.2.5.2).  Without it a function reads and writes no memory and sends
 * no MSI/MSI-X message (a memory write, PCI 3.0 §6.8). */
bool pci_dma_allowed(const struct pci_dev *d);
/* pci_dma_allowed(d) may have changed: deliver held MSI-X messages, run
 * ops->dma_changed (called by pci_cfg_write on a BME change). */
void pci_dev_dma_changed(struct pci_dev *d);

/* Drive the device's INTx pin.  The line the host sees follows the pin
 * unless Interrupt Disable (command bit 10) is set; status bit 3 always
 * shows the pin (PCI 3.0 §6.2.2, §6.2.3). */
void pci_set_irq(struct pci_dev *d, int level);

/* Reset the function's guest-visible config state (command, BARs, MSI-X
 * control) as a bus reset would, then the device model's own state
 * (ops->reset); identity and capabilities stay. */
void pci_dev_reset(struct pci_dev *d);

/* ---- host bridge ---- */

struct pci_host_windows {
	uint64_t mmio32_base, mmio32_size;
	uint64_t mmio64_base, mmio64_size;  /* 0 size: none */
	uint64_t io_base, io_size;
};

/* Create the host bridge (function 00.0, an Intel Q35 MCH identity) with
 * config access at 0xCF8/0xCFC on pio and ECAM at ecam_base on mmio (256
 * buses, only bus 0 populated).  windows NULL: the core/layout.h windows
 * without a 64-bit window.  chip: for INTx lines.  NULL on failure. */
struct pci_host *pci_host_new(struct bus *pio, struct bus *mmio,
			      uint64_t ecam_base, const struct pci_host_windows *w,
			      struct irq_chip *chip, struct log *log);
void pci_host_free(struct pci_host *h);

/* Place d at slot.func of bus 0.  Function 0 gets the multifunction
 * header bit as soon as any other function of its slot exists.  Returns 0,
 * -EINVAL (slot/func out of range, or 00.0 which is the bridge), -EEXIST. */
int pci_host_attach(struct pci_host *h, struct pci_dev *d, unsigned slot,
		    unsigned func);
void pci_host_detach(struct pci_host *h, struct pci_dev *d);
struct pci_dev *pci_host_dev(struct pci_host *h, unsigned slot, unsigned func);

/* Config access as a guest would make it, by bus/dev/fn (tests, sim):
 * absent functions read all-ones. */
uint32_t pci_host_cfg_read(struct pci_host *h, unsigned bus, unsigned devfn,
			   uint32_t off, unsigned len);
void pci_host_cfg_write(struct pci_host *h, unsigned bus, unsigned devfn,
			uint32_t off, unsigned len, uint32_t val);

/* Re-evaluate d's BAR mappings after its BARs or command changed (called
 * by pci_cfg_write; exported for pci_dev_reset and tests). */
void pci_host_update_mappings(struct pci_dev *d);

/* d's effective INTx level changed: recompute the shared line. */
void pci_host_intx_changed(struct pci_dev *d);

/* Assign every BAR of every attached device from the windows and enable
 * decode and bus mastering, as firmware would before the OS runs.
 * Returns 0 or -ENOSPC when a window is exhausted. */
int pci_host_assign_resources(struct pci_host *h);

/* The GSI an INTx pin of slot routes to: LAYOUT_GSI_PCI_INTX +
 * ((pin - 1 + slot) % 4), the usual swizzle (PCI-to-PCI Bridge Arch §9.1). */
unsigned pci_host_intx_gsi(unsigned slot, unsigned pin);

/* The host's interrupt line for gsi (for bridges routing their
 * children's INTx). */
struct irq pci_host_intx_line(struct pci_host *h, unsigned gsi);

#endif
