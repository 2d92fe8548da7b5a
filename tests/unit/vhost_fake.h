/* A fake vhost-user backend in a thread, over one end of a real
 * socketpair: it answers the frontend as a backend would, or misbehaves
 * in one chosen way, and records what it was sent.  Used by
 * test_vhost_user.c and the simulator's vhost-user tests. */
#ifndef VMM_TESTS_VHOST_FAKE_H
#define VMM_TESTS_VHOST_FAKE_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "core/vhost_user_msg.h"

enum fake_mode {
	FAKE_GOOD,
	FAKE_OVERSIZED,      /* reply header claims a huge payload */
	FAKE_TRUNCATED,      /* reply header, half a payload, then close */
	FAKE_WRONG_ID,       /* reply to GET_FEATURES says request 15 */
	FAKE_BOGUS_FDS,      /* reply carries fds nobody asked for */
	FAKE_UNPROMPTED_ACK, /* an ack right after SET_OWNER's, unasked */
	FAKE_CLOSE_AT_MEMTABLE, /* disconnect mid-setup */
	FAKE_STALL,          /* never answer GET_FEATURES */
	FAKE_NACK,           /* ack SET_MEM_TABLE with failure */
};

struct fake_be {
	int fd;
	enum fake_mode mode;
	pthread_t th;
	uint64_t features, pfeatures;
	uint8_t config[256];
	/* Recorded: */
	unsigned nreq;
	uint32_t reqs[128];
	unsigned memtable_fds, memtable_regions;
	int kick_fd[16], call_fd[16];
	uint32_t vring_num[16];
	uint64_t acked_features;
	unsigned get_vring_base;
	/* Where each ring is: SET_VRING_BASE sets it, GET_VRING_BASE
	 * answers it (a test moves or falsifies it between the two). */
	uint32_t base[16];
	unsigned set_vring_base;
	bool echo_kicks;     /* answer each kick on queue 0 with a call */
	int stop_pipe[2];
};

static int fake_recv(struct fake_be *f, struct vhu_msg *m, int *fds, unsigned *nfds)
{
	uint8_t buf[VHU_HDR_SIZE];
	union { char b[CMSG_SPACE(sizeof(int) * 8)]; struct cmsghdr a; } u;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	*nfds = 0;
	ssize_t n = recvmsg(f->fd, &mh, MSG_WAITALL);
	if (n != (ssize_t)sizeof(buf))
		return -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_type == SCM_RIGHTS) {
			*nfds = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds, CMSG_DATA(cm), *nfds * sizeof(int));
		}
	memcpy(&m->request, buf, 4);
	memcpy(&m->flags, buf + 4, 4);
	memcpy(&m->size, buf + 8, 4);
	if (m->size > VHU_MAX_PAYLOAD)
		return -1;
	if (m->size && recv(f->fd, m->payload, m->size, MSG_WAITALL) != (ssize_t)m->size)
		return -1;
	return 0;
}

static void fake_send(struct fake_be *f, uint32_t req, const void *p, uint32_t size,
		      const int *fds, unsigned nfds)
{
	uint8_t buf[VHU_HDR_SIZE + 512];
	uint32_t flags = VHU_VERSION | VHU_FLAG_REPLY;
	memcpy(buf, &req, 4);
	memcpy(buf + 4, &flags, 4);
	memcpy(buf + 8, &size, 4);
	if (size <= 512 && p)
		memcpy(buf + VHU_HDR_SIZE, p, size);
	struct iovec iov = { buf, VHU_HDR_SIZE + (size <= 512 ? size : 0) };
	union { char b[CMSG_SPACE(sizeof(int) * 4)]; struct cmsghdr a; } u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	if (sendmsg(f->fd, &mh, MSG_NOSIGNAL) < 0)
		return;
}

static void fake_u64(struct fake_be *f, uint32_t req, uint64_t v)
{
	fake_send(f, req, &v, 8, NULL, 0);
}

