/* Record/replay traces (device models are deterministic; the byte layout is in
 * docs/trace-format.md).
 *
 * A trace is a header (magic, version, the machine description as a
 * flattened device tree carrying the original argv), then a stream of
 * fixed-header records: every input a device model got from outside (bus
 * accesses, guest-memory bytes it read, clock readings, timer firings, host
 * backend data) and every effect it had (guest-memory writes, interrupts,
 * backend writes, machine requests), in the order they happened under the
 * machine's big lock.
 *
 * Three parts:
 *   trace_writer / trace_reader  the file format (core/trace_file.c,
 *                                core/trace_read.c)
 *   trace_rec                    wraps a machine's interfaces and backends
 *                                and writes the trace (core/trace_rec*.c)
 *   replay                       sim/replay.h: runs the devices against it */
#ifndef VMM_CORE_TRACE_H
#define VMM_CORE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACE_MAGIC "VMMTRACE"
/* 2: TR_RESET (a trace goes on across a guest reset).  Version 1 traces
 * (no reset record) still replay. */
#define TRACE_VERSION 2u
#define TRACE_VERSION_MIN 1u
/* Default bound on a trace file: recording stops (with a log line and a
 * TR_STOP record) before the file would pass it. */
#define TRACE_DEFAULT_LIMIT (1ull << 30)
/* Bounds the reader enforces on hostile files. */
#define TRACE_MAX_DTB (1u << 20)
#define TRACE_MAX_PAYLOAD (1u << 24)
#define TRACE_MAX_DEPTH 16u
#define TRACE_MAX_BACKENDS 256u
#define TRACE_MAX_TIMERS 256u

/* File header, little-endian, followed by dtb_size bytes of device tree
 * padded to 8, then records. */
struct trace_file_hdr {
	char magic[8];        /* TRACE_MAGIC, no NUL */
	uint32_t version;     /* TRACE_VERSION */
	uint32_t hdr_size;    /* sizeof(struct trace_file_hdr) */
	uint32_t dtb_size;
	uint32_t flags;       /* TRACE_F_* */
	uint64_t reserved;
};
enum { TRACE_F_KVM = 1u << 0 /* recorded under accel=kvm (else sim) */ };

/* Every record: this header, then `size` payload bytes padded to 8. */
struct trace_ev {
	uint16_t kind;        /* enum trace_kind */
	uint16_t unit;        /* bus (0 pio, 1 mmio) or backend index */
	uint32_t size;        /* payload bytes */
	uint64_t a, b, c, d;  /* per kind, see docs/trace-format.md */
};

enum trace_kind {
	TR_HOST = 1,      /* a wall epoch, b utc offset (RTC base inputs) */
	TR_BACKEND,       /* unit index, a kind, b size, c flags; payload id */
	TR_START,         /* the board is built; guest code runs after this */
	TR_BUS,           /* unit bus, a addr, b len, c rc, d is_write; payload data */
	TR_GM_READ,       /* a gpa; payload bytes the device read */
	TR_GM_WRITE,      /* a gpa; payload bytes the device wrote */
	TR_IRQ,           /* a gsi, b level */
	TR_MSI,           /* a address, b data, c rc */
	TR_CLK_READ,      /* a ns */
	TR_TIMER_ARM,     /* a timer id, b deadline */
	TR_TIMER_CANCEL,  /* a timer id */
	TR_TIMER_BEGIN,   /* a timer id, b now ... TR_END */
	TR_END,           /* closes a *_BEGIN */
	TR_REQUEST,       /* a machine_event, b status */
	TR_CHR_WRITE,     /* unit, a bytes accepted; payload bytes offered */
	TR_CHR_ACCEPT,    /* unit: the front end has room again */
	TR_CHR_IN_BEGIN,  /* unit; payload input bytes ... TR_END */
	TR_CHR_WRITABLE_BEGIN, /* unit ... TR_END */
	TR_CHR_CONN_BEGIN,     /* unit, a up ... TR_END */
	TR_BLK_READ,      /* unit, a off, b len, c rc; payload data when rc 0 */
	TR_BLK_WRITE,     /* unit, a off, b len, c rc, d FNV-1a of the data */
	TR_BLK_FLUSH,     /* unit, c rc */
	TR_BLK_DISCARD,   /* unit, a off, b len, c rc */
	TR_BLK_ZEROES,    /* unit, a off, b len, c rc, d unmap */
	TR_NET_SEND,      /* unit, b len, c rc, d FNV-1a of the frame */
	TR_NET_OFFLOAD,   /* unit, a flags, c rc */
	TR_NET_ACCEPT,    /* unit */
	TR_NET_RX_BEGIN,  /* unit; payload frame ... TR_END */
	TR_ENT_READ,      /* unit, a len asked, c rc; payload bytes */
	TR_STOP,          /* recording stopped at the size limit */
	TR_EOF,           /* a number of records before it: clean end */
	TR_CALL_BEGIN,    /* a BOARD_CALL_* (power button, balloon target),
			   * b argument ... TR_END */
	TR_STATE_BEGIN,   /* payload: a state stream (docs/snapshot.md) the
			   * board was loaded from: the trace goes on from
			   * that state ... TR_END */
	TR_RESET,         /* a number of the boot that starts (2, 3, ...):
			   * the machine was torn down and built again from
			   * its description; its construction and a new
			   * TR_START follow (version 2) */
	TR_KIND_MAX
};

