/* QMP's run-time backend commands on the KVM machine: blockdev-add/-del,
 * chardev-add/-remove and query-pci/-block/-chardev, served by the
 * machine layer (machine/board_qmp.h) on this machine's description,
 * current board and backend store.  Called with the big lock held. */
#include <stdio.h>
#include <stdlib.h>

#include "core/qmp.h"
#include "machine/board_qmp.h"
#include "kvm/kvm_int.h"

/* Under the seccomp filter of a -no-reboot VM nothing opens a file or a
 * socket after boot (kvm/seccomp.c: openat fails, socket() kills): say so
 * instead of a misleading "Permission denied", or of dying. */
static int kq_sealed(const struct kvm_machine *km, const char *what, struct qmp_err *e)
{
	if (!km->sandboxed || !km->cfg->no_reboot)
		return 0;
	e->cls = "GenericError";
	snprintf(e->desc, sizeof(e->desc),
		 "%s cannot open host files or sockets in a -no-reboot VM under seccomp: give it on the command line, or -disable-seccomp",
		 what);
	return -1;
}

static int kq_bd_add(void *o, const struct qmp_blockdev *b, struct qmp_err *e)
{
	struct kvm_machine *km = o;
	if (kq_sealed(km, "blockdev-add", e) < 0)
		return -1;
	return board_qmp_blockdev_add(km->bq, b, e);
}

static int kq_bd_del(void *o, const char *name, struct qmp_err *e)
{
	return board_qmp_blockdev_del(((struct kvm_machine *)o)->bq, name, e);
}

static int kq_chr_add(void *o, const struct qmp_chardev *c, struct qmp_err *e)
{
	struct kvm_machine *km = o;
	if (kq_sealed(km, "chardev-add", e) < 0)
		return -1;
	return board_qmp_chardev_add(km->bq, c, e);
}

static int kq_chr_rm(void *o, const char *id, struct qmp_err *e)
{
	return board_qmp_chardev_remove(((struct kvm_machine *)o)->bq, id, e);
}

static int kq_query(void *o, const char *what, struct json **out, struct qmp_err *e)
{
	return board_qmp_query(((struct kvm_machine *)o)->bq, what, out, e);
}

int kvm_qmp_be_ops(struct kvm_machine *km, struct qmp_machine_ops *ops)
{
	if (!km->backends)
		return 0;   /* no store to keep run-time backends in */
	km->bq = calloc(1, sizeof(*km->bq));
	if (!km->bq)
		return -1;
	*km->bq = (struct board_qmp){
		.cfg = km->cfg, .board = &km->board, .keep = km->backends,
		.loop = km->m.loop, .log = km->m.log,
		.qmp_path = km->cfg->qmp_path,
	};
	ops->blockdev_add = kq_bd_add;
	ops->blockdev_del = kq_bd_del;
	ops->chardev_add = kq_chr_add;
	ops->chardev_remove = kq_chr_rm;
	ops->query = kq_query;
	return 0;
}

void kvm_qmp_be_free(struct kvm_machine *km)
{
	free(km->bq);
	km->bq = NULL;
}
