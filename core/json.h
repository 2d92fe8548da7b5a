/* A small strict JSON (RFC 8259) parser and writer for the QMP control
 * socket, where every byte comes from an untrusted client.
 *
 * Parsing is bounded: nesting depth (JSON_MAX_DEPTH), input size (the
 * caller's, checked against JSON_MAX_INPUT), number token length.  Strings
 * must be valid UTF-8 without raw control characters; \uXXXX escapes are
 * decoded to UTF-8, surrogate pairs combined, lone surrogates and \u0000
 * rejected (strings are C strings).  Duplicate object keys are an error,
 * as in QEMU's parser ("duplicate key").  Integers that fit int64 are kept
 * exact; other numbers become doubles; non-finite results are rejected.
 *
 * Writing produces QEMU's style (", " and ": " separators) and pure ASCII:
 * non-ASCII characters are escaped as \uXXXX (surrogate pairs above
 * U+FFFF), so the output is safe to put on any line-based channel. */
#ifndef VMM_CORE_JSON_H
#define VMM_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 32
#define JSON_MAX_INPUT (1u << 20)

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_INT,    /* fits int64_t */
	JSON_DOUBLE, /* had a fraction/exponent, or out of int64 range */
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json;

/* Parse exactly one value from text[0..len) (whitespace around it is
 * allowed, anything else after it is an error).  text need not be
 * NUL-terminated.  Returns NULL with a message in err (QEMU-like wording,
 * e.g. "expecting value", "duplicate key") on failure. */
struct json *json_parse(const char *text, size_t len, char *err, size_t errlen);
void json_free(struct json *v);

enum json_type json_type(const struct json *v);
const char *json_type_name(enum json_type t);
bool json_get_bool(const struct json *v);      /* false unless JSON_BOOL */
int64_t json_get_int(const struct json *v);    /* 0 unless JSON_INT */
double json_get_double(const struct json *v);  /* INT converted; 0 otherwise */
const char *json_get_str(const struct json *v); /* NULL unless JSON_STRING */

/* Arrays and objects: element count and i-th element (NULL if out of
 * range); objects also give the i-th key.  Members keep input order. */
size_t json_len(const struct json *v);
struct json *json_at(const struct json *v, size_t i);
const char *json_key_at(const struct json *v, size_t i);
/* Object member by key, NULL if absent or v is not an object. */
struct json *json_get(const struct json *v, const char *key);

/* Builders (for replies and tests).  Return NULL on allocation failure;
 * the add functions take ownership of val even when they fail. */
struct json *json_new_null(void);
struct json *json_new_bool(bool b);
struct json *json_new_int(int64_t i);
struct json *json_new_double(double d);
struct json *json_new_str(const char *s);
struct json *json_new_array(void);
struct json *json_new_object(void);
int json_array_add(struct json *arr, struct json *val);
int json_object_add(struct json *obj, const char *key, struct json *val);
/* Deep copy (depth-bounded like the parser); NULL on failure. */
struct json *json_clone(const struct json *v);

/* A growable output buffer.  Allocation failure latches `oom`; every later
 * append is a no-op, so callers check once at the end. */
struct json_buf {
	char *data; /* NUL-terminated when len > 0 */
	size_t len, cap;
	bool oom;
};

void json_buf_init(struct json_buf *b);
void json_buf_free(struct json_buf *b);
void json_buf_reset(struct json_buf *b);
void json_buf_put(struct json_buf *b, const void *data, size_t len);
void json_buf_puts(struct json_buf *b, const char *s);
void json_buf_printf(struct json_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (consumed output). */
void json_buf_consume(struct json_buf *b, size_t n);

/* Append s as a quoted, escaped JSON string (ASCII output; bytes that are
 * not valid UTF-8 are written as U+FFFD). */
void json_write_str(struct json_buf *b, const char *s);
/* Append the serialization of v.  Returns -1 (and writes nothing usable)
 * if v nests deeper than JSON_MAX_DEPTH or holds a non-finite double. */
int json_write(struct json_buf *b, const struct json *v);

#endif
