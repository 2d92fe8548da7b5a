/* Trace reader: a parser for untrusted files.  Everything is validated
 * once, up front (header, device tree, every record's kind, size and
 * fields, the BEGIN/END bracket structure, the end record), so replay
 * never meets a malformed record.  Each error names the offset or record. */
#include "core/snapshot.h"
#include "core/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t tr_pad8(size_t n)
{
	return (n + 7u) & ~(size_t)7u;
}

/* Per-kind field checks: what a well-formed recorder writes. */
static const char *tr_check_ev(const struct trace_ev *e, unsigned nbackends)
{
	switch (e->kind) {
	case TR_BUS:
		if (e->unit > 1)
			return "bus is neither pio (0) nor mmio (1)";
		if (e->b < 1 || e->b > 8 || e->size != e->b)
			return "bus access length is not 1..8 bytes of data";
		if (e->d > 1)
			return "bus access direction is not 0/1";
		return NULL;
	case TR_GM_READ:
	case TR_GM_WRITE:
		if (e->size == 0)
			return "guest-memory access without bytes";
		if (e->a + e->size < e->a)
			return "guest-memory access wraps the address space";
		return NULL;
	case TR_IRQ:
		return e->b > 1 ? "interrupt level is not 0/1" : NULL;
	case TR_CALL_BEGIN:
		/* machine/board.h BOARD_CALL_*: power button, balloon target,
		 * CPU plug, CPU unplug request. */
		return e->a < 1 || e->a > 4 ? "unknown host call" : NULL;
	case TR_STATE_BEGIN:
		return e->size < SNAP_HDR_SIZE ? "state record shorter than a state "
			"stream header" : NULL;
	case TR_TIMER_ARM:
	case TR_TIMER_CANCEL:
	case TR_TIMER_BEGIN:
		return e->a >= TRACE_MAX_TIMERS ? "timer id out of range" : NULL;
	case TR_BACKEND:
		if (e->unit != nbackends)
			return "backend index out of sequence";
		if (e->unit >= TRACE_MAX_BACKENDS)
			return "too many backends";
		if (e->a < TRACE_BK_CHR || e->a > TRACE_BK_ENTROPY)
			return "unknown backend kind";
		if (e->size == 0 || e->size > 63)
			return "backend id is empty or longer than 63 bytes";
		return NULL;
	case TR_CHR_WRITE:
		if (e->a > e->size)
			return "character write accepted more than it offered";
		/* fall through */
	case TR_CHR_ACCEPT:
	case TR_CHR_IN_BEGIN:
	case TR_CHR_WRITABLE_BEGIN:
	case TR_CHR_CONN_BEGIN:
	case TR_BLK_FLUSH:
	case TR_BLK_WRITE:
	case TR_BLK_DISCARD:
	case TR_BLK_ZEROES:
	case TR_NET_SEND:
	case TR_NET_OFFLOAD:
	case TR_NET_ACCEPT:
	case TR_NET_RX_BEGIN:
		return e->unit >= nbackends ? "backend index not declared" : NULL;
	case TR_BLK_READ:
		if (e->unit >= nbackends)
			return "backend index not declared";
		if (e->c == 0 && e->size != e->b)
			return "block read data does not match its length";
		return NULL;
	case TR_ENT_READ:
		if (e->unit >= nbackends)
			return "backend index not declared";
		if ((int64_t)e->c > 0 && (e->size != e->c || e->c > e->a))
			return "entropy bytes do not match the count read";
		return NULL;
	default:
		return NULL;
	}
}

/* Where start and reset records may stand: a reset only at top level
 * (no delivery is open: the machine is torn down between accesses), only
 * in a machine that was started, with the boot numbers in sequence; one
 * start per boot.  A machine's records between a reset and its start are
 * its construction, checked by replay like the first one's. */
