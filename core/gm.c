/* Guest memory: a small sorted table of regions plus fault injection.
 *
 * Accesses are checked the way rust-vmm's vm-memory does it: an
 * overflow-checked end (gpa + len may not wrap past 2^64), then a region
 * lookup; a range may run across adjacent regions but must be wholly RAM,
 * and the whole range is validated before a single byte is copied so a
 * failed access has no partial effect.  The fast path (one region, no
 * faults) is a binary search plus memcpy. */
#include "gm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct gm_fault {
	uint64_t gpa, end; /* [gpa, end) */
	unsigned kinds;
};

struct gm {
	struct gm_region regions[GM_MAX_REGIONS]; /* sorted by gpa */
	unsigned nregions;
	struct gm_fault faults[GM_MAX_FAULTS];
	unsigned nfaults;
	gm_observer_fn obs;   /* trace record/replay, see gm_set_observer */
	void *obs_opaque;
	/* A view (gm_view_new): no regions of its own. */
	const struct gm *parent;
	gm_gate_fn gate;
	void *gate_opaque;
};

struct gm *gm_view_new(const struct gm *parent, gm_gate_fn gate, void *opaque)
{
	if (!parent || !gate)
		return NULL;
	struct gm *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->parent = parent;
	v->gate = gate;
	v->gate_opaque = opaque;
	return v;
}

/* Where a data access goes: through every open gate to the gm that owns
 * the regions, or NULL when a gate is closed. */
static const struct gm *gm_data(const struct gm *gm)
{
	while (gm->parent) {
		if (!gm->gate(gm->gate_opaque))
			return NULL;
		gm = gm->parent;
	}
	return gm;
}

/* Where layout queries go: the gm that owns the regions. */
static const struct gm *gm_base(const struct gm *gm)
{
	while (gm->parent)
		gm = gm->parent;
	return gm;
}

bool gm_enabled(const struct gm *gm)
{
	return gm_data(gm) != NULL;
}

void gm_set_observer(struct gm *gm, gm_observer_fn fn, void *opaque)
{
	gm->obs = fn;
	gm->obs_opaque = opaque;
}

struct gm *gm_new(void)
{
	return calloc(1, sizeof(struct gm));
}

static void gm_release(struct gm_region *r)
{
	switch (r->backing) {
	case GM_BACKING_HEAP:
		free(r->host);
		break;
	case GM_BACKING_MMAP:
		munmap(r->host, r->size);
		if (r->fd >= 0)
			close(r->fd);
		break;
	case GM_BACKING_EXTERNAL:
		break;
	}
}

void gm_free(struct gm *gm)
{
	if (!gm)
		return;
	for (unsigned i = 0; i < gm->nregions; i++)
		gm_release(&gm->regions[i]);
	free(gm);
}

int gm_remove_region(struct gm *gm, uint64_t gpa)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		if (gm->regions[i].gpa != gpa)
			continue;
		gm_release(&gm->regions[i]);
		memmove(&gm->regions[i], &gm->regions[i + 1],
			(gm->nregions - i - 1) * sizeof(gm->regions[0]));
		gm->nregions--;
		return 0;
	}
	return -ENOENT;
}

int gm_can_add(const struct gm *gm, uint64_t gpa, uint64_t size)
{
	/* end = gpa + size must not wrap (not even to exactly 0): every
	 * region end is then representable, which keeps the access checks
	 * to one comparison. */
	uint64_t end = gpa + size;
	if (size == 0 || end < gpa || gm->parent)
		return -EINVAL;
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->regions[i];
		if (gpa < r->gpa + r->size && r->gpa < end)
			return -EEXIST;
	}
	if (gm->nregions == GM_MAX_REGIONS)
		return -ENOSPC;
	return 0;
}

