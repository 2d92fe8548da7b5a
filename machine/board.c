/* The board: the order devices are created in, and their teardown. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "core/gm.h"
#include "core/log.h"
#include "machine/board_int.h"
#include "devices/virtio/balloon.h"

int board_push(struct board *b, void (*free_fn)(void *), void *obj,
	       char *err, size_t errlen)
{
	if (b->nitems >= BOARD_MAX_ITEMS) {
		if (free_fn)
			free_fn(obj);
		snprintf(err, errlen, "vmm: too many devices (at most %d host objects)",
			 BOARD_MAX_ITEMS);
		return -1;
	}
	b->items[b->nitems].free = free_fn;
	b->items[b->nitems].obj = obj;
	b->items[b->nitems].snap_kind = 0;
	b->items[b->nitems].snap_name[0] = '\0';
	b->nitems++;
	return 0;
}

int board_register(struct board *b, struct bus *bus, uint64_t base,
		   uint64_t size, bus_access_fn fn, void *dev, const char *name,
		   char *err, size_t errlen)
{
	int r = bus_register(bus, base, size, fn, dev, name);
	if (r < 0) {
		if (r == -EEXIST)
			snprintf(err, errlen, "vmm: %s: %s 0x%llx-0x%llx overlaps "
				 "another device", name, bus_name(bus),
				 (unsigned long long)base,
				 (unsigned long long)(base + size - 1));
		else
			snprintf(err, errlen, "vmm: %s at 0x%llx: cannot claim %s "
				 "range: %s", name, (unsigned long long)base,
				 bus_name(bus), strerror(-r));
		return -1;
	}
	b->ndevices++;
	return 0;
}

int board_backend(struct board *b, int kind, const char *id, void *opened,
		  void **out, char *err, size_t errlen)
{
	*out = opened;
	if (!b->host->backend)
		return 0;
	return b->host->backend(b->host->backend_opaque, kind, id, opened, out,
				err, errlen);
}

int64_t board_rtc_base(const struct machine_config *cfg,
		       const struct board_host *host)
{
	switch (cfg->rtc.base) {
	case CFG_RTC_DATE:
		return cfg->rtc.date_epoch;
	case CFG_RTC_LOCALTIME:
		/* The MC146818 holds local time: what a PC BIOS keeps there
		 * for an OS that expects it (Windows). */
		return host->wall_epoch + host->utc_offset;
	case CFG_RTC_UTC:
	default:
		return host->wall_epoch;
	}
}

int board_build(struct machine *m, const struct machine_config *cfg,
		const struct layout *l, const struct board_host *host,
		struct board **out, char *err, size_t errlen)
{
	static const struct board_host no_host;  /* const: no mutable state */
	*out = NULL;
	struct board *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "vmm: out of memory");
		return -1;
	}
	b->m = m;
	b->cfg = cfg;
	b->l = l;
	b->host = host ? host : &no_host;
	if (b->host->no_host_paths && !b->host->backend_replace) {
		/* Without stand-ins the board would open the named files. */
		snprintf(err, errlen, "vmm: no_host_paths needs backend_replace");
		free(b);
		return -1;
	}
	if (board_iothreads_create(b, err, errlen) < 0 ||
	    board_platform(b, err, errlen) < 0)
		goto fail;
	/* NVDIMMs become gm regions now, before the backend maps memory
	 * slots and the ACPI builder describes them. */
	if (board_nvdimm(b, err, errlen) < 0 || board_mem(b, err, errlen) < 0 ||
	    board_virtio(b, err, errlen) < 0)
		goto fail;
	/* In the simulator nothing is attached to them: they stay idle. */
	if (b->host->ioeventfd && board_iothreads_start(b, err, errlen) < 0)
		goto fail;
	*out = b;
	return 0;
fail:;
	int rc = b->config_error ? -2 : -1;
	board_free(b);
	return rc;
}

struct board *board_new(struct machine *m, const struct machine_config *cfg,
			const struct layout *l, const struct board_host *host,
			char *err, size_t errlen)
{
	struct board *b;
	board_build(m, cfg, l, host, &b, err, errlen);
	return b;
}

void board_shutdown(struct board *b)
{
	/* share=on nvdimms: guest writes reach the file on every way out. */
	if (b)
		board_nvdimm_shutdown(b);
}

void board_free(struct board *b)
{
	if (!b)
		return;
	board_iothreads_stop(b);
	while (b->nitems > 0) {
		struct board_item *it = &b->items[--b->nitems];
		if (it->free)
			it->free(it->obj);
	}
	free(b);
}

struct balloon *board_balloon(const struct board *b)
{
	return b ? b->balloon : NULL;
}

/* Bracket a management-plane call for record/replay (board_host.call). */
static void board_call(struct board *b, int what, uint64_t arg, bool begin)
{
	if (b->host->call)
		b->host->call(b->host->call_opaque, what, arg, begin);
}

void board_power_button(struct board *b)
{
	if (!b)
		return;
	board_call(b, BOARD_CALL_POWER_BUTTON, 0, true);
	acpi_pm_power_button(&b->pm);
	board_call(b, BOARD_CALL_POWER_BUTTON, 0, false);
}

int board_balloon_set_target(struct board *b, uint32_t pages)
{
	if (!b || !b->balloon)
		return -ENODEV;
	board_call(b, BOARD_CALL_BALLOON_TARGET, pages, true);
	balloon_set_target(b->balloon, pages);
	board_call(b, BOARD_CALL_BALLOON_TARGET, pages, false);
	return 0;
}

unsigned board_device_count(const struct board *b)
{
	return b ? b->ndevices : 0;
}
