/* Shared engine of the virtio device fuzzers (blk, net, console): a small
 * simulated machine, the device on virtio-mmio, and the sim guest driver
 * turning input bytes into chains, kicks, raw ring pokes, resets and host
 * events.  A device harness supplies setup and a host-event hook.
 *
 * Input: feature byte, then ops; op byte b: kind = b & 7, arg = b >> 3.
 *   0 ADD   chain of 1 + arg%4 buffers on queue (next byte % nq); per
 *           buffer: u16 len (% FV_MAX_BUF + 1), flag byte (bit0 writable,
 *           bit1 address outside RAM, bit2 faulting page); readable
 *           buffers take their bytes from the input (zero-padded)
 *   1 KICK  queue arg % nq
 *   2 USED  collect every used buffer of every queue
 *   3 POKE  u16 offset, byte: raw write into the ring area
 *   4 HOST  device-specific host event (arg and following bytes)
 *   5 RESET reset and bring the device up again
 *   6 CLOCK step virtual time by (arg + 1) ms
 *   7 ADDI  like ADD, through an indirect table */
#ifndef VMM_FUZZ_FUZZ_VDEV_H
#define VMM_FUZZ_FUZZ_VDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/bus.h"
#include "core/gm.h"
#include "core/layout.h"
#include "core/log.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "sim/vdriver_queue.h"

/* Small RAM: every input builds a fresh machine, and page faults on a big
 * one would dominate the run time. */
#define FV_RAM (1u << 20)
#define FV_RING_BASE 0x10000u
#define FV_RING_SIZE 0x30000u
#define FV_DATA_BASE 0x40000u
#define FV_DATA_SIZE 0xb0000u
#define FV_FAULT_GPA (FV_RAM - 4096u)
#define FV_MAX_BUF 8191u
#define FV_QSIZE 16u
#define FV_MAX_OPS 512u

struct fv_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fv_u8(struct fv_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t fv_u16(struct fv_in *in)
{
	uint16_t lo = fv_u8(in);
	return (uint16_t)(lo | fv_u8(in) << 8);
}

struct fv {
	struct sim *sim;
	struct virtio_mmio *mmio;
	struct vdev *vd;
	struct vdriver d;
	struct vdq q[VDEV_MAX_QUEUES];
	unsigned nq;
	uint64_t want;
	uint64_t data_next;
	bool up;
	uint8_t buf[FV_MAX_BUF + 1];
};

static inline struct fv *fv_new(void)
{
	struct fv *f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	struct sim_config sc = { .ram_size = FV_RAM, .seed = 1 };
	f->sim = sim_new(&sc);
	if (!f->sim)
		abort();
	return f;
}

/* Bring the device up with f->want; false if the device refused. */
static inline bool fv_start(struct fv *f)
{
	vdriver_set_memory(&f->d, FV_RING_BASE, FV_RING_SIZE);
	if (vdriver_negotiate(&f->d, f->want | VIRTIO_BIT(VIRTIO_F_VERSION_1)))
		return false;
	for (unsigned q = 0; q < f->nq; q++)
		if (vdriver_setup_queue(&f->d, q, &f->q[q], FV_QSIZE))
			return false;
	vdriver_driver_ok(&f->d);
	f->up = true;
	return true;
}

static inline bool fv_attach(struct fv *f, struct vdev *vd, unsigned nq)
{
	f->vd = vd;
	f->nq = nq;
	f->mmio = virtio_mmio_new(f->sim->m.gm, NULL,
				  irq_line(f->sim->m.irqchip, 5), vd);
	if (!f->mmio || bus_register(f->sim->m.mmio, LAYOUT_VIRTIO_MMIO_BASE,
				     VIRTIO_MMIO_WINDOW, virtio_mmio_access,
				     f->mmio, "virtio-mmio"))
		abort();
	if (vdriver_mmio_probe(&f->d, f->sim, LAYOUT_VIRTIO_MMIO_BASE, 5))
		abort();
	gm_inject_fault(f->sim->m.gm, FV_FAULT_GPA, 4096,
			GM_FAULT_READ | GM_FAULT_WRITE);
	return fv_start(f);
}

/* Transport first, then the device model (caller), then the machine. */
static inline void fv_detach(struct fv *f)
{
	bus_unregister(f->sim->m.mmio, LAYOUT_VIRTIO_MMIO_BASE, f->mmio);
	virtio_mmio_free(f->mmio);
}

static inline void fv_free(struct fv *f)
{
	sim_free(f->sim);
	free(f);
}

static inline uint64_t fv_alloc(struct fv *f, uint32_t len)
{
	if (f->data_next + len > FV_DATA_SIZE)
		f->data_next = 0; /* recycle: the guest may reuse memory too */
	uint64_t a = FV_DATA_BASE + f->data_next;
	f->data_next = (f->data_next + len + 15) & ~15ull;
	return a;
}

static inline void fv_add(struct fv *f, struct fv_in *in, unsigned arg,
			  bool indirect)
{
	unsigned q = fv_u8(in) % f->nq;
	unsigned n = 1 + arg % 4;
	struct vdq_buf b[4];
	for (unsigned i = 0; i < n; i++) {
		uint32_t len = fv_u16(in) % (FV_MAX_BUF + 1);
		uint8_t fl = fv_u8(in);
		b[i].write = fl & 1;
		b[i].len = len;
		if (fl & 2) {
			b[i].gpa = FV_RAM + len; /* outside RAM */
		} else if (fl & 4) {
			b[i].gpa = FV_FAULT_GPA;
			b[i].len = len % 4096;
		} else {
			b[i].gpa = fv_alloc(f, len);
			if (!b[i].write) {
				size_t k = len < in->n ? len : in->n;
				memset(f->buf, 0, len);
				memcpy(f->buf, in->p, k);
				in->p += k;
				in->n -= k;
				gm_write(f->sim->m.gm, b[i].gpa, f->buf, len);
			}
		}
	}
	if (vdq_add(&f->q[q], b, n, indirect && f->q[q].indirect) >= 0)
		vdq_publish(&f->q[q]);
}

static inline void fv_collect(struct fv *f)
{
	for (unsigned q = 0; q < f->nq; q++) {
		uint16_t id;
		uint32_t len;
		while (vdq_get_used(&f->q[q], &id, &len) > 0)
			;
	}
}

typedef void (*fv_host_fn)(struct fv *f, void *dev, unsigned arg,
			   struct fv_in *in);

static inline void fv_run(struct fv *f, struct fv_in *in, fv_host_fn host,
			  void *dev)
{
	for (unsigned ops = 0; in->n && ops < FV_MAX_OPS; ops++) {
		uint8_t b = fv_u8(in);
		unsigned arg = b >> 3;
		switch (b & 7) {
		case 0:
		case 7:
			if (f->up)
				fv_add(f, in, arg, (b & 7) == 7);
			break;
		case 1:
			if (f->up) {
				vdq_kick_prepare(&f->q[arg % f->nq]);
				f->d.bus->kick(&f->d, arg % f->nq);
			}
			break;
		case 2:
			if (f->up)
				fv_collect(f);
			break;
		case 3: {
			uint16_t off = fv_u16(in);
			uint8_t v = fv_u8(in);
			gm_write_u8(f->sim->m.gm, FV_RING_BASE + off % 8192u, v);
			break;
		}
		case 4:
			host(f, dev, arg, in);
			break;
		case 5:
			f->up = false;
			fv_start(f);
			break;
		case 6:
			sim_clock_step(f->sim, (uint64_t)(arg + 1) * 1000000);
			break;
		}
	}
}

#endif
