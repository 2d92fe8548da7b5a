/* QMP's run-time backend commands on the KVM machine: blockdev-add/-del,
 * chardev-add/-remove and query-pci/-block/-chardev, served by the
 * machine layer (machine/board_qmp.h) on this machine's description,
 * current board and backend store.  Called with the big lock held. */
#include <stdlib.h>

#include "core/qmp.h"
#include "machine/board_qmp.h"
#include "kvm/kvm_int.h"

static int kq_bd_add(void *o, const struct qmp_blockdev *b, struct qmp_err *e)
{
	return board_qmp_blockdev_add(((struct kvm_machine *)o)->bq, b, e);
}

static int kq_bd_del(void *o, const char *name, struct qmp_err *e)
{
	return board_qmp_blockdev_del(((struct kvm_machine *)o)->bq, name, e);
}

static int kq_chr_add(void *o, const struct qmp_chardev *c, struct qmp_err *e)
{
	return board_qmp_chardev_add(((struct kvm_machine *)o)->bq, c, e);
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
