/* accel=sim: the same board on a simulated machine, with the simulator's
 * guest-driver library playing the guest: what `make run` falls back to
 * without /dev/kvm.  It checks what the test guest checks under KVM
 * (serial output, RTC, PCI enumeration, a virtio-blk read over each
 * transport, the nvdimm signature) and prints one line per check.
 * Deterministic: virtual time, a fixed RTC base unless -rtc base=DATE. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/chardev.h"
#include "core/gm.h"
#include "core/log.h"
#include "core/trace.h"
#include "devices/board.h"
#include "devices/rtc.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/virtio.h"
#include "sim/sim.h"
#include "sim/vdriver.h"

/* 2026-01-01T00:00:00Z: the simulator's wall clock for base=utc. */
#define SELFTEST_EPOCH BOARD_SELFTEST_EPOCH

struct selftest {
	FILE *out;
	struct sim *sim;
	const struct machine_config *cfg;
	const struct layout *l;
	unsigned checks, failed;
};

static void st_report(struct selftest *t, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void st_report(struct selftest *t, bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(t->out, "selftest: %s: ", ok ? "ok" : "FAIL");
	vfprintf(t->out, fmt, ap);
	fputc('\n', t->out);
	va_end(ap);
	t->checks++;
	if (!ok)
		t->failed++;
}

/* Transmit through COM1's THR (NS16550A: LSR bit 5 says THR empty) and
 * check the bytes reach the host backend in order. */
static void st_serial(struct selftest *t, struct chr *chr)
{
	static const char msg[] = "vmm self-test: serial ok\r\n";
	for (size_t i = 0; i < sizeof(msg) - 1; i++) {
		unsigned spins = 0;
		while (!(sim_pio_read(t->sim, 0x3f8 + 5, 1) & 0x20) && spins++ < 1000)
			sim_clock_step(t->sim, 100000);
		sim_pio_write(t->sim, 0x3f8, 1, (uint8_t)msg[i]);
	}
	char got[64] = "";
	size_t n = chr_mem_take_output(chr, (uint8_t *)got, sizeof(got) - 1);
	got[n] = '\0';
	st_report(t, n == sizeof(msg) - 1 && !memcmp(got, msg, n),
		  "serial: COM1 transmitted %zu of %zu bytes", n, sizeof(msg) - 1);
}

static uint8_t st_cmos(struct selftest *t, unsigned idx)
{
	sim_pio_write(t->sim, 0x70, 1, idx);
	return (uint8_t)sim_pio_read(t->sim, 0x71, 1);
}

/* The RTC shows the configured base, and one second later has ticked. */
static void st_rtc(struct selftest *t, int64_t base)
{
	sim_clock_step(t->sim, 600000000ull);  /* past the first update */
	uint8_t b = st_cmos(t, RTC_REG_B);
	struct rtc_regs r = {
		.sec = st_cmos(t, RTC_SECONDS), .min = st_cmos(t, RTC_MINUTES),
		.hour = st_cmos(t, RTC_HOURS), .mday = st_cmos(t, RTC_DAY_OF_MONTH),
		.mon = st_cmos(t, RTC_MONTH), .year = st_cmos(t, RTC_YEAR),
		.century = st_cmos(t, RTC_CENTURY),
	};
	int64_t now = rtc_time_decode(&r, b);
	sim_clock_step(t->sim, 1000000000ull);
	uint8_t sec2 = st_cmos(t, RTC_SECONDS);
	struct rtc_tm tm;
	rtc_time_from_epoch(now, &tm);
	st_report(t, now >= base && now <= base + 2 && sec2 != r.sec,
		  "rtc: %04lld-%02d-%02d %02d:%02d:%02d (base %lld), ticking",
		  (long long)tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec,
		  (long long)base);
}

/* PCI configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2): every
 * function on bus 0. */
static void st_pci(struct selftest *t)
{
	unsigned found = 0, virtio = 0;
	for (unsigned dev = 0; dev < 32; dev++) {
		sim_pio_write(t->sim, 0xcf8, 4, 0x80000000u | (dev << 11));
		uint32_t id = (uint32_t)sim_pio_read(t->sim, 0xcfc, 4);
		if ((id & 0xffff) == 0xffff)
			continue;
		found++;
		if ((id & 0xffff) == 0x1af4)
			virtio++;
		fprintf(t->out, "selftest:   pci 00:%02x.0 %04x:%04x\n", dev,
			id & 0xffff, id >> 16);
	}
	st_report(t, found >= 1, "pci: %u functions on bus 0 (%u virtio)", found,
		  virtio);
}

/* Read sector 0 with one VIRTIO_BLK_T_IN request (virtio 1.2 §5.2.6). */
static void st_blk(struct selftest *t, struct vdriver *d, const char *where)
{
	struct vdq vq;
	uint8_t data[512], status = 0xff;
	int r = vdriver_negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	if (r == 0)
		r = vdriver_setup_queue(d, 0, &vq, 16);
	if (r < 0) {
		st_report(t, false, "virtio-blk over %s: set-up failed (%d)", where, r);
		return;
	}
	vdriver_driver_ok(d);
	uint64_t hdr = vdriver_alloc(d, 16, 16), buf = vdriver_alloc(d, 512, 16),
		 st = vdriver_alloc(d, 1, 1);
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_IN, .sector = 0 };
	gm_write(t->sim->m.gm, hdr, &h, sizeof(h));
	gm_write_u8(t->sim->m.gm, st, 0xff);
	struct vdq_buf bufs[3] = {
		{ hdr, sizeof(h), false }, { buf, 512, true }, { st, 1, true },
	};
	uint16_t id;
	uint32_t len;
	int got = 0;
	if (vdq_add(&vq, bufs, 3, false) >= 0) {
		vdq_publish(&vq);
		vdriver_kick(d, 0, &vq);
		for (unsigned i = 0; i < 1000 && got == 0; i++) {
			got = vdq_get_used(&vq, &id, &len);
			if (got == 0)
				sim_clock_step(t->sim, 1000000);
		}
	}
	gm_read(t->sim->m.gm, buf, data, sizeof(data));
	gm_read_u8(t->sim->m.gm, st, &status);
	char text[33];
	for (unsigned i = 0; i < 32; i++)
		text[i] = data[i] >= 0x20 && data[i] < 0x7f ? (char)data[i] : '.';
	text[32] = '\0';
	st_report(t, got == 1 && status == VIRTIO_BLK_S_OK,
		  "virtio-blk over %s: sector 0 \"%s\" (status %u)", where, text,
		  status);
}

