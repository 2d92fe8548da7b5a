/* Inside core/json: the value representation, shared by the value
 * functions (json.c), the parser (json_parse.c) and the writer. */
#ifndef VMM_CORE_JSON_PRIV_H
#define VMM_CORE_JSON_PRIV_H

#include "json.h"

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

struct json *json_alloc(enum json_type t);
/* Append to an array (key NULL) or object; takes ownership of key and val
 * even on failure. */
int json_push(struct json *c, char *key, struct json *val);
/* Takes ownership of s (malloc'd) even on failure; NULL s gives NULL. */
struct json *json_new_str_owned(char *s);

#endif
