/* The host backends the accel=sim self-test stands in for the configured
 * ones (board_host.backend with backend_replace), so a self-test run has
 * no side effect on the host and gives the same lines on every run:
 *
 *  - a -drive becomes a copy-on-write overlay over its image file opened
 *    read-only: the guest sees the file's bytes and the drive's readonly=
 *    setting, its writes stay in memory (bounded), the file is never
 *    written;
 *  - a -netdev (tap or loop) becomes an in-memory loop: no tap is opened,
 *    no frame leaves the process;
 *  - an rng-random source becomes a seeded PRNG (-seed), so the bytes the
 *    guest reads can be predicted and checked;
 *  - COM ports and -chardevs become in-memory chardevs the checks read
 *    back (-chardev null stays "no backend": output discarded). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blockdev.h"
#include "core/chardev.h"
#include "core/entropy.h"
#include "core/netdev.h"
#include "core/trace.h"
#include "sim/selftest_int.h"

/* Sectors of guest writes an overlay holds: the self-test writes one; a
 * bound so nothing can make it grow without limit. */
#define OVL_SECTORS 64u
#define OVL_SECTOR 512u

struct st_overlay {
	struct blockdev bd;
	struct blockdev *lower;
	unsigned n;
	uint64_t sector[OVL_SECTORS];
	uint8_t data[OVL_SECTORS][OVL_SECTOR];
};

static struct st_overlay *ovl(struct blockdev *bd)
{
	return (struct st_overlay *)bd;
}

static int ovl_find(const struct st_overlay *o, uint64_t sector)
{
	for (unsigned i = 0; i < o->n; i++)
		if (o->sector[i] == sector)
			return (int)i;
	return -1;
}

static int ovl_read(struct blockdev *bd, uint64_t off, void *buf, size_t len)
{
	struct st_overlay *o = ovl(bd);
	int r = blockdev_read(o->lower, off, buf, len);
	if (r < 0)
		return r;
	/* Then what the guest wrote over it. */
	for (unsigned i = 0; i < o->n; i++) {
		uint64_t s0 = o->sector[i] * OVL_SECTOR, s1 = s0 + OVL_SECTOR;
		uint64_t a = s0 > off ? s0 : off, e = s1 < off + len ? s1 : off + len;
		if (a < e)
			memcpy((uint8_t *)buf + (a - off), o->data[i] + (a - s0), e - a);
	}
	return 0;
}

/* The overlay copy of the sector, made (from the file) on first write. */
static uint8_t *ovl_sector(struct st_overlay *o, uint64_t sector)
{
	int i = ovl_find(o, sector);
	if (i >= 0)
		return o->data[i];
	if (o->n >= OVL_SECTORS)
		return NULL;
	uint64_t off = sector * OVL_SECTOR;
	uint64_t n = o->bd.size - off < OVL_SECTOR ? o->bd.size - off : OVL_SECTOR;
	memset(o->data[o->n], 0, OVL_SECTOR);
	if (blockdev_read(o->lower, off, o->data[o->n], n) < 0)
		return NULL;
	o->sector[o->n] = sector;
	return o->data[o->n++];
}

static int ovl_store(struct st_overlay *o, uint64_t off, const void *buf,
		     uint64_t len)
{
	while (len) {
		uint64_t sector = off / OVL_SECTOR, within = off % OVL_SECTOR;
		uint64_t n = OVL_SECTOR - within < len ? OVL_SECTOR - within : len;
		uint8_t *p = ovl_sector(o, sector);
		if (!p)
			return -ENOSPC;
		if (buf) {
			memcpy(p + within, buf, n);
			buf = (const uint8_t *)buf + n;
		} else {
			memset(p + within, 0, n);
		}
		off += n;
		len -= n;
	}
	return 0;
}

static int ovl_write(struct blockdev *bd, uint64_t off, const void *buf, size_t len)
{
	return ovl_store(ovl(bd), off, buf, len);
}

static int ovl_flush(struct blockdev *bd)
{
	(void)bd;   /* nothing is meant to reach the file */
	return 0;
}

static int ovl_discard(struct blockdev *bd, uint64_t off, uint64_t len)
{
	return ovl_store(ovl(bd), off, NULL, len);
}

static int ovl_zeroes(struct blockdev *bd, uint64_t off, uint64_t len, bool unmap)
{
	(void)unmap;
	return ovl_store(ovl(bd), off, NULL, len);
}

static void ovl_close(struct blockdev *bd)
{
	blockdev_close(ovl(bd)->lower);
	free(bd);
}

static const struct blockdev_ops ovl_ops = {
	.read = ovl_read, .write = ovl_write, .flush = ovl_flush,
	.discard = ovl_discard, .write_zeroes = ovl_zeroes, .close = ovl_close,
};

