/* PCI Express Root Port with native hot-plug: see pcie_port.h.  Register
 * layout from PCIe Base 4.0 §7.5.3 (PCI Express Capability), behaviour of
 * the slot from §6.7 (PCI Express Hot-Plug Support) and §7.5.3.9-11
 * (Slot Capabilities/Control/Status); MSI from PCI 3.0 §6.8.1. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pcie_port.h"
#include "pci_snap.h"
#include "core/snapshot.h"

#define EXP_CAP_LEN 0x3cu  /* a v2 capability up to Slot Status 2 */
#define MSI_CAP_LEN 0x0eu  /* 64-bit address, no per-vector masking */

/* Slot Status bits that are RW1C (§7.5.3.11). */
#define SLTSTA_W1C (PCI_EXP_SLTSTA_ABP | PCI_EXP_SLTSTA_PFD | PCI_EXP_SLTSTA_MRLSC | \
		    PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_CC | PCI_EXP_SLTSTA_DLLSC)
/* Slot Control bits software may write (§7.5.3.10); the rest RsvdP. */
#define SLTCTL_WMASK (PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_PFDE | PCI_EXP_SLTCTL_MRLSCE | \
		      PCI_EXP_SLTCTL_PDCE | PCI_EXP_SLTCTL_CCIE | PCI_EXP_SLTCTL_HPIE | \
		      PCI_EXP_SLTCTL_AIC | PCI_EXP_SLTCTL_PIC | PCI_EXP_SLTCTL_PCC | \
		      PCI_EXP_SLTCTL_EIC | PCI_EXP_SLTCTL_DLLSCE)

struct pcie_port {
	struct pci_bridge *br;
	struct pci_dev *dev;
	struct irq_chip *chip;
	unsigned exp, msi;      /* capability offsets */
	struct pci_dev *child;
	bool unplug_pending;
	bool irq_cond;          /* the hot-plug interrupt condition, last seen */
	uint16_t sltctl;        /* Slot Control before the current write */
	pcie_port_removed_fn removed;
	void *removed_opaque;
};

static uint16_t get16(struct pcie_port *p, unsigned reg)
{
	return pci_cfg_get16(p->dev, p->exp + reg);
}

static void set16(struct pcie_port *p, unsigned reg, uint16_t v)
{
	pci_cfg_set16(p->dev, p->exp + reg, v);
}

/* §6.7.3.4: the one hot-plug interrupt, generated while HPIE and an
 * enabled event is pending. */
static bool hp_condition(struct pcie_port *p)
{
	uint16_t ctl = get16(p, PCI_EXP_SLTCTL), sta = get16(p, PCI_EXP_SLTSTA);
	if (!(ctl & PCI_EXP_SLTCTL_HPIE))
		return false;
	return ((sta & PCI_EXP_SLTSTA_ABP) && (ctl & PCI_EXP_SLTCTL_ABPE)) ||
	       ((sta & PCI_EXP_SLTSTA_PDC) && (ctl & PCI_EXP_SLTCTL_PDCE)) ||
	       ((sta & PCI_EXP_SLTSTA_CC) && (ctl & PCI_EXP_SLTCTL_CCIE)) ||
	       ((sta & PCI_EXP_SLTSTA_DLLSC) && (ctl & PCI_EXP_SLTCTL_DLLSCE));
}

