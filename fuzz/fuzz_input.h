/* Reading a libFuzzer input as a stream of small values: past the end
 * every read is 0, so a harness never has to check lengths. */
#ifndef VMM_FUZZ_INPUT_H
#define VMM_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

#endif
