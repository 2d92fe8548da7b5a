/* The hot-plugged vCPU list in a KVM stream's "vm" section (kvm/
 * kvm_cpu_hotplug.c kvm_cpuhp_snap_save/_load): a hostile list -- another
 * slot count, more vCPUs than free slots, a boot or out-of-range slot,
 * slots out of order, an APIC id another -smp shape gives, an id
 * device_add would not take or one a -device already has, two vCPUs with
 * one id -- is refused with one line naming the field, before any vCPU
 * is created (no /dev/kvm needed: the checks come first). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/snapshot.h"
#include "kvm/kvm_int.h"

static struct kvm_machine *km_new(void)
{
	static const char *argv[] = {
		"vmm", "-machine", "q35,accel=kvm", "-smp", "1,maxcpus=4,cores=4",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=4,id=dbg", NULL,
	};
	struct kvm_machine *km = calloc(1, sizeof(*km));
	km->cfg = calloc(1, sizeof(*km->cfg));
	char err[256];
	if (config_parse(km->cfg, 7, (char **)argv, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	assert_int_equal(kvm_cpuhp_init(km), 0);
	return km;
}

static void km_free(struct kvm_machine *km)
{
	kvm_cpuhp_free(km);
	free(km->cfg);
	free(km);
}

struct hot {
	uint32_t index, apic;
	const char *id;
};

/* A "vm" section holding just the slot list; loaded with the section
 * entered, as kvm_migrate.c does.  Returns the error line ("" if none). */
static const char *load(struct kvm_machine *km, uint32_t max, uint32_t n,
			const struct hot *h, unsigned nh)
{
	static char line[SNAP_ERR_LEN];
	struct snap_w *w = snap_w_new();
	snap_w_begin(w, "vm", 2);
	snap_w_u32(w, "maxcpus", max);
	snap_w_u32(w, "nhotplugged", n);
	for (unsigned k = 0; k < nh; k++) {
		char f[16];
		snprintf(f, sizeof(f), "hot%u", k);
		snap_w_begin(w, f, 1);
		snap_w_u32(w, "index", h[k].index);
		snap_w_u32(w, "apic_id", h[k].apic);
		snap_w_bytes(w, "id", h[k].id, strlen(h[k].id));
		snap_w_end(w);
	}
	snap_w_end(w);
	const uint8_t *buf;
	size_t len;
	struct snap_r *r;
	char err[SNAP_ERR_LEN];
	assert_int_equal(snap_w_finish(w, &buf, &len), 0);
	assert_int_equal(snap_r_open(&r, buf, len, err, sizeof(err)), 0);
	assert_int_equal(snap_r_begin(r, "vm", 2, NULL), 0);
	int rc = kvm_cpuhp_snap_load(km, r);
	snprintf(line, sizeof(line), "%s", snap_r_error(r));
	if (rc == 0)
		assert_string_equal(line, "");
	else
		assert_true(line[0] != 0);
	snap_r_free(r);
	snap_w_free(w);
	return line;
}

static void expect(const char *got, const char *want)
{
	if (!strstr(got, want))
		fail_msg("got '%s', want '%s'", got, want);
}

static void test_no_hotplugged_loads(void **state)
{
	(void)state;
	struct kvm_machine *km = km_new();
	assert_string_equal(load(km, 4, 0, NULL, 0), "");
	km_free(km);
}

static void test_hostile_lists(void **state)
{
	(void)state;
	struct kvm_machine *km = km_new();
	const struct hot ok1 = { 1, 1, "cpu-1" }, ok2 = { 2, 2, "cpu-2" };
	expect(load(km, 3, 0, NULL, 0),
	       "vm.maxcpus: the saved VM had another number of vCPU slots");
	expect(load(km, 4, 4, NULL, 0), "vm.nhotplugged: more than the free slots");
	struct hot h[2] = { { 0, 0, "cpu-0" } };
	expect(load(km, 4, 1, h, 1), "vm/hot0.index: slot 0 is not a hot-pluggable slot");
	h[0] = (struct hot){ 4, 4, "cpu-4" };
	expect(load(km, 4, 1, h, 1), "vm/hot0.index: slot 4 is not a hot-pluggable slot");
	h[0] = ok2;
	h[1] = ok1;
	expect(load(km, 4, 2, h, 2), "vm/hot1.index: slot 1 is not a hot-pluggable slot after slot 2");
	h[0] = (struct hot){ 2, 3, "cpu-2" };
	expect(load(km, 4, 1, h, 1), "vm/hot0.apic_id: slot 2: APIC id 3, here 2");
	h[0] = (struct hot){ 1, 1, "a,b" };
	expect(load(km, 4, 1, h, 1), "vm/hot0.id: not an id device_add takes");
	h[0] = (struct hot){ 1, 1, "dbg" };
	expect(load(km, 4, 1, h, 1), "vm/hot0.id: not an id device_add takes, or one a -device here has");
	h[0] = ok1;
	h[1] = (struct hot){ 2, 2, "cpu-1" };
	expect(load(km, 4, 2, h, 2), "vm/hot1.id: two vCPUs with one id");
	/* A list shorter than its count. */
	expect(load(km, 4, 2, h, 1), "vm");
	/* Nothing was plugged by any of them. */
	for (unsigned i = 0; i < 4; i++)
		assert_false(config_cpu_plugged(km->cfg, i));
	km_free(km);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_hotplugged_loads),
		cmocka_unit_test(test_hostile_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
