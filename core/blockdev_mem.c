/* In-memory block backend: a zeroed heap buffer.  Tests seed and inspect it
 * through blockdev_mem_data(); blockdev_mem_fail() injects host errors. */
#include "core/blockdev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct blockdev_mem {
	struct blockdev bd;
	uint8_t *data;
	int fail;
};

static struct blockdev_mem *to_mem(struct blockdev *bd)
{
	return (struct blockdev_mem *)bd;
}

static int mem_read(struct blockdev *bd, uint64_t off, void *buf, size_t len)
{
	struct blockdev_mem *m = to_mem(bd);
	if (m->fail)
		return -m->fail;
	memcpy(buf, m->data + off, len);
	return 0;
}

static int mem_write(struct blockdev *bd, uint64_t off, const void *buf, size_t len)
{
	struct blockdev_mem *m = to_mem(bd);
	if (m->fail)
		return -m->fail;
	memcpy(m->data + off, buf, len);
	return 0;
}

static int mem_flush(struct blockdev *bd)
{
	return -to_mem(bd)->fail;
}

static int mem_zero(struct blockdev *bd, uint64_t off, uint64_t len, bool unmap)
{
	(void)unmap;
	struct blockdev_mem *m = to_mem(bd);
	if (m->fail)
		return -m->fail;
	memset(m->data + off, 0, len);
	return 0;
}

static int mem_discard(struct blockdev *bd, uint64_t off, uint64_t len)
{
	return mem_zero(bd, off, len, true);
}

static void mem_close(struct blockdev *bd)
{
	struct blockdev_mem *m = to_mem(bd);
	free(m->data);
	free(m);
}

static const struct blockdev_ops mem_ops = {
	.read = mem_read,
	.write = mem_write,
	.flush = mem_flush,
	.discard = mem_discard,
	.write_zeroes = mem_zero,
	.close = mem_close,
};

struct blockdev *blockdev_mem_new(const char *id, uint64_t size, bool readonly)
{
	if (size > SIZE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	struct blockdev_mem *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->data = calloc(1, size ? (size_t)size : 1);
	if (!m->data) {
		free(m);
		return NULL;
	}
	m->bd.ops = &mem_ops;
	m->bd.size = size;
	m->bd.readonly = readonly;
	snprintf(m->bd.id, sizeof(m->bd.id), "%s", id ? id : "mem");
	return &m->bd;
}

uint8_t *blockdev_mem_data(struct blockdev *bd)
{
	return to_mem(bd)->data;
}

void blockdev_mem_fail(struct blockdev *bd, int err)
{
	to_mem(bd)->fail = err < 0 ? -err : err;
}
