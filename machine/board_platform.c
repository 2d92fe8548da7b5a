/* PC platform devices: COM ports, RTC/CMOS, the ACPI PM block.  Port
 * numbers and ISA IRQs are the IBM PC/AT ones every OS probes. */
#include <stdio.h>
#include <string.h>

#include "core/bus.h"
#include "core/gm.h"
#include "core/log.h"
#include "machine/board_int.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/pit.h"
#include "devices/rtc.h"
#include "devices/serial.h"

static void board_serial_free(void *p) { serial_free(p); }
static void board_rtc_free(void *p) { rtc_free(p); }
static void board_pit_free(void *p) { pit_free(p); }
static void board_i8042_free(void *p) { i8042_free(p); }
static void board_dbgexit_free(void *p) { debug_exit_free(p); }

static int board_oom(char *err, size_t errlen)
{
	snprintf(err, errlen, "vmm: out of memory");
	return -1;
}

/* i8254 at 0x40-0x43 on IRQ0, plus its gate/output bits in port 0x61. */
static int board_pit(struct board *b, char *err, size_t errlen)
{
	struct pit_config pc = {
		.clk = b->m->clk,
		.irq = irq_line(b->m->irqchip, LAYOUT_GSI_PIT),
		.lost_tick_policy = b->cfg->lost_tick_policy == CFG_LOST_TICK_DISCARD ?
			PIT_LOST_TICK_DISCARD : PIT_LOST_TICK_DELAY,
		.log = b->m->log,
	};
	struct pit *pit = pit_new(&pc);
	if (!pit)
		return board_oom(err, errlen);
	if (board_push(b, board_pit_free, pit, err, errlen) < 0 ||
	    board_register(b, b->m->pio, PIT_PORT_BASE, PIT_NPORTS, pit_access,
			   pit, "pit", err, errlen) < 0)
		return -1;
	int r = bus_register(b->m->pio, PIT_PORT61, 1, pit_port61_access, pit,
			     "port61");
	if (r < 0) {
		snprintf(err, errlen, "vmm: port 0x61: %s", strerror(-r));
		return -1;
	}
	return 0;
}

/* The 8042's reset line (command 0xFE) is how Linux's reboot=k resets. */
static int board_i8042(struct board *b, char *err, size_t errlen)
{
	struct i8042_config kc = {
		.irq = irq_line(b->m->irqchip, LAYOUT_GSI_KBD),
		.ctl = b->m->ctl,
		.log = b->m->log,
	};
	struct i8042 *k = i8042_new(&kc);
	if (!k)
		return board_oom(err, errlen);
	if (board_push(b, board_i8042_free, k, err, errlen) < 0 ||
	    board_register(b, b->m->pio, I8042_DATA_PORT, 1, i8042_data_access, k,
			   "i8042-data", err, errlen) < 0)
		return -1;
	int r = bus_register(b->m->pio, I8042_CMD_PORT, 1, i8042_cmd_access, k,
			     "i8042-cmd");
	if (r < 0) {
		snprintf(err, errlen, "vmm: port 0x64: %s", strerror(-r));
		return -1;
	}
	return 0;
}

