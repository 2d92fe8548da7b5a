/* libFuzzer target: the command line.  The input is split at NUL and
 * newline bytes into argv; whatever parses must also lay out and describe
 * itself as a DTB without error, since the backends rely on a parsed
 * config being buildable.  Seeds in fuzz/corpus/cmdline are real command
 * lines (the README's Kata-style one among them). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/config.h"
#include "fuzz_argv.h"
#include "core/fdt_desc.h"
#include "core/layout.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	struct fuzz_argv a;

	fuzz_argv_split(&a, data, size);

	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	char err[512];
	int rc = fuzz_argv_parse(&a, cfg, err, sizeof(err));
	if (rc == 0) {
		/* A config that parsed names only things that exist, so the
		 * layout either succeeds or explains itself in one line. */
		struct layout *l = calloc(1, sizeof(*l));
		if (layout_build(l, cfg, err, sizeof(err)) == 0) {
			void *dtb = malloc(FDT_DESC_MAX);
			int n = fdt_desc_build(cfg, l, dtb, FDT_DESC_MAX);
			if (n <= 0)
				abort(); /* FDT_DESC_MAX is documented to fit all */
			free(dtb);
		} else if (err[0] == '\0') {
			abort();
		}
		free(l);
	} else if (rc < 0 && err[0] == '\0') {
		abort(); /* every refusal must say why */
	}
	free(cfg);
	fuzz_argv_free(&a);
	return 0;
}
