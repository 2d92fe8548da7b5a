/* Hot-plugged DIMMs and a vhost-user device on the board, in the
 * simulator (machine/board_vhost_mem.c): a q35 board with
 * "-m 128M,slots=2,maxmem=1G", shared RAM and a cold vhost-user-fs-pci
 * whose backend is the fake (vhost_fake.h) on a real unix socket.  Once
 * the guest has started the device (SET_MEM_TABLE), a DIMM added as
 * device_add does it reaches the backend by ADD_MEM_REG before the
 * guest's insert event, and the guest's eject withdraws it by
 * REM_MEM_REG.  Before anything is mapped, a share=off backend and a
 * backend without a free memory slot are refused with one line.  A
 * backend that refuses ADD_MEM_REG breaks its device (NEEDS_RESET, one
 * log line); the DIMM still reaches the guest. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "core/log.h"
#include "core/vhost_user.h"
#include "devices/acpi/mem_hotplug.h"
#include "devices/virtio/vhost_user_dev.h"
#include "devices/virtio/virtio.h"
#include "machine/board.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "sim/vdriver_queue.h"
#include "vhost_fake.h"

#define WIN 0x100000000ull
#define M64 (64ull << 20)
#define FS_SLOT 4u

struct vfx {
	struct machine_config cfg;
	struct layout l;
	struct sim *s;
	struct board *b;
	struct board_host host;
	struct fake_be be;
	struct log *log;
	char dir[64], path[96], err[512];
	int ls;
	unsigned ejected;
};

static void *acceptor(void *arg)
{
	struct vfx *f = arg;
	int c = accept4(f->ls, NULL, NULL, SOCK_CLOEXEC);
	if (c >= 0 && fake_start_fd(&f->be, FAKE_GOOD, c) == 0)
		f->be.pfeatures |= 1ull << VHU_PF_CONFIGURE_MEM_SLOTS;
	return NULL;
}

static void on_ejected(void *o, unsigned slot)
{
	struct vfx *f = o;
	(void)slot;
	f->ejected++;
}

static struct vfx *mk(void)
{
	struct vfx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/test_vhmem_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/be.sock", f->dir);
	f->ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
	assert_int_equal(bind(f->ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->ls, 1), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, acceptor, f), 0);
	char chr[160];
	snprintf(chr, sizeof(chr), "socket,id=c0,path=%s", f->path);
	char *argv[] = { "vmm", "-machine", "q35", "-m", "128M,slots=2,maxmem=1G",
			 "-chardev", chr,
			 "-device", "vhost-user-fs-pci,id=fs0,chardev=c0,tag=t,bus=pcie.0,addr=0x4",
			 "-device", "pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=5,addr=0x5",
			 NULL };
	if (config_parse(&f->cfg, 11, argv, f->err, sizeof(f->err)) != 0)
		fail_msg("config_parse: %s", f->err);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	f->log = log_new_memory(LOG_INFO);
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = 1, .ram_shared = true,
				 .log = f->log };
	f->s = sim_new(&sc);
	f->host = (struct board_host){ .wall_epoch = 1767225600,
				       .dimm_ejected = on_ejected, .dimm_ejected_opaque = f };
	f->b = board_new(&f->s->m, &f->cfg, &f->l, &f->host, f->err, sizeof(f->err));
	pthread_join(th, NULL);
	if (!f->b)
		fail_msg("board_new: %s", f->err);
	return f;
}

static void rm(struct vfx *f)
{
	board_free(f->b);
	fake_stop(&f->be);
	sim_free(f->s);
	log_free(f->log);
	close(f->ls);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
}

/* The guest binds virtio-fs: the backend gets the memory table. */
static void bind_fs(struct vfx *f, struct vdriver *d)
{
	struct vdq hi, rq;
	assert_int_equal(vdriver_pci_probe(d, f->s, FS_SLOT, 0, false), 0);
	assert_int_equal(vdriver_pci_virtio_id(d), VIRTIO_ID_FS);
	vdriver_set_memory(d, 0x100000, 0x100000);
	assert_int_equal(vdriver_negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0);
	assert_int_equal(vdriver_setup_queue(d, 0, &hi, 8), 0);
	assert_int_equal(vdriver_setup_queue(d, 1, &rq, 8), 0);
	vdriver_driver_ok(d);
	assert_int_equal(f->be.memtables, 1);
	assert_int_equal(f->be.memtable_regions, 1);
}

/* device_add pc-dimm's steps as kvm/kvm_memhp.c takes them. */
static int dimm_add(struct vfx *f, const char *obj, const char *dev)
{
	if (config_add_object(&f->cfg, obj, f->err, sizeof(f->err)) < 0)
		return -2;
	const char *id = strstr(obj, "id=") + 3;
	char oid[16];
	snprintf(oid, sizeof(oid), "%.*s", (int)strcspn(id, ","), id);
	if (board_vhost_ram_check(f->b, config_object(&f->cfg, oid), f->err, sizeof(f->err)) < 0)
		return -1;
	assert_int_equal(config_add_device(&f->cfg, dev, f->err, sizeof(f->err)), 0);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	const struct layout_dev *ld = layout_dev_for(&f->l, (int)f->cfg.ndevices - 1);
	struct gm_mmap_spec spec = { .kind = GM_MMAP_MEMFD };
	assert_int_equal(gm_add_mmap(f->s->m.gm, ld->pmem_base, ld->pmem_size, &spec, 0, "dimm"), 0);
	return board_dimm_plug(f->b, (unsigned)ld->mem_slot, ld->pmem_base, ld->pmem_size, 0);
}

