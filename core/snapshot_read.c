/* Saved-state streams: the reader.  Every byte is hostile: each record is
 * bounds-checked against its enclosing section before it is looked at,
 * names and kinds must be the ones the loader asks for, and the first
 * failure is kept as one line "path.field: why" for the operator. */
#include "core/snapshot.h"
#include "core/snapshot_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct snap_frame {
	const uint8_t *name; /* into the stream */
	size_t nlen;
	size_t end;          /* offset one past the section body */
};

struct snap_r {
	const uint8_t *buf;
	size_t len, pos;
	unsigned depth;
	struct snap_frame fr[SNAP_MAX_DEPTH];
	int err;
	int64_t shift;
	char msg[SNAP_ERR_LEN];
};

static const char *kind_name(unsigned k)
{
	static const char *const names[] = {
		[SNAP_K_U8] = "u8", [SNAP_K_U16] = "u16", [SNAP_K_U32] = "u32",
		[SNAP_K_U64] = "u64", [SNAP_K_BYTES] = "bytes",
		[SNAP_K_SECTION] = "section",
	};
	if (k < sizeof(names) / sizeof(names[0]) && names[k])
		return names[k];
	return "unknown-kind";
}

/* Appends a stored (hostile) name, printable characters only. */
static size_t put_name(char *o, size_t room, const uint8_t *n, size_t nl)
{
	size_t k = 0;
	for (size_t i = 0; i < nl && k + 1 < room; i++)
		o[k++] = (n[i] >= 0x20 && n[i] < 0x7f) ? (char)n[i] : '?';
	if (room)
		o[k] = 0;
	return k;
}

/* "a/b/c": the open sections, outermost first. */
static void path(const struct snap_r *r, char *o, size_t room)
{
	size_t k = 0;
	o[0] = 0;
	for (unsigned i = 0; i < r->depth && k + 2 < room; i++) {
		if (i)
			o[k++] = '/';
		k += put_name(o + k, room - k, r->fr[i].name, r->fr[i].nlen);
	}
	if (!r->depth)
		snprintf(o, room, "stream");
}

__attribute__((format(printf, 4, 5)))
static int fail(struct snap_r *r, int err, const char *field,
		const char *fmt, ...)
{
	if (r->err)
		return r->err;
	char p[96], why[150];
	path(r, p, sizeof(p));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (field)
		snprintf(r->msg, sizeof(r->msg), "%s.%s: %s", p, field, why);
	else
		snprintf(r->msg, sizeof(r->msg), "%s: %s", p, why);
	r->err = err;
	return err;
}

static size_t cur_end(const struct snap_r *r)
{
	return r->depth ? r->fr[r->depth - 1].end : r->len;
}

int snap_r_open(struct snap_r **out, const uint8_t *buf, size_t len,
		char *err, size_t errlen)
{
	const char *why = NULL;
	char tmp[96];
	*out = NULL;
	if (!buf || len < SNAP_HDR_SIZE) {
		why = "state stream truncated: no header";
	} else if (memcmp(buf, "QEVM", 4) == 0) {
		/* QEMU's migration stream starts with 0x5145564d. */
		why = "a QEMU migration stream: vmm reads only its own format";
	} else if (memcmp(buf, SNAP_MAGIC, 8) != 0) {
		why = "not a vmm state stream (bad magic)";
	} else if (snap_get32(buf + 8) != SNAP_FORMAT_VERSION) {
		snprintf(tmp, sizeof(tmp),
			 "state format version %u, this vmm reads %u",
			 snap_get32(buf + 8), SNAP_FORMAT_VERSION);
		why = tmp;
	} else if (snap_get32(buf + 12) != 0) {
		why = "state header flags set that this vmm does not know";
	} else if (snap_get64(buf + 16) != len - SNAP_HDR_SIZE) {
		snprintf(tmp, sizeof(tmp),
			 "state stream length %zu, header says %llu",
			 len - SNAP_HDR_SIZE,
			 (unsigned long long)snap_get64(buf + 16));
		why = tmp;
	} else if (snap_get64(buf + 24) != snap_stream_sum(buf, len)) {
		why = "state stream checksum mismatch (corrupt file)";
	}
	if (why) {
		if (err && errlen)
			snprintf(err, errlen, "%s", why);
		return -EINVAL;
	}
	struct snap_r *r = calloc(1, sizeof(*r));
	if (!r) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->buf = buf;
	r->len = len;
	r->pos = SNAP_HDR_SIZE;
	*out = r;
	return 0;
}

void snap_r_free(struct snap_r *r)
{
	free(r);
}

