/* What a KVM migration stream holds, built for a save and loaded for a
 * restore: the "vm" section (RAM size, vCPU slots, ignore-shared), the
 * board's devices and each vCPU (docs/migration.md).  kvm_migrate.c runs
 * the save and restore over QMP; kvm_mig_io.c moves the bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clk.h"
#include "core/evloop.h"
#include "core/gm.h"
#include "core/log.h"
#include "core/qmp.h"
#include "core/snapshot.h"
#include "core/spawn.h"
#include "core/trace.h"
#include "machine/board_snapshot.h"
#include "kvm/kvm_int.h"
#include "kvm/kvm_migrate.h"
#include "kvm/kvm_mig_int.h"
#include "kvm/kvm_snapshot.h"

/* Version 2: the hot-plugged vCPU slots (kvm_cpuhp_snap_save). */
#define KVM_MIG_VM_VERSION 2

/* The vCPUs a stream holds: every present slot in index order, the boot
 * set and the hot-plugged ones (which "vm" lists, so the restoring vmm
 * plugs them before their state loads; docs/migration.md).  Boot vCPUs
 * cannot be unplugged (acpi_cpuhp_request_unplug's -EPERM), so a boot
 * slot missing is a bug, refused with its number. */
static int kvm_mig_check_cpus(const struct kvm_machine *km, char *err, size_t errlen)
{
	unsigned boot = km->cfg->smp.cpus ? km->cfg->smp.cpus : 1;
	for (unsigned i = 0; i < boot && i < kvm_cpus_count(km->cpus); i++) {
		if (!kvm_cpus_present(km->cpus, i)) {
			snprintf(err, errlen, "boot vCPU %u is gone: cannot be saved", i);
			return -1;
		}
	}
	return 0;
}

/* Everything, in the order of kvm/kvm_migrate.h.  Machine lock held,
 * vCPUs parked.  0, or -1 with err. */
int kvm_mig_build_stream(struct kvm_migrate *m, char *err, size_t errlen)
{
	struct kvm_machine *km = m->km;
	bool ignore_shared = m->caps & QMP_MIG_CAP_IGNORE_SHARED;
	unsigned boot = km->cfg->smp.cpus ? km->cfg->smp.cpus : 1;
	if (kvm_mig_check_cpus(km, err, errlen) < 0)
		return -1;
	struct snap_w *w = snap_w_new();
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snap_w_begin(w, KVM_MIG_VM_SECTION, KVM_MIG_VM_VERSION);
	snap_w_u32(w, "ncpus", boot);
	snap_w_u64(w, "ram_bytes", kvm_mig_ram_bytes(km));
	snap_w_u8(w, "machine", (uint8_t)km->cfg->machine.type);
	snap_w_u8(w, "ignore_shared", ignore_shared);
	/* Whether the guest was running when migrate came: a restored VM
	 * runs only if it was (QEMU's global_state), so a template that
	 * was stopped first stays stopped until cont. */
	snap_w_u8(w, "running", m->we_paused);
	kvm_cpuhp_snap_save(km, w);
	snap_w_end(w);
	/* The save's clock read is the host's, no device input: a trace
	 * of the saved VM goes on unchanged (trace_rec_pause). */
	trace_rec_pause(km->trace, true);
	int r = board_save_state(km->board, w);
	trace_rec_pause(km->trace, false);
	if (r < 0) {
		const char *why = board_save_error(km->board);
		snprintf(err, errlen, "saving the devices: %s", why ? why : strerror(-r));
		goto fail;
	}
	r = board_save_ram(km->board, w, ignore_shared);
	if (r < 0) {
		snprintf(err, errlen, "saving guest RAM: %s", strerror(-r));
		goto fail;
	}
	for (unsigned i = 0; i < kvm_cpus_count(km->cpus); i++) {
		if (!kvm_cpus_present(km->cpus, i))
			continue;
		r = kvm_snap_cpu_save(kvm_cpus_fd(km->cpus, i), &km->sys, i,
				      kvm_cpus_apic_id(km->cpus, i), w, err, errlen);
		if (r < 0)
			goto fail;
	}
	if (kvm_snap_vm_save(&km->vm, w, err, errlen) < 0)
		goto fail;
	const uint8_t *buf;
	size_t len;
	r = snap_w_finish(w, &buf, &len);
	if (r < 0) {
		snprintf(err, errlen, "building the stream: %s", strerror(-r));
		goto fail;
	}
	m->w = w;
	m->buf = buf;
	m->len = len;
	/* Guest RAM is nearly all of it (shared RAM left in its file is
	 * not in it at all): query-migrate's page counts. */
	m->ram_stream = len < m->ram_total ? len : m->ram_total;
	return 0;
fail:
	snap_w_free(w);
	return -1;
}

