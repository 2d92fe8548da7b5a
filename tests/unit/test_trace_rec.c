/* core/trace_rec*.c: the recorder's wrappers one by one, without a board.
 * Each interface a device uses (irq line, MSI, clock, timers, machine
 * request, guest memory, the four backend kinds) is called through the
 * wrapper; the forwarded effect must reach the real object and the trace
 * must hold exactly the expected records with their fields and payloads.
 * Also: input is held back until start, a chained backend hook is called
 * first, the scenario's view of RAM is not recorded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/blockdev.h"
#include "core/chardev.h"
#include "core/config.h"
#include "core/entropy.h"
#include "core/gm.h"
#include "core/netdev.h"
#include "core/trace.h"
#include "machine/board.h"
#include "sim/sim.h"

struct fe_state {
	uint8_t in[64];
	size_t nin;
	unsigned writable, frames;
	int up;
};

static size_t fe_can(void *o) { (void)o; return 16; }
static void fe_rx(void *o, const uint8_t *b, size_t n)
{
	struct fe_state *f = o;
	memcpy(f->in + f->nin, b, n);
	f->nin += n;
}
static void fe_writable(void *o) { ((struct fe_state *)o)->writable++; }
static void fe_connected(void *o, int up) { ((struct fe_state *)o)->up = up; }
static bool nfe_can(void *o) { (void)o; return true; }
static void nfe_rx(void *o, const uint8_t *b, size_t n)
{
	(void)b;
	(void)n;
	((struct fe_state *)o)->frames++;
}

static void timer_cb(void *arg, uint64_t now)
{
	*(uint64_t *)arg = now;
}

/* The chained hook: counts calls and stands in when asked to replace. */
struct chain {
	unsigned calls;
	struct blockdev *standin;
};
static int chain_hook(void *opaque, int kind, const char *id, void *opened,
		      void **out, char *err, size_t errlen)
{
	(void)id;
	(void)err;
	(void)errlen;
	struct chain *c = opaque;
	c->calls++;
	*out = kind == TRACE_BK_BLOCK && !opened ? c->standin : opened;
	return 0;
}

