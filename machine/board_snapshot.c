/* Machine-level snapshots: the board's devices in build order behind a
 * fingerprint of the device set, the board's own platform state (ACPI PM
 * block, NVDIMM counters), and guest RAM.  Layout: docs/snapshot.md.
 *
 * Adding a device family: give the model X_save/X_load in its own file
 * (a virtio model only fills vdev_ops.save/load: the transports call
 * it), add a BOARD_SNAP_* kind and its two lines in board_snap_dispatch
 * below, and board_snap_mark() the item where the board pushes it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clk.h"
#include "core/gm.h"
#include "core/snapshot.h"
#include "devices/acpi/acpi.h"
#include "devices/i8042.h"
#include "devices/pci/pci_snap.h"
#include "devices/pit.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/pci.h"
#include "machine/board_int.h"
#include "machine/board_snap_ram.h"
#include "machine/board_snapshot.h"

static const char *const kind_names[BOARD_SNAP_KINDS] = {
	[BOARD_SNAP_SERIAL] = "serial", [BOARD_SNAP_RTC] = "rtc",
	[BOARD_SNAP_PIT] = "pit", [BOARD_SNAP_I8042] = "i8042",
	[BOARD_SNAP_VIRTIO_MMIO] = "virtio-mmio",
	[BOARD_SNAP_VIRTIO_PCI] = "virtio-pci",
	[BOARD_SNAP_PCI_HOST] = "pci-host",
	[BOARD_SNAP_PCI_BRIDGE] = "pci-bridge",
	[BOARD_SNAP_PCIE_PORT] = "pcie-root-port",
	[BOARD_SNAP_SHPC] = "pci-bridge-shpc",
};

void board_snap_mark(struct board *b, int kind, const char *name,
		     const char *id)
{
	if (!b->nitems || kind <= 0 || kind >= BOARD_SNAP_KINDS)
		return;
	struct board_item *it = &b->items[b->nitems - 1];
	it->snap_kind = kind;
	snprintf(it->snap_name, sizeof(it->snap_name), "%s %s%s%.20s",
		 kind_names[kind], name ? name : "", id && id[0] ? " id=" : "",
		 id ? id : "");
}

/* save (w) or load (r) one item by kind. */
static int board_snap_dispatch(int kind, void *o, struct snap_w *w,
			       struct snap_r *r)
{
	switch (kind) {
	case BOARD_SNAP_SERIAL: return w ? serial_save(o, w) : serial_load(o, r);
	case BOARD_SNAP_RTC: return w ? rtc_save(o, w) : rtc_load(o, r);
	case BOARD_SNAP_PIT: return w ? pit_save(o, w) : pit_load(o, r);
	case BOARD_SNAP_I8042: return w ? i8042_save(o, w) : i8042_load(o, r);
	case BOARD_SNAP_VIRTIO_MMIO:
		return w ? virtio_mmio_save(o, w) : virtio_mmio_load(o, r);
	case BOARD_SNAP_VIRTIO_PCI:
		return w ? virtio_pci_save(o, w) : virtio_pci_load(o, r);
	case BOARD_SNAP_PCI_HOST: return w ? pci_host_save(o, w) : pci_host_load(o, r);
	case BOARD_SNAP_PCI_BRIDGE:
		return w ? pci_bridge_save(o, w) : pci_bridge_load(o, r);
	case BOARD_SNAP_PCIE_PORT:
		return w ? pcie_port_save(o, w) : pcie_port_load(o, r);
	case BOARD_SNAP_SHPC: return w ? shpc_save(o, w) : shpc_load(o, r);
	}
	return -EINVAL;
}

static bool item_live(const struct board_item *it)
{
	return it->free && it->snap_kind > 0;
}

static void platform_save(struct board *b, struct snap_w *w)
{
	acpi_pm_save(&b->pm, w);
	snap_w_begin(w, "nvdimm", 1);
	snap_w_u64(w, "flushes", b->flusher.flushes);
	snap_w_u64(w, "flush_errors", b->flusher.errors);
	snap_w_u32(w, "nreadonly", b->nnvro);
	for (unsigned i = 0; i < b->nnvro; i++) {
		char f[24];
		snprintf(f, sizeof(f), "dropped%u", i);
		snap_w_u64(w, f, b->nvro[i].dropped);
	}
	snap_w_end(w);
}

static int platform_load(struct board *b, struct snap_r *r)
{
	uint64_t fl = 0, fe = 0, dropped[LAYOUT_MAX_NVDIMM] = { 0 };
	uint32_t n = 0;
	int rc = acpi_pm_load(&b->pm, r);
	if (rc)
		return rc;
	snap_r_begin(r, "nvdimm", 1, NULL);
	snap_r_u64(r, "flushes", &fl);
	snap_r_u64(r, "flush_errors", &fe);
	snap_r_u32(r, "nreadonly", &n);
	snap_r_check(r, n == b->nnvro, "nreadonly",
		     "another number of readonly=on NVDIMMs");
	for (unsigned i = 0; i < n && !snap_r_failed(r); i++) {
		char f[24];
		snprintf(f, sizeof(f), "dropped%u", i);
		snap_r_u64(r, f, &dropped[i]);
	}
	rc = snap_r_end(r);
	if (rc)
		return rc;
	b->flusher.flushes = fl;
	b->flusher.errors = fe;
	for (unsigned i = 0; i < n; i++)
		b->nvro[i].dropped = dropped[i];
	return 0;
}

