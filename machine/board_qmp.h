/* The machine side of QMP's run-time backend commands (issue 15):
 * blockdev-add/-del and chardev-add/-remove change the machine
 * description and the store of host backends kept across boards, and
 * query-pci/-block/-chardev describe the board.  Shared by the KVM
 * machine (kvm/kvm_qmp_be.c wires it into its QMP ops) and the
 * simulator's tests, which drive the same functions.
 *
 * Block nodes: the table holds the names blockdev-add gave (QEMU's
 * node-names, distinct from -drive ids, which blockdev-del does not
 * touch); each is also a drive in the description, so device_add
 * virtio-blk-pci,drive=NODE (or scsi-hd) finds it as it finds a -drive,
 * and the board opens (and locks, core/imglock.h) the image when a
 * device attaches.  A node is refused removal while a device or another
 * node uses it.
 *
 * Chardevs: a client socket is connected at chardev-add, as QEMU does,
 * and the connection held in the store ("vhost-user:ID") for the
 * vhost-user device that device_add attaches to it; a server socket
 * listens from chardev-add on (needs the event loop). */
#ifndef VMM_MACHINE_BOARD_QMP_H
#define VMM_MACHINE_BOARD_QMP_H

#include <stdbool.h>
#include "core/config.h"
#include "core/qmp.h"

struct board;
struct board_backends;
struct evloop;
struct log;

struct board_qmp_node {
	char name[CFG_ID_MAX];
	char child[CFG_ID_MAX];   /* raw over a named protocol node, or "" */
	char driver[16];          /* raw, file, host_device */
};

struct board_qmp {
	struct machine_config *cfg;   /* changed in place */
	struct board **board;         /* the current board (rebuilt at reset) */
	struct board_backends *keep;  /* required */
	struct evloop *loop;          /* NULL: no server sockets */
	struct log *log;
	const char *qmp_path;         /* the monitor's socket (query-chardev) */
	struct board_qmp_node nodes[CFG_MAX_ITEMS];
	unsigned nnodes;
};

/* The store key kind for a client socket chardev-add connected (not a
 * TRACE_BK_* kind: nothing is recorded through it). */
#define BOARD_KEPT_SOCK 100

int board_qmp_blockdev_add(struct board_qmp *q, const struct qmp_blockdev *b,
			   struct qmp_err *e);
int board_qmp_blockdev_del(struct board_qmp *q, const char *name, struct qmp_err *e);
int board_qmp_chardev_add(struct board_qmp *q, const struct qmp_chardev *c,
			  struct qmp_err *e);
int board_qmp_chardev_remove(struct board_qmp *q, const char *id, struct qmp_err *e);
/* query-pci / query-block / query-chardev (board_query.c). */
int board_qmp_query(struct board_qmp *q, const char *what, struct json **out,
		    struct qmp_err *e);
/* The connection chardev-add made for chardev id, handed over (the caller
 * owns the fd), or -1. */
int board_qmp_take_sock(struct board_backends *keep, const char *id);

#endif