static void st_virtio(struct selftest *t)
{
	for (unsigned i = 0; i < t->cfg->ndevices; i++) {
		const struct cfg_device *cd = &t->cfg->devices[i];
		const struct layout_dev *ld = layout_dev_for(t->l, (int)i);
		if (cd->type != CFG_DEV_VIRTIO_BLK || !ld)
			continue;
		struct vdriver d;
		memset(&d, 0, sizeof(d));
		if (cd->transport == CFG_TRANSPORT_MMIO) {
			if (vdriver_mmio_probe(&d, t->sim, ld->mmio_base, ld->gsi) < 0) {
				st_report(t, false, "virtio-mmio at 0x%llx: no device",
					  (unsigned long long)ld->mmio_base);
				continue;
			}
			st_blk(t, &d, "virtio-mmio");
		} else if (cd->transport == CFG_TRANSPORT_PCI && ld->pci_bus == 0) {
			if (vdriver_pci_probe(&d, t->sim, (unsigned)ld->pci_slot,
					      (unsigned)ld->pci_func, true) < 0) {
				st_report(t, false, "virtio-pci at 00:%02x.%x: no device",
					  ld->pci_slot, ld->pci_func);
				continue;
			}
			st_blk(t, &d, "virtio-pci");
		}
	}
}

static void st_nvdimm(struct selftest *t)
{
	for (unsigned i = 0; i < t->l->ndevs; i++) {
		const struct layout_dev *ld = &t->l->devs[i];
		if (!ld->pmem_size)
			continue;
		uint8_t sig[16];
		bool ok = gm_read(t->sim->m.gm, ld->pmem_base, sig, sizeof(sig)) == 0;
		char text[17];
		for (unsigned k = 0; k < 16; k++)
			text[k] = ok && sig[k] >= 0x20 && sig[k] < 0x7f ? (char)sig[k] : '.';
		text[16] = '\0';
		st_report(t, ok, "nvdimm at 0x%llx: \"%s\"",
			  (unsigned long long)ld->pmem_base, text);
	}
}

void board_selftest_config(struct machine_config *c)
{
	if (c->nserial == 0) {
		c->nserial = 1;
		c->serial[0].type = CFG_SERIAL_STDIO;
	}
}

int board_selftest_run(const struct machine_config *cfg, struct log *log,
		       void *out, char *err, size_t errlen)
{
	return board_selftest_run_trace(cfg, log, out, NULL, err, errlen);
}

int board_selftest_run_trace(const struct machine_config *cfg, struct log *log,
			     void *out, struct trace_rec *tr, char *err,
			     size_t errlen)
{
	struct layout l;
	if (layout_build(&l, cfg, err, errlen) < 0)
		return -1;
	/* The simulator's RAM is one flat region from 0: the low part of
	 * the layout (the high part only matters to a real guest). */
	struct sim_config sc = { .ram_size = l.ram[0].size, .seed = cfg->seed,
				 .log = log };
	struct sim *s = sim_new(&sc);
	struct chr *com1 = chr_mem_new("com1", 0);
	if (!s || !com1) {
		snprintf(err, errlen, "vmm: out of memory");
		if (s)
			sim_free(s);
		if (com1)
			chr_close(com1);
		return -1;
	}
	struct board_host host = { .wall_epoch = SELFTEST_EPOCH, .utc_offset = 0 };
	host.serial[0] = com1;
	/* COM1 always exists in the self-test so the serial check runs. */
	struct machine_config *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "vmm: out of memory");
		sim_free(s);
		chr_close(com1);
		return -1;
	}
	*c = *cfg;
	board_selftest_config(c);
	struct board *b = NULL;
	if (!tr || trace_rec_attach(tr, &s->m, &host, err, errlen) == 0)
		b = board_new(&s->m, c, &l, &host, err, errlen);
	/* From here s->m.gm is an unobserved view: the scenario is the guest. */
	if (b)
		trace_rec_start(tr);
	int ret = -1;
	if (b) {
		struct selftest t = { .out = out, .sim = s, .cfg = c, .l = &l };
		fprintf(t.out, "selftest: accel=sim, %u devices, seed %llu\n",
			board_device_count(b), (unsigned long long)cfg->seed);
		st_serial(&t, com1);
		st_rtc(&t, board_rtc_base(c, &host));
		if (l.pci)
			st_pci(&t);
		st_virtio(&t);
		st_nvdimm(&t);
		fprintf(t.out, "selftest: %u checks, %u failed\n", t.checks, t.failed);
		fflush(t.out);
		ret = t.failed ? 1 : 0;
		trace_rec_finish(tr);
		board_shutdown(b);
		board_free(b);
	}

	sim_free(s);
	chr_close(com1);
	free(c);
	return ret;
}
