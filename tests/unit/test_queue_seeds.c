/* Virtqueue fuzz seed corpus: real and hostile driver scenarios on split
 * and packed rings, snapshotted into fuzz/fuzz_virtqueue.c's input format
 * and replayed through the fuzzer's own scenario code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include "vq_fixture.h"
#include "fuzz/fuzz_virtqueue.h"

/* Seed corpus for fuzz/fuzz_virtqueue.c: real driver scenarios (and
 * hostile ones) snapshotted into the fuzzer's input format.  Each seed is
 * replayed here through the fuzzer's own scenario code and must reach the
 * ring paths it was written for.  VMM_WRITE_SEEDS=DIR writes the files
 * (fuzz/corpus/virtqueue is that output, committed). */
struct seed {
	uint8_t bytes[3 + 0x1400 + 64];
	size_t len;
};

#define SEED_DATA (FVQ_BASE + 0x1000u)
#define SEED_MEM 0x1400u

static struct vdq *seed_begin(struct gm **gm, uint8_t cfg)
{
	struct vdq *dq = calloc(1, sizeof(*dq));

	assert_non_null(dq);
	*gm = gm_new();
	assert_int_equal(gm_add_heap(*gm, 0, FVQ_RAM, 0, "ram"), 0);
	assert_int_equal(vdq_init(dq, *gm, FVQ_BASE, fvq_size(cfg),
				  fvq_features(cfg)), 0);
	assert_true(vdq_mem_size(dq->size, dq->packed) <= SEED_DATA - FVQ_BASE);
	return dq;
}

static void seed_end(struct seed *sd, struct gm *gm, struct vdq *dq,
		     uint8_t cfg, const uint8_t *ops, size_t nops)
{
	sd->bytes[0] = cfg;
	sd->bytes[1] = SEED_MEM & 0xff;
	sd->bytes[2] = SEED_MEM >> 8;
	assert_int_equal(gm_read(gm, FVQ_BASE, sd->bytes + 3, SEED_MEM), 0);
	assert_true(nops <= 64);
	memcpy(sd->bytes + 3 + SEED_MEM, ops, nops);
	sd->len = 3 + SEED_MEM + nops;
	free(dq);
	gm_free(gm);
}

static void seed_write(const struct seed *sd, const char *name)
{
	const char *dir = getenv("VMM_WRITE_SEEDS");
	char path[512];
	FILE *fp;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(sd->bytes, 1, sd->len, fp), sd->len);
	fclose(fp);
}

static const uint8_t seed_ops[] = {
	FVQ_OP(FVQ_HASAVAIL, 0), FVQ_OP(FVQ_POP, 0), FVQ_OP(FVQ_POP, 0),
	FVQ_OP(FVQ_UNPOP, 0), FVQ_OP(FVQ_POP, 0), FVQ_OP(FVQ_COPY, 0), 20,
	FVQ_OP(FVQ_COPY, 1), 30, FVQ_OP(FVQ_PUSH, 1), FVQ_OP(FVQ_NOTIFY, 0),
	FVQ_OP(FVQ_SETNOTIFY, 0), FVQ_OP(FVQ_POP, 0), FVQ_OP(FVQ_POP, 0),
	FVQ_OP(FVQ_PUSH, 2), FVQ_OP(FVQ_PUSH, 0), FVQ_OP(FVQ_SETNOTIFY, 1),
	FVQ_OP(FVQ_NOTIFY, 0), FVQ_OP(FVQ_PUSH, 0), FVQ_OP(FVQ_NOTIFY, 0),
};

/* Good chains: direct 1 and 3 descriptors, indirect 4. */
static void seed_good(struct seed *sd, uint8_t cfg)
{
	struct gm *gm;
	struct vdq *dq = seed_begin(&gm, cfg);
	struct vdq_buf b[4];

	for (unsigned c = 0; c < 4; c++) {
		unsigned n = c == 0 ? 1 : c == 3 ? 4 : 3;

		for (unsigned j = 0; j < n; j++) {
			b[j].gpa = SEED_DATA + c * 0x100 + j * 0x40;
			b[j].len = 0x40;
			b[j].write = j > 0;
		}
		assert_true(vdq_add(dq, b, n, c == 3) >= 0);
	}
	vdq_publish(dq);
	seed_end(sd, gm, dq, cfg, seed_ops, sizeof(seed_ops));
}

/* Hostile split ring: loop, zero length, next out of range, nested
 * indirect, then a good one. */
