/* virtio-console (virtio-serial, multiport) through the sim guest driver
 * on virtio-mmio and virtio-pci, ports backed by in-memory chardevs: the
 * control-queue handshake Linux does, hvc0 on port 0, and no byte lost or
 * reordered when the host is slow or gone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include "core/chardev.h"
#include "devices/virtio/console.h"
#include "vdev_fixture.h"

#define QSZ 32u
#define NPORTS 3u
#define CTRL_BUF 128u

struct ct {
	struct vfx *f;
	struct vcon *c;
	struct chr *chr[NPORTS];
	uint64_t ctrl_addr[QSZ];
	uint64_t rx_addr[NPORTS][QSZ];
};

static enum vfx_kind kind(void **state)
{
	return (enum vfx_kind)(uintptr_t)*state;
}

static unsigned rxq(unsigned p) { return p == 0 ? 0 : 2 + 2 * p; }
static unsigned txq(unsigned p) { return p == 0 ? 1 : 3 + 2 * p; }

static void give_ctrl_bufs(struct ct *t, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = vfx_alloc(t->f, len);
		struct vdq_buf b = { a, len, true };
		int id = i + 1 < n ? vfx_add_nokick(t->f, VCON_CTRL_RXQ, &b, 1)
				   : vfx_add(t->f, VCON_CTRL_RXQ, &b, 1);
		t->ctrl_addr[id] = a;
	}
}

static void ctrl_tx(struct ct *t, uint32_t id, uint16_t ev, uint16_t val)
{
	struct virtio_console_control m = { htole32(id), htole16(ev), htole16(val) };
	struct vdq_buf b = { vfx_put(t->f, &m, sizeof(m)), sizeof(m), false };
	vfx_add(t->f, VCON_CTRL_TXQ, &b, 1);
	uint16_t uid;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, VCON_CTRL_TXQ, &uid, &ul), 1);
}

/* Next control message from the device; false if none. */
static bool ctrl_rx(struct ct *t, struct virtio_console_control *m, char *name,
		    uint32_t *len)
{
	uint16_t id;
	uint32_t ul;
	if (!vfx_used(t->f, VCON_CTRL_RXQ, &id, &ul))
		return false;
	assert_true(ul >= sizeof(*m));
	assert_int_equal(gm_read(vfx_gm(t->f), t->ctrl_addr[id], m, sizeof(*m)), 0);
	m->id = le32toh(m->id);
	m->event = le16toh(m->event);
	m->value = le16toh(m->value);
	if (name) {
		uint32_t n = ul - sizeof(*m);
		assert_int_equal(gm_read(vfx_gm(t->f), t->ctrl_addr[id] + sizeof(*m),
					 name, n), 0);
		name[n] = 0;
	}
	if (len)
		*len = ul;
	/* Recycle the buffer, as the driver does. */
	struct vdq_buf b = { t->ctrl_addr[id], CTRL_BUF, true };
	int nid = vfx_add(t->f, VCON_CTRL_RXQ, &b, 1);
	t->ctrl_addr[nid] = b.gpa;
	return true;
}

static void expect_ctrl(struct ct *t, uint32_t id, uint16_t ev, uint16_t val)
{
	struct virtio_console_control m;
	assert_true(ctrl_rx(t, &m, NULL, NULL));
	assert_int_equal(m.id, id);
	assert_int_equal(m.event, ev);
	assert_int_equal(m.value, val);
}

static struct ct *ct_new(enum vfx_kind k, bool multiport, size_t slow_limit)
{
	struct ct *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->f = vfx_new(k);
	struct vcon_config c = { .gm = vfx_gm(t->f), .log = t->f->log,
				 .max_ports = NPORTS, .cols = 80, .rows = 25 };
	t->c = vcon_new(&c);
	assert_non_null(t->c);
	t->chr[0] = chr_mem_new("c0", 0);
	t->chr[1] = chr_mem_new("c1", slow_limit);
	assert_int_equal(vcon_add_port(t->c, 0, t->chr[0], true, NULL), 0);
	assert_int_equal(vcon_add_port(t->c, 1, t->chr[1], false, "org.test.1"), 0);
	assert_int_equal(vcon_add_port(t->c, 1, t->chr[1], false, NULL), -EEXIST);
	assert_int_equal(vcon_add_port(t->c, NPORTS, NULL, false, NULL), -EINVAL);
	vfx_attach(t->f, vcon_vdev(t->c));
	uint64_t want = VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE);
	if (multiport)
		want |= VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT);
	vfx_start(t->f, want, multiport ? 2 + 2 * NPORTS : 2, QSZ);
	return t;
}

