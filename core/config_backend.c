/* Host-side backends: -object, -drive, -netdev, -chardev, and the
 * shorthand forms -serial and -qmp.  Ids are checked for uniqueness and
 * references resolved later, in config_check.c, because a launcher may
 * name a backend after the device that uses it (Kata does). */
#include <stdio.h>
#include <string.h>
#include "config_priv.h"

/* The type of -object/-netdev/-chardev: the implied first item or an
 * explicit "qom-type=" / "type=" / "backend=" anywhere. */
static const char *type_of(const struct cfg_kvlist *l, const char *key)
{
	for (unsigned i = 0; i < l->n; i++)
		if (!strcmp(l->kv[i].key, key) && l->kv[i].val)
			return l->kv[i].val;
	return "";
}

int cfg_opt_object(struct cfg_ctx *c, const char *arg)
{
	struct machine_config *cfg = c->cfg;
	struct cfg_object *o;
	struct cfg_kvlist l;
	const char *type;
	bool have_size = false;
	const char *accepted;

	if (cfg_kv_split(c, &l, arg, "qom-type"))
		return -1;
	type = type_of(&l, "qom-type");
	if (cfg->nobjects == CFG_MAX_ITEMS)
		return cfg_error(c, "too many objects (at most %d)", CFG_MAX_ITEMS);
	o = &cfg->objects[cfg->nobjects];
	memset(o, 0, sizeof(*o));
	if (!strcmp(type, "memory-backend-file")) {
		o->type = CFG_OBJ_MEMORY_BACKEND_FILE;
		accepted = "id, size, mem-path, share, readonly";
	} else if (!strcmp(type, "memory-backend-ram")) {
		o->type = CFG_OBJ_MEMORY_BACKEND_RAM;
		accepted = "id, size, share";
	} else if (!strcmp(type, "memory-backend-memfd")) {
		/* Always shareable (memfd_create): what vhost-user needs. */
		o->type = CFG_OBJ_MEMORY_BACKEND_MEMFD;
		o->share = true;
		accepted = "id, size, share";
	} else if (!strcmp(type, "rng-random")) {
		o->type = CFG_OBJ_RNG_RANDOM;
		strcpy(o->filename, "/dev/urandom");
		accepted = "id, filename";
	} else if (!strcmp(type, "iothread")) {
		o->type = CFG_OBJ_IOTHREAD;
		accepted = "id";
	} else {
		return cfg_error(c, "object type '%s' is not supported (accepted: memory-backend-file, memory-backend-ram, memory-backend-memfd, rng-random, iothread)",
				 type);
	}
	for (unsigned i = 0; i < l.n; i++) {
		const struct cfg_kv *kv = &l.kv[i];
		bool mem = o->type == CFG_OBJ_MEMORY_BACKEND_FILE ||
			   o->type == CFG_OBJ_MEMORY_BACKEND_RAM ||
			   o->type == CFG_OBJ_MEMORY_BACKEND_MEMFD;
		int r;

		if (!strcmp(kv->key, "qom-type")) {
			r = 0;
		} else if (!strcmp(kv->key, "id")) {
			r = cfg_id(c, "id", kv->val, o->id);
		} else if (mem && !strcmp(kv->key, "size")) {
			/* Bytes without a suffix, as QEMU's QOM size properties. */
			r = cfg_size(c, "size", kv->val, 1, 4096, CFG_MAX_MAXMEM,
				     &o->size);
			if (!r && (o->size & 4095))
				r = cfg_error(c, "size='%s' is not a multiple of 4 KiB",
					      kv->val);
			have_size = true;
		} else if (mem && !strcmp(kv->key, "share")) {
			r = cfg_bool(c, kv, &o->share);
		} else if (o->type == CFG_OBJ_MEMORY_BACKEND_FILE &&
			   !strcmp(kv->key, "mem-path")) {
			r = cfg_str(c, "mem-path", kv->val, o->mem_path,
				    sizeof(o->mem_path));
		} else if (o->type == CFG_OBJ_MEMORY_BACKEND_FILE &&
			   !strcmp(kv->key, "readonly")) {
			r = cfg_bool(c, kv, &o->readonly);
		} else if (o->type == CFG_OBJ_RNG_RANDOM &&
			   !strcmp(kv->key, "filename")) {
			r = cfg_str(c, "filename", kv->val, o->filename,
				    sizeof(o->filename));
		} else {
			r = cfg_unknown_key(c, kv, accepted);
		}
		if (r)
			return -1;
	}
	if (!o->id[0])
		return cfg_error(c, "'%s': id= is required", type);
	if ((o->type == CFG_OBJ_MEMORY_BACKEND_FILE ||
	     o->type == CFG_OBJ_MEMORY_BACKEND_RAM ||
	     o->type == CFG_OBJ_MEMORY_BACKEND_MEMFD) && !have_size)
		return cfg_error(c, "'%s': size= is required", o->id);
	if (o->type == CFG_OBJ_MEMORY_BACKEND_FILE && !o->mem_path[0])
		return cfg_error(c, "'%s': mem-path= is required", o->id);
	if (o->type == CFG_OBJ_IOTHREAD) {
		unsigned n = 0;

		for (unsigned i = 0; i < cfg->nobjects; i++)
			n += cfg->objects[i].type == CFG_OBJ_IOTHREAD;
		if (n >= CFG_MAX_IOTHREADS)
			return cfg_error(c, "too many iothreads (at most %d)",
					 CFG_MAX_IOTHREADS);
	}
	cfg->nobjects++;
	return 0;
}

