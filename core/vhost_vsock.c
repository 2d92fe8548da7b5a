/* Finding and checking /dev/vhost-vsock (see vhost_vsock.h). */
#include "vhost_vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* include/linux/miscdevice.h: VHOST_VSOCK_MINOR on MISC_MAJOR. */
#define MISC_MAJOR_NR 10u
#define VHOST_VSOCK_MINOR_NR 241u

static int check(int fd, const char *what, char *err, size_t errlen)
{
	struct stat st;
	uint64_t features;
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", what, strerror(errno));
		return -1;
	}
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != MISC_MAJOR_NR ||
	    minor(st.st_rdev) != VHOST_VSOCK_MINOR_NR ||
	    ioctl(fd, VHOST_GET_FEATURES, &features) != 0) {
		/* Say so when the host has none at all: that is the fix. */
		snprintf(err, errlen, "%s is not %s%s", what, VHOST_VSOCK_PATH,
			 access(VHOST_VSOCK_PATH, F_OK) != 0 ?
			 " (the host kernel has no vhost-vsock: no /dev/vhost-vsock)" : "");
		return -1;
	}
	return 0;
}

int vhost_vsock_open(int fd, char *err, size_t errlen)
{
	char what[32];
	if (fd >= 0) {
		snprintf(what, sizeof(what), "vhostfd=%d", fd);
		return check(fd, what, err, errlen) < 0 ? -1 : fd;
	}
	fd = open(VHOST_VSOCK_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s (the host kernel has no vhost-vsock)",
			 VHOST_VSOCK_PATH, strerror(errno));
		return -1;
	}
	if (check(fd, VHOST_VSOCK_PATH, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}
