/* 8042 keyboard controller (IBM PC/AT Technical Reference, "Keyboard
 * Controller"; command set as Linux's drivers/input/serio/i8042.h uses it)
 * with a PS/2 keyboard that answers commands but never types. */
#include "i8042.h"
#include <string.h>
#include "core/snapshot.h"

#include <stdlib.h>

#include "core/log.h"

/* Controller commands (port 0x64). */
#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_INPUT 0xc0
#define CMD_READ_OUTPUT 0xd0
#define CMD_WRITE_OUTPUT 0xd1
#define CMD_WRITE_KBD_OBUF 0xd2
#define CMD_WRITE_AUX_OBUF 0xd3
#define CMD_WRITE_AUX 0xd4
#define CMD_DISABLE_A20 0xdd
#define CMD_ENABLE_A20 0xdf
#define CMD_PULSE_BASE 0xf0 /* 0xf0-0xff: pulse output bits 0-3 low */

#define OUTPORT_RESET 0x01 /* CPU reset line, active low */
#define OUTPORT_A20 0x02

/* Keyboard commands and replies (port 0x60). */
#define KBD_SET_LEDS 0xed
#define KBD_ECHO 0xee
#define KBD_SCANCODE_SET 0xf0
#define KBD_GET_ID 0xf2
#define KBD_SET_TYPEMATIC 0xf3
#define KBD_ENABLE 0xf4
#define KBD_RESET_DISABLE 0xf5
#define KBD_RESET_ENABLE 0xf6
#define KBD_RESEND 0xfe
#define KBD_RESET 0xff
#define KBD_REPLY_ACK 0xfa
#define KBD_REPLY_RESEND 0xfe
#define KBD_REPLY_BAT_OK 0xaa

#define OUTQ_SIZE 16u

struct i8042 {
	struct i8042_config cfg;
	uint8_t outq[OUTQ_SIZE];
	unsigned outq_head, outq_len;
	uint8_t ctr, outport, status_flags;
	uint8_t pending_cmd;  /* controller command awaiting its data byte */
	uint8_t kbd_pending;  /* keyboard command awaiting its parameter */
	uint8_t kbd_set;      /* scan code set */
	bool kbd_scanning;
	uint8_t last_reply;   /* for the keyboard's resend command */
	int irq_level;
	struct log_rl rl;
};

/* IRQ1 follows the output buffer while keyboard interrupts are enabled. */
static void i8042_update_irq(struct i8042 *k)
{
	int level = k->outq_len && (k->ctr & I8042_CTR_KBDINT);

	if (level != k->irq_level) {
		k->irq_level = level;
		irq_set_level(&k->cfg.irq, level);
	}
}

static void i8042_queue(struct i8042 *k, uint8_t b)
{
	if (k->outq_len == OUTQ_SIZE) {
		log_rl(k->cfg.log, &k->rl, LOG_DEBUG,
		       "i8042: output queue full, 0x%02x dropped", b);
		return;
	}
	k->outq[(k->outq_head + k->outq_len) % OUTQ_SIZE] = b;
	k->outq_len++;
}

static void i8042_request_reset(struct i8042 *k)
{
	log_info(k->cfg.log, "i8042: CPU reset requested by the guest");
	machine_request(&k->cfg.ctl, MACHINE_RESET, 0);
}

static void i8042_kbd_reply(struct i8042 *k, uint8_t b)
{
	k->last_reply = b;
	i8042_queue(k, b);
}

/* A byte for the keyboard itself (no controller command pending). */
static void i8042_kbd_write(struct i8042 *k, uint8_t v)
{
	if (k->kbd_pending) {
		uint8_t cmd = k->kbd_pending;

		k->kbd_pending = 0;
		i8042_kbd_reply(k, KBD_REPLY_ACK);
		if (cmd == KBD_SCANCODE_SET) {
			if (v == 0)
				i8042_kbd_reply(k, k->kbd_set);
			else if (v <= 3)
				k->kbd_set = v;
		}
		return;
	}
	switch (v) {
	case KBD_SET_LEDS:
	case KBD_SCANCODE_SET:
	case KBD_SET_TYPEMATIC:
		k->kbd_pending = v;
		i8042_kbd_reply(k, KBD_REPLY_ACK);
		break;
	case KBD_ECHO:
		i8042_queue(k, KBD_ECHO);
		break;
	case KBD_GET_ID:
		/* MF2 keyboard: ACK, 0xAB, 0x83 (Linux accepts it with or
		 * without translation). */
		i8042_kbd_reply(k, KBD_REPLY_ACK);
		i8042_kbd_reply(k, 0xab);
		i8042_kbd_reply(k, 0x83);
		break;
	case KBD_ENABLE:
		k->kbd_scanning = true;
		i8042_kbd_reply(k, KBD_REPLY_ACK);
		break;
	case KBD_RESET_DISABLE:
		k->kbd_scanning = false;
		i8042_kbd_reply(k, KBD_REPLY_ACK);
		break;
	case KBD_RESET_ENABLE:
		k->kbd_scanning = true;
		i8042_kbd_reply(k, KBD_REPLY_ACK);
		break;
	case KBD_RESEND:
		i8042_queue(k, k->last_reply);
		break;
	case KBD_RESET:
		k->kbd_scanning = true;
		k->kbd_set = 2;
		i8042_kbd_reply(k, KBD_REPLY_ACK);
		i8042_kbd_reply(k, KBD_REPLY_BAT_OK);
		break;
	default:
		if (v >= 0xf7) { /* typematic/make-break modes: accepted */
			i8042_kbd_reply(k, KBD_REPLY_ACK);
			break;
		}
		i8042_queue(k, KBD_REPLY_RESEND);
		break;
	}
}