static int parse_cache(struct cfg_ctx *c, struct cfg_drive *d, const char *v,
		       bool *implies_direct)
{
	static const struct { const char *name; enum cfg_cache cache;
			      bool direct, flush; } modes[] = {
		{ "writeback", CFG_CACHE_WRITEBACK, false, true },
		{ "none", CFG_CACHE_NONE, true, true },
		{ "writethrough", CFG_CACHE_WRITETHROUGH, false, true },
		{ "directsync", CFG_CACHE_DIRECTSYNC, true, true },
		{ "unsafe", CFG_CACHE_UNSAFE, false, false },
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (v && !strcmp(v, modes[i].name)) {
			d->cache = modes[i].cache;
			d->flush = modes[i].flush;
			*implies_direct = modes[i].direct;
			return 0;
		}
	}
	return cfg_error(c, "cache='%s' is not accepted (accepted: writeback, none, writethrough, directsync, unsafe)",
			 v ? v : "");
}

int cfg_opt_drive(struct cfg_ctx *c, const char *arg)
{
	struct machine_config *cfg = c->cfg;
	struct cfg_drive *d;
	struct cfg_kvlist l;
	bool direct = false, direct_given = false, cache_direct = false;

	if (cfg_kv_split(c, &l, arg, NULL))
		return -1;
	if (cfg->ndrives == CFG_MAX_ITEMS)
		return cfg_error(c, "too many drives (at most %d)", CFG_MAX_ITEMS);
	d = &cfg->drives[cfg->ndrives];
	memset(d, 0, sizeof(*d));
	strcpy(d->format, "raw");
	d->cache = CFG_CACHE_WRITEBACK;
	d->flush = true;
	d->aio = CFG_AIO_THREADS;
	for (unsigned i = 0; i < l.n; i++) {
		const struct cfg_kv *kv = &l.kv[i];
		const char *v = kv->val ? kv->val : "";
		int r = 0;

		if (!strcmp(kv->key, "id")) {
			r = cfg_id(c, "id", kv->val, d->id);
		} else if (!strcmp(kv->key, "file")) {
			r = cfg_str(c, "file", kv->val, d->file, sizeof(d->file));
		} else if (!strcmp(kv->key, "readonly")) {
			r = cfg_bool(c, kv, &d->readonly);
		} else if (!strcmp(kv->key, "direct")) {
			r = cfg_bool(c, kv, &direct);
			direct_given = true;
		} else if (!strcmp(kv->key, "throttling.iops-total")) {
			r = cfg_uint(c, kv->key, kv->val, 0, CFG_MAX_IOPS,
				     &d->iops_total);
		} else if (!strcmp(kv->key, "if")) {
			if (strcmp(v, "none"))
				r = cfg_error(c, "if='%s' is not supported (accepted: none, with -device virtio-blk-*,drive=ID)",
					      v);
		} else if (!strcmp(kv->key, "format")) {
			if (strcmp(v, "raw"))
				r = cfg_error(c, "format='%s' is not supported (accepted: raw)",
					      v);
		} else if (!strcmp(kv->key, "cache")) {
			r = parse_cache(c, d, kv->val, &cache_direct);
		} else if (!strcmp(kv->key, "aio")) {
			if (!strcmp(v, "threads"))
				d->aio = CFG_AIO_THREADS;
			else if (!strcmp(v, "native"))
				d->aio = CFG_AIO_NATIVE;
			else if (!strcmp(v, "io_uring"))
				d->aio = CFG_AIO_IO_URING;
			else
				r = cfg_error(c, "aio='%s' is not accepted (accepted: threads, native, io_uring)",
					      v);
		} else {
			r = cfg_unknown_key(c, kv, "id, file, readonly, direct, throttling.iops-total, if, format, cache, aio");
		}
		if (r)
			return -1;
	}
	if (!d->id[0])
		return cfg_error(c, "id= is required");
	if (!d->file[0])
		return cfg_error(c, "'%s': file= is required", d->id);
	if (direct_given && !direct && cache_direct)
		return cfg_error(c, "'%s': direct=off conflicts with the cache= mode (O_DIRECT)",
				 d->id);
	d->direct = direct || cache_direct;
	cfg->ndrives++;
	return 0;
}

