/* The kernel's vhost-vsock (/dev/vhost-vsock) as vhost-vsock-pci and
 * vhost-vsock-device would use it: found, or refused with one line that
 * names what is missing.  An inherited vhostfd= is checked to be that
 * device (a character device with the vhost-vsock misc minor, answering
 * VHOST_GET_FEATURES) before anything trusts it. */
#ifndef VMM_CORE_VHOST_VSOCK_H
#define VMM_CORE_VHOST_VSOCK_H

#include <stddef.h>

#define VHOST_VSOCK_PATH "/dev/vhost-vsock"

/* Open (fd < 0) or check (fd >= 0) the vhost-vsock device: the fd
 * (owned by the caller when it passed one), or -1 with the reason in
 * err (no prefix, e.g. "/dev/vhost-vsock: No such file or directory"). */
int vhost_vsock_open(int fd, char *err, size_t errlen);

#endif
