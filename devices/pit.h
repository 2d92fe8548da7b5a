/* Intel 8254 programmable interval timer at ports 0x40-0x43, IRQ0, plus
 * the PC's system control port B (0x61) that gates channel 2 and reads
 * its output back.
 *
 * Follows the Intel 8254 datasheet (order 231164): three counters, modes
 * 0-5, lobyte/hibyte/word access, counter latch, read-back (status and
 * count), BCD counting.  The counters run off a 1.193182 MHz clock whose
 * edges sit at fixed points of the clk timeline (tick k at ceil(k * 1e9 /
 * 1193182) ns), and every count and output is computed from the number of
 * ticks since the count was loaded: integer math, so nothing drifts.
 *
 * Channel 0's output drives IRQ0 as an edge (irq_pulse at each rising
 * edge).  When the VMM could not deliver ticks in time (the timer fired
 * late), the lost_tick_policy decides: DISCARD delivers one interrupt for
 * all the missed ticks; DELAY delivers every missed tick, catching up at
 * twice the programmed rate, with the tick grid itself unchanged. */
#ifndef VMM_DEVICES_PIT_H
#define VMM_DEVICES_PIT_H

#include <stdbool.h>
#include <stdint.h>
#include "core/clk.h"
#include "core/irq.h"

#define PIT_PORT_BASE 0x40
#define PIT_NPORTS 4
#define PIT_PORT61 0x61
#define PIT_FREQ_HZ 1193182u
/* IRQ0 is never raised more often than this, whatever the divisor (a
 * guest programming divisor 2 would otherwise cost the host 600k timer
 * wake-ups a second; KVM's in-kernel PIT caps its rate the same way).
 * Counts read by the guest stay exact. */
#define PIT_MIN_IRQ_NS 50000u
/* DELAY policy: at most this many ticks are owed to the guest. */
#define PIT_MAX_BACKLOG 1024u

enum pit_lost_tick {
	PIT_LOST_TICK_DELAY = 0,
	PIT_LOST_TICK_DISCARD,
};

struct log;
struct pit;

struct pit_config {
	const struct clk *clk;
	struct irq irq;                 /* IRQ0 */
	enum pit_lost_tick lost_tick_policy;
	struct log *log;                /* may be NULL */
};

struct pit *pit_new(const struct pit_config *cfg);
void pit_free(struct pit *pit);
/* The state a PC BIOS leaves: every channel in mode 3 with count 65536
 * (18.2 Hz), channel 2's gate low. */
void pit_reset(struct pit *pit);

/* bus_access_fn for 0x40-0x43 (offset 0-2: counters, 3: control word). */
int pit_access(void *dev, uint64_t offset, void *data, unsigned len,
	       bool is_write);
/* bus_access_fn for port 0x61: bit 0 gate 2, bit 1 speaker data, bits 2-3
 * stored, bit 4 refresh toggle (15.085 us), bit 5 channel 2 output. */
int pit_port61_access(void *dev, uint64_t offset, void *data, unsigned len,
		      bool is_write);

/* Diagnostics/tests: channel ch's output level now, and the number of
 * ticks owed to the guest under the DELAY policy. */
int pit_channel_out(struct pit *pit, unsigned ch);
unsigned pit_backlog(const struct pit *pit);

/* Snapshot (docs/snapshot.md): section "pit".  load validates every
 * field first and changes nothing on error; it drives no interrupt line
 * (the backend restores its interrupt controller). */
struct snap_w;
struct snap_r;
int pit_save(const struct pit *x, struct snap_w *w);
int pit_load(struct pit *x, struct snap_r *r);

#endif
