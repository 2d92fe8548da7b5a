/* The strict JSON parser (RFC 8259).  See json.h for the limits.
 * Recursion is bounded by JSON_MAX_DEPTH, checked before descending, so a
 * hostile "[[[[..." costs one error, not a stack. */
#include "json_priv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