static void i8042_write_outport(struct i8042 *k, uint8_t v)
{
	k->outport = v;
	if (!(v & OUTPORT_RESET))
		i8042_request_reset(k);
}

static void i8042_data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	switch (cmd) {
	case 0:
		i8042_kbd_write(k, v);
		break;
	case CMD_WRITE_CTR:
		k->ctr = v;
		k->status_flags = (uint8_t)((k->status_flags & ~I8042_STR_SYS) |
					    (v & I8042_CTR_SYS));
		break;
	case CMD_WRITE_OUTPUT:
		i8042_write_outport(k, v);
		break;
	case CMD_WRITE_KBD_OBUF:
		i8042_queue(k, v);
		break;
	default:
		/* 0xD3/0xD4 (aux port, absent) and RAM writes 0x61-0x7f:
		 * the byte is taken and goes nowhere. */
		break;
	}
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->pending_cmd = 0;
	if (cmd >= CMD_PULSE_BASE) {
		/* Bits 0-3 clear = pulse those output-port lines low for 6 us;
		 * bit 0 is the CPU reset line (0xFE is reboot=k). */
		if (!(cmd & OUTPORT_RESET))
			i8042_request_reset(k);
		return;
	}
	if (cmd >= CMD_READ_CTR && cmd < CMD_READ_CTR + 0x20) {
		/* 0x20 reads the command byte, 0x21-0x3f internal RAM. */
		i8042_queue(k, cmd == CMD_READ_CTR ? k->ctr : 0);
		return;
	}
	if (cmd >= CMD_WRITE_CTR && cmd < CMD_WRITE_CTR + 0x20) {
		k->pending_cmd = cmd == CMD_WRITE_CTR ? CMD_WRITE_CTR : 0x61;
		return;
	}
	switch (cmd) {
	case CMD_AUX_DISABLE:
		k->ctr |= I8042_CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		k->ctr &= (uint8_t)~I8042_CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
		i8042_queue(k, 0x01); /* "clock line stuck low": no aux port */
		break;
	case CMD_SELF_TEST:
		k->status_flags |= I8042_STR_SYS;
		i8042_queue(k, 0x55);
		break;
	case CMD_KBD_TEST:
		i8042_queue(k, 0x00);
		break;
	case CMD_KBD_DISABLE:
		k->ctr |= I8042_CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ctr &= (uint8_t)~I8042_CTR_KBDDIS;
		break;
	case CMD_READ_INPUT:
		i8042_queue(k, 0x80); /* keyboard not inhibited */
		break;
	case CMD_READ_OUTPUT:
		i8042_queue(k, k->outport);
		break;
	case CMD_WRITE_OUTPUT:
	case CMD_WRITE_KBD_OBUF:
	case CMD_WRITE_AUX_OBUF:
	case CMD_WRITE_AUX:
		k->pending_cmd = cmd;
		break;
	case CMD_DISABLE_A20:
		k->outport &= (uint8_t)~OUTPORT_A20;
		break;
	case CMD_ENABLE_A20:
		k->outport |= OUTPORT_A20;
		break;
	default:
		log_rl(k->cfg.log, &k->rl, LOG_DEBUG,
		       "i8042: unknown command 0x%02x ignored", cmd);
		break;
	}
}

static uint8_t i8042_status(const struct i8042 *k)
{
	return (uint8_t)(k->status_flags | I8042_STR_KEYLOCK |
			 (k->outq_len ? I8042_STR_OBF : 0));
}