/* The Linux driver's bring-up: DEVICE_READY, then PORT_READY for each
 * port the device adds, then PORT_OPEN for the console. */
static void handshake(struct ct *t)
{
	give_ctrl_bufs(t, 8, CTRL_BUF);
	ctrl_tx(t, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_ctrl(t, 0, VIRTIO_CONSOLE_DEVICE_ADD, 0);
	expect_ctrl(t, 1, VIRTIO_CONSOLE_DEVICE_ADD, 0);
	ctrl_tx(t, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(t, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
	expect_ctrl(t, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ctrl_tx(t, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	struct virtio_console_control m;
	char name[CTRL_BUF];
	assert_true(ctrl_rx(t, &m, name, NULL));
	assert_int_equal(m.event, VIRTIO_CONSOLE_PORT_NAME);
	assert_string_equal(name, "org.test.1");
	expect_ctrl(t, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	assert_false(ctrl_rx(t, &m, NULL, NULL));
	ctrl_tx(t, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ctrl_tx(t, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	assert_true(vcon_port_guest_open(t->c, 0));
	assert_true(vcon_port_guest_open(t->c, 1));
}

static void ct_free(struct ct *t)
{
	vfx_detach(t->f);
	vcon_free(t->c);
	vfx_free(t->f);
	for (unsigned i = 0; i < NPORTS; i++)
		if (t->chr[i])
			chr_close(t->chr[i]);
	free(t);
}

static void guest_write(struct ct *t, unsigned port, const void *data, uint32_t len)
{
	struct vdq_buf b = { vfx_put(t->f, data, len), len, false };
	vfx_add(t->f, txq(port), &b, 1);
}

static void give_rx(struct ct *t, unsigned port, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		struct vdq_buf b = { vfx_alloc(t->f, len), len, true };
		int id = i + 1 < n ? vfx_add_nokick(t->f, rxq(port), &b, 1)
				   : vfx_add(t->f, rxq(port), &b, 1);
		t->rx_addr[port][id] = b.gpa;
	}
}

/* Collect what the guest received on port into out; returns bytes. */
static size_t guest_read(struct ct *t, unsigned port, uint8_t *out, size_t cap)
{
	size_t n = 0;
	uint16_t id;
	uint32_t ul;
	while (vfx_used(t->f, rxq(port), &id, &ul)) {
		assert_true(n + ul <= cap);
		assert_int_equal(gm_read(vfx_gm(t->f), t->rx_addr[port][id], out + n, ul), 0);
		n += ul;
	}
	return n;
}

static void test_config_and_handshake(void **state)
{
	struct ct *t = ct_new(kind(state), true, 0);
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_console_config, cols), 2), 80);
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_console_config, rows), 2), 25);
	assert_int_equal(vfx_cfg(t->f, offsetof(struct virtio_console_config,
						max_nr_ports), 4), NPORTS);
	handshake(t);
	/* A port added while the driver runs is announced. */
	t->chr[2] = chr_mem_new("c2", 0);
	assert_int_equal(vcon_add_port(t->c, 2, t->chr[2], false, NULL), 0);
	expect_ctrl(t, 2, VIRTIO_CONSOLE_DEVICE_ADD, 0);
	ctrl_tx(t, 2, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(t, 2, VIRTIO_CONSOLE_PORT_OPEN, 1);
	/* The guest closes a port. */
	ctrl_tx(t, 1, VIRTIO_CONSOLE_PORT_OPEN, 0);
	assert_false(vcon_port_guest_open(t->c, 1));
	ct_free(t);
}

static void test_hvc_both_ways(void **state)
{
	struct ct *t = ct_new(kind(state), true, 0);
	handshake(t);
	guest_write(t, 0, "hello from hvc0\n", 16);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, txq(0), &id, &ul), 1);
	uint8_t out[64];
	assert_int_equal(chr_mem_take_output(t->chr[0], out, sizeof(out)), 16);
	assert_memory_equal(out, "hello from hvc0\n", 16);
	give_rx(t, 0, 2, 8);
	assert_int_equal(chr_mem_push_input(t->chr[0], (const uint8_t *)"ls -l /\n", 8), 8);
	assert_int_equal(guest_read(t, 0, out, sizeof(out)), 8);
	assert_memory_equal(out, "ls -l /\n", 8);
	assert_true(vfx_irq(t->f));
	/* Emergency write goes straight to port 0. */
	t->f->d.bus->config_write(&t->f->d, offsetof(struct virtio_console_config,
						     emerg_wr), 4, '!');
	assert_int_equal(chr_mem_take_output(t->chr[0], out, sizeof(out)), 1);
	assert_int_equal(out[0], '!');
	/* Other config writes are ignored. */
	t->f->d.bus->config_write(&t->f->d, 0, 2, 1);
	assert_int_equal(vfx_cfg(t->f, 0, 2), 80);
	ct_free(t);
}

