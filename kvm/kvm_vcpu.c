/* vCPUs: creation (CPUID, MSRs, LAPIC wiring and boot registers, the last
 * two set through kvm_vcpu_regs.c), one thread each running KVM_RUN, and
 * exit dispatch.  Port I/O and MMIO exits go to
 * the machine's buses under the machine's big lock, so device models need
 * no locks; shutdown and system events become machine requests.
 *
 * Stopping: kvm_cpus_kick() sets `stop`, sets kvm_run.immediate_exit on
 * every vCPU (so one about to enter KVM_RUN returns at once) and signals
 * each thread (so one inside KVM_RUN, even halted, returns EINTR).
 * Pausing (QMP stop) kicks the same way but the threads park on a
 * condition variable until resumed; nothing else changes. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "core/bus.h"
#include "core/log.h"
#include "kvm/boot.h"
#include "kvm/kvm_int.h"

struct kvm_cpu {
	struct kvm_cpus *all;
	unsigned index;
	uint32_t apic_id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	/* Hot-plug (kvm_cpus_plug/unplug): the slot has a vCPU the guest
	 * may run; `unplug` ends its thread, which sets `done` on the way
	 * out.  The fd stays open after an unplug (KVM cannot destroy a
	 * vCPU) and is used again by the next plug of the same slot. */
	bool present;
	atomic_bool unplug, done;
	_Atomic uint64_t exits;
	_Atomic int64_t tid;
	struct log_rl rl;
};

struct kvm_cpus {
	struct kvm_cpu_env env;
	size_t run_size;
	unsigned n;              /* slots: -smp maxcpus */
	struct kvm_topo topo;    /* for the CPUID of hot-plugged vCPUs */
	atomic_bool stop;
	/* Pause: `paused` is read unlocked as a hint, then under pause_lock. */
	atomic_bool paused;
	/* Threads parked by a pause or ended: a snapshot waits for all. */
	atomic_uint quiet;
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	struct kvm_cpu cpu[];
};

static void kvm_vcpu_sig(int sig)
{
	(void)sig;  /* only there to make KVM_RUN return EINTR */
}

static int kvm_vcpu_kick_signal(void)
{
	return SIGRTMIN;
}

static int kvm_vcpu_setup(struct kvm_cpus *c, struct kvm_cpu *v,
			  const struct kvm_topo *t, const struct boot_cpu *boot,
			  char *err, size_t errlen)
{
	const struct kvm_sys *sys = c->env.vm->sys;
	v->fd = ioctl(c->env.vm->fd, KVM_CREATE_VCPU, (unsigned long)v->apic_id);
	if (v->fd < 0) {
		snprintf(err, errlen, "vmm: KVM_CREATE_VCPU %u (APIC id %u): %s",
			 v->index, v->apic_id, strerror(errno));
		return -1;
	}
	v->run = mmap(NULL, c->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		snprintf(err, errlen, "vmm: mmap of vCPU %u state: %s", v->index,
			 strerror(errno));
		return -1;
	}
	unsigned max = sys->cpuid->nent + 8;
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) +
					  max * sizeof(cpuid->entries[0]));
	if (!cpuid) {
		snprintf(err, errlen, "vmm: out of memory");
		return -1;
	}
	int n = kvm_cpuid_for_vcpu(sys->cpuid->entries, sys->cpuid->nent,
				   cpuid->entries, max, t, v->index);
	int r = n < 0 ? n : 0;
	if (r == 0) {
		cpuid->nent = (uint32_t)n;
		if (ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0)
			r = -errno;
	}
	free(cpuid);
	if (r < 0) {
		snprintf(err, errlen, "vmm: KVM_SET_CPUID2 on vCPU %u: %s",
			 v->index, strerror(-r));
		return -1;
	}
	kvm_msr_setup(v->fd, sys->msrs, c->env.log);
	if ((r = kvm_vcpu_set_lint(v->fd, v->index == 0)) < 0 ||
	    (r = kvm_vcpu_set_fpu(v->fd)) < 0) {
		snprintf(err, errlen, "vmm: vCPU %u LAPIC/FPU set-up: %s",
			 v->index, strerror(-r));
		return -1;
	}
	/* Secondary vCPUs stay in wait-for-SIPI (the in-kernel LAPIC's reset
	 * state for non-BSPs) until the guest starts them. */
	if (v->index == 0 && boot && (r = kvm_vcpu_load_boot(v->fd, boot)) < 0) {
		snprintf(err, errlen, "vmm: boot registers on vCPU 0: %s",
			 strerror(-r));
		return -1;
	}
	return 0;
}