static uint8_t i8042_read_data(struct i8042 *k)
{
	uint8_t b;

	if (!k->outq_len)
		return k->outq[(k->outq_head + OUTQ_SIZE - 1) % OUTQ_SIZE];
	b = k->outq[k->outq_head];
	k->outq_head = (k->outq_head + 1) % OUTQ_SIZE;
	k->outq_len--;
	/* Reading empties the output buffer and drops IRQ1; the next queued
	 * byte then fills it again: a fresh edge for an edge-triggered PIC. */
	if (k->irq_level) {
		k->irq_level = 0;
		irq_set_level(&k->cfg.irq, 0);
	}
	return b;
}

/* The data (0x60) and command/status (0x64) ports are one byte each: the
 * bytes of a wider access beyond it read as 0xff and are dropped on
 * write.  CMDDAT in the status register records which of the two ports
 * the last write went to (the controller's A2 input). */
static int port_access(struct i8042 *k, uint64_t offset, uint8_t *p,
		       unsigned len, bool is_write, bool cmd)
{
	for (unsigned i = 0; i < len; i++) {
		if (offset + i != 0) {
			if (!is_write)
				p[i] = 0xff;
			continue;
		}
		if (is_write && cmd) {
			k->status_flags |= I8042_STR_CMDDAT;
			i8042_command(k, p[i]);
		} else if (is_write) {
			k->status_flags &= (uint8_t)~I8042_STR_CMDDAT;
			i8042_data_write(k, p[i]);
		} else {
			p[i] = cmd ? i8042_status(k) : i8042_read_data(k);
		}
	}
	i8042_update_irq(k);
	return 0;
}

int i8042_data_access(void *dev, uint64_t offset, void *data, unsigned len,
		      bool is_write)
{
	return port_access(dev, offset, data, len, is_write, false);
}

int i8042_cmd_access(void *dev, uint64_t offset, void *data, unsigned len,
		     bool is_write)
{
	return port_access(dev, offset, data, len, is_write, true);
}

void i8042_reset(struct i8042 *k)
{
	k->outq_head = k->outq_len = 0;
	/* What the BIOS leaves: keyboard interrupt on, translation on, the
	 * (absent) aux port disabled, POST passed. */
	k->ctr = I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_AUXDIS |
		 I8042_CTR_XLATE;
	k->status_flags = I8042_STR_SYS;
	k->outport = OUTPORT_RESET | OUTPORT_A20;
	k->pending_cmd = 0;
	k->kbd_pending = 0;
	k->kbd_set = 2;
	k->kbd_scanning = true;
	k->last_reply = KBD_REPLY_ACK;
	i8042_update_irq(k);
}

struct i8042 *i8042_new(const struct i8042_config *cfg)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->cfg = *cfg;
	i8042_reset(k);
	return k;
}

void i8042_free(struct i8042 *k)
{
	free(k);
}

/* ---- snapshot (docs/snapshot.md "i8042") ---- */

int i8042_save(const struct i8042 *k, struct snap_w *w)
{
	uint8_t q[OUTQ_SIZE];
	for (unsigned i = 0; i < k->outq_len; i++)
		q[i] = k->outq[(k->outq_head + i) % OUTQ_SIZE];
	snap_w_begin(w, "i8042", 1);
	snap_w_bytes(w, "outq", q, k->outq_len);
	const uint8_t regs[7] = { k->ctr, k->outport, k->status_flags,
				  k->pending_cmd, k->kbd_pending, k->kbd_set,
				  k->last_reply };
	snap_w_bytes(w, "regs", regs, sizeof(regs));
	snap_w_bool(w, "kbd_scanning", k->kbd_scanning);
	snap_w_u8(w, "irq_level", (uint8_t)(k->irq_level != 0));
	snap_w_end(w);
	return 0;
}

int i8042_load(struct i8042 *k, struct snap_r *r)
{
	const uint8_t *q = NULL;
	size_t n = 0;
	uint8_t regs[7] = { 0 }, level = 0;
	bool scanning = false;
	snap_r_begin(r, "i8042", 1, NULL);
	snap_r_blob(r, "outq", &q, &n);
	snap_r_bytes(r, "regs", regs, sizeof(regs));
	snap_r_bool(r, "kbd_scanning", &scanning);
	snap_r_u8(r, "irq_level", &level);
	snap_r_check(r, n <= OUTQ_SIZE, "outq", "longer than the output queue");
	snap_r_check(r, level <= 1, "irq_level", "not 0 or 1");
	snap_r_check(r, regs[5] >= 1 && regs[5] <= 3, "regs",
		     "scan code set other than 1..3");
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	k->outq_head = 0;
	k->outq_len = (unsigned)n;
	if (n)
		memcpy(k->outq, q, n);
	k->ctr = regs[0];
	k->outport = regs[1];
	k->status_flags = regs[2];
	k->pending_cmd = regs[3];
	k->kbd_pending = regs[4];
	k->kbd_set = regs[5];
	k->last_reply = regs[6];
	k->kbd_scanning = scanning;
	k->irq_level = level;
	return 0;
}
