/* Termination signals while a KVM machine starts up (kvm_machine_run):
 * before the event loop's signalfd can take them, SIGTERM/SIGINT/SIGHUP
 * must break into whatever start-up step is blocked, and be noticed. */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include "core/log.h"
#include "kvm/kvm_int.h"

/* The termination signals: the loop's signalfd takes them once the VM
 * runs, the start-up handler before. */
static const int kvm_term_signals[3] = { SIGTERM, SIGINT, SIGHUP };

/* Start-up handler.  Not SA_RESTART, so a start-up step blocked in a
 * system call (an open() of a FIFO for -serial file:, a poll for a
 * chardev client) returns EINTR and start-up fails over to the check in
 * kvm_startup_end; SA_RESETHAND, so the kernel puts SIG_DFL back on
 * delivery, which is how start-up learns that a signal came (no flag in
 * memory).
 *
 * The signal must also outlive the handler: it may come between two
 * steps, before the next one blocks (the socket file of a wait=on chardev
 * exists from bind(), before its wait polls), and that step would then
 * wait for a client with nothing left to stop it.  So the handler leaves
 * it pending and blocked -- blocked now, re-raised, and still blocked
 * after the return through the saved context's mask -- and every
 * blocking start-up step that polls (chr_socket_wait_client) sees it in
 * sigpending(). */
static void kvm_startup_signal(int sig, siginfo_t *si, void *uctx)
{
	(void)si;
	ucontext_t *uc = uctx;
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	pthread_sigmask(SIG_BLOCK, &one, NULL);
	raise(sig);
	sigaddset(&uc->uc_sigmask, sig);
}

/* Start-up begins: until kvm_startup_end, a termination signal
 * interrupts what the main thread is doing instead of waiting, blocked,
 * for a loop that is not running yet.  Threads started meanwhile (I/O
 * threads) are created with the signals blocked. */
void kvm_startup_begin(struct kvm_machine *km)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = kvm_startup_signal;
	sa.sa_flags = SA_RESETHAND | SA_SIGINFO;
	/* One at a time: the handler blocks the one it took. */
	kvm_term_sigset(&sa.sa_mask);
	for (unsigned i = 0; i < 3; i++)
		sigaction(kvm_term_signals[i], &sa, &km->startup_old[i]);
	km->starting = true;
}

/* Start-up ends (the VM is about to run, or start-up failed): block the
 * signals for the loop's signalfd (set), put the old dispositions back,
 * and say whether one arrived meanwhile.  Blocked first, so one arriving
 * now waits for the signalfd instead of being missed. */
bool kvm_startup_end(struct kvm_machine *km, const sigset_t *set)
{
	if (!km->starting)
		return false;
	pthread_sigmask(SIG_BLOCK, set, NULL);
	bool signalled = false;
	for (unsigned i = 0; i < 3; i++) {
		struct sigaction cur;
		if (sigaction(kvm_term_signals[i], NULL, &cur) == 0 &&
		    cur.sa_sigaction != kvm_startup_signal)
			signalled = true;
		sigaction(kvm_term_signals[i], &km->startup_old[i], NULL);
	}
	/* What the handler left pending is taken here: it has been
	 * answered (start-up ends), and must not reach the loop's signalfd
	 * or a default disposition a second time. */
	if (signalled) {
		const struct timespec now = { 0, 0 };
		while (sigtimedwait(set, NULL, &now) > 0)
			;
	}
	km->starting = false;
	return signalled;
}

/* A termination signal during start-up: the run ends as one during the
 * run does (a host shutdown request, status 0), before any vCPU ran. */
int kvm_startup_terminated(struct kvm_machine *km, struct kvm_result *res)
{
	log_info(km->m.log, "vmm: terminating on a signal during start-up");
	*res = (struct kvm_result){ MACHINE_SHUTDOWN, 0 };
	return 0;
}

void kvm_term_sigset(sigset_t *set)
{
	sigemptyset(set);
	for (unsigned i = 0; i < 3; i++)
		sigaddset(set, kvm_term_signals[i]);
}
