/* libFuzzer target: the trace reader (core/trace_read.c) and the replay
 * engine (sim/replay.c) on any bytes.  A trace file is untrusted input:
 * the reader must refuse it with a message or accept it, and an accepted
 * trace must describe, dump its argv and replay (match, divergence or a
 * refusal to rebuild the machine with a message) without a crash, a hang
 * or a leak.  Seeds in fuzz/corpus/trace are recordings of the accel=sim
 * self-test and of the test guest under KVM: a plain boot, a guest that
 * resets (reset records, machines rebuilt) and a restore (-incoming: a
 * state record with the board's stream), the last two cut by the size
 * limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/trace.h"
#include "sim/replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Machines the harness is willing to build: small RAM, no host files
 * (nvdimm mem-path= is mapped even in the simulator). */
static int fz_machine_ok(const struct trace_reader *r)
{
	char *argv[512], err[256];
	int argc = trace_reader_argv(r, argv, 512, err, sizeof(err));
	if (argc < 0)
		return err[0] ? 0 : (abort(), 0);
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return 0;
	int ok = config_parse(cfg, argc, argv, err, sizeof(err)) == 0 &&
		 cfg->mem.size <= (256ull << 20) && !cfg->mem.maxmem &&
		 !cfg->machine.nvdimm && !cfg->mem.mem_path[0];
	for (unsigned i = 0; ok && i < cfg->nobjects; i++)
		if (cfg->objects[i].mem_path[0])
			ok = 0;
	free(cfg);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The reader keeps pointers into the buffer: give it an aligned,
	 * owned copy as the mmap'd file would be. */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	char err[512] = "";
	struct trace_reader r;
	if (trace_reader_parse(&r, buf, size, err, sizeof(err)) < 0) {
		if (!err[0])
			abort();   /* every refusal says why */
		free(buf);
		return 0;
	}
	char line[300];
	for (size_t i = 0; i < r.nev; i++) {
		replay_describe(&r, i, line, sizeof(line));
		if (!line[0])
			abort();
	}
	if (fz_machine_ok(&r)) {
		struct replay_result res;
		err[0] = '\0';
		if (replay_run(&r, NULL, &res, err, sizeof(err)) < 0) {
			if (!err[0])
				abort();
		} else if (res.diverged && (!res.msg[0] || res.event >= r.nev)) {
			abort();   /* a divergence names a real record */
		}
	}
	trace_reader_close(&r);
	free(buf);
	return 0;
}
