/* libFuzzer target: saved-state streams (core/snapshot*.c, every device
 * model's load, machine/board_snapshot.c) on any bytes.  A state file is
 * untrusted: it must be refused with one line naming what is wrong, or
 * loaded into a board that then runs (virtual time steps, timers fire)
 * and saves again without a crash, a hang or a leak.
 *
 * Input: byte 0 picks the machine (bit 0: microvm or q35) and whether
 * the checksum is fixed up first (bit 1: without it almost every mutation
 * stops at the checksum); the rest is the stream.  Seeds in
 * fuzz/corpus/snapshot are the self-test saved mid-run
 * (tests/unit/test_board_snapshot.c writes them with
 * VMM_FUZZ_SEEDS_DIR=dir). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/snapshot.h"
#include "machine/board_snapshot.h"
#include "sim/sim.h"
#include "sim/sim_board.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same machines as tests/unit/test_board_snapshot.c. */
static const char *const fz_microvm[] = {
	"vmm", "-machine", "microvm,accel=sim", "-seed", "3", "-serial", "stdio",
	"-device", "virtio-blk-device,drive=d0",
	"-netdev", "tap,id=n0,ifname=vmmsnapt0",
	"-device", "virtio-net-device,netdev=n0",
	"-chardev", "file,id=c0,path=/nonexistent/console.txt",
	"-device", "virtio-serial-device", "-device", "virtconsole,chardev=c0",
	"-device", "virtio-balloon-device",
	"-drive", "id=d0,file=/nonexistent/disk.img", "-m", "16M",
	"-object", "rng-random,id=rng0", "-device", "virtio-rng-device,rng=rng0",
	NULL,
};
static const char *const fz_q35[] = {
	"vmm", "-machine", "q35,accel=sim", "-m", "64M", "-seed", "4",
	"-serial", "stdio",
	"-device", "virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3",
	"-device", "pci-bridge,bus=pcie.0,id=br0,chassis_nr=1,addr=0x8",
	"-object", "rng-random,id=rng0",
	"-device", "virtio-rng-pci,rng=rng0,bus=br0,addr=1",
	"-device", "virtio-balloon-pci",
	"-drive", "id=d0,file=/nonexistent/disk.img",
	NULL,
};

static int fz_argc(const char *const *v)
{
	int n = 0;
	while (v[n])
		n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *const *argv = data[0] & 1 ? fz_q35 : fz_microvm;
	bool reseal = data[0] & 2;
	size_t len = size - 1;
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	if (reseal)
		snap_reseal(buf, len);
	char err[512];
	struct sim_board *sb = sim_board_new(fz_argc(argv), (char **)argv, err,
					     sizeof(err));
	if (!sb)
		abort();   /* the machines are fixed: they must build */
	struct snap_r *r = NULL;
	err[0] = 0;
	if (snap_r_open(&r, buf, len, err, sizeof(err)) < 0) {
		if (!err[0])
			abort();   /* every refusal says why */
		goto out;
	}
	int rc = 0;
	if (snap_r_next_is(r, "sim"))
		rc = sim_load_state(sb->s, r);
	if (!rc)
		rc = board_load_state(sb->b, r);
	if (!rc && snap_r_next_is(r, "ram"))
		rc = board_load_ram(sb->b, r, false);
	if (!rc)
		rc = snap_r_done(r);
	if (rc) {
		const char *e = snap_r_error(r);
		if (!e[0] || strchr(e, '\n'))
			abort();   /* one line, naming what */
		goto out;
	}
	sim_load_finish(sb->s);
	board_snap_resume(sb->b);
	/* A loaded machine runs and saves again. */
	sim_clock_step(sb->s, 20u * 1000u * 1000u);
	struct snap_w *w = snap_w_new();
	if (!w || board_save_state(sb->b, w) != 0)
		abort();
	const uint8_t *out;
	size_t olen;
	if (snap_w_finish(w, &out, &olen) != 0)
		abort();
	snap_w_free(w);
out:
	snap_r_free(r);
	sim_board_free(sb);
	free(buf);
	return 0;
}