struct kvm_cpus *kvm_cpus_create(const struct kvm_cpu_env *env, unsigned n,
				 const struct kvm_topo *t,
				 const struct boot_cpu *boot, char *err,
				 size_t errlen)
{
	return kvm_cpus_create_max(env, n, n, t, boot, err, errlen);
}

struct kvm_cpus *kvm_cpus_create_max(const struct kvm_cpu_env *env, unsigned n,
				     unsigned max, const struct kvm_topo *t,
				     const struct boot_cpu *boot, char *err,
				     size_t errlen)
{
	const struct kvm_sys *sys = env->vm->sys;
	if (max < n)
		max = n;
	if (n == 0 || max > sys->max_vcpus) {
		snprintf(err, errlen, "vmm: -smp %u (maxcpus %u): the host KVM allows 1-%u vCPUs",
			 n, max, sys->max_vcpus);
		return NULL;
	}
	struct kvm_cpus *c = calloc(1, sizeof(*c) + max * sizeof(c->cpu[0]));
	if (!c) {
		snprintf(err, errlen, "vmm: out of memory");
		return NULL;
	}
	c->env = *env;
	c->n = max;
	c->topo = *t;
	c->run_size = (size_t)sys->vcpu_mmap_size;
	atomic_init(&c->stop, false);
	atomic_init(&c->paused, false);
	atomic_init(&c->quiet, 0);
	pthread_mutex_init(&c->pause_lock, NULL);
	pthread_cond_init(&c->pause_cond, NULL);
	for (unsigned i = 0; i < max; i++) {
		c->cpu[i].fd = -1;
		c->cpu[i].all = c;
		c->cpu[i].index = i;
		c->cpu[i].apic_id = kvm_topo_apic_id(t, i);
	}
	for (unsigned i = 0; i < max; i++) {
		if (c->cpu[i].apic_id >= sys->max_vcpu_id) {
			snprintf(err, errlen, "vmm: -smp: vCPU %u would have APIC id "
				 "%u, above the host KVM's limit %u", i,
				 c->cpu[i].apic_id, sys->max_vcpu_id - 1);
			goto fail;
		}
		if (i < n && kvm_vcpu_setup(c, &c->cpu[i], t, boot, err, errlen) < 0)
			goto fail;
		c->cpu[i].present = i < n;
	}
	return c;
fail:
	kvm_cpus_destroy(c);
	return NULL;
}

static void kvm_vcpu_request(struct kvm_cpu *v, enum machine_event ev, int status)
{
	struct machine *m = v->all->env.m;
	pthread_mutex_lock(&m->lock);
	machine_request(&m->ctl, ev, status);
	pthread_mutex_unlock(&m->lock);
}

static void kvm_vcpu_log_state(struct kvm_cpu *v, const char *what)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_REGS, &r) == 0 && ioctl(v->fd, KVM_GET_SREGS, &s) == 0)
		log_err(v->all->env.log, "kvm: vCPU %u: %s at rip 0x%llx "
			"(cs 0x%x cr0 0x%llx efer 0x%llx)", v->index, what,
			(unsigned long long)r.rip, s.cs.selector,
			(unsigned long long)s.cr0, (unsigned long long)s.efer);
	else
		log_err(v->all->env.log, "kvm: vCPU %u: %s", v->index, what);
}

