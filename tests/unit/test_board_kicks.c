/* Snapshots and I/O threads (machine/board_iothread.c): a virtio-blk on
 * an iothread, built with a stand-in for KVM's ioeventfd hook, so its
 * queue doorbell is an eventfd the I/O thread watches -- as under KVM,
 * without KVM.  The test holds the machine lock throughout, which is what
 * keeps the I/O thread out of device code (its loop takes that lock
 * before reading an eventfd).
 *   - drain: a request published and its doorbell rung (the eventfd
 *     signalled, as KVM does on the guest's write) but taken by nobody
 *     yet is run by board_save_state before any device is written out,
 *     and the eventfd is left empty;
 *   - replay: a stream holding a request the device was never told about
 *     (what a vmm without the drain wrote when a doorbell was pending) is
 *     loaded into a fresh board; board_kicks_replay kicks the queue once
 *     and the request completes there; a second replay finds nothing new
 *     and completes nothing twice;
 *   - virtio-pci: no kick while BAR 4 is not where the doorbell was
 *     wired (moved, or decode off), one once it is back;
 *   - without the hook (the simulator) both are no-ops. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "core/snapshot.h"
#include "devices/pci/pci.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/pci.h"
#include "devices/virtio/virtio.h"
#include "machine/board.h"
#include "machine/board_snapshot.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "sim/vdriver_queue.h"

#define MAX_FDS 16

/* What KVM would hold: doorbell address -> eventfd. */
struct fake_kvm {
	uint64_t addr[MAX_FDS];
	int fd[MAX_FDS];
	unsigned n;
};

static int fake_ioeventfd(void *opaque, uint64_t addr, unsigned len,
			  uint64_t data, int fd, bool assign)
{
	struct fake_kvm *k = opaque;
	(void)len;
	(void)data;
	if (!assign)
		return 0;
	assert_true(k->n < MAX_FDS);
	k->addr[k->n] = addr;
	k->fd[k->n] = fd;
	k->n++;
	return 0;
}

struct fix {
	struct machine_config cfg;
	struct layout l;
	struct sim *s;
	struct board *b;
	struct board_host host;
	struct fake_kvm kvm;
	char dir[64], disk[96], err[512];
	uint64_t base;
	unsigned gsi;
};

static struct fix *setup_machine(bool with_hook, bool q35)
{
	struct fix *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/test_board_kicks_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->disk, sizeof(f->disk), "%s/disk.img", f->dir);
	int fd = open(f->disk, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	const char *text = "KICKED-SECTOR-0.";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	char drive[160];
	snprintf(drive, sizeof(drive), "id=d0,file=%s,readonly=on", f->disk);
	char *argv[] = { "vmm", "-machine", q35 ? "q35" : "microvm", "-m", "16M",
			 "-object", "iothread,id=io0", "-drive", drive, "-device",
			 q35 ? "virtio-blk-pci,drive=d0,iothread=io0,bus=pcie.0,addr=0x3" :
			       "virtio-blk-device,drive=d0,iothread=io0", NULL };
	if (config_parse(&f->cfg, 11, argv, f->err, sizeof(f->err)) != 0)
		fail_msg("config_parse: %s", f->err);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	const struct layout_dev *ld = NULL;
	for (unsigned i = 0; i < f->cfg.ndevices && !ld; i++)
		if (f->cfg.devices[i].type == CFG_DEV_VIRTIO_BLK)
			ld = layout_dev_for(&f->l, (int)i);
	assert_non_null(ld);
	f->base = ld->mmio_base;
	f->gsi = ld->gsi;
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = 1 };
	f->s = sim_new(&sc);
	assert_non_null(f->s);
	f->host = (struct board_host){ .wall_epoch = 1767225600 };
	if (with_hook) {
		f->host.ioeventfd = fake_ioeventfd;
		f->host.ioeventfd_opaque = &f->kvm;
	}
	/* Held from before the I/O thread starts: it never runs device
	 * code while the test looks (board_iothread.c). */
	pthread_mutex_lock(&f->s->m.lock);
	f->b = board_new(&f->s->m, &f->cfg, &f->l, &f->host, f->err, sizeof(f->err));
	if (!f->b)
		fail_msg("board_new: %s", f->err);
	return f;
}

static struct fix *setup(bool with_hook)
{
	return setup_machine(with_hook, false);
}

static void teardown(struct fix *f)
{
	pthread_mutex_unlock(&f->s->m.lock);
	board_free(f->b);
	sim_free(f->s);
	unlink(f->disk);
	rmdir(f->dir);
	free(f);
}

/* The guest's side: the queue live, one read of sector 0 published but
 * not notified.  *st: the status byte's address, *used: the used ring. */
