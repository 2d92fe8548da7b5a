/* Randomized driver/device ping-pong on split (virtio 1.2 §2.7) and
 * packed (§2.8) virtqueues: sizes, event index on and off, direct and
 * indirect chains, out-of-order completion (fx_pingpong in vq_fixture.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vq_fixture.h"

static void test_pingpong_split(void **state)
{
	/* Split chains up to 6 buffers, replies up to 64 bytes. */
	static const struct fx_pp_shape s = {
		.max_bufs = 6, .slots = 256, .stride = 0x2000, .read_cap = 512,
		.reply_cap = 64, .reply_byte = 0x5a, .publish = true,
	};

	(void)state;
	fx_pingpong(FX_SPLIT_FEATURES, 16, 1, &s);
	fx_pingpong(FX_SPLIT_FEATURES | VIRTIO_BIT(VIRTIO_F_EVENT_IDX), 8, 2, &s);
	fx_pingpong(FX_SPLIT_FEATURES, 256, 3, &s);
}

static void test_pingpong_packed(void **state)
{
	/* Packed chains up to 4 buffers, replies up to 32 bytes; a 7-entry
	 * ring (not a power of 2, allowed for packed, §2.8) laps often. */
	static const struct fx_pp_shape s = {
		.max_bufs = 4, .slots = 128, .stride = 0x1000, .read_cap = 256,
		.reply_cap = 32, .reply_byte = 0x77, .publish = false,
	};

	(void)state;
	fx_pingpong(FX_PACKED_FEATURES, 16, 11, &s);
	fx_pingpong(FX_PACKED_FEATURES | VIRTIO_BIT(VIRTIO_F_EVENT_IDX), 7, 12, &s);
	fx_pingpong(FX_PACKED_FEATURES, 100, 13, &s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pingpong_split),
		cmocka_unit_test(test_pingpong_packed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