static uint8_t sts(struct vfx *f, unsigned slot)
{
	sim_pio_write(f->s, MEMHP_IO_BASE, 4, slot);
	return (uint8_t)sim_pio_read(f->s, MEMHP_IO_BASE + MEMHP_REG_STATUS, 1);
}

static void test_dimm_reaches_backend(void **state)
{
	(void)state;
	struct vfx *f = mk();
	struct vdriver d;
	bind_fs(f, &d);
	/* share=off: refused before anything is mapped, saying why. */
	assert_int_equal(dimm_add(f, "memory-backend-ram,id=priv,size=64M",
				  "pc-dimm,id=dp,memdev=priv"), -1);
	assert_non_null(strstr(f->err, "memdev 'priv' is not shareable with vhost-user device 'fs0'"));
	assert_null(strchr(f->err, '\n'));
	assert_int_equal(f->be.add_reg, 0);
	/* Shared: the backend hears of it (its fd along) before the guest. */
	assert_int_equal(dimm_add(f, "memory-backend-memfd,id=m1,size=64M",
				  "pc-dimm,id=d1,memdev=m1"), 0);
	assert_true(fake_saw(&f->be, VHU_GET_MAX_MEM_SLOTS));
	assert_int_equal(f->be.add_reg, 1);
	assert_int_equal(f->be.add_reg_fds, 1);
	assert_int_equal(f->be.last_reg_gpa, WIN);
	assert_int_equal(f->be.last_reg_size, M64);
	assert_int_equal(sts(f, 0), MEMHP_STS_ENABLED | MEMHP_STS_INSERT);
	/* The backend has no slot left (RAM and d1 fill 2): refused. */
	f->be.max_mem_slots = 2;
	assert_int_equal(dimm_add(f, "memory-backend-memfd,id=m2,size=64M",
				  "pc-dimm,id=d2,memdev=m2"), -1);
	assert_string_equal(f->err, "a used vhost backend has no free memory slots left");
	/* The guest ejects d1: withdrawn from the backend first. */
	assert_int_equal(board_dimm_unplug_request(f->b, 0), 0);
	sim_pio_write(f->s, MEMHP_IO_BASE, 4, 0);
	sim_pio_write(f->s, MEMHP_IO_BASE + MEMHP_REG_STATUS, 1, MEMHP_CTL_EJECT);
	assert_int_equal(f->ejected, 1);
	assert_int_equal(f->be.rem_reg, 1);
	assert_int_equal(f->be.last_reg_gpa, WIN);
	assert_false(d.bus->get_status(&d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_null(strstr(log_memory_text(f->log), "backend broken"));
	/* Then it goes, as kvm_memhp_ejected takes it out. */
	assert_int_equal(gm_remove_region(f->s->m.gm, WIN), 0);
	assert_true(config_remove_device(&f->cfg, "d1") >= 0);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	/* virtio-mem-pci hot-added (the simulator's board maps its region
	 * itself): the whole region reaches the backend too. */
	assert_int_equal(config_add_object(&f->cfg, "memory-backend-memfd,id=vm,size=32M",
					   f->err, sizeof(f->err)), 0);
	assert_int_equal(board_vhost_ram_check(f->b, config_object(&f->cfg, "vm"), f->err,
					       sizeof(f->err)), 0);
	assert_int_equal(config_add_device(&f->cfg, "virtio-mem-pci,id=v1,memdev=vm,bus=rp0",
					   f->err, sizeof(f->err)), 0);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	assert_int_equal(board_hotplug_add(f->b, f->cfg.ndevices - 1, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->be.add_reg, 2);
	assert_int_equal(f->be.last_reg_gpa, WIN);
	assert_int_equal(f->be.last_reg_size, 32ull << 20);
	/* A backend that refuses the region: its device is broken (one
	 * line, NEEDS_RESET); the DIMM still reaches the guest. */
	f->be.max_mem_slots = 32;
	f->be.nack_mem_reg = true;
	assert_int_equal(dimm_add(f, "memory-backend-memfd,id=m3,size=64M",
				  "pc-dimm,id=d3,memdev=m3"), 0);
	assert_int_equal(sts(f, 0), MEMHP_STS_ENABLED | MEMHP_STS_INSERT);
	assert_true(d.bus->get_status(&d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	const char *t = log_memory_text(f->log), *p = strstr(t, "backend broken");
	assert_non_null(p);
	assert_null(strstr(p + 1, "backend broken"));
	rm(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dimm_reaches_backend),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