/* Returns false when the vCPU should stop. */
static bool kvm_vcpu_exit(struct kvm_cpu *v)
{
	struct kvm_run *run = v->run;
	struct machine *m = v->all->env.m;
	char what[96];
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		uint8_t *data = (uint8_t *)run + run->io.data_offset;
		bool wr = run->io.direction == KVM_EXIT_IO_OUT;
		pthread_mutex_lock(&m->lock);
		/* rep ins/outs: `count` accesses of `size` bytes each. */
		for (uint32_t i = 0; i < run->io.count; i++)
			bus_access(m->pio, run->io.port, data + i * run->io.size,
				   run->io.size, wr);
		pthread_mutex_unlock(&m->lock);
		return true;
	}
	case KVM_EXIT_MMIO:
		pthread_mutex_lock(&m->lock);
		bus_access(m->mmio, run->mmio.phys_addr, run->mmio.data,
			   run->mmio.len, run->mmio.is_write);
		pthread_mutex_unlock(&m->lock);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; ours always has one. */
		usleep(1000);
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* Triple fault: a PC resets (SDM vol. 3 §6.15, #DF). */
		log_info(v->all->env.log, "kvm: vCPU %u: triple fault, reset",
			 v->index);
		kvm_vcpu_request(v, MACHINE_RESET, 0);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			kvm_vcpu_request(v, MACHINE_SHUTDOWN, 0);
			break;
		case KVM_SYSTEM_EVENT_RESET:
			kvm_vcpu_request(v, MACHINE_RESET, 0);
			break;
		default:
			snprintf(what, sizeof(what), "system event %u",
				 run->system_event.type);
			kvm_vcpu_log_state(v, what);
			kvm_vcpu_request(v, MACHINE_ERROR, 1);
			break;
		}
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed (reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		kvm_vcpu_log_state(v, what);
		kvm_vcpu_request(v, MACHINE_ERROR, 1);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		/* Suberror 1 is an instruction KVM cannot emulate: on nested
		 * hosts without VMX/SVM that ends guests using e.g. xrstor. */
		snprintf(what, sizeof(what), "KVM internal error (suberror %u)",
			 run->internal.suberror);
		kvm_vcpu_log_state(v, what);
		kvm_vcpu_request(v, MACHINE_ERROR, 1);
		return false;
	default:
		snprintf(what, sizeof(what), "unexpected exit reason %u",
			 run->exit_reason);
		kvm_vcpu_log_state(v, what);
		kvm_vcpu_request(v, MACHINE_ERROR, 1);
		return false;
	}
}

static void *kvm_vcpu_thread(void *arg)
{
	struct kvm_cpu *v = arg;
	struct kvm_cpus *c = v->all;
	atomic_store(&v->tid, (int64_t)gettid());
	/* Named from inside: naming another thread goes through
	 * /proc/self/task/TID/comm (openat, which the seccomp filter refuses
	 * under -no-reboot); PR_SET_NAME on itself is one allowed prctl. */
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", v->index);
	prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, kvm_vcpu_kick_signal());
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* The machine may start us paused (kvm_machine_run does, to create
	 * the threads while its memory slots are still going in). */
	bool report = c->env.report_first_run && v->index == 0;
	while (!atomic_load(&c->stop) && !atomic_load(&v->unplug)) {
		if (atomic_load(&c->paused)) {
			pthread_mutex_lock(&c->pause_lock);
			atomic_fetch_add(&c->quiet, 1);
			while (atomic_load(&c->paused) && !atomic_load(&c->stop) &&
			       !atomic_load(&v->unplug))
				pthread_cond_wait(&c->pause_cond, &c->pause_lock);
			atomic_fetch_sub(&c->quiet, 1);
			pthread_mutex_unlock(&c->pause_lock);
			/* Re-arm: a pause that lands from here on sets it again
			 * before we test `paused` at the top of the loop. */
			__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
			continue;
		}
		if (report) {
			/* Wall clock, as QEMU's "-msg timestamp=on" trace uses,
			 * so bench_startup can compare the two from one exec
			 * time. */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			fprintf(stderr, "vmm-bench: first KVM_RUN at %lld.%06ld\n",
				(long long)ts.tv_sec, ts.tv_nsec / 1000);
			report = false;
		}
		int r = ioctl(v->fd, KVM_RUN, 0);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				/* A pause resumed before this thread saw it
				 * (kvm_machine_run starts vCPUs paused; QMP
				 * stop then cont) leaves immediate_exit set,
				 * and KVM_RUN would fail with EINTR forever.
				 * A pause landing now sets `paused` before
				 * immediate_exit, so the check at the top of
				 * the loop still parks us. */
				if (!atomic_load(&c->paused))
					__atomic_store_n(&v->run->immediate_exit, 0,
							 __ATOMIC_SEQ_CST);
				continue;
			}
			char what[64];
			snprintf(what, sizeof(what), "KVM_RUN: %s", strerror(errno));
			kvm_vcpu_log_state(v, what);
			kvm_vcpu_request(v, MACHINE_ERROR, 1);
			break;
		}
		atomic_fetch_add_explicit(&v->exits, 1, memory_order_relaxed);
		if (!kvm_vcpu_exit(v))
			break;
	}
	atomic_store(&v->tid, 0);
	atomic_store(&v->done, true);
	atomic_fetch_add(&c->quiet, 1);
	return NULL;
}