static int board_debug_exits(struct board *b, char *err, size_t errlen)
{
	for (unsigned i = 0; i < b->cfg->ndevices; i++) {
		const struct cfg_device *d = &b->cfg->devices[i];
		if (d->type != CFG_DEV_ISA_DEBUG_EXIT)
			continue;
		struct debug_exit_config dc = {
			.iobase = d->iobase ? d->iobase : DEBUG_EXIT_DEFAULT_IOBASE,
			.iosize = d->iosize ? d->iosize : DEBUG_EXIT_DEFAULT_IOSIZE,
			.ctl = b->m->ctl,
		};
		struct debug_exit *x = debug_exit_new(&dc);
		if (!x)
			return board_oom(err, errlen);
		if (board_push(b, board_dbgexit_free, x, err, errlen) < 0 ||
		    board_register(b, b->m->pio, dc.iobase, dc.iosize,
				   debug_exit_access, x, config_device_name(d),
				   err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* COM1-COM4 (COM3/COM4 share IRQ4/IRQ3 with COM1/COM2 as on a PC). */
static const struct { uint16_t port; unsigned gsi; } board_com[CFG_MAX_SERIAL] = {
	{ SERIAL_COM1_BASE, LAYOUT_GSI_COM1 },
	{ SERIAL_COM2_BASE, LAYOUT_GSI_COM2 },
	{ 0x3e8, LAYOUT_GSI_COM1 },
	{ 0x2e8, LAYOUT_GSI_COM2 },
};

static int board_serials(struct board *b, char *err, size_t errlen)
{
	const struct machine_config *cfg = b->cfg;
	for (unsigned i = 0; i < cfg->nserial && i < CFG_MAX_SERIAL; i++) {
		if (cfg->serial[i].type == CFG_SERIAL_NONE)
			continue;
		struct chr *chr;
		if (board_serial_chr(b, i, &chr, err, errlen) < 0)
			return -1;
		struct serial_config sc = {
			.clk = b->m->clk,
			.irq = irq_line(b->m->irqchip, board_com[i].gsi),
			.chr = chr,
			.log = b->m->log,
		};
		struct serial *s = serial_new(&sc);
		if (!s)
			return board_oom(err, errlen);
		if (board_push(b, board_serial_free, s, err, errlen) < 0)
			return -1;
		char name[8];
		snprintf(name, sizeof(name), "com%u", i + 1);
		if (board_register(b, b->m->pio, board_com[i].port, SERIAL_NREGS,
				   serial_access, s, name, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* CMOS memory-size bytes as the IBM AT BIOS kept them (and SeaBIOS
 * reads them): 0x30/0x31 extended KiB above 1 MiB (max 0xffff),
 * 0x34/0x35 64 KiB blocks above 16 MiB below 4 GiB, 0x5b-0x5d 64 KiB
 * blocks above 4 GiB. */
static void board_cmos_memory(struct board *b, struct rtc *rtc)
{
	uint64_t low = 0, high = 0;
	for (unsigned i = 0; i < b->l->nram; i++) {
		const struct layout_ram *r = &b->l->ram[i];
		if (r->gpa < LAYOUT_HOLE_END)
			low += r->size;
		else
			high += r->size;
	}
	uint64_t ext_k = low > (1u << 20) ? (low - (1u << 20)) >> 10 : 0;
	if (ext_k > 0xffff)
		ext_k = 0xffff;
	uint64_t above16 = low > (16u << 20) ? (low - (16u << 20)) >> 16 : 0;
	if (above16 > 0xffff)
		above16 = 0xffff;
	uint64_t above4g = high >> 16;
	rtc_cmos_set(rtc, 0x15, 640 & 0xff);
	rtc_cmos_set(rtc, 0x16, 640 >> 8);
	rtc_cmos_set(rtc, 0x17, ext_k & 0xff);
	rtc_cmos_set(rtc, 0x18, (ext_k >> 8) & 0xff);
	rtc_cmos_set(rtc, 0x30, ext_k & 0xff);
	rtc_cmos_set(rtc, 0x31, (ext_k >> 8) & 0xff);
	rtc_cmos_set(rtc, 0x34, above16 & 0xff);
	rtc_cmos_set(rtc, 0x35, (above16 >> 8) & 0xff);
	rtc_cmos_set(rtc, 0x5b, above4g & 0xff);
	rtc_cmos_set(rtc, 0x5c, (above4g >> 8) & 0xff);
	rtc_cmos_set(rtc, 0x5d, (above4g >> 16) & 0xff);
}

static int board_rtc(struct board *b, char *err, size_t errlen)
{
	struct rtc_config rc = {
		.clk = b->m->clk,
		.irq = irq_line(b->m->irqchip, LAYOUT_GSI_RTC),
		.base_epoch = board_rtc_base(b->cfg, b->host),
		.slew = b->cfg->rtc.driftfix_slew,
		.log = b->m->log,
	};
	struct rtc *rtc = rtc_new(&rc);
	if (!rtc) {
		snprintf(err, errlen, "vmm: out of memory");
		return -1;
	}
	if (board_push(b, board_rtc_free, rtc, err, errlen) < 0)
		return -1;
	board_cmos_memory(b, rtc);
	return board_register(b, b->m->pio, RTC_PORT_BASE, RTC_NPORTS, rtc_access,
			      rtc, "rtc", err, errlen);
}

int board_platform(struct board *b, char *err, size_t errlen)
{
	if (board_serials(b, err, errlen) < 0 || board_rtc(b, err, errlen) < 0 ||
	    board_pit(b, err, errlen) < 0 || board_i8042(b, err, errlen) < 0 ||
	    board_debug_exits(b, err, errlen) < 0)
		return -1;
	/* The PM block the FADT points at: S5 power-off and the reset
	 * register reach the machine through its ctl. */
	acpi_pm_init(&b->pm, b->m->clk, &b->m->ctl,
		     b->cfg->machine.type == CFG_MACHINE_MICROVM, b->m->log);
	/* The SCI (q35) or GED interrupt (microvm): the power button. */
	acpi_pm_set_sci(&b->pm, irq_line(b->m->irqchip, LAYOUT_GSI_ACPI_SCI));
	if (board_cpuhp(b, err, errlen) < 0)
		return -1;
	return board_register(b, b->m->pio, ACPI_PM_IO_BASE, ACPI_PM_IO_SIZE,
			      acpi_pm_access, &b->pm, "acpi-pm", err, errlen);
}
