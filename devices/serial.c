/* NS16550A UART model.  Register and bit names follow the PC16550D
 * datasheet (National Semiconductor, 1995), section 8 "Registers".
 * The snapshot is in serial_snap.c. */
#include "serial.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/chardev.h"
#include "core/log.h"
#include "serial_priv.h"

/* Register offsets (datasheet Table II). */
enum {
	REG_RBR_THR = 0, /* DLAB=1: DLL */
	REG_IER = 1,     /* DLAB=1: DLM */
	REG_IIR_FCR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* transmitter holding register empty */
#define IER_ELSI 0x04  /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */

#define IIR_NO_INT 0x01
#define IIR_ID_RLS 0x06
#define IIR_ID_RDA 0x04
#define IIR_ID_CTI 0x0c /* character timeout */
#define IIR_ID_THRE 0x02
#define IIR_ID_MSR 0x00
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLR_RX 0x02
#define FCR_CLR_TX 0x04
#define FCR_TRIG_SHIFT 6

#define LCR_DLAB 0x80
#define LCR_PARITY 0x08
#define LCR_STOP2 0x04

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f /* bits 5-7 are always 0 on the 16550A */

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

static void fifo_clear(struct fifo *f)
{
	f->head = 0;
	f->count = 0;
}

static void fifo_push(struct fifo *f, uint8_t b)
{
	f->buf[(f->head + f->count) % FIFO_SIZE] = b;
	f->count++;
}

static uint8_t fifo_pop(struct fifo *f)
{
	uint8_t b = f->buf[f->head];

	f->head = (f->head + 1) % FIFO_SIZE;
	f->count--;
	return b;
}

static bool fifo_on(const struct serial *s)
{
	return s->fcr & FCR_ENABLE;
}

/* Without FIFOs the 16550A is a 16450: one holding register each way. */
static unsigned fifo_cap(const struct serial *s)
{
	return fifo_on(s) ? FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct serial *s)
{
	static const unsigned lvl[4] = { 1, 4, 8, 14 }; /* datasheet FCR6-7 */

	return fifo_on(s) ? lvl[s->fcr >> FCR_TRIG_SHIFT] : 1;
}

/* Interrupt identification with the datasheet's priority ladder (Table IV):
 * line status > received data / timeout > THR empty > modem status. */
static uint8_t serial_iir_id(const struct serial *s)
{
	if ((s->ier & IER_ELSI) && (s->lsr & LSR_ERRS))
		return IIR_ID_RLS;
	if ((s->ier & IER_ERBFI) && s->cti_pending)
		return IIR_ID_CTI;
	if ((s->ier & IER_ERBFI) && s->rx.count >= rx_trigger(s))
		return IIR_ID_RDA;
	if ((s->ier & IER_ETBEI) && s->thr_ipending)
		return IIR_ID_THRE;
	if ((s->ier & IER_EDSSI) && (s->msr & MSR_DELTAS))
		return IIR_ID_MSR;
	return IIR_NO_INT;
}

/* The INTR pin is level: high while any enabled source is pending.  PC
 * boards gate it with MCR.OUT2; like QEMU, kvmtool and Firecracker we do
 * not, as guests written against those rely on it and Linux sets OUT2
 * anyway. */
static void serial_update_irq(struct serial *s)
{
	int level = serial_iir_id(s) != IIR_NO_INT;

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_set_level(&s->cfg.irq, level);
	}
}

/* Time of one character on the wire: start + data + parity + stop bits,
 * each bit 16 clocks of the baud generator at SERIAL_XTAL_HZ / divisor. */
static uint64_t serial_char_ns(const struct serial *s)
{
	uint64_t bits = 1 + 5 + (s->lcr & 3) + ((s->lcr & LCR_PARITY) ? 1 : 0) +
			((s->lcr & LCR_STOP2) ? 2 : 1);
	uint64_t div = s->divisor ? s->divisor : 0x10000;

	return bits * 16 * div * 1000000000ull / SERIAL_XTAL_HZ;
}

