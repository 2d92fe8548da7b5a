/* Hot-plugged RAM and a running vhost-user backend (core/vhost_user_mem.c)
 * against the fake backend over a real socketpair: with
 * CONFIGURE_MEM_SLOTS, GET_MAX_MEM_SLOTS then one ADD_MEM_REG /
 * REM_MEM_REG per region with its fd (the virtiofsd of QEMU 7.2 wants
 * the fd on REM too); without, a fresh SET_MEM_TABLE each time; nothing
 * before the backend holds a table.  A backend that refuses, or RAM
 * that cannot be shared, breaks the connection with one log line and
 * never the caller. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include "core/gm.h"
#include "core/log.h"
#include "core/vhost_user.h"
#include "core/vhost_user_mem.h"
#include "vhost_fake.h"

#define RAM (1u << 20)
#define HOT 0x100000000ull
#define HOT_SIZE (2u << 20)

struct mx {
	struct fake_be be;
	struct gm *gm;
	struct log *log;
	struct vhu *c;
};

static struct mx *mx_new(bool slots, bool nack)
{
	struct mx *x = calloc(1, sizeof(*x));
	int front = -1;
	assert_non_null(x);
	x->log = log_new_memory(LOG_INFO);
	x->gm = gm_new();
	struct gm_mmap_spec memfd = { .kind = GM_MMAP_MEMFD };
	assert_int_equal(gm_add_mmap(x->gm, 0, RAM, &memfd, 0, "ram"), 0);
	assert_int_equal(fake_start(&x->be, FAKE_GOOD, &front), 0);
	/* Before the first request: the thread reads them on GET_*. */
	if (slots)
		x->be.pfeatures |= 1ull << VHU_PF_CONFIGURE_MEM_SLOTS;
	x->be.nack_mem_reg = nack;
	x->c = vhu_new_fd(front, "t", x->log);
	assert_non_null(x->c);
	vhu_set_timeout(x->c, 500);
	assert_int_equal(vhu_handshake(x->c), 0);
	return x;
}

static void mx_start(struct mx *x)
{
	struct vhu_vring r = { .num = 16, .desc_gpa = 0x1000, .avail_gpa = 0x2000,
			       .used_gpa = 0x3000 };
	assert_int_equal(vhu_start(x->c, x->gm, 1ull << 32, 1, &r), 0);
}

static const struct gm_region *mx_plug(struct mx *x, enum gm_mmap_kind k)
{
	struct gm_mmap_spec s = { .kind = k };
	assert_int_equal(gm_add_mmap(x->gm, HOT, HOT_SIZE, &s, 0, "dimm0"), 0);
	return gm_region_find(x->gm, HOT);
}

static void mx_free(struct mx *x)
{
	vhu_stop(x->c);
	fake_stop(&x->be);
	vhu_free(x->c);
	gm_free(x->gm);
	log_free(x->log);
	free(x);
}

static unsigned lines(struct log *l, const char *needle)
{
	unsigned n = 0;
	const char *t = log_memory_text(l);
	for (const char *p = t; p && (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_slots_add_remove(void **state)
{
	(void)state;
	struct mx *x = mx_new(true, false);
	assert_true((vhu_protocol_features(x->c) >> VHU_PF_CONFIGURE_MEM_SLOTS) & 1);
	assert_int_equal(vhu_mem_max_slots(x->c), 32);
	assert_true(fake_saw(&x->be, VHU_GET_MAX_MEM_SLOTS));
	/* No table held yet: nothing to say; the start sends both. */
	const struct gm_region *r = mx_plug(x, GM_MMAP_MEMFD);
	assert_int_equal(vhu_mem_add(x->c, x->gm, r), 0);
	assert_int_equal(x->be.add_reg, 0);
	assert_int_equal(vhu_mem_regions(x->gm), 2);
	mx_start(x);
	assert_int_equal(x->be.memtable_regions, 2);
	/* Running: one region at a time, with its fd. */
	assert_int_equal(vhu_mem_remove(x->c, x->gm, r), 0);
	assert_int_equal(x->be.rem_reg, 1);
	assert_int_equal(x->be.rem_reg_fds, 1);
	assert_int_equal(x->be.last_reg_gpa, HOT);
	assert_int_equal(gm_remove_region(x->gm, HOT), 0);
	r = mx_plug(x, GM_MMAP_MEMFD);
	assert_int_equal(vhu_mem_add(x->c, x->gm, r), 0);
	assert_int_equal(x->be.add_reg, 1);
	assert_int_equal(x->be.add_reg_fds, 1);
	assert_int_equal(x->be.last_reg_gpa, HOT);
	assert_int_equal(x->be.last_reg_size, HOT_SIZE);
	assert_int_equal(vhu_mem_remove(x->c, x->gm, r), 0);
	assert_int_equal(x->be.rem_reg, 2);
	assert_int_equal(x->be.memtables, 1);
	assert_false(vhu_is_broken(x->c));
	mx_free(x);
}

static void test_no_slots_resends_table(void **state)
{
	(void)state;
	struct mx *x = mx_new(false, false);
	assert_int_equal(vhu_mem_max_slots(x->c), VHU_MAX_REGIONS);
	assert_false(fake_saw(&x->be, VHU_GET_MAX_MEM_SLOTS));
	mx_start(x);
	assert_int_equal(x->be.memtables, 1);
	const struct gm_region *r = mx_plug(x, GM_MMAP_MEMFD);
	assert_int_equal(vhu_mem_add(x->c, x->gm, r), 0);
	assert_int_equal(x->be.memtables, 2);
	assert_int_equal(x->be.memtable_regions, 2);
	assert_int_equal(x->be.memtable_fds, 2);
	assert_int_equal(vhu_mem_remove(x->c, x->gm, r), 0);
	assert_int_equal(x->be.memtables, 3);
	assert_int_equal(x->be.memtable_regions, 1);
	assert_int_equal(x->be.add_reg + x->be.rem_reg, 0);
	assert_false(vhu_is_broken(x->c));
	mx_free(x);
}

static void test_refused_breaks_once(void **state)
{
	(void)state;
	struct mx *x = mx_new(true, true);
	mx_start(x);
	const struct gm_region *r = mx_plug(x, GM_MMAP_MEMFD);
	assert_int_equal(vhu_mem_add(x->c, x->gm, r), -1);
	assert_true(vhu_is_broken(x->c));
	/* Later calls are refused without a word to anyone. */
	assert_int_equal(vhu_mem_remove(x->c, x->gm, r), -1);
	assert_int_equal(vhu_mem_max_slots(x->c), 0);
	assert_int_equal(x->be.rem_reg, 0);
	assert_int_equal(lines(x->log, "backend broken"), 1);
	mx_free(x);
}

static void test_unshareable_breaks(void **state)
{
	(void)state;
	struct mx *x = mx_new(true, false);
	mx_start(x);
	const struct gm_region *r = mx_plug(x, GM_MMAP_ANON);
	assert_false(vhu_region_shareable(r));
	assert_int_equal(vhu_mem_regions(x->gm), 1);
	assert_int_equal(vhu_mem_add(x->c, x->gm, r), -1);
	assert_true(vhu_is_broken(x->c));
	assert_int_equal(x->be.add_reg, 0);
	assert_int_equal(lines(x->log, "backend broken"), 1);
	mx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots_add_remove),
		cmocka_unit_test(test_no_slots_resends_table),
		cmocka_unit_test(test_refused_breaks_once),
		cmocka_unit_test(test_unshareable_breaks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
