/* Saved-state streams (issue 18): the one format device state, board state,
 * guest RAM and KVM state are written in.  Layout and rules:
 * docs/snapshot.md.
 *
 * A stream is a header (magic, format version, payload length, checksum)
 * and a payload of named, typed records.  Sections group fields, carry
 * their own version and may nest (a virtio device holds its queues).
 * Every field is stored with its name and type, so a reader that expects
 * something else fails with one line naming the section path and the
 * field, never by misreading bytes.
 *
 * The writer records its first error (allocation, misuse) and reports it
 * from snap_w_finish, so save functions need not check every append.
 * The reader treats the stream as hostile: every call returns 0 or a
 * negative errno, and after the first failure every later call fails too
 * (load functions may check once at the end, but must not use values read
 * after a failure).  The stream buffer handed to snap_r_open must outlive
 * the reader: snap_r_blob returns pointers into it. */
#ifndef VMM_CORE_SNAPSHOT_H
#define VMM_CORE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC "VMMSTATE"
#define SNAP_FORMAT_VERSION 1u
#define SNAP_HDR_SIZE 32u
/* Section nesting bound (board / device / transport / queue is 4). */
#define SNAP_MAX_DEPTH 12u
#define SNAP_MAX_NAME 255u
/* Room snap_r_error() keeps for its one line. */
#define SNAP_ERR_LEN 256u

/* Writer: appends typed, named fields into sections of a growable buffer. */
struct snap_w;
struct snap_w *snap_w_new(void);
void snap_w_free(struct snap_w *w);
void snap_w_begin(struct snap_w *w, const char *section, uint32_t version);
void snap_w_end(struct snap_w *w);
void snap_w_u8(struct snap_w *w, const char *field, uint8_t v);
void snap_w_u16(struct snap_w *w, const char *field, uint16_t v);
void snap_w_u32(struct snap_w *w, const char *field, uint32_t v);
void snap_w_u64(struct snap_w *w, const char *field, uint64_t v);
void snap_w_bytes(struct snap_w *w, const char *field, const void *p, size_t n);
/* Same record as snap_w_bytes; read back with snap_r_blob when the reader
 * learns the length from the stream. */
void snap_w_blob(struct snap_w *w, const char *field, const void *p, size_t n);
void snap_w_bool(struct snap_w *w, const char *field, bool v);
/* The record of snap_w_bytes with its n bytes left for the caller to fill
 * (no copy through a buffer of its own: guest RAM goes straight in).  The
 * pointer is valid until the next append; NULL once the writer failed. */
void *snap_w_bytes_reserve(struct snap_w *w, const char *field, size_t n);
/* Seals the stream (header, checksum) and returns it; valid until free.
 * Returns -ENOMEM if any earlier append failed (appends record errors),
 * -EINVAL on unbalanced sections. */
int snap_w_finish(struct snap_w *w, const uint8_t **buf, size_t *len);

/* Reader over a whole stream in memory. Everything in it is hostile. */
struct snap_r;
/* Checks magic, format version, length and checksum. On error returns a
 * negative errno and writes one line into err. */
int snap_r_open(struct snap_r **r, const uint8_t *buf, size_t len,
		char *err, size_t errlen);
void snap_r_free(struct snap_r *r);
/* Enters the next section, which must be named `section`, with a version
 * <= max_version (the stored version is returned for compatibility code;
 * version may be NULL). */
int snap_r_begin(struct snap_r *r, const char *section, uint32_t max_version,
		 uint32_t *version);
bool snap_r_next_is(struct snap_r *r, const char *section); /* optional sections */
int snap_r_end(struct snap_r *r);  /* error if the section has unread bytes */
int snap_r_u8(struct snap_r *r, const char *field, uint8_t *v);
int snap_r_u16(struct snap_r *r, const char *field, uint16_t *v);
int snap_r_u32(struct snap_r *r, const char *field, uint32_t *v);
int snap_r_u64(struct snap_r *r, const char *field, uint64_t *v);
int snap_r_bytes(struct snap_r *r, const char *field, void *p, size_t n);
/* Length-prefixed byte field whose length the reader learns first
 * (e.g. RAM chunks): returns a pointer into the stream, no copy. */
