/* What the KVM machine offers beyond running the guest: the QMP control
 * socket's machine operations (quit, stop/cont, system_reset,
 * system_powerdown, status, vCPU threads, balloon), and the host hooks the
 * board's devices use (balloon page release, ioeventfd doorbells for I/O
 * threads). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "core/evloop.h"
#include "core/gm.h"
#include "core/qmp.h"
#include "machine/board.h"
#include "machine/board_snapshot.h"
#include "devices/virtio/balloon.h"
#include "kvm/kvm_int.h"
#include "kvm/kvm_migrate.h"

/* virtio-balloon inflate: the guest gave these pages up; drop them from
 * the process (anonymous private RAM reads back as zeroes, which is what
 * a deflated page may hold, virtio 1.2 §5.5.6). */
void kvm_balloon_release(void *opaque, uint64_t gpa, uint64_t len)
{
	struct kvm_machine *km = opaque;
	void *p = gm_map(km->m.gm, gpa, len, true);
	if (p)
		madvise(p, len, MADV_DONTNEED);
}

static uint64_t kvm_ram_size(const struct kvm_machine *km)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < km->layout.nram; i++)
		n += km->layout.ram[i].size;
	return n;
}

/* Board hook: virtqueue doorbells as ioeventfds (iothread=). */
int kvm_board_ioeventfd(void *opaque, uint64_t addr, unsigned len,
			       uint64_t data, int fd, bool assign)
{
	struct kvm_machine *km = opaque;
	struct kvm_ioeventfd_spec s = {
		.addr = addr, .len = len, .datamatch = true, .data = data,
	};
	return kvm_ioeventfd(&km->vm, &s, fd, assign);
}

/* Board hook: a vhost-user call eventfd straight into the guest as an
 * MSI (irqfd on a GSI routed to the message), so the backend's call
 * costs no exit to this process (QEMU's vhost irqfd path). */
int kvm_board_msi_irqfd(void *opaque, int fd, uint64_t addr, uint32_t data,
			int *route, enum vhu_irqfd_op op)
{
	struct kvm_machine *km = opaque;
	if (op == VHU_IRQFD_UNBIND)
		return *route >= 0 ? kvm_irqfd(&km->vm, fd, (unsigned)*route, -1, false) : 0;
	if (*route < 0) {
		int gsi = kvm_irq_msi_route(&km->vm, addr, data);
		if (gsi < 0)
			return gsi;
		*route = gsi;
	} else {
		int r = kvm_irq_msi_route_update(&km->vm, (unsigned)*route, addr, data);
		if (r < 0)
			return r;
	}
	return op == VHU_IRQFD_BIND ? kvm_irqfd(&km->vm, fd, (unsigned)*route, -1, true) : 0;
}

/* QMP "balloon": the guest should end up with `bytes` of RAM, so the
 * balloon holds the rest (QEMU's semantics). */
static int kvm_qmp_balloon_set(void *opaque, uint64_t bytes, char *err,
			       size_t errlen)
{
	struct kvm_machine *km = opaque;
	struct balloon *bl = board_balloon(km->board);
	(void)err;
	(void)errlen;
	if (!bl)
		return -ENODEV;
	uint64_t ram = kvm_ram_size(km);
	uint64_t pages = bytes >= ram ? 0 : (ram - bytes) >> 12;
	/* Through the board so -trace-record sees it. */
	board_balloon_set_target(km->board, pages > UINT32_MAX ? UINT32_MAX :
				 (uint32_t)pages);
	return 0;
}

static int kvm_qmp_balloon_get(void *opaque, uint64_t *actual)
{
	struct kvm_machine *km = opaque;
	struct balloon *bl = board_balloon(km->board);
	if (!bl)
		return -ENODEV;
	uint64_t held = (uint64_t)balloon_get_actual(bl) << 12, ram = kvm_ram_size(km);
	*actual = held >= ram ? 0 : ram - held;
	return 0;
}

static int kvm_qmp_cpu_info(void *opaque, unsigned index, struct qmp_cpu_info *out)
{
	return kvm_cpuhp_cpu_info(opaque, index, out);
}

/* QMP stop/cont: the vCPUs park; devices and timers keep running, as
 * with QEMU's stop apart from the guest clock. */
static int kvm_qmp_stop(void *opaque)
{
	struct kvm_machine *km = opaque;
	if (!km->cpus)
		return -ENODEV;
	/* In prelaunch (-S) the vCPUs never ran: QEMU's stop leaves the
	 * state as it is and sends no STOP (do_vm_stop only acts on a
	 * running VM). */
	if (!km->prelaunch && !kvm_cpus_paused(km->cpus)) {
		kvm_cpus_pause(km->cpus);
		qmp_server_emit_event(km->qmp, "STOP", NULL);
	}
	return 0;
}

static int kvm_qmp_cont(void *opaque)
{
	struct kvm_machine *km = opaque;
	if (!km->cpus)
		return -ENODEV;
	if (kvm_mig_cont(km->mig))
		return 0;   /* -incoming: runs once the stream is loaded */
	if (kvm_cpus_paused(km->cpus)) {
		km->prelaunch = false;
		/* After a save or a restore: devices restart first. */
		if (km->board)
			board_snap_resume(km->board);
		kvm_cpus_resume(km->cpus);
		qmp_server_emit_event(km->qmp, "RESUME", NULL);
	}
	return 0;
}

