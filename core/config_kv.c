/* The QEMU option-string tokenizer and the typed value parsers every
 * per-option parser uses, so that each kind of bad value gets the same
 * one-line message everywhere: the option, the bad value, what is
 * accepted. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "config_priv.h"

int cfg_error(struct cfg_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->err || c->errlen == 0)
		return -1;
	if (c->opt)
		n = snprintf(c->err, c->errlen, "vmm: %s: ", c->opt);
	else
		n = snprintf(c->err, c->errlen, "vmm: ");
	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* QEMU's opts syntax (util/qemu-option.c): items separated by ',', a
 * doubled ",," stands for one ',' inside a key or value. */
int cfg_kv_split(struct cfg_ctx *c, struct cfg_kvlist *l, const char *s,
		 const char *implied_key)
{
	size_t o = 0;
	const char *p = s;

	l->n = 0;
	if (!s || !*s)
		return cfg_error(c, "empty argument");
	while (*p) {
		char *item = l->buf + o;
		char *eq = NULL;

		if (l->n == CFG_KV_MAX)
			return cfg_error(c, "too many properties (at most %d)",
					 CFG_KV_MAX);
		while (*p) {
			if (*p == ',') {
				if (p[1] != ',')
					break;
				p++;  /* ",," -> ',' */
			}
			if (o + 2 >= CFG_KV_BUF)
				return cfg_error(c, "argument too long (at most %d bytes)",
						 CFG_KV_BUF - 2);
			if (*p == '=' && !eq)
				eq = l->buf + o;
			l->buf[o++] = *p++;
		}
		l->buf[o++] = '\0';
		if (*p == ',')
			p++;
		if (!*item)
			return cfg_error(c, "empty property in '%s'", s);
		if (eq) {
			*eq = '\0';
			if (!*item)
				return cfg_error(c, "property without a name in '%s'", s);
			l->kv[l->n].key = item;
			l->kv[l->n].val = eq + 1;
			l->kv[l->n].implied = false;
		} else if (l->n == 0 && implied_key) {
			l->kv[l->n].key = implied_key;
			l->kv[l->n].val = item;
			l->kv[l->n].implied = true;
		} else {
			l->kv[l->n].key = item;
			l->kv[l->n].val = NULL;
			l->kv[l->n].implied = false;
		}
		for (unsigned i = 0; i < l->n; i++)
			if (!strcmp(l->kv[i].key, l->kv[l->n].key))
				return cfg_error(c, "'%s' given twice", l->kv[i].key);
		l->n++;
	}
	return 0;
}

int cfg_unknown_key(struct cfg_ctx *c, const struct cfg_kv *kv,
		    const char *accepted)
{
	return cfg_error(c, "unknown property '%s' (accepted: %s)", kv->key,
			 accepted);
}

int cfg_need_val(struct cfg_ctx *c, const struct cfg_kv *kv)
{
	if (kv->val)
		return 0;
	return cfg_error(c, "'%s' needs a value (%s=...)", kv->key, kv->key);
}

/* "key='val'" or, for an implied key, just "'val'", as the user wrote it. */
static void what_val(char *buf, size_t len, const char *what, const char *val)
{
	if (what && *what)
		snprintf(buf, len, "%s='%s'", what, val);
	else
		snprintf(buf, len, "'%s'", val);
}

int cfg_bool(struct cfg_ctx *c, const struct cfg_kv *kv, bool *out)
{
	static const char *const on[] = { "on", "yes", "true" };
	static const char *const off[] = { "off", "no", "false" };
	char wv[320];

	if (!kv->val) {  /* bare "server" means server=on, as in QEMU */
		*out = true;
		return 0;
	}
	for (size_t i = 0; i < 3; i++) {
		if (!strcmp(kv->val, on[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(kv->val, off[i])) {
			*out = false;
			return 0;
		}
	}
	what_val(wv, sizeof(wv), kv->implied ? NULL : kv->key, kv->val);
	return cfg_error(c, "%s is not a boolean (accepted: on, off)", wv);
}

static int parse_u64(const char *s, uint64_t *out)
{
	int base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned d;

		if (isdigit((unsigned char)*s))
			d = (unsigned)(*s - '0');
		else if (base == 16 && isxdigit((unsigned char)*s))
			d = (unsigned)(tolower((unsigned char)*s) - 'a' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX - d) / (unsigned)base)
			return -ERANGE;
		v = v * (unsigned)base + d;
	}
	*out = v;
	return 0;
}

