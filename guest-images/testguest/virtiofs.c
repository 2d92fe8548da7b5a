/* A minimal virtio-fs client (virtio 1.2 §5.11), polled: one request
 * queue (queue 1; queue 0 is hiprio) of 8 entries, one FUSE request at a
 * time as a chain of one device-readable buffer (fuse_in_header + args)
 * and one device-writable buffer (fuse_out_header + reply), Linux
 * include/uapi/linux/fuse.h layouts.  It reads "hello.txt", which the
 * test wrote on the host, and creates "fromguest.txt", which the test
 * reads on the host after exit. */
#include "guest.h"

#define QSZ 8
#define FUSE_LOOKUP 1
#define FUSE_OPEN 14
#define FUSE_READ 15
#define FUSE_WRITE 16
#define FUSE_RELEASE 18
#define FUSE_FSYNC 20
#define FUSE_INIT 26
#define FUSE_CREATE 35
#define FUSE_ROOT_ID 1

struct vdesc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct vavail { uint16_t flags, idx, ring[QSZ], used_event; };
struct vused { uint16_t flags, idx; struct { uint32_t id, len; } ring[QSZ]; uint16_t avail_event; };

struct fuse_in_header {
	uint32_t len, opcode;
	uint64_t unique, nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen, padding;
};
struct fuse_out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};

static struct vdesc fdesc[QSZ] __attribute__((aligned(16)));
static struct vavail favail __attribute__((aligned(2)));
static struct vused fused __attribute__((aligned(4)));
static uint8_t inbuf[4096] __attribute__((aligned(8)));
static uint8_t outbuf[4096] __attribute__((aligned(8)));
static uint64_t notify_addr, unique;

static uint32_t strsz(const char *s)
{
	uint32_t n = 0;
	while (s[n])
		n++;
	return n + 1;
}

/* One FUSE request: header + args (alen bytes) + optional extra bytes.
 * The reply lands in outbuf; returns its error (0 ok) or -1000 when no
 * reply came. */
static int fuse_call(uint32_t op, uint64_t nodeid, const void *args,
		     uint32_t alen, const void *extra, uint32_t elen)
{
	struct fuse_in_header *h = (void *)inbuf;
	uint32_t len = sizeof(*h) + alen + elen;
	memset(inbuf, 0, sizeof(*h));
	h->len = len;
	h->opcode = op;
	h->unique = ++unique;
	h->nodeid = nodeid;
	memcpy(inbuf + sizeof(*h), args, alen);
	if (elen)
		memcpy(inbuf + sizeof(*h) + alen, extra, elen);
	memset(outbuf, 0, 256);
	fdesc[0] = (struct vdesc){ (uintptr_t)inbuf, len, 1, 1 };
	fdesc[1] = (struct vdesc){ (uintptr_t)outbuf, sizeof(outbuf), 2, 0 };
	uint16_t idx = favail.idx;
	favail.ring[idx % QSZ] = 0;
	barrier();
	favail.idx = (uint16_t)(idx + 1);
	barrier();
	mmio_write16(notify_addr, 1);
	for (unsigned long i = 0; i < 100000000ul; i++) {
		barrier();
		if (*(volatile uint16_t *)&fused.idx == (uint16_t)(idx + 1))
			break;
	}
	if (*(volatile uint16_t *)&fused.idx != (uint16_t)(idx + 1))
		return -1000;
	const struct fuse_out_header *o = (const void *)outbuf;
	if (o->unique != h->unique)
		return -1001;
	return o->error;
}

static unsigned step_fail(const char *what, int err)
{
	say("virtio-fs FAIL ");
	con_puts(what);
	con_puts(" error ");
	con_dec((uint64_t)(err < 0 ? -err : err));
	con_puts("\n");
	return 1;
}

