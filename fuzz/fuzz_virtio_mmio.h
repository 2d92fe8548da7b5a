/* The virtio-mmio register-sequence fuzz scenario, shared by the libFuzzer
 * harness (fuzz/fuzz_virtio_mmio.c) and tests/unit/test_virtio_mmio.c,
 * which records real driver scenarios into this format as seeds
 * (VMM_WRITE_SEEDS_MMIO=DIR writes them; fuzz/corpus/virtio_mmio is that
 * output) and replays them here.
 *
 * Input: a sequence of FMMIO_REC-byte records
 *   kind (u8) | len (u8) | off (u16 LE) | val (u64 LE)
 *   kind % 4: 0 MMIO write of len (1 << (len & 3)) bytes at window
 *               offset off % 0x1400 (past the 4 KiB window too)
 *             1 MMIO read, same addressing
 *             2 guest memory poke: the low (len % 9) bytes of val at
 *               gpa (off * 8) % FMMIO_RAM
 *             3 device side: len % 4 = used-buffer interrupt for queue
 *               off, config change, DEVICE_NEEDS_RESET, nothing
 * The device is the dummy of tests/unit/vdev_dummy.h completing every
 * chain on a kick, so kicks walk whatever rings the input built.
 *
 * After every record the transport invariants are checked and a
 * violation aborts (a finding): DRIVER_OK implies FEATURES_OK implies
 * DRIVER implies ACKNOWLEDGE; negotiated features are a subset of the
 * offered ones and include VERSION_1; the interrupt line is high exactly
 * while InterruptStatus is nonzero. */
#ifndef VMM_FUZZ_FUZZ_VIRTIO_MMIO_H
#define VMM_FUZZ_FUZZ_VIRTIO_MMIO_H

#include <stdio.h>
#include <stdlib.h>
#include "tests/unit/vdev_dummy.h"

#define FMMIO_RAM (1u << 20)
#define FMMIO_BASE LAYOUT_VIRTIO_MMIO_BASE
#define FMMIO_GSI 5u
#define FMMIO_REC 12u
#define FMMIO_SPAN 0x1400u

enum { FMMIO_WRITE, FMMIO_READ, FMMIO_POKE, FMMIO_DEVICE };

struct fmmio_stats {
	unsigned records, activates, completed, resets;
	uint8_t status_seen;   /* OR of every status the device had */
};

static inline void fmmio_put(uint8_t *rec, uint8_t kind, uint8_t len,
			     uint16_t off, uint64_t val)
{
	rec[0] = kind;
	rec[1] = len;
	rec[2] = (uint8_t)off;
	rec[3] = (uint8_t)(off >> 8);
	for (unsigned i = 0; i < 8; i++)
		rec[4 + i] = (uint8_t)(val >> (8 * i));
}

static inline void fmmio_check(struct sim *s, struct virtio_mmio *m,
			       const struct vdev *vd)
{
	uint8_t st = vd->status;
	bool ok = true;
	if ((st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_FEATURES_OK))
		ok = false;
	if ((st & VIRTIO_STATUS_FEATURES_OK) &&
	    (!(st & VIRTIO_STATUS_DRIVER) ||
	     !(vd->features & VIRTIO_BIT(VIRTIO_F_VERSION_1)) ||
	     (vd->features & ~vdev_offered_features((struct vdev *)vd))))
		ok = false;
	if ((st & VIRTIO_STATUS_DRIVER) && !(st & VIRTIO_STATUS_ACKNOWLEDGE))
		ok = false;
	if ((virtio_mmio_isr(m) != 0) != (s->gsi_level[FMMIO_GSI] != 0))
		ok = false;
	if (!ok) {
		fprintf(stderr, "fuzz_virtio_mmio: invariant broken: status 0x%x "
			"features 0x%llx isr %u line %u\n", st,
			(unsigned long long)vd->features, virtio_mmio_isr(m),
			s->gsi_level[FMMIO_GSI]);
		abort();
	}
}

static inline int fmmio_run(const uint8_t *data, size_t size,
			    struct fmmio_stats *st)
{
	memset(st, 0, sizeof(*st));
	struct sim_config sc = { .ram_size = FMMIO_RAM };
	struct sim *s = sim_new(&sc);
	struct dummy *d = calloc(1, sizeof(*d));
	if (!s || !d) {
		sim_free(s);
		free(d);
		return -1;
	}
	dummy_init(d, s->m.gm);
	d->complete_on_kick = true;
	struct virtio_mmio *m = virtio_mmio_new(s->m.gm, NULL,
						irq_line(s->m.irqchip, FMMIO_GSI), &d->vd);
	bus_register(s->m.mmio, FMMIO_BASE, VIRTIO_MMIO_WINDOW, virtio_mmio_access,
		     m, "virtio-mmio");
	for (size_t i = 0; i + FMMIO_REC <= size; i += FMMIO_REC) {
		const uint8_t *r = data + i;
		uint16_t off = (uint16_t)(r[2] | r[3] << 8);
		uint64_t val = 0;
		for (unsigned b = 0; b < 8; b++)
			val |= (uint64_t)r[4 + b] << (8 * b);
		unsigned len = 1u << (r[1] & 3);
		uint64_t addr = FMMIO_BASE + off % FMMIO_SPAN;
		switch (r[0] % 4) {
		case FMMIO_WRITE:
			sim_mmio_write(s, addr, len, val);
			break;
		case FMMIO_READ:
			(void)sim_mmio_read(s, addr, len);
			break;
		case FMMIO_POKE: {
			uint8_t bytes[8];
			for (unsigned b = 0; b < 8; b++)
				bytes[b] = (uint8_t)(val >> (8 * b));
			uint64_t gpa = ((uint64_t)off * 8) % FMMIO_RAM;
			gm_write(s->m.gm, gpa, bytes, r[1] % 9);
			break;
		}
		default:
			if (r[1] % 4 == 0)
				vdev_notify_queue(&d->vd, off);
			else if (r[1] % 4 == 1)
				vdev_config_changed(&d->vd);
			else if (r[1] % 4 == 2)
				vdev_needs_reset(&d->vd, "fuzz");
			break;
		}
		fmmio_check(s, m, &d->vd);
		st->records++;
		st->status_seen |= d->vd.status;
	}
	st->activates = d->activates;
	st->completed = d->completed;
	st->resets = d->resets;
	bus_unregister(s->m.mmio, FMMIO_BASE, m);
	virtio_mmio_free(m);
	free(d);
	sim_free(s);
	return 0;
}

#endif