static void seed_bad_split(struct seed *sd, uint8_t cfg)
{
	struct gm *gm;
	struct vdq *dq = seed_begin(&gm, cfg);
	uint64_t t = SEED_DATA + 0x200;
	static const uint8_t ops[] = { 0, 0, 0, 0, 0, 0, 1, 2 };

	vdq_raw_desc(dq, 0, SEED_DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	vdq_raw_desc(dq, 1, SEED_DATA, 8, VIRTQ_DESC_F_NEXT, 0);
	vdq_raw_desc(dq, 2, SEED_DATA, 0, 0, 0);
	vdq_raw_desc(dq, 3, SEED_DATA, 8, VIRTQ_DESC_F_NEXT, 200);
	vdq_raw_table(dq, t, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vdq_raw_desc(dq, 4, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vdq_raw_desc(dq, 5, SEED_DATA, 8, VIRTQ_DESC_F_WRITE, 0);
	for (uint16_t h = 0; h < 6; h++)
		if (h != 1)
			vdq_raw_avail(dq, h);
	vdq_publish(dq);
	seed_end(sd, gm, dq, cfg, ops, sizeof(ops));
}

/* Hostile packed ring: a chain that never ends, after an indirect table
 * with a bad length. */
static void seed_bad_packed(struct seed *sd, uint8_t cfg)
{
	struct gm *gm;
	struct vdq *dq = seed_begin(&gm, cfg);
	static const uint8_t ops[] = { 0, 0, 0, 1, 0 };

	vdq_raw_packed(dq, SEED_DATA, 24, 1, VIRTQ_DESC_F_INDIRECT);
	for (unsigned i = 1; i < dq->size; i++)
		vdq_raw_packed(dq, SEED_DATA, 8, 2, VIRTQ_DESC_F_NEXT);
	seed_end(sd, gm, dq, cfg, ops, sizeof(ops));
}

/* Split avail idx far ahead (ring broken), with a guest poke first. */
static void seed_broken(struct seed *sd, uint8_t cfg)
{
	struct gm *gm;
	struct vdq *dq = seed_begin(&gm, cfg);
	uint16_t at = (uint16_t)(dq->driver + offsetof(struct virtq_avail, idx) -
				 FVQ_BASE);
	uint8_t ops[] = { FVQ_OP(FVQ_POKE, 0), (uint8_t)at, (uint8_t)(at >> 8),
			  0x40, 0, 0, 4 };

	seed_end(sd, gm, dq, cfg, ops, sizeof(ops));
}

static void test_fuzz_seeds(void **state)
{
	(void)state;
	struct seed *sd = calloc(1, sizeof(*sd));
	struct fvq_stats st;
	/* cfg: split 8 = size code 3; packed 8 = size code 7. */
	const uint8_t split8 = 3 << 3 | 4 | 2, packed8 = 7 << 3 | 4 | 2 | 1;

	assert_non_null(sd);
	assert_int_equal(fvq_size(split8), 8);
	assert_int_equal(fvq_size(packed8), 8);
	assert_int_equal(fvq_run(sd->bytes, 2, &st), -1);

	seed_good(sd, split8);
	assert_int_equal(fvq_run(sd->bytes, sd->len, &st), 0);
	assert_int_equal(st.popped, 4);
	assert_int_equal(st.bad, 0);
	assert_true(st.pushed >= 3 && st.notifies >= 1 && st.polls == 1);
	seed_write(sd, "split-good");
	seed_good(sd, packed8);
	assert_int_equal(fvq_run(sd->bytes, sd->len, &st), 0);
	assert_int_equal(st.popped, 4);
	assert_int_equal(st.bad, 0);
	seed_write(sd, "packed-good");
	seed_good(sd, 3 << 3); /* split 8, no ring features */
	assert_int_equal(fvq_run(sd->bytes, sd->len, &st), 0);
	assert_int_equal(st.popped, 3);
	assert_int_equal(st.bad, 1); /* indirect not negotiated */
	seed_write(sd, "split-noindirect");
	seed_bad_split(sd, split8);
	assert_int_equal(fvq_run(sd->bytes, sd->len, &st), 0);
	assert_int_equal(st.bad, 4);
	assert_int_equal(st.popped, 1);
	seed_write(sd, "split-hostile");
	seed_bad_packed(sd, packed8);
	assert_int_equal(fvq_run(sd->bytes, sd->len, &st), 0);
	assert_int_equal(st.bad, 2);
	seed_write(sd, "packed-hostile");
	seed_broken(sd, split8);
	assert_int_equal(fvq_run(sd->bytes, sd->len, &st), 0);
	assert_true(st.broken);
	seed_write(sd, "split-broken");
	free(sd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