/* Backend kinds in TR_BACKEND (a). */
enum trace_backend_kind {
	TRACE_BK_CHR = 1, TRACE_BK_BLOCK, TRACE_BK_NET, TRACE_BK_ENTROPY,
};
enum { TRACE_BK_READONLY = 1u << 0 };

const char *trace_kind_name(unsigned kind);
/* True for the kinds opened by a *_BEGIN and closed by TR_END. */
bool trace_kind_is_begin(unsigned kind);
uint64_t trace_fnv1a(uint64_t h, const void *buf, size_t len);
#define TRACE_FNV_INIT 0xcbf29ce484222325ull

/* ---- writing ---- */
struct trace_writer;
/* Create path and write the header.  NULL with a one-line message. */
struct trace_writer *trace_writer_open(const char *path, const void *dtb,
				       uint32_t dtb_size, uint32_t flags,
				       uint64_t limit, char *err, size_t errlen);
/* Append a record.  Thread-safe.  Returns 0, or -1 once recording has
 * stopped (size limit or write error; further records are dropped). */
int trace_writer_add(struct trace_writer *w, const struct trace_ev *ev,
		     const void *payload);
/* Same with the payload in two pieces (header + data). */
int trace_writer_add2(struct trace_writer *w, const struct trace_ev *ev,
		      const void *p1, size_t n1, const void *p2, size_t n2);
bool trace_writer_stopped(const struct trace_writer *w);
uint64_t trace_writer_count(const struct trace_writer *w);
/* Write TR_EOF, flush, fsync, close.  0, or -1 with a message naming
 * the file and the write error. */
int trace_writer_close(struct trace_writer *w, char *err, size_t errlen);

/* ---- reading (an input parser: every byte is untrusted) ---- */
struct trace_reader {
	const uint8_t *data;  /* whole file (mmap'd or caller's buffer) */
	size_t len;
	bool mapped;
	uint32_t version;     /* TRACE_VERSION_MIN..TRACE_VERSION */
	uint32_t flags;
	const void *dtb;
	uint32_t dtb_size;
	/* Every record, validated: kinds, sizes, bracket structure. */
	size_t nev;
	struct trace_ev *ev;          /* headers (aligned copies) */
	const uint8_t **payload;      /* NULL when size is 0 */
	size_t *match;                /* *_BEGIN -> its TR_END (SIZE_MAX:
				       * unclosed when recording ended) */
	bool stopped;                 /* ends with TR_STOP before TR_EOF */
	bool clean;                   /* ends with TR_EOF */
};
/* Parse a buffer (copied pointers stay valid while buf does).  0, or -1
 * with a one-line message naming what is wrong and where. */
int trace_reader_parse(struct trace_reader *r, const void *buf, size_t len,
		       char *err, size_t errlen);
int trace_reader_open(struct trace_reader *r, const char *path, char *err,
		      size_t errlen);
void trace_reader_close(struct trace_reader *r);
/* The NUL-separated "vmm,argv" list from the header's device tree:
 * fills argv (at most max, pointers into the dtb) and returns argc, or -1
 * with a message. */