static const char *tr_check_place(const struct trace_ev *e, uint32_t version,
				  unsigned depth, bool *started, uint64_t *boots)
{
	if (e->kind == TR_START) {
		if (depth)
			return "start record inside a delivery";
		if (*started)
			return "a second start record without a reset record";
		*started = true;
		return NULL;
	}
	if (e->kind != TR_RESET)
		return NULL;
	if (version < 2)
		return "reset record in a version 1 trace";
	if (e->size)
		return "reset record with a payload";
	if (depth)
		return "reset record inside a delivery";
	if (!*started)
		return "reset record before the machine's start record";
	if (e->a != *boots + 1)
		return "reset record's boot number out of sequence";
	*started = false;
	(*boots)++;
	return NULL;
}

static int tr_fail(struct trace_reader *r, char *err, size_t errlen,
		   const char *fmt, const char *what, size_t where)
{
	snprintf(err, errlen, fmt, what, where);
	free(r->ev);
	free(r->payload);
	free(r->match);
	r->ev = NULL;
	r->payload = NULL;
	r->match = NULL;
	r->nev = 0;
	return -1;
}

int trace_reader_parse(struct trace_reader *r, const void *buf, size_t len,
		       char *err, size_t errlen)
{
	const uint8_t *d = buf;
	memset(r, 0, sizeof(*r));
	struct trace_file_hdr h;
	if (len < sizeof(h)) {
		snprintf(err, errlen, "trace: %zu bytes is too short for a trace "
			 "header (%zu)", len, sizeof(h));
		return -1;
	}
	memcpy(&h, d, sizeof(h));
	if (memcmp(h.magic, TRACE_MAGIC, sizeof(h.magic))) {
		snprintf(err, errlen, "trace: not a vmm trace (bad magic)");
		return -1;
	}
	if (h.version < TRACE_VERSION_MIN || h.version > TRACE_VERSION) {
		snprintf(err, errlen, "trace: version %u is not supported (this "
			 "vmm-replay reads versions %u to %u)", h.version,
			 TRACE_VERSION_MIN, TRACE_VERSION);
		return -1;
	}
	if (h.hdr_size != sizeof(h)) {
		snprintf(err, errlen, "trace: header size %u, expected %zu",
			 h.hdr_size, sizeof(h));
		return -1;
	}
	if (h.dtb_size > TRACE_MAX_DTB || h.dtb_size < sizeof(struct fdt_header) ||
	    tr_pad8(h.dtb_size) > len - sizeof(h)) {
		snprintf(err, errlen, "trace: truncated or damaged: the machine "
			 "description (%u bytes) does not fit the file", h.dtb_size);
		return -1;
	}
	const uint8_t *dtb = d + sizeof(h);
	/* Only the version fdt_desc writes (17): libfdt 1.6.1's
	 * fdt_check_full() dereferences NULL on pre-16 trees with inline
	 * property names, so older layouts are refused before it looks. */
	if (fdt_check_header(dtb) != 0 || fdt_totalsize(dtb) > h.dtb_size ||
	    fdt_version(dtb) < 17 || fdt_last_comp_version(dtb) > 17 ||
	    fdt_check_full(dtb, h.dtb_size) != 0) {
		snprintf(err, errlen, "trace: machine description is not a valid "
			 "device tree");
		return -1;
	}
	r->data = d;
	r->len = len;
	r->version = h.version;
	r->flags = h.flags;
	r->dtb = dtb;
	r->dtb_size = h.dtb_size;

	size_t start = sizeof(h) + tr_pad8(h.dtb_size);
	size_t max = (len - start) / sizeof(struct trace_ev);
	r->ev = calloc(max ? max : 1, sizeof(*r->ev));
	r->payload = calloc(max ? max : 1, sizeof(*r->payload));
	r->match = calloc(max ? max : 1, sizeof(*r->match));
	if (!r->ev || !r->payload || !r->match)
		return tr_fail(r, err, errlen, "trace: %s (%zu records)",
			       "out of memory", max);
	size_t stack[TRACE_MAX_DEPTH];
	unsigned depth = 0, nbackends = 0;
	/* Boots: a start record opens one, a reset record (version 2)
	 * closes it and the next start opens the rebuilt machine's. */
	bool started = false;
	uint64_t boots = 1;
	size_t off = start;
	bool eof = false;
	while (off < len) {
		size_t i = r->nev;
		if (eof)
			return tr_fail(r, err, errlen, "trace: %s at offset %zu",
				       "data after the end record", off);
		if (len - off < sizeof(struct trace_ev))
			return tr_fail(r, err, errlen, "trace: %s at offset %zu",
				       "truncated record header", off);
		struct trace_ev *e = &r->ev[i];
		memcpy(e, d + off, sizeof(*e));
		off += sizeof(*e);
		if (e->kind == 0 || e->kind >= TR_KIND_MAX)
			return tr_fail(r, err, errlen, "trace: %s (record %zu)",
				       "unknown record kind", i);
		if (e->size > TRACE_MAX_PAYLOAD || tr_pad8(e->size) > len - off)
			return tr_fail(r, err, errlen, "trace: %s (record %zu)",
				       "record payload runs past the end of the file", i);
		r->payload[i] = e->size ? d + off : NULL;
		off += tr_pad8(e->size);
		const char *bad = tr_check_ev(e, nbackends);
		if (bad)
			return tr_fail(r, err, errlen, "trace: %s (record %zu)", bad, i);
		if (e->kind == TR_BACKEND)
			nbackends++;
		bad = tr_check_place(e, h.version, depth, &started, &boots);
		if (bad)
			return tr_fail(r, err, errlen, "trace: %s (record %zu)", bad, i);
		r->match[i] = SIZE_MAX;
		if (trace_kind_is_begin(e->kind)) {
			if (depth == TRACE_MAX_DEPTH)
				return tr_fail(r, err, errlen, "trace: %s (record %zu)",
					       "deliveries nested too deep", i);
			stack[depth++] = i;
		} else if (e->kind == TR_END) {
			if (depth == 0)
				return tr_fail(r, err, errlen, "trace: %s (record %zu)",
					       "end record without a beginning", i);
			r->match[stack[--depth]] = i;
		} else if (e->kind == TR_STOP) {
			r->stopped = true;
		} else if (e->kind == TR_EOF) {
			if (e->a != i)
				return tr_fail(r, err, errlen, "trace: %s (record %zu)",
					       "end record count does not match", i);
			eof = true;
		}
		r->nev++;
	}
	if (!eof)
		return tr_fail(r, err, errlen, "trace: %s after %zu records (was the "
			       "recording interrupted?)", "truncated: no end record",
			       r->nev);
	r->clean = true;
	return 0;
}

