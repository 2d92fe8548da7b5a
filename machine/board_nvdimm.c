/* NVDIMMs on the board: the backing files become gm regions
 * (nvdimm_map_all), the flush-hint pages the NFIT points at are claimed on
 * the MMIO bus, a readonly=on NVDIMM's range catches the guest writes its
 * read-only memory slot turns into MMIO exits, and shared mappings are
 * written back when the machine ends. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/bus.h"
#include "core/gm.h"
#include "core/log.h"
#include "machine/board_int.h"
#include "devices/nvdimm.h"
#include "machine/nvdimm_map.h"

/* A write to a KVM_MEM_READONLY slot leaves KVM_RUN as an MMIO exit at the
 * written address (Documentation/virt/kvm/api.rst, KVM_SET_USER_MEMORY_REGION);
 * QEMU drops it the same way for a read-only memory region.  The first one
 * is logged, the rest only counted: a guest looping on writes must not flood
 * the log.  Reads normally never exit; if one does (an instruction KVM
 * emulates), it is served from the mapping. */
static int board_nvro_access(void *dev, uint64_t offset, void *data,
			     unsigned len, bool is_write)
{
	struct board_nvro *ro = dev;
	if (!is_write) {
		if (gm_read(ro->gm, ro->base + offset, data, len) < 0)
			memset(data, 0xff, len);
		return 0;
	}
	if (ro->dropped++ == 0)
		log_warn(ro->log, "nvdimm %s: guest write of %u byte(s) at 0x%"
			 PRIx64 " to read-only memory dropped (readonly=on; "
			 "further writes are dropped without a message)", ro->id,
			 len, ro->base + offset);
	return 0;
}

/* The NFIT is built (and so points at the flush hints) only with
 * nvdimm=on and without pmem-legacy=on (devices/acpi/acpi.c). */
static bool board_nvdimm_nfit(const struct machine_config *cfg)
{
	return cfg->machine.nvdimm && !cfg->machine.pmem_legacy;
}

int board_nvdimm(struct board *b, char *err, size_t errlen)
{
	const struct machine_config *cfg = b->cfg;
	struct machine *m = b->m;
	if (!cfg->machine.nvdimm && !b->l->devmem_size)
		return 0;
	/* NVDIMMs become gm regions now, before the backend maps memory
	 * slots and the ACPI builder describes them.  A configuration from a
	 * trace gets anonymous memory: its mem-paths name no file we were
	 * told to open. */
	int rc = b->host->no_host_paths ?
		 nvdimm_map_anon(m->gm, cfg, b->l, err, errlen) :
		 nvdimm_map_all(m->gm, cfg, b->l, m->log, err, errlen);
	if (rc < 0) {
		b->config_error = rc == -2;
		return -1;
	}
	b->nvdimms_mapped = true;

	struct nvdimm_desc nv[LAYOUT_MAX_NVDIMM];
	int n = nvdimm_describe(cfg, b->l, nv, err, errlen);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		b->nshared += nv[i].share && !nv[i].readonly;
		if (!nv[i].readonly)
			continue;
		struct board_nvro *ro = &b->nvro[b->nnvro];
		*ro = (struct board_nvro){
			.gm = m->gm, .log = m->log, .id = nv[i].id,
			.base = nv[i].base,
		};
		if (board_register(b, m->mmio, nv[i].base, nv[i].size,
				   board_nvro_access, ro, "nvdimm-readonly",
				   err, errlen) < 0)
			return -1;
		b->nnvro++;
	}
	/* Flush hints (ACPI 6.4 §5.2.25.8): page i belongs to NVDIMM i, in
	 * the order the NFIT lists them (devices/acpi/nfit.c). */
	if (n > 0 && board_nvdimm_nfit(cfg)) {
		nvdimm_flusher_init(&b->flusher, m->gm, m->log);
		if (board_register(b, m->mmio, NVDIMM_FLUSH_BASE,
				   (uint64_t)n * NVDIMM_FLUSH_STRIDE,
				   nvdimm_flush_access, &b->flusher,
				   "nvdimm-flush", err, errlen) < 0)
			return -1;
		b->flush_hints = true;
	}
	return 0;
}

void board_nvdimm_shutdown(struct board *b)
{
	if (!b->nvdimms_mapped)
		return;
	/* share=on: guest writes reach the file on every way the VM ends
	 * (msync, so they are on disk, not only in the page cache). */
	int rc = nvdimm_flush(b->m->gm);
	if (rc < 0)
		log_err(b->m->log, "nvdimm: writing shared mappings back at exit "
			"(msync) failed: %s", strerror(-rc));
	else if (b->nshared)
		log_info(b->m->log, "nvdimm: %u shared mapping(s) written back at "
			 "exit", b->nshared);
	if (b->flush_hints)
		log_info(b->m->log, "nvdimm: %" PRIu64 " guest flush(es) through "
			 "the flush hints, %" PRIu64 " failed", b->flusher.flushes,
			 b->flusher.errors);
	for (unsigned i = 0; i < b->nnvro; i++)
		if (b->nvro[i].dropped)
			log_info(b->m->log, "nvdimm %s: %" PRIu64 " guest write(s) "
				 "to read-only memory dropped", b->nvro[i].id,
				 b->nvro[i].dropped);
}

bool board_nvdimm_ro_dropped(const struct board *b, uint64_t base,
			     uint64_t *dropped)
{
	for (unsigned i = 0; i < b->nnvro; i++)
		if (b->nvro[i].base == base) {
			*dropped = b->nvro[i].dropped;
			return true;
		}
	return false;
}

bool board_nvdimm_flushes(const struct board *b, uint64_t *flushes,
			  uint64_t *errors)
{
	if (!b->flush_hints)
		return false;
	*flushes = b->flusher.flushes;
	*errors = b->flusher.errors;
	return true;
}
