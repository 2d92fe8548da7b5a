/* ioeventfd: a guest write to a doorbell (virtqueue notify) signals an
 * eventfd inside KVM, without a userspace exit (api.rst KVM_IOEVENTFD). */
#include <errno.h>
#include <sys/ioctl.h>

#include "kvm/kvm_int.h"

int kvm_ioeventfd(struct kvm_vm *vm, const struct kvm_ioeventfd_spec *s,
		  int fd, bool assign)
{
	if (s->len != 0 && s->len != 1 && s->len != 2 && s->len != 4 &&
	    s->len != 8)
		return -EINVAL;
	/* A zero-length match (any width) is MMIO-only (KVM_CAP_IOEVENTFD_ANY_LENGTH). */
	if (s->len == 0 && (s->pio || s->datamatch))
		return -EINVAL;
	struct kvm_ioeventfd e = {
		.datamatch = s->datamatch ? s->data : 0,
		.addr = s->addr,
		.len = s->len,
		.fd = fd,
	};
	if (s->pio)
		e.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (s->datamatch)
		e.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (!assign)
		e.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	return ioctl(vm->fd, KVM_IOEVENTFD, &e) < 0 ? -errno : 0;
}
