/* The virtqueue fuzz scenario, shared by the libFuzzer harness
 * (fuzz/fuzz_virtqueue.c) and the unit test that writes and replays its
 * seed corpus, so the seeds are known to reach real ring code.
 *
 * Input:  cfg byte | mem_len (u16 LE) | mem_len bytes | op bytes
 *   cfg: bit0 packed, bit1 EVENT_IDX, bit2 INDIRECT_DESC, bits 3..7 size
 *        code s: split size 1 << (s % 9), packed size s + 1.
 *   mem: copied over the ring area at FVQ_BASE (laid out as
 *        sim/vdriver_queue lays it out), then anything after it (data,
 *        indirect tables) up to FVQ_WIN bytes.
 *   ops: one byte each, op = b & 7, arg = b >> 3 (see fvq_run).
 * Guest RAM is FVQ_RAM bytes at gpa 0, so guest addresses are often
 * outside it on purpose. */
#ifndef VMM_FUZZ_FUZZ_VIRTQUEUE_H
#define VMM_FUZZ_FUZZ_VIRTQUEUE_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/gm.h"
#include "devices/virtio/queue.h"
#include "devices/virtio/virtio.h"
#include "sim/vdriver_queue.h"

#define FVQ_RAM (256u << 10)
#define FVQ_BASE 0x1000u
#define FVQ_WIN (64u << 10)
#define FVQ_HELD 4u
#define FVQ_MAX_OPS 4096u

enum { FVQ_POP, FVQ_PUSH, FVQ_NOTIFY, FVQ_SETNOTIFY, FVQ_HASAVAIL,
       FVQ_UNPOP, FVQ_COPY, FVQ_POKE };
#define FVQ_OP(op, arg) ((uint8_t)((op) | (arg) << 3))

struct fvq_stats {
	unsigned popped, bad, pushed, notifies, polls;
	bool broken;
};

static inline uint64_t fvq_features(uint8_t cfg)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1);

	if (cfg & 1)
		f |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	if (cfg & 2)
		f |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (cfg & 4)
		f |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	return f;
}

static inline uint16_t fvq_size(uint8_t cfg)
{
	unsigned s = cfg >> 3;

	return (uint16_t)((cfg & 1) ? s + 1 : 1u << (s % 9));
}

/* What a popped element must satisfy whatever the guest wrote. */
static inline void fvq_check_elem(const struct gm *gm, const struct vq *vq,
				  const struct vq_elem *e)
{
	uint64_t out = 0, in = 0;
	unsigned i;

	if ((unsigned)e->nout + e->nin > VQ_MAX_SEGS || e->ndesc == 0 ||
	    e->ndesc > vq->cfg.size || (!vq->packed && e->id >= vq->cfg.size))
		__builtin_trap();
	for (i = 0; i < (unsigned)e->nout + e->nin; i++) {
		if (e->seg[i].len == 0 ||
		    !gm_range_valid(gm, e->seg[i].gpa, e->seg[i].len))
			__builtin_trap();
		if (i < e->nout)
			out += e->seg[i].len;
		else
			in += e->seg[i].len;
	}
	if (out != e->out_len || in != e->in_len || out + in > UINT32_MAX)
		__builtin_trap();
}

