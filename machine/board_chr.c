/* Host character backends for the COM ports and virtio console ports,
 * opened from -serial / -chardev (core/chardev_host.h).  In the
 * simulator (no event loop) only file backends and the test's overrides
 * exist; anything else discards output.  With board_host.keep they are
 * opened once and shared by every board built on that store
 * (board_backends.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/chardev_host.h"
#include "core/log.h"
#include "core/trace.h"
#include "machine/board_int.h"

static void board_chr_free(void *p) { chr_close(p); }
/* A backend that outlives the board must not call into its freed front
 * end: detached, it holds input back for the next one. */
static void board_chr_detach(void *p) { chr_attach(p, NULL); }

/* How a socket backend is opened: QEMU's server/wait/reconnect. */
struct board_sock {
	bool server, wait;
	unsigned reconnect;
};

static struct chr *board_chr_make(struct board *b, const char *id,
				  enum cfg_chardev_type type, const char *path,
				  const struct board_sock *sk)
{
	struct evloop *loop = b->host->loop;
	struct log *log = b->m->log;
	switch (type) {
	case CFG_CHR_FILE:
		return chr_file_new(id, path, false, log);
	case CFG_CHR_STDIO:
		return loop ? chr_stdio_new(id, loop, log) : NULL;
	case CFG_CHR_SOCKET:
		if (!loop)
			return NULL;
		return sk->server ? chr_socket_new(id, path, sk->wait, loop, log)
				  : chr_socket_client_new(id, path, sk->reconnect,
							  loop, log);
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

/* The host backend under key: kept from an earlier board, or opened now
 * and owned (board_own).  *chr NULL: nothing to open here. */
static int board_chr_get(struct board *b, const char *key, const char *id,
			 enum cfg_chardev_type type, const char *path,
			 const struct board_sock *sk, const char *what,
			 const char *arg, struct chr **chr, char *err,
			 size_t errlen)
{
	*chr = NULL;
	if (type == CFG_CHR_NULL || (board_chr_needs_loop(type) && !b->host->loop))
		return 0;
	struct chr *h = board_kept(b, TRACE_BK_CHR, key);
	if (!h) {
		h = board_chr_make(b, id, type, path, sk);
		if (!h) {
			/* QEMU's wording for a client nobody listens to, and
			 * for a name another program is serving on. */
			if (type == CFG_CHR_SOCKET && !sk->server)
				snprintf(err, errlen, "vmm: %s '%s': Failed to connect "
					 "to '%s': %s", what, arg, path,
					 strerror(errno));
			else if (type == CFG_CHR_SOCKET && errno == EADDRINUSE)
				snprintf(err, errlen, "vmm: %s '%s': Failed to bind "
					 "socket to '%s': %s (a live socket or "
					 "another file is there)", what, arg, path,
					 strerror(errno));
			else {
				bool show = path && strcmp(path, arg);
				snprintf(err, errlen, "vmm: %s '%s'%s%s: %s", what,
					 arg, show ? ": " : "", show ? path : "",
					 strerror(errno));
			}
			return -1;
		}
		if (board_own(b, TRACE_BK_CHR, key, board_chr_free, h, err, errlen) < 0)
			return -1;
	}
	*chr = h;
	return 0;
}

/* Pass an opened backend through the record/replay hook, and detach
 * both from their front ends when the board goes (pushed before the
 * device exists, so this runs after it is freed). */
static int board_chr_hook(struct board *b, const char *id, struct chr *opened,
			  struct chr **chr, char *err, size_t errlen)
{
	void *hooked;
	if (board_backend(b, TRACE_BK_CHR, id, opened, &hooked, err, errlen) < 0)
		return -1;
	*chr = hooked;
	if (opened && board_push(b, board_chr_detach, opened, err, errlen) < 0)
		return -1;
	if (*chr && *chr != opened &&
	    board_push(b, board_chr_detach, *chr, err, errlen) < 0)
		return -1;
	return 0;
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
		char key[BOARD_KEY_MAX];
		snprintf(key, sizeof(key), "chardev:%s", c->id);
		struct board_sock sk = { c->server, c->server && c->wait,
					 c->reconnect };
		if (board_chr_get(b, key, c->id, c->type, c->path, &sk,
				  "-chardev", c->id, &h, err, errlen) < 0)
			return -1;
		if (!h)
			return 0;
	}
	if (board_chr_hook(b, c->id, h, &h, err, errlen) < 0)
		return -1;
	if (b->nchrs < CFG_MAX_ITEMS) {
		snprintf(b->chrs[b->nchrs].id, sizeof(b->chrs[0].id), "%s", c->id);
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
	*chr = b->host->serial[i];
	if (*chr || (b->host->backend_replace && s->type != CFG_SERIAL_CHARDEV &&
		     s->type != CFG_SERIAL_NULL))
		return board_chr_hook(b, id, *chr, chr, err, errlen);
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
	char key[BOARD_KEY_MAX];
	snprintf(key, sizeof(key), "serial:%u", i);
	struct chr *h;
	struct board_sock sk = { s->server, s->server && s->wait, s->reconnect };
	if (board_chr_get(b, key, id, t, s->arg, &sk, "-serial",
			  s->arg[0] ? s->arg : id, &h, err, errlen) < 0)
		return -1;
	if (!h)
		return 0;
	return board_chr_hook(b, id, h, chr, err, errlen);
}