/* Character timeout (datasheet FCR description): with FIFOs on and at
 * least one byte waiting, no byte in or out for 4 character times. */
static void serial_cti_rearm(struct serial *s)
{
	if (!s->cfg.clk)
		return;
	if (fifo_on(s) && s->rx.count)
		clk_timer_arm(s->cfg.clk, &s->cti_timer,
			      clk_now_ns(s->cfg.clk) + 4 * serial_char_ns(s));
	else
		clk_timer_cancel(s->cfg.clk, &s->cti_timer);
}

static void serial_cti_fire(void *arg, uint64_t now_ns)
{
	struct serial *s = arg;

	(void)now_ns;
	if (fifo_on(s) && s->rx.count)
		s->cti_pending = true;
	serial_update_irq(s);
}

/* A byte arrives at the receiver (from the backend or the loopback). */
static void serial_rx_byte(struct serial *s, uint8_t b)
{
	if (s->rx.count >= fifo_cap(s)) {
		/* Overrun: the FIFO keeps its bytes and the new character is
		 * lost; a 16450 (no FIFO) overwrites its holding register. */
		s->lsr |= LSR_OE;
		if (!fifo_on(s))
			s->rx.buf[s->rx.head] = b;
	} else {
		fifo_push(&s->rx, b);
	}
	s->lsr |= LSR_DR;
	s->cti_pending = false;
}

/* Hand the transmit FIFO to the backend; what it does not accept stays
 * queued with THRE clear, so the guest waits rather than loses bytes. */
static void serial_tx_flush(struct serial *s)
{
	if (s->in_flush || !s->tx.count)
		return;
	s->in_flush = true;
	while (s->tx.count) {
		unsigned run = FIFO_SIZE - s->tx.head;
		size_t n;

		if (run > s->tx.count)
			run = s->tx.count;
		n = s->cfg.chr ? chr_write(s->cfg.chr, &s->tx.buf[s->tx.head], run)
			       : run;
		if (n > run)
			n = run;
		s->tx.head = (s->tx.head + (unsigned)n) % FIFO_SIZE;
		s->tx.count -= (unsigned)n;
		if (n < run)
			break;
	}
	s->in_flush = false;
	if (!s->tx.count) {
		s->tx.head = 0;
		s->lsr |= LSR_THRE | LSR_TEMT;
		s->thr_ipending = true;
	}
}

static void serial_thr_write(struct serial *s, uint8_t b)
{
	s->thr_ipending = false;
	if (s->mcr & MCR_LOOP) {
		/* Loopback (datasheet MCR4): the transmitter output is wired
		 * to the receiver input, nothing reaches the backend. */
		serial_rx_byte(s, b);
		serial_cti_rearm(s);
		s->lsr |= LSR_THRE | LSR_TEMT;
		s->thr_ipending = true;
		return;
	}
	if (s->tx.count >= fifo_cap(s)) {
		/* Writing a full FIFO loses the byte on real hardware too;
		 * a driver that honours THRE never gets here. */
		log_rl(s->cfg.log, &s->rl, LOG_WARN,
		       "serial: transmit FIFO full, byte dropped");
		return;
	}
	fifo_push(&s->tx, b);
	s->lsr &= (uint8_t)~(LSR_THRE | LSR_TEMT);
	serial_tx_flush(s);
}

static uint8_t serial_rbr_read(struct serial *s, bool *room)
{
	uint8_t b = 0;

	if (s->rx.count) {
		b = fifo_pop(&s->rx);
		*room = true;
	}
	if (!s->rx.count)
		s->lsr &= (uint8_t)~LSR_DR;
	s->cti_pending = false;
	serial_cti_rearm(s);
	return b;
}

/* Modem status inputs: CTS/DSR/DCD asserted by the (virtual) modem in
 * normal mode; in loopback RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.  The
 * delta bits latch changes until MSR is read (TERI: RI trailing edge). */
