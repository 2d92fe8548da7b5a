/* JSON values and the strict parser (RFC 8259).  See json.h for the
 * limits.  Recursion in the parser is bounded by JSON_MAX_DEPTH, checked
 * before descending, so a hostile "[[[[..." costs one error, not a stack. */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct json {
	enum json_type type;
	union {
		bool b;
		int64_t i;
		double d;
		char *s;
		struct {
			struct json **items;
			char **keys; /* objects only */
			size_t n, cap;
		} c;
	} u;
};

/* ---- values ---------------------------------------------------------- */

static struct json *json_alloc(enum json_type t)
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

/* Takes ownership of s (malloc'd) even on failure. */
static struct json *json_new_str_owned(char *s)
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

/* Append (key may be NULL for arrays; key ownership is taken). */
static int json_push(struct json *c, char *key, struct json *val)
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

/* ---- parser ------------------------------------------------------------ */

struct json_parser {
	const unsigned char *s;
	size_t len, pos;
	char *err;
	size_t errlen;
	bool failed;
};

static void jp_error(struct json_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void jp_error(struct json_parser *p, const char *fmt, ...)
{
	if (p->failed)
		return; /* keep the first, innermost message */
	p->failed = true;
	if (p->err && p->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
}

static void jp_ws(struct json_parser *p)
{
	while (p->pos < p->len) {
		unsigned char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static bool jp_literal(struct json_parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return false;
	p->pos += n;
	return true;
}

/* Length of the valid UTF-8 sequence at s[0..avail), 0 if invalid
 * (overlong forms, UTF-16 surrogates and values past U+10FFFF included). */
static size_t jp_utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0; /* overlong */
	else if (c == 0xED)
		hi = 0x9F; /* U+D800..U+DFFF */
	else if (c == 0xF0)
		lo = 0x90; /* overlong */
	else if (c == 0xF4)
		hi = 0x8F; /* > U+10FFFF */
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

static int jp_hex4(const unsigned char *s, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t jp_put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* One \u escape (p->pos at the 'u'), combining a surrogate pair. */
static int jp_unicode_escape(struct json_parser *p, unsigned *cp)
{
	const unsigned char *s = p->s;
	if (p->len - p->pos < 5 || jp_hex4(s + p->pos + 1, cp) != 0) {
		jp_error(p, "invalid \\u escape");
		return -1;
	}
	p->pos += 5;
	if (*cp >= 0xD800 && *cp <= 0xDBFF) {
		unsigned lo;
		if (p->len - p->pos < 6 || s[p->pos] != '\\' || s[p->pos + 1] != 'u' ||
		    jp_hex4(s + p->pos + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
			jp_error(p, "\\u%04x is not a valid Unicode character", *cp);
			return -1;
		}
		p->pos += 6;
		*cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
	} else if (*cp >= 0xDC00 && *cp <= 0xDFFF) {
		jp_error(p, "\\u%04x is not a valid Unicode character", *cp);
		return -1;
	} else if (*cp == 0) {
		/* Strings are C strings here; QEMU's modified UTF-8 is not. */
		jp_error(p, "\\u0000 is not supported");
		return -1;
	}
	return 0;
}

/* p->pos at the opening quote.  Returns a malloc'd UTF-8 string. */
static char *jp_string(struct json_parser *p)
{
	const unsigned char *s = p->s;
	size_t start = ++p->pos, end = start;
	/* First pass: find the closing quote, so the output (never longer
	 * than the input: escapes only shrink) can be allocated once. */
	while (end < p->len && s[end] != '"')
		end += s[end] == '\\' ? 2 : 1;
	if (end >= p->len) {
		jp_error(p, "unterminated string");
		return NULL;
	}
	char *out = malloc(end - start + 1);
	size_t o = 0;
	if (!out) {
		jp_error(p, "out of memory");
		return NULL;
	}
	while (p->pos < end) {
		unsigned char c = s[p->pos];
		if (c < 0x20) {
			jp_error(p, "control character in string");
			goto fail;
		}
		if (c != '\\') {
			size_t n = jp_utf8_len(s + p->pos, end - p->pos);
			if (n == 0) {
				jp_error(p, "invalid UTF-8 sequence in string");
				goto fail;
			}
			memcpy(out + o, s + p->pos, n);
			o += n;
			p->pos += n;
			continue;
		}
		p->pos++;
		unsigned cp;
		switch (s[p->pos]) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (jp_unicode_escape(p, &cp) != 0)
				goto fail;
			o += jp_put_utf8(out + o, cp);
			continue;
		default:
			jp_error(p, "invalid escape sequence in string");
			goto fail;
		}
		out[o++] = (char)cp;
		p->pos++;
	}
	if (p->pos != end) { /* an escape ran over the closing quote */
		jp_error(p, "invalid \\u escape");
		goto fail;
	}
	p->pos = end + 1;
	out[o] = '\0';
	return out;
fail:
	free(out);
	return NULL;
}

#define JP_MAX_NUMBER 128

static struct json *jp_number(struct json_parser *p)
{
	const unsigned char *s = p->s;
	size_t st = p->pos, i = st;
	bool is_int = true;
	if (i < p->len && s[i] == '-')
		i++;
	if (i < p->len && s[i] == '0') {
		i++;
	} else if (i < p->len && s[i] >= '1' && s[i] <= '9') {
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		jp_error(p, "expecting value");
		return NULL;
	}
	if (i < p->len && s[i] == '.') {
		is_int = false;
		if (++i >= p->len || s[i] < '0' || s[i] > '9') {
			jp_error(p, "invalid number");
			return NULL;
		}
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
		is_int = false;
		i++;
		if (i < p->len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= p->len || s[i] < '0' || s[i] > '9') {
			jp_error(p, "invalid number");
			return NULL;
		}
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i - st >= JP_MAX_NUMBER) {
		jp_error(p, "number too long");
		return NULL;
	}
	char buf[JP_MAX_NUMBER];
	memcpy(buf, s + st, i - st);
	buf[i - st] = '\0';
	p->pos = i;
	if (is_int) {
		errno = 0;
		long long v = strtoll(buf, NULL, 10);
		if (errno == 0)
			return json_new_int(v);
		/* Out of int64 range: a double, as QEMU does. */
	}
	double d = strtod(buf, NULL);
	if (!isfinite(d)) {
		jp_error(p, "number out of range");
		return NULL;
	}
	return json_new_double(d);
}

static int jp_key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Small objects are checked on insert; big ones once, sorted, so a
 * hostile object with thousands of members is not quadratic. */
#define JP_LINEAR_DUP_MAX 16

static bool jp_has_dups(const struct json *o)
{
	size_t n = o->u.c.n;
	if (n <= JP_LINEAR_DUP_MAX)
		return false;
	char **k = malloc(n * sizeof(*k));
	if (!k)
		return true; /* fail closed */
	memcpy(k, o->u.c.keys, n * sizeof(*k));
	qsort(k, n, sizeof(*k), jp_key_cmp);
	bool dup = false;
	for (size_t i = 1; i < n && !dup; i++)
		dup = strcmp(k[i - 1], k[i]) == 0;
	free(k);
	return dup;
}

static struct json *jp_value(struct json_parser *p, int depth);

static struct json *jp_container(struct json_parser *p, int depth, bool obj)
{
	char close = obj ? '}' : ']';
	struct json *c = json_alloc(obj ? JSON_OBJECT : JSON_ARRAY);
	if (!c) {
		jp_error(p, "out of memory");
		return NULL;
	}
	p->pos++;
	jp_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return c;
	}
	for (;;) {
		char *key = NULL;
		jp_ws(p);
		if (obj) {
			if (p->pos >= p->len || p->s[p->pos] != '"') {
				jp_error(p, "expecting value");
				goto fail;
			}
			if (!(key = jp_string(p)))
				goto fail;
			if (c->u.c.n < JP_LINEAR_DUP_MAX && json_get(c, key)) {
				free(key);
				jp_error(p, "duplicate key");
				goto fail;
			}
			jp_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':') {
				free(key);
				jp_error(p, "missing : in object pair");
				goto fail;
			}
			p->pos++;
		}
		struct json *v = jp_value(p, depth + 1);
		if (!v) {
			free(key);
			goto fail;
		}
		if (json_push(c, key, v) != 0) {
			jp_error(p, "out of memory");
			goto fail;
		}
		jp_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			break;
		}
		jp_error(p, obj ? "expected separator in dict" : "expected separator in list");
		goto fail;
	}
	if (obj && jp_has_dups(c)) {
		jp_error(p, "duplicate key");
		goto fail;
	}
	return c;
fail:
	json_free(c);
	return NULL;
}

static struct json *jp_value(struct json_parser *p, int depth)
{
	if (depth > JSON_MAX_DEPTH) {
		jp_error(p, "nesting too deep");
		return NULL;
	}
	jp_ws(p);
	if (p->pos >= p->len) {
		jp_error(p, "expecting value");
		return NULL;
	}
	struct json *v;
	switch (p->s[p->pos]) {
	case '{':
		return jp_container(p, depth, true);
	case '[':
		return jp_container(p, depth, false);
	case '"':
		return json_new_str_owned(jp_string(p));
	case 't':
		v = jp_literal(p, "true") ? json_new_bool(true) : NULL;
		break;
	case 'f':
		v = jp_literal(p, "false") ? json_new_bool(false) : NULL;
		break;
	case 'n':
		v = jp_literal(p, "null") ? json_new_null() : NULL;
		break;
	default:
		return jp_number(p);
	}
	if (!v)
		jp_error(p, "expecting value");
	return v;
}

struct json *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct json_parser p = {
		.s = (const unsigned char *)text, .len = len, .err = err, .errlen = errlen,
	};
	if (err && errlen)
		err[0] = '\0';
	if (len > JSON_MAX_INPUT) {
		jp_error(&p, "input too large");
		return NULL;
	}
	struct json *v = jp_value(&p, 1);
	if (!v) {
		jp_error(&p, "out of memory"); /* no-op if a message is set */
		return NULL;
	}
	jp_ws(&p);
	if (p.pos != len) {
		json_free(v);
		jp_error(&p, "trailing characters after value");
		return NULL;
	}
	return v;
}
