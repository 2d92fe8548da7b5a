/* Host character backends for the COM ports and virtio console ports,
 * opened from -serial / -chardev (core/chardev_host.h).  In the
 * simulator (no event loop) only file backends and the test's overrides
 * exist; anything else discards output. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/chardev_host.h"
#include "core/log.h"
#include "core/trace.h"
#include "devices/board_int.h"

static void board_chr_free(void *p) { chr_close(p); }

static int board_chr_opened(struct board *b, struct chr *c, const char *what,
			    const char *arg, char *err, size_t errlen)
{
	if (!c) {
		snprintf(err, errlen, "vmm: %s '%s': %s", what, arg, strerror(errno));
		return -1;
	}
	return board_push(b, board_chr_free, c, err, errlen);
}

static struct chr *board_chr_make(struct board *b, const char *id,
				  enum cfg_chardev_type type, const char *path,
				  bool wait)
{
	struct evloop *loop = b->host->loop;
	struct log *log = b->m->log;
	switch (type) {
	case CFG_CHR_FILE:
		return chr_file_new(id, path, false, log);
	case CFG_CHR_STDIO:
		return loop ? chr_stdio_new(id, loop, log) : NULL;
	case CFG_CHR_SOCKET:
		return loop ? chr_socket_new(id, path, wait, loop, log) : NULL;
	case CFG_CHR_PTY: {
		struct chr *c = loop ? chr_pty_new(id, loop, log) : NULL;
		/* As QEMU says it, so scripts that scrape it keep working. */
		if (c)
			fprintf(stderr, "char device redirected to %s (label %s)\n",
				chr_pty_path(c), id);
		return c;
	}
	case CFG_CHR_NULL:
	default:
		return NULL;
	}
}

static bool board_chr_needs_loop(enum cfg_chardev_type t)
{
	return t == CFG_CHR_STDIO || t == CFG_CHR_SOCKET || t == CFG_CHR_PTY;
}

int board_chardev(struct board *b, const char *id, struct chr **chr,
		  char *err, size_t errlen)
{
	*chr = NULL;
	for (unsigned i = 0; i < b->nchrs; i++)
		if (!strcmp(b->chrs[i].id, id)) {
			*chr = b->chrs[i].chr;
			return 0;
		}
	const struct cfg_chardev *c = config_chardev(b->cfg, id);
	if (!c) {
		snprintf(err, errlen, "vmm: chardev '%s' not defined", id);
		return -1;
	}
	struct chr *h = NULL;
	if (!b->host->backend_replace) {
		if (c->type == CFG_CHR_NULL ||
		    (board_chr_needs_loop(c->type) && !b->host->loop))
			return 0;
		h = board_chr_make(b, c->id, c->type, c->path, c->server && c->wait);
		if (board_chr_opened(b, h, "-chardev", c->id, err, errlen) < 0)
			return -1;
	}
	void *hooked;
	if (board_backend(b, TRACE_BK_CHR, c->id, h, &hooked, err, errlen) < 0)
		return -1;
	h = hooked;
	if (b->nchrs < CFG_MAX_ITEMS) {
		b->chrs[b->nchrs].id = c->id;
		b->chrs[b->nchrs].chr = h;
		b->nchrs++;
	}
	*chr = h;
	return 0;
}

int board_serial_chr(struct board *b, unsigned i, struct chr **chr,
		     char *err, size_t errlen)
{
	const struct cfg_serial *s = &b->cfg->serial[i];
	char id[16];
	snprintf(id, sizeof(id), "serial%u", i);
	void *hooked;
	*chr = b->host->serial[i];
	if (*chr || (b->host->backend_replace && s->type != CFG_SERIAL_CHARDEV &&
		     s->type != CFG_SERIAL_NULL)) {
		if (board_backend(b, TRACE_BK_CHR, id, *chr, &hooked, err, errlen) < 0)
			return -1;
		*chr = hooked;
		return 0;
	}
	enum cfg_chardev_type t;
	switch (s->type) {
	case CFG_SERIAL_CHARDEV:
		return board_chardev(b, s->arg, chr, err, errlen);
	case CFG_SERIAL_STDIO:
		t = CFG_CHR_STDIO;
		break;
	case CFG_SERIAL_FILE:
		t = CFG_CHR_FILE;
		break;
	case CFG_SERIAL_PTY:
		t = CFG_CHR_PTY;
		break;
	case CFG_SERIAL_SOCKET:
		t = CFG_CHR_SOCKET;
		break;
	default:
		return 0;
	}
	if (board_chr_needs_loop(t) && !b->host->loop)
		return 0;
	struct chr *h = board_chr_make(b, id, t, s->arg, s->server && s->wait);
	if (board_chr_opened(b, h, "-serial", s->arg[0] ? s->arg : id, err, errlen) < 0)
		return -1;
	if (board_backend(b, TRACE_BK_CHR, id, h, &hooked, err, errlen) < 0)
		return -1;
	*chr = hooked;
	return 0;
}
