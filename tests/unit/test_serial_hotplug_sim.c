/* virtio-serial port hot-plug on the board, in the simulator, with the
 * sim guest driver playing Linux's virtio_console (multiport): a board
 * built from "-machine q35 -device virtio-serial-pci -device virtconsole"
 * gets a virtserialport with name= (Kata's agent channel) through
 * config_add_device + board_hotplug_add (what device_add does); the
 * driver, past DEVICE_READY, receives DEVICE_ADD for the first free port
 * and, on PORT_READY, its PORT_NAME (virtio 1.2 §5.3.6.2); device_del
 * removes it at once with DEVICE_REMOVE (device_deleted told once), also
 * for the console present from start-up; a refused add leaves nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/gm.h"
#include "core/layout.h"
#include "devices/virtio/console.h"
#include "devices/virtio/virtio.h"
#include "machine/board.h"
#include "sim/sim.h"
#include "sim/vdriver.h"
#include "sim/vdriver_queue.h"

#define SER_SLOT 5u
#define NQ (2u + 2u * VCON_MAX_PORTS)
#define CBUF 128u

struct pfix {
	struct machine_config cfg;
	struct layout l;
	struct sim *s;
	struct board *b;
	struct board_host host;
	char err[512], deleted[64];
	int ndeleted;
	struct vdriver drv;
	struct vdq vq[NQ];
	uint64_t cbuf[16];
};

static void on_deleted(void *o, const char *id)
{
	struct pfix *f = o;
	f->ndeleted++;
	snprintf(f->deleted, sizeof(f->deleted), "%s", id);
}

static void settle(struct pfix *f)
{
	for (int i = 0; i < 100; i++) {
		uint64_t next = sim_next_deadline(f->s);
		if (next == UINT64_MAX || next > f->s->now_ns + 1000000000ull)
			break;
		sim_clock_step(f->s, next > f->s->now_ns ? next - f->s->now_ns : 0);
	}
}

static void ctrl_tx(struct pfix *f, uint32_t id, uint16_t ev, uint16_t val)
{
	struct virtio_console_control m = { htole32(id), htole16(ev), htole16(val) };
	uint64_t a = vdriver_alloc(&f->drv, sizeof(m), 8);
	gm_write(f->s->m.gm, a, &m, sizeof(m));
	struct vdq_buf b = { a, sizeof(m), false };
	struct vdq *q = &f->vq[VCON_CTRL_TXQ];
	assert_true(vdq_add(q, &b, 1, false) >= 0);
	vdq_publish(q);
	vdriver_kick(&f->drv, VCON_CTRL_TXQ, q);
	settle(f);
	uint16_t uid;
	uint32_t len;
	assert_int_equal(vdq_get_used(q, &uid, &len), 1);
}

/* The next control message (and a PORT_NAME's text); the buffer goes
 * back to the device as Linux recycles it. */
static void expect_ctrl(struct pfix *f, uint32_t id, uint16_t ev, uint16_t val, const char *name)
{
	struct vdq *q = &f->vq[VCON_CTRL_RXQ];
	settle(f);
	uint16_t uid;
	uint32_t len;
	assert_int_equal(vdq_get_used(q, &uid, &len), 1);
	struct virtio_console_control m;
	assert_int_equal(gm_read(f->s->m.gm, f->cbuf[uid], &m, sizeof(m)), 0);
	assert_int_equal(le32toh(m.id), id);
	assert_int_equal(le16toh(m.event), ev);
	assert_int_equal(le16toh(m.value), val);
	if (name) {
		char got[CBUF] = { 0 };
		assert_int_equal(len, sizeof(m) + strlen(name));
		assert_int_equal(gm_read(f->s->m.gm, f->cbuf[uid] + sizeof(m), got,
					 len - sizeof(m)), 0);
		assert_string_equal(got, name);
	}
	struct vdq_buf b = { f->cbuf[uid], CBUF, true };
	int nid = vdq_add(q, &b, 1, false);
	assert_true(nid >= 0);
	f->cbuf[nid] = b.gpa;
	vdq_publish(q);
	vdriver_kick(&f->drv, VCON_CTRL_RXQ, q);
}

static void no_ctrl(struct pfix *f)
{
	settle(f);
	uint16_t uid;
	uint32_t len;
	int r = vdq_get_used(&f->vq[VCON_CTRL_RXQ], &uid, &len);
	if (r) {
		struct virtio_console_control m;
		gm_read(f->s->m.gm, f->cbuf[uid], &m, sizeof(m));
		fail_msg("unexpected control message: port %u event %u value %u",
			 le32toh(m.id), le16toh(m.event), le16toh(m.value));
	}
}

