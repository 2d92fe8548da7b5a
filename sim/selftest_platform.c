/* Self-test of the PC platform devices, driven as Linux drives them: the
 * 8250 driver's THRE interrupt and transmit path, the CMOS clock read,
 * the PIT as the periodic tick and as pit_calibrate_tsc()'s channel-2
 * one-shot behind port 0x61, the i8042 probe and reset line, PCI
 * enumeration through configuration mechanism #1, and isa-debug-exit. */
#include <stdio.h>
#include <string.h>
#include <linux/pci_regs.h>

#include "core/chardev.h"
#include "core/trace.h"
#include "sim/selftest_int.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/pit.h"
#include "devices/rtc.h"
#include "devices/serial.h"

/* NS16550A register offsets and bits (datasheet, Table 2). */
#define UART_IER 1
#define UART_IIR 2
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7
#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IIR_ID 0x0f
#define UART_IIR_RDI 0x04
#define UART_IIR_THRI 0x02
#define UART_LSR_DR 0x01
#define UART_MCR_OUT2 0x08
#define UART_LSR_THRE 0x20

/* The in-memory backend standing in for COM port i's (or NULL). */
static struct chr *st_com_chr(struct selftest *t, unsigned i)
{
	const struct cfg_serial *s = &t->cfg->serial[i];
	char id[16];
	snprintf(id, sizeof(id), "serial%u", i);
	struct st_backend *e = st_backend_find(t, TRACE_BK_CHR,
					       s->type == CFG_SERIAL_CHARDEV ?
					       s->arg : id);
	return e ? e->obj : NULL;
}

/* One COM port: scratch register, the THRE interrupt on its ISA line
 * (IER bit 1, with OUT2 set as Linux does), a line through THR that must
 * reach the host backend in order, and a byte back from the host. */
static void st_com(struct selftest *t, unsigned i)
{
	struct sim *s = t->sim;
	uint16_t base = layout_com_port(i);
	unsigned gsi = layout_com_gsi(i);
	char msg[48];
	int mlen = snprintf(msg, sizeof(msg), "vmm self-test: COM%u ok\r\n", i + 1);
	sim_pio_write(s, base + UART_SCR, 1, 0xa5);
	bool scr = sim_pio_read(s, base + UART_SCR, 1) == 0xa5;
	sim_pio_write(s, base + UART_MCR, 1, UART_MCR_OUT2);
	sim_pio_write(s, base + UART_IER, 1, UART_IER_THRI);
	bool irq = s->gsi_level[gsi] &&
		   (sim_pio_read(s, base + UART_IIR, 1) & UART_IIR_ID) == UART_IIR_THRI;
	sim_pio_write(s, base + UART_IER, 1, 0);
	for (int k = 0; k < mlen; k++) {
		unsigned spins = 0;
		while (!(sim_pio_read(s, base + UART_LSR, 1) & UART_LSR_THRE) &&
		       spins++ < 1000)
			sim_clock_step(s, 100000);
		sim_pio_write(s, base, 1, (uint8_t)msg[k]);
	}
	struct chr *chr = st_com_chr(t, i);
	char got[64] = "";
	size_t n = chr ? chr_mem_take_output(chr, (uint8_t *)got, sizeof(got) - 1) : 0;
	/* Receive: a byte from the host raises the data-ready interrupt
	 * (IER bit 0) and reads back from RBR. */
	bool rx = false;
	if (chr) {
		sim_pio_write(s, base + UART_IER, 1, UART_IER_RDI);
		chr_mem_push_input(chr, (const uint8_t *)"x", 1);
		rx = s->gsi_level[gsi] &&
		     (sim_pio_read(s, base + UART_IIR, 1) & UART_IIR_ID) == UART_IIR_RDI &&
		     (sim_pio_read(s, base + UART_LSR, 1) & UART_LSR_DR) &&
		     sim_pio_read(s, base, 1) == 'x' &&
		     !(sim_pio_read(s, base + UART_LSR, 1) & UART_LSR_DR);
		sim_pio_write(s, base + UART_IER, 1, 0);
	}
	if (!chr) {
		/* -serial null: the port exists, its output goes nowhere. */
		st_report(t, scr && irq, "serial: COM%u at 0x%x: scratch, THRE "
			  "interrupt on GSI %u; output discarded (no backend)",
			  i + 1, base, gsi);
		return;
	}
	st_report(t, scr && irq && rx && n == (size_t)mlen && !memcmp(got, msg, n),
		  "serial: COM%u at 0x%x: scratch %s, THRE interrupt on GSI %u %s, "
		  "%zu of %d bytes transmitted, receive with interrupt %s", i + 1,
		  base, scr ? "ok" : "BAD", gsi, irq ? "ok" : "MISSING", n, mlen,
		  rx ? "ok" : "FAILED");
}

