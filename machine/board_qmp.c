/* blockdev-add/-del and chardev-add/-remove on the machine (see
 * board_qmp.h).  QEMU 7.2's checks in its order and words
 * (block.c bdrv_assign_node_name, blockdev.c qmp_blockdev_del,
 * chardev/char.c qmp_chardev_add/remove); every refusal leaves the
 * description, the node table and the backend store as they were. */
#include "machine/board_qmp.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/chardev.h"
#include "core/chardev_host.h"
#include "core/log.h"
#include "core/trace.h"
#include "machine/board_int.h"

static int bq_fail(struct qmp_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int bq_fail(struct qmp_err *e, const char *fmt, ...)
{
	va_list ap;
	e->cls = "GenericError";
	va_start(ap, fmt);
	vsnprintf(e->desc, sizeof(e->desc), fmt, ap);
	va_end(ap);
	return -1;
}

static struct board_qmp_node *bq_node(struct board_qmp *q, const char *name)
{
	for (unsigned i = 0; i < q->nnodes; i++)
		if (!strcmp(q->nodes[i].name, name))
			return &q->nodes[i];
	return NULL;
}

/* QEMU's id_wellformed: a letter, then letters, digits, '-', '.', '_'. */
static bool bq_wellformed(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_'))
			return false;
	return true;
}

/* What file-posix.c's open checks: the file is there, openable as asked,
 * and of a kind the driver takes.  Nothing is kept open (the board opens
 * and locks the image when a device attaches); O_NONBLOCK so a FIFO
 * never blocks us. */
static int bq_check_file(const char *proto, const char *fn, bool ro, struct qmp_err *e)
{
	int fd = open(fn, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return bq_fail(e, "Could not open '%.200s': %s", fn, strerror(errno));
	struct stat st;
	int r = fstat(fd, &st);
	close(fd);
	if (r < 0)
		return bq_fail(e, "Could not open '%.200s': %s", fn, strerror(errno));
	if (!strcmp(proto, "host_device") && !S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode))
		return bq_fail(e, "'host_device' driver requires '%.200s' to be either a character or block device",
			       fn);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		/* Our block backend serves files and block devices only
		 * (blockdev_file_open refuses the rest too). */
		return bq_fail(e, "Could not open '%.200s': not a regular file or block device", fn);
	return 0;
}

int board_qmp_blockdev_add(struct board_qmp *q, const struct qmp_blockdev *b,
			   struct qmp_err *e)
{
	struct machine_config *cfg = q->cfg;
	const char *name = b->node_name;
	if (!bq_wellformed(name))
		return bq_fail(e, "Invalid node-name: '%.100s'", name);
	if (strlen(name) >= 32)   /* BlockDriverState.node_name[32] */
		return bq_fail(e, "Node name too long");
	if (bq_node(q, name))
		return bq_fail(e, "Duplicate nodes with node-name='%s'", name);
	if (config_drive(cfg, name))
		return bq_fail(e, "node-name=%s is conflicting with a device id", name);
	if (cfg->ndrives >= CFG_MAX_ITEMS || q->nnodes >= CFG_MAX_ITEMS)
		return bq_fail(e, "Too many block nodes (at most %d)", CFG_MAX_ITEMS);
	const char *fn = b->filename, *proto = b->proto;
	bool ro = b->read_only;
	if (b->file_ref) {
		struct board_qmp_node *child = bq_node(q, b->file_ref);
		const struct cfg_drive *cd = child ? config_drive(cfg, child->name) : NULL;
		if (!cd)
			return bq_fail(e, "Cannot find device=\'%.100s\' nor node-name=\'%.100s\'",
				       b->file_ref, b->file_ref);
		if (!strcmp(child->driver, "raw"))
			/* Raw over raw is legal QEMU and useless here. */
			return bq_fail(e, "Node '%s' is a raw node: give raw a file or host_device node",
				       b->file_ref);
		fn = cd->file;
		proto = child->driver;
		ro = ro || cd->readonly;
	}
	if (strlen(fn) >= CFG_PATH_MAX)
		return bq_fail(e, "Could not open '%.100s...': File name too long", fn);
	if (bq_check_file(proto, fn, ro, e) < 0)
		return -1;
	struct cfg_drive *d = &cfg->drives[cfg->ndrives];
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", name);
	snprintf(d->file, sizeof(d->file), "%s", fn);
	snprintf(d->format, sizeof(d->format), "raw");
	d->readonly = ro;
	d->direct = b->direct;
	d->flush = !b->no_flush;
	d->cache = b->direct ? CFG_CACHE_NONE : b->no_flush ? CFG_CACHE_UNSAFE
			     : CFG_CACHE_WRITEBACK;
	d->aio = b->aio == QMP_AIO_NATIVE ? CFG_AIO_NATIVE :
		 b->aio == QMP_AIO_IO_URING ? CFG_AIO_IO_URING : CFG_AIO_THREADS;
	cfg->ndrives++;
	struct board_qmp_node *n = &q->nodes[q->nnodes++];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->child, sizeof(n->child), "%s", b->file_ref ? b->file_ref : "");
	snprintf(n->driver, sizeof(n->driver), "%s", b->driver);
	log_info(q->log, "blockdev-add: %s (%s over %s%s)", name, b->driver, fn,
		 ro ? ", read-only" : "");
	return 0;
}