static struct blockdev *ovl_new(struct blockdev *lower, bool readonly)
{
	struct st_overlay *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->lower = lower;
	o->bd.ops = &ovl_ops;
	o->bd.size = lower->size;
	o->bd.readonly = readonly;
	o->bd.direct = lower->direct;
	snprintf(o->bd.id, sizeof(o->bd.id), "%s", lower->id);
	return &o->bd;
}

uint64_t st_rng_seed(const struct selftest *t, unsigned i)
{
	/* One stream per device, all from -seed. */
	return t->cfg->seed ^ (0x9e3779b97f4a7c15ull * (i + 1));
}

struct st_backend *st_backend_find(struct selftest *t, int kind, const char *id)
{
	for (unsigned i = 0; i < t->nbk; i++)
		if (t->bk[i].kind == kind && !strcmp(t->bk[i].id, id))
			return &t->bk[i];
	return NULL;
}

static void *st_open(struct selftest *t, struct st_backend *e, const char *id,
		     char *err, size_t errlen)
{
	switch (e->kind) {
	case TRACE_BK_BLOCK: {
		const struct cfg_drive *drv = config_drive(t->cfg, id);
		if (!drv)
			break;
		/* Read-only (nothing reaches the file), locked as a reader
		 * sharing writers as the drive's device says (share-rw=). */
		struct blockdev_file_opts o = { .readonly = true,
						.direct = drv->direct };
		for (unsigned i = 0; i < t->cfg->ndevices; i++)
			if (!strcmp(t->cfg->devices[i].drive, id))
				o.share_rw = t->cfg->devices[i].share_rw;
		char why[256] = "";
		e->lower = blockdev_file_open_opts(id, drv->file, &o, why,
						   sizeof(why));
		if (!e->lower) {
			snprintf(err, errlen, "vmm: -drive id=%s,file=%s: %s", id,
				 drv->file, why);
			return NULL;
		}
		/* The overlay owns the file from here; lower stays for the
		 * check that the file was not written. */
		struct blockdev *bd = ovl_new(e->lower, drv->readonly);
		if (!bd) {
			blockdev_close(e->lower);
			e->lower = NULL;
		}
		return bd;
	}
	case TRACE_BK_NET: {
		const struct cfg_netdev *nc = config_netdev(t->cfg, id);
		e->tap = nc && nc->type == CFG_NETDEV_TAP;
		return netdev_loop_new(id, false);
	}
	case TRACE_BK_ENTROPY: {
		unsigned idx;
		if (sscanf(id, "rng%u", &idx) != 1)
			break;
		return entropy_prng_new(id, st_rng_seed(t, idx));
	}
	case TRACE_BK_CHR:
		return chr_mem_new(id, 0);
	default:
		break;
	}
	snprintf(err, errlen, "vmm: accel=sim: no stand-in for backend '%s'", id);
	return NULL;
}

int st_backend_hook(void *opaque, int kind, const char *id, void *opened,
		    void **out, char *err, size_t errlen)
{
	struct selftest *t = opaque;
	*out = opened;
	if (opened)
		return 0;   /* not replacing: nothing to stand in for */
	const struct cfg_chardev *c = kind == TRACE_BK_CHR ?
		config_chardev(t->cfg, id) : NULL;
	if (c && c->type == CFG_CHR_NULL)
		return 0;   /* null: output discarded, as configured */
	/* A board built again on the same host (a snapshot restore,
	 * selftest_snap.c) gets the backends the first one had, as KVM's
	 * board_host.keep store gives them. */
	struct st_backend *have = st_backend_find(t, kind, id);
	if (have) {
		*out = have->obj;
		return 0;
	}
	if (t->nbk >= sizeof(t->bk) / sizeof(t->bk[0])) {
		snprintf(err, errlen, "vmm: accel=sim: too many backends");
		return -1;
	}
	struct st_backend *e = &t->bk[t->nbk];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	snprintf(e->id, sizeof(e->id), "%s", id);
	if (errlen)
		err[0] = '\0';
	errno = 0;
	e->obj = st_open(t, e, id, err, errlen);
	if (!e->obj) {
		/* An image locked by another process, or not a file, is the
		 * configuration's error (exit 2), as when the board opens it. */
		int rc = errno == EBUSY || errno == EINVAL ? -2 : -1;
		if (errlen && !err[0])
			snprintf(err, errlen, "vmm: accel=sim: backend '%s': out of "
				 "memory", id);
		return rc;
	}
	t->nbk++;
	*out = e->obj;
	return 0;
}

void st_backends_close(struct selftest *t)
{
	while (t->nbk > 0) {
		struct st_backend *e = &t->bk[--t->nbk];
		switch (e->kind) {
		case TRACE_BK_BLOCK: blockdev_close(e->obj); break;
		case TRACE_BK_NET: netdev_close(e->obj); break;
		case TRACE_BK_ENTROPY: entropy_close(e->obj); break;
		case TRACE_BK_CHR: chr_close(e->obj); break;
		default: break;
		}
	}
}
