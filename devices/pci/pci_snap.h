/* PCI function, MSI-X and host bridge state in snapshots
 * (devices/pci/pci_snap.c, docs/snapshot.md). */
#ifndef VMM_DEVICES_PCI_SNAP_H
#define VMM_DEVICES_PCI_SNAP_H

#include <stdbool.h>
#include <stdint.h>

struct pci_dev;
struct pci_host;
struct pci_bridge;
struct pcie_port;
struct msix;
struct snap_w;
struct snap_r;

/* Section "pci": config space and INTx pin.  Load checks identity,
 * capability list, BAR kinds/sizes and windows, then copies; the caller
 * re-evaluates BAR mappings (pci_host_update_mappings) afterwards. */
void pci_dev_save(const struct pci_dev *d, struct snap_w *w);
int pci_dev_load(struct pci_dev *d, struct snap_r *r);
/* Section "msix": the table and the PBA (PCI 3.0 §6.8.2). */
void msix_save(const struct msix *m, struct snap_w *w);
int msix_load(struct msix *m, struct snap_r *r);

/* Is [addr, addr+size) inside the host bridge's I/O window (io), or its
 * 32-bit (or, for a 64-bit BAR, 64-bit) memory window? */
bool pci_host_window_ok(const struct pci_host *h, bool io, bool mem64,
			uint64_t addr, uint64_t size);
/* The host bridge: CONFIG_ADDRESS, the INTx lines as driven, and its own
 * function 00.0.  Section "pci-host". */
int pci_host_save(const struct pci_host *h, struct snap_w *w);
int pci_host_load(struct pci_host *h, struct snap_r *r);
/* A pci-bridge / pcie-root-port function (bridge.c, pcie_port.c). */
int pci_bridge_save(const struct pci_bridge *b, struct snap_w *w);
int pci_bridge_load(struct pci_bridge *b, struct snap_r *r);
struct shpc;
int shpc_save(const struct shpc *s, struct snap_w *w);
int shpc_load(struct shpc *s, struct snap_r *r);
int pcie_port_save(const struct pcie_port *p, struct snap_w *w);
int pcie_port_load(struct pcie_port *p, struct snap_r *r);

#endif
