/* Shared by the chardev_host unit tests (test_chardev_host*.c): a front
 * end with a settable amount of input room that records what it got,
 * writable calls and connection edges, and SPIN_UNTIL, which runs the
 * loop until a condition holds or ~2 s pass.  static inline helpers
 * only. */
#ifndef VMM_TESTS_CHARDEV_HOST_FIXTURE_H
#define VMM_TESTS_CHARDEV_HOST_FIXTURE_H

#include <stdint.h>
#include <string.h>
#include "core/chardev_host.h"
#include "core/evloop.h"

struct fe {
	size_t room;
	uint8_t got[256];
	size_t got_len;
	int writable_calls;
	int up, down;
};

static inline size_t fe_can_receive(void *o)
{
	return ((struct fe *)o)->room;
}

static inline void fe_receive(void *o, const uint8_t *buf, size_t len)
{
	struct fe *f = o;
	assert_true(len <= f->room);
	assert_true(f->got_len + len <= sizeof(f->got));
	memcpy(f->got + f->got_len, buf, len);
	f->got_len += len;
	f->room -= len;
}

static inline void fe_writable(void *o)
{
	((struct fe *)o)->writable_calls++;
}

static inline void fe_connected(void *o, int up)
{
	struct fe *f = o;
	if (up)
		f->up++;
	else
		f->down++;
}

static inline void attach(struct chr *c, struct fe *f)
{
	struct chr_frontend fe = { fe_can_receive, fe_receive, fe_writable,
				   fe_connected, f };
	chr_attach(c, &fe);
}

/* Run the loop until cond or ~2 s. */
#define SPIN_UNTIL(loop, cond)                                         \
	do {                                                           \
		for (int i_ = 0; i_ < 200 && !(cond); i_++)            \
			evloop_run_once((loop), 10);                   \
		assert_true(cond);                                     \
	} while (0)

#endif
