/* virtio-mem (virtio 1.2 §5.15) through the sim guest driver on
 * virtio-mmio and virtio-pci: the config space, requested_size changes
 * (config interrupt), PLUG / UNPLUG / UNPLUG_ALL / STATE, and the spec's
 * responses to a hostile driver -- plugging past requested_size (NACK),
 * outside the usable region or misaligned (ERROR), plugging twice or
 * unplugging what was never plugged (ERROR), a request too short (the
 * device needs a reset).  Unplugged blocks go to the host hook once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "core/snapshot.h"
#include "devices/virtio/mem.h"
#include "vdev_fixture.h"

#define BS (2ull << 20)
#define ADDR (1ull << 32)
#define REGION (1ull << 30)

struct mt {
	struct vfx *f;
	struct vmem *m;
	uint64_t released, last_gpa, last_len;
	unsigned nrel;
};

static enum vfx_kind kind(void **state)
{
	return (enum vfx_kind)(uintptr_t)*state;
}

static void on_release(void *o, uint64_t gpa, uint64_t len)
{
	struct mt *t = o;
	t->released += len;
	t->last_gpa = gpa;
	t->last_len = len;
	t->nrel++;
}

static struct mt *mt_new(enum vfx_kind k, uint64_t requested)
{
	struct mt *t = calloc(1, sizeof(*t));
	t->f = vfx_new(k);
	struct vmem_config c = { .gm = vfx_gm(t->f), .log = t->f->log, .clk = vfx_clk(t->f),
				 .addr = ADDR, .region_size = REGION, .block_size = BS,
				 .requested_size = requested, .node_id = 0,
				 .release = on_release, .release_opaque = t };
	t->m = vmem_new(&c);
	assert_non_null(t->m);
	vfx_attach(t->f, vmem_vdev(t->m));
	vfx_start(t->f, ~0ull, 1, 16);
	return t;
}

static void mt_free(struct mt *t)
{
	vfx_detach(t->f);
	vmem_free(t->m);
	vfx_free(t->f);
	free(t);
}

/* One request; returns the response type (state in *state). */
static int req(struct mt *t, uint16_t type, uint64_t addr, uint16_t nb, uint16_t *state)
{
	struct virtio_mem_req r = { .type = htole16(type), .addr = htole64(addr),
				    .nb_blocks = htole16(nb) };
	uint64_t rp = vfx_put(t->f, &r, sizeof(r));
	uint64_t sp = vfx_alloc(t->f, sizeof(struct virtio_mem_resp));
	struct vdq_buf b[2] = { { rp, sizeof(r), false },
				{ sp, sizeof(struct virtio_mem_resp), true } };
	vfx_add(t->f, 0, b, 2);
	uint16_t id;
	uint32_t len;
	assert_int_equal(vfx_used(t->f, 0, &id, &len), 1);
	assert_int_equal(len, sizeof(struct virtio_mem_resp));
	struct virtio_mem_resp rs;
	assert_int_equal(gm_read(vfx_gm(t->f), sp, &rs, sizeof(rs)), 0);
	if (state)
		*state = le16toh(rs.state);
	return le16toh(rs.type);
}

static uint64_t cfg64(struct mt *t, size_t off)
{
	return vfx_cfg(t->f, (uint32_t)off, 4) | vfx_cfg(t->f, (uint32_t)off + 4, 4) << 32;
}