int snap_r_blob(struct snap_r *r, const char *field, const uint8_t **p, size_t *n);
/* A u8 that must be 0 or 1. */
int snap_r_bool(struct snap_r *r, const char *field, bool *v);
/* A cross-field consistency check; on !ok records "section.field: why". */
int snap_r_check(struct snap_r *r, bool ok, const char *field, const char *why);
/* Skips the next section whole (a loader that knows it need not read it). */
int snap_r_skip(struct snap_r *r);
/* Where the reader stands: bytes from the start of the stream.  Between
 * top-level sections it is where the next one starts. */
size_t snap_r_offset(const struct snap_r *r);
/* A new stream (header of buf's format version, sealed) holding the
 * top-level records buf[from, to) of the stream buf: a part of a stream
 * loadable on its own, e.g. the board's sections of a KVM stream
 * (-trace-record of a restore).  Offsets from snap_r_offset between
 * top-level sections.  0 with *out malloc'd, or -EINVAL/-ENOMEM. */
int snap_stream_slice(const uint8_t *buf, size_t len, size_t from, size_t to,
		      uint8_t **out, size_t *outlen);
/* Error unless every top-level section has been read. */
int snap_r_done(struct snap_r *r);
/* The first error, one line naming the section and field ("" if none). */
const char *snap_r_error(const struct snap_r *r);
/* The first error's errno (0 if none). */
int snap_r_failed(const struct snap_r *r);

/* ---- time (core/snapshot_clk.c) ----
 * Devices store clk times (deadlines, load instants) as absolute
 * nanoseconds of the saving machine's clock.  The restoring machine's
 * clock may read differently (a new process under KVM): board_load_state
 * sets the shift (now_restoring - now_saved) and snap_r_time adds it, so
 * every restored instant keeps its distance from "now".  The simulator
 * restores its clock itself: shift 0. */
struct clk;
struct clk_timer;
void snap_r_set_time_shift(struct snap_r *r, int64_t shift_ns);
int64_t snap_r_time_shift(const struct snap_r *r);
/* A u64 field holding a clk time; read back shifted (saturating at 0 and
 * UINT64_MAX). */
void snap_w_time(struct snap_w *w, const char *field, uint64_t ns);
int snap_r_time(struct snap_r *r, const char *field, uint64_t *ns);
/* A device timer: whether it is armed, its deadline and arm sequence
 * (ties fire in arm order, so the sequence is state too), as a section
 * named `field`. */
struct snap_timer {
	bool armed;
	uint64_t deadline;
	uint64_t seq;
};
void snap_w_timer(struct snap_w *w, const char *field, const struct clk_timer *t);
int snap_r_timer(struct snap_r *r, const char *field, struct snap_timer *st);
/* Apply a loaded timer: arm (keeping the sequence) or cancel. */
void snap_timer_apply(const struct snap_timer *st, const struct clk *clk,
		      struct clk_timer *t);

/* A token bucket (core/tokenbucket.h) as a section; load refuses another
 * rate than `configured` and a budget beyond the size. */
struct tokenbucket;
void snap_w_tokenbucket(struct snap_w *w, const char *field,
			const struct tokenbucket *tb);
int snap_r_tokenbucket(struct snap_r *r, const char *field,
		       const struct tokenbucket *configured,
		       struct tokenbucket *out);

/* The stream checksum (docs/snapshot.md "Checksum"): exported for tests
 * and tools that patch streams. */
uint64_t snap_hash64(const uint8_t *p, size_t n, uint64_t seed);
/* Recomputes a stream's checksum in place (fuzzers and tests that build
 * hostile streams use it so their damage reaches the field checks). */
void snap_reseal(uint8_t *buf, size_t len);

#endif
