/* JSON values: accessors, builders, clone, free.  The parser is in
 * json_parse.c, the writer in json_write.c. */
#include "json_priv.h"

#include <stdlib.h>
#include <string.h>


/* ---- values ---------------------------------------------------------- */

struct json *json_alloc(enum json_type t)
{
	struct json *v = calloc(1, sizeof(*v));
	if (v)
		v->type = t;
	return v;
}

void json_free(struct json *v)
{
	if (!v)
		return;
	if (v->type == JSON_STRING) {
		free(v->u.s);
	} else if (v->type == JSON_ARRAY || v->type == JSON_OBJECT) {
		for (size_t i = 0; i < v->u.c.n; i++) {
			json_free(v->u.c.items[i]);
			if (v->u.c.keys)
				free(v->u.c.keys[i]);
		}
		free(v->u.c.items);
		free(v->u.c.keys);
	}
	free(v);
}

enum json_type json_type(const struct json *v) { return v->type; }

const char *json_type_name(enum json_type t)
{
	/* The words QEMU uses in "expected: ..." messages. */
	switch (t) {
	case JSON_NULL: return "null";
	case JSON_BOOL: return "boolean";
	case JSON_INT: return "integer";
	case JSON_DOUBLE: return "number";
	case JSON_STRING: return "string";
	case JSON_ARRAY: return "array";
	case JSON_OBJECT: return "object";
	}
	return "?";
}

bool json_get_bool(const struct json *v)
{
	return v && v->type == JSON_BOOL && v->u.b;
}

int64_t json_get_int(const struct json *v)
{
	return v && v->type == JSON_INT ? v->u.i : 0;
}

double json_get_double(const struct json *v)
{
	if (v && v->type == JSON_DOUBLE)
		return v->u.d;
	if (v && v->type == JSON_INT)
		return (double)v->u.i;
	return 0;
}

const char *json_get_str(const struct json *v)
{
	return v && v->type == JSON_STRING ? v->u.s : NULL;
}

size_t json_len(const struct json *v)
{
	if (v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT))
		return v->u.c.n;
	return 0;
}

struct json *json_at(const struct json *v, size_t i)
{
	return i < json_len(v) ? v->u.c.items[i] : NULL;
}

const char *json_key_at(const struct json *v, size_t i)
{
	if (!v || v->type != JSON_OBJECT || i >= v->u.c.n)
		return NULL;
	return v->u.c.keys[i];
}

struct json *json_get(const struct json *v, const char *key)
{
	if (!v || v->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->u.c.n; i++)
		if (strcmp(v->u.c.keys[i], key) == 0)
			return v->u.c.items[i];
	return NULL;
}

struct json *json_new_null(void) { return json_alloc(JSON_NULL); }

struct json *json_new_bool(bool b)
{
	struct json *v = json_alloc(JSON_BOOL);
	if (v)
		v->u.b = b;
	return v;
}

struct json *json_new_int(int64_t i)
{
	struct json *v = json_alloc(JSON_INT);
	if (v)
		v->u.i = i;
	return v;
}

struct json *json_new_double(double d)
{
	struct json *v = json_alloc(JSON_DOUBLE);
	if (v)
		v->u.d = d;
	return v;
}

struct json *json_new_str_owned(char *s)
{
	struct json *v = s ? json_alloc(JSON_STRING) : NULL;
	if (!v) {
		free(s);
		return NULL;
	}
	v->u.s = s;
	return v;
}

struct json *json_new_str(const char *s)
{
	return json_new_str_owned(strdup(s));
}

struct json *json_new_array(void) { return json_alloc(JSON_ARRAY); }
struct json *json_new_object(void) { return json_alloc(JSON_OBJECT); }

int json_push(struct json *c, char *key, struct json *val)
{
	if (c->u.c.n == c->u.c.cap) {
		size_t ncap = c->u.c.cap ? c->u.c.cap * 2 : 4;
		struct json **items = realloc(c->u.c.items, ncap * sizeof(*items));
		if (!items)
			goto fail;
		c->u.c.items = items;
		if (c->type == JSON_OBJECT) {
			char **keys = realloc(c->u.c.keys, ncap * sizeof(*keys));
			if (!keys)
				goto fail;
			c->u.c.keys = keys;
		}
		c->u.c.cap = ncap;
	}
	c->u.c.items[c->u.c.n] = val;
	if (c->type == JSON_OBJECT)
		c->u.c.keys[c->u.c.n] = key;
	c->u.c.n++;
	return 0;
fail:
	free(key);
	json_free(val);
	return -1;
}

int json_array_add(struct json *arr, struct json *val)
{
	if (!arr || arr->type != JSON_ARRAY || !val) {
		json_free(val);
		return -1;
	}
	return json_push(arr, NULL, val);
}

int json_object_add(struct json *obj, const char *key, struct json *val)
{
	char *k = key ? strdup(key) : NULL;
	if (!obj || obj->type != JSON_OBJECT || !val || !k) {
		free(k);
		json_free(val);
		return -1;
	}
	return json_push(obj, k, val);
}

static struct json *json_clone_depth(const struct json *v, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return NULL;
	switch (v->type) {
	case JSON_NULL: return json_new_null();
	case JSON_BOOL: return json_new_bool(v->u.b);
	case JSON_INT: return json_new_int(v->u.i);
	case JSON_DOUBLE: return json_new_double(v->u.d);
	case JSON_STRING: return json_new_str(v->u.s);
	case JSON_ARRAY:
	case JSON_OBJECT:
		break;
	}
	struct json *c = json_alloc(v->type);
	if (!c)
		return NULL;
	for (size_t i = 0; i < v->u.c.n; i++) {
		struct json *e = json_clone_depth(v->u.c.items[i], depth + 1);
		char *k = NULL;
		if (v->type == JSON_OBJECT && e && !(k = strdup(v->u.c.keys[i]))) {
			json_free(e);
			e = NULL;
		}
		if (!e || json_push(c, k, e) != 0) {
			json_free(c);
			return NULL;
		}
	}
	return c;
}

struct json *json_clone(const struct json *v)
{
	return v ? json_clone_depth(v, 1) : NULL;
}