static int hot_add(struct pfix *f, const char *opts)
{
	if (config_add_device(&f->cfg, opts, f->err, sizeof(f->err)) < 0)
		return -1;
	if (board_hotplug_add(f->b, f->cfg.ndevices - 1, f->err, sizeof(f->err)) < 0) {
		f->cfg.ndevices--;
		return -1;
	}
	return 0;
}

static void test_port_hot_add_remove(void **state)
{
	(void)state;
	struct pfix *f = calloc(1, sizeof(*f));
	char *argv[] = { "vmm", "-machine", "q35", "-chardev", "null,id=c0",
			 "-chardev", "null,id=c1", "-device", "virtio-serial-pci,id=ser0,addr=0x5",
			 "-device", "virtconsole,id=con0,chardev=c0,bus=ser0.0", NULL };
	if (config_parse(&f->cfg, 11, argv, f->err, sizeof(f->err)) != 0)
		fail_msg("config_parse: %s", f->err);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = 1 };
	f->s = sim_new(&sc);
	f->host = (struct board_host){ .wall_epoch = 1767225600,
				       .device_deleted = on_deleted, .device_deleted_opaque = f };
	f->b = board_new(&f->s->m, &f->cfg, &f->l, &f->host, f->err, sizeof(f->err));
	if (!f->b)
		fail_msg("board_new: %s", f->err);
	/* virtio_console's probe: multiport, every queue, control buffers,
	 * DEVICE_READY; the console port is announced. */
	assert_int_equal(vdriver_pci_probe(&f->drv, f->s, SER_SLOT, 0, false), 0);
	assert_int_equal(vdriver_pci_virtio_id(&f->drv), VIRTIO_ID_CONSOLE);
	vdriver_set_memory(&f->drv, 0x100000, 0x100000);
	assert_int_equal(vdriver_negotiate(&f->drv, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
					   VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT)), 0);
	for (unsigned q = 0; q < NQ; q++)
		assert_int_equal(vdriver_setup_queue(&f->drv, q, &f->vq[q], 16), 0);
	vdriver_driver_ok(&f->drv);
	for (unsigned k = 0; k < 8; k++) {
		uint64_t a = vdriver_alloc(&f->drv, CBUF, 8);
		struct vdq_buf b = { a, CBUF, true };
		int id = vdq_add(&f->vq[VCON_CTRL_RXQ], &b, 1, false);
		assert_true(id >= 0);
		f->cbuf[id] = a;
	}
	vdq_publish(&f->vq[VCON_CTRL_RXQ]);
	vdriver_kick(&f->drv, VCON_CTRL_RXQ, &f->vq[VCON_CTRL_RXQ]);
	ctrl_tx(f, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_DEVICE_ADD, 0, NULL);
	no_ctrl(f);

	/* Refused (no such chardev): nothing announced, nothing added. */
	assert_int_equal(hot_add(f, "virtserialport,id=p1,chardev=zz,bus=ser0.0"), -1);
	no_ctrl(f);
	assert_int_equal(hot_add(f, "virtserialport,id=p1,chardev=c1,bus=ser0.0,"
				    "name=agent.channel.0"), 0);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_DEVICE_ADD, 0, NULL);
	ctrl_tx(f, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_NAME, 1, "agent.channel.0");
	/* Not a console (no CONSOLE_PORT); its host side is connected. */
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
	no_ctrl(f);

	assert_int_equal(board_hotplug_del(f->b, "p1"), 0);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_DEVICE_REMOVE, 0, NULL);
	assert_int_equal(f->ndeleted, 1);
	assert_string_equal(f->deleted, "p1");
	assert_int_equal(board_hotplug_del(f->b, "p1"), -ENODEV);
	assert_true(config_remove_device(&f->cfg, "p1") >= 0);
	/* The console from start-up goes the same way; its number is then
	 * the first free one for the next port. */
	assert_int_equal(board_hotplug_del(f->b, "con0"), 0);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_DEVICE_REMOVE, 0, NULL);
	assert_int_equal(f->ndeleted, 2);
	assert_true(config_remove_device(&f->cfg, "con0") >= 0);
	assert_int_equal(hot_add(f, "virtconsole,id=con1,chardev=c1,bus=ser0.0"), 0);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_DEVICE_ADD, 0, NULL);
	ctrl_tx(f, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1, NULL);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_PORT_NAME, 1, "con1");
	expect_ctrl(f, 0, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);

	board_free(f->b);
	sim_free(f->s);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_hot_add_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
