/* Device-facing interrupt helpers: thin dispatch to the machine's chip.
 * A line with no chip is a disconnected pin: signals go nowhere. */
#include "irq.h"

#include <errno.h>
#include <stddef.h>

void irq_set_level(const struct irq *irq, int level)
{
	if (!irq || !irq->chip || !irq->chip->ops->set_level)
		return;
	irq->chip->ops->set_level(irq->chip->opaque, irq->gsi, level ? 1 : 0);
}

/* An edge-triggered source (ISA devices behind an edge IOAPIC pin) is a
 * high then low on the line, as the 8259/IOAPIC latch the rising edge. */
void irq_pulse(const struct irq *irq)
{
	irq_set_level(irq, 1);
	irq_set_level(irq, 0);
}

int irq_msi(struct irq_chip *chip, uint64_t addr, uint32_t data)
{
	if (!chip || !chip->ops->msi)
		return -ENODEV;
	return chip->ops->msi(chip->opaque, addr, data);
}
