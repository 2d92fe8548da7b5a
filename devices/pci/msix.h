/* MSI-X (PCI Local Bus 3.0 §6.8.2): the capability in config space, the
 * vector table and the Pending Bit Array in a memory BAR.
 *
 * A device calls msix_notify(vector); a vector that is masked (its own mask
 * bit or the function mask) sets its pending bit instead, and is delivered
 * when unmasked (§6.8.2.9).  The table and PBA live in the device's BAR:
 * the device's BAR callback forwards accesses to msix_bar_access(). */
#ifndef VMM_DEVICES_PCI_MSIX_H
#define VMM_DEVICES_PCI_MSIX_H

#include <stdbool.h>
#include <stdint.h>
#include "core/irq.h"
#include "core/log.h"

#define MSIX_MAX_VECTORS 64u

struct pci_dev;

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct msix {
	struct pci_dev *pci;
	struct irq_chip *chip;
	unsigned nvec;
	uint8_t cap;                 /* config offset of the capability */
	unsigned bar;
	uint32_t table_off, pba_off; /* inside the BAR */
	struct msix_entry table[MSIX_MAX_VECTORS];
	uint64_t pending;            /* one bit per vector */
	uint64_t delivered;          /* messages sent (tests, stats) */
	struct log_rl rl;
};

/* Add the capability to d and set up nvec (1..MSIX_MAX_VECTORS) vectors
 * whose table is at table_off and PBA at pba_off in BAR bar (both 8-byte
 * aligned, non-overlapping).  Every vector starts masked.  0 or -EINVAL /
 * -ENOSPC. */
int msix_init(struct msix *m, struct pci_dev *d, struct irq_chip *chip,
	      unsigned nvec, unsigned bar, uint32_t table_off, uint32_t pba_off);

/* Bytes of BAR space the table and PBA need. */
uint32_t msix_table_size(unsigned nvec);
uint32_t msix_pba_size(unsigned nvec);

/* A guest access at offset off of BAR m->bar.  Returns 0 when it hit the
 * table or PBA (handled), -ENOENT when off is outside both. */
int msix_bar_access(struct msix *m, uint64_t off, void *data, unsigned len,
		    bool is_write);

bool msix_enabled(const struct msix *m);
bool msix_vector_masked(const struct msix *m, unsigned vec);
bool msix_pending(const struct msix *m, unsigned vec);

/* The message vector vec sends now: 0 with addr/data when MSI-X is on,
 * the vector and the function unmasked and bus mastering allowed (so a
 * message written straight into the interrupt controller, irqfd, would
 * be delivered by msix_notify too); -1 otherwise. */
int msix_vector_message(const struct msix *m, unsigned vec, uint64_t *addr,
			uint32_t *data);

/* Signal vector vec.  Returns 1 delivered, 0 left pending (masked), or
 * -EINVAL when vec is out of range or MSI-X is disabled. */
int msix_notify(struct msix *m, unsigned vec);

/* Config space was written (called by pci_cfg_write): deliver what became
 * unmasked. */
void msix_cfg_written(struct msix *m);

/* Function reset: every vector masked, nothing pending, disabled. */
void msix_reset(struct msix *m);

#endif