static void test_config_and_resize(void **state)
{
	struct mt *t = mt_new(kind(state), 0);
	assert_true(t->f->d.features & VIRTIO_BIT(VIRTIO_MEM_F_ACPI_PXM));
	assert_int_equal(cfg64(t, offsetof(struct virtio_mem_config, block_size)), BS);
	assert_int_equal(cfg64(t, offsetof(struct virtio_mem_config, addr)), ADDR);
	assert_int_equal(cfg64(t, offsetof(struct virtio_mem_config, region_size)), REGION);
	assert_int_equal(cfg64(t, offsetof(struct virtio_mem_config, requested_size)), 0);
	assert_int_equal(cfg64(t, offsetof(struct virtio_mem_config, usable_region_size)),
			 VMEM_USABLE_EXTENT);
	t->f->d.bus->isr_ack(&t->f->d);
	assert_int_equal(vmem_set_requested(t->m, 64ull << 20), 0);
	assert_true(vfx_irq(t->f));
	assert_int_equal(cfg64(t, offsetof(struct virtio_mem_config, requested_size)), 64ull << 20);
	assert_int_equal(cfg64(t, offsetof(struct virtio_mem_config, usable_region_size)),
			 (64ull << 20) + VMEM_USABLE_EXTENT);
	assert_int_equal(vmem_set_requested(t->m, BS + 4096), -EINVAL);
	assert_int_equal(vmem_set_requested(t->m, REGION + BS), -EINVAL);
	/* The driver cannot write the config. */
	t->f->d.bus->config_write(&t->f->d, offsetof(struct virtio_mem_config, requested_size), 4, 7);
	assert_int_equal(vmem_requested(t->m), 64ull << 20);
	mt_free(t);
}

