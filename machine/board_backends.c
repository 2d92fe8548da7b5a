/* Host backends that outlive a board.  A machine rebuilt for a guest
 * reset gets new devices (guest state) but keeps its host backends (host
 * state), as a power-cycled PC keeps its cables: a -serial file is not
 * truncated again, a socket client stays connected, a tap stays open,
 * and input typed during the rebuild reaches the next boot.  The store
 * holds what the first board opened, keyed by backend kind and a key
 * naming the option it came from; later boards find it there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/board_int.h"

struct board_kept_be {
	int kind;
	char key[BOARD_KEY_MAX];
	void *obj;
	void (*close)(void *obj);
};

struct board_backends {
	struct board_kept_be *e;
	unsigned n, cap;
};

struct board_backends *board_backends_new(void)
{
	return calloc(1, sizeof(struct board_backends));
}

void board_backends_free(struct board_backends *k)
{
	if (!k)
		return;
	/* Reverse order of opening, as the board frees its own objects. */
	while (k->n > 0) {
		struct board_kept_be *e = &k->e[--k->n];
		if (e->close)
			e->close(e->obj);
	}
	free(k->e);
	free(k);
}

unsigned board_backends_count(const struct board_backends *k)
{
	return k ? k->n : 0;
}

void *board_kept(struct board *b, int kind, const char *key)
{
	struct board_backends *k = b->host->keep;
	if (!k || b->host->backend_replace)
		return NULL;
	for (unsigned i = 0; i < k->n; i++)
		if (k->e[i].kind == kind && !strcmp(k->e[i].key, key))
			return k->e[i].obj;
	return NULL;
}

static int board_backends_find(const struct board_backends *k, int kind, const char *key)
{
	for (unsigned i = 0; k && i < k->n; i++)
		if (k->e[i].kind == kind && !strcmp(k->e[i].key, key))
			return (int)i;
	return -1;
}

void *board_backends_take(struct board_backends *k, int kind, const char *key)
{
	int i = board_backends_find(k, kind, key);
	if (i < 0)
		return NULL;
	void *obj = k->e[i].obj;
	memmove(&k->e[i], &k->e[i + 1], (k->n - (unsigned)i - 1) * sizeof(k->e[0]));
	k->n--;
	return obj;
}

bool board_backends_drop(struct board_backends *k, int kind, const char *key)
{
	int i = board_backends_find(k, kind, key);
	if (i < 0)
		return false;
	void (*close_fn)(void *) = k->e[i].close;
	void *obj = board_backends_take(k, kind, key);
	if (close_fn)
		close_fn(obj);
	return true;
}

int board_backends_put(struct board_backends *k, int kind, const char *key,
		       void (*close_fn)(void *), void *obj, char *err, size_t errlen)
{
	if (strlen(key) >= sizeof(k->e[0].key)) {
		/* Keys come from option ids the config parser bounds; a
		 * longer one is a programming error, not a guest's. */
		close_fn(obj);
		snprintf(err, errlen, "vmm: backend '%s': name too long", key);
		return -1;
	}
	if (k->n == k->cap) {
		unsigned cap = k->cap ? k->cap * 2 : 8;
		struct board_kept_be *ne = realloc(k->e, cap * sizeof(*ne));
		if (!ne) {
			close_fn(obj);
			snprintf(err, errlen, "vmm: out of memory");
			return -1;
		}
		k->e = ne;
		k->cap = cap;
	}
	struct board_kept_be *e = &k->e[k->n++];
	e->kind = kind;
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->obj = obj;
	e->close = close_fn;
	return 0;
}

int board_own(struct board *b, int kind, const char *key,
	      void (*close_fn)(void *), void *obj, char *err, size_t errlen)
{
	struct board_backends *k = b->host->keep;
	if (!k)
		return board_push(b, close_fn, obj, err, errlen);
	return board_backends_put(k, kind, key, close_fn, obj, err, errlen);
}