/* The virtio device behind a virtio-mmio or virtio-pci item, or NULL. */
static struct vdev *item_vdev(const struct board_item *it)
{
	if (it->snap_kind == BOARD_SNAP_VIRTIO_MMIO)
		return virtio_mmio_vdev(it->obj);
	if (it->snap_kind == BOARD_SNAP_VIRTIO_PCI)
		return virtio_pci_vdev(it->obj);
	return NULL;
}

const char *board_save_error(const struct board *b)
{
	return b->snap_err[0] ? b->snap_err : NULL;
}

void board_snap_resume(struct board *b)
{
	for (unsigned i = 0; i < b->nitems; i++) {
		const struct board_item *it = &b->items[i];
		struct vdev *vd = item_live(it) ? item_vdev(it) : NULL;
		if (vd && vd->ops && vd->ops->resume)
			vd->ops->resume(vd);
	}
}

int board_save_state(struct board *b, struct snap_w *w)
{
	/* A doorbell the guest rang that no I/O thread took yet is part of
	 * this instant: the devices see it before they are written out
	 * (board_iothread.c).  Nothing to do in the simulator. */
	board_kicks_drain(b);
	unsigned n = 0;
	b->snap_err[0] = 0;
	for (unsigned i = 0; i < b->nitems; i++)
		n += item_live(&b->items[i]);
	snap_w_begin(w, "board", 1);
	snap_w_bytes(w, "machine", config_machine_name(b->cfg->machine.type),
		     strlen(config_machine_name(b->cfg->machine.type)));
	snap_w_time(w, "now_ns", clk_now_ns(b->m->clk));
	snap_w_u32(w, "ndevices", n);
	unsigned k = 0;
	for (unsigned i = 0; i < b->nitems; i++) {
		const struct board_item *it = &b->items[i];
		if (!item_live(it))
			continue;
		char f[24];
		snprintf(f, sizeof(f), "device%u", k++);
		snap_w_bytes(w, f, it->snap_name, strlen(it->snap_name));
	}
	snap_w_end(w);
	for (unsigned i = 0; i < b->nitems; i++) {
		const struct board_item *it = &b->items[i];
		if (!item_live(it))
			continue;
		int rc = board_snap_dispatch(it->snap_kind, it->obj, w, NULL);
		if (rc) {
			/* One line naming the device and why, for the caller's
			 * error (query-migrate's error-desc, the log). */
			const struct vdev *vd = item_vdev(it);
			snprintf(b->snap_err, sizeof(b->snap_err), "%s: %s", it->snap_name,
				 rc == -ENOTSUP ? "this device cannot be saved" :
				 vd && vd->save_error ? vd->save_error : strerror(-rc));
			return rc;
		}
	}
	platform_save(b, w);
	return 0;
}

/* The fingerprint: the same machine type and the same devices in the
 * same order, or one line naming the first difference. */
static int fingerprint_load(struct board *b, struct snap_r *r)
{
	const uint8_t *p = NULL;
	size_t len = 0;
	uint32_t n = 0;
	uint64_t then = 0;
	char why[160];
	const char *mach = config_machine_name(b->cfg->machine.type);
	snap_r_begin(r, "board", 1, NULL);
	snap_r_blob(r, "machine", &p, &len);
	snap_r_check(r, len == strlen(mach) && !memcmp(p, mach, len), "machine",
		     "saved from another machine type");
	/* Read unshifted: the shift is derived from it. */
	snap_r_u64(r, "now_ns", &then);
	snap_r_u32(r, "ndevices", &n);
	unsigned k = 0;
	for (unsigned i = 0; i < b->nitems && !snap_r_failed(r); i++) {
		const struct board_item *it = &b->items[i];
		if (!item_live(it))
			continue;
		char f[24];
		snprintf(f, sizeof(f), "device%u", k);
		if (k >= n) {
			snprintf(why, sizeof(why), "'%s' is here but was not saved",
				 it->snap_name);
			snap_r_check(r, false, f, why);
			break;
		}
		snap_r_blob(r, f, &p, &len);
		if (snap_r_failed(r))
			break;
		if (len != strlen(it->snap_name) || memcmp(p, it->snap_name, len)) {
			char saved[48];
			size_t m = len < sizeof(saved) - 1 ? len : sizeof(saved) - 1;
			for (size_t j = 0; j < m; j++)
				saved[j] = p[j] >= 0x20 && p[j] < 0x7f ? (char)p[j] : '?';
			saved[m] = '\0';
			snprintf(why, sizeof(why), "saved '%s', here '%s'", saved,
				 it->snap_name);
			snap_r_check(r, false, f, why);
		}
		k++;
	}
	if (!snap_r_failed(r) && k < n) {
		char f[24], saved[48];
		snprintf(f, sizeof(f), "device%u", k);
		snap_r_blob(r, f, &p, &len);
		if (!snap_r_failed(r)) {
			size_t m = len < sizeof(saved) - 1 ? len : sizeof(saved) - 1;
			for (size_t j = 0; j < m; j++)
				saved[j] = p[j] >= 0x20 && p[j] < 0x7f ? (char)p[j] : '?';
			saved[m] = '\0';
			snprintf(why, sizeof(why), "'%s' was saved but is not here "
				 "(%u saved devices missing)", saved, n - k);
			snap_r_check(r, false, f, why);
		}
	}
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	uint64_t now = clk_now_ns(b->m->clk);
	snap_r_set_time_shift(r, (int64_t)(now - then));
	return 0;
}

