/* Saving a KVM machine over QMP migrate, restoring it with -incoming
 * (kvm/kvm_migrate.h says how; kvm_mig_io.c moves the bytes). */
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
/* A save waits this long for the vCPUs to park (each is out of KVM_RUN
 * after one exit; a vCPU blocked in a device for longer is a bug). */
#define KVM_MIG_PARK_POLL_NS 1000000ull
#define KVM_MIG_PARK_POLLS 5000u

uint64_t kvm_mig_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t kvm_mig_ram_bytes(const struct kvm_machine *km)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < km->layout.nram; i++)
		n += km->layout.ram[i].size;
	return n;
}

void kvm_mig_event(struct kvm_migrate *m, const char *status)
{
	m->status = status;
	if (m->km->qmp && (m->caps & QMP_MIG_CAP_EVENTS)) {
		char data[64];
		snprintf(data, sizeof(data), "{\"status\": \"%s\"}", status);
		qmp_server_emit_event(m->km->qmp, "MIGRATION", data);
	}
}

static void kvm_mig_pass(struct kvm_migrate *m, unsigned pass)
{
	if (m->km->qmp && (m->caps & QMP_MIG_CAP_EVENTS)) {
		char data[32];
		snprintf(data, sizeof(data), "{\"pass\": %u}", pass);
		qmp_server_emit_event(m->km->qmp, "MIGRATION_PASS", data);
	}
}