void st_serial(struct selftest *t)
{
	unsigned n = 0;
	for (unsigned i = 0; i < t->cfg->nserial && i < CFG_MAX_SERIAL; i++)
		if (t->cfg->serial[i].type != CFG_SERIAL_NONE) {
			st_com(t, i);
			n++;
		}
	if (n == 0) {
		/* No -serial: nothing may answer at COM1 (an 8250 probe reads
		 * all-ones from an empty ISA port). */
		uint64_t lsr = sim_pio_read(t->sim, 0x3f8 + UART_LSR, 1);
		st_report(t, lsr == 0xff, "serial: none configured, COM1 port "
			  "reads 0x%02llx", (unsigned long long)lsr);
	}
}

static uint8_t st_cmos(struct selftest *t, unsigned idx)
{
	sim_pio_write(t->sim, 0x70, 1, idx);
	return (uint8_t)sim_pio_read(t->sim, 0x71, 1);
}

#define RTC_RATE_1024HZ 6u     /* MC146818 reg A RS3-0: 32768 >> (6 - 1) */
#define RTC_PER_EDGES 8u
#define RTC_PER_NS 976562u     /* 1e9 / 1024, rounded down */

/* The periodic interrupt as Linux's rtc-cmos uses it (hpet_rtc emulation,
 * /dev/rtc PIE): reg A rate 6 (1024 Hz), PIE on, IRQ8 held until register
 * C is read (MC146818 datasheet, "Periodic Interrupt").  The edges come
 * every 976562-976563 ns of virtual time. */
static bool st_rtc_periodic(struct selftest *t, char *why, size_t wlen)
{
	struct sim *s = t->sim;
	uint8_t a = st_cmos(t, RTC_REG_A), b = st_cmos(t, RTC_REG_B);
	sim_pio_write(s, 0x70, 1, RTC_REG_A);
	sim_pio_write(s, 0x71, 1, (a & ~RTC_A_RS_MASK) | RTC_RATE_1024HZ);
	(void)st_cmos(t, RTC_REG_C);
	sim_pio_write(s, 0x70, 1, RTC_REG_B);
	sim_pio_write(s, 0x71, 1, b | RTC_B_PIE);
	uint64_t lo = UINT64_MAX, hi = 0, last = 0;
	unsigned edges = 0, bad_c = 0;
	for (; edges <= RTC_PER_EDGES; edges++) {
		if (!sim_wait_irq(s, LAYOUT_GSI_RTC, 3 * (uint64_t)RTC_PER_NS))
			break;
		if (edges) {
			uint64_t d = s->now_ns - last;
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		last = s->now_ns;
		/* IRQF and PF set; reading C releases the line. */
		if ((st_cmos(t, RTC_REG_C) & (RTC_C_IRQF | RTC_C_PF)) !=
		    (RTC_C_IRQF | RTC_C_PF))
			bad_c++;
	}
	sim_pio_write(s, 0x70, 1, RTC_REG_B);
	sim_pio_write(s, 0x71, 1, b);
	sim_pio_write(s, 0x70, 1, RTC_REG_A);
	sim_pio_write(s, 0x71, 1, a);
	(void)st_cmos(t, RTC_REG_C);
	bool ok = edges == RTC_PER_EDGES + 1 && !bad_c && lo >= RTC_PER_NS &&
		  hi <= RTC_PER_NS + 1;
	snprintf(why, wlen, "%u edges, intervals %llu-%llu ns%s", edges,
		 (unsigned long long)(lo == UINT64_MAX ? 0 : lo),
		 (unsigned long long)hi, bad_c ? ", register C without IRQF|PF" : "");
	return ok;
}

/* The RTC shows the configured base, one second later has ticked, and
 * its periodic interrupt keeps time. */
void st_rtc(struct selftest *t, int64_t base)
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
	char per[96];
	bool per_ok = st_rtc_periodic(t, per, sizeof(per));
	st_report(t, now >= base && now <= base + 2 && sec2 != r.sec && per_ok,
		  "rtc: %04lld-%02d-%02d %02d:%02d:%02d (base %lld), ticking; "
		  "IRQ8 periodic at 1024 Hz: %s",
		  (long long)tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec,
		  (long long)base, per);
}

