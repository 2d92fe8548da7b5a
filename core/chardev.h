/* Character backends (stdio, file, unix socket, pty, in-memory) as the
 * front ends (16550 serial, virtio-console ports) see them.
 *
 * Flow control both ways, nothing lost:
 *  - Output: chr_write() takes what the backend can hold (it buffers up to
 *    CHR_OUT_BUF bytes when the host side is slow or disconnected) and
 *    returns how many bytes it accepted; 0 means "full, try again after the
 *    front end's `writable` callback".  It never blocks.
 *  - Input: the backend asks the front end how much it can take
 *    (`can_receive`) and only reads that much from the host; when the front
 *    end has room again it calls chr_accept_input() and the backend resumes.
 */
#ifndef VMM_CORE_CHARDEV_H
#define VMM_CORE_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHR_OUT_BUF (64u * 1024u)

struct chr;

struct chr_frontend {
	/* Bytes the front end can take now. */
	size_t (*can_receive)(void *opaque);
	/* Deliver up to the amount can_receive() returned. */
	void (*receive)(void *opaque, const uint8_t *buf, size_t len);
	/* Output space became available again (optional). */
	void (*writable)(void *opaque);
	/* Host side connected (1) or went away (0) (optional). */
	void (*connected)(void *opaque, int up);
	void *opaque;
};

struct chr_ops {
	size_t (*write)(struct chr *c, const uint8_t *buf, size_t len);
	/* The front end has room for input again. */
	void (*accept_input)(struct chr *c);
	void (*close)(struct chr *c);
};

struct chr {
	const struct chr_ops *ops;
	struct chr_frontend fe; /* set by chr_attach */
	bool attached;
	bool connected;         /* a host peer is there (always for stdio/file) */
	char id[32];
};

/* Attach a front end (a zeroed fe, or one without can_receive, detaches:
 * the backend then holds input back).  Pending input is offered at once. */
void chr_attach(struct chr *c, const struct chr_frontend *fe);
size_t chr_write(struct chr *c, const uint8_t *buf, size_t len);
void chr_accept_input(struct chr *c);
void chr_close(struct chr *c);

/* Backend side: talk to the attached front end; all are no-ops (0) when
 * nothing is attached.  chr_fe_connected also updates c->connected. */
size_t chr_fe_can_receive(struct chr *c);
void chr_fe_receive(struct chr *c, const uint8_t *buf, size_t len);
void chr_fe_writable(struct chr *c);
void chr_fe_connected(struct chr *c, bool up);

/* In-memory backend (tests, simulator): input is pushed by the test, output
 * captured up to a bound; `out_limit` models a slow host (bytes accepted
 * before the backend reports full; 0 = CHR_OUT_BUF). */
struct chr *chr_mem_new(const char *id, size_t out_limit);
/* Queue input for the front end; delivered as the front end has room.
 * Returns bytes queued. */
size_t chr_mem_push_input(struct chr *c, const uint8_t *buf, size_t len);
/* Bytes of input not yet taken by the front end. */
size_t chr_mem_pending_input(const struct chr *c);
/* Take captured output (drains it, freeing backend space: the front end's
 * writable callback runs). Returns bytes copied. */
size_t chr_mem_take_output(struct chr *c, uint8_t *buf, size_t len);
size_t chr_mem_output_len(const struct chr *c);

#endif
