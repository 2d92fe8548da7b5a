/* Machine-level snapshots (docs/snapshot.md): every device on the board in
 * a fixed order behind a fingerprint of the device set, and guest RAM.
 * Callers hold the machine lock with the vCPUs stopped.  I/O threads need
 * not be stopped: they run device code only under that lock, and
 * board_save_state first runs every queue notification still waiting in
 * an ioeventfd (board_kicks_drain). */
#ifndef VMM_MACHINE_BOARD_SNAPSHOT_H
#define VMM_MACHINE_BOARD_SNAPSHOT_H

#include <stdbool.h>

struct board;
struct snap_w;
struct snap_r;

/* Kinds of board items with state (board_snap_mark). */
enum {
	BOARD_SNAP_NONE = 0,
	BOARD_SNAP_SERIAL,
	BOARD_SNAP_RTC,
	BOARD_SNAP_PIT,
	BOARD_SNAP_I8042,
	BOARD_SNAP_VIRTIO_MMIO,
	BOARD_SNAP_VIRTIO_PCI,
	BOARD_SNAP_PCI_HOST,
	BOARD_SNAP_PCI_BRIDGE,
	BOARD_SNAP_PCIE_PORT,
	BOARD_SNAP_SHPC,
	BOARD_SNAP_KINDS
};

/* Every device on the board, in a fixed order, after a "board" section
 * that fingerprints the device set so a mismatched command line is refused
 * with one line naming the first differing device.  The clock time of
 * the save is recorded; board_load_state shifts restored instants by
 * (now - then) (snap_r_set_time_shift).  On a load error the board must
 * be freed, not run: devices are loaded one after another. */
int board_save_state(struct board *b, struct snap_w *w);
int board_load_state(struct board *b, struct snap_r *r);
/* After board_save_state failed: one line naming the device and why
 * (NULL when no device failed). */
const char *board_save_error(const struct board *b);
/* The guest is about to run after a save (the VM goes on, or the save
 * failed) or after a whole load (devices, then RAM): every device's
 * vdev_ops.resume.  vhost-user backends stopped by a save, or fresh
 * ones after a load, start their rings from the saved bases here, and
 * virtio-vsock sends the driver TRANSPORT_RESET.  Cheap and idempotent:
 * callers call it whenever the vCPUs are let go after either. */
void board_snap_resume(struct board *b);
/* Guest RAM: every region's bytes, or, with ignore_shared, regions backed
 * by a shared file/memfd are recorded by name+size only and must be mapped
 * again (same backend options) by the restoring VMM. */
int board_save_ram(struct board *b, struct snap_w *w, bool ignore_shared);
int board_load_ram(struct board *b, struct snap_r *r, bool ignore_shared);
/* After a whole machine was loaded (devices, RAM, vCPUs), before it runs:
 * kick once every queue whose doorbell an I/O thread watches, so a
 * notification that was still in its eventfd when an older vmm saved the
 * stream is not lost (machine/board_iothread.c says why both this and
 * the drain board_save_state does).  Lock held.  Returns the kicks made;
 * 0 in the simulator. */
unsigned board_kicks_replay(struct board *b);

#endif