static void hp_update_irq(struct pcie_port *p)
{
	bool cond = hp_condition(p);
	bool msi_on = pci_cfg_get16(p->dev, p->msi + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE;
	if (msi_on) {
		pci_set_irq(p->dev, 0);
		/* MSI is an edge: one message per new event (a driver that
		 * clears the status and finds more set gets the next edge). */
		if (cond && !p->irq_cond && pci_bus_master(p->dev)) {
			uint64_t addr = pci_cfg_get32(p->dev, p->msi + PCI_MSI_ADDRESS_LO) |
					(uint64_t)pci_cfg_get32(p->dev, p->msi + PCI_MSI_ADDRESS_HI) << 32;
			uint16_t data = pci_cfg_get16(p->dev, p->msi + PCI_MSI_DATA_64);
			irq_msi(p->chip, addr, data);
		}
	} else {
		pci_set_irq(p->dev, cond);
	}
	p->irq_cond = cond;
}

static void sta_set(struct pcie_port *p, uint16_t bits)
{
	set16(p, PCI_EXP_SLTSTA, get16(p, PCI_EXP_SLTSTA) | bits);
}

static void sta_clear(struct pcie_port *p, uint16_t bits)
{
	set16(p, PCI_EXP_SLTSTA, get16(p, PCI_EXP_SLTSTA) & (uint16_t)~bits);
}

/* The link is up while a device is present and powered (§6.7.3.3 and
 * the Data Link Layer Link Active bit, §7.5.3.8).  A change is a DLL
 * State Changed event. */
static void link_update(struct pcie_port *p, bool report)
{
	bool powered = !(get16(p, PCI_EXP_SLTCTL) & PCI_EXP_SLTCTL_PCC);
	bool up = p->child && powered;
	uint16_t lnk = get16(p, PCI_EXP_LNKSTA);
	bool was = lnk & PCI_EXP_LNKSTA_DLLLA;
	if (up == was)
		return;
	set16(p, PCI_EXP_LNKSTA, up ? lnk | PCI_EXP_LNKSTA_DLLLA
				    : lnk & (uint16_t)~PCI_EXP_LNKSTA_DLLLA);
	if (report)
		sta_set(p, PCI_EXP_SLTSTA_DLLSC);
}

static void hp_remove(struct pcie_port *p)
{
	struct pci_dev *c = p->child;
	pci_bridge_detach(p->br, c);
	p->child = NULL;
	p->unplug_pending = false;
	sta_clear(p, PCI_EXP_SLTSTA_PDS);
	sta_set(p, PCI_EXP_SLTSTA_PDC);
	link_update(p, true);
	if (p->removed)
		p->removed(p->removed_opaque, p, c);
}

/* After a guest config write (the bridge already applied it). */
static void port_written(void *ext, uint32_t off, unsigned len)
{
	struct pcie_port *p = ext;
	uint32_t ctl = p->exp + PCI_EXP_SLTCTL;
	if (off < ctl + 2 && off + len > ctl) {
		uint16_t old = p->sltctl, now = get16(p, PCI_EXP_SLTCTL);
		p->sltctl = now;
		/* §7.5.3.11: the command is done at once. */
		sta_set(p, PCI_EXP_SLTSTA_CC);
		link_update(p, true);
		/* The guest's answer to the button (pciehp's
		 * remove_board: power off, then the Power Indicator off):
		 * only with both is the device safe to take away, as QEMU's
		 * pcie_cap_slot_write_config decides. */
		bool off_now = (now & PCI_EXP_SLTCTL_PCC) &&
			       (now & PCI_EXP_SLTCTL_PIC) == PCI_EXP_SLTCTL_PWR_IND_OFF;
		bool off_before = (old & PCI_EXP_SLTCTL_PCC) &&
				  (old & PCI_EXP_SLTCTL_PIC) == PCI_EXP_SLTCTL_PWR_IND_OFF;
		if (p->child && off_now && !off_before)
			hp_remove(p);
	}
	hp_update_irq(p);
}

struct pcie_port *pcie_port_new(uint8_t chassis, uint16_t slot,
				struct irq_chip *chip, const char *name,
				struct log *log)
{
	struct pcie_port *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->br = pci_bridge_new(chassis, false, name ? name : "pcie-root-port", log);
	if (!p->br) {
		free(p);
		return NULL;
	}
	p->dev = pci_bridge_dev(p->br);
	p->chip = chip;
	struct pci_dev *d = p->dev;
	pci_cfg_set16(d, PCI_DEVICE_ID, PCIE_ROOT_PORT_DEVICE_ID);
	pci_cfg_set8(d, PCI_INTERRUPT_PIN, 1); /* INTA when MSI is off */
	pci_cfg_set_wmask(d, PCI_INTERRUPT_LINE, 1, 0xff);

	int exp = pci_dev_add_cap(d, PCI_CAP_ID_EXP, EXP_CAP_LEN);
	int msi = exp < 0 ? exp : pci_dev_add_cap(d, PCI_CAP_ID_MSI, MSI_CAP_LEN);
	if (msi < 0) {
		pci_bridge_free(p->br);
		free(p);
		return NULL;
	}
	p->exp = (unsigned)exp;
	p->msi = (unsigned)msi;
	/* §7.5.3.2: version 2, Root Port, Slot Implemented. */
	set16(p, PCI_EXP_FLAGS, 2 | PCI_EXP_TYPE_ROOT_PORT << 4 | PCI_EXP_FLAGS_SLOT);
	/* Link: 2.5 GT/s x1, DLL Link Active Reporting (pciehp waits on
	 * DLLLA after power-on), port number = chassis (§7.5.3.6). */
	pci_cfg_set32(d, p->exp + PCI_EXP_LNKCAP, PCI_EXP_LNKCAP_SLS_2_5GB |
		      (1u << 4) | PCI_EXP_LNKCAP_DLLLARC | (uint32_t)chassis << 24);
	set16(p, PCI_EXP_LNKSTA, PCI_EXP_LNKSTA_CLS_2_5GB | PCI_EXP_LNKSTA_NLW_X1);
	pci_cfg_set_wmask(d, p->exp + PCI_EXP_DEVCTL, 2, 0x7fffu);
	pci_cfg_set_wmask(d, p->exp + PCI_EXP_LNKCTL, 2, 0x0fffu);
	pci_cfg_set32(d, p->exp + PCI_EXP_SLTCAP, PCI_EXP_SLTCAP_ABP | PCI_EXP_SLTCAP_PCP |
		      PCI_EXP_SLTCAP_AIP | PCI_EXP_SLTCAP_PIP | PCI_EXP_SLTCAP_HPC |
		      (uint32_t)(slot & 0x1fffu) << 19);
	pci_cfg_set_wmask(d, p->exp + PCI_EXP_SLTCTL, 2, SLTCTL_WMASK);
	d->w1cmask[p->exp + PCI_EXP_SLTSTA] = (uint8_t)SLTSTA_W1C;
	d->w1cmask[p->exp + PCI_EXP_SLTSTA + 1] = (uint8_t)(SLTSTA_W1C >> 8);
	pci_cfg_set_wmask(d, p->exp + PCI_EXP_RTCTL, 2, 0x001fu);
	pci_cfg_set32(d, p->exp + PCI_EXP_LNKCAP2, 1u << 1); /* 2.5 GT/s */
	/* MSI: one vector, 64-bit (PCI 3.0 §6.8.1.3). */
	pci_cfg_set16(d, p->msi + PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT);
	pci_cfg_set_wmask(d, p->msi + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	pci_cfg_set_wmask(d, p->msi + PCI_MSI_ADDRESS_LO, 4, 0xfffffffcu);
	pci_cfg_set_wmask(d, p->msi + PCI_MSI_ADDRESS_HI, 4, 0xffffffffu);
	pci_cfg_set_wmask(d, p->msi + PCI_MSI_DATA_64, 2, 0xffffu);
	pcie_port_reset(p);
	pci_bridge_set_ext(p->br, port_written, p);
	/* SeaBIOS's defaults for a hot-plug capable port: 4 KiB of I/O,
	 * 2 MiB memory, 2 MiB prefetchable -- room for a virtio-pci
	 * function (PCIE_PORT_RSV_*). */
	pci_bridge_set_reserve(p->br, PCIE_PORT_RSV_IO, PCIE_PORT_RSV_MEM, PCIE_PORT_RSV_PREF);
	return p;
}

void pcie_port_free(struct pcie_port *p)
{
	if (!p)
		return;
	pci_bridge_free(p->br);
	free(p);
}

struct pci_bridge *pcie_port_bridge(struct pcie_port *p) { return p->br; }
struct pci_dev *pcie_port_dev(struct pcie_port *p) { return p->dev; }
struct pci_dev *pcie_port_child(const struct pcie_port *p) { return p->child; }
bool pcie_port_unplug_pending(const struct pcie_port *p) { return p->unplug_pending; }
unsigned pcie_port_exp_off(const struct pcie_port *p) { return p->exp; }

void pcie_port_set_removed(struct pcie_port *p, pcie_port_removed_fn fn, void *opaque)
{
	p->removed = fn;
	p->removed_opaque = opaque;
}

void pcie_port_reset(struct pcie_port *p)
{
	/* Power on, Power Indicator on for an occupied slot (as firmware
	 * leaves a cold-plugged one), Attention Indicator off; no events. */
	uint16_t ctl = PCI_EXP_SLTCTL_ATTN_IND_OFF |
		       (p->child ? PCI_EXP_SLTCTL_PWR_IND_ON : PCI_EXP_SLTCTL_PWR_IND_OFF);
	set16(p, PCI_EXP_SLTCTL, ctl);
	p->sltctl = ctl;
	set16(p, PCI_EXP_SLTSTA, p->child ? PCI_EXP_SLTSTA_PDS : 0);
	link_update(p, false);
	pci_cfg_set16(p->dev, p->msi + PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT);
	p->unplug_pending = false;
	p->irq_cond = false;
	pci_set_irq(p->dev, 0);
}

int pcie_port_plug(struct pcie_port *p, struct pci_dev *dev, bool hot)
{
	if (p->child)
		return -EBUSY;
	int r = pci_bridge_attach(p->br, dev, 0, 0);
	if (r < 0)
		return r;
	p->child = dev;
	sta_set(p, PCI_EXP_SLTSTA_PDS);
	if (!hot) {
		pcie_port_reset(p);
		return 0;
	}
	sta_set(p, PCI_EXP_SLTSTA_PDC);
	link_update(p, true);
	hp_update_irq(p);
	return 0;
}

int pcie_port_request_unplug(struct pcie_port *p)
{
	if (!p->child)
		return -ENODEV;
	p->unplug_pending = true;
	/* §6.7.1.5: a button press is latched in Attention Button Pressed
	 * until software clears it; a new press while set is no new edge,
	 * so clear-then-set lets MSI see the repeat. */
	if (get16(p, PCI_EXP_SLTSTA) & PCI_EXP_SLTSTA_ABP) {
		sta_clear(p, PCI_EXP_SLTSTA_ABP);
		hp_update_irq(p);
	}
	sta_set(p, PCI_EXP_SLTSTA_ABP);
	hp_update_irq(p);
	return 0;
}

/* ---- snapshot (docs/snapshot.md "PCI") ---- */

int pcie_port_save(const struct pcie_port *p, struct snap_w *w)
{
	snap_w_begin(w, "pcie-root-port", 1);
	snap_w_bool(w, "child", p->child != NULL);
	snap_w_bool(w, "unplug_pending", p->unplug_pending);
	snap_w_bool(w, "irq_cond", p->irq_cond);
	snap_w_u16(w, "sltctl", p->sltctl);
	int rc = pci_bridge_save(p->br, w);
	snap_w_end(w);
	return rc;
}

int pcie_port_load(struct pcie_port *p, struct snap_r *r)
{
	bool child = false, unplug = false, cond = false;
	uint16_t sltctl = 0;
	snap_r_begin(r, "pcie-root-port", 1, NULL);
	snap_r_bool(r, "child", &child);
	snap_r_bool(r, "unplug_pending", &unplug);
	snap_r_bool(r, "irq_cond", &cond);
	snap_r_u16(r, "sltctl", &sltctl);
	/* The slot's occupant is the command line's (and device_add's)
	 * business: a restore needs the same devices plugged. */
	snap_r_check(r, child == (p->child != NULL), "child",
		     child ? "a device was plugged in this slot when saved, "
			     "none is here" :
			     "this slot holds a device that was not there when saved");
	snap_r_check(r, !unplug || child, "unplug_pending",
		     "an unplug pending on an empty slot");
	snap_r_check(r, (sltctl & ~(uint16_t)SLTCTL_WMASK) == 0, "sltctl",
		     "bits Slot Control does not have");
	if (snap_r_failed(r))
		return snap_r_failed(r);
	int rc = pci_bridge_load(p->br, r);
	if (rc)
		return rc;
	p->unplug_pending = unplug;
	p->irq_cond = cond;
	p->sltctl = sltctl;
	return snap_r_end(r);
}
