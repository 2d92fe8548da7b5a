/* 16550A state in a snapshot (docs/snapshot.md "16550A"): both FIFOs
 * (oldest byte first), the registers, the latched interrupt causes and
 * the character-timeout timer. */
#include <string.h>
#include "core/snapshot.h"
#include "serial_priv.h"

static void fifo_save(struct snap_w *w, const char *name, const struct fifo *f)
{
	uint8_t b[FIFO_SIZE];
	for (unsigned i = 0; i < f->count; i++)
		b[i] = f->buf[(f->head + i) % FIFO_SIZE];
	snap_w_bytes(w, name, b, f->count);
}

static void fifo_load(struct snap_r *r, const char *name, struct fifo *f)
{
	const uint8_t *p = NULL;
	size_t n = 0;
	snap_r_blob(r, name, &p, &n);
	if (snap_r_check(r, n <= FIFO_SIZE, name, "more bytes than the FIFO holds"))
		return;
	f->head = 0;
	f->count = (unsigned)n;
	if (n)
		memcpy(f->buf, p, n);
}

int serial_save(const struct serial *s, struct snap_w *w)
{
	snap_w_begin(w, "serial", 1);
	fifo_save(w, "rx", &s->rx);
	fifo_save(w, "tx", &s->tx);
	const uint8_t regs[7] = { s->ier, s->lcr, s->mcr, s->lsr, s->msr,
				  s->scr, s->fcr };
	snap_w_bytes(w, "regs", regs, sizeof(regs));
	snap_w_u16(w, "divisor", s->divisor);
	snap_w_bool(w, "thr_ipending", s->thr_ipending);
	snap_w_bool(w, "cti_pending", s->cti_pending);
	snap_w_u8(w, "irq_level", (uint8_t)(s->irq_level != 0));
	snap_w_timer(w, "cti_timer", &s->cti_timer);
	snap_w_end(w);
	return 0;
}

int serial_load(struct serial *s, struct snap_r *r)
{
	struct fifo rx = { 0 }, tx = { 0 };
	uint8_t regs[7] = { 0 }, level = 0;
	uint16_t div = 0;
	bool thr = false, cti = false;
	struct snap_timer t;
	snap_r_begin(r, "serial", 1, NULL);
	fifo_load(r, "rx", &rx);
	fifo_load(r, "tx", &tx);
	snap_r_bytes(r, "regs", regs, sizeof(regs));
	snap_r_u16(r, "divisor", &div);
	snap_r_bool(r, "thr_ipending", &thr);
	snap_r_bool(r, "cti_pending", &cti);
	snap_r_u8(r, "irq_level", &level);
	snap_r_timer(r, "cti_timer", &t);
	snap_r_check(r, level <= 1, "irq_level", "not 0 or 1");
	/* IER's top nibble is reserved (reads 0, 16550A datasheet). */
	snap_r_check(r, (regs[0] & 0xf0) == 0, "regs", "IER reserved bits set");
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	s->rx = rx;
	s->tx = tx;
	s->ier = regs[0];
	s->lcr = regs[1];
	s->mcr = regs[2];
	s->lsr = regs[3];
	s->msr = regs[4];
	s->scr = regs[5];
	s->fcr = regs[6];
	s->divisor = div;
	s->thr_ipending = thr;
	s->cti_pending = cti;
	s->irq_level = level;
	s->in_flush = false;
	snap_timer_apply(&t, s->cfg.clk, &s->cti_timer);
	return 0;
}
