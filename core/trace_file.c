/* Trace files: the writer (buffered, bounded, fsync'd on close) and the
 * names of the record kinds.  Layout: docs/trace-format.md. */
#include "core/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRACE_BUF (1u << 20)

struct trace_writer {
	pthread_mutex_t lock;
	int fd;
	uint8_t *buf;
	size_t used;
	uint64_t written;     /* bytes in the file + buffer */
	uint64_t limit;
	uint64_t count;       /* records appended */
	bool stopped;         /* size limit reached */
	int error;            /* first write errno */
	char path[256];
};

static const char *const trace_names[TR_KIND_MAX] = {
	[TR_HOST] = "host", [TR_BACKEND] = "backend", [TR_START] = "start",
	[TR_BUS] = "bus", [TR_GM_READ] = "gm-read", [TR_GM_WRITE] = "gm-write",
	[TR_IRQ] = "irq", [TR_MSI] = "msi", [TR_CLK_READ] = "clock-read",
	[TR_TIMER_ARM] = "timer-arm", [TR_TIMER_CANCEL] = "timer-cancel",
	[TR_TIMER_BEGIN] = "timer-fire", [TR_END] = "end",
	[TR_REQUEST] = "machine-request", [TR_CHR_WRITE] = "chr-write",
	[TR_CHR_ACCEPT] = "chr-accept", [TR_CHR_IN_BEGIN] = "chr-input",
	[TR_CHR_WRITABLE_BEGIN] = "chr-writable",
	[TR_CHR_CONN_BEGIN] = "chr-connected", [TR_BLK_READ] = "blk-read",
	[TR_BLK_WRITE] = "blk-write", [TR_BLK_FLUSH] = "blk-flush",
	[TR_BLK_DISCARD] = "blk-discard", [TR_BLK_ZEROES] = "blk-write-zeroes",
	[TR_NET_SEND] = "net-send", [TR_NET_OFFLOAD] = "net-offload",
	[TR_NET_ACCEPT] = "net-accept", [TR_NET_RX_BEGIN] = "net-rx",
	[TR_ENT_READ] = "entropy-read", [TR_STOP] = "stop", [TR_EOF] = "eof",
	[TR_CALL_BEGIN] = "host-call", [TR_STATE_BEGIN] = "state",
	[TR_RESET] = "reset",
};

const char *trace_kind_name(unsigned kind)
{
	if (kind < TR_KIND_MAX && trace_names[kind])
		return trace_names[kind];
	return "unknown";
}

bool trace_kind_is_begin(unsigned kind)
{
	return kind == TR_TIMER_BEGIN || kind == TR_CHR_IN_BEGIN ||
	       kind == TR_CHR_WRITABLE_BEGIN || kind == TR_CHR_CONN_BEGIN ||
	       kind == TR_NET_RX_BEGIN || kind == TR_CALL_BEGIN ||
	       kind == TR_STATE_BEGIN;
}

