/* NS16550A UART (PC COM port): 8 registers at 0x3f8/IRQ4 or 0x2f8/IRQ3.
 *
 * Register semantics follow the National Semiconductor PC16550D datasheet
 * (June 1995): DLAB-switched divisor latch, 16-byte FIFOs with receiver
 * trigger levels and the character-timeout interrupt, the IIR priority
 * ladder, LSR/MSR read-to-clear bits, loopback, scratch.
 *
 * Host side is a char backend (core/chardev.h).  Output goes to the backend
 * at once; what it cannot take stays in the transmit FIFO, so LSR.THRE/TEMT
 * stay clear and the guest waits instead of losing bytes (never blocking
 * the vCPU).  Input is pulled with can_receive() = free receive FIFO space,
 * so nothing is ever dropped; reading RBR calls chr_accept_input(). */
#ifndef VMM_DEVICES_SERIAL_H
#define VMM_DEVICES_SERIAL_H

#include <stdbool.h>
#include <stdint.h>
#include "core/clk.h"
#include "core/irq.h"

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM2_BASE 0x2f8
#define SERIAL_NREGS 8
/* Baud-rate generator input on a PC: 1.8432 MHz (115200 * 16). */
#define SERIAL_XTAL_HZ 1843200u

struct chr;
struct log;
struct serial;

struct serial_config {
	const struct clk *clk;  /* receive character-timeout timing */
	struct irq irq;         /* IRQ4 for COM1, IRQ3 for COM2 */
	struct chr *chr;        /* NULL: output discarded, no input */
	struct log *log;        /* may be NULL */
};

/* Attaches itself as chr's front end.  NULL on allocation failure. */
struct serial *serial_new(const struct serial_config *cfg);
void serial_free(struct serial *s);
/* Power-on / machine reset state (datasheet Table IV). */
void serial_reset(struct serial *s);

/* bus_access_fn for the 8-byte window.  Wider accesses are split into byte
 * cycles as the ISA bus does for an 8-bit device. */
int serial_access(void *dev, uint64_t offset, void *data, unsigned len,
		  bool is_write);

/* Snapshot (docs/snapshot.md): section "serial".  load validates every
 * field first and changes nothing on error; it drives no interrupt line
 * (the backend restores its interrupt controller). */
struct snap_w;
struct snap_r;
int serial_save(const struct serial *x, struct snap_w *w);
int serial_load(struct serial *x, struct snap_r *r);

#endif
