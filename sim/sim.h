/* The simulated machine: heap-backed guest memory (with fault injection),
 * port-I/O and MMIO buses, a virtual clock that moves only when stepped, a
 * recording interrupt controller, a deterministic event queue (timers fire
 * in deadline order, ties in arm order) and a seeded PRNG.  No guest CPU:
 * tests and scenarios play the guest through the helpers below.
 *
 * Everything observable (bus accesses, interrupt edges, timer firings) is
 * appended to an event log; the same seed and inputs give a byte-identical
 * log on every host. */
#ifndef VMM_SIM_SIM_H
#define VMM_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/machine.h"

struct sim_config {
	uint64_t ram_size;     /* RAM at gpa 0 (0: 64 MiB; at most 3 GiB) */
	uint64_t seed;
	struct log *log;       /* may be NULL */
	bool record_events;    /* keep the event log (default off for speed) */
	/* RAM shareable with another process (a memfd, MAP_SHARED), as
	 * -numa node,memdev= gives under KVM: vhost-user backends map it. */
	bool ram_shared;
};

/* One line per observable event, fixed-size binary record. */
enum sim_ev_kind { SIM_EV_PIO, SIM_EV_MMIO, SIM_EV_IRQ, SIM_EV_MSI, SIM_EV_TIMER,
		   SIM_EV_REQUEST /* machine_ctl: addr = event, data = status */ };
struct sim_event {
	uint64_t time_ns;
	uint32_t kind;       /* enum sim_ev_kind */
	uint32_t len_or_level;
	uint64_t addr;       /* bus address, gsi, or msi address */
	uint64_t data;       /* value read/written, msi data */
	uint32_t is_write;
	uint32_t rc;
};

struct sim {
	struct machine m;    /* gm, buses, irqchip, clk, prng, ctl */
	uint64_t now_ns;
	/* Interrupt state seen by the recorder: level of each GSI and the
	 * number of rising edges, MSIs delivered. */
	uint8_t gsi_level[256];
	uint64_t gsi_edges[256];
	uint64_t msi_count;
	uint64_t last_msi_addr;
	uint32_t last_msi_data;
	/* Machine requests (reset, exit) devices made. */
	enum machine_event last_request;
	int last_request_status;
	/* Private: */
	void *priv;
};

struct sim *sim_new(const struct sim_config *cfg);
void sim_free(struct sim *s);

/* Advance virtual time by ns, firing every timer that falls due, in order,
 * with the clock set to each timer's deadline as it fires. */
void sim_clock_step(struct sim *s, uint64_t ns);
/* Step until GSI gsi is high (level) or had a new rising edge, at most
 * max_ns of virtual time.  Returns true if it happened. */
bool sim_wait_irq(struct sim *s, unsigned gsi, uint64_t max_ns);
/* Same for any MSI. */
bool sim_wait_msi(struct sim *s, uint64_t max_ns);

/* Play the guest CPU. */
uint64_t sim_pio_read(struct sim *s, uint16_t port, unsigned len);
void sim_pio_write(struct sim *s, uint16_t port, unsigned len, uint64_t val);
uint64_t sim_mmio_read(struct sim *s, uint64_t addr, unsigned len);
void sim_mmio_write(struct sim *s, uint64_t addr, unsigned len, uint64_t val);

/* The event log (record_events on). */
size_t sim_event_count(const struct sim *s);
const struct sim_event *sim_events(const struct sim *s);
/* FNV-1a over the event log and guest RAM (non-zero pages, tagged with
 * their offsets): one number to compare runs. */
uint64_t sim_digest(const struct sim *s);
/* Events dropped because the log reached SIM_MAX_EVENTS (a bound so a long
 * fuzz run cannot eat memory); part of the digest. */
#define SIM_MAX_EVENTS (1u << 20)
uint64_t sim_events_dropped(const struct sim *s);
/* Forget the events recorded so far (long scenarios checking in phases). */
void sim_events_clear(struct sim *s);
/* Earliest armed timer's deadline, or UINT64_MAX when none is armed. */
uint64_t sim_next_deadline(const struct sim *s);

/* ---- snapshots (issue 18) ----
 * A hook called at every point a snapshot may be taken: before each
 * guest bus access and before each timer firing (n counts them from
 * 0).  The hook may save the machine, tear the board down and restore
 * it (sim/sim_snap.c); it is not re-entered. */
typedef void (*sim_point_fn)(void *opaque, struct sim *s, uint64_t n);
void sim_set_point_hook(struct sim *s, sim_point_fn fn, void *opaque);
/* Pause/resume the event log (a restore's rebuild is not an event). */
void sim_set_recording(struct sim *s, bool on);
bool sim_recording(const struct sim *s);
struct timerq;
struct timerq *sim_timerq(struct sim *s);
/* The simulator's own state: virtual time, the PRNG, the interrupt
 * lines as the recorder sees them, the last machine request and the
 * timer queue's arm sequence.  Section "sim". */
struct snap_w;
struct snap_r;
int sim_save_state(struct sim *s, struct snap_w *w);
/* Into a fresh simulator (no timers armed): validates, then sets.  The
 * arm sequence is applied by sim_load_finish, after the board re-armed
 * its timers with their saved sequence numbers. */
int sim_load_state(struct sim *s, struct snap_r *r);
void sim_load_finish(struct sim *s);
/* New, empty buses in place of the machine's: a board freed on them
 * leaves its ranges registered (replay rebuilds its board at a reset
 * record on the same simulator). */
void sim_renew_buses(struct sim *s);
/* Return the simulator to its state at sim_new (no board may be built on
 * it: timers none, RAM zeroed, time 0) except the event log and hook. */
void sim_make_fresh(struct sim *s, uint64_t seed);

#endif