const char *snap_r_error(const struct snap_r *r)
{
	return r ? r->msg : "no reader";
}

int snap_r_failed(const struct snap_r *r)
{
	return r ? r->err : -EINVAL;
}

/* The record head at pos: kind, name; -1 if it does not fit. */
static int head(const struct snap_r *r, unsigned *kind, const uint8_t **name,
		size_t *nlen)
{
	size_t end = cur_end(r);
	if (r->pos + 2 > end)
		return -1;
	*kind = r->buf[r->pos];
	*nlen = r->buf[r->pos + 1];
	if (*nlen == 0 || r->pos + 2 + *nlen > end)
		return -1;
	*name = r->buf + r->pos + 2;
	return 0;
}

static bool name_is(const uint8_t *n, size_t nl, const char *want)
{
	return strlen(want) == nl && memcmp(n, want, nl) == 0;
}

/* Moves past a record named `want` of kind `kind` and returns its value:
 * `fixed` bytes, or for bytes/sections the length-prefixed body. */
static int take(struct snap_r *r, unsigned kind, const char *want,
		size_t fixed, const uint8_t **val, size_t *vlen)
{
	unsigned k;
	const uint8_t *n;
	size_t nl;
	if (r->err)
		return r->err;
	if (head(r, &k, &n, &nl) < 0) {
		if (r->pos >= cur_end(r))
			return fail(r, -EINVAL, want, "missing (%s ends)",
				    r->depth ? "section" : "stream");
		return fail(r, -EINVAL, want, "record header truncated");
	}
	if (!name_is(n, nl, want)) {
		char got[64];
		put_name(got, sizeof(got), n, nl);
		return fail(r, -EINVAL, want, "found '%s' (%s) in its place",
			    got, kind_name(k));
	}
	if (k != kind)
		return fail(r, -EINVAL, want, "stored as %s, expected %s",
			    kind_name(k), kind_name(kind));
	size_t at = r->pos + 2 + nl, end = cur_end(r);
	if (kind == SNAP_K_BYTES) {
		if (end - at < 8)
			return fail(r, -EINVAL, want, "length truncated");
		uint64_t n64 = snap_get64(r->buf + at);
		at += 8;
		if (n64 > end - at)
			return fail(r, -EINVAL, want,
				    "length %llu runs past its section",
				    (unsigned long long)n64);
		fixed = (size_t)n64;
	} else if (end - at < fixed) {
		return fail(r, -EINVAL, want, "value truncated");
	}
	*val = r->buf + at;
	*vlen = fixed;
	r->pos = at + fixed;
	return 0;
}

int snap_r_u8(struct snap_r *r, const char *field, uint8_t *v)
{
	const uint8_t *p;
	size_t n;
	int rc = take(r, SNAP_K_U8, field, 1, &p, &n);
	if (!rc)
		*v = p[0];
	return rc;
}

int snap_r_bool(struct snap_r *r, const char *field, bool *v)
{
	uint8_t b = 0;
	int rc = snap_r_u8(r, field, &b);
	if (!rc && b > 1)
		rc = fail(r, -EINVAL, field, "%u is not a boolean", b);
	if (!rc)
		*v = b;
	return rc;
}

int snap_r_u16(struct snap_r *r, const char *field, uint16_t *v)
{
	const uint8_t *p;
	size_t n;
	int rc = take(r, SNAP_K_U16, field, 2, &p, &n);
	if (!rc)
		*v = (uint16_t)(p[0] | p[1] << 8);
	return rc;
}

int snap_r_u32(struct snap_r *r, const char *field, uint32_t *v)
{
	const uint8_t *p;
	size_t n;
	int rc = take(r, SNAP_K_U32, field, 4, &p, &n);
	if (!rc)
		*v = snap_get32(p);
	return rc;
}

int snap_r_u64(struct snap_r *r, const char *field, uint64_t *v)
{
	const uint8_t *p;
	size_t n;
	int rc = take(r, SNAP_K_U64, field, 8, &p, &n);
	if (!rc)
		*v = snap_get64(p);
	return rc;
}

int snap_r_blob(struct snap_r *r, const char *field, const uint8_t **p,
		size_t *n)
{
	return take(r, SNAP_K_BYTES, field, 0, p, n);
}

int snap_r_bytes(struct snap_r *r, const char *field, void *out, size_t n)
{
	const uint8_t *p;
	size_t got;
	size_t save = r->pos;
	int rc = take(r, SNAP_K_BYTES, field, 0, &p, &got);
	if (rc)
		return rc;
	if (got != n) {
		r->pos = save;
		return fail(r, -EINVAL, field, "%zu bytes, expected %zu", got, n);
	}
	if (n)
		memcpy(out, p, n);
	return 0;
}