static void serial_update_msr(struct serial *s)
{
	uint8_t st, old = s->msr;

	if (s->mcr & MCR_LOOP) {
		st = (uint8_t)(((s->mcr & MCR_RTS) ? MSR_CTS : 0) |
			       ((s->mcr & MCR_DTR) ? MSR_DSR : 0) |
			       ((s->mcr & MCR_OUT1) ? MSR_RI : 0) |
			       ((s->mcr & MCR_OUT2) ? MSR_DCD : 0));
	} else {
		st = MSR_CTS | MSR_DSR | MSR_DCD;
	}
	s->msr = (uint8_t)((old & MSR_DELTAS) | st);
	if ((old ^ st) & MSR_CTS)
		s->msr |= MSR_DCTS;
	if ((old ^ st) & MSR_DSR)
		s->msr |= MSR_DDSR;
	if ((old & MSR_RI) && !(st & MSR_RI))
		s->msr |= MSR_TERI;
	if ((old ^ st) & MSR_DCD)
		s->msr |= MSR_DDCD;
}

static void serial_fcr_write(struct serial *s, uint8_t v, bool *room)
{
	/* FCR0 must be set for the other bits to be written; changing it
	 * clears both FIFOs (datasheet FCR0). */
	if ((v & FCR_ENABLE) != (s->fcr & FCR_ENABLE))
		v |= FCR_CLR_RX | FCR_CLR_TX;
	if (!(v & FCR_ENABLE)) {
		s->fcr = 0;
	} else {
		s->fcr = (uint8_t)(v & 0xc1); /* DMA mode bit 3 has no effect */
	}
	if (v & FCR_CLR_RX) {
		fifo_clear(&s->rx);
		s->lsr &= (uint8_t)~LSR_DR;
		s->cti_pending = false;
		*room = true;
	}
	if (v & FCR_CLR_TX) {
		/* Bytes the backend never took are discarded, as the guest
		 * asked; the holding register is empty now. */
		fifo_clear(&s->tx);
		s->lsr |= LSR_THRE | LSR_TEMT;
		s->thr_ipending = true;
	}
	serial_cti_rearm(s);
}

static uint8_t serial_read_reg(struct serial *s, unsigned reg, bool *room)
{
	uint8_t v;

	switch (reg) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB)
			return (uint8_t)s->divisor;
		return serial_rbr_read(s, room);
	case REG_IER:
		if (s->lcr & LCR_DLAB)
			return (uint8_t)(s->divisor >> 8);
		return s->ier;
	case REG_IIR_FCR:
		v = serial_iir_id(s);
		/* Reading IIR while it shows THRE clears that source. */
		if (v == IIR_ID_THRE)
			s->thr_ipending = false;
		return (uint8_t)(v | (fifo_on(s) ? IIR_FIFO_ON : 0));
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		v = s->lsr;
		s->lsr &= (uint8_t)~LSR_ERRS;
		return v;
	case REG_MSR:
		v = s->msr;
		s->msr &= (uint8_t)~MSR_DELTAS;
		return v;
	default:
		return s->scr;
	}
}

static void serial_write_reg(struct serial *s, unsigned reg, uint8_t v,
			     bool *room)
{
	uint8_t old;

	switch (reg) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB)
			s->divisor = (uint16_t)((s->divisor & 0xff00) | v);
		else
			serial_thr_write(s, v);
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->divisor = (uint16_t)((s->divisor & 0x00ff) | (v << 8));
			break;
		}
		old = s->ier;
		s->ier = v & 0x0f;
		/* Enabling ETBEI while THR is empty raises the THRE interrupt
		 * at once; Linux's 8250 startup probes exactly this. */
		if (!(old & IER_ETBEI) && (s->ier & IER_ETBEI) &&
		    (s->lsr & LSR_THRE))
			s->thr_ipending = true;
		break;
	case REG_IIR_FCR:
		serial_fcr_write(s, v, room);
		break;
	case REG_LCR:
		s->lcr = v;
		break;
	case REG_MCR:
		old = s->mcr;
		s->mcr = v & MCR_MASK;
		serial_update_msr(s);
		if ((old ^ s->mcr) & MCR_LOOP)
			*room = true; /* backend input resumes or pauses */
		break;
	case REG_LSR:
	case REG_MSR:
		/* Factory-test writes: ignored. */
		break;
	default:
		s->scr = v;
		break;
	}
}