static const char *kvm_qmp_status(void *opaque)
{
	struct kvm_machine *km = opaque;
	if (km->ended)
		return "shutdown";
	const char *ms = kvm_mig_runstate(km->mig);
	if (ms)
		return ms;
	if (km->prelaunch)
		return "prelaunch";  /* -S, before the first cont */
	return km->cpus && kvm_cpus_paused(km->cpus) ? "paused" : "running";
}

/* QMP quit: runs on the loop thread with the big lock held. */
static int kvm_qmp_quit(void *opaque)
{
	struct kvm_machine *km = opaque;
	/* quit also ends a boot that is about to be rebuilt for a reset
	 * (system_reset and quit in one burst): the VMM exits, as QEMU's. */
	if (!km->ended || km->res.ev == MACHINE_RESET) {
		km->ended = true;
		km->host_reset = false;
		km->res.ev = MACHINE_SHUTDOWN;
		km->res.status = 0;
		qmp_server_emit_event(km->qmp, "SHUTDOWN",
			"{\"guest\": false, \"reason\": \"host-qmp-quit\"}");
	}
	kvm_machine_request(km, MACHINE_SHUTDOWN, 0);
	return 0;
}

/* QMP system_reset: end this boot with a reset request; kvm_machine_run
 * rebuilds the machine (or, under -no-reboot, exits as QEMU does).  The
 * event goes out now, before the reply: QEMU 7.2 sent RESET (SHUTDOWN
 * under -no-reboot) first in every one of 100 runs (docs/qmp.md).  The
 * QMP server and its clients are not part of the rebuild. */
static int kvm_qmp_reset(void *opaque)
{
	struct kvm_machine *km = opaque;
	if (!km->ended) {
		km->host_reset = true;
		qmp_server_emit_event(km->qmp, km->no_reboot ? "SHUTDOWN" : "RESET",
			"{\"guest\": false, \"reason\": \"host-qmp-system-reset\"}");
	}
	kvm_machine_request(km, MACHINE_RESET, 0);
	return 0;
}

void kvm_machine_reset_event(struct kvm_machine *km)
{
	if (!km->qmp || km->res.ev != MACHINE_RESET)
		return;
	pthread_mutex_lock(&km->m.lock);
	/* system_reset emitted its event with the request (kvm_qmp_reset);
	 * under -no-reboot a guest reset's SHUTDOWN went out already. */
	if (!km->host_reset && !km->no_reboot)
		qmp_server_emit_event(km->qmp, "RESET",
			"{\"guest\": true, \"reason\": \"guest-reset\"}");
	pthread_mutex_unlock(&km->m.lock);
}

/* Timer callback on the loop thread, big lock held. */
static void kvm_qmp_powerdown_fire(void *arg, uint64_t now_ns)
{
	struct kvm_machine *km = arg;
	(void)now_ns;
	if (!km->board || km->ended)
		return;
	board_power_button(km->board);
}

/* QMP system_powerdown: the ACPI power button; what the guest does with
 * it (usually an orderly S5) is its business, as on real hardware.
 * POWERDOWN goes out before the reply, QEMU 7.2's order (100 runs of
 * 100, docs/qmp.md); the button is pressed from the loop's next pass. */
static int kvm_qmp_powerdown(void *opaque)
{
	struct kvm_machine *km = opaque;
	if (!km->board)
		return -ENODEV;
	if (!km->ended)
		qmp_server_emit_event(km->qmp, "POWERDOWN", NULL);
	const struct clk *clk = evloop_clk(km->m.loop);
	clk_timer_arm(clk, &km->powerdown, clk_now_ns(clk));
	return 0;
}

int kvm_machine_qmp(struct kvm_machine *km, const struct machine_config *cfg,
			   char *err, size_t errlen)
{
	clk_timer_init(&km->powerdown, kvm_qmp_powerdown_fire, km);
	if (!cfg->qmp_path[0] && !cfg->qmp_has_fd)
		return 0;
	if (cfg->has_uuid) {
		const uint8_t *u = cfg->uuid;
		snprintf(km->uuid, sizeof(km->uuid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
			 "%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
			 u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
			 u[13], u[14], u[15]);
	}
	km->qops = (struct qmp_machine_ops){
		.name = cfg->name[0] ? cfg->name : NULL,
		.uuid = cfg->has_uuid ? km->uuid : NULL,
		.ncpus = cfg->smp.cpus ? cfg->smp.cpus : 1,
		.max_cpus = board_cpu_possible(cfg),
		.kvm_enabled = true,
		.kvm_present = true,
		.quit = kvm_qmp_quit,
		.reset = kvm_qmp_reset,
		.powerdown = kvm_qmp_powerdown,
		.stop = kvm_qmp_stop,
		.cont = kvm_qmp_cont,
		.status = kvm_qmp_status,
		.balloon_set = kvm_qmp_balloon_set,
		.balloon_get = kvm_qmp_balloon_get,
		.cpu_info = kvm_qmp_cpu_info,
	};
	kvm_hotplug_ops(km, &km->qops);
	if (kvm_qmp_be_ops(km, &km->qops) < 0) {
		snprintf(err, errlen, "vmm: out of memory");
		return -1;
	}
	kvm_mig_ops(km->mig, &km->qops);
	if (cfg->qmp_has_fd)
		km->qmp = qmp_server_new_fd(km->m.loop, cfg->qmp_fd, &km->qops, km,
					    km->m.log, err, errlen);
	else
		km->qmp = qmp_server_new(km->m.loop, cfg->qmp_path, &km->qops, km,
					 km->m.log, err, errlen);
	return km->qmp ? 0 : -1;
}
