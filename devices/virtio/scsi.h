/* virtio-scsi host bus adapter (virtio 1.2 §5.6): a control queue (task
 * management and asynchronous notification requests), an event queue and
 * request queues carrying SCSI commands to logical units addressed by
 * (target, LUN).  The LUs are SCSI disks or CD-ROMs over block backends
 * (scsi_disk.h); this module is the virtio side: parsing the request and
 * response headers, routing by LUN, residuals and response codes.
 *
 * Nothing the guest sends is trusted: a chain too short for its headers,
 * a cdb_size/sense_size written out of range, a LUN of the wrong format,
 * a transfer that does not fit the buffers each get an answer (or, with
 * no room for one, the chain back unwritten) and the device carries on.
 * Each queue kick handles at most VSCSI_KICK_BUDGET requests and
 * schedules the rest on the clock, so one notification is bounded work. */
#ifndef VMM_VIRTIO_SCSI_H
#define VMM_VIRTIO_SCSI_H

#include <stdbool.h>
#include <stdint.h>

struct vdev;
struct gm;
struct log;
struct clk;
struct blockdev;

#include "devices/virtio/virtio.h"   /* VDEV_MAX_QUEUES */

/* §5.6.3 feature bits (HOTPLUG offered: LUs come and go at run time
 * with an event; no bidirectional commands, no T10 PI). */
#define VIRTIO_SCSI_F_INOUT 0
#define VIRTIO_SCSI_F_HOTPLUG 1
#define VIRTIO_SCSI_F_CHANGE 2
#define VIRTIO_SCSI_F_T10_PI 3

/* §5.6.4 */
struct virtio_scsi_config {
	uint32_t num_queues;
	uint32_t seg_max;
	uint32_t max_sectors;
	uint32_t cmd_per_lun;
	uint32_t event_info_size;
	uint32_t sense_size;       /* driver-writable */
	uint32_t cdb_size;         /* driver-writable */
	uint16_t max_channel;
	uint16_t max_target;
	uint32_t max_lun;
} __attribute__((packed));

#define VIRTIO_SCSI_CDB_DEFAULT_SIZE 32u
#define VIRTIO_SCSI_SENSE_DEFAULT_SIZE 96u
/* Largest values a driver may write (QEMU's limits: a CDB fits one
 * byte's length, sense an unsigned 16-bit one). */
#define VIRTIO_SCSI_CDB_MAX 255u
#define VIRTIO_SCSI_SENSE_MAX 65535u

/* §5.6.6.1 request header (cdb is cdb_size bytes) and response header
 * (sense is sense_size bytes), as fixed parts. */
struct virtio_scsi_req_cmd {
	uint8_t lun[8];
	uint64_t id;
	uint8_t task_attr;
	uint8_t prio;
	uint8_t crn;
} __attribute__((packed));   /* then cdb[cdb_size], then data-out */
struct virtio_scsi_resp_cmd {
	uint32_t sense_len;
	uint32_t residual;
	uint16_t status_qualifier;
	uint8_t status;
	uint8_t response;
} __attribute__((packed));   /* then sense[sense_size], then data-in */

/* §5.6.6.1 response codes. */
#define VIRTIO_SCSI_S_OK 0u
#define VIRTIO_SCSI_S_OVERRUN 1u
#define VIRTIO_SCSI_S_ABORTED 2u
#define VIRTIO_SCSI_S_BAD_TARGET 3u
#define VIRTIO_SCSI_S_RESET 4u
#define VIRTIO_SCSI_S_BUSY 5u
#define VIRTIO_SCSI_S_TRANSPORT_FAILURE 6u
#define VIRTIO_SCSI_S_TARGET_FAILURE 7u
#define VIRTIO_SCSI_S_NEXUS_FAILURE 8u
#define VIRTIO_SCSI_S_FAILURE 9u
#define VIRTIO_SCSI_S_FUNCTION_SUCCEEDED 10u
#define VIRTIO_SCSI_S_FUNCTION_REJECTED 11u
#define VIRTIO_SCSI_S_INCORRECT_LUN 12u
#define VIRTIO_SCSI_S_FUNCTION_COMPLETE 0u

/* §5.6.6.2 control queue. */
#define VIRTIO_SCSI_T_TMF 0u
#define VIRTIO_SCSI_T_AN_QUERY 1u
#define VIRTIO_SCSI_T_AN_SUBSCRIBE 2u
#define VIRTIO_SCSI_T_TMF_ABORT_TASK 0u
#define VIRTIO_SCSI_T_TMF_ABORT_TASK_SET 1u
#define VIRTIO_SCSI_T_TMF_CLEAR_ACA 2u
#define VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET 3u
#define VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET 4u
#define VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET 5u
#define VIRTIO_SCSI_T_TMF_QUERY_TASK 6u
#define VIRTIO_SCSI_T_TMF_QUERY_TASK_SET 7u

