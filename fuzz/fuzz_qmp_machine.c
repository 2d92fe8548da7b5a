/* libFuzzer target: QMP sessions that mix getfd/closefd, blockdev-add/
 * -del, chardev-add/-remove, device_add/-del and query-pci/-block/
 * -chardev against a real simulated board (q35, two pcie-root-ports) and
 * the machine side the KVM machine uses (machine/board_qmp.c), with
 * descriptors passed as SCM_RIGHTS would pass them.  At the end of each
 * input, with the session, board and backend store freed, the process
 * has exactly the descriptors it had before (every image, socket and
 * passed fd closed) and LeakSanitizer sees every allocation released.
 *
 * Nothing outside a per-input temporary directory is touched: every
 * filename and socket path the input names is mapped onto one of two
 * images or two socket paths there (one listening, so a client
 * chardev-add connects).  device_add takes virtio-blk-pci only: a
 * vhost-user handshake with a listener that never answers would only
 * measure its timeout (the frontend has fuzz_vhost_user).
 * First input byte: bit 0 negotiate first, bit 1 pass an fd with each
 * of the first chunks, bits 2-7 the chunk size. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/config.h"
#include "core/layout.h"
#include "core/qmp.h"
#include "machine/board.h"
#include "machine/board_qmp.h"
#include "sim/sim.h"

struct fzm {
	struct machine_config cfg;
	struct layout l;
	struct sim *s;
	struct board *b;
	struct board_host host;
	struct board_qmp q;
	char dir[64];
	char img[2][96], sock[2][96];
};

static unsigned fzm_pick(const char *s)
{
	unsigned h = 0;
	for (; s && *s; s++)
		h = h * 31 + (unsigned char)*s;
	return h & 1;
}

static int fzm_bd_add(void *o, const struct qmp_blockdev *b, struct qmp_err *e)
{
	struct fzm *m = o;
	struct qmp_blockdev c = *b;
	if (c.filename)
		c.filename = m->img[fzm_pick(c.filename)];
	return board_qmp_blockdev_add(&m->q, &c, e);
}

static int fzm_bd_del(void *o, const char *name, struct qmp_err *e)
{
	return board_qmp_blockdev_del(&((struct fzm *)o)->q, name, e);
}

static int fzm_chr_add(void *o, const struct qmp_chardev *c, struct qmp_err *e)
{
	struct fzm *m = o;
	struct qmp_chardev d = *c;
	d.path = m->sock[fzm_pick(c->path)];
	return board_qmp_chardev_add(&m->q, &d, e);
}

static int fzm_chr_rm(void *o, const char *id, struct qmp_err *e)
{
	return board_qmp_chardev_remove(&((struct fzm *)o)->q, id, e);
}

static int fzm_query(void *o, const char *what, struct json **out, struct qmp_err *e)
{
	return board_qmp_query(&((struct fzm *)o)->q, what, out, e);
}

static int fzm_fail(struct qmp_err *e, const char *msg)
{
	e->cls = "GenericError";
	snprintf(e->desc, sizeof(e->desc), "%s", msg);
	return -1;
}

/* device_add's steps on the board, as kvm_hotplug.c takes them. */
static int fzm_dev_add(void *o, const char *driver, const char *id, const char *opts,
		       struct qmp_err *e)
{
	struct fzm *m = o;
	char err[256];
	(void)id;
	if (strcmp(driver, "virtio-blk-pci"))
		return fzm_fail(e, "not a valid device model name here");
	if (config_add_device(&m->cfg, opts, err, sizeof(err)) < 0)
		return fzm_fail(e, err);
	struct layout nl;
	if (layout_build(&nl, &m->cfg, err, sizeof(err)) < 0 ||
	    (m->l = nl, board_hotplug_add(m->b, m->cfg.ndevices - 1, err, sizeof(err)) < 0)) {
		m->cfg.ndevices--;
		layout_build(&m->l, &m->cfg, NULL, 0);
		return fzm_fail(e, err);
	}
	return 0;
}

