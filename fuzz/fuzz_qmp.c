/* libFuzzer target: a QMP session (core/qmp) fed client bytes, against a
 * machine whose ops succeed or fail by the input.  The first byte picks
 * the chunk size the rest is fed in (framing must not depend on how the
 * bytes are split) and whether an event is emitted between chunks.
 * Invariants: the session never crashes or leaks, its output is whole
 * "\r\n"-ended lines, and each line is a JSON object that is exactly one
 * of greeting, reply (return/error) or event; with the "fds" bit, each
 * chunk carries a descriptor (as SCM_RIGHTS would) and after the session
 * is freed every one of them must be closed (getfd'd or not).  Seeds in fuzz/corpus/qmp
 * are command sequences as Kata's runtime and qmp-shell send them. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/json.h"
#include "core/qmp.h"

struct fz {
	int fail;
	uint64_t balloon;
};

static int fz_op(void *o) { return ((struct fz *)o)->fail; }
static int fz_bset(void *o, uint64_t bytes, char *err, size_t errlen)
{
	struct fz *f = o;
	if (f->fail && errlen)
		strncpy(err, "no", errlen - 1);
	else
		f->balloon = bytes;
	return f->fail;
}
static int fz_bget(void *o, uint64_t *actual)
{
	*actual = ((struct fz *)o)->balloon;
	return 0;
}
static const char *fz_status(void *o) { return ((struct fz *)o)->fail ? "paused" : "running"; }
/* Hot-plug ops: fail by the input's bit, with a class and words as the
 * machine gives them; qom-get allocates its answer (freed by the
 * session: a leak shows under the fuzzer's LeakSanitizer). */
static int fz_add(void *o, const char *drv, const char *id, const char *opts, struct qmp_err *e)
{
	(void)drv; (void)id; (void)opts;
	if (((struct fz *)o)->fail) {
		e->cls = "GenericError";
		strncpy(e->desc, "no", sizeof(e->desc) - 1);
	}
	return ((struct fz *)o)->fail ? -1 : 0;
}
static int fz_del(void *o, const char *id, struct qmp_err *e)
{
	(void)id;
	if (((struct fz *)o)->fail)
		e->cls = "DeviceNotFound";
	return ((struct fz *)o)->fail ? -1 : 0;
}
static int fz_qom(void *o, const char *path, const char *prop, struct json **out, struct qmp_err *e)
{
	(void)prop;
	*out = json_new_str(path);
	if (((struct fz *)o)->fail)
		e->cls = "DeviceNotFound";
	return ((struct fz *)o)->fail ? -1 : 0;
}

static const struct qmp_machine_ops fz_ops = {
	.name = "fuzz", .uuid = "977692f6-744c-4917-8ccd-ffad44020fe9", .ncpus = 3,
	.stop = fz_op, .cont = fz_op, .powerdown = fz_op, .reset = fz_op, .quit = fz_op,
	.balloon_set = fz_bset, .balloon_get = fz_bget, .status = fz_status,
	.device_add = fz_add, .device_del = fz_del, .qom_get = fz_qom,
};

static void fz_check_output(struct qmp_session *s)
{
	size_t len;
	const char *out = qmp_session_output(s, &len);
	size_t start = 0;
	for (size_t i = 0; i + 1 < len; i++) {
		if (out[i] != '\r' || out[i + 1] != '\n')
			continue;
		struct json *v = json_parse(out + start, i - start, NULL, 0);
		if (!v || json_type(v) != JSON_OBJECT)
			abort();
		int kinds = (json_get(v, "QMP") != NULL) + (json_get(v, "return") != NULL) +
			    (json_get(v, "error") != NULL) + (json_get(v, "event") != NULL);
		if (kinds != 1)
			abort();
		json_free(v);
		start = i + 2;
	}
	if (start != len)
		abort(); /* a partial line */
	qmp_session_consume(s, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4 * QMP_MAX_MESSAGE)
		return 0;
	struct fz f = { .fail = (data[0] & 0x80) ? -16 : 0 };
	size_t chunk = (data[0] & 0x3f) + 1;
	bool events = data[0] & 0x40;
	struct qmp_session *s = qmp_session_new(&fz_ops, &f);
	if (!s)
		return 0;
	fz_check_output(s);
	/* Negotiate first half the time, so commands get past the gate. */
	if (data[0] & 1)
		qmp_session_input(s, "{\"execute\":\"qmp_capabilities\"}", 30);
	/* Pass descriptors with the first chunks when data[0] bit 1 is set
	 * (bit 0 picks negotiation; their mix covers both). */
	bool pass_fds = data[0] & 2;
	int sent[8];
	unsigned nsent = 0;
	for (size_t off = 1; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		int fd = -1;
		if (pass_fds && nsent < 8 && (fd = dup(2)) >= 0)
			sent[nsent++] = fd;
		int rc = qmp_session_input_fds(s, data + off, n, &fd, fd >= 0);
		if (events)
			qmp_session_event(s, "BALLOON_CHANGE", "{\"actual\": 1}", off * 1000);
		fz_check_output(s);
		if (rc != 0)
			break;
	}
	qmp_session_free(s);
	/* Every descriptor handed over is closed now (a number reused by a
	 * later dup is also one we handed over). */
	for (unsigned i = 0; i < nsent; i++)
		if (fcntl(sent[i], F_GETFD) >= 0)
			abort();
	return 0;
}
