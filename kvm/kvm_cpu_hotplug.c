/* vCPU hot-plug for the KVM machine (QMP device_add/device_del of
 * host-x86_64-cpu, query-hotpluggable-cpus, query-cpus-fast).
 *
 * -smp N,maxcpus=M gives M slots; the first N hold the boot vCPUs and
 * stay.  device_add picks a slot by socket-id/core-id/thread-id (QEMU 7.2
 * x86_cpu_pre_plug's checks and words, in its order), creates the vCPU
 * (KVM_CREATE_VCPU with the slot's APIC id, its CPUID, its thread, which
 * runs into the in-kernel LAPIC's wait for INIT-SIPI-SIPI) and raises the
 * insert event of the ACPI CPU hot-plug block (machine/board_cpuhp.c).
 * device_del raises the remove event; the guest's eject of that slot
 * ends the vCPU's thread, parks its fd (KVM cannot destroy a vCPU: a later
 * plug of the same slot takes it back, as QEMU does) and DEVICE_DELETED
 * goes out.  A plugged slot survives system_reset, as in QEMU.
 * Everything here runs with the big lock held. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/qmp.h"
#include "core/snapshot.h"
#include "devices/acpi/acpi.h"
#include "machine/board.h"
#include "kvm/kvm_int.h"

#define KVM_CPU_TYPE "host-x86_64-cpu"

struct kvm_cpuhp {
	unsigned boot, max;
	struct {
		bool plugged;
		char id[CFG_ID_MAX];
		char path[96];
	} slot[CFG_MAX_CPUS];
};

int kvm_cpuhp_init(struct kvm_machine *km)
{
	const struct machine_config *cfg = km->cfg;
	km->cpuhp = calloc(1, sizeof(*km->cpuhp));
	if (!km->cpuhp)
		return -1;
	km->cpuhp->boot = cfg->smp.cpus ? cfg->smp.cpus : 1;
	km->cpuhp->max = board_cpu_possible(cfg);
	if (km->cpuhp->max > CFG_MAX_CPUS)
		km->cpuhp->max = CFG_MAX_CPUS;
	return 0;
}

void kvm_cpuhp_free(struct kvm_machine *km)
{
	free(km->cpuhp);
	km->cpuhp = NULL;
}

bool kvm_cpuhp_is_cpu(const char *driver)
{
	size_t n = strlen(driver), s = sizeof("-x86_64-cpu") - 1;
	return n > s && !strcmp(driver + n - s, "-x86_64-cpu");
}

struct topo3 {
	unsigned threads, cores, sockets;
};

static struct topo3 cpuhp_topo(const struct machine_config *cfg)
{
	struct topo3 t = { cfg->smp.threads ? cfg->smp.threads : 1,
			   cfg->smp.cores ? cfg->smp.cores : 1,
			   cfg->smp.sockets ? cfg->smp.sockets : 1 };
	return t;
}

int kvm_cpuhp_cpu_info(struct kvm_machine *km, unsigned index, struct qmp_cpu_info *out)
{
	struct topo3 t = cpuhp_topo(km->cfg);
	out->thread_id_in_core = index % t.threads;
	out->core_id = (index / t.threads) % t.cores;
	out->socket_id = index / (t.threads * t.cores);
	out->qom_path[0] = '\0';
	struct kvm_cpuhp *h = km->cpuhp;
	if (h && index >= h->boot) {
		if (index >= h->max || !h->slot[index].plugged)
			return -ENOENT;
		snprintf(out->qom_path, sizeof(out->qom_path), "%s", h->slot[index].path);
	}
	if (!km->cpus)
		return -ENODEV;
	out->thread_id = kvm_cpus_thread_id(km->cpus, index);
	return 0;
}

static int cpuhp_fail(struct qmp_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int cpuhp_fail(struct qmp_err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	e->cls = "GenericError";
	vsnprintf(e->desc, sizeof(e->desc), fmt, ap);
	va_end(ap);
	return -1;
}

/* The CPU's properties out of the -device style option string: the
 * topology ids (-1: not given); anything else but driver and id is a
 * property the CPU does not have. */
