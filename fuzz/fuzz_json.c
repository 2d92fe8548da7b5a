/* libFuzzer target: the JSON parser and writer (core/json).  Whatever
 * parses must serialize, and the serialization must parse back to a value
 * that serializes identically (the writer's output is canonical); a
 * clone must serialize identically too.  Seeds in fuzz/corpus/json are
 * QMP traffic and the hostile cases of tests/unit/test_json.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128];
	struct json *v = json_parse((const char *)data, size, err, sizeof(err));
	if (!v) {
		if (!err[0])
			abort(); /* every refusal says why */
		return 0;
	}
	struct json_buf a, b, c;
	json_buf_init(&a);
	json_buf_init(&b);
	json_buf_init(&c);
	/* Parsed values are finite and depth-bounded: always writable. */
	if (json_write(&a, v) != 0 || a.oom)
		abort();
	struct json *w = json_parse(a.data, a.len, err, sizeof(err));
	if (!w || json_write(&b, w) != 0 || a.len != b.len || memcmp(a.data, b.data, a.len))
		abort();
	struct json *cl = json_clone(v);
	if (!cl || json_write(&c, cl) != 0 || c.len != a.len || memcmp(a.data, c.data, a.len))
		abort();
	/* Output is pure ASCII without control characters. */
	for (size_t i = 0; i < a.len; i++)
		if ((unsigned char)a.data[i] < 0x20 || (unsigned char)a.data[i] > 0x7e)
			abort();
	json_free(cl);
	json_free(w);
	json_free(v);
	json_buf_free(&a);
	json_buf_free(&b);
	json_buf_free(&c);
	return 0;
}