int kvm_cpus_start(struct kvm_cpus *c)
{
	/* A handler (not SIG_IGN) so the signal interrupts KVM_RUN; no
	 * SA_RESTART so the ioctl returns EINTR.  Process-wide and
	 * stateless, so every machine in the process can share it. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kvm_vcpu_sig;
	sigemptyset(&sa.sa_mask);
	if (sigaction(kvm_vcpu_kick_signal(), &sa, NULL) < 0)
		return -errno;
	for (unsigned i = 0; i < c->n; i++) {
		if (!c->cpu[i].present || c->cpu[i].started)
			continue;
		int r = pthread_create(&c->cpu[i].thread, NULL, kvm_vcpu_thread,
				       &c->cpu[i]);
		if (r != 0)
			return -r;
		c->cpu[i].started = true;
	}
	return 0;
}

static void kvm_cpus_interrupt(struct kvm_cpus *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		struct kvm_cpu *v = &c->cpu[i];
		if (v->run)
			__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (v->started)
			pthread_kill(v->thread, kvm_vcpu_kick_signal());
	}
}

void kvm_cpus_kick(struct kvm_cpus *c)
{
	atomic_store(&c->stop, true);
	pthread_mutex_lock(&c->pause_lock);
	pthread_cond_broadcast(&c->pause_cond);
	pthread_mutex_unlock(&c->pause_lock);
	kvm_cpus_interrupt(c);
}

void kvm_cpus_pause(struct kvm_cpus *c)
{
	atomic_store(&c->paused, true);
	kvm_cpus_interrupt(c);
}

void kvm_cpus_resume(struct kvm_cpus *c)
{
	pthread_mutex_lock(&c->pause_lock);
	atomic_store(&c->paused, false);
	pthread_cond_broadcast(&c->pause_cond);
	pthread_mutex_unlock(&c->pause_lock);
}

bool kvm_cpus_paused(const struct kvm_cpus *c)
{
	return atomic_load(&c->paused);
}

void kvm_cpus_destroy(struct kvm_cpus *c)
{
	if (!c)
		return;
	kvm_cpus_kick(c);
	for (unsigned i = 0; i < c->n; i++) {
		struct kvm_cpu *v = &c->cpu[i];
		if (v->started)
			pthread_join(v->thread, NULL);
		if (v->run)
			munmap(v->run, c->run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	pthread_cond_destroy(&c->pause_cond);
	pthread_mutex_destroy(&c->pause_lock);
	free(c);
}

int kvm_cpus_plug(struct kvm_cpus *c, unsigned index, bool start, char *err,
		  size_t errlen)
{
	if (index >= c->n) {
		snprintf(err, errlen, "vCPU %u out of range", index);
		return -ERANGE;
	}
	struct kvm_cpu *v = &c->cpu[index];
	if (v->present) {
		snprintf(err, errlen, "vCPU %u exists", index);
		return -EBUSY;
	}
	if (v->started) {
		/* The thread of an earlier unplug: joined once it is out
		 * (never waited for here: it may be queued on the lock we
		 * hold). */
		if (!atomic_load(&v->done)) {
			snprintf(err, errlen, "vCPU %u is still being removed", index);
			return -EBUSY;
		}
		pthread_join(v->thread, NULL);
		v->started = false;
		/* Its exit counted it quiet (kvm_cpus_quiesced): no longer. */
		atomic_fetch_sub(&c->quiet, 1);
	}
	int r;
	if (v->fd < 0) {
		if (kvm_vcpu_setup(c, v, &c->topo, NULL, err, errlen) < 0)
			return -EIO;
	} else {
		/* A parked vCPU: back to waiting for INIT, as a new AP is
		 * (the guest's INIT resets registers and LAPIC, SDM vol. 3
		 * §9.4.4). */
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_UNINITIALIZED };
		if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0 ||
		    (r = kvm_vcpu_set_lint(v->fd, false)) < 0) {
			snprintf(err, errlen, "vCPU %u reset: %s", index, strerror(errno));
			return -EIO;
		}
	}
	atomic_store(&v->unplug, false);
	atomic_store(&v->done, false);
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	v->present = true;
	if (!start)
		return 0;
	r = pthread_create(&v->thread, NULL, kvm_vcpu_thread, v);
	if (r != 0) {
		v->present = false;
		snprintf(err, errlen, "vCPU %u thread: %s", index, strerror(r));
		return -r;
	}
	v->started = true;
	return 0;
}