/* ---- the stream ------------------------------------------------------- */

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
static int kvm_mig_build_stream(struct kvm_migrate *m, char *err, size_t errlen)
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
static int kvm_mig_load_stream(struct kvm_migrate *m, const uint8_t *buf,
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

/* ---- saving ----------------------------------------------------------- */

static void kvm_mig_fail(struct kvm_migrate *m, const char *why)
{
	snprintf(m->error, sizeof(m->error), "%s", why);
	log_err(m->km->m.log, "vmm: migration failed: %s", why);
	m->t_end = kvm_mig_now_ns();
	kvm_mig_event(m, "failed");
	kvm_mig_release_stream(m);
	/* No stream came of it: what the save stopped (vhost-user rings)
	 * goes on at once, whether or not the vCPUs do. */
	if (m->km->board && !m->km->ended)
		board_snap_resume(m->km->board);
	/* QEMU restarts a VM whose migration failed if it was running. */
	if (m->we_paused && m->km->cpus && !m->km->ended) {
		kvm_cpus_resume(m->km->cpus);
		if (m->km->qmp)
			qmp_server_emit_event(m->km->qmp, "RESUME", NULL);
	}
	m->we_paused = false;
}

/* Writer thread done (loop thread, lock held). */
void kvm_mig_save_done(struct kvm_migrate *m, int rc, const char *why)
{
	if (rc < 0) {
		kvm_mig_fail(m, why);
		return;
	}
	m->t_end = kvm_mig_now_ns();
	kvm_mig_pass(m, 2);
	kvm_mig_event(m, "completed");
	kvm_mig_release_stream(m);
	m->postmigrate = true;
	m->we_paused = false;
	log_info(m->km->m.log, "vmm: migration completed: %zu bytes in %llu ms",
		 m->len_done, (unsigned long long)((m->t_end - m->t_start) / 1000000));
}

/* Timer on the loop: are the vCPUs parked yet?  Then build and write. */
static void kvm_mig_poll(void *arg, uint64_t now_ns)
{
	struct kvm_migrate *m = arg;
	struct kvm_machine *km = m->km;
	if (m->status == NULL || strcmp(m->status, "setup"))
		return;
	if (!km->cpus || km->ended) {
		kvm_mig_fail(m, "the machine stopped during the migration");
		return;
	}
	if (!kvm_cpus_quiesced(km->cpus)) {
		if (++m->polls > KVM_MIG_PARK_POLLS) {
			kvm_mig_fail(m, "the vCPUs did not stop");
			return;
		}
		clk_timer_arm(evloop_clk(km->m.loop), &m->poll, now_ns + KVM_MIG_PARK_POLL_NS);
		return;
	}
	char err[256];
	if (kvm_mig_build_stream(m, err, sizeof(err)) < 0) {
		kvm_mig_fail(m, err);
		return;
	}
	m->t_setup = kvm_mig_now_ns();
	kvm_mig_pass(m, 1);
	kvm_mig_event(m, "active");
	if (kvm_mig_writer_start(m, err, sizeof(err)) < 0)
		kvm_mig_fail(m, err);
}

/* QMP migrate (loop thread, lock held). */
static int kvm_mig_qmp_migrate(void *opaque, const char *uri, struct qmp_err *e)
{
	struct kvm_machine *km = opaque;
	struct kvm_migrate *m = km->mig;
	if (m->status && (!strcmp(m->status, "setup") || !strcmp(m->status, "active"))) {
		snprintf(e->desc, sizeof(e->desc), "There's a migration process in progress");
		return -1;
	}
	if (m->postmigrate) {
		snprintf(e->desc, sizeof(e->desc), "Can't migrate the vm that was paused "
			 "due to previous migration");
		return -1;
	}
	if (m->incoming_state != KVM_MIG_IN_NONE) {
		snprintf(e->desc, sizeof(e->desc), "Guest is waiting for an incoming "
			 "migration");
		return -1;
	}
	if (!km->cpus || !km->board || km->ended) {
		snprintf(e->desc, sizeof(e->desc), "The machine is not running");
		return -1;
	}
	if (!m->spawn) {
		snprintf(e->desc, sizeof(e->desc), "migration is not available "
			 "(the helper process could not start)");
		return -1;
	}
	snprintf(m->uri, sizeof(m->uri), "%s", uri);
	m->error[0] = 0;
	m->polls = 0;
	m->len_done = 0;
	m->ram_stream = 0;
	m->t_start = kvm_mig_now_ns();
	m->t_setup = m->t_end = 0;
	m->ram_total = kvm_mig_ram_bytes(km);
	kvm_mig_event(m, "setup");
	/* QEMU 7.2 knows tcp:, unix:, fd:, exec: and rdma:; vmm writes
	 * exec: and file: (QEMU 8.2's).  QEMU refuses the others once its
	 * state is "setup", so a client sees setup then failed, as here. */
	if ((strncmp(uri, "exec:", 5) && strncmp(uri, "file:", 5)) || !uri[5]) {
		m->t_end = m->t_paused = kvm_mig_now_ns();
		kvm_mig_event(m, "failed");
		snprintf(e->desc, sizeof(e->desc), "Parameter 'uri' expects a valid "
			 "migration protocol");
		return -1;
	}
	/* A running VM stops for the save (QEMU stops it for the final
	 * pass; with one pass, that is the whole save). */
	m->we_paused = !km->prelaunch && !kvm_cpus_paused(km->cpus);
	if (m->we_paused) {
		kvm_cpus_pause(km->cpus);
		if (km->qmp)
			qmp_server_emit_event(km->qmp, "STOP", NULL);
	}
	m->t_paused = kvm_mig_now_ns();
	clk_timer_arm(evloop_clk(km->m.loop), &m->poll, clk_now_ns(evloop_clk(km->m.loop)));
	return 0;
}

static void kvm_mig_qmp_query(void *opaque, struct qmp_migrate_info *out)
{
	struct kvm_machine *km = opaque;
	struct kvm_migrate *m = km->mig;
	memset(out, 0, sizeof(*out));
	out->status = m->status;
	if (!m->status)
		return;
	uint64_t now = kvm_mig_now_ns();
	uint64_t end = m->t_end ? m->t_end : now;
	out->total_ms = (end - m->t_start) / 1000000;
	out->setup_ms = ((m->t_setup ? m->t_setup : end) - m->t_start) / 1000000;
	out->downtime_ms = (end - m->t_paused) / 1000000;
	out->ram_total = m->ram_total;
	size_t done = m->t_end ? m->len_done : kvm_mig_written(m);
	out->ram_transferred = done;
	out->ram_remaining = m->t_end ? 0 : (m->len > done ? m->len - done : 0);
	out->ram_normal_pages = m->ram_stream / 4096;
	out->ram_duplicate_pages = m->ram_total > m->ram_stream ?
				   (m->ram_total - m->ram_stream) / 4096 : 0;
	uint64_t xfer_ns = end - (m->t_setup ? m->t_setup : end);
	out->mbps = xfer_ns ? (double)done * 8.0 / ((double)xfer_ns / 1e9) / 1e6 : 0;
	snprintf(out->error, sizeof(out->error), "%s", m->error);
}

static unsigned kvm_mig_qmp_caps(void *opaque)
{
	struct kvm_machine *km = opaque;
	return km->mig->caps;
}

static int kvm_mig_qmp_set_caps(void *opaque, unsigned caps, struct qmp_err *e)
{
	struct kvm_machine *km = opaque;
	struct kvm_migrate *m = km->mig;
	if (m->status && (!strcmp(m->status, "setup") || !strcmp(m->status, "active"))) {
		snprintf(e->desc, sizeof(e->desc), "There's a migration process in progress");
		return -1;
	}
	m->caps = caps;
	return 0;
}

/* ---- restoring -------------------------------------------------------- */

/* Reader thread done (loop thread, lock held): load, then run. */
void kvm_mig_load_done(struct kvm_migrate *m, int rc, const char *why)
{
	struct kvm_machine *km = m->km;
	char err[320];
	if (rc == 0 && (!km->board || km->ended))
		return;
	if (rc == 0 && kvm_mig_load_stream(m, m->in_buf, m->in_len, err, sizeof(err)) < 0)
		rc = -1;
	else if (rc < 0)
		snprintf(err, sizeof(err), "%s", why);
	free(m->in_buf);
	m->in_buf = NULL;
	m->t_end = kvm_mig_now_ns();
	m->incoming_state = KVM_MIG_IN_DONE;
	if (rc < 0) {
		/* Half a state must never run: the VMM ends, as QEMU's
		 * "load of migration failed" does. */
		snprintf(m->error, sizeof(m->error), "%.250s", err);
		log_err(km->m.log, "vmm: -incoming: %s", err);
		kvm_mig_event(m, "failed");
		kvm_machine_request(km, MACHINE_ERROR, 1);
		return;
	}
	/* Every queue an I/O thread serves is kicked once: a stream from a
	 * vmm that did not drain its doorbells before saving may hold a
	 * ring the device was never told about (board_iothread.c). */
	unsigned kicks = board_kicks_replay(km->board);
	kvm_mig_event(m, "completed");
	if (kicks)
		log_debug(km->m.log, "vmm: -incoming: %u queue doorbell(s) rung once", kicks);
	log_info(km->m.log, "vmm: -incoming: restored %zu bytes in %llu ms", m->in_len,
		 (unsigned long long)((m->t_end - m->t_start) / 1000000));
	m->restoring = false;
	/* -S holds it (prelaunch); otherwise it runs if the saved VM was
	 * running, and waits for cont ("paused") if it had been stopped. */
	km->prelaunch = !m->autostart;
	if (m->autostart && m->src_running) {
		board_snap_resume(km->board);
		kvm_cpus_resume(km->cpus);
		if (km->qmp)
			qmp_server_emit_event(km->qmp, "RESUME", NULL);
	}
}

static int kvm_mig_incoming_start(struct kvm_migrate *m, const char *uri,
				  char *err, size_t errlen)
{
	snprintf(m->uri, sizeof(m->uri), "%s", uri);
	m->t_start = kvm_mig_now_ns();
	m->incoming_state = KVM_MIG_IN_READING;
	kvm_mig_event(m, "active");
	if (kvm_mig_reader_start(m, err, errlen) < 0) {
		m->incoming_state = KVM_MIG_IN_DONE;
		return -1;
	}
	return 0;
}

static int kvm_mig_qmp_incoming(void *opaque, const char *uri, struct qmp_err *e)
{
	struct kvm_machine *km = opaque;
	struct kvm_migrate *m = km->mig;
	if (m->incoming_state == KVM_MIG_IN_NONE) {
		snprintf(e->desc, sizeof(e->desc), "'-incoming' was not specified on "
			 "the command line");
		return -1;
	}
	if (m->incoming_state != KVM_MIG_IN_DEFER) {
		snprintf(e->desc, sizeof(e->desc), "The incoming migration has already "
			 "been started");
		return -1;
	}
	if (strncmp(uri, "exec:", 5) && strncmp(uri, "file:", 5)) {
		snprintf(e->desc, sizeof(e->desc), "unknown migration protocol: %.100s", uri);
		return -1;
	}
	if (!uri[5]) {
		snprintf(e->desc, sizeof(e->desc), "migrate-incoming: '%.100s' names no "
			 "%s", uri, uri[0] == 'e' ? "command" : "file");
		return -1;
	}
	char err[256];
	if (kvm_mig_incoming_start(m, uri, err, sizeof(err)) < 0) {
		snprintf(e->desc, sizeof(e->desc), "%s", err);
		kvm_mig_load_done(m, -1, err);
		return -1;
	}
	return 0;
}

int kvm_mig_incoming_begin(struct kvm_migrate *m, char *err, size_t errlen)
{
	const struct machine_config *cfg = m->km->cfg;
	m->autostart = !cfg->start_paused;
	if (cfg->incoming == CFG_INCOMING_DEFER) {
		m->incoming_state = KVM_MIG_IN_DEFER;
		return 0;
	}
	char uri[CFG_INCOMING_MAX + 8];
	snprintf(uri, sizeof(uri), "%s:%s", cfg->incoming == CFG_INCOMING_EXEC ?
		 "exec" : "file", cfg->incoming_arg);
	if (kvm_mig_incoming_start(m, uri, err, errlen) < 0)
		return -1;
	return 0;
}

bool kvm_mig_restoring(const struct kvm_migrate *m)
{
	return m && m->restoring;
}

const char *kvm_mig_runstate(const struct kvm_migrate *m)
{
	if (!m)
		return NULL;
	if (m->incoming_state == KVM_MIG_IN_DEFER || m->incoming_state == KVM_MIG_IN_READING)
		return "inmigrate";
	if (m->status && (!strcmp(m->status, "setup") || !strcmp(m->status, "active")) &&
	    m->we_paused)
		return "finish-migrate";
	if (m->postmigrate)
		return "postmigrate";
	return NULL;
}

bool kvm_mig_cont(struct kvm_migrate *m)
{
	if (!m)
		return false;
	if (m->incoming_state == KVM_MIG_IN_DEFER || m->incoming_state == KVM_MIG_IN_READING) {
		m->autostart = true;
		return true;
	}
	m->postmigrate = false;
	return false;
}

void kvm_mig_ops(struct kvm_migrate *m, struct qmp_machine_ops *ops)
{
	(void)m;
	ops->migrate = kvm_mig_qmp_migrate;
	ops->migrate_incoming = kvm_mig_qmp_incoming;
	ops->migrate_query = kvm_mig_qmp_query;
	ops->migrate_caps = kvm_mig_qmp_caps;
	ops->migrate_set_caps = kvm_mig_qmp_set_caps;
}

struct kvm_migrate *kvm_mig_new(struct kvm_machine *km,
				const struct machine_config *cfg, char *err,
				size_t errlen)
{
	struct kvm_migrate *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "vmm: out of memory");
		return NULL;
	}
	m->km = km;
	m->efd = m->cancel_fd = -1;
	m->restoring = cfg->incoming != CFG_INCOMING_NONE;
	clk_timer_init(&m->poll, kvm_mig_poll, m);
	if (!cfg->qmp_path[0] && !cfg->qmp_has_fd && cfg->incoming == CFG_INCOMING_NONE)
		return m;   /* nothing could ask for a migration */
	m->spawn = spawn_new(err, errlen);
	if (!m->spawn || kvm_mig_io_init(m, err, errlen) < 0) {
		kvm_mig_free(m);
		return NULL;
	}
	return m;
}

void kvm_mig_unbuild(struct kvm_migrate *m)
{
	if (!m)
		return;
	if (m->km->m.loop)
		clk_timer_cancel(evloop_clk(m->km->m.loop), &m->poll);
	if (m->status && !strcmp(m->status, "setup"))
		kvm_mig_fail(m, "the machine was reset or stopped during the migration");
	/* The next build is a fresh boot (a reset after a restore boots). */
	m->restoring = false;
	m->postmigrate = false;
}

void kvm_mig_free(struct kvm_migrate *m)
{
	if (!m)
		return;
	kvm_mig_io_stop(m);
	spawn_free(m->spawn);
	kvm_mig_release_stream(m);
	free(m->in_buf);
	free(m);
}