static void test_slow_host_output(void **state)
{
	/* Port 1's host takes 100 bytes then stalls until drained. */
	struct ct *t = ct_new(kind(state), true, 100);
	handshake(t);
	uint8_t data[3000];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + i / 256);
	guest_write(t, 1, data, 1000);
	guest_write(t, 1, data + 1000, 1000);
	guest_write(t, 1, data + 2000, 1000);
	uint16_t id;
	uint32_t ul;
	/* Nothing completes while the host is full: the chain is held and
	 * no further TX buffers are popped. */
	assert_int_equal(vfx_used(t->f, txq(1), &id, &ul), 0);
	assert_true(vcon_get_stats(t->c)->tx_stalls > 0);
	uint8_t got[3000];
	size_t n = 0;
	unsigned completed = 0;
	for (int round = 0; round < 100 && n < sizeof(got); round++) {
		n += chr_mem_take_output(t->chr[1], got + n, sizeof(got) - n);
		while (vfx_used(t->f, txq(1), &id, &ul))
			completed++;
	}
	assert_int_equal(n, 3000);
	assert_memory_equal(got, data, 3000);
	assert_int_equal(completed, 3);
	ct_free(t);
}

/* Hot-unplug of a port (§5.3.6.2): DEVICE_REMOVE to a driver past
 * DEVICE_READY, the chain held for a full backend returned, the backend
 * detached (its input no longer reaches the guest); the id can be
 * plugged again and is announced anew. */