static void publish_read(struct fix *f, struct vdq *vq, uint64_t *data, uint64_t *st)
{
	struct vdriver drv;
	assert_int_equal(vdriver_mmio_probe(&drv, f->s, f->base, f->gsi), 0);
	vdriver_set_memory(&drv, 0x100000, 0x100000);
	assert_int_equal(vdriver_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0);
	assert_int_equal(vdriver_setup_queue(&drv, 0, vq, 8), 0);
	vdriver_driver_ok(&drv);
	uint64_t hdr = vdriver_alloc(&drv, 16, 16);
	*data = vdriver_alloc(&drv, 512, 16);
	*st = vdriver_alloc(&drv, 1, 1);
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_IN, .sector = 0 };
	assert_int_equal(gm_write(f->s->m.gm, hdr, &h, sizeof(h)), 0);
	uint8_t ff = 0xff;
	assert_int_equal(gm_write(f->s->m.gm, *st, &ff, 1), 0);
	struct vdq_buf bufs[3] = { { hdr, sizeof(h), false }, { *data, 512, true }, { *st, 1, true } };
	assert_true(vdq_add(vq, bufs, 3, false) >= 0);
	vdq_publish(vq);
}

/* The used ring's index in s's RAM, after letting due work run. */
static uint16_t used_idx(struct sim *s, const struct vdq *vq)
{
	for (int i = 0; i < 100; i++) {
		uint64_t next = sim_next_deadline(s);
		if (next == UINT64_MAX || next > s->now_ns + 1000000000ull)
			break;
		sim_clock_step(s, next > s->now_ns ? next - s->now_ns : 0);
	}
	uint16_t idx = 0;
	assert_int_equal(gm_read_u16le(s->m.gm, vq->device + 2, &idx), 0);
	return idx;
}

static void check_read(struct sim *s, uint64_t data, uint64_t st)
{
	uint8_t status = 0xff;
	char got[17] = { 0 };
	assert_int_equal(gm_read_u8(s->m.gm, st, &status), 0);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
	assert_int_equal(gm_read(s->m.gm, data, got, 16), 0);
	assert_string_equal(got, "KICKED-SECTOR-0.");
}

static int doorbell_fd(struct fix *f, uint64_t addr)
{
	for (unsigned i = 0; i < f->kvm.n; i++)
		if (f->kvm.addr[i] == addr)
			return f->kvm.fd[i];
	return -1;
}

static void test_drain_before_save(void **state)
{
	(void)state;
	struct fix *f = setup(true);
	int efd = doorbell_fd(f, f->base + 0x50);   /* QueueNotify, §4.2.2 */
	assert_true(efd >= 0);
	struct vdq vq;
	uint64_t data, st;
	publish_read(f, &vq, &data, &st);
	/* The guest's doorbell write, as KVM turns it into the eventfd. */
	uint64_t one = 1;
	assert_int_equal(write(efd, &one, 8), 8);
	assert_int_equal(used_idx(f->s, &vq), 0);     /* nobody took it yet */

	struct snap_w *w = snap_w_new();
	assert_int_equal(board_save_state(f->b, w), 0);
	/* The device saw the request before its state was written. */
	assert_int_equal(used_idx(f->s, &vq), 1);
	check_read(f->s, data, st);
	uint64_t v;
	assert_int_equal(read(efd, &v, 8), -1);
	assert_int_equal(errno, EAGAIN);
	/* Nothing pending: a second save runs nothing. */
	snap_w_free(w);
	w = snap_w_new();
	assert_int_equal(board_save_state(f->b, w), 0);
	assert_int_equal(used_idx(f->s, &vq), 1);
	snap_w_free(w);
	teardown(f);
}

static void test_replay_after_load(void **state)
{
	(void)state;
	struct fix *a = setup(true);
	struct vdq vq;
	uint64_t data, st;
	publish_read(a, &vq, &data, &st);
	/* Saved with the request unseen: no doorbell in the eventfd (what
	 * an older vmm's stream holds when the count was still there). */
	struct snap_w *w = snap_w_new();
	assert_int_equal(board_save_state(a->b, w), 0);
	assert_int_equal(board_save_ram(a->b, w, false), 0);
	const uint8_t *buf;
	size_t len;
	assert_int_equal(snap_w_finish(w, &buf, &len), 0);
	assert_int_equal(used_idx(a->s, &vq), 0);

	struct fix *b = setup(true);
	struct snap_r *r;
	char e[SNAP_ERR_LEN];
	assert_int_equal(snap_r_open(&r, buf, len, e, sizeof(e)), 0);
	assert_int_equal(board_load_state(b->b, r), 0);
	assert_int_equal(board_load_ram(b->b, r, false), 0);
	assert_int_equal(snap_r_done(r), 0);
	snap_r_free(r);
	assert_int_equal(used_idx(b->s, &vq), 0);
	assert_int_equal(board_kicks_replay(b->b), 1);   /* one queue */
	assert_int_equal(used_idx(b->s, &vq), 1);
	check_read(b->s, data, st);
	/* Spurious now: nothing new in the ring, nothing completed twice. */
	board_kicks_replay(b->b);
	assert_int_equal(used_idx(b->s, &vq), 1);
	snap_w_free(w);
	teardown(b);
	teardown(a);
}

