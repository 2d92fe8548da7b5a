/* vhost-user frontend: one connection to an untrusted backend process
 * (QEMU docs/interop/vhost-user.rst), shared by every vhost-user device.
 *
 * Every request is one bounded exchange: the send and the wait for a
 * reply each end at a deadline (timeout_ms, default 1 s), so a backend
 * that stalls, lies or disconnects costs the caller at most that and then
 * the connection is marked broken for good (one log line).  The frontend
 * never negotiates BACKEND_REQ, so the backend has nothing to say
 * unprompted: bytes or a hang-up on an idle socket also break it.
 * Kick and call go through eventfds the connection owns. */
#ifndef VMM_CORE_VHOST_USER_H
#define VMM_CORE_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/vhost_user_msg.h"

struct gm;
struct log;
struct evloop;

#define VHU_MAX_QUEUES 16

struct vhu_vring {
	uint32_t num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* Where the backend starts (SET_VRING_BASE): split rings, the next
	 * avail index (bits 0-15); packed, last avail index and wrap
	 * counter (bits 0-15) and last used index and wrap (16-31). */
	uint32_t base;
};

/* What the connection tells its device: the backend used buffers on
 * queue q (call), or the connection broke.  Called from the event loop
 * (machine lock held) or from vhu_poll. */
struct vhu_handlers {
	void (*call)(void *opaque, unsigned q);
	/* why: one line for the log; the device logs it (as its
	 * DEVICE_NEEDS_RESET line), so the breakage is logged once. */
	void (*broken)(void *opaque, const char *why);
	void *opaque;
};

struct vhu;

/* Connect to a backend's unix socket (client mode).  NULL with err. */
struct vhu *vhu_connect(const char *path, const char *id, struct log *log,
			char *err, size_t errlen);
/* Take over a connected socket (tests: one end of a socketpair). */
struct vhu *vhu_new_fd(int fd, const char *id, struct log *log);
void vhu_free(struct vhu *c);
void vhu_set_timeout(struct vhu *c, int timeout_ms);

/* GET_FEATURES, protocol features (we want REPLY_ACK, CONFIG, MQ; the
 * backend's mask applies), GET_QUEUE_NUM under MQ, SET_OWNER.  0 or -1
 * (broken, logged). */
int vhu_handshake(struct vhu *c);
uint64_t vhu_features(const struct vhu *c);          /* the backend's */
uint64_t vhu_protocol_features(const struct vhu *c); /* negotiated */
uint32_t vhu_queue_num(const struct vhu *c);         /* 0: no MQ */

/* GET_CONFIG / SET_CONFIG (needs the CONFIG protocol feature). */
int vhu_get_config(struct vhu *c, uint32_t off, void *buf, uint32_t len);
int vhu_set_config(struct vhu *c, uint32_t off, const void *buf, uint32_t len);

/* Is every RAM region of gm shareable (GM_SHARED with an fd)? */
bool vhu_gm_shareable(const struct gm *gm);

/* Start the device: SET_FEATURES, SET_MEM_TABLE (one fd per region,
 * SCM_RIGHTS), then per ring NUM, BASE, ADDR (host addresses, as the
 * protocol wants frontend user addresses), KICK, CALL, ERR and ENABLE.
 * nq rings, all live.  0 or -1 (broken). */
int vhu_start(struct vhu *c, const struct gm *gm, uint64_t features,
	      unsigned nq, const struct vhu_vring *rings);
/* Stop: GET_VRING_BASE on every started ring (the backend stops them).
 * Fine on a broken connection (nothing sent). */
void vhu_stop(struct vhu *c);

/* GET_VRING_BASE on started ring q: the backend stops it and answers
 * where it would go on (vhost-user.rst "Stopping rings").  0 with *base,
 * or -1 (not started, or broken: logged).  The ring counts as stopped
 * either way. */
int vhu_get_vring_base(struct vhu *c, unsigned q, uint32_t *base);
bool vhu_ring_started(const struct vhu *c, unsigned q);
int vhu_timeout(const struct vhu *c);

/* A save (core/vhost_user_snap.c): stop every started ring among
 * rings[0..nq) with GET_VRING_BASE into bases[], check each answer
 * against the ring in guest RAM (a split ring's base lies between the
 * used and the avail index; packed, both indices below the size), and
 * wait, bounded by the connection's timeout, until every request the
 * backend took is in the used ring, so guest RAM and the bases agree.
 * 0, or -1 with why (one line; a lying backend is also broken). */
int vhu_stop_for_save(struct vhu *c, const struct gm *gm, unsigned nq,
		      const struct vhu_vring *rings, bool packed,
		      uint32_t *bases, char *why, size_t whylen);
/* Check a base to start from (a loaded one) against the ring in guest
 * RAM the same way: 0, or -1 with why. */
int vhu_check_base(const struct gm *gm, const struct vhu_vring *ring,
		   bool packed, char *why, size_t whylen);

/* The guest kicked queue q. */
void vhu_kick(struct vhu *c, unsigned q);
/* The eventfds (for ioeventfd/irqfd wiring), -1 when out of range. */
int vhu_kick_fd(const struct vhu *c, unsigned q);
int vhu_call_fd(const struct vhu *c, unsigned q);

/* Calls straight into the guest (issue 16: irqfd under KVM).  The
 * host's fn binds the call eventfd fd of a queue to an MSI message
 * (VHU_IRQFD_BIND), points a bound one at a new message (UPDATE), or
 * unbinds it (UNBIND); *route is that queue's slot for the host (-1 at
 * first; KVM keeps its GSI there).  0 or -errno. */
enum vhu_irqfd_op { VHU_IRQFD_BIND, VHU_IRQFD_UPDATE, VHU_IRQFD_UNBIND };
typedef int vhu_irqfd_fn(void *opaque, int fd, uint64_t addr, uint32_t data,
			 int *route, enum vhu_irqfd_op op);
void vhu_set_irqfd(struct vhu *c, vhu_irqfd_fn *fn, void *opaque);
/* Route queue q's calls: on, straight to the MSI message (addr, data)
 * through the host's irqfd (the loop stops watching that eventfd); off,
 * back through the loop (or vhu_poll) and the device's call handler.
 * Without fn, or when binding fails, calls keep going the slow way. */
void vhu_route_call(struct vhu *c, unsigned q, bool on, uint64_t addr, uint32_t data);
bool vhu_call_routed(const struct vhu *c, unsigned q);

/* Where calls and breakage are delivered.  With a loop, the call fds and
 * the socket are watched there; without (simulator, tests) vhu_poll()
 * checks them. */
int vhu_attach(struct vhu *c, struct evloop *loop, const struct vhu_handlers *h);
void vhu_poll(struct vhu *c);

bool vhu_is_broken(const struct vhu *c);
/* Mark broken (logged once with why), close the socket. */
void vhu_break(struct vhu *c, const char *why);

#endif
