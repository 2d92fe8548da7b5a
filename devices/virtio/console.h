/* virtio-console / virtio-serial (virtio 1.2 §5.3) with
 * VIRTIO_CONSOLE_F_MULTIPORT: a control queue pair and up to
 * VCON_MAX_PORTS ports, each backed by a character backend (core/chardev.h).
 * Port 0 is the console the guest's hvc0 uses.
 *
 * Nothing is lost or reordered either way:
 *  - guest -> host: a chain is held until the backend accepted every byte;
 *    while the backend is full no further TX buffers are popped (they wait
 *    in the ring), and the backend's `writable` callback resumes;
 *  - host -> guest: a bounded per-port buffer, with chardev flow control
 *    (can_receive / chr_accept_input) so the backend reads from the host
 *    only what the buffer can hold. */
#ifndef VMM_VIRTIO_CONSOLE_H
#define VMM_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

struct vdev;
struct gm;
struct clk;
struct log;
struct chr;

/* §5.3.3 */
#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_MULTIPORT 1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

/* §5.3.6.2 control events. */
#define VIRTIO_CONSOLE_DEVICE_READY 0u
#define VIRTIO_CONSOLE_DEVICE_ADD 1u   /* a.k.a. PORT_ADD */
#define VIRTIO_CONSOLE_DEVICE_REMOVE 2u
#define VIRTIO_CONSOLE_PORT_READY 3u
#define VIRTIO_CONSOLE_CONSOLE_PORT 4u
#define VIRTIO_CONSOLE_RESIZE 5u
#define VIRTIO_CONSOLE_PORT_OPEN 6u
#define VIRTIO_CONSOLE_PORT_NAME 7u

struct virtio_console_control {
	uint32_t id;
	uint16_t event;
	uint16_t value;
} __attribute__((packed));

/* §5.3.4 */
struct virtio_console_config {
	uint16_t cols;
	uint16_t rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
} __attribute__((packed));

/* Queues: port0 rx/tx = 0/1, control rx/tx = 2/3, port N rx/tx =
 * 2+2N / 3+2N (§5.3.2); VDEV_MAX_QUEUES bounds the port count. */
#define VCON_MAX_PORTS 7u
#define VCON_CTRL_RXQ 2u
#define VCON_CTRL_TXQ 3u
#define VCON_QUEUE_SIZE 128u
#define VCON_RXBUF 4096u      /* host -> guest bytes buffered per port */
#define VCON_CTRL_QLEN 64u    /* control messages waiting for buffers */
#define VCON_NAME_MAX 64u

struct vcon_config {
	const struct gm *gm;
	struct log *log;
	unsigned max_ports;   /* 1..VCON_MAX_PORTS (0: 1) */
	const struct clk *clk; /* for bounded work per entry (NULL: unbounded) */
	uint16_t queue_size;  /* 0: VCON_QUEUE_SIZE */
	uint16_t cols, rows;
};

struct vcon_stats {
	uint64_t tx_bytes;        /* guest -> host */
	uint64_t rx_bytes;        /* host -> guest */
	uint64_t tx_stalls;       /* backend full: TX paused */
	uint64_t ctrl_in, ctrl_bad, ctrl_dropped;
	uint64_t discarded;       /* guest bytes for a port without a backend */
};

struct vcon;

struct vcon *vcon_new(const struct vcon_config *cfg);
void vcon_free(struct vcon *c);
struct vdev *vcon_vdev(struct vcon *c);
/* Attach a port (chr may be NULL: output discarded, no input).  console:
 * announce it as a console port (hvc); name: PORT_NAME (NULL: none).
 * Adding after the driver is up announces it with DEVICE_ADD.
 * 0, -EINVAL (bad id), -EEXIST. */
int vcon_add_port(struct vcon *c, unsigned id, struct chr *chr, bool console,
		  const char *name);
/* Hot-unplug (§5.3.6.2): the port goes, its backend is detached (the
 * caller closes it), a TX chain in progress is returned, and a driver
 * past DEVICE_READY gets DEVICE_REMOVE.  0, or -ENOENT. */
int vcon_remove_port(struct vcon *c, unsigned id);
/* Guest has the port open (PORT_OPEN from the driver, or always for port
 * 0 without MULTIPORT). */
bool vcon_port_guest_open(const struct vcon *c, unsigned id);
/* Host -> guest bytes buffered for a port. */
unsigned vcon_port_pending(const struct vcon *c, unsigned id);
const struct vcon_stats *vcon_get_stats(const struct vcon *c);

#endif