#define PIT_DIVISOR 1193u   /* 1193182 Hz / 1193: the 1000 Hz tick */
#define PIT_EDGES 10u
#define PIT_CAL_COUNT 11932u /* channel 2: 10 ms, as pit_calibrate_tsc */
#define P61_GATE2 0x01
#define P61_SPEAKER 0x02
#define P61_OUT2 0x20

/* Virtual time of the tick count k on the 8254's clock grid
 * (devices/pit.h: tick k at ceil(k * 1e9 / PIT_FREQ_HZ) ns). */
static uint64_t pit_ns(uint64_t ticks)
{
	return (ticks * 1000000000ull + PIT_FREQ_HZ - 1) / PIT_FREQ_HZ;
}

/* Channel 2 as Linux's TSC calibration uses it: gate through port 0x61
 * with the speaker off, mode 0, count 10 ms; OUT2 (port 0x61 bit 5) rises
 * when the count runs out, and not while the gate holds it. */
static bool st_pit_ch2(struct selftest *t, char *why, size_t wlen)
{
	struct sim *s = t->sim;
	uint8_t p61 = (uint8_t)sim_pio_read(s, PIT_PORT61, 1);
	sim_pio_write(s, PIT_PORT61, 1, p61 & ~(P61_GATE2 | P61_SPEAKER));
	sim_pio_write(s, 0x43, 1, 0xb0);   /* ch 2, lobyte/hibyte, mode 0 */
	sim_pio_write(s, 0x42, 1, PIT_CAL_COUNT & 0xff);
	sim_pio_write(s, 0x42, 1, PIT_CAL_COUNT >> 8);
	sim_clock_step(s, 2 * pit_ns(PIT_CAL_COUNT));
	if (sim_pio_read(s, PIT_PORT61, 1) & P61_OUT2) {
		snprintf(why, wlen, "OUT2 rose with the gate low");
		return false;
	}
	sim_pio_write(s, PIT_PORT61, 1, (p61 & ~P61_SPEAKER) | P61_GATE2);
	uint64_t start = s->now_ns;
	sim_clock_step(s, pit_ns(PIT_CAL_COUNT) - 20000);
	if (sim_pio_read(s, PIT_PORT61, 1) & P61_OUT2) {
		snprintf(why, wlen, "OUT2 rose early, at %llu ns",
			 (unsigned long long)(s->now_ns - start));
		return false;
	}
	sim_clock_step(s, 40000);
	bool high = sim_pio_read(s, PIT_PORT61, 1) & P61_OUT2;
	sim_pio_write(s, PIT_PORT61, 1, p61 & ~(P61_GATE2 | P61_SPEAKER));
	if (!high)
		snprintf(why, wlen, "OUT2 still low 10 ms after the gate opened");
	return high;
}

/* Channel 0 as the kernel's periodic tick: mode 2, divisor 1193; IRQ0
 * edges must come every 999847-999848 ns of virtual time (1193 ticks of
 * the 1.193182 MHz clock), PIT_EDGES of them adding up exactly. */