static void test_wrappers(void **state)
{
	(void)state;
	char path[64], err[256];
	snprintf(path, sizeof(path), "/tmp/test_trace_rec_%d", (int)getpid());
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	char *argv[] = { "vmm", "-machine", "microvm,accel=sim", NULL };
	assert_int_equal(config_parse(cfg, 3, argv, err, sizeof(err)), 0);
	struct sim_config sc = { .ram_size = 16 << 20 };
	struct sim *s = sim_new(&sc);
	struct trace_rec *tr = trace_rec_open(path, 3, argv, cfg, false, 0, NULL,
					      err, sizeof(err));
	assert_non_null(tr);
	struct chain ch = { 0, blockdev_mem_new("d0", 8192, false) };
	struct board_host host = { .wall_epoch = 42, .utc_offset = -3600,
				   .backend = chain_hook, .backend_opaque = &ch,
				   .backend_replace = true };
	struct gm *orig = s->m.gm;
	assert_int_equal(board_trace_attach(&host, &s->m, tr, err, sizeof(err)), 0);
	assert_ptr_not_equal(host.backend, chain_hook);

	/* Backends through the hook, as the board passes them. */
	struct chr *cm = chr_mem_new("c0", 2);   /* a slow host: 2 bytes */
	struct netdev *nl = netdev_loop_new("n0", false);
	struct entropy *ep = entropy_prng_new("rng0", 7);
	void *wc, *wb, *wn, *we, *none;
	assert_int_equal(host.backend(host.backend_opaque, TRACE_BK_CHR, "c0", cm,
				      &wc, err, sizeof(err)), 0);
	assert_int_equal(host.backend(host.backend_opaque, TRACE_BK_BLOCK, "d0", NULL,
				      &wb, err, sizeof(err)), 0);
	assert_int_equal(host.backend(host.backend_opaque, TRACE_BK_NET, "n0", nl,
				      &wn, err, sizeof(err)), 0);
	assert_int_equal(host.backend(host.backend_opaque, TRACE_BK_ENTROPY, "rng0",
				      ep, &we, err, sizeof(err)), 0);
	assert_int_equal(host.backend(host.backend_opaque, TRACE_BK_CHR, "none",
				      NULL, &none, err, sizeof(err)), 0);
	assert_null(none);   /* no backend: nothing wrapped */
	assert_int_equal(ch.calls, 5);
	assert_true(wc != cm && wb != ch.standin && wn != nl && we != ep);
	assert_int_equal(((struct blockdev *)wb)->size, 8192);

	/* A front end on the wrapper; input pushed before start waits. */
	struct fe_state fs = { .up = -1 };
	struct chr_frontend fe = { fe_can, fe_rx, fe_writable, fe_connected, &fs };
	chr_attach(wc, &fe);
	chr_mem_push_input(cm, (const uint8_t *)"ab", 2);
	assert_int_equal(fs.nin, 0);
	struct netdev_frontend nfe = { nfe_can, nfe_rx, &fs };
	netdev_attach(wn, &nfe);

	/* Construction: a clock read, an irq, a timer armed. */
	uint64_t fired = 0;
	struct clk_timer t;
	clk_timer_init(&t, timer_cb, &fired);
	assert_int_equal(clk_now_ns(s->m.clk), 0);
	struct irq line = irq_line(s->m.irqchip, 5);
	irq_set_level(&line, 1);
	assert_int_equal(s->gsi_level[5], 1);
	clk_timer_arm(s->m.clk, &t, 1000);
	assert_true(clk_timer_armed(&t));

	trace_rec_start(tr);
	assert_int_equal(fs.nin, 2);          /* held input flows at start */
	assert_ptr_not_equal(s->m.gm, orig);  /* the scenario's view */
	sim_clock_step(s, 2000);
	assert_int_equal(fired, 1000);
	assert_false(clk_timer_armed(&t));
	assert_int_equal(irq_msi(s->m.irqchip, 0xfee00000, 0x41), 0);
	machine_request(&s->m.ctl, MACHINE_EXIT, 3);
	assert_int_equal(s->last_request, MACHINE_EXIT);
	/* Device access to guest memory (the gm devices hold) is recorded,
	 * the scenario's view is not. */
	uint8_t buf[8] = "12345678";
	assert_int_equal(gm_write(orig, 0x1000, buf, 4), 0);
	assert_int_equal(gm_read(orig, 0x1000, buf, 4), 0);
	assert_int_equal(gm_write(s->m.gm, 0x2000, buf, 4), 0);
	assert_null(gm_map(orig, 0x1000, 16, false));  /* observed: no raw path */
	/* Backends. */
	assert_int_equal(chr_write(wc, (const uint8_t *)"out", 3), 2);
	uint8_t got[8];
	assert_int_equal(chr_mem_take_output(cm, got, sizeof(got)), 2);
	assert_int_equal(fs.writable, 1);   /* room again: told through us */
	chr_fe_connected(cm, false);
	assert_int_equal(fs.up, 0);
	assert_non_null(ch.standin);
	memcpy(blockdev_mem_data(ch.standin), "DISK", 4);
	assert_int_equal(blockdev_read(wb, 0, got, 4), 0);
	assert_memory_equal(got, "DISK", 4);
	assert_int_equal(blockdev_write(wb, 512, "w", 1), 0);
	assert_int_equal(blockdev_flush(wb), 0);
	assert_int_equal(blockdev_discard(wb, 0, 512), 0);
	assert_int_equal(blockdev_write_zeroes(wb, 1024, 512, true), 0);
	uint8_t frame[NETDEV_HDR_LEN + 4] = { 0 };
	struct iovec iov = { frame, sizeof(frame) };
	assert_int_equal(netdev_send(wn, &iov, 1), 0);
	assert_int_equal(netdev_loop_pending_tx(nl), 1);
	assert_int_equal(netdev_loop_inject(nl, frame, sizeof(frame)), 0);
	assert_int_equal(fs.frames, 1);
	assert_int_equal(netdev_set_offload(wn, NETDEV_OFF_CSUM), 0);
	assert_true(entropy_read(we, got, 5) == 5);
	trace_rec_finish(tr);
	assert_ptr_equal(s->m.gm, orig);
	/* After finish nothing more is written. */
	irq_set_level(&line, 0);
	assert_int_equal(trace_rec_close(tr, err, sizeof(err)), 0);

	struct trace_reader r;
	assert_int_equal(trace_reader_open(&r, path, err, sizeof(err)), 0);
	static const unsigned want[] = {
		TR_HOST, TR_BACKEND, TR_BACKEND, TR_BACKEND, TR_BACKEND,
		TR_CHR_ACCEPT, TR_CLK_READ, TR_IRQ, TR_TIMER_ARM, TR_START,
		TR_CHR_IN_BEGIN, TR_END, TR_TIMER_BEGIN, TR_END, TR_MSI,
		TR_REQUEST, TR_GM_WRITE, TR_GM_READ, TR_CHR_WRITE,
		TR_CHR_WRITABLE_BEGIN, TR_END, TR_CHR_CONN_BEGIN, TR_END,
		TR_BLK_READ, TR_BLK_WRITE, TR_BLK_FLUSH, TR_BLK_DISCARD,
		TR_BLK_ZEROES, TR_NET_SEND, TR_NET_RX_BEGIN, TR_END,
		TR_NET_OFFLOAD, TR_ENT_READ, TR_EOF,
	};
	size_t n = sizeof(want) / sizeof(want[0]);
	for (size_t i = 0; i < r.nev && i < n; i++)
		if (r.ev[i].kind != want[i])
			fail_msg("record %zu: %s, want %s", i,
				 trace_kind_name(r.ev[i].kind), trace_kind_name(want[i]));
	assert_int_equal(r.nev, n);
	assert_int_equal((int64_t)r.ev[0].b, -3600);
	assert_int_equal(r.ev[2].a, TRACE_BK_BLOCK);
	assert_int_equal(r.ev[2].b, 8192);
	assert_memory_equal(r.payload[2], "d0", 2);
	assert_int_equal(r.ev[7].a, 5);
	assert_int_equal(r.ev[8].b, 1000);
	assert_memory_equal(r.payload[10], "ab", 2);
	assert_int_equal(r.ev[12].b, 1000);
	assert_int_equal(r.ev[14].b, 0x41);
	assert_int_equal(r.ev[15].b, 3);
	assert_int_equal(r.ev[16].a, 0x1000);
	assert_int_equal(r.ev[18].a, 2);
	assert_memory_equal(r.payload[18], "out", 3);
	assert_int_equal(r.ev[21].a, 0);
	assert_memory_equal(r.payload[23], "DISK", 4);
	assert_true(r.ev[24].d == trace_fnv1a(TRACE_FNV_INIT, "w", 1));
	assert_int_equal(r.ev[27].d, 1);
	assert_int_equal(r.ev[28].b, sizeof(frame));
	assert_int_equal(r.ev[31].a, NETDEV_OFF_CSUM);
	assert_int_equal(r.ev[32].c, 5);
	assert_int_equal(r.ev[32].size, 5);
	trace_reader_close(&r);

	netdev_close(nl);
	chr_close(cm);
	entropy_close(ep);
	blockdev_close(ch.standin);
	sim_free(s);
	free(cfg);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrappers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
