/* PCI host bridge state in a snapshot (docs/snapshot.md "PCI"): the
 * CONFIG_ADDRESS latch, the INTx lines as last driven and function 00.0. */
#include "core/snapshot.h"
#include "host_priv.h"
#include "pci.h"
#include "pci_snap.h"

int pci_host_save(const struct pci_host *h, struct snap_w *w)
{
	snap_w_begin(w, "pci-host", 1);
	snap_w_u32(w, "cf8", h->cf8);
	uint8_t lv[NUM_INTX];
	for (unsigned i = 0; i < NUM_INTX; i++)
		lv[i] = (uint8_t)(h->line_level[i] != 0);
	snap_w_bytes(w, "line_level", lv, sizeof(lv));
	pci_dev_save(&h->bridge, w);
	snap_w_end(w);
	return 0;
}

int pci_host_load(struct pci_host *h, struct snap_r *r)
{
	uint32_t cf8 = 0;
	uint8_t lv[NUM_INTX];
	snap_r_begin(r, "pci-host", 1, NULL);
	snap_r_u32(r, "cf8", &cf8);
	snap_r_bytes(r, "line_level", lv, sizeof(lv));
	snap_r_check(r, (cf8 & ~CF8_MASK) == 0, "cf8",
		     "bits CONFIG_ADDRESS does not keep");
	bool ok = true;
	for (unsigned i = 0; i < NUM_INTX; i++)
		ok &= lv[i] <= 1;
	snap_r_check(r, ok, "line_level", "a level other than 0 or 1");
	if (snap_r_failed(r))
		return snap_r_failed(r);
	int rc = pci_dev_load(&h->bridge, r);
	if (rc)
		return rc;
	h->cf8 = cf8;
	/* The lines as last driven; the interrupt controller's own state
	 * is restored by the backend, so nothing is driven here. */
	for (unsigned i = 0; i < NUM_INTX; i++)
		h->line_level[i] = lv[i];
	return snap_r_end(r);
}
