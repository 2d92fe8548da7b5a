/* Tap descriptors as a launcher passes them (fd=, fds=): each is checked
 * to be an open tap before vmm uses it, with real descriptors of every
 * wrong kind (a pipe, a regular file, a socket, /dev/null, a closed
 * number, /dev/net/tun never attached); the multiqueue opens (fds= and
 * ifname=,queues=) and the queue detach/attach virtio-net asks for, in a
 * private network namespace; and vhost=on's refusal naming
 * /dev/vhost-net. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "tests/unit/skip.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/netdev.h"

static void want_bad(int fd, const char *what)
{
	char why[200];
	why[0] = '\0';
	assert_int_equal(netdev_tap_check_fd(fd, why, sizeof(why)), -1);
	if (!strstr(why, what))
		fail_msg("'%s' lacks '%s'", why, what);
	char num[32];
	snprintf(num, sizeof(num), "fd %d ", fd);
	if (!strstr(why, num))
		fail_msg("'%s' does not name the fd", why);
	assert_null(strchr(why, '\n'));
}

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void test_not_a_tap(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	want_bad(p[0], "is a pipe, not a tap");
	char path[] = "/tmp/vmm-tapfd-XXXXXX";
	int reg = mkstemp(path);
	assert_true(reg >= 0);
	unlink(path);
	want_bad(reg, "is a regular file, not a tap");
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	want_bad(sv[0], "is a socket, not a tap");
	int dn = open("/dev/null", O_RDWR);
	assert_true(dn >= 0);
	want_bad(dn, "is not a tap (TUNGETIFF");
	int closed = dup(dn);
	close(closed);
	want_bad(closed, "is not open");
	want_bad(-1, "is not open");
	int tun = open("/dev/net/tun", O_RDWR);
	if (tun >= 0) {
		want_bad(tun, "attached to no interface");
		close(tun);
	}

	/* The open fails as a whole, names the option and the fd, and hands
	 * every descriptor back to the caller open (none is closed, none
	 * kept). */
	struct netdev *out[3] = { NULL, NULL, NULL };
	char err[256], want[64];
	int fds[3] = { dn, reg, p[1] };
	assert_int_equal(netdev_tap_open_queues("n0", NULL, fds, 3, NULL, out,
						err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "fd %d is not a tap (TUNGETIFF", dn);
	assert_non_null(strstr(err, want));
	assert_null(out[0]);
	for (unsigned i = 0; i < 3; i++)
		assert_true(is_open(fds[i]));
	assert_int_equal(netdev_tap_open_queues("n0", NULL, &reg, 1, NULL, out,
						err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "fd %d is a regular file", reg);
	assert_non_null(strstr(err, want));
	assert_true(is_open(reg));
	close(p[0]);
	close(p[1]);
	close(reg);
	close(sv[0]);
	close(sv[1]);
	close(dn);
}

static void test_vhost_refused(void **state)
{
	(void)state;
	char err[256];
	int dn = open("/dev/null", O_RDWR);
	assert_true(dn >= 0);
	assert_int_equal(netdev_vhost_refuse("n0", &dn, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "vhostfd="));
	assert_non_null(strstr(err, "is not a vhost-net descriptor (/dev/vhost-net)"));
	int fds[2] = { dn, 1000 };
	close(1000);
	assert_int_equal(netdev_vhost_refuse("n0", fds, 2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "vhostfds="));
	close(dn);
	assert_int_equal(netdev_vhost_refuse("n0", fds, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not open"));
	assert_int_equal(netdev_vhost_refuse("n0", NULL, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/dev/vhost-net"));
	assert_non_null(strstr(err, "-netdev id=n0"));
	struct stat st;
	if (stat("/dev/vhost-net", &st) < 0)
		assert_non_null(strstr(err, "which this host lacks"));
	else
		assert_non_null(strstr(err, "does not drive"));
}

/* A tap queue opened the way Kata's runtime opens one. */
static int kata_tap(const char *name, short extra)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
				IFF_MULTI_QUEUE | extra);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int iff(int fd)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	return ioctl(fd, TUNGETIFF, &ifr) < 0 ? -1 : ifr.ifr_flags;
}

/* Returns 0 pass, 77 skip, else the failing step. */
static int tap_child(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		return 77;
	int q0 = kata_tap("kata0", 0);
	if (q0 < 0)
		return errno == EPERM || errno == ENOENT || errno == ENODEV ? 77 : 2;
	int q1 = kata_tap("kata0", 0);
	if (q1 < 0)
		return 3;
	char why[200];
	if (netdev_tap_check_fd(q0, why, sizeof(why)) || netdev_tap_check_fd(q1, why, sizeof(why)))
		return 4;
	/* A tun, and a tap without the vnet header, are refused. */
	int tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "tun9");
	if (tun < 0 || ioctl(tun, TUNSETIFF, &ifr) < 0)
		return 5;
	if (!netdev_tap_check_fd(tun, why, sizeof(why)) || !strstr(why, "not a tap"))
		return 6;
	int nohdr = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "plain9");
	if (nohdr < 0 || ioctl(nohdr, TUNSETIFF, &ifr) < 0)
		return 7;
	if (!netdev_tap_check_fd(nohdr, why, sizeof(why)) || !strstr(why, "IFF_VNET_HDR"))
		return 8;

	/* fds=q0:q1: two queues; the second detached and attached again as
	 * virtio-net's pair count says. */
	struct netdev *out[3];
	char err[256];
	int fds[2] = { q0, q1 };
	if (netdev_tap_open_queues("n0", NULL, fds, 2, NULL, out, err, sizeof(err)))
		return 9;
	if (strcmp(out[0]->id, "n0") || strcmp(out[1]->id, "n0.q1"))
		return 10;
	if (netdev_set_enabled(out[1], false) || !(iff(q1) & IFF_DETACH_QUEUE))
		return 11;
	if (netdev_set_enabled(out[1], true) || (iff(q1) & IFF_DETACH_QUEUE))
		return 12;
	netdev_close(out[0]);
	netdev_close(out[1]);
	if (is_open(q0) || is_open(q1))
		return 13; /* the netdevs own them once opened */

	/* ifname=,queues=3: vmm opens three queues of one multi_queue tap. */
	if (netdev_tap_open_queues("n1", "mq1", NULL, 3, NULL, out, err, sizeof(err)))
		return 14;
	for (unsigned i = 0; i < 3; i++)
		if (!(iff(netdev_tap_fd(out[i])) & IFF_MULTI_QUEUE))
			return 15;
	if (netdev_set_enabled(out[2], false))
		return 16;
	for (unsigned i = 0; i < 3; i++)
		netdev_close(out[i]);
	/* A single-queue tap cannot take queues: one line says why, and the
	 * queue already opened is closed again. */
	int single = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "single9");
	if (single < 0 || ioctl(single, TUNSETIFF, &ifr) < 0 || ioctl(single, TUNSETPERSIST, 1) < 0)
		return 17;
	close(single);
	if (!netdev_tap_open_queues("n2", "single9", NULL, 2, NULL, out, err, sizeof(err)))
		return 18;
	if (!strstr(err, "ifname=single9") || strchr(err, '\n'))
		return 19;
	/* A detach on a single-queue tap is nothing to do, not an error. */
	if (netdev_tap_open_queues("n3", "single9", NULL, 1, NULL, out, err, sizeof(err)))
		return 20;
	if (netdev_set_enabled(out[0], false))
		return 21;
	netdev_close(out[0]);
	close(tun);
	close(nohdr);
	return 0;
}

static void test_tap_queues_in_netns(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		exit(tap_child()); /* exit, not _exit: coverage data is flushed */
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		SKIP_BECAUSE("tap in a network namespace needs CAP_NET_ADMIN "
			     "and /dev/net/tun (run as root)");
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_a_tap),
		cmocka_unit_test(test_vhost_refused),
		cmocka_unit_test(test_tap_queues_in_netns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