/* Longest reconnect interval accepted (a day): QEMU takes any int64, but
 * seconds * 1e9 must not overflow the clock arithmetic. */
#define CFG_RECONNECT_MAX 86400u

/* socket options shared by -chardev socket and -serial unix:PATH.
 * reconnect NULL: not accepted (QMP). */
static int socket_kv(struct cfg_ctx *c, const struct cfg_kv *kv, bool *server,
		     bool *wait, unsigned *reconnect, bool *handled)
{
	*handled = true;
	if (!strcmp(kv->key, "server"))
		return cfg_bool(c, kv, server);
	if (reconnect && !strcmp(kv->key, "reconnect")) {
		uint64_t v;
		if (cfg_uint(c, "reconnect", kv->val, 0, CFG_RECONNECT_MAX, &v))
			return -1;
		*reconnect = (unsigned)v;
		return 0;
	}
	if (!strcmp(kv->key, "wait"))
		return cfg_bool(c, kv, wait);
	if (!strcmp(kv->key, "nowait")) {
		if (kv->val)
			return cfg_error(c, "'nowait' takes no value (use wait=on|off)");
		*wait = false;
		return 0;
	}
	*handled = false;
	return 0;
}

int cfg_opt_chardev(struct cfg_ctx *c, const char *arg)
{
	static const struct { const char *name; enum cfg_chardev_type type; }
		types[] = { { "stdio", CFG_CHR_STDIO }, { "file", CFG_CHR_FILE },
			    { "socket", CFG_CHR_SOCKET }, { "pty", CFG_CHR_PTY },
			    { "null", CFG_CHR_NULL } };
	struct machine_config *cfg = c->cfg;
	struct cfg_chardev *ch;
	struct cfg_kvlist l;
	const char *type;
	size_t t;

	if (cfg_kv_split(c, &l, arg, "backend"))
		return -1;
	type = type_of(&l, "backend");
	if (cfg->nchardevs == CFG_MAX_ITEMS)
		return cfg_error(c, "too many chardevs (at most %d)", CFG_MAX_ITEMS);
	ch = &cfg->chardevs[cfg->nchardevs];
	memset(ch, 0, sizeof(*ch));
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		if (!strcmp(type, types[t].name))
			break;
	if (t == sizeof(types) / sizeof(types[0]))
		return cfg_error(c, "chardev backend '%s' is not supported (accepted: socket, stdio, file, pty, null)",
				 type);
	ch->type = types[t].type;
	ch->wait = true;     /* QEMU: a server waits unless told otherwise */
	ch->signal = true;
	bool wait_given = false;
	for (unsigned i = 0; i < l.n; i++) {
		const struct cfg_kv *kv = &l.kv[i];
		bool handled = false;
		int r;

		if (!strcmp(kv->key, "wait") || !strcmp(kv->key, "nowait"))
			wait_given = true;
		if (!strcmp(kv->key, "backend")) {
			r = 0;
		} else if (!strcmp(kv->key, "id")) {
			r = cfg_id(c, "id", kv->val, ch->id);
		} else if ((ch->type == CFG_CHR_SOCKET ||
			    ch->type == CFG_CHR_FILE) && !strcmp(kv->key, "path")) {
			r = cfg_str(c, "path", kv->val, ch->path, sizeof(ch->path));
		} else if (ch->type == CFG_CHR_STDIO &&
			   !strcmp(kv->key, "signal")) {
			r = cfg_bool(c, kv, &ch->signal);
		} else if (ch->type == CFG_CHR_SOCKET &&
			   (r = socket_kv(c, kv, &ch->server, &ch->wait,
					  &ch->reconnect, &handled), handled)) {
			/* done */
		} else {
			r = cfg_unknown_key(c, kv,
				ch->type == CFG_CHR_SOCKET ? "id, path, server, wait, nowait, reconnect" :
				ch->type == CFG_CHR_FILE ? "id, path" :
				ch->type == CFG_CHR_STDIO ? "id, signal" : "id");
		}
		if (r)
			return -1;
	}
	if (!ch->id[0])
		return cfg_error(c, "'%s': id= is required", type);
	if ((ch->type == CFG_CHR_SOCKET || ch->type == CFG_CHR_FILE) &&
	    !ch->path[0])
		return cfg_error(c, "'%s': path= is required", ch->id);
	/* QEMU: reconnect is a client's, wait a server's. */
	if (ch->server && ch->reconnect)
		return cfg_error(c, "'%s': 'reconnect' option is incompatible with socket in server listen mode",
				 ch->id);
	if (ch->type == CFG_CHR_SOCKET && !ch->server && wait_given)
		return cfg_error(c, "'%s': 'wait' option is incompatible with socket in client connect mode",
				 ch->id);
	if (!ch->server)
		ch->wait = false;
	cfg->nchardevs++;
	return 0;
}