int board_qmp_blockdev_del(struct board_qmp *q, const char *name, struct qmp_err *e)
{
	struct machine_config *cfg = q->cfg;
	struct board_qmp_node *n = bq_node(q, name);
	if (!n)
		return bq_fail(e, "Failed to find node with node-name='%.100s'", name);
	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (!strcmp(cfg->devices[i].drive, name))
			return bq_fail(e, "Node %s is in use", name);
	for (unsigned i = 0; i < q->nnodes; i++)
		if (!strcmp(q->nodes[i].child, name))
			return bq_fail(e, "Block device %s is in use", name);
	const struct cfg_drive *d = config_drive(cfg, name);
	if (d) {
		unsigned k = (unsigned)(d - cfg->drives);
		memmove(&cfg->drives[k], &cfg->drives[k + 1],
			(cfg->ndrives - k - 1) * sizeof(cfg->drives[0]));
		cfg->ndrives--;
	}
	/* The image a device had open (kept across boards) closes now,
	 * with its locks. */
	char key[CFG_ID_MAX + 16];
	snprintf(key, sizeof(key), "drive:%s", name);
	board_backends_drop(q->keep, TRACE_BK_BLOCK, key);
	unsigned k = (unsigned)(n - q->nodes);
	memmove(&q->nodes[k], &q->nodes[k + 1], (q->nnodes - k - 1) * sizeof(q->nodes[0]));
	q->nnodes--;
	log_info(q->log, "blockdev-del: %s", name);
	return 0;
}

/* ---- chardevs ----------------------------------------------------------- */

struct bq_sock {
	int fd;
};

static void bq_sock_close(void *p)
{
	struct bq_sock *s = p;
	close(s->fd);
	free(s);
}

static void bq_chr_close(void *p)
{
	chr_close(p);
}

int board_qmp_take_sock(struct board_backends *keep, const char *id)
{
	char key[CFG_ID_MAX + 16];
	snprintf(key, sizeof(key), "vhost-user:%s", id);
	struct bq_sock *s = board_backends_take(keep, BOARD_KEPT_SOCK, key);
	if (!s)
		return -1;
	int fd = s->fd;
	free(s);
	return fd;
}

/* Connect to path now (QEMU connects at chardev-add).  A unix connect
 * completes or fails at once; the socket stays blocking for the
 * vhost-user frontend, which bounds every exchange itself. */
static int bq_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int en = errno;
		close(fd);
		errno = en;
		return -1;
	}
	return fd;
}

