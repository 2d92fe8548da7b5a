/* kvm_startup: a termination signal during a KVM machine's start-up.  The
 * case that matters is one arriving between two steps -- after a wait=on
 * chardev's socket file exists (bind) and before its wait polls: it must
 * still end that wait, and start-up must then end quietly with nothing
 * left pending.  Needs no /dev/kvm. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/chardev.h"
#include "core/chardev_host.h"
#include "core/log.h"
#include "kvm/kvm_int.h"

static bool pending(int sig)
{
	sigset_t p;
	assert_int_equal(sigpending(&p), 0);
	return sigismember(&p, sig) == 1;
}

/* A signal taken by the start-up handler while no step blocks stays
 * pending, so the next blocking step sees it; start-up's end says so
 * and takes it. */
static void test_signal_between_steps(void **state)
{
	(void)state;
	struct kvm_machine *km = calloc(1, sizeof(*km));
	assert_non_null(km);
	sigset_t set;
	kvm_term_sigset(&set);
	kvm_startup_begin(km);
	raise(SIGTERM);          /* the handler runs now, between steps */
	assert_true(pending(SIGTERM));

	/* The next step: a wait=on socket.  Without the pending signal it
	 * would wait for a client forever (the alarm ends the test then). */
	char dir[] = "/tmp/vmm-startup.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/s", dir);
	struct log *log = log_new_memory(LOG_ERROR);
	alarm(20);
	errno = 0;
	struct chr *c = chr_socket_new("c0", path, true, NULL, log);
	alarm(0);
	assert_null(c);
	assert_int_equal(errno, EINTR);

	assert_true(kvm_startup_end(km, &set));
	assert_false(pending(SIGTERM));
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	unlink(path);
	rmdir(dir);
	log_free(log);
	free(km);
}

/* No signal: start-up's end says none came, and leaves nothing behind. */
static void test_no_signal(void **state)
{
	(void)state;
	struct kvm_machine *km = calloc(1, sizeof(*km));
	assert_non_null(km);
	sigset_t set;
	kvm_term_sigset(&set);
	kvm_startup_begin(km);
	assert_false(kvm_startup_end(km, &set));
	assert_false(kvm_startup_end(km, &set));   /* only once */
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	free(km);
}

/* Two signals of different kinds: both answered by the one end. */
static void test_two_signals(void **state)
{
	(void)state;
	struct kvm_machine *km = calloc(1, sizeof(*km));
	assert_non_null(km);
	sigset_t set;
	kvm_term_sigset(&set);
	kvm_startup_begin(km);
	raise(SIGINT);
	raise(SIGHUP);
	assert_true(pending(SIGINT));
	assert_true(pending(SIGHUP));
	assert_true(kvm_startup_end(km, &set));
	assert_false(pending(SIGINT));
	assert_false(pending(SIGHUP));
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	free(km);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signal_between_steps),
		cmocka_unit_test(test_no_signal),
		cmocka_unit_test(test_two_signals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