static int cpuhp_props(const char *driver, const char *opts, long ids[4],
		       struct qmp_err *e)
{
	static const char *const keys[4] = { "socket-id", "die-id", "core-id", "thread-id" };
	for (int k = 0; k < 4; k++)
		ids[k] = -1;
	const char *p = opts;
	while (*p) {
		const char *eq = strchr(p, '=');
		const char *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		if (!eq || eq > end)
			eq = end;
		size_t kl = (size_t)(eq - p);
		char key[64], val[32];
		snprintf(key, sizeof(key), "%.*s", (int)(kl < 63 ? kl : 63), p);
		size_t vl = eq < end ? (size_t)(end - eq - 1) : 0;
		snprintf(val, sizeof(val), "%.*s", (int)(vl < 31 ? vl : 31), eq < end ? eq + 1 : "");
		p = *end ? end + 1 : end;
		if (!strcmp(key, "driver") || !strcmp(key, "id"))
			continue;
		int k = 0;
		while (k < 4 && strcmp(key, keys[k]))
			k++;
		if (k == 4)
			return cpuhp_fail(e, "Property '%s.%s' not found", driver, key);
		char *ep;
		long v = strtol(val, &ep, 0);
		if (!val[0] || *ep || vl >= 31 || v < -1 || v > 0x7fffffff)
			return cpuhp_fail(e, "Parameter '%s' expects int32", key);
		ids[k] = v;
	}
	return 0;
}

int kvm_cpuhp_add(struct kvm_machine *km, const char *driver, const char *id,
		  const char *opts, struct qmp_err *e)
{
	struct kvm_cpuhp *h = km->cpuhp;
	const struct machine_config *cfg = km->cfg;
	if (strcmp(driver, KVM_CPU_TYPE))
		return cpuhp_fail(e, "'%s' is not a valid device model name "
				  "(this VMM's CPUs are '" KVM_CPU_TYPE "', -cpu host)", driver);
	if (!h || !km->cpus || !km->board)
		return cpuhp_fail(e, "CPU hot-plug is not available");
	if (id && config_device(cfg, id))
		return cpuhp_fail(e, "Duplicate device ID '%s'", id);
	for (unsigned i = 0; id && i < h->max; i++)
		if (h->slot[i].plugged && !strcmp(h->slot[i].id, id))
			return cpuhp_fail(e, "Duplicate device ID '%s'", id);
	long ids[4];
	if (cpuhp_props(driver, opts, ids, e) < 0)
		return -1;
	struct topo3 t = cpuhp_topo(cfg);
	unsigned maxcpus = h->max;
	long max_socket = (long)((maxcpus - 1) / t.threads / t.cores);
	if (ids[1] < 0)
		ids[1] = 0; /* die-id: optional with one die per socket */
	if (ids[0] < 0)
		return cpuhp_fail(e, "CPU socket-id is not set");
	if (ids[0] > max_socket)
		return cpuhp_fail(e, "Invalid CPU socket-id: %ld must be in range 0:%ld",
				  ids[0], max_socket);
	if (ids[1] > 0)
		return cpuhp_fail(e, "Invalid CPU die-id: %ld must be in range 0:0", ids[1]);
	if (ids[2] < 0)
		return cpuhp_fail(e, "CPU core-id is not set");
	if (ids[2] > (long)t.cores - 1)
		return cpuhp_fail(e, "Invalid CPU core-id: %ld must be in range 0:%u",
				  ids[2], t.cores - 1);
	if (ids[3] < 0)
		return cpuhp_fail(e, "CPU thread-id is not set");
	if (ids[3] > (long)t.threads - 1)
		return cpuhp_fail(e, "Invalid CPU thread-id: %ld must be in range 0:%u",
				  ids[3], t.threads - 1);
	unsigned idx = (unsigned)ids[0] * t.cores * t.threads +
		       (unsigned)ids[2] * t.threads + (unsigned)ids[3];
	uint32_t apic = acpi_apic_id_smp(&cfg->smp, idx);
	if (idx >= maxcpus)
		return cpuhp_fail(e, "Invalid CPU [socket: %ld, die: 0, core: %ld, thread: %ld] "
				  "with APIC ID %u, valid index range 0:%u", ids[0], ids[2],
				  ids[3], apic, maxcpus - 1);
	if (idx < h->boot || h->slot[idx].plugged)
		return cpuhp_fail(e, "CPU[%u] with APIC ID %u exists", idx, apic);
	char err[200];
	int r = kvm_cpus_plug(km->cpus, idx, true, err, sizeof(err));
	if (r < 0)
		return cpuhp_fail(e, "%s", err);
	r = board_cpu_plug(km->board, idx, true);
	if (r < 0) {
		kvm_cpus_unplug(km->cpus, idx);
		return cpuhp_fail(e, "CPU hot-plug is not available on this machine (%s)",
				  strerror(-r));
	}
	h->slot[idx].plugged = true;
	config_cpu_set_plugged(km->cfg, idx, true);
	snprintf(h->slot[idx].id, sizeof(h->slot[idx].id), "%s", id ? id : "");
	if (id)
		snprintf(h->slot[idx].path, sizeof(h->slot[idx].path),
			 "/machine/peripheral/%s", id);
	else
		snprintf(h->slot[idx].path, sizeof(h->slot[idx].path),
			 "/machine/peripheral-anon/cpu[%u]", idx);
	log_info(km->m.log, "device_add: vCPU %u (APIC id %u)%s%s", idx, apic,
		 id ? " id=" : "", id ? id : "");
	return 0;
}