/* virtio-pci: the doorbell was wired where firmware put BAR 4.  A guest
 * that moved the BAR (the sim driver assigns its own) gets no kick after
 * a load: a write at the old place could reach something else now.
 * With BAR 4 back where the doorbell is, the queue is kicked. */
static void test_replay_pci_bar_moved(void **state)
{
	(void)state;
	struct fix *f = setup_machine(true, true);
	assert_int_equal(f->kvm.n, 1);
	uint64_t bell = f->kvm.addr[0];             /* queue 0: BAR 4 + notify off */
	struct vdriver drv;
	assert_int_equal(vdriver_pci_probe(&drv, f->s, 3, 0, false), 0);
	vdriver_set_memory(&drv, 0x100000, 0x100000);
	assert_int_equal(vdriver_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0);
	struct vdq vq;
	assert_int_equal(vdriver_setup_queue(&drv, 0, &vq, 8), 0);
	vdriver_driver_ok(&drv);
	uint64_t hdr = vdriver_alloc(&drv, 16, 16), data = vdriver_alloc(&drv, 512, 16),
		 st = vdriver_alloc(&drv, 1, 1);
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_IN, .sector = 0 };
	assert_int_equal(gm_write(f->s->m.gm, hdr, &h, sizeof(h)), 0);
	struct vdq_buf bufs[3] = { { hdr, sizeof(h), false }, { data, 512, true }, { st, 1, true } };
	assert_true(vdq_add(&vq, bufs, 3, false) >= 0);
	vdq_publish(&vq);
	uint32_t lo = vdriver_pci_cfg_read(&drv, PCI_BASE_ADDRESS_4, 4);
	uint32_t hi = vdriver_pci_cfg_read(&drv, PCI_BASE_ADDRESS_5, 4);
	uint64_t bar = ((uint64_t)hi << 32) | (lo & ~0xfu);
	/* The case needs the doorbell moved: the sim driver assigns BARs
	 * itself, apart from the board's firmware-style assignment. */
	assert_true(bar + VIRTIO_PCI_NOTIFY_OFF != bell);
	assert_int_equal(board_kicks_replay(f->b), 0);
	assert_int_equal(used_idx(f->s, &vq), 0);
	/* Back where firmware had it (decode off while moving, as an OS does). */
	uint64_t fw = bell - VIRTIO_PCI_NOTIFY_OFF;
	uint16_t cmd = (uint16_t)vdriver_pci_cfg_read(&drv, PCI_COMMAND, 2);
	vdriver_pci_cfg_write(&drv, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
	vdriver_pci_cfg_write(&drv, PCI_BASE_ADDRESS_4, 4, (uint32_t)fw | (lo & 0xfu));
	vdriver_pci_cfg_write(&drv, PCI_BASE_ADDRESS_5, 4, (uint32_t)(fw >> 32));
	assert_int_equal(board_kicks_replay(f->b), 0);   /* decode off */
	vdriver_pci_cfg_write(&drv, PCI_COMMAND, 2, cmd);
	assert_int_equal(board_kicks_replay(f->b), 1);
	assert_int_equal(used_idx(f->s, &vq), 1);
	check_read(f->s, data, st);
	teardown(f);
}

/* The simulator: no hook, no doorbells, nothing drained or kicked. */
static void test_no_hook(void **state)
{
	(void)state;
	struct fix *f = setup(false);
	struct vdq vq;
	uint64_t data, st;
	publish_read(f, &vq, &data, &st);
	struct snap_w *w = snap_w_new();
	assert_int_equal(board_save_state(f->b, w), 0);
	assert_int_equal(board_kicks_replay(f->b), 0);
	assert_int_equal(used_idx(f->s, &vq), 0);
	snap_w_free(w);
	teardown(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drain_before_save),
		cmocka_unit_test(test_replay_after_load),
		cmocka_unit_test(test_replay_pci_bar_moved),
		cmocka_unit_test(test_no_hook),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