/* The stream's "vm" section against this machine. */
static int kvm_mig_check_vm(struct kvm_migrate *m, struct snap_r *r, bool *ignore_shared)
{
	struct kvm_machine *km = m->km;
	uint32_t ncpus = 0;
	uint64_t ram = 0;
	uint8_t machine = 0;
	bool ign = false;
	uint32_t ver = 1;
	snap_r_begin(r, KVM_MIG_VM_SECTION, KVM_MIG_VM_VERSION, &ver);
	snap_r_u32(r, "ncpus", &ncpus);
	snap_r_u64(r, "ram_bytes", &ram);
	snap_r_u8(r, "machine", &machine);
	snap_r_bool(r, "ignore_shared", &ign);
	snap_r_bool(r, "running", &m->src_running);
	if (snap_r_failed(r))
		return -1;
	unsigned boot = km->cfg->smp.cpus ? km->cfg->smp.cpus : 1;
	if (snap_r_check(r, ncpus == boot, "ncpus",
			 "the saved VM had another vCPU count (-smp)") < 0 ||
	    snap_r_check(r, ram == kvm_mig_ram_bytes(km), "ram_bytes",
			 "the saved VM had another RAM size (-m)") < 0 ||
	    snap_r_check(r, machine == (uint8_t)km->cfg->machine.type, "machine",
			 "the saved VM was another machine type (-machine)") < 0)
		return -1;
	/* Before version 2 only VMs without hot-plugged vCPUs were saved. */
	if ((ver >= 2 && kvm_cpuhp_snap_load(km, r) < 0) || snap_r_end(r) < 0)
		return -1;
	*ignore_shared = ign;
	return 0;
}

/* Under -trace-record, the board's sections of the stream (they follow
 * the "vm" section, "ram" follows them) become a stream of their own,
 * and the board is loaded from it inside a state record: a replay loads
 * the very same bytes into its rebuilt board there and checks the load's
 * effects (clock read for the time shift, timers armed and cancelled,
 * interrupt lines) as the recorder saw them.  The vCPU, irqchip and RAM
 * state that follow are no device model's and are not recorded: a
 * replay serves device reads of guest memory from the trace.  r stands
 * after the "vm" section and is left after the board's sections. */
static int kvm_mig_load_board_traced(struct kvm_migrate *m, struct trace_rec *tr,
				     const uint8_t *buf, size_t len,
				     struct snap_r *r, char *err, size_t errlen)
{
	size_t from = snap_r_offset(r);
	while (!snap_r_failed(r) && !snap_r_next_is(r, "ram"))
		if (snap_r_skip(r) < 0)
			break;
	if (snap_r_failed(r)) {
		snprintf(err, errlen, "%s", snap_r_error(r));
		return -1;
	}
	uint8_t *part;
	size_t plen;
	if (snap_stream_slice(buf, len, from, snap_r_offset(r), &part, &plen) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	struct snap_r *br;
	char e[SNAP_ERR_LEN];
	int rc = snap_r_open(&br, part, plen, e, sizeof(e));
	if (rc < 0) {
		snprintf(err, errlen, "%s", e);
		free(part);
		return -1;
	}
	trace_rec_pause(tr, false);
	trace_rec_state(tr, part, plen, true);
	rc = board_load_state(m->km->board, br);
	if (rc == 0)
		rc = snap_r_done(br);
	trace_rec_state(tr, NULL, 0, false);
	trace_rec_pause(tr, true);
	if (rc < 0)
		snprintf(err, errlen, "%s", snap_r_failed(br) ? snap_r_error(br) :
			 strerror(-rc));
	snap_r_free(br);
	free(part);
	return rc < 0 ? -1 : 0;
}

/* Load a whole stream into this boot's machine.  Lock held, no vCPU has
 * run.  0, or -1 with err (one line naming the section and field). */
int kvm_mig_load_stream(struct kvm_migrate *m, const uint8_t *buf,
			size_t len, char *err, size_t errlen)
{
	struct kvm_machine *km = m->km;
	/* QEMU's stream (migration/savevm.c QEMU_VM_FILE_MAGIC). */
	if (len >= 4 && memcmp(buf, "QEVM", 4) == 0) {
		snprintf(err, errlen, "this is a QEMU migration stream (QEVM); vmm "
			 "reads only its own format (VMMSTATE, docs/snapshot.md)");
		return -1;
	}
	struct snap_r *r;
	char e[SNAP_ERR_LEN];
	if (snap_r_open(&r, buf, len, e, sizeof(e)) < 0) {
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	bool ign = false;
	/* Recording: the vCPU, irqchip and RAM state are no device input. */
	struct trace_rec *tr = km->trace;
	trace_rec_pause(tr, true);
	int rc = kvm_mig_check_vm(m, r, &ign);
	bool board_err = false;
	if (rc == 0 && tr) {
		rc = kvm_mig_load_board_traced(m, tr, buf, len, r, err, errlen);
		board_err = rc < 0;
	} else if (rc == 0) {
		rc = board_load_state(km->board, r);
	}
	if (rc == 0)
		rc = kvm_cpuhp_snap_agree(km, r);
	if (rc == 0)
		kvm_memhp_restored(km);
	if (rc == 0)
		rc = board_load_ram(km->board, r, ign);
	for (unsigned i = 0; rc == 0 && i < kvm_cpus_count(km->cpus); i++)
		if (kvm_cpus_present(km->cpus, i))
			rc = kvm_snap_cpu_load(kvm_cpus_fd(km->cpus, i), &km->sys, i,
				       kvm_cpus_apic_id(km->cpus, i), r, km->m.log);
	if (rc == 0)
		rc = kvm_snap_vm_load(&km->vm, r);
	if (rc == 0)
		rc = snap_r_done(r);
	trace_rec_pause(tr, false);
	if (rc < 0 && !board_err)
		snprintf(err, errlen, "%s", snap_r_failed(r) ? snap_r_error(r) :
			 strerror(-rc));
	snap_r_free(r);
	return rc < 0 ? -1 : 0;
}
