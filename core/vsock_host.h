/* The host side of a virtio-vsock device (devices/virtio/vsock.h): stream
 * connections between guest ports and host peers, behind an ops table so
 * the device model touches no socket or file.
 *
 * A connection is a small integer handle the backend hands out.  Data
 * moves by pull on both sides, with readiness callbacks the device turns
 * on and off (vsock_host_watch), so neither side ever buffers more than
 * the device allows: the device reads host data only while the guest has
 * credit for it, and writes guest data only while the host peer takes it.
 *
 * Backends:
 *  - uds (vsock_uds.c): the Firecracker / Cloud Hypervisor convention.  A
 *    host peer connects to PATH and writes "CONNECT <port>\n"; when the
 *    guest accepts, it reads "OK <assigned>\n" and the socket is the
 *    stream.  A guest connecting to host port P reaches a listener the
 *    host made at "PATH_P".
 *  - mem (vsock_mem.c): in memory, for unit tests, fuzzers and the
 *    simulator, with bounded peer buffers a test fills and drains. */
#ifndef VMM_CORE_VSOCK_HOST_H
#define VMM_CORE_VSOCK_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Readiness bits for watch() and ready(). */
enum { VSOCK_HOST_IN = 1u, VSOCK_HOST_OUT = 2u };

/* Host connections one backend holds at most (established, being
 * set up, or waiting for their CONNECT line): a host peer opening
 * sockets in a loop cannot grow the VMM without bound. */
#define VSOCK_HOST_MAX_CONNS 64u

struct vsock_host;

struct vsock_host_frontend {
	/* A host peer asks for guest port `port` on handle h.  0: the device
	 * takes it and answers later with accept() or close(); -errno: the
	 * backend closes h itself. */
	int (*incoming)(void *opaque, int h, uint32_t port);
	/* h became readable (data or end of stream) / writable, for the bits
	 * the device watches. */
	void (*ready)(void *opaque, int h, unsigned events);
	void *opaque;
};

struct vsock_host_ops {
	/* The guest connects to host port `port`: 0 with *h set, or -errno
	 * (nobody listens: -ECONNREFUSED). */
	int (*connect)(struct vsock_host *vh, uint32_t port, int *h);
	/* The guest accepted the host peer's connection h, whose host side
	 * the device numbers `local_port` (sent back as "OK <port>\n"). */
	int (*accept)(struct vsock_host *vh, int h, uint32_t local_port);
	/* Guest -> host peer: bytes taken (maybe fewer than len), -EAGAIN
	 * when it takes none now, or -EPIPE / -errno when it is gone. */
	ssize_t (*send)(struct vsock_host *vh, int h, const void *buf, size_t len);
	/* Host peer -> guest: bytes read (> 0), 0 at end of stream, -EAGAIN
	 * when nothing is there now, or -errno. */
	ssize_t (*recv)(struct vsock_host *vh, int h, void *buf, size_t len);
	/* The guest will send no more (shut the host peer's read side). */
	void (*shutdown_send)(struct vsock_host *vh, int h);
	/* Which of VSOCK_HOST_IN/OUT to report through ready(). */
	void (*watch)(struct vsock_host *vh, int h, unsigned events);
	/* Forget h; the host peer sees the connection closed. */
	void (*close)(struct vsock_host *vh, int h);
	void (*free)(struct vsock_host *vh);
};

struct vsock_host {
	const struct vsock_host_ops *ops;
	struct vsock_host_frontend fe;
	bool attached;
};

/* The device attaches itself (and detaches before it goes). */
void vsock_host_attach(struct vsock_host *vh, const struct vsock_host_frontend *fe);
void vsock_host_detach(struct vsock_host *vh);
int vsock_host_connect(struct vsock_host *vh, uint32_t port, int *h);
int vsock_host_accept(struct vsock_host *vh, int h, uint32_t local_port);
ssize_t vsock_host_send(struct vsock_host *vh, int h, const void *buf, size_t len);
ssize_t vsock_host_recv(struct vsock_host *vh, int h, void *buf, size_t len);
void vsock_host_shutdown_send(struct vsock_host *vh, int h);
void vsock_host_watch(struct vsock_host *vh, int h, unsigned events);
void vsock_host_close(struct vsock_host *vh, int h);
void vsock_host_free(struct vsock_host *vh);
/* For backends: tell the attached device (no-op when none). */
int vsock_host_incoming(struct vsock_host *vh, int h, uint32_t port);
void vsock_host_ready(struct vsock_host *vh, int h, unsigned events);

/* uds backend: listen at path (a stale socket there is replaced, a live
 * one or another file is an error, as for -chardev socket,server).  The
 * loop watches the sockets; only the listener this run created is
 * removed at free.  NULL with errno set (and a reason in err). */
struct evloop;
struct log;
/* Host peers still owing their CONNECT line (a peer that connects and
 * says nothing holds one), so they cannot take every slot. */
#define VSOCK_UDS_MAX_HANDSHAKES 8u
struct vsock_host *vsock_uds_new(const char *path, struct evloop *loop,
				 struct log *log, char *err, size_t errlen);

/* mem backend.  Each direction of a connection holds at most
 * VSOCK_MEM_CAP bytes: a test can play a host peer that stops reading. */
#define VSOCK_MEM_CAP 16384u
struct vsock_host *vsock_mem_new(void);
/* Host ports the guest may connect to (others refuse). */
void vsock_mem_listen(struct vsock_host *vh, uint32_t port, bool on);
/* A host peer asks for guest port `port`: the handle, or -errno. */
int vsock_mem_host_connect(struct vsock_host *vh, uint32_t port);
/* The newest guest-made connection to `port` (-1 if none). */
int vsock_mem_find(struct vsock_host *vh, uint32_t port);
/* Host peer writes (bytes taken) / reads (bytes read) / closes. */
size_t vsock_mem_write(struct vsock_host *vh, int h, const void *buf, size_t len);
size_t vsock_mem_read(struct vsock_host *vh, int h, void *buf, size_t len);
void vsock_mem_peer_close(struct vsock_host *vh, int h);
/* State of h as the host peer sees it: accepted with this local port (0
 * not yet), closed by the device, guest's send side shut. */
struct vsock_mem_state {
	bool open, accepted, closed_by_device, send_shut;
	uint32_t local_port;
	size_t to_host, to_guest;   /* bytes waiting each way */
};
int vsock_mem_state(const struct vsock_host *vh, int h, struct vsock_mem_state *st);
unsigned vsock_mem_open_count(const struct vsock_host *vh);

#endif