/* "unix:PATH[,server][,nowait]" for -serial and -qmp. */
static int parse_unix(struct cfg_ctx *c, const char *arg, char *path,
		      size_t pathlen, bool *server, bool *wait,
		      unsigned *reconnect)
{
	struct cfg_kvlist l;

	if (cfg_kv_split(c, &l, arg, "addr"))
		return -1;
	if (!l.kv[0].implied || strncmp(l.kv[0].val, "unix:", 5))
		return -2;
	if (cfg_str(c, "the socket path", l.kv[0].val + 5, path, pathlen))
		return -1;
	*server = false;
	*wait = true;
	bool wait_given = false;
	for (unsigned i = 1; i < l.n; i++) {
		bool handled;

		if (!strcmp(l.kv[i].key, "wait") || !strcmp(l.kv[i].key, "nowait"))
			wait_given = true;
		if (socket_kv(c, &l.kv[i], server, wait, reconnect, &handled))
			return -1;
		if (!handled)
			return cfg_unknown_key(c, &l.kv[i], reconnect ?
					       "server, wait, nowait, reconnect" :
					       "server, wait, nowait");
	}
	if (reconnect && *server && *reconnect)
		return cfg_error(c, "'reconnect' option is incompatible with socket in server listen mode");
	if (reconnect && !*server && wait_given)
		return cfg_error(c, "'wait' option is incompatible with socket in client connect mode");
	if (!*server)
		*wait = false;
	return 0;
}