int board_qmp_chardev_add(struct board_qmp *q, const struct qmp_chardev *c,
			  struct qmp_err *e)
{
	struct machine_config *cfg = q->cfg;
	if (config_chardev(cfg, c->id))
		return bq_fail(e, "Chardev with id '%.100s' already exists", c->id);
	if (!bq_wellformed(c->id) || strlen(c->id) >= CFG_ID_MAX)
		return bq_fail(e, "Failed to add chardev '%.100s': invalid id", c->id);
	if (cfg->nchardevs >= CFG_MAX_ITEMS)
		return bq_fail(e, "Failed to add chardev '%s': too many chardevs (at most %d)",
			       c->id, CFG_MAX_ITEMS);
	if (strlen(c->path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return bq_fail(e, "Failed to add chardev '%s': socket path too long", c->id);
	char key[CFG_ID_MAX + 16], err[256] = "";
	if (c->server) {
		if (!q->loop)
			return bq_fail(e, "Failed to add chardev '%s': this machine has no event loop for a server socket",
				       c->id);
		struct chr *h = chr_socket_new(c->id, c->path, false, q->loop, q->log);
		if (!h)
			return bq_fail(e, "Failed to add chardev '%s': Failed to bind socket to '%.150s': %s",
				       c->id, c->path, strerror(errno));
		snprintf(key, sizeof(key), "chardev:%s", c->id);
		if (board_backends_put(q->keep, TRACE_BK_CHR, key, bq_chr_close, h, err,
				       sizeof(err)) < 0)
			return bq_fail(e, "Failed to add chardev '%s': %s", c->id, err);
	} else {
		int fd = bq_connect(c->path);
		if (fd < 0)
			return bq_fail(e, "Failed to add chardev '%s': Failed to connect to '%.150s': %s",
				       c->id, c->path, strerror(errno));
		struct bq_sock *s = malloc(sizeof(*s));
		if (!s) {
			close(fd);
			return bq_fail(e, "out of memory");
		}
		s->fd = fd;
		snprintf(key, sizeof(key), "vhost-user:%s", c->id);
		if (board_backends_put(q->keep, BOARD_KEPT_SOCK, key, bq_sock_close, s, err,
				       sizeof(err)) < 0)
			return bq_fail(e, "Failed to add chardev '%s': %s", c->id, err);
	}
	struct cfg_chardev *ch = &cfg->chardevs[cfg->nchardevs++];
	memset(ch, 0, sizeof(*ch));
	ch->type = CFG_CHR_SOCKET;
	snprintf(ch->id, sizeof(ch->id), "%s", c->id);
	snprintf(ch->path, sizeof(ch->path), "%s", c->path);
	ch->server = c->server;
	ch->wait = false;
	log_info(q->log, "chardev-add: %s (%s %s)", c->id, c->server ? "server" : "client",
		 c->path);
	return 0;
}

/* Used by a device, a -serial chardev:ID, or a backend the board has
 * handed to a front end (whose teardown still refers to it). */
static bool bq_chardev_busy(const struct board_qmp *q, const char *id)
{
	const struct machine_config *cfg = q->cfg;
	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (!strcmp(cfg->devices[i].chardev, id))
			return true;
	for (unsigned i = 0; i < cfg->nserial; i++)
		if (cfg->serial[i].type == CFG_SERIAL_CHARDEV && !strcmp(cfg->serial[i].arg, id))
			return true;
	const struct board *b = q->board ? *q->board : NULL;
	for (unsigned i = 0; b && i < b->nchrs; i++)
		if (!strcmp(b->chrs[i].id, id))
			return true;
	return false;
}

int board_qmp_chardev_remove(struct board_qmp *q, const char *id, struct qmp_err *e)
{
	struct machine_config *cfg = q->cfg;
	const struct cfg_chardev *ch = config_chardev(cfg, id);
	if (!ch)
		return bq_fail(e, "Chardev '%.100s' not found", id);
	if (bq_chardev_busy(q, id))
		return bq_fail(e, "Chardev '%s' is busy", id);
	char key[CFG_ID_MAX + 16];
	snprintf(key, sizeof(key), "chardev:%s", id);
	board_backends_drop(q->keep, TRACE_BK_CHR, key);
	snprintf(key, sizeof(key), "vhost-user:%s", id);
	board_backends_drop(q->keep, BOARD_KEPT_SOCK, key);
	unsigned k = (unsigned)(ch - cfg->chardevs);
	memmove(&cfg->chardevs[k], &cfg->chardevs[k + 1],
		(cfg->nchardevs - k - 1) * sizeof(cfg->chardevs[0]));
	cfg->nchardevs--;
	log_info(q->log, "chardev-remove: %s", id);
	return 0;
}