int gm_add_region_owned(struct gm *gm, uint64_t gpa, uint64_t size, void *host,
			unsigned flags, const char *name,
			enum gm_backing backing, int fd, uint64_t fd_offset)
{
	if (!host)
		return -EINVAL;
	int rc = gm_can_add(gm, gpa, size);
	if (rc)
		return rc;
	unsigned pos = 0;
	while (pos < gm->nregions && gm->regions[pos].gpa < gpa)
		pos++;
	memmove(&gm->regions[pos + 1], &gm->regions[pos],
		(gm->nregions - pos) * sizeof(gm->regions[0]));
	struct gm_region *r = &gm->regions[pos];
	memset(r, 0, sizeof(*r));
	r->gpa = gpa;
	r->size = size;
	r->host = host;
	r->flags = flags;
	if (flags & GM_ROM)
		r->flags |= GM_READONLY;
	r->backing = backing;
	r->fd = fd;
	r->fd_offset = fd_offset;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "ram");
	gm->nregions++;
	return 0;
}

int gm_add_region(struct gm *gm, uint64_t gpa, uint64_t size, void *host,
		  unsigned flags, const char *name)
{
	return gm_add_region_owned(gm, gpa, size, host, flags, name,
				   GM_BACKING_EXTERNAL, -1, 0);
}

int gm_add_heap(struct gm *gm, uint64_t gpa, uint64_t size, unsigned flags,
		const char *name)
{
	int rc = gm_can_add(gm, gpa, size);
	if (rc)
		return rc;
	if (size > SIZE_MAX)
		return -EINVAL;
	void *host = calloc(1, (size_t)size);
	if (!host)
		return -ENOMEM;
	rc = gm_add_region_owned(gm, gpa, size, host, flags, name,
				 GM_BACKING_HEAP, -1, 0);
	if (rc)
		free(host);
	return rc;
}

/* Index of the region containing gpa, or -1.  Binary search: the table is
 * sorted and its regions never overlap. */
static int gm_find_idx(const struct gm *gm, uint64_t gpa)
{
	unsigned lo = 0, hi = gm->nregions;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct gm_region *r = &gm->regions[mid];
		if (gpa < r->gpa)
			hi = mid;
		else if (gpa - r->gpa >= r->size)
			lo = mid + 1;
		else
			return (int)mid;
	}
	return -1;
}

const struct gm_region *gm_region_find(const struct gm *gm, uint64_t gpa)
{
	gm = gm_base(gm);
	int i = gm_find_idx(gm, gpa);
	return i < 0 ? NULL : &gm->regions[i];
}

unsigned gm_region_count(const struct gm *gm)
{
	gm = gm_base(gm);
	return gm->nregions;
}

const struct gm_region *gm_region_at(const struct gm *gm, unsigned idx)
{
	gm = gm_base(gm);
	return idx < gm->nregions ? &gm->regions[idx] : NULL;
}

static bool gm_faulted(const struct gm *gm, uint64_t gpa, uint64_t end,
		       unsigned kind)
{
	for (unsigned i = 0; i < gm->nfaults; i++) {
		const struct gm_fault *f = &gm->faults[i];
		if ((f->kinds & kind) && gpa < f->end && f->gpa < end)
			return true;
	}
	return false;
}

/* Validate [gpa, gpa+len) for an access of kind (GM_FAULT_READ/WRITE):
 * every byte in RAM, no injected fault, no read-only region for writes.
 * Returns the index of the first region or -1.  len > 0. */
static int gm_check(const struct gm *gm, uint64_t gpa, size_t len, unsigned kind)
{
	/* Checked add first (rust-vmm checked_offset): a range that wraps,
	 * even one ending exactly at 2^64, is never guest memory because no
	 * region may end there either (gm_add_region refuses it). */
	uint64_t end = gpa + len;
	if (end < gpa)
		return -1;
	int first = gm_find_idx(gm, gpa);
	if (first < 0)
		return -1;
	for (unsigned i = (unsigned)first;; i++) {
		const struct gm_region *r = &gm->regions[i];
		if (kind == GM_FAULT_WRITE && (r->flags & GM_READONLY))
			return -1;
		uint64_t rend = r->gpa + r->size;
		if (end <= rend)
			break;
		/* Continue only into an adjacent region. */
		if (i + 1 >= gm->nregions || gm->regions[i + 1].gpa != rend)
			return -1;
	}
	if (gm->nfaults && gm_faulted(gm, gpa, end, kind))
		return -1;
	return first;
}