int kvm_cpuhp_del(struct kvm_machine *km, const char *id, struct qmp_err *e)
{
	struct kvm_cpuhp *h = km->cpuhp;
	unsigned i = 0;
	while (h && i < h->max && !(h->slot[i].plugged && h->slot[i].id[0] &&
				    !strcmp(h->slot[i].id, id)))
		i++;
	if (!h || i >= h->max)
		return 1; /* not a CPU: the caller goes on */
	/* Asked again before the guest ejected: QEMU 7.2 raises the event
	 * again and replies {}; so do we. */
	int r = km->board ? board_cpu_unplug_request(km->board, i) : -ENODEV;
	if (r < 0)
		return cpuhp_fail(e, "CPU %s cannot be unplugged (%s)", id, strerror(-r));
	log_info(km->m.log, "device_del: vCPU %u (%s): eject request to the guest", i, id);
	return 0;
}

/* board_host.cpu_eject: the guest ejected slot index after device_del. */
int kvm_cpuhp_eject(void *opaque, unsigned index)
{
	struct kvm_machine *km = opaque;
	struct kvm_cpuhp *h = km->cpuhp;
	if (!h || index >= h->max || !h->slot[index].plugged || !km->cpus)
		return -ENODEV;
	kvm_cpus_unplug(km->cpus, index);
	h->slot[index].plugged = false;
	config_cpu_set_plugged(km->cfg, index, false);
	log_info(km->m.log, "device_del: vCPU %u removed by the guest", index);
	if (km->qmp) {
		char data[2 * CFG_ID_MAX + 128];
		/* QEMU 7.2's pair: the CPU's LAPIC child, then the CPU. */
		snprintf(data, sizeof(data), "{\"path\": \"%s/lapic\"}", h->slot[index].path);
		qmp_server_emit_event(km->qmp, "DEVICE_DELETED", data);
		if (h->slot[index].id[0])
			snprintf(data, sizeof(data), "{\"device\": \"%s\", \"path\": \"%s\"}",
				 h->slot[index].id, h->slot[index].path);
		else
			snprintf(data, sizeof(data), "{\"path\": \"%s\"}", h->slot[index].path);
		qmp_server_emit_event(km->qmp, "DEVICE_DELETED", data);
	}
	return 0;
}

