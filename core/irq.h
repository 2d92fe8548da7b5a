/* Interrupts as devices see them: a level line (GSI) or an MSI message.
 *
 * An irq_chip is the machine's interrupt controller seen from a device:
 * the KVM backend implements it with KVM_IRQ_LINE / irqfd / KVM_SIGNAL_MSI,
 * the simulator with a recorder (sim/sim.c).  A device holds a
 * `struct irq` (chip + line) by value for its pin and the chip for MSI. */
#ifndef VMM_CORE_IRQ_H
#define VMM_CORE_IRQ_H

#include <stdint.h>

struct irq_chip_ops {
	/* Drive a GSI to level (0/1).  Edge devices pulse 1 then 0. */
	void (*set_level)(void *opaque, unsigned gsi, int level);
	/* Deliver a message-signalled interrupt (address/data per the Intel
	 * SDM vol. 3 §11.11 format).  Returns 0 or -errno. */
	int (*msi)(void *opaque, uint64_t addr, uint32_t data);
};

struct irq_chip {
	const struct irq_chip_ops *ops;
	void *opaque;
};

struct irq {
	struct irq_chip *chip; /* NULL: a disconnected line (accesses dropped) */
	unsigned gsi;
};

static inline struct irq irq_line(struct irq_chip *chip, unsigned gsi)
{
	struct irq i = { chip, gsi };
	return i;
}

void irq_set_level(const struct irq *irq, int level);
void irq_pulse(const struct irq *irq);
int irq_msi(struct irq_chip *chip, uint64_t addr, uint32_t data);

#endif
