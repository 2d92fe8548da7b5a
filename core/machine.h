/* What a machine is, whichever backend runs it: guest memory, the two
 * buses, the interrupt controller, a clock, a log, a seeded PRNG, and a way
 * for devices to ask for reset/shutdown/exit.  kvm/ and sim/ each build one;
 * machine/board.c populates it with the devices the configuration names. */
#ifndef VMM_CORE_MACHINE_H
#define VMM_CORE_MACHINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "clk.h"
#include "irq.h"
#include "prng.h"

struct gm;
struct bus;
struct log;
struct evloop;

enum machine_event {
	MACHINE_RUNNING = 0,
	MACHINE_RESET,     /* i8042 0xFE, triple fault, ACPI reset */
	MACHINE_SHUTDOWN,  /* ACPI S5 / power-off */
	MACHINE_EXIT,      /* debug-exit port: status is the exit code */
	MACHINE_ERROR,     /* the VMM could not go on (host error) */
};

/* Devices that end or reset the VM (i8042, debug-exit, ACPI PM) get this.
 * The backend decides what a reset means (-no-reboot turns it into exit). */
struct machine_ctl {
	void (*request)(void *opaque, enum machine_event ev, int status);
	void *opaque;
};

static inline void machine_request(const struct machine_ctl *ctl,
				   enum machine_event ev, int status)
{
	if (ctl && ctl->request)
		ctl->request(ctl->opaque, ev, status);
}

struct machine {
	struct gm *gm;
	struct bus *pio;
	struct bus *mmio;
	struct irq_chip *irqchip;
	const struct clk *clk;
	struct evloop *loop;      /* host event loop; NULL in the simulator */
	struct log *log;
	struct prng prng;
	struct machine_ctl ctl;
	/* The machine's big lock: vCPU exit dispatch and event-loop callbacks
	 * hold it, so device models need no locks of their own. */
	pthread_mutex_t lock;
};

#endif