int gm_read(const struct gm *gm, uint64_t gpa, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (!(gm = gm_data(gm)))
		return -EFAULT;
	int i = gm_check(gm, gpa, len, GM_FAULT_READ);
	if (i < 0)
		return -EFAULT;
	uint8_t *out = buf;
	uint64_t gpa0 = gpa;
	size_t len0 = len;
	for (const struct gm_region *r = &gm->regions[i]; len; r++) {
		uint64_t off = gpa - r->gpa;
		size_t n = r->size - off < len ? (size_t)(r->size - off) : len;
		memcpy(out, r->host + off, n);
		out += n;
		gpa += n;
		len -= n;
	}
	if (gm->obs)
		gm->obs(gm->obs_opaque, GM_OBS_READ, gpa0, buf, len0);
	return 0;
}

int gm_write(const struct gm *gm, uint64_t gpa, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (!(gm = gm_data(gm)))
		return -EFAULT;
	int i = gm_check(gm, gpa, len, GM_FAULT_WRITE);
	if (i < 0)
		return -EFAULT;
	const uint8_t *in = buf;
	uint64_t gpa0 = gpa;
	size_t len0 = len;
	for (const struct gm_region *r = &gm->regions[i]; len; r++) {
		uint64_t off = gpa - r->gpa;
		size_t n = r->size - off < len ? (size_t)(r->size - off) : len;
		memcpy(r->host + off, in, n);
		in += n;
		gpa += n;
		len -= n;
	}
	if (gm->obs)
		gm->obs(gm->obs_opaque, GM_OBS_WRITE, gpa0, (void *)buf, len0);
	return 0;
}

int gm_fill(const struct gm *gm, uint64_t gpa, int byte, size_t len)
{
	if (len == 0)
		return 0;
	if (!(gm = gm_data(gm)))
		return -EFAULT;
	int i = gm_check(gm, gpa, len, GM_FAULT_WRITE);
	if (i < 0)
		return -EFAULT;
	uint64_t gpa0 = gpa;
	size_t len0 = len;
	for (const struct gm_region *r = &gm->regions[i]; len; r++) {
		uint64_t off = gpa - r->gpa;
		size_t n = r->size - off < len ? (size_t)(r->size - off) : len;
		memset(r->host + off, byte, n);
		gpa += n;
		len -= n;
	}
	if (gm->obs) {
		uint8_t chunk[256];
		memset(chunk, byte, sizeof(chunk));
		for (size_t done = 0; done < len0;) {
			size_t n = len0 - done < sizeof(chunk) ? len0 - done : sizeof(chunk);
			gm->obs(gm->obs_opaque, GM_OBS_WRITE, gpa0 + done, chunk, n);
			done += n;
		}
	}
	return 0;
}

/* Typed helpers: guest memory is little-endian (x86), as are virtio 1.x
 * structures (virtio 1.2 §1.4); assemble byte by byte so the code is
 * endian-clean and never does an unaligned load. */
int gm_read_u8(const struct gm *gm, uint64_t gpa, uint8_t *v)
{
	return gm_read(gm, gpa, v, 1);
}