/* Run one input.  Returns -1 for inputs too short to mean anything. */
static inline int fvq_run(const uint8_t *d, size_t n, struct fvq_stats *st)
{
	struct gm *gm;
	struct vdq *dq;
	struct vq vq;
	struct vq_config cfg;
	struct vq_elem *held;
	uint8_t buf[256];
	unsigned nheld = 0, nops = 0, i;
	bool just_popped = false;
	uint64_t features;
	uint16_t size;
	size_t mem_len;
	int r;

	memset(st, 0, sizeof(*st));
	if (n < 3)
		return -1;
	features = fvq_features(d[0]);
	size = fvq_size(d[0]);
	mem_len = d[1] | (size_t)d[2] << 8;
	d += 3;
	n -= 3;
	if (mem_len > n)
		mem_len = n;
	if (mem_len > FVQ_WIN)
		mem_len = FVQ_WIN;

	gm = gm_new();
	dq = calloc(1, sizeof(*dq));
	held = calloc(FVQ_HELD, sizeof(*held));
	if (!gm || !dq || !held || gm_add_heap(gm, 0, FVQ_RAM, 0, "ram") ||
	    vdq_init(dq, gm, FVQ_BASE, size, features) ||
	    gm_write(gm, FVQ_BASE, d, mem_len))
		__builtin_trap();
	vdq_config(dq, &cfg);
	memset(&vq, 0, sizeof(vq));
	if (vq_enable(&vq, gm, NULL, 0, &cfg, features))
		__builtin_trap();
	d += mem_len;
	n -= mem_len;

	for (i = 0; i < n && nops < FVQ_MAX_OPS; i++, nops++) {
		unsigned op = d[i] & 7, arg = d[i] >> 3;
		bool popped = false;

		switch (op) {
		case FVQ_POP:
			if (nheld == FVQ_HELD) {
				vq_push(&vq, &held[0], 0);
				memmove(&held[0], &held[1],
					(FVQ_HELD - 1) * sizeof(*held));
				nheld--;
			}
			r = vq_pop(&vq, &held[nheld]);
			if (r == 1) {
				fvq_check_elem(gm, &vq, &held[nheld]);
				nheld++;
				st->popped++;
				popped = true;
			} else if (r < 0) {
				st->bad++;
			}
			break;
		case FVQ_PUSH:
			if (nheld) {
				unsigned k = arg % nheld;

				if (vq_push(&vq, &held[k], arg * 64u) == 0)
					st->pushed++;
				held[k] = held[--nheld];
			}
			break;
		case FVQ_NOTIFY:
			st->notifies += vq_should_notify(&vq);
			break;
		case FVQ_SETNOTIFY:
			vq_set_notification(&vq, arg & 1);
			break;
		case FVQ_HASAVAIL:
			st->polls += vq_has_avail(&vq);
			break;
		case FVQ_UNPOP:
			if (just_popped) {
				vq_unpop(&vq, &held[--nheld]);
				st->popped--;
			}
			break;
		case FVQ_COPY:
			if (nheld && i + 1 < n) {
				uint32_t off = arg * 8u;
				size_t len = 1 + d[++i];
				const struct vq_elem *e = &held[0];

				r = (arg & 1) ? vq_elem_write(gm, e, off, buf, len)
					      : vq_elem_read(gm, e, off, buf, len);
				/* In range and in RAM (checked at pop, no
				 * faults here) must copy. */
				if (r && off + len <= ((arg & 1) ? e->in_len
								 : e->out_len))
					__builtin_trap();
			}
			break;
		case FVQ_POKE:
			/* The guest rewrites its rings between device
			 * operations, as a concurrent hostile driver may. */
			if (i + 3 < n) {
				uint16_t off = (uint16_t)(d[i + 1] | d[i + 2] << 8);

				gm_write_u8(gm, FVQ_BASE + off % FVQ_WIN, d[i + 3]);
				i += 3;
			}
			break;
		}
		just_popped = popped;
	}
	/* Whatever the rings hold, draining them terminates: a split ring
	 * has at most size entries, a packed slot is available in at most
	 * one lap parity and the device only ever writes used flags. */
	for (i = 0; i <= 2u * size + 2; i++) {
		struct vq_elem *e = &held[0];

		r = vq_pop(&vq, e);
		if (r == 0)
			break;
		if (r == 1) {
			fvq_check_elem(gm, &vq, e);
			vq_push(&vq, e, e->in_len);
			st->popped++;
		} else {
			st->bad++;
		}
	}
	if (i > 2u * size + 2)
		__builtin_trap();
	st->broken = vq.broken;
	free(held);
	free(dq);
	gm_free(gm);
	return 0;
}

#endif