int serial_access(void *dev, uint64_t offset, void *data, unsigned len,
		  bool is_write)
{
	struct serial *s = dev;
	uint8_t *p = data;
	bool room = false;

	for (unsigned i = 0; i < len; i++) {
		uint64_t reg = offset + i;

		if (reg >= SERIAL_NREGS) {
			if (!is_write)
				p[i] = 0xff;
			continue;
		}
		if (is_write)
			serial_write_reg(s, (unsigned)reg, p[i], &room);
		else
			p[i] = serial_read_reg(s, (unsigned)reg, &room);
	}
	serial_update_irq(s);
	/* Last, with the state consistent: the backend may deliver input
	 * from inside chr_accept_input(). */
	if (room && s->cfg.chr)
		chr_accept_input(s->cfg.chr);
	return 0;
}

/* --- char backend front end --- */

static size_t serial_can_receive(void *opaque)
{
	struct serial *s = opaque;

	/* In loopback the serial input pin is disconnected. */
	if (s->mcr & MCR_LOOP)
		return 0;
	return fifo_cap(s) - s->rx.count;
}

static void serial_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct serial *s = opaque;
	size_t room = serial_can_receive(s);

	if (len > room) {
		/* The backend broke the can_receive contract; keep what fits
		 * (overrunning would lose bytes silently). */
		log_rl(s->cfg.log, &s->rl, LOG_WARN,
		       "serial: backend sent %zu bytes, room for %zu", len, room);
		len = room;
	}
	for (size_t i = 0; i < len; i++)
		serial_rx_byte(s, buf[i]);
	if (len)
		serial_cti_rearm(s);
	serial_update_irq(s);
}

static void serial_writable(void *opaque)
{
	struct serial *s = opaque;

	serial_tx_flush(s);
	serial_update_irq(s);
}

static const struct chr_frontend serial_fe_template = {
	.can_receive = serial_can_receive,
	.receive = serial_receive,
	.writable = serial_writable,
};

void serial_reset(struct serial *s)
{
	if (s->cfg.clk)
		clk_timer_cancel(s->cfg.clk, &s->cti_timer);
	fifo_clear(&s->rx);
	fifo_clear(&s->tx);
	s->ier = 0;
	s->lcr = 0;
	s->mcr = 0;
	s->fcr = 0;
	s->scr = 0;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = MSR_CTS | MSR_DSR | MSR_DCD;
	s->divisor = 12; /* 9600 baud, what a PC BIOS leaves behind */
	s->thr_ipending = false;
	s->cti_pending = false;
	serial_update_irq(s);
	if (s->cfg.chr)
		chr_accept_input(s->cfg.chr);
}

struct serial *serial_new(const struct serial_config *cfg)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = *cfg;
	clk_timer_init(&s->cti_timer, serial_cti_fire, s);
	serial_reset(s);
	/* Attach after the reset: the backend offers input it holds (typed
	 * before a machine rebuild) at once, and a reset would clear it. */
	if (s->cfg.chr) {
		struct chr_frontend fe = serial_fe_template;

		fe.opaque = s;
		chr_attach(s->cfg.chr, &fe);
	}
	return s;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	if (s->cfg.clk)
		clk_timer_cancel(s->cfg.clk, &s->cti_timer);
	if (s->cfg.chr) {
		/* Detach: the backend may outlive us. */
		struct chr_frontend none;

		memset(&none, 0, sizeof(none));
		chr_attach(s->cfg.chr, &none);
	}
	free(s);
}
