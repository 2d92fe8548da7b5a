/* Guest RAM that comes and goes while a vhost-user backend runs (a
 * hot-added DIMM, a hot-added virtio-mem region): QEMU
 * docs/interop/vhost-user.rst.  With VHOST_USER_PROTOCOL_F_CONFIGURE_
 * MEM_SLOTS negotiated, one ADD_MEM_REG / REM_MEM_REG per region, within
 * the backend's GET_MAX_MEM_SLOTS; without it, a fresh SET_MEM_TABLE
 * (at most VHU_MAX_REGIONS regions).  A backend that holds no memory
 * table yet (no device started) is told nothing: its first start sends
 * the table as it then is.  The backend is untrusted: a failed exchange
 * breaks the connection (one log line, the device's NEEDS_RESET), never
 * the caller. */
#ifndef VMM_CORE_VHOST_USER_MEM_H
#define VMM_CORE_VHOST_USER_MEM_H

#include <stdbool.h>
#include <stdint.h>

struct vhu;
struct vhu_msg;
struct gm;
struct gm_region;

/* core/vhost_user.c: one request/reply exchange; does the backend hold
 * a memory table. */
int vhu_request(struct vhu *c, struct vhu_msg *m, const int *fds, unsigned nfds,
		bool getter, uint64_t *out);
bool vhu_has_mem_table(const struct vhu *c);

/* Is region r one a backend maps (shared memory with an fd, not ROM or
 * an nvdimm)? */
bool vhu_region_shareable(const struct gm_region *r);
/* Shareable RAM regions of gm a backend is sent. */
unsigned vhu_mem_regions(const struct gm *gm);
/* How many regions this backend can map: GET_MAX_MEM_SLOTS under
 * CONFIGURE_MEM_SLOTS (the reply capped at VHU_MAX_MEM_SLOTS), else
 * VHU_MAX_REGIONS.  0 when broken. */
#define VHU_MAX_MEM_SLOTS 509u
unsigned vhu_mem_max_slots(struct vhu *c);
/* Region r was just added to gm: tell the backend.  0, or -1 (broken). */
int vhu_mem_add(struct vhu *c, const struct gm *gm, const struct gm_region *r);
/* Region r of gm is about to go: tell the backend (before its memory
 * is unmapped).  0, or -1 (broken). */
int vhu_mem_remove(struct vhu *c, const struct gm *gm, const struct gm_region *r);

#endif