/* A rebuild (reset): the plugged slots get their vCPU again, present
 * from the start (threads start with the boot ones). */
int kvm_cpuhp_rebuild(struct kvm_machine *km, char *err, size_t errlen)
{
	struct kvm_cpuhp *h = km->cpuhp;
	for (unsigned i = 0; h && i < h->max; i++) {
		if (!h->slot[i].plugged)
			continue;
		if (kvm_cpus_plug(km->cpus, i, false, err, errlen) < 0 ||
		    board_cpu_plug(km->board, i, false) < 0) {
			h->slot[i].plugged = false;
			config_cpu_set_plugged(km->cfg, i, false);
			log_warn(km->m.log, "reset: hot-plugged vCPU %u not rebuilt", i);
		}
	}
	return 0;
}

/* ---- snapshots (kvm/kvm_migrate.c; docs/migration.md) ----
 * The "vm" section lists the hot-plugged slots: index, APIC id and the
 * device_add id.  The restoring vmm, started with the same -smp
 * N,maxcpus=M, plugs that set itself before it loads the vCPUs' state
 * (QEMU wants a -device per hot-plugged CPU on the destination; vmm's
 * command line takes no CPU -device, so the stream is the one place the
 * set is kept). */
void kvm_cpuhp_snap_save(const struct kvm_machine *km, struct snap_w *w)
{
	const struct kvm_cpuhp *h = km->cpuhp;
	unsigned n = 0;
	for (unsigned i = 0; h && i < h->max; i++)
		n += h->slot[i].plugged;
	snap_w_u32(w, "maxcpus", h ? h->max : 0);
	snap_w_u32(w, "nhotplugged", n);
	for (unsigned i = 0, k = 0; h && i < h->max; i++) {
		if (!h->slot[i].plugged)
			continue;
		char f[24];
		snprintf(f, sizeof(f), "hot%u", k++);
		snap_w_begin(w, f, 1);
		snap_w_u32(w, "index", i);
		snap_w_u32(w, "apic_id", kvm_cpus_apic_id(km->cpus, i));
		snap_w_bytes(w, "id", h->slot[i].id, strlen(h->slot[i].id));
		snap_w_end(w);
	}
}

/* An id device_add could have taken: printable, no separator, unused. */
static bool cpuhp_id_ok(const struct kvm_machine *km, const uint8_t *p, size_t n)
{
	if (n >= CFG_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f || p[i] == ',' || p[i] == '"' ||
		    p[i] == '\\')
			return false;
	char id[CFG_ID_MAX];
	memcpy(id, p, n);
	id[n] = 0;
	return !n || !config_device(km->cfg, id);
}

