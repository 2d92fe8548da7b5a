/* Shared between sim/selftest*.c: the accel=sim self-test's
 * state, its report line, the host backends it stands in for the
 * configured ones, and the guest-driver helpers the checks share.
 *
 * Every check plays the guest the way its driver would (Linux's 8250,
 * i8042, PIT calibration, virtio drivers) against the board built on a
 * struct sim, and prints exactly one "selftest: ok: ..." or
 * "selftest: FAIL: ..." line. */
#ifndef VMM_SIM_SELFTEST_INT_H
#define VMM_SIM_SELFTEST_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/config.h"
#include "core/layout.h"
#include "sim/sim.h"
#include "sim/vdriver.h"

struct board;
struct chr;
struct blockdev;
struct netdev;
struct entropy;

/* Guest memory the drivers lay their rings and buffers out in: above the
 * BIOS area (the ACPI tables live at LAYOUT_ACPI_BASE below it). */
#define ST_MEM_BASE 0x100000ull
/* Virtual time a request may take (throttled drives and rngs wait for
 * their token buckets) before the check gives up. */
#define ST_WAIT_NS (5ull * 1000000000ull)

/* A backend the self-test stood in for the configured host one; the
 * board never closes these (board_host.backend_replace), the self-test
 * does after board_free. */
struct st_backend {
	int kind;                /* TRACE_BK_* */
	char id[CFG_ID_MAX];
	void *obj;
	struct blockdev *lower;  /* drive: the image file (read-only; the
				  * overlay in obj owns it) */
	bool tap;                /* netdev: the config asked for a tap */
};

struct selftest {
	FILE *out;
	struct sim *sim;
	struct board *b;
	const struct machine_config *cfg;
	const struct layout *l;
	unsigned checks, failed;
	uint64_t mem_next, mem_end;  /* driver memory not handed out yet */
	struct st_backend bk[3 * CFG_MAX_ITEMS + CFG_MAX_SERIAL];
	unsigned nbk;
	uint64_t released_pages;     /* balloon release hook */
	/* Snapshot equivalence (selftest_snap.c): what the board was built
	 * from, so a restore can build a fresh one, and the request. */
	const struct board_host *host;
	struct log *log;
	struct selftest_snap *snap;
	struct trace_rec *tr;
};

/* The snapshot point hook (sim_set_point_hook) of selftest_snap.c. */
void st_snap_point(void *opaque, struct sim *s, uint64_t n);

/* One report line; counts the check. */
void st_report(struct selftest *t, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The stand-in backend of kind/id, or NULL. */
struct st_backend *st_backend_find(struct selftest *t, int kind, const char *id);
/* board_host.backend for backend_replace (selftest_backend.c). */
int st_backend_hook(void *opaque, int kind, const char *id, void *opened,
		    void **out, char *err, size_t errlen);
void st_backends_close(struct selftest *t);
/* The seed of the PRNG standing in for device index i's rng source. */
uint64_t st_rng_seed(const struct selftest *t, unsigned i);
/* Printable copy of up to n bytes ('.' for the rest), NUL-terminated. */
void st_printable(char *dst, const uint8_t *src, size_t n);

/* Platform devices and buses (selftest_platform.c). */
void st_serial(struct selftest *t);
void st_rtc(struct selftest *t, int64_t base);
void st_pit(struct selftest *t);
void st_i8042(struct selftest *t);
void st_pci(struct selftest *t);
void st_debug_exit(struct selftest *t);
/* ACPI tables and NVDIMMs (selftest_acpi.c). */
void st_acpi(struct selftest *t, int built);
void st_acpi_pm(struct selftest *t);
/* The ACPI CPU and memory hot-plug blocks (selftest_hotplug.c). */
void st_hotplug(struct selftest *t);
void st_nvdimm(struct selftest *t);

/* Virtio (selftest_virtio.c): every virtio function in the config. */
void st_virtio(struct selftest *t);
/* Probe device index i on its transport and give it driver memory;
 * where describes it ("virtio-mmio at 0xd0000000").  0 or -1. */
int st_vprobe(struct selftest *t, unsigned i, struct vdriver *d, char *where,
	      size_t wlen);
/* Return the driver memory the device did not use to the pool. */
void st_vdone(struct selftest *t, struct vdriver *d);
/* Add one chain, publish, kick queue q and wait (virtual time, at most
 * ST_WAIT_NS) for the device to use it and interrupt.  1 done (*len set),
 * 0 timed out, -1 the ring refused it. */
int st_vq_run(struct selftest *t, struct vdriver *d, unsigned q,
	      struct vdq *vq, const struct vdq_buf *bufs, unsigned n,
	      uint32_t *len);
/* Wait for a used buffer on vq without adding one first. */
int st_vq_wait(struct selftest *t, struct vdriver *d, struct vdq *vq,
	       uint16_t *id, uint32_t *len);
uint32_t st_cfg32(struct vdriver *d, uint32_t off);
/* Device checks (selftest_blk.c, selftest_console.c). */
void st_blk(struct selftest *t, unsigned i, struct vdriver *d, const char *where);
void st_console(struct selftest *t, unsigned i, struct vdriver *d,
		const char *where);
void st_balloon(struct selftest *t, struct vdriver *d, const char *where);
/* virtio-scsi and its LUs (selftest_scsi.c). */
void st_scsi(struct selftest *t, unsigned i, struct vdriver *d, const char *where);

#endif