int kvm_cpus_unplug(struct kvm_cpus *c, unsigned index)
{
	if (index >= c->n || !c->cpu[index].present)
		return -ENODEV;
	struct kvm_cpu *v = &c->cpu[index];
	v->present = false;
	atomic_store(&v->unplug, true);
	pthread_mutex_lock(&c->pause_lock);
	pthread_cond_broadcast(&c->pause_cond);
	pthread_mutex_unlock(&c->pause_lock);
	if (v->run)
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (v->started)
		pthread_kill(v->thread, kvm_vcpu_kick_signal());
	return 0;
}

bool kvm_cpus_present(const struct kvm_cpus *c, unsigned index)
{
	return index < c->n && c->cpu[index].present;
}

unsigned kvm_cpus_slots(const struct kvm_cpus *c)
{
	return c->n;
}

int64_t kvm_cpus_thread_id(const struct kvm_cpus *c, unsigned index)
{
	return index < c->n ? atomic_load(&c->cpu[index].tid) : 0;
}

uint64_t kvm_cpus_exit_count(const struct kvm_cpus *c)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < c->n; i++)
		n += atomic_load_explicit(&c->cpu[i].exits, memory_order_relaxed);
	return n;
}

/* Snapshots (kvm_migrate.c): the vCPUs' fds and ids, and whether every
 * started thread is out of KVM_RUN for good or parked by a pause. */
unsigned kvm_cpus_count(const struct kvm_cpus *c)
{
	return c->n;
}

int kvm_cpus_fd(const struct kvm_cpus *c, unsigned index)
{
	return index < c->n ? c->cpu[index].fd : -1;
}

uint32_t kvm_cpus_apic_id(const struct kvm_cpus *c, unsigned index)
{
	return index < c->n ? c->cpu[index].apic_id : 0;
}

bool kvm_cpus_quiesced(const struct kvm_cpus *c)
{
	unsigned started = 0;
	for (unsigned i = 0; i < c->n; i++)
		started += c->cpu[i].started;
	return atomic_load(&c->quiet) >= started;
}