int trace_reader_open(struct trace_reader *r, const char *path, char *err,
		      size_t errlen)
{
	memset(r, 0, sizeof(*r));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "vmm-replay: cannot open '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		snprintf(err, errlen, "vmm-replay: '%s' is not a non-empty regular "
			 "file", path);
		close(fd);
		return -1;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "vmm-replay: cannot map '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	char e2[400];
	if (trace_reader_parse(r, p, (size_t)st.st_size, e2, sizeof(e2)) < 0) {
		snprintf(err, errlen, "vmm-replay: %s: %s", path, e2);
		munmap(p, (size_t)st.st_size);
		return -1;
	}
	r->mapped = true;
	return 0;
}

void trace_reader_close(struct trace_reader *r)
{
	if (r->mapped && r->data)
		munmap((void *)r->data, r->len);
	free(r->ev);
	free(r->payload);
	free(r->match);
	memset(r, 0, sizeof(*r));
}

int trace_reader_argv(const struct trace_reader *r, char **argv, int max,
		      char *err, size_t errlen)
{
	int plen = 0;
	const char *p = fdt_getprop(r->dtb, 0, "vmm,argv", &plen);
	if (!p || plen <= 0 || p[plen - 1] != '\0') {
		snprintf(err, errlen, "trace: the machine description has no valid "
			 "vmm,argv property");
		return -1;
	}
	int argc = 0;
	for (int i = 0; i < plen; i += (int)strlen(p + i) + 1) {
		if (argc == max) {
			snprintf(err, errlen, "trace: vmm,argv has more than %d words",
				 max);
			return -1;
		}
		argv[argc++] = (char *)(p + i);
	}
	return argc;
}