void st_pit(struct selftest *t)
{
	struct sim *s = t->sim;
	sim_pio_write(s, 0x43, 1, 0x34);   /* ch 0, lobyte/hibyte, mode 2 */
	sim_pio_write(s, 0x40, 1, PIT_DIVISOR & 0xff);
	sim_pio_write(s, 0x40, 1, PIT_DIVISOR >> 8);
	uint64_t lo = UINT64_MAX, hi = 0, first = 0, last = 0;
	unsigned edges = 0;
	const uint64_t period = pit_ns(PIT_DIVISOR);
	for (; edges <= PIT_EDGES; edges++) {
		if (!sim_wait_irq(s, LAYOUT_GSI_PIT, 3 * period))
			break;
		if (edges == 0) {
			first = s->now_ns;
		} else {
			uint64_t d = s->now_ns - last;
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		last = s->now_ns;
	}
	/* Back to the BIOS's 18.2 Hz so the other checks step less. */
	sim_pio_write(s, 0x43, 1, 0x36);
	sim_pio_write(s, 0x40, 1, 0);
	sim_pio_write(s, 0x40, 1, 0);
	char why[80] = "";
	bool ch2 = st_pit_ch2(t, why, sizeof(why));
	uint64_t span = last - first;
	/* Edges sit on the tick grid: the span of N periods is N * divisor
	 * ticks, to the rounding of one tick edge. */
	uint64_t want = pit_ns(PIT_EDGES * PIT_DIVISOR);
	bool ok0 = edges == PIT_EDGES + 1 && lo >= 999000 && hi <= 1001000 &&
		   span + 1 >= want && span <= want + 1;
	st_report(t, ok0 && ch2, "pit: IRQ0 mode 2 divisor %u: %u edges, "
		  "intervals %llu-%llu ns, %u periods in %llu ns; channel 2 gate "
		  "and OUT2 via port 0x61 %s%s", PIT_DIVISOR, edges,
		  (unsigned long long)(lo == UINT64_MAX ? 0 : lo),
		  (unsigned long long)hi, PIT_EDGES, (unsigned long long)span,
		  ch2 ? "ok" : "FAILED: ", why);
}

/* i8042 probe as Linux's i8042_controller_check/selftest: controller
 * self-test 0xAA answers 0x55, keyboard interface test 0xAB answers 0;
 * then the reset line (0xFE) reaches the machine as a reset request. */
void st_i8042(struct selftest *t)
{
	struct sim *s = t->sim;
	sim_pio_write(s, I8042_CMD_PORT, 1, 0xaa);
	bool obf = sim_pio_read(s, I8042_CMD_PORT, 1) & I8042_STR_OBF;
	uint8_t self = (uint8_t)sim_pio_read(s, I8042_DATA_PORT, 1);
	sim_pio_write(s, I8042_CMD_PORT, 1, 0xab);
	uint8_t kbd = (uint8_t)sim_pio_read(s, I8042_DATA_PORT, 1);
	s->last_request = MACHINE_RUNNING;
	sim_pio_write(s, I8042_CMD_PORT, 1, 0xfe);
	bool reset = s->last_request == MACHINE_RESET;
	s->last_request = MACHINE_RUNNING;
	st_report(t, obf && self == 0x55 && kbd == 0 && reset,
		  "i8042: self-test 0x%02x, keyboard interface test 0x%02x, "
		  "reset line %s", self, kbd, reset ? "requests a reset" : "DEAD");
}

static uint32_t st_pci_cfg_bus(struct selftest *t, unsigned bus, unsigned dev,
			       unsigned fn, unsigned reg)
{
	sim_pio_write(t->sim, 0xcf8, 4, 0x80000000u | (bus & 0xff) << 16 |
		      (dev << 11) | (fn << 8) | (reg & 0xfc));
	return (uint32_t)sim_pio_read(t->sim, 0xcfc, 4);
}

static uint32_t st_pci_cfg(struct selftest *t, unsigned dev, unsigned fn,
			   unsigned reg)
{
	return st_pci_cfg_bus(t, 0, dev, fn, reg);
}

/* A pci-bridge as Linux's pci_scan_bridge reads it: class 06.04 with a
 * type 1 header (PCI-to-PCI Bridge 1.2 §3.2), primary 0 and the layout's
 * secondary bus, the Slot ID capability with chassis_nr (§13.4), and every
 * function configured behind it answering type 1 requests for that bus. */
static void st_bridge(struct selftest *t, unsigned i)
{
	const struct cfg_device *cd = &t->cfg->devices[i];
	const struct layout_dev *ld = layout_dev_for(t->l, (int)i);
	unsigned slot = (unsigned)ld->pci_slot, fn = (unsigned)ld->pci_func;
	uint32_t cls = st_pci_cfg(t, slot, fn, PCI_CLASS_REVISION) >> 16;
	unsigned hdr = (st_pci_cfg(t, slot, fn, PCI_CACHE_LINE_SIZE) >> 16) & 0x7f;
	uint32_t buses = st_pci_cfg(t, slot, fn, PCI_PRIMARY_BUS);
	unsigned sec = (buses >> 8) & 0xff;
	int chassis = -1;
	unsigned c = st_pci_cfg(t, slot, fn, PCI_CAPABILITY_LIST) & 0xfc;
	for (unsigned n = 0; c && n < 48; n++) {
		uint32_t w = st_pci_cfg(t, slot, fn, c);
		if ((w & 0xff) == PCI_CAP_ID_SLOTID)
			chassis = (int)(w >> 24);
		c = (w >> 8) & 0xfc;
	}
	unsigned behind = 0, reached = 0;
	for (unsigned j = 0; j < t->cfg->ndevices; j++) {
		const struct layout_dev *cl = layout_dev_for(t->l, (int)j);
		if (t->cfg->devices[j].parent != (int)i || !cl || cl->pci_slot < 0 ||
		    t->cfg->devices[j].transport != CFG_TRANSPORT_PCI)
			continue;
		behind++;
		uint32_t id = st_pci_cfg_bus(t, sec, (unsigned)cl->pci_slot,
					     (unsigned)cl->pci_func, PCI_VENDOR_ID);
		reached += (id & 0xffff) == 0x1af4 && cl->pci_bus == (int)sec;
	}
	bool ok = cls == 0x0604 && hdr == PCI_HEADER_TYPE_BRIDGE &&
		  (buses & 0xff) == 0 && (int)sec == ld->bridge_bus &&
		  ((buses >> 16) & 0xff) >= sec && chassis == (int)cd->chassis_nr &&
		  reached == behind;
	st_report(t, ok, "pci-bridge %s at 00:%02x.%x: class %04x header type %u, "
		  "buses %02x/%02x/%02x, chassis %d, %u of %u functions behind it "
		  "answer on bus %02x", cd->id, slot, fn, cls, hdr, buses & 0xff,
		  sec, (buses >> 16) & 0xff, chassis, reached, behind, sec);
}

/* PCI configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2): every
 * function on bus 0, and each configured virtio-pci function at the slot
 * the layout gave it, with the modern device ID 0x1040 + virtio ID under
 * disable-legacy=on and a transitional one (0x1000-0x103f) otherwise. */
void st_pci(struct selftest *t)
{
	unsigned found = 0, virtio = 0, want = 0, placed = 0;
	for (unsigned dev = 0; dev < 32; dev++) {
		for (unsigned fn = 0; fn < 8; fn++) {
			uint32_t id = st_pci_cfg(t, dev, fn, 0);
			if ((id & 0xffff) == 0xffff) {
				if (fn == 0)
					break;
				continue;
			}
			found++;
			virtio += (id & 0xffff) == 0x1af4;
			fprintf(t->out, "selftest:   pci 00:%02x.%x %04x:%04x\n", dev,
				fn, id & 0xffff, id >> 16);
			/* Header type bit 7: more functions (§6.2.1). */
			if (fn == 0 && !(st_pci_cfg(t, dev, 0, 0x0c) & 0x800000u))
				break;
		}
	}
	for (unsigned i = 0; i < t->cfg->ndevices; i++) {
		const struct cfg_device *cd = &t->cfg->devices[i];
		const struct layout_dev *ld = layout_dev_for(t->l, (int)i);
		if (cd->transport != CFG_TRANSPORT_PCI || !ld || ld->pci_bus != 0)
			continue;
		if (cd->type == CFG_DEV_PCI_BRIDGE) {
			st_bridge(t, i);
			continue;
		}
		want++;
		uint32_t id = st_pci_cfg(t, (unsigned)ld->pci_slot,
					 (unsigned)ld->pci_func, 0);
		uint32_t dev = id >> 16;
		placed += (id & 0xffff) == 0x1af4 &&
			  (cd->disable_legacy ? dev >= 0x1040 && dev <= 0x107f
					      : dev >= 0x1000 && dev <= 0x103f);
	}
	st_report(t, found >= 1 && placed == want && virtio == want,
		  "pci: %u functions on bus 0, %u virtio, %u of %u configured "
		  "where the layout put them", found, virtio, placed, want);
}

/* isa-debug-exit: a write of v asks for exit status (v << 1) | 1 (QEMU's
 * convention).  The simulator records the request instead of ending. */
void st_debug_exit(struct selftest *t)
{
	struct sim *s = t->sim;
	for (unsigned i = 0; i < t->cfg->ndevices; i++) {
		const struct cfg_device *d = &t->cfg->devices[i];
		if (d->type != CFG_DEV_ISA_DEBUG_EXIT)
			continue;
		uint16_t port = d->iobase ? d->iobase : DEBUG_EXIT_DEFAULT_IOBASE;
		s->last_request = MACHINE_RUNNING;
		sim_pio_write(s, port, 1, 0x10);
		bool ok = s->last_request == MACHINE_EXIT &&
			  s->last_request_status == 0x21;
		st_report(t, ok, "isa-debug-exit at 0x%x: writing 0x10 requests "
			  "exit status %d (recorded, not obeyed)", port,
			  s->last_request == MACHINE_EXIT ? s->last_request_status : -1);
		s->last_request = MACHINE_RUNNING;
	}
}
