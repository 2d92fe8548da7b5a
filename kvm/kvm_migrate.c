/* Saving a KVM machine over QMP migrate, restoring it with -incoming
 * (kvm/kvm_migrate.h says how; kvm_mig_stream.c says what is in the
 * stream, kvm_mig_io.c moves the bytes). */
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

uint64_t kvm_mig_ram_bytes(const struct kvm_machine *km)
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
