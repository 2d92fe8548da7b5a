/* Private to core/vhost_user*.c: the frontend connection's state, and
 * the wire exchange vhost_user_wire.c does for vhost_user.c. */
#ifndef VMM_CORE_VHOST_USER_PRIV_H
#define VMM_CORE_VHOST_USER_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vhost_user.h"
#include "core/vhost_user_msg.h"

struct evloop;
struct log;

struct vhu {
	int fd;
	char id[64];
	struct log *log;
	int timeout_ms;
	bool broken;
	uint64_t features, pfeatures;
	uint32_t queue_num;
	int kick[VHU_MAX_QUEUES], call[VHU_MAX_QUEUES];
	bool started[VHU_MAX_QUEUES];
	unsigned nstarted;
	struct evloop *loop;
	struct vhu_handlers h;
	/* Calls bound to an MSI through the host's irqfd. */
	vhu_irqfd_fn *irqfd;
	void *irqfd_opaque;
	int route[VHU_MAX_QUEUES];
	bool routed[VHU_MAX_QUEUES];
	uint64_t raddr[VHU_MAX_QUEUES];
	uint32_t rdata[VHU_MAX_QUEUES];
};

/* One exchange.  Setters get NEED_REPLY under REPLY_ACK; getters always
 * have a reply.  *out gets a u64 reply; cfg/cfg_len take a GET_CONFIG
 * reply's bytes.  0 or -1 (the connection broken, logged once). */
int vhu_exchange(struct vhu *c, struct vhu_msg *m, const int *fds,
		 unsigned nfds, bool getter, uint64_t *out, uint8_t *cfg,
		 uint32_t cfg_len);
/* Bytes waiting on a socket nobody asked to speak (or a hang-up). */
bool vhu_unprompted(struct vhu *c);

#endif
