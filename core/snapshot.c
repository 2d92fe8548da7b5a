/* Saved-state streams: the writer and the checksum.  The reader is in
 * core/snapshot_read.c; the byte layout in docs/snapshot.md. */
#include "core/snapshot.h"
#include "core/snapshot_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct snap_w {
	uint8_t *buf;
	size_t len, cap;
	int err;
	unsigned depth;
	/* Offset of each open section's body-length field. */
	size_t open[SNAP_MAX_DEPTH];
};

/* XXH64 (Yann Collet's published algorithm, reimplemented): fast enough
 * that a 128 MiB RAM image costs tens of milliseconds, and strong enough
 * to catch a truncated or bit-flipped file.  It is not a MAC: a state file
 * is trusted no more for passing it. */
#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static uint64_t rotl(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t hround(uint64_t acc, uint64_t in)
{
	return rotl(acc + in * P2, 31) * P1;
}

static uint64_t hmerge(uint64_t h, uint64_t v)
{
	h ^= hround(0, v);
	return h * P1 + P4;
}

uint64_t snap_hash64(const uint8_t *p, size_t n, uint64_t seed)
{
	const uint8_t *end = p + n;
	uint64_t h;
	if (n >= 32) {
		uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed,
			 v4 = seed - P1;
		const uint8_t *lim = end - 32;
		do {
			v1 = hround(v1, snap_get64(p));
			v2 = hround(v2, snap_get64(p + 8));
			v3 = hround(v3, snap_get64(p + 16));
			v4 = hround(v4, snap_get64(p + 24));
			p += 32;
		} while (p <= lim);
		h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
		h = hmerge(h, v1);
		h = hmerge(h, v2);
		h = hmerge(h, v3);
		h = hmerge(h, v4);
	} else {
		h = seed + P5;
	}
	h += n;
	for (; end - p >= 8; p += 8) {
		h ^= hround(0, snap_get64(p));
		h = rotl(h, 27) * P1 + P4;
	}
	if (end - p >= 4) {
		h ^= (uint64_t)snap_get32(p) * P1;
		h = rotl(h, 23) * P2 + P3;
		p += 4;
	}
	for (; p < end; p++) {
		h ^= *p * P5;
		h = rotl(h, 11) * P1;
	}
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

uint64_t snap_stream_sum(const uint8_t *buf, size_t len)
{
	/* The header's first 24 bytes (magic, version, flags, length) seed
	 * the hash of the payload, so both are covered. */
	uint64_t seed = snap_hash64(buf, 24, 0);
	return snap_hash64(buf + SNAP_HDR_SIZE, len - SNAP_HDR_SIZE, seed);
}

void snap_reseal(uint8_t *buf, size_t len)
{
	if (len < SNAP_HDR_SIZE)
		return;
	snap_put64(buf + 16, len - SNAP_HDR_SIZE);
	snap_put64(buf + 24, snap_stream_sum(buf, len));
}

struct snap_w *snap_w_new(void)
{
	struct snap_w *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->cap = 4096;
	w->buf = malloc(w->cap);
	if (!w->buf) {
		free(w);
		return NULL;
	}
	memset(w->buf, 0, SNAP_HDR_SIZE);
	w->len = SNAP_HDR_SIZE;
	return w;
}

void snap_w_free(struct snap_w *w)
{
	if (!w)
		return;
	free(w->buf);
	free(w);
}

/* Room for n more bytes, or the writer's error is set. */
static uint8_t *grow(struct snap_w *w, size_t n)
{
	if (w->err)
		return NULL;
	if (n > SIZE_MAX / 2 - w->len) {
		w->err = -ENOMEM;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *nb = realloc(w->buf, cap);
		if (!nb) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->buf = nb;
		w->cap = cap;
	}
	uint8_t *p = w->buf + w->len;
	w->len += n;
	return p;
}

/* kind, name length, name, then `extra` bytes the caller fills. */
static uint8_t *record(struct snap_w *w, unsigned kind, const char *name,
		       size_t extra)
{
	size_t nl = name ? strlen(name) : 0;
	if (!w || w->err)
		return NULL;
	if (nl == 0 || nl > SNAP_MAX_NAME) {
		w->err = -EINVAL;
		return NULL;
	}
	uint8_t *p = grow(w, 2 + nl + extra);
	if (!p)
		return NULL;
	p[0] = (uint8_t)kind;
	p[1] = (uint8_t)nl;
	memcpy(p + 2, name, nl);
	return p + 2 + nl;
}

void snap_w_begin(struct snap_w *w, const char *section, uint32_t version)
{
	if (w && !w->err && (w->depth >= SNAP_MAX_DEPTH || version == 0)) {
		w->err = -EINVAL;
		return;
	}
	uint8_t *p = record(w, SNAP_K_SECTION, section, 12);
	if (!p)
		return;
	snap_put32(p, version);
	snap_put64(p + 4, 0); /* patched by snap_w_end */
	w->open[w->depth++] = (size_t)(p + 4 - w->buf);
}

void snap_w_end(struct snap_w *w)
{
	if (!w || w->err)
		return;
	if (w->depth == 0) {
		w->err = -EINVAL;
		return;
	}
	size_t at = w->open[--w->depth];
	snap_put64(w->buf + at, w->len - (at + 8));
}

void snap_w_u8(struct snap_w *w, const char *field, uint8_t v)
{
	uint8_t *p = record(w, SNAP_K_U8, field, 1);
	if (p)
		p[0] = v;
}

void snap_w_bool(struct snap_w *w, const char *field, bool v)
{
	snap_w_u8(w, field, v ? 1 : 0);
}

void snap_w_u16(struct snap_w *w, const char *field, uint16_t v)
{
	uint8_t *p = record(w, SNAP_K_U16, field, 2);
	if (p) {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> 8);
	}
}

void snap_w_u32(struct snap_w *w, const char *field, uint32_t v)
{
	uint8_t *p = record(w, SNAP_K_U32, field, 4);
	if (p)
		snap_put32(p, v);
}

void snap_w_u64(struct snap_w *w, const char *field, uint64_t v)
{
	uint8_t *p = record(w, SNAP_K_U64, field, 8);
	if (p)
		snap_put64(p, v);
}

void snap_w_bytes(struct snap_w *w, const char *field, const void *data,
		  size_t n)
{
	if (w && !w->err && n && !data) {
		w->err = -EINVAL;
		return;
	}
	uint8_t *p = record(w, SNAP_K_BYTES, field, 8 + n);
	if (!p)
		return;
	snap_put64(p, n);
	if (n)
		memcpy(p + 8, data, n);
}

void snap_w_blob(struct snap_w *w, const char *field, const void *data,
		 size_t n)
{
	snap_w_bytes(w, field, data, n);
}

void *snap_w_bytes_reserve(struct snap_w *w, const char *field, size_t n)
{
	uint8_t *p = record(w, SNAP_K_BYTES, field, 8 + n);
	if (!p)
		return NULL;
	snap_put64(p, n);
	return p + 8;
}

int snap_w_finish(struct snap_w *w, const uint8_t **buf, size_t *len)
{
	if (!w)
		return -EINVAL;
	if (w->err)
		return w->err;
	if (w->depth) {
		w->err = -EINVAL;
		return w->err;
	}
	memcpy(w->buf, SNAP_MAGIC, 8);
	snap_put32(w->buf + 8, SNAP_FORMAT_VERSION);
	snap_put32(w->buf + 12, 0);
	snap_reseal(w->buf, w->len);
	*buf = w->buf;
	*len = w->len;
	return 0;
}
