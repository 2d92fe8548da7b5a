/* Bulk data between a virtqueue element and a block backend: the segment
 * walk virtio-blk and virtio-scsi's disk both need (see queue_blockdev.h). */
#include <errno.h>
#include "core/blockdev.h"
#include "core/gm.h"
#include "devices/virtio/queue_blockdev.h"

int vq_elem_blockdev_xfer(const struct gm *gm, const struct vq_elem *e,
			  bool to_guest, uint64_t off, uint64_t len,
			  struct blockdev *bd, uint64_t pos, uint8_t *bounce,
			  size_t bounce_size)
{
	unsigned first = to_guest ? e->nout : 0;
	unsigned n = to_guest ? e->nin : e->nout;
	for (unsigned i = 0; i < n && len; i++) {
		const struct vq_seg *s = &e->seg[first + i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint64_t gpa = s->gpa + off;
		uint64_t seg_left = s->len - off;
		off = 0;
		while (seg_left && len) {
			size_t chunk = seg_left < len ? seg_left : len;
			void *p = gm_map(gm, gpa, chunk, to_guest);
			int r;
			if (p) {
				r = to_guest ? blockdev_read(bd, pos, p, chunk)
					     : blockdev_write(bd, pos, p, chunk);
			} else {
				if (chunk > bounce_size)
					chunk = bounce_size;
				if (to_guest) {
					r = blockdev_read(bd, pos, bounce, chunk);
					if (!r)
						r = gm_write(gm, gpa, bounce, chunk);
				} else {
					r = gm_read(gm, gpa, bounce, chunk);
					if (!r)
						r = blockdev_write(bd, pos, bounce, chunk);
				}
			}
			if (r)
				return r;
			gpa += chunk;
			pos += chunk;
			seg_left -= chunk;
			len -= chunk;
		}
	}
	return len ? -EFAULT : 0;
}