static int fzm_dev_del(void *o, const char *id, struct qmp_err *e)
{
	struct fzm *m = o;
	return board_hotplug_del(m->b, id) < 0 ? fzm_fail(e, "no such hot-plugged device") : 0;
}

static const struct qmp_machine_ops fzm_ops = {
	.name = "fuzz", .ncpus = 1,
	.blockdev_add = fzm_bd_add, .blockdev_del = fzm_bd_del,
	.chardev_add = fzm_chr_add, .chardev_remove = fzm_chr_rm, .query = fzm_query,
	.device_add = fzm_dev_add, .device_del = fzm_dev_del,
};

static int fzm_count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int fzm_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		abort();
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0)
		abort();
	return fd;
}

static struct fzm *fzm_new(void)
{
	struct fzm *m = calloc(1, sizeof(*m));
	if (!m)
		abort();
	strcpy(m->dir, "/tmp/fuzz_qmp_machine_XXXXXX");
	if (!mkdtemp(m->dir))
		abort();
	for (int i = 0; i < 2; i++) {
		snprintf(m->img[i], sizeof(m->img[i]), "%s/img%d", m->dir, i);
		snprintf(m->sock[i], sizeof(m->sock[i]), "%s/s%d", m->dir, i);
		int fd = open(m->img[i], O_CREAT | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0 || ftruncate(fd, 1 << 16) < 0)
			abort();
		close(fd);
	}
	char err[256];
	char *argv[] = { "vmm", "-machine", "q35", "-m", "16M", "-device",
			 "pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1,addr=2", "-device",
			 "pcie-root-port,id=rp1,bus=pcie.0,chassis=2,slot=2,addr=3", NULL };
	if (config_parse(&m->cfg, 9, argv, err, sizeof(err)) != 0 ||
	    layout_build(&m->l, &m->cfg, err, sizeof(err)) < 0)
		abort();
	struct sim_config sc = { .ram_size = m->l.ram[0].size, .seed = 1 };
	m->s = sim_new(&sc);
	m->host = (struct board_host){ .wall_epoch = 1767225600, .keep = board_backends_new() };
	if (!m->s || !m->host.keep)
		abort();
	m->b = board_new(&m->s->m, &m->cfg, &m->l, &m->host, err, sizeof(err));
	if (!m->b)
		abort();
	m->q = (struct board_qmp){ .cfg = &m->cfg, .board = &m->b, .keep = m->host.keep };
	return m;
}

static void fzm_free(struct fzm *m)
{
	board_free(m->b);
	board_backends_free(m->host.keep);
	sim_free(m->s);
	for (int i = 0; i < 2; i++) {
		unlink(m->img[i]);
		unlink(m->sock[i]);
	}
	if (rmdir(m->dir) < 0)
		abort();  /* something we did not make was left there */
	free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 16 * 1024)
		return 0;
	int fds_before = fzm_count_fds();
	struct fzm *m = fzm_new();
	int ls = fzm_listen(m->sock[1]);
	struct qmp_session *s = qmp_session_new(&fzm_ops, m);
	if (!s)
		abort();
	if (data[0] & 1)
		qmp_session_input(s, "{\"execute\":\"qmp_capabilities\"}", 30);
	size_t chunk = (size_t)(data[0] >> 2) * 4 + 1;
	unsigned passed = 0;
	for (size_t off = 1; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		int fd = -1;
		if ((data[0] & 2) && passed < 8 && (fd = dup(2)) >= 0)
			passed++;
		int rc = qmp_session_input_fds(s, data + off, n, &fd, fd >= 0);
		size_t len;
		qmp_session_output(s, &len);
		qmp_session_consume(s, len);
		if (rc != 0)
			break;
	}
	qmp_session_free(s);
	close(ls);
	fzm_free(m);
	if (fzm_count_fds() != fds_before)
		abort();  /* an image, socket or passed descriptor leaked */
	return 0;
}
