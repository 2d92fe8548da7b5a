/* The bytes of a migration: one thread at a time writes a built stream to
 * an exec: command or file: path, or reads one from them, without the
 * machine lock, then wakes the loop through an eventfd.  Descriptors come
 * from the helper process (core/spawn.h), so this works inside the
 * seccomp sandbox.  Every wait also watches cancel_fd, so teardown never
 * hangs on a command that stopped reading or writing. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/evloop.h"
#include "core/snapshot.h"
#include "core/spawn.h"
#include "kvm/kvm_int.h"
#include "kvm/kvm_mig_int.h"

#define KVM_MIG_CHUNK (1u << 20)
/* A stream holds the devices and KVM state (well under this) besides
 * the RAM: anything longer than RAM plus this is no state of ours. */
#define KVM_MIG_MAX_OVERHEAD (64ull << 20)

/* Wait until fd is ready for `events` or cancel_fd fires.  0 when ready,
 * -ECANCELED when cancelled. */
static int kvm_mig_wait(struct kvm_migrate *m, int fd, short events)
{
	for (;;) {
		struct pollfd p[2] = { { fd, events, 0 }, { m->cancel_fd, POLLIN, 0 } };
		int r = poll(p, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (p[1].revents)
			return -ECANCELED;
		if (p[0].revents)
			return 0;
	}
}

static void kvm_mig_signal(struct kvm_migrate *m, int rc)
{
	m->io_rc = rc;
	uint64_t one = 1;
	if (write(m->efd, &one, sizeof(one)) < 0)
		(void)0;   /* a full eventfd counter still wakes the loop */
}

static bool kvm_mig_is_exec(const struct kvm_migrate *m)
{
	return strncmp(m->uri, "exec:", 5) == 0;
}

/* The command's exit, after our end of its pipe closed. */
static int kvm_mig_cmd_status(struct kvm_migrate *m)
{
	if (!kvm_mig_is_exec(m))
		return 0;
	int st = spawn_wait(m->spawn);
	if (st == 0)
		return 0;
	if (st > 0)
		snprintf(m->io_err, sizeof(m->io_err), "the command '%.100s' exited "
			 "with status %d", m->uri + 5, st);
	else
		snprintf(m->io_err, sizeof(m->io_err), "waiting for the command: %s",
			 strerror(-st));
	return -1;
}

static void *kvm_mig_writer(void *arg)
{
	struct kvm_migrate *m = arg;
	int fd = m->io_rc;
	size_t off = 0;
	int rc = 0;
	while (off < m->len) {
		int w = kvm_mig_wait(m, fd, POLLOUT);
		if (w < 0) {
			snprintf(m->io_err, sizeof(m->io_err), "cancelled");
			rc = -1;
			break;
		}
		size_t n = m->len - off < KVM_MIG_CHUNK ? m->len - off : KVM_MIG_CHUNK;
		ssize_t k = write(fd, m->buf + off, n);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0) {
			/* QEMU 7.2's wording for exec: (qio channel). */
			snprintf(m->io_err, sizeof(m->io_err), "Unable to write to %s: %s",
				 kvm_mig_is_exec(m) ? "command" : "file",
				 strerror(k < 0 ? errno : EIO));
			rc = -1;
			break;
		}
		off += (size_t)k;
		atomic_store(&m->written, off);
	}
	close(fd);
	if (rc == 0 || kvm_mig_is_exec(m)) {
		/* A command that failed explains the failure better than the
		 * broken pipe it left us. */
		int st = kvm_mig_cmd_status(m);
		if (st < 0)
			rc = -1;
	}
	kvm_mig_signal(m, rc);
	return NULL;
}

static void *kvm_mig_reader(void *arg)
{
	struct kvm_migrate *m = arg;
	int fd = m->io_rc;
	size_t cap = 0, len = 0;
	uint64_t max = m->ram_total + KVM_MIG_MAX_OVERHEAD;
	uint8_t *buf = NULL;
	int rc = 0;
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : (4u << 20);
			if (ncap > max + 1)
				ncap = (size_t)max + 1;
			if (ncap <= len) {
				snprintf(m->io_err, sizeof(m->io_err), "the stream is longer "
					 "than any saved state of this machine (over %llu bytes)",
					 (unsigned long long)max);
				rc = -1;
				break;
			}
			uint8_t *nb = realloc(buf, ncap);
			if (!nb) {
				snprintf(m->io_err, sizeof(m->io_err), "out of memory");
				rc = -1;
				break;
			}
			buf = nb;
			cap = ncap;
		}
		if (kvm_mig_wait(m, fd, POLLIN) < 0) {
			snprintf(m->io_err, sizeof(m->io_err), "cancelled");
			rc = -1;
			break;
		}
		ssize_t k = read(fd, buf + len, cap - len);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k < 0) {
			snprintf(m->io_err, sizeof(m->io_err), "reading the stream: %s",
				 strerror(errno));
			rc = -1;
			break;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	if (kvm_mig_cmd_status(m) < 0 && rc == 0)
		rc = -1;
	if (rc == 0 && len == 0) {
		snprintf(m->io_err, sizeof(m->io_err), "the stream is empty");
		rc = -1;
	}
	if (rc < 0) {
		free(buf);
		buf = NULL;
		len = 0;
	}
	m->in_buf = buf;
	m->in_len = len;
	kvm_mig_signal(m, rc);
	return NULL;
}

