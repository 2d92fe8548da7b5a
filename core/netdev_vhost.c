/* vhost=on on a tap: the reason it is refused, checked against the host.
 *
 * Kernel vhost-net would move the rings in the kernel (VHOST_SET_OWNER,
 * VHOST_SET_MEM_TABLE, VHOST_SET_VRING_*, VHOST_NET_SET_BACKEND); vmm does
 * not drive it yet.  Quietly running the userspace device instead would
 * make the caller believe it has vhost (and hold a vhost fd for nothing),
 * so every vhost=on is an error naming what is missing: the device node,
 * a descriptor that is not vhost-net, or vmm's own support. */
#include "core/netdev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define VHOST_NET_DEV "/dev/vhost-net"

/* Does fd answer VHOST_GET_FEATURES with the vhost-net feature set?  Only
 * a vhost device node does; the ioctl reads state and changes nothing. */
static bool is_vhost_fd(int fd)
{
	struct stat st;
	uint64_t f = 0;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode))
		return false;
	return ioctl(fd, VHOST_GET_FEATURES, &f) == 0;
}

int netdev_vhost_refuse(const char *id, const int *vhostfds, unsigned n,
			char *err, size_t errlen)
{
	const char *opt = n > 1 ? "vhostfds" : "vhostfd";
	for (unsigned i = 0; i < n; i++) {
		if (vhostfds[i] < 0 || fcntl(vhostfds[i], F_GETFD) < 0) {
			snprintf(err, errlen, "-netdev id=%s: vhost=on: %s=%d is not open (want an open %s)",
				 id, opt, vhostfds[i], VHOST_NET_DEV);
			return -1;
		}
		if (!is_vhost_fd(vhostfds[i])) {
			snprintf(err, errlen, "-netdev id=%s: vhost=on: %s=%d is not a vhost-net descriptor (%s)",
				 id, opt, vhostfds[i], VHOST_NET_DEV);
			return -1;
		}
	}
	struct stat st;
	if (n == 0 && stat(VHOST_NET_DEV, &st) < 0) {
		snprintf(err, errlen, "-netdev id=%s: vhost=on needs %s, which this host lacks (use vhost=off)",
			 id, VHOST_NET_DEV);
		return -1;
	}
	snprintf(err, errlen, "-netdev id=%s: vhost=on: vmm does not drive kernel vhost-net (%s) yet (use vhost=off)",
		 id, VHOST_NET_DEV);
	return -1;
}