static void test_plug_unplug(void **state)
{
	struct mt *t = mt_new(kind(state), 8 * BS);
	uint16_t st;
	assert_int_equal(req(t, VIRTIO_MEM_REQ_PLUG, ADDR, 4, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(req(t, VIRTIO_MEM_REQ_PLUG, ADDR + 8 * BS, 4, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(vmem_plugged(t->m), 8 * BS);
	assert_int_equal(cfg64(t, offsetof(struct virtio_mem_config, plugged_size)), 8 * BS);
	assert_int_equal(req(t, VIRTIO_MEM_REQ_STATE, ADDR, 4, &st), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(st, VIRTIO_MEM_STATE_PLUGGED);
	assert_int_equal(req(t, VIRTIO_MEM_REQ_STATE, ADDR + 2 * BS, 4, &st), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(st, VIRTIO_MEM_STATE_MIXED);
	assert_int_equal(req(t, VIRTIO_MEM_REQ_STATE, ADDR + 4 * BS, 4, &st), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(st, VIRTIO_MEM_STATE_UNPLUGGED);
	/* Shrink: the driver unplugs; the host gets the memory back. */
	assert_int_equal(vmem_set_requested(t->m, 4 * BS), 0);
	assert_int_equal(req(t, VIRTIO_MEM_REQ_UNPLUG, ADDR + 8 * BS, 4, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(t->released, 4 * BS);
	assert_int_equal(t->last_gpa, ADDR + 8 * BS);
	assert_int_equal(vmem_plugged(t->m), 4 * BS);
	/* UNPLUG_ALL: one release per plugged run. */
	assert_int_equal(req(t, VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(vmem_plugged(t->m), 0);
	assert_int_equal(t->released, 8 * BS);
	assert_int_equal(t->nrel, 2);
	mt_free(t);
}

static void test_hostile_requests(void **state)
{
	struct mt *t = mt_new(kind(state), 4 * BS);
	uint64_t usable = cfg64(t, offsetof(struct virtio_mem_config, usable_region_size));
	/* More than requested: NACK, nothing plugged. */
	assert_int_equal(req(t, VIRTIO_MEM_REQ_PLUG, ADDR, 5, NULL), VIRTIO_MEM_RESP_NACK);
	assert_int_equal(vmem_plugged(t->m), 0);
	/* Outside the usable region, below the region, misaligned, zero
	 * blocks, wrapping: ERROR. */
	assert_int_equal(req(t, VIRTIO_MEM_REQ_PLUG, ADDR + usable, 1, NULL), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(req(t, VIRTIO_MEM_REQ_PLUG, ADDR + usable - BS, 2, NULL), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(req(t, VIRTIO_MEM_REQ_PLUG, ADDR - BS, 1, NULL), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(req(t, VIRTIO_MEM_REQ_PLUG, ADDR + 4096, 1, NULL), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(req(t, VIRTIO_MEM_REQ_PLUG, ADDR, 0, NULL), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(req(t, VIRTIO_MEM_REQ_PLUG, ~0ull & ~(BS - 1), 0xffff, NULL), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(req(t, VIRTIO_MEM_REQ_STATE, ADDR + usable, 1, NULL), VIRTIO_MEM_RESP_ERROR);
	/* Unplugging what was never plugged; plugging twice. */
	assert_int_equal(req(t, VIRTIO_MEM_REQ_UNPLUG, ADDR, 1, NULL), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(req(t, VIRTIO_MEM_REQ_PLUG, ADDR, 2, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(req(t, VIRTIO_MEM_REQ_PLUG, ADDR + BS, 2, NULL), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(req(t, VIRTIO_MEM_REQ_UNPLUG, ADDR + BS, 2, NULL), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(vmem_plugged(t->m), 2 * BS);
	assert_int_equal(t->released, 0);
	/* An unknown request type. */
	assert_int_equal(req(t, 99, ADDR, 1, NULL), VIRTIO_MEM_RESP_ERROR);
	assert_true(vmem_get_stats(t->m)->errors >= 10);
	assert_int_equal(vmem_get_stats(t->m)->nacks, 1);
	/* A request shorter than struct virtio_mem_req breaks the device. */
	uint8_t shortreq[4] = { 0 };
	uint64_t rp = vfx_put(t->f, shortreq, sizeof(shortreq));
	uint64_t sp = vfx_alloc(t->f, 16);
	struct vdq_buf b[2] = { { rp, sizeof(shortreq), false }, { sp, 16, true } };
	vfx_add(t->f, 0, b, 2);
	assert_true(vfx_status(t->f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(vmem_plugged(t->m), 2 * BS);
	mt_free(t);
}

static void test_bad_configs(void **state)
{
	(void)state;
	struct vmem_config c = { .addr = ADDR, .region_size = REGION, .block_size = 3 << 20 };
	assert_null(vmem_new(&c));
	c.block_size = BS;
	c.requested_size = REGION + BS;
	assert_null(vmem_new(&c));
	c.requested_size = BS / 2;
	assert_null(vmem_new(&c));
	c.requested_size = 0;
	c.addr = ADDR + 4096;
	assert_null(vmem_new(&c));
}


/* ---- snapshot (section "virtio-mem") ---- */

static struct vmem *bare_vmem(uint64_t requested)
{
	struct vmem_config c = { .addr = ADDR, .region_size = REGION, .block_size = BS,
				 .requested_size = requested };
	struct vmem *m = vmem_new(&c);
	assert_non_null(m);
	return m;
}

/* Load a stream (finished here) into m: 0 or the error line in err. */
static int load_into(struct vmem *m, struct snap_w *w, char *err, size_t errlen)
{
	const uint8_t *buf;
	size_t len;
	struct snap_r *r;
	assert_int_equal(snap_w_finish(w, &buf, &len), 0);
	assert_int_equal(snap_r_open(&r, buf, len, err, errlen), 0);
	struct vdev *vd = vmem_vdev(m);
	int rc = vd->ops->load(vd, r);
	snprintf(err, errlen, "%s", snap_r_error(r));
	snap_r_free(r);
	snap_w_free(w);
	return rc;
}

/* The state after plugging: sizes, the bitmap (STATE answers), and the
 * host releases still one per unplugged run. */
static void test_snapshot_roundtrip(void **state)
{
	struct mt *t = mt_new(kind(state), 8 * BS);
	char err[SNAP_ERR_LEN];
	assert_int_equal(req(t, VIRTIO_MEM_REQ_PLUG, ADDR + 2 * BS, 3, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(vmem_set_requested(t->m, 16 * BS), 0);
	struct snap_w *w = snap_w_new();
	struct vdev *vd = vmem_vdev(t->m);
	assert_int_equal(vd->ops->save(vd, w), 0);
	struct vmem *m = bare_vmem(0);
	assert_int_equal(load_into(m, w, err, sizeof(err)), 0);
	assert_int_equal(vmem_plugged(m), 3 * BS);
	assert_int_equal(vmem_requested(m), 16 * BS);
	struct virtio_mem_config a, b;
	vd->ops->config_read(vd, 0, &a, sizeof(a));
	vmem_vdev(m)->ops->config_read(vmem_vdev(m), 0, &b, sizeof(b));
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(vmem_get_stats(m)->acks, vmem_get_stats(t->m)->acks);
	vmem_free(m);
	mt_free(t);
}

struct vm_fields {
	uint64_t addr, rsize, bs, req, usable, plugged;
	uint8_t bitmap[REGION / BS / 8];
	size_t bmlen;
};

static struct snap_w *vm_section(const struct vm_fields *f)
{
	struct snap_w *w = snap_w_new();
	uint8_t st[40] = { 0 };
	snap_w_begin(w, "virtio-mem", 1);
	snap_w_u64(w, "addr", f->addr);
	snap_w_u64(w, "region_size", f->rsize);
	snap_w_u64(w, "block_size", f->bs);
	snap_w_u64(w, "requested", f->req);
	snap_w_u64(w, "usable", f->usable);
	snap_w_u64(w, "plugged", f->plugged);
	snap_w_blob(w, "bitmap", f->bitmap, f->bmlen);
	snap_w_bytes(w, "stats", st, sizeof(st));
	snap_w_end(w);
	return w;
}

static void vm_refused(const struct vm_fields *f, const char *want)
{
	char err[SNAP_ERR_LEN];
	struct vmem *m = bare_vmem(4 * BS);
	assert_true(load_into(m, vm_section(f), err, sizeof(err)) < 0);
	if (!strstr(err, want))
		fail_msg("got '%s', want '%s'", err, want);
	/* Untouched. */
	assert_int_equal(vmem_requested(m), 4 * BS);
	assert_int_equal(vmem_plugged(m), 0);
	vmem_free(m);
}

static void test_snapshot_hostile(void **state)
{
	(void)state;
	struct vm_fields ok = { ADDR, REGION, BS, 4 * BS, 4 * BS + VMEM_USABLE_EXTENT,
				2 * BS, { 0x03 }, REGION / BS / 8 };
	struct vm_fields f = ok;
	char err[SNAP_ERR_LEN];
	struct vmem *m = bare_vmem(0);
	assert_int_equal(load_into(m, vm_section(&ok), err, sizeof(err)), 0);
	assert_int_equal(vmem_plugged(m), 2 * BS);
	vmem_free(m);
	f.addr += BS;
	vm_refused(&f, "virtio-mem.addr: the region sits elsewhere here");
	f = ok;
	f.rsize *= 2;
	vm_refused(&f, "virtio-mem.region_size: another memory backend size");
	f = ok;
	f.bs *= 2;
	vm_refused(&f, "virtio-mem.block_size: another block-size");
	f = ok;
	f.req = REGION + BS;
	vm_refused(&f, "virtio-mem.requested: not a block multiple inside the region");
	f = ok;
	f.usable = 2 * BS;
	vm_refused(&f, "virtio-mem.usable: outside [requested, region size]");
	f = ok;
	f.bmlen--;
	vm_refused(&f, "virtio-mem.bitmap: length disagrees with the region");
	f = ok;
	f.bitmap[f.bmlen - 1] = 0x80;   /* the region's last block, past usable */
	f.plugged = 3 * BS;
	vm_refused(&f, "virtio-mem.bitmap: a plugged block outside the usable region");
	f = ok;
	f.plugged = 3 * BS;
	vm_refused(&f, "virtio-mem.plugged: disagrees with the bitmap");
}

/* virtio-mem is modern only (no transitional PCI id, virtio 1.2 §4.1.2.1). */
#define MODERN(fn) cmocka_unit_test_prestate(fn, (void *)(uintptr_t)VFX_MMIO), \
	cmocka_unit_test_prestate(fn, (void *)(uintptr_t)VFX_PCI)

int main(void)
{
	const struct CMUnitTest tests[] = {
		MODERN(test_config_and_resize),
		MODERN(test_plug_unplug),
		MODERN(test_hostile_requests),
		cmocka_unit_test(test_bad_configs),
		MODERN(test_snapshot_roundtrip),
		cmocka_unit_test(test_snapshot_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