int cfg_uint(struct cfg_ctx *c, const char *what, const char *val,
	     uint64_t min, uint64_t max, uint64_t *out)
{
	char wv[320];
	uint64_t v = 0;
	int r;

	if (!val)
		return cfg_error(c, "'%s' needs a value", what);
	what_val(wv, sizeof(wv), what, val);
	r = parse_u64(val, &v);
	if (r == -EINVAL)
		return cfg_error(c, "%s is not a number (accepted: %llu-%llu)",
				 wv, (unsigned long long)min,
				 (unsigned long long)max);
	if (r == -ERANGE || v < min || v > max)
		return cfg_error(c, "%s is out of range (%llu-%llu)", wv,
				 (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int config_parse_size(const char *s, uint64_t unit, uint64_t *out)
{
	unsigned __int128 ip = 0, v;
	uint64_t fnum = 0, fden = 1, mul = unit ? unit : 1;
	bool frac = false;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		ip = ip * 10 + (unsigned)(*p - '0');
		if (ip > UINT64_MAX)
			return -ERANGE;
	}
	if (*p == '.') {
		frac = true;
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			if (fden >= 1000000000000000000ull)
				return -EINVAL;
			fnum = fnum * 10 + (unsigned)(*p - '0');
			fden *= 10;
		}
	}
	if (*p) {
		switch (toupper((unsigned char)*p)) {
		case 'B': mul = 1; break;
		case 'K': mul = 1ull << 10; break;
		case 'M': mul = 1ull << 20; break;
		case 'G': mul = 1ull << 30; break;
		case 'T': mul = 1ull << 40; break;
		case 'P': mul = 1ull << 50; break;
		case 'E': mul = 1ull << 60; break;
		default: return -EINVAL;
		}
		if (p[1])
			return -EINVAL;
	}
	/* A fraction of a byte is not a size (QEMU refuses it too). */
	if (frac && mul == 1)
		return -EINVAL;
	v = ip * mul + ((unsigned __int128)fnum * mul) / fden;
	if (v > UINT64_MAX)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

/* Shortest exact spelling of a size for messages: 4M, 512G, 4097. */
static void fmt_size(char *buf, size_t len, uint64_t v)
{
	static const char sfx[] = "KMGTPE";
	int i = -1;

	while (v && (v & 1023) == 0 && i < 5) {
		v >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)v, sfx[i]);
}

int cfg_size(struct cfg_ctx *c, const char *what, const char *val,
	     uint64_t unit, uint64_t min, uint64_t max, uint64_t *out)
{
	char wv[320], lo[32], hi[32];
	uint64_t v = 0;
	int r;

	if (!val)
		return cfg_error(c, "'%s' needs a value", what);
	what_val(wv, sizeof(wv), what, val);
	fmt_size(lo, sizeof(lo), min);
	fmt_size(hi, sizeof(hi), max);
	r = config_parse_size(val, unit, &v);
	if (r == -EINVAL)
		return cfg_error(c, "%s is not a size (accepted: NUMBER[K|M|G|T], %s-%s)",
				 wv, lo, hi);
	if (r == -ERANGE || v < min || v > max)
		return cfg_error(c, "%s is out of range (%s-%s)", wv, lo, hi);
	*out = v;
	return 0;
}

int cfg_str(struct cfg_ctx *c, const char *what, const char *val,
	    char *dst, size_t dstlen)
{
	size_t n;

	if (!val)
		return cfg_error(c, "'%s' needs a value", what);
	n = strlen(val);
	if (n == 0)
		return cfg_error(c, "%s is empty", what);
	if (n >= dstlen)
		return cfg_error(c, "%s is too long (%zu bytes, at most %zu)",
				 what, n, dstlen - 1);
	memcpy(dst, val, n + 1);
	return 0;
}

/* QEMU's id_wellformed(): a letter, then letters, digits, '-', '.', '_'. */
bool cfg_id_ok(const char *id)
{
	if (!isalpha((unsigned char)id[0]))
		return false;
	for (const char *p = id + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-._", *p))
			return false;
	return true;
}

int cfg_id(struct cfg_ctx *c, const char *what, const char *val, char *dst)
{
	if (cfg_str(c, what, val, dst, CFG_ID_MAX))
		return -1;
	if (!cfg_id_ok(dst))
		return cfg_error(c, "%s='%s' is not a valid id (accepted: a letter, then letters, digits, '-', '.', '_')",
				 what, val);
	return 0;
}
