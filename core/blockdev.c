/* Block backend front door: range and readonly checks shared by every
 * backend, so devices and backends cannot disagree about them. */
#include "core/blockdev.h"

#include <errno.h>

static int range_ok(const struct blockdev *bd, uint64_t off, uint64_t len)
{
	return off <= bd->size && len <= bd->size - off;
}

int blockdev_read(struct blockdev *bd, uint64_t off, void *buf, size_t len)
{
	if (!range_ok(bd, off, len))
		return -EINVAL;
	if (len == 0)
		return 0;
	bd->nr_read++;
	return bd->ops->read(bd, off, buf, len);
}

int blockdev_write(struct blockdev *bd, uint64_t off, const void *buf, size_t len)
{
	if (bd->readonly)
		return -EROFS;
	if (!range_ok(bd, off, len))
		return -EINVAL;
	if (len == 0)
		return 0;
	bd->nr_write++;
	return bd->ops->write(bd, off, buf, len);
}

int blockdev_flush(struct blockdev *bd)
{
	bd->nr_flush++;
	if (bd->readonly || bd->no_flush)
		return 0; /* nothing can be dirty, or cache.no-flush=on */
	return bd->ops->flush(bd);
}

int blockdev_discard(struct blockdev *bd, uint64_t off, uint64_t len)
{
	if (bd->readonly)
		return -EROFS;
	if (!range_ok(bd, off, len))
		return -EINVAL;
	bd->nr_discard++;
	if (len == 0)
		return 0;
	return bd->ops->discard(bd, off, len);
}

int blockdev_write_zeroes(struct blockdev *bd, uint64_t off, uint64_t len,
			  bool unmap)
{
	if (bd->readonly)
		return -EROFS;
	if (!range_ok(bd, off, len))
		return -EINVAL;
	bd->nr_zero++;
	if (len == 0)
		return 0;
	return bd->ops->write_zeroes(bd, off, len, unmap);
}

void blockdev_close(struct blockdev *bd)
{
	if (bd)
		bd->ops->close(bd);
}