int cfg_opt_serial(struct cfg_ctx *c, const char *arg)
{
	struct machine_config *cfg = c->cfg;
	struct cfg_serial *s;
	int r;

	if (!strcmp(arg, "none")) {
		cfg->nserial = 0;
		c->serial_none = true;
		return 0;
	}
	if (cfg->nserial == CFG_MAX_SERIAL)
		return cfg_error(c, "too many serial ports (at most %d)",
				 CFG_MAX_SERIAL);
	s = &cfg->serial[cfg->nserial];
	memset(s, 0, sizeof(*s));
	if (!strcmp(arg, "stdio")) {
		s->type = CFG_SERIAL_STDIO;
	} else if (!strcmp(arg, "pty")) {
		s->type = CFG_SERIAL_PTY;
	} else if (!strcmp(arg, "null")) {
		s->type = CFG_SERIAL_NULL;
	} else if (!strncmp(arg, "chardev:", 8)) {
		s->type = CFG_SERIAL_CHARDEV;
		if (cfg_id(c, "chardev", arg + 8, s->arg))
			return -1;
	} else if (!strncmp(arg, "file:", 5)) {
		s->type = CFG_SERIAL_FILE;
		if (cfg_str(c, "the file path", arg + 5, s->arg, sizeof(s->arg)))
			return -1;
	} else {
		s->type = CFG_SERIAL_SOCKET;
		r = parse_unix(c, arg, s->arg, sizeof(s->arg), &s->server,
			       &s->wait, &s->reconnect);
		if (r == -2)
			return cfg_error(c, "'%s' is not supported (accepted: stdio, pty, null, none, chardev:ID, file:PATH, unix:PATH[,server][,nowait][,reconnect=S])",
					 arg);
		if (r)
			return -1;
	}
	cfg->nserial++;
	return 0;
}

/* "unix:fd=N,server=on,wait=off": QEMU's socket chardev fd= form, how
 * Kata hands over a socket it bound and listens on itself.  N must be an
 * inherited listening unix socket; that is checked when the machine
 * starts (the fd may not exist while parsing in tests). */
static int parse_qmp_fd(struct cfg_ctx *c, const char *arg)
{
	struct cfg_kvlist l;
	bool server = false, wait = true;
	uint64_t fd;

	if (cfg_kv_split(c, &l, arg + 5, "fd"))
		return -1;
	if (cfg_uint(c, "fd", l.kv[0].val, 0, INT32_MAX, &fd))
		return -1;
	for (unsigned i = 1; i < l.n; i++) {
		bool handled;

		if (socket_kv(c, &l.kv[i], &server, &wait, NULL, &handled))
			return -1;
		if (!handled)
			return cfg_unknown_key(c, &l.kv[i], "server, wait, nowait");
	}
	if (!server || wait)
		return cfg_error(c, "'%s' is not supported (accepted: unix:fd=N,server=on,wait=off)",
				 arg);
	c->cfg->qmp_has_fd = true;
	c->cfg->qmp_fd = (int)fd;
	return 0;
}

int cfg_opt_qmp(struct cfg_ctx *c, const char *arg)
{
	bool server, wait;
	int r;

	if (c->qmp_given)
		return cfg_error(c, "given twice (one QMP socket is supported)");
	c->qmp_given = true;
	if (!strncmp(arg, "unix:fd=", 8))
		return parse_qmp_fd(c, arg);
	r = parse_unix(c, arg, c->cfg->qmp_path, sizeof(c->cfg->qmp_path),
		       &server, &wait, NULL);
	if (r == -2 || (r == 0 && (!server || wait)))
		return cfg_error(c, "'%s' is not supported (accepted: unix:PATH,server,nowait, unix:PATH,server=on,wait=off or unix:fd=N,server=on,wait=off)",
				 arg);
	return r ? -1 : 0;
}