int kvm_cpuhp_snap_load(struct kvm_machine *km, struct snap_r *r)
{
	struct kvm_cpuhp *h = km->cpuhp;
	uint32_t max = 0, n = 0, last = 0;
	snap_r_u32(r, "maxcpus", &max);
	snap_r_u32(r, "nhotplugged", &n);
	if (snap_r_check(r, h && max == h->max, "maxcpus",
			 "the saved VM had another number of vCPU slots (-smp maxcpus)") < 0)
		return -EINVAL;
	snap_r_check(r, n <= h->max - h->boot, "nhotplugged", "more than the free slots");
	struct { uint32_t index; char id[CFG_ID_MAX]; } hot[CFG_MAX_CPUS];
	for (unsigned k = 0; k < n && !snap_r_failed(r); k++) {
		char f[24], why[120];
		uint32_t apic = 0;
		const uint8_t *id = NULL;
		size_t idlen = 0;
		snprintf(f, sizeof(f), "hot%u", k);
		snap_r_begin(r, f, 1, NULL);
		snap_r_u32(r, "index", &hot[k].index);
		snap_r_u32(r, "apic_id", &apic);
		snap_r_blob(r, "id", &id, &idlen);
		if (snap_r_failed(r))
			break;
		uint32_t i = hot[k].index;
		snprintf(why, sizeof(why), "slot %u is not a hot-pluggable slot after "
			 "slot %u (boot CPUs 0..%u, -smp maxcpus=%u)", i, last, h->boot - 1,
			 h->max);
		if (snap_r_check(r, i >= h->boot && i < h->max && (k == 0 || i > last),
				 "index", why) < 0)
			break;
		last = i;
		snprintf(why, sizeof(why), "slot %u: APIC id %u, here %u (another -smp "
			 "shape)", i, apic, acpi_apic_id_smp(&km->cfg->smp, i));
		snap_r_check(r, apic == acpi_apic_id_smp(&km->cfg->smp, i), "apic_id", why);
		snap_r_check(r, cpuhp_id_ok(km, id, idlen), "id",
			     "not an id device_add takes, or one a -device here has");
		for (unsigned j = 0; j < k && idlen && !snap_r_failed(r); j++)
			snap_r_check(r, strlen(hot[j].id) != idlen ||
				     memcmp(hot[j].id, id, idlen), "id", "two vCPUs with one id");
		if (snap_r_failed(r))
			break;
		memcpy(hot[k].id, id, idlen);
		hot[k].id[idlen] = 0;
		snap_r_end(r);
	}
	if (snap_r_failed(r))
		return -EINVAL;
	/* Checked whole: now plug them, held (the machine's vCPUs are paused
	 * until the load is done), present from the start like a reset's. */
	for (unsigned k = 0; k < n; k++) {
		unsigned i = hot[k].index;
		char err[160], why[200];
		if (h->slot[i].plugged)
			continue;
		int rc = kvm_cpus_plug(km->cpus, i, true, err, sizeof(err));
		if (rc == 0 && board_cpu_plug(km->board, i, false) < 0) {
			kvm_cpus_unplug(km->cpus, i);
			snprintf(err, sizeof(err), "no CPU hot-plug block");
			rc = -ENODEV;
		}
		if (rc < 0) {
			snprintf(why, sizeof(why), "plugging vCPU %u: %s", i, err);
			snap_r_check(r, false, "index", why);
			return -EINVAL;
		}
		h->slot[i].plugged = true;
		config_cpu_set_plugged(km->cfg, i, true);
		snprintf(h->slot[i].id, sizeof(h->slot[i].id), "%s", hot[k].id);
		if (hot[k].id[0])
			snprintf(h->slot[i].path, sizeof(h->slot[i].path),
				 "/machine/peripheral/%s", hot[k].id);
		else
			snprintf(h->slot[i].path, sizeof(h->slot[i].path),
				 "/machine/peripheral-anon/cpu[%u]", i);
		log_info(km->m.log, "-incoming: vCPU %u (APIC id %u) plugged as saved%s%s", i,
			 acpi_apic_id_smp(&km->cfg->smp, i), hot[k].id[0] ? " id=" : "",
			 hot[k].id);
	}
	return 0;
}

/* The loaded CPU hot-plug block and the vCPUs plugged from "vm" must
 * agree slot by slot: a stream whose block says a CPU is there that "vm"
 * did not list (or the other way round) is refused, naming the slot. */
int kvm_cpuhp_snap_agree(struct kvm_machine *km, struct snap_r *r)
{
	for (unsigned i = 0; i < kvm_cpus_count(km->cpus); i++) {
		bool blk = board_cpu_present(km->board, i);
		if (blk == kvm_cpus_present(km->cpus, i))
			continue;
		char why[120];
		snprintf(why, sizeof(why), "slot %u is %s in the CPU hot-plug block but "
			 "%s in the vCPU list (vm.hotN)", i, blk ? "enabled" : "empty",
			 blk ? "absent" : "present");
		return snap_r_check(r, false, "acpi-cpuhp.flags", why);
	}
	return 0;
}