static uint64_t gm_le_get(const uint8_t *b, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static void gm_le_put(uint8_t *b, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

int gm_read_u16le(const struct gm *gm, uint64_t gpa, uint16_t *v)
{
	uint8_t b[2];
	int rc = gm_read(gm, gpa, b, sizeof(b));
	if (rc == 0)
		*v = (uint16_t)gm_le_get(b, sizeof(b));
	return rc;
}

int gm_read_u32le(const struct gm *gm, uint64_t gpa, uint32_t *v)
{
	uint8_t b[4];
	int rc = gm_read(gm, gpa, b, sizeof(b));
	if (rc == 0)
		*v = (uint32_t)gm_le_get(b, sizeof(b));
	return rc;
}

int gm_read_u64le(const struct gm *gm, uint64_t gpa, uint64_t *v)
{
	uint8_t b[8];
	int rc = gm_read(gm, gpa, b, sizeof(b));
	if (rc == 0)
		*v = gm_le_get(b, sizeof(b));
	return rc;
}

int gm_write_u8(const struct gm *gm, uint64_t gpa, uint8_t v)
{
	return gm_write(gm, gpa, &v, 1);
}

int gm_write_u16le(const struct gm *gm, uint64_t gpa, uint16_t v)
{
	uint8_t b[2];
	gm_le_put(b, v, sizeof(b));
	return gm_write(gm, gpa, b, sizeof(b));
}

int gm_write_u32le(const struct gm *gm, uint64_t gpa, uint32_t v)
{
	uint8_t b[4];
	gm_le_put(b, v, sizeof(b));
	return gm_write(gm, gpa, b, sizeof(b));
}

int gm_write_u64le(const struct gm *gm, uint64_t gpa, uint64_t v)
{
	uint8_t b[8];
	gm_le_put(b, v, sizeof(b));
	return gm_write(gm, gpa, b, sizeof(b));
}

void *gm_map(const struct gm *gm, uint64_t gpa, size_t len, bool writable)
{
	/* An observed gm has no raw path: the copy fallback is observed. */
	if (len == 0 || !(gm = gm_data(gm)) || gm->obs)
		return NULL;
	int i = gm_check(gm, gpa, len, writable ? GM_FAULT_WRITE : GM_FAULT_READ);
	if (i < 0)
		return NULL;
	const struct gm_region *r = &gm->regions[i];
	/* gm_check allows spanning; a raw pointer may not. */
	if (gpa + len > r->gpa + r->size)
		return NULL;
	/* A writable mapping is also read by the device: both faults count. */
	if (writable && gm->nfaults &&
	    gm_faulted(gm, gpa, gpa + len, GM_FAULT_READ))
		return NULL;
	return r->host + (gpa - r->gpa);
}

bool gm_range_valid(const struct gm *gm, uint64_t gpa, size_t len)
{
	gm = gm_base(gm);
	if (len == 0)
		return true;
	uint64_t end = gpa + len;
	if (end < gpa)
		return false;
	int i = gm_find_idx(gm, gpa);
	if (i < 0)
		return false;
	for (unsigned k = (unsigned)i;; k++) {
		uint64_t rend = gm->regions[k].gpa + gm->regions[k].size;
		if (end <= rend)
			return true;
		if (k + 1 >= gm->nregions || gm->regions[k + 1].gpa != rend)
			return false;
	}
}

int gm_inject_fault(struct gm *gm, uint64_t gpa, uint64_t len, unsigned kinds)
{
	if (len == 0 || !(kinds & (GM_FAULT_READ | GM_FAULT_WRITE)))
		return -EINVAL;
	if (gm->nfaults == GM_MAX_FAULTS)
		return -ENOSPC;
	uint64_t end = gpa + len;
	if (end < gpa)
		end = UINT64_MAX; /* clamp: no access can reach 2^64 anyway */
	gm->faults[gm->nfaults++] = (struct gm_fault){ gpa, end, kinds };
	return 0;
}

void gm_clear_faults(struct gm *gm)
{
	gm->nfaults = 0;
}

int gm_sync(const struct gm *gm)
{
	int ret = 0;
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->regions[i];
		if (r->backing != GM_BACKING_MMAP || r->fd < 0 ||
		    (r->flags & GM_READONLY))
			continue;
		/* Private mappings never reach the file; msync is harmless
		 * there but only shared ones matter (nvdimm share=on). */
		if (msync(r->host, r->size, MS_SYNC) != 0 && ret == 0)
			ret = -errno;
	}
	return ret;
}