int board_load_state(struct board *b, struct snap_r *r)
{
	int rc = fingerprint_load(b, r);
	if (rc)
		return rc;
	for (unsigned i = 0; i < b->nitems; i++) {
		struct board_item *it = &b->items[i];
		if (!item_live(it))
			continue;
		rc = board_snap_dispatch(it->snap_kind, it->obj, NULL, r);
		if (rc)
			return snap_r_failed(r) ? snap_r_failed(r) : rc;
	}
	return platform_load(b, r);
}

/* A shared mapping of a file (memory-backend-file,share=on): with
 * ignore_shared its bytes stay in the file.  A memfd (shared with a
 * vhost-user backend) dies with the process, so it is saved. */
static bool region_in_file(const struct gm_region *g)
{
	if (!(g->flags & GM_SHARED) || g->fd < 0)
		return false;
	return fcntl(g->fd, F_GET_SEALS) < 0;
}

int board_save_ram(struct board *b, struct snap_w *w, bool ignore_shared)
{
	const struct gm *gm = b->m->gm;
	unsigned n = gm_region_count(gm);
	snap_w_begin(w, "ram", 1);
	snap_w_bool(w, "ignore_shared", ignore_shared);
	snap_w_u32(w, "nregions", n);
	for (unsigned i = 0; i < n; i++) {
		const struct gm_region *g = gm_region_at(gm, i);
		char f[24];
		snprintf(f, sizeof(f), "region%u", i);
		/* Read-only regions (readonly=on NVDIMMs, ROMs) are their
		 * file's: nothing the guest did is in them. */
		bool skip = (g->flags & GM_READONLY) ||
			    (ignore_shared && region_in_file(g));
		snap_w_begin(w, f, 1);
		snap_w_bytes(w, "name", g->name, strnlen(g->name, sizeof(g->name)));
		snap_w_u64(w, "gpa", g->gpa);
		snap_w_u64(w, "size", g->size);
		snap_w_u32(w, "flags", g->flags);
		snap_w_bool(w, "has_bytes", !skip);
		if (!skip)
			snapram_save_region(w, g);
		snap_w_end(w);
	}
	snap_w_end(w);
	return 0;
}

int board_load_ram(struct board *b, struct snap_r *r, bool ignore_shared)
{
	const struct gm *gm = b->m->gm;
	unsigned n = gm_region_count(gm);
	bool ign = false;
	uint32_t sn = 0;
	snap_r_begin(r, "ram", 1, NULL);
	snap_r_bool(r, "ignore_shared", &ign);
	snap_r_u32(r, "nregions", &sn);
	snap_r_check(r, ign == ignore_shared, "ignore_shared",
		     ign ? "saved with x-ignore-shared, restoring without it" :
			   "saved without x-ignore-shared, restoring with it");
	snap_r_check(r, sn == n, "nregions",
		     "another memory layout (-m, memory backends, NVDIMMs)");
	for (unsigned i = 0; i < n && !snap_r_failed(r); i++) {
		const struct gm_region *g = gm_region_at(gm, i);
		const uint8_t *name = NULL;
		size_t nlen = 0;
		uint64_t gpa = 0, size = 0;
		uint32_t flags = 0;
		bool has = false;
		char f[24];
		snprintf(f, sizeof(f), "region%u", i);
		snap_r_begin(r, f, 1, NULL);
		snap_r_blob(r, "name", &name, &nlen);
		snap_r_u64(r, "gpa", &gpa);
		snap_r_u64(r, "size", &size);
		snap_r_u32(r, "flags", &flags);
		snap_r_bool(r, "has_bytes", &has);
		snap_r_check(r, nlen == strnlen(g->name, sizeof(g->name)) &&
			     !memcmp(name, g->name, nlen), "name",
			     "another memory region here");
		snap_r_check(r, gpa == g->gpa && size == g->size, "size",
			     "the region's place or size differs");
		snap_r_check(r, flags == g->flags, "flags",
			     "the region's kind differs (shared, readonly, pmem)");
		bool skip = (g->flags & GM_READONLY) ||
			    (ignore_shared && region_in_file(g));
		snap_r_check(r, has == !skip, "has_bytes",
			     skip ? "bytes for a region that stays in its file" :
				    "no bytes for a region that needs them");
		if (has && !snap_r_failed(r))
			snapram_load_region(r, g);
		snap_r_end(r);
	}
	return snap_r_end(r);
}