static void *fake_main(void *arg)
{
	struct fake_be *f = arg;
	struct vhu_msg m;
	int fds[8];
	unsigned nfds;
	while (fake_recv(f, &m, fds, &nfds) == 0) {
		if (f->nreq < 128)
			f->reqs[f->nreq] = m.request;
		f->nreq++;
		uint32_t idx;
		memcpy(&idx, m.payload, 4);
		idx &= 0xff;
		switch (m.request) {
		case VHU_GET_FEATURES:
			if (f->mode == FAKE_STALL)
				goto out_wait;
			if (f->mode == FAKE_OVERSIZED) {
				fake_send(f, m.request, NULL, 0x100000, NULL, 0);
				continue;
			}
			if (f->mode == FAKE_TRUNCATED) {
				/* The header promises 8 bytes; 4 come. */
				uint32_t raw[4] = { m.request, VHU_VERSION | VHU_FLAG_REPLY,
						    8, 0x64636261 };
				if (send(f->fd, raw, sizeof(raw), MSG_NOSIGNAL) < 0)
					goto out;
				goto out;
			}
			if (f->mode == FAKE_WRONG_ID) {
				fake_u64(f, VHU_GET_PROTOCOL_FEATURES, f->features);
				continue;
			}
			if (f->mode == FAKE_BOGUS_FDS) {
				int p[2];
				if (pipe(p) == 0) {
					fake_send(f, m.request, &f->features, 8, p, 2);
					close(p[0]);
					close(p[1]);
				}
				continue;
			}
			fake_u64(f, m.request, f->features);
			continue;
		case VHU_GET_PROTOCOL_FEATURES:
			fake_u64(f, m.request, f->pfeatures);
			continue;
		case VHU_GET_QUEUE_NUM:
			fake_u64(f, m.request, 4);
			continue;
		case VHU_GET_CONFIG: {
			uint32_t len;
			memcpy(&len, m.payload + 4, 4);
			if (len > 256)
				len = 256;
			memcpy(m.payload + 12, f->config, len);
			fake_send(f, m.request, m.payload, 12 + len, NULL, 0);
			continue;
		}
		case VHU_GET_VRING_BASE: {
			uint32_t st[2] = { idx, idx < 16 ? f->base[idx] : 0 };
			f->get_vring_base++;
			fake_send(f, m.request, st, 8, NULL, 0);
			continue;
		}
		case VHU_SET_FEATURES:
			memcpy(&f->acked_features, m.payload, 8);
			break;
		case VHU_SET_MEM_TABLE:
			if (f->mode == FAKE_CLOSE_AT_MEMTABLE)
				goto out;
			f->memtable_fds = nfds;
			memcpy(&f->memtable_regions, m.payload, 4);
			for (unsigned i = 0; i < nfds; i++)
				close(fds[i]);
			nfds = 0;
			if (f->mode == FAKE_NACK) {
				fake_u64(f, m.request, 1);
				continue;
			}
			break;
		case VHU_SET_VRING_BASE:
			if (idx < 16)
				memcpy(&f->base[idx], m.payload + 4, 4);
			f->set_vring_base++;
			break;
		case VHU_SET_VRING_NUM:
			if (idx < 16)
				memcpy(&f->vring_num[idx], m.payload + 4, 4);
			break;
		case VHU_SET_VRING_KICK:
			if (idx < 16 && nfds == 1) {
				f->kick_fd[idx] = fds[0];
				nfds = 0;
			}
			break;
		case VHU_SET_VRING_CALL:
			if (idx < 16 && nfds == 1) {
				f->call_fd[idx] = fds[0];
				nfds = 0;
			}
			break;
		default:
			break;
		}
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		if (m.flags & VHU_FLAG_NEED_REPLY)
			fake_u64(f, m.request, 0);
		if (m.request == VHU_SET_OWNER && f->mode == FAKE_UNPROMPTED_ACK)
			fake_u64(f, VHU_SET_FEATURES, 0);
	}
	goto out;
out_wait: {
		struct pollfd p = { f->stop_pipe[0], POLLIN, 0 };
		poll(&p, 1, 5000);
	}
out:
	shutdown(f->fd, SHUT_RDWR);
	return NULL;
}

/* Start a fake backend serving fd (a connection accepted from a
 * listening socket, or one end of a socketpair); it owns fd. */
static int fake_start_fd(struct fake_be *f, enum fake_mode mode, int fd)
{
	memset(f, 0, sizeof(*f));
	for (unsigned q = 0; q < 16; q++)
		f->kick_fd[q] = f->call_fd[q] = -1;
	f->mode = mode;
	/* VERSION_1, PROTOCOL_FEATURES, EVENT_IDX, blk SEG_MAX|RO|BLK_SIZE|
	 * FLUSH|MQ, and bit 24 (NOTIFY_ON_EMPTY) no frontend passes on. */
	f->features = (1ull << 32) | (1ull << 30) | (1ull << 2) | (1ull << 5) |
		      (1ull << 6) | (1ull << 9) | (1ull << 12) | (1ull << 29) |
		      (1ull << 24);
	f->pfeatures = (1ull << VHU_PF_REPLY_ACK) | (1ull << VHU_PF_CONFIG) |
		       (1ull << VHU_PF_MQ);
	f->config[0] = 0x00;   /* capacity 0x20000 sectors (64 MiB) */
	f->config[2] = 0x02;
	if (pipe(f->stop_pipe) < 0)
		return -1;
	f->fd = fd;
	return pthread_create(&f->th, NULL, fake_main, f);
}

/* Start a fake backend; *front gets the frontend's end. */
__attribute__((unused)) static int fake_start(struct fake_be *f, enum fake_mode mode, int *front)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	*front = sv[0];
	return fake_start_fd(f, mode, sv[1]);
}

static void fake_stop(struct fake_be *f)
{
	if (write(f->stop_pipe[1], "x", 1) < 0)
		return;
	shutdown(f->fd, SHUT_RDWR);
	pthread_join(f->th, NULL);
	close(f->fd);
	close(f->stop_pipe[0]);
	close(f->stop_pipe[1]);
	for (unsigned q = 0; q < 16; q++) {
		if (f->kick_fd[q] >= 0)
			close(f->kick_fd[q]);
		if (f->call_fd[q] >= 0)
			close(f->call_fd[q]);
	}
}

static inline bool fake_saw(const struct fake_be *f, uint32_t req)
{
	for (unsigned i = 0; i < f->nreq && i < 128; i++)
		if (f->reqs[i] == req)
			return true;
	return false;
}

#endif