int trace_reader_argv(const struct trace_reader *r, char **argv, int max,
		      char *err, size_t errlen);

/* ---- recording a machine ---- */
struct log;
struct machine;
struct machine_config;
struct trace_rec;

/* 0 when cfg can be recorded; -1 with a message otherwise (iothread=
 * devices: their order under the big lock is not deterministic). */
int trace_rec_check(const struct machine_config *cfg, char *err, size_t errlen);
/* Open the trace: the header gets the description of cfg (and argv as
 * "vmm,argv").  Refuses iothread= devices (their order under the big lock
 * is not deterministic).  NULL with a one-line message. */
struct trace_rec *trace_rec_open(const char *path, int argc, char **argv,
				 const struct machine_config *cfg, bool kvm,
				 uint64_t limit, struct log *log, char *err,
				 size_t errlen);
/* Wrap m's irqchip, clock, buses and machine_ctl before the devices are
 * built, and record the host's wall clock (wall_epoch, utc_offset: the
 * RTC's inputs).  The machine layer hooks its host backends and
 * management calls in with the two functions below
 * (machine/board_trace.c). */
int trace_rec_attach(struct trace_rec *tr, struct machine *m,
		     int64_t wall_epoch, int64_t utc_offset,
		     char *err, size_t errlen);
/* A host-backend hook: the backend of `kind` (TRACE_BK_*) named id that
 * the caller opened (NULL when it opened none), and in *out the one the
 * device gets instead (NULL: no backend).  0, or -1 with err (-2 when the
 * error is the configuration's: an image another process holds). */
typedef int trace_backend_fn(void *opaque, int kind, const char *id,
			     void *opened, void **out, char *err,
			     size_t errlen);
/* The recording hook (opaque: the trace_rec): wraps what it is handed so
 * the device's traffic with it is recorded, after passing it through the
 * chained hook, if any (the self-test's stand-ins). */
trace_backend_fn trace_rec_backend;
void trace_rec_chain_backend(struct trace_rec *tr, trace_backend_fn *inner,
			     void *inner_opaque);
/* A management-plane call into devices (QMP balloon, power button):
 * begin true before it, false after, so a replay repeats it at the same
 * point (opaque: the trace_rec). */
void trace_rec_call(void *opaque, int what, uint64_t arg, bool begin);
/* The board is about to be loaded from a state stream (snapshot restore,
 * docs/snapshot.md): begin true with the stream before board_load_state,
 * false after, so a replay loads the same state at the same point and
 * the trace goes on from it (a trace recorded after a restore starts
 * from its snapshot; a reset can be recorded as the power-on state). */
void trace_rec_state(struct trace_rec *tr, const void *stream, size_t len,
		     bool begin);
/* The guest reset and the machine is rebuilt from its description (KVM:
 * a reset without -no-reboot): call before the teardown, with the machine
 * lock held.  Writes TR_RESET, stops recording the old machine (its
 * teardown is no device activity) and gives m->gm back.  The rebuilt
 * machine is attached again (trace_rec_attach, by board_trace_attach:
 * its construction is recorded, timer ids start at 0 again, backends
 * keep their indexes) and started (trace_rec_start).  False when the
 * trace cannot go on (it ended at a host limit, or never started): it is
 * finished as trace_rec_finish does.  NULL tr: false. */
bool trace_rec_reset(struct trace_rec *tr);
/* Host-side work that touches the devices but is no input to them
 * (board_save_state reads the clock): not recorded while paused. */
void trace_rec_pause(struct trace_rec *tr, bool pause);
/* The board is built and guest RAM loaded: from now on the devices'
 * guest-memory accesses are recorded and held-back backend input flows.
 * m->gm becomes an unobserved view of the same RAM (devices keep the
 * observed one), so code playing the guest or the host is not recorded.
 * NULL tr: nothing. */
void trace_rec_start(struct trace_rec *tr);
/* Stop recording (the machine is ending) and give m->gm back; wrappers
 * keep forwarding.  NULL tr: nothing. */
void trace_rec_finish(struct trace_rec *tr);
/* Finish if not yet, close the file and free everything.  Call after the
 * board is freed.  0, or -1 with a message. */
int trace_rec_close(struct trace_rec *tr, char *err, size_t errlen);
#endif