int snap_r_begin(struct snap_r *r, const char *section, uint32_t max_version,
		 uint32_t *version)
{
	const uint8_t *p;
	size_t n;
	if (r->err)
		return r->err;
	if (r->depth >= SNAP_MAX_DEPTH)
		return fail(r, -EINVAL, section, "sections nested too deep");
	size_t start = r->pos;
	int rc = take(r, SNAP_K_SECTION, section, 12, &p, &n);
	if (rc)
		return rc;
	uint32_t ver = snap_get32(p);
	uint64_t body = snap_get64(p + 4);
	if (body > cur_end(r) - r->pos)
		return fail(r, -EINVAL, section,
			    "section length %llu runs past its parent",
			    (unsigned long long)body);
	struct snap_frame *f = &r->fr[r->depth++];
	f->name = r->buf + start + 2;
	f->nlen = r->buf[start + 1];
	f->end = r->pos + (size_t)body;
	if (ver == 0 || ver > max_version)
		return fail(r, -EINVAL, NULL,
			    "section version %u, this vmm reads 1..%u", ver,
			    max_version);
	if (version)
		*version = ver;
	return 0;
}

bool snap_r_next_is(struct snap_r *r, const char *section)
{
	unsigned k;
	const uint8_t *n;
	size_t nl;
	if (r->err || head(r, &k, &n, &nl) < 0)
		return false;
	return k == SNAP_K_SECTION && name_is(n, nl, section);
}

int snap_r_end(struct snap_r *r)
{
	if (r->err)
		return r->err;
	if (!r->depth)
		return fail(r, -EINVAL, NULL, "section end without a section");
	struct snap_frame *f = &r->fr[r->depth - 1];
	if (r->pos != f->end) {
		unsigned k;
		const uint8_t *n;
		size_t nl;
		char got[64] = "?";
		if (head(r, &k, &n, &nl) == 0)
			put_name(got, sizeof(got), n, nl);
		return fail(r, -EINVAL, NULL,
			    "%zu unread bytes at the end (next: '%s')",
			    f->end - r->pos, got);
	}
	r->depth--;
	return 0;
}

size_t snap_r_offset(const struct snap_r *r)
{
	return r->pos;
}

int snap_stream_slice(const uint8_t *buf, size_t len, size_t from, size_t to,
		      uint8_t **out, size_t *outlen)
{
	*out = NULL;
	if (len < SNAP_HDR_SIZE || from < SNAP_HDR_SIZE || from > to || to > len)
		return -EINVAL;
	size_t n = SNAP_HDR_SIZE + (to - from);
	uint8_t *p = malloc(n);
	if (!p)
		return -ENOMEM;
	memcpy(p, buf, SNAP_HDR_SIZE);   /* magic, version, flags */
	memcpy(p + SNAP_HDR_SIZE, buf + from, to - from);
	snap_reseal(p, n);
	*out = p;
	*outlen = n;
	return 0;
}

int snap_r_skip(struct snap_r *r)
{
	unsigned k;
	const uint8_t *n;
	size_t nl;
	if (r->err)
		return r->err;
	if (head(r, &k, &n, &nl) < 0 || k != SNAP_K_SECTION)
		return fail(r, -EINVAL, NULL, "no section to skip");
	char name[SNAP_MAX_NAME + 1];
	memcpy(name, n, nl);
	name[nl] = 0;
	int rc = snap_r_begin(r, name, UINT32_MAX, NULL);
	if (rc)
		return rc;
	r->pos = r->fr[r->depth - 1].end;
	return snap_r_end(r);
}

int snap_r_check(struct snap_r *r, bool ok, const char *field, const char *why)
{
	if (r->err)
		return r->err;
	if (ok)
		return 0;
	return fail(r, -EINVAL, field, "%s", why);
}

int snap_r_done(struct snap_r *r)
{
	if (r->err)
		return r->err;
	if (r->depth)
		return fail(r, -EINVAL, NULL, "section not closed");
	if (r->pos != r->len) {
		unsigned k;
		const uint8_t *n;
		size_t nl;
		char got[64] = "?";
		if (head(r, &k, &n, &nl) == 0)
			put_name(got, sizeof(got), n, nl);
		return fail(r, -EINVAL, NULL, "unexpected trailing section '%s'",
			    got);
	}
	return 0;
}

void snap_r_set_time_shift(struct snap_r *r, int64_t shift_ns)
{
	r->shift = shift_ns;
}

int64_t snap_r_time_shift(const struct snap_r *r)
{
	return r->shift;
}