/* The loop's side: the thread is done. */
static void kvm_mig_on_done(void *arg, int fd, unsigned events)
{
	struct kvm_migrate *m = arg;
	(void)events;
	uint64_t v;
	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v) || !m->thread_live)
		return;
	pthread_join(m->thread, NULL);
	m->thread_live = false;
	if (m->thread_is_reader)
		kvm_mig_load_done(m, m->io_rc, m->io_err);
	else
		kvm_mig_save_done(m, m->io_rc, m->io_err);
}

/* Our end of the source or destination, from the helper. */
static int kvm_mig_open(struct kvm_migrate *m, bool write, char *err, size_t errlen)
{
	const char *arg = m->uri + 5;
	int fd = kvm_mig_is_exec(m) ?
		 spawn_shell(m->spawn, arg, write ? SPAWN_TO_CMD : SPAWN_FROM_CMD) :
		 spawn_open(m->spawn, arg, write);
	if (fd < 0) {
		snprintf(err, errlen, "%s '%.200s': %s", kvm_mig_is_exec(m) ?
			 "cannot run" : "cannot open", arg, strerror(-fd));
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static int kvm_mig_start(struct kvm_migrate *m, bool reader, char *err, size_t errlen)
{
	int fd = kvm_mig_open(m, !reader, err, errlen);
	if (fd < 0)
		return -1;
	m->io_rc = fd;   /* handed to the thread */
	m->io_err[0] = 0;
	m->thread_is_reader = reader;
	atomic_store(&m->written, 0);
	int r = pthread_create(&m->thread, NULL, reader ? kvm_mig_reader :
			       kvm_mig_writer, m);
	if (r != 0) {
		close(fd);
		snprintf(err, errlen, "starting the migration thread: %s", strerror(r));
		return -1;
	}
	m->thread_live = true;
	return 0;
}

int kvm_mig_writer_start(struct kvm_migrate *m, char *err, size_t errlen)
{
	return kvm_mig_start(m, false, err, errlen);
}

int kvm_mig_reader_start(struct kvm_migrate *m, char *err, size_t errlen)
{
	uint64_t ram = 0;
	for (unsigned i = 0; i < m->km->layout.nram; i++)
		ram += m->km->layout.ram[i].size;
	m->ram_total = ram;
	return kvm_mig_start(m, true, err, errlen);
}

size_t kvm_mig_written(struct kvm_migrate *m)
{
	return atomic_load(&m->written);
}

void kvm_mig_release_stream(struct kvm_migrate *m)
{
	if (m->w) {
		m->len_done = m->len;
		snap_w_free(m->w);
	}
	m->w = NULL;
	m->buf = NULL;
}

int kvm_mig_io_init(struct kvm_migrate *m, char *err, size_t errlen)
{
	m->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->efd < 0 || m->cancel_fd < 0 ||
	    evloop_add_fd(m->km->m.loop, m->efd, EV_IN, kvm_mig_on_done, m) < 0) {
		snprintf(err, errlen, "vmm: migration set-up: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void kvm_mig_io_stop(struct kvm_migrate *m)
{
	if (m->thread_live) {
		uint64_t one = 1;
		if (write(m->cancel_fd, &one, sizeof(one)) < 0)
			(void)0;
		spawn_cancel(m->spawn);
		pthread_join(m->thread, NULL);
		m->thread_live = false;
		free(m->in_buf);
		m->in_buf = NULL;
	}
	if (m->efd >= 0) {
		if (m->km->m.loop)
			evloop_del_fd(m->km->m.loop, m->efd);
		close(m->efd);
	}
	if (m->cancel_fd >= 0)
		close(m->cancel_fd);
	m->efd = m->cancel_fd = -1;
}