unsigned check_virtio_fs(unsigned bus, unsigned dev, unsigned fn)
{
	uint64_t status_reg;
	int r;
	memset(fdesc, 0, sizeof(fdesc));
	memset(&favail, 0, sizeof(favail));
	memset(&fused, 0, sizeof(fused));
	favail.flags = 1;   /* no interrupts: we poll */
	r = vpci_setup_queue(dev, fn, 1, QSZ, fdesc, &favail, &fused,
			     &notify_addr, &status_reg);
	(void)bus;
	if (r < 0)
		return step_fail("setup", r);
	say("virtio-fs pci up\n");
	/* FUSE_INIT 7.31: fuse_init_in as the 6.x kernels send it (64 bytes). */
	uint32_t init[16] = { 7, 31, 0, 0 };
	if ((r = fuse_call(FUSE_INIT, 0, init, sizeof(init), 0, 0)) != 0)
		return step_fail("init", r);
	const char *name = "hello.txt";
	if ((r = fuse_call(FUSE_LOOKUP, FUSE_ROOT_ID, name, strsz(name), 0, 0)) != 0)
		return step_fail("lookup", r);
	uint64_t node;
	memcpy(&node, outbuf + 16, 8);         /* fuse_entry_out.nodeid */
	uint32_t open_in[2] = { 0 /* O_RDONLY */, 0 };
	if ((r = fuse_call(FUSE_OPEN, node, open_in, sizeof(open_in), 0, 0)) != 0)
		return step_fail("open", r);
	uint64_t fh;
	memcpy(&fh, outbuf + 16, 8);           /* fuse_open_out.fh */
	struct { uint64_t fh, offset; uint32_t size, read_flags; uint64_t lock_owner;
		 uint32_t flags, padding; } rd = { fh, 0, 64, 0, 0, 0, 0 };
	if ((r = fuse_call(FUSE_READ, node, &rd, sizeof(rd), 0, 0)) != 0)
		return step_fail("read", r);
	const struct fuse_out_header *o = (const void *)outbuf;
	uint32_t got = o->len > 16 ? o->len - 16 : 0;
	static const char want[] = "VMM-VIRTIOFS-HELLO-FROM-HOST";
	unsigned bad = got < sizeof(want) - 1;
	for (unsigned i = 0; !bad && i < sizeof(want) - 1; i++)
		bad = outbuf[16 + i] != (uint8_t)want[i];
	say("virtio-fs read hello.txt ");
	con_text(outbuf + 16, got < 48 ? got : 48);
	con_puts(bad ? " FAIL\n" : " match\n");
	struct { uint64_t fh; uint32_t flags, release_flags; uint64_t lock_owner; }
		rel = { fh, 0, 0, 0 };
	if ((r = fuse_call(FUSE_RELEASE, node, &rel, sizeof(rel), 0, 0)) != 0)
		return step_fail("release", r);
	if (vblk_flags & VBLK_SNAP) {
		/* Saved here with the request queue live; restored on a new
		 * virtiofsd, whose FUSE session is new: INIT again, on the
		 * same ring. */
		snap_pause();
		if ((r = fuse_call(FUSE_INIT, 0, init, sizeof(init), 0, 0)) != 0)
			return step_fail("init after restore", r);
		say("virtio-fs init again after restore\n");
	}

	/* Create, write, fsync, release. */
	const char *nname = "fromguest.txt";
	uint32_t cr[4] = { 0x42 /* O_RDWR|O_CREAT */, 0100644, 0, 0 };
	if ((r = fuse_call(FUSE_CREATE, FUSE_ROOT_ID, cr, sizeof(cr), nname,
			   strsz(nname))) != 0)
		return step_fail("create", r);
	uint64_t nnode, nfh;
	memcpy(&nnode, outbuf + 16, 8);        /* fuse_entry_out.nodeid */
	memcpy(&nfh, outbuf + 16 + 128, 8);    /* then fuse_open_out.fh */
	static const char text[] = "VMM-VIRTIOFS-WRITTEN-BY-GUEST\n";
	struct { uint64_t fh, offset; uint32_t size, write_flags; uint64_t lock_owner;
		 uint32_t flags, padding; } wr = { nfh, 0, sizeof(text) - 1, 0, 0, 0, 0 };
	if ((r = fuse_call(FUSE_WRITE, nnode, &wr, sizeof(wr), text,
			   sizeof(text) - 1)) != 0)
		return step_fail("write", r);
	uint32_t written;
	memcpy(&written, outbuf + 16, 4);
	struct { uint64_t fh; uint32_t fsync_flags, padding; } fs = { nfh, 0, 0 };
	if ((r = fuse_call(FUSE_FSYNC, nnode, &fs, sizeof(fs), 0, 0)) != 0)
		return step_fail("fsync", r);
	rel.fh = nfh;
	if ((r = fuse_call(FUSE_RELEASE, nnode, &rel, sizeof(rel), 0, 0)) != 0)
		return step_fail("release", r);
	say("virtio-fs wrote fromguest.txt ");
	con_dec(written);
	con_puts(" bytes, fsync ok\n");
	mmio_write8(status_reg, 0);   /* reset: the device lets go */
	return bad + (written != sizeof(text) - 1);
}