uint64_t trace_fnv1a(uint64_t h, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static size_t trace_pad8(size_t n)
{
	return (n + 7u) & ~(size_t)7u;
}

/* Write out the buffer; remembers the first error. */
static void tw_flush(struct trace_writer *w)
{
	size_t off = 0;
	while (off < w->used && !w->error) {
		ssize_t n = write(w->fd, w->buf + off, w->used - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->error = n < 0 ? errno : EIO;
			break;
		}
		off += (size_t)n;
	}
	w->used = 0;
}

static void tw_put(struct trace_writer *w, const void *p, size_t n)
{
	const uint8_t *s = p;
	while (n) {
		if (w->used == TRACE_BUF)
			tw_flush(w);
		size_t k = TRACE_BUF - w->used < n ? TRACE_BUF - w->used : n;
		memcpy(w->buf + w->used, s, k);
		w->used += k;
		s += k;
		n -= k;
	}
	w->written += (s - (const uint8_t *)p);
}

static void tw_pad(struct trace_writer *w, size_t n)
{
	static const uint8_t zero[8];
	if (n % 8)
		tw_put(w, zero, 8 - n % 8);
}

struct trace_writer *trace_writer_open(const char *path, const void *dtb,
				       uint32_t dtb_size, uint32_t flags,
				       uint64_t limit, char *err, size_t errlen)
{
	struct trace_writer *w = calloc(1, sizeof(*w));
	uint8_t *buf = malloc(TRACE_BUF);
	if (!w || !buf) {
		free(w);
		free(buf);
		snprintf(err, errlen, "vmm: -trace-record: out of memory");
		return NULL;
	}
	w->buf = buf;
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		snprintf(err, errlen, "vmm: -trace-record: cannot create '%s': %s",
			 path, strerror(errno));
		free(buf);
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	snprintf(w->path, sizeof(w->path), "%s", path);
	w->limit = limit ? limit : TRACE_DEFAULT_LIMIT;
	struct trace_file_hdr h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, TRACE_MAGIC, sizeof(h.magic));
	h.version = TRACE_VERSION;
	h.hdr_size = sizeof(h);
	h.dtb_size = dtb_size;
	h.flags = flags;
	tw_put(w, &h, sizeof(h));
	tw_put(w, dtb, dtb_size);
	tw_pad(w, dtb_size);
	return w;
}

int trace_writer_add2(struct trace_writer *w, const struct trace_ev *ev,
		      const void *p1, size_t n1, const void *p2, size_t n2)
{
	if (!w)
		return -1;
	pthread_mutex_lock(&w->lock);
	if (w->stopped || w->error) {
		pthread_mutex_unlock(&w->lock);
		return -1;
	}
	size_t n = n1 + n2;
	/* Room is always kept for the TR_STOP and TR_EOF records. */
	uint64_t need = sizeof(*ev) + trace_pad8(n) + 2 * sizeof(*ev);
	if (n > TRACE_MAX_PAYLOAD || w->written + need > w->limit) {
		struct trace_ev stop = { .kind = TR_STOP, .a = w->count };
		tw_put(w, &stop, sizeof(stop));
		w->count++;
		w->stopped = true;
		pthread_mutex_unlock(&w->lock);
		return -1;
	}
	struct trace_ev e = *ev;
	e.size = (uint32_t)n;
	tw_put(w, &e, sizeof(e));
	if (n1)
		tw_put(w, p1, n1);
	if (n2)
		tw_put(w, p2, n2);
	tw_pad(w, n);
	w->count++;
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int trace_writer_add(struct trace_writer *w, const struct trace_ev *ev,
		     const void *payload)
{
	return trace_writer_add2(w, ev, payload, payload ? ev->size : 0, NULL, 0);
}

bool trace_writer_stopped(const struct trace_writer *w)
{
	return w->stopped;
}

uint64_t trace_writer_count(const struct trace_writer *w)
{
	return w->count;
}

int trace_writer_close(struct trace_writer *w, char *err, size_t errlen)
{
	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	struct trace_ev eof = { .kind = TR_EOF, .a = w->count };
	tw_put(w, &eof, sizeof(eof));
	tw_flush(w);
	int rc = 0;
	if (!w->error && fsync(w->fd) < 0 && errno != EINVAL)
		w->error = errno;
	if (close(w->fd) < 0 && !w->error)
		w->error = errno;
	if (w->error) {
		snprintf(err, errlen, "vmm: -trace-record: writing '%s': %s",
			 w->path, strerror(w->error));
		rc = -1;
	}
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_destroy(&w->lock);
	free(w->buf);
	free(w);
	return rc;
}

/* The on-disk layout docs/trace-format.md documents: changing any of
 * these is a new TRACE_VERSION. */
_Static_assert(sizeof(struct trace_file_hdr) == 32, "trace header layout");
_Static_assert(sizeof(struct trace_ev) == 40, "trace record header layout");
_Static_assert(TR_BUS == 4 && TR_END == 13 && TR_ENT_READ == 29 &&
	       TR_EOF == 31 && TR_CALL_BEGIN == 32 && TR_STATE_BEGIN == 33 &&
	       TR_RESET == 34,
	       "trace record kind numbers");
