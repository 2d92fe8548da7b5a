/* JSON output: a growable buffer and the serializer.  The output style is
 * QEMU's (`{"a": 1, "b": [2, 3]}`), ASCII only, so clients written against
 * QEMU (Kata's govmm, libvirt, qmp-shell) see familiar text. */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_buf_init(struct json_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void json_buf_free(struct json_buf *b)
{
	free(b->data);
	json_buf_init(b);
}

void json_buf_reset(struct json_buf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->data)
		b->data[0] = '\0';
}

static bool json_buf_reserve(struct json_buf *b, size_t more)
{
	if (b->oom)
		return false;
	if (more > SIZE_MAX / 2 - b->len) {
		b->oom = true;
		return false;
	}
	size_t need = b->len + more + 1;
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d) {
		b->oom = true;
		return false;
	}
	b->data = d;
	b->cap = cap;
	return true;
}

void json_buf_put(struct json_buf *b, const void *data, size_t len)
{
	if (!json_buf_reserve(b, len))
		return;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void json_buf_puts(struct json_buf *b, const char *s)
{
	json_buf_put(b, s, strlen(s));
}

void json_buf_printf(struct json_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !json_buf_reserve(b, (size_t)n)) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void json_buf_consume(struct json_buf *b, size_t n)
{
	if (n >= b->len) {
		json_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

/* Decode one UTF-8 sequence (already validated by the parser for parsed
 * strings; host strings may be anything): returns its length and sets cp,
 * or returns 1 with cp = U+FFFD for an invalid byte. */
static size_t json_utf8_decode(const unsigned char *s, unsigned *cp)
{
	unsigned c = s[0];
	size_t n;
	unsigned min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xE0) == 0xC0) {
		n = 2, min = 0x80, *cp = c & 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3, min = 0x800, *cp = c & 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4, min = 0x10000, *cp = c & 0x07;
	} else {
		*cp = 0xFFFD;
		return 1;
	}
	for (size_t i = 1; i < n; i++) {
		/* A NUL terminator fails this test, so we never read past it. */
		if ((s[i] & 0xC0) != 0x80) {
			*cp = 0xFFFD;
			return 1;
		}
		*cp = (*cp << 6) | (s[i] & 0x3F);
	}
	if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) {
		*cp = 0xFFFD;
		return 1;
	}
	return n;
}

void json_write_str(struct json_buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	json_buf_put(b, "\"", 1);
	while (*s) {
		unsigned cp;
		s += json_utf8_decode(s, &cp);
		switch (cp) {
		case '"': json_buf_puts(b, "\\\""); continue;
		case '\\': json_buf_puts(b, "\\\\"); continue;
		case '\b': json_buf_puts(b, "\\b"); continue;
		case '\f': json_buf_puts(b, "\\f"); continue;
		case '\n': json_buf_puts(b, "\\n"); continue;
		case '\r': json_buf_puts(b, "\\r"); continue;
		case '\t': json_buf_puts(b, "\\t"); continue;
		default: break;
		}
		if (cp >= 0x20 && cp < 0x7F) {
			char ch = (char)cp;
			json_buf_put(b, &ch, 1);
		} else if (cp < 0x10000) {
			json_buf_printf(b, "\\u%04X", cp);
		} else {
			/* RFC 8259 §7: astral characters as a UTF-16 surrogate pair. */
			cp -= 0x10000;
			json_buf_printf(b, "\\u%04X\\u%04X", 0xD800 + (cp >> 10),
					0xDC00 + (cp & 0x3FF));
		}
	}
	json_buf_put(b, "\"", 1);
}

static int json_write_depth(struct json_buf *b, const struct json *v, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return -1;
	switch (json_type(v)) {
	case JSON_NULL:
		json_buf_puts(b, "null");
		return 0;
	case JSON_BOOL:
		json_buf_puts(b, json_get_bool(v) ? "true" : "false");
		return 0;
	case JSON_INT:
		json_buf_printf(b, "%lld", (long long)json_get_int(v));
		return 0;
	case JSON_DOUBLE: {
		double d = json_get_double(v);
		if (!isfinite(d))
			return -1;
		/* %.17g round-trips every double, as QEMU's writer does; unlike
		 * QEMU, an integral double keeps a ".0" so it reads back as a
		 * double (and -0.0 keeps its sign). */
		char num[32];
		snprintf(num, sizeof(num), "%.17g", d);
		json_buf_puts(b, num);
		if (!strpbrk(num, ".eE"))
			json_buf_puts(b, ".0");
		return 0;
	}
	case JSON_STRING:
		json_write_str(b, json_get_str(v));
		return 0;
	case JSON_ARRAY:
	case JSON_OBJECT:
		break;
	}
	bool obj = json_type(v) == JSON_OBJECT;
	json_buf_puts(b, obj ? "{" : "[");
	for (size_t i = 0; i < json_len(v); i++) {
		if (i)
			json_buf_puts(b, ", ");
		if (obj) {
			json_write_str(b, json_key_at(v, i));
			json_buf_puts(b, ": ");
		}
		if (json_write_depth(b, json_at(v, i), depth + 1) != 0)
			return -1;
	}
	json_buf_puts(b, obj ? "}" : "]");
	return 0;
}

int json_write(struct json_buf *b, const struct json *v)
{
	return json_write_depth(b, v, 1);
}