struct virtio_scsi_ctrl_tmf {
	uint32_t type;
	uint32_t subtype;
	uint8_t lun[8];
	uint64_t id;
} __attribute__((packed));   /* device-writable: u8 response */
struct virtio_scsi_ctrl_an {
	uint32_t type;
	uint8_t lun[8];
	uint32_t event_requested;
} __attribute__((packed));   /* device-writable: le32 event_actual, u8 response */

/* §5.6.6.3 events on the event queue. */
#define VIRTIO_SCSI_EVENT_SIZE 16u
#define VIRTIO_SCSI_T_NO_EVENT 0u
#define VIRTIO_SCSI_T_TRANSPORT_RESET 1u
#define VIRTIO_SCSI_T_EVENTS_MISSED 0x80000000u
#define VIRTIO_SCSI_EVT_RESET_HARD 0u
#define VIRTIO_SCSI_EVT_RESET_RESCAN 1u
#define VIRTIO_SCSI_EVT_RESET_REMOVED 2u
struct virtio_scsi_event {
	uint32_t event;
	uint8_t lun[8];
	uint32_t reason;
} __attribute__((packed));
/* Events held while the driver has no event buffer posted; past that,
 * the next event carries VIRTIO_SCSI_T_EVENTS_MISSED. */
#define VSCSI_MAX_EVENTS 16u

#define VSCSI_CTRLQ 0u
#define VSCSI_EVENTQ 1u
#define VSCSI_REQQ 2u            /* first request queue */
#define VSCSI_QUEUE_SIZE 128u
#define VSCSI_MAX_TARGET 255u
#define VSCSI_MAX_LUN 16383u
#define VSCSI_MAX_LUNS 64u
#define VSCSI_MAX_REQ_QUEUES (VDEV_MAX_QUEUES - VSCSI_REQQ)       /* LUs one adapter holds */
/* Requests, and data bytes, one kick (or one resume timer) handles per
 * queue before yielding to the event loop. */
#define VSCSI_KICK_BUDGET 64u
#define VSCSI_KICK_BYTES (64ull << 20)

struct vscsi_config {
	const struct gm *gm;
	struct log *log;
	const struct clk *clk;
	uint16_t queue_size;     /* 0: VSCSI_QUEUE_SIZE */
	unsigned num_queues;     /* request queues, 1..VSCSI_MAX_REQ_QUEUES
				  * (0: 1) */
};

/* One logical unit: a disk or CD-ROM on a block backend. */
struct vscsi_lun_config {
	unsigned target;         /* scsi-id, 0..VSCSI_MAX_TARGET */
	unsigned lun;            /* 0..VSCSI_MAX_LUN */
	struct blockdev *bd;     /* not owned */
	bool cdrom;
	const char *serial;      /* NULL: none */
	const char *dev_id;      /* VPD 0x83 designator */
	uint64_t iops_total;     /* 0: unlimited */
};

struct vscsi_stats {
	uint64_t requests;       /* command requests answered */
	uint64_t bad_target, overrun, failure;
	uint64_t dropped;        /* no room for a response: returned unwritten */
	uint64_t tmfs, ans;
	uint64_t events, events_missed;
	uint64_t throttled, deferred;
};

struct vscsi;

struct vscsi *vscsi_new(const struct vscsi_config *cfg);
void vscsi_free(struct vscsi *s);
/* Add an LU before the device is attached.  0, -EINVAL (address out of
 * range), -EEXIST (taken), -ENOSPC (VSCSI_MAX_LUNS), -ENOMEM. */
int vscsi_add_lun(struct vscsi *s, const struct vscsi_lun_config *lc);
/* Hot-plug (§5.6.6.3.1): add an LU while the device runs, or remove
 * one.  With VIRTIO_SCSI_F_HOTPLUG negotiated and the driver running, the
 * driver is told with a TRANSPORT_RESET event (reason RESCAN or REMOVED)
 * on the event queue, and the other LUs of that target get a REPORTED
 * LUNS DATA HAS CHANGED unit attention (SPC-4 §7.8.2), as QEMU does.
 * vscsi_hot_add_lun: as vscsi_add_lun.  vscsi_remove_lun: 0, or -ENOENT
 * (no such LU); the LU is freed, its block backend left to the caller. */
int vscsi_hot_add_lun(struct vscsi *s, const struct vscsi_lun_config *lc);
int vscsi_remove_lun(struct vscsi *s, unsigned target, unsigned lun);
struct vdev *vscsi_vdev(struct vscsi *s);
const struct vscsi_stats *vscsi_get_stats(const struct vscsi *s);
/* The LU at (target, lun), or NULL (tests). */
struct sdisk *vscsi_lun(struct vscsi *s, unsigned target, unsigned lun);

#endif