static void test_port_hot_remove(void **state)
{
	struct ct *t = ct_new(kind(state), true, 100);
	handshake(t);
	uint8_t data[1000] = { 1 };
	guest_write(t, 1, data, sizeof(data));
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, txq(1), &id, &ul), 0);   /* held: host full */
	assert_int_equal(vcon_remove_port(t->c, 1), 0);
	assert_int_equal(vfx_used(t->f, txq(1), &id, &ul), 1);   /* given back */
	expect_ctrl(t, 1, VIRTIO_CONSOLE_DEVICE_REMOVE, 0);
	assert_int_equal(vcon_remove_port(t->c, 1), -ENOENT);
	assert_int_equal(vcon_remove_port(t->c, NPORTS), -ENOENT);
	assert_false(vcon_port_guest_open(t->c, 1));
	/* The old backend is no longer heard; port 0 carries on. */
	chr_mem_push_input(t->chr[1], (const uint8_t *)"zz", 2);
	assert_int_equal(vcon_port_pending(t->c, 1), 0);
	guest_write(t, 0, "ok", 2);
	assert_int_equal(vfx_used(t->f, txq(0), &id, &ul), 1);
	/* Plugged again under the same id, with another backend. */
	t->chr[2] = chr_mem_new("c2", 0);
	assert_int_equal(vcon_add_port(t->c, 1, t->chr[2], false, NULL), 0);
	expect_ctrl(t, 1, VIRTIO_CONSOLE_DEVICE_ADD, 0);
	ctrl_tx(t, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(t, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ctrl_tx(t, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	guest_write(t, 1, "new", 3);
	uint8_t got[8];
	assert_int_equal(chr_mem_take_output(t->chr[2], got, sizeof(got)), 3);
	assert_memory_equal(got, "new", 3);
	ct_free(t);
}

static void test_disconnected_host(void **state)
{
	struct ct *t = ct_new(kind(state), true, 50);
	handshake(t);
	chr_fe_connected(t->chr[1], false);
	expect_ctrl(t, 1, VIRTIO_CONSOLE_PORT_OPEN, 0);
	/* The guest keeps writing: buffered up to the bound, then held. */
	uint8_t data[200];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	guest_write(t, 1, data, 200);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, txq(1), &id, &ul), 0);
	chr_fe_connected(t->chr[1], true);
	expect_ctrl(t, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	uint8_t got[200];
	size_t n = 0;
	for (int i = 0; i < 20 && n < 200; i++)
		n += chr_mem_take_output(t->chr[1], got + n, sizeof(got) - n);
	assert_int_equal(n, 200);
	assert_memory_equal(got, data, 200);
	assert_int_equal(vfx_used(t->f, txq(1), &id, &ul), 1);
	ct_free(t);
}

static void test_input_flow_control(void **state)
{
	struct ct *t = ct_new(kind(state), true, 0);
	handshake(t);
	enum { N = 3 * VCON_RXBUF };
	static uint8_t in[N], got[N];
	for (unsigned i = 0; i < N; i++)
		in[i] = (uint8_t)(i * 7 + i / 100);
	/* No guest buffers yet: the device takes only what it can hold. */
	assert_int_equal(chr_mem_push_input(t->chr[1], in, N), N);
	assert_int_equal(vcon_port_pending(t->c, 1), VCON_RXBUF);
	assert_int_equal(chr_mem_pending_input(t->chr[1]), N - VCON_RXBUF);
	size_t n = 0;
	for (int round = 0; round < 100 && n < N; round++) {
		give_rx(t, 1, 4, 700);
		n += guest_read(t, 1, got + n, N - n);
	}
	assert_int_equal(n, N);
	assert_memory_equal(got, in, N);
	assert_int_equal(vcon_get_stats(t->c)->rx_bytes, N);
	ct_free(t);
}

static void test_input_waits_for_open(void **state)
{
	struct ct *t = ct_new(kind(state), true, 0);
	give_ctrl_bufs(t, 8, CTRL_BUF);
	ctrl_tx(t, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	ctrl_tx(t, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	give_rx(t, 1, 2, 64);
	chr_mem_push_input(t->chr[1], (const uint8_t *)"early", 5);
	uint8_t got[64];
	assert_int_equal(guest_read(t, 1, got, sizeof(got)), 0);
	assert_int_equal(vcon_port_pending(t->c, 1), 5);
	ctrl_tx(t, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	assert_int_equal(guest_read(t, 1, got, sizeof(got)), 5);
	assert_memory_equal(got, "early", 5);
	ct_free(t);
}

static void test_hostile_control(void **state)
{
	struct ct *t = ct_new(kind(state), true, 0);
	const struct vcon_stats *st = vcon_get_stats(t->c);
	/* Control messages before any control buffer: queued, bounded. */
	for (int i = 0; i < 100; i++)
		ctrl_tx(t, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	assert_true(st->ctrl_dropped > 0);
	/* Short message. */
	struct vdq_buf b = { vfx_put(t->f, "abcd", 4), 4, false };
	vfx_add(t->f, VCON_CTRL_TXQ, &b, 1);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, VCON_CTRL_TXQ, &id, &ul), 1);
	assert_int_equal(st->ctrl_bad, 1);
	/* Bad port ids, an event only the device sends, unknown events. */
	ctrl_tx(t, 99, VIRTIO_CONSOLE_PORT_READY, 1);
	ctrl_tx(t, 0xffffffffu, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ctrl_tx(t, 2, VIRTIO_CONSOLE_PORT_OPEN, 1); /* not present */
	ctrl_tx(t, 0, VIRTIO_CONSOLE_RESIZE, 1);
	ctrl_tx(t, 0, 0xffff, 1);
	assert_int_equal(st->ctrl_bad, 6);
	/* Failures the driver reports are logged, not fatal. */
	ctrl_tx(t, 0, VIRTIO_CONSOLE_DEVICE_READY, 0);
	ctrl_tx(t, 0, VIRTIO_CONSOLE_PORT_READY, 0);
	assert_false(vcon_port_guest_open(t->c, 0));
	/* After a reset the handshake works again. */
	vdriver_reset(&t->f->d);
	vfx_start(t->f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT), 2 + 2 * NPORTS, QSZ);
	handshake(t);
	assert_false(vfx_status(t->f) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	ct_free(t);
}

static void test_small_ctrl_buffer(void **state)
{
	struct ct *t = ct_new(kind(state), true, 0);
	give_ctrl_bufs(t, 1, 8); /* room for a header, not for a name */
	ctrl_tx(t, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, VCON_CTRL_RXQ, &id, &ul), 1);
	assert_int_equal(ul, 0);
	assert_int_equal(vcon_get_stats(t->c)->ctrl_dropped, 1);
	ct_free(t);
}

static void test_single_port_mode(void **state)
{
	struct ct *t = ct_new(kind(state), false, 0);
	/* Without MULTIPORT port 0 is open from DRIVER_OK. */
	assert_true(vcon_port_guest_open(t->c, 0));
	guest_write(t, 0, "boot", 4);
	uint8_t out[8];
	assert_int_equal(chr_mem_take_output(t->chr[0], out, sizeof(out)), 4);
	give_rx(t, 0, 1, 16);
	chr_mem_push_input(t->chr[0], (const uint8_t *)"x", 1);
	assert_int_equal(guest_read(t, 0, out, sizeof(out)), 1);
	/* Control queue notifications are ignored without MULTIPORT. */
	t->f->d.bus->kick(&t->f->d, 0);
	ct_free(t);
}

static void test_port_without_backend(void **state)
{
	struct ct *t = ct_new(kind(state), true, 0);
	assert_int_equal(vcon_add_port(t->c, 2, NULL, false, NULL), 0);
	give_ctrl_bufs(t, 8, CTRL_BUF);
	/* Added before DEVICE_READY: announced with the others. */
	ctrl_tx(t, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	for (unsigned i = 0; i < 3; i++)
		expect_ctrl(t, i, VIRTIO_CONSOLE_DEVICE_ADD, 0);
	ctrl_tx(t, 2, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(t, 2, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ctrl_tx(t, 2, VIRTIO_CONSOLE_PORT_OPEN, 1);
	/* Output to a port with no backend is discarded, never stuck. */
	guest_write(t, 2, "void", 4);
	uint16_t id;
	uint32_t ul;
	assert_int_equal(vfx_used(t->f, txq(2), &id, &ul), 1);
	assert_int_equal(vcon_get_stats(t->c)->discarded, 4);
	ct_free(t);
}

#define BOTH(fn)                                                           \
	VFX_TESTS(fn)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_config_and_handshake),
		BOTH(test_hvc_both_ways),
		BOTH(test_slow_host_output),
		BOTH(test_port_hot_remove),
		BOTH(test_disconnected_host),
		BOTH(test_input_flow_control),
		BOTH(test_input_waits_for_open),
		BOTH(test_hostile_control),
		BOTH(test_small_ctrl_buffer),
		BOTH(test_single_port_mode),
		BOTH(test_port_without_backend),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
