/* AML byte-code emitter: buffer, PkgLength, names, data and named objects.
 * Opcodes are from ACPI 6.4 §20.3 (AML Byte Stream Byte Values). */
#include "aml.h"

#include <stdlib.h>
#include <string.h>

#define AML_OP_NAME 0x08
#define AML_OP_BYTE 0x0a
#define AML_OP_WORD 0x0b
#define AML_OP_DWORD 0x0c
#define AML_OP_STRING 0x0d
#define AML_OP_QWORD 0x0e
#define AML_OP_SCOPE 0x10
#define AML_OP_BUFFER 0x11
#define AML_OP_PACKAGE 0x12
#define AML_OP_METHOD 0x14
#define AML_DUAL_NAME 0x2e
#define AML_MULTI_NAME 0x2f
#define AML_EXT_PREFIX 0x5b
#define AML_EXT_REGION 0x80
#define AML_EXT_FIELD 0x81
#define AML_EXT_DEVICE 0x82
#define AML_OP_LOCAL0 0x60
#define AML_OP_ARG0 0x68
#define AML_OP_STORE 0x70
#define AML_OP_IF 0xa0
#define AML_OP_ELSE 0xa1
#define AML_OP_RETURN 0xa4

/* §20.2.4: a PkgLength can describe at most 2^28 - 1 bytes. */
#define AML_PKGLEN_MAX ((1u << 28) - 1)

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

static bool aml_reserve(struct aml *a, size_t n)
{
	if (a->err)
		return false;
	if (n > AML_PKGLEN_MAX || a->len + n > AML_PKGLEN_MAX) {
		a->err = true;
		return false;
	}
	if (a->len + n <= a->cap)
		return true;
	size_t cap = a->cap ? a->cap : 256;
	while (cap < a->len + n)
		cap *= 2;
	uint8_t *p = realloc(a->buf, cap);
	if (!p) {
		a->err = true;
		return false;
	}
	a->buf = p;
	a->cap = cap;
	return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (n == 0 || !aml_reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

void aml_le16(struct aml *a, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	aml_bytes(a, b, sizeof(b));
}

void aml_le32(struct aml *a, uint32_t v)
{
	aml_le16(a, (uint16_t)v);
	aml_le16(a, (uint16_t)(v >> 16));
}

void aml_le64(struct aml *a, uint64_t v)
{
	aml_le32(a, (uint32_t)v);
	aml_le32(a, (uint32_t)(v >> 32));
}

unsigned aml_pkglen_encode_raw(size_t v, uint8_t out[4])
{
	/* One byte holds 6 bits; otherwise bits 7-6 of the lead byte count
	 * the following bytes, its low nibble holds bits 3-0 of the value. */
	if (v <= 0x3f) {
		out[0] = (uint8_t)v;
		return 1;
	}
	unsigned n;
	if (v < (1u << 12))
		n = 2;
	else if (v < (1u << 20))
		n = 3;
	else if (v <= AML_PKGLEN_MAX)
		n = 4;
	else
		return 0;
	out[0] = (uint8_t)(((n - 1) << 6) | (v & 0x0f));
	for (unsigned i = 1; i < n; i++)
		out[i] = (uint8_t)(v >> (4 + 8 * (i - 1)));
	return n;
}

unsigned aml_pkglen_encode(size_t body, uint8_t out[4])
{
	/* The encoded length counts its own bytes, so pick the smallest
	 * width n for which body + n still fits in n bytes; the raw encoder
	 * then yields exactly n bytes, since body + n is past the previous
	 * width's limit. */
	static const size_t limit[5] = { 0, 0x3f, (1u << 12) - 1,
					 (1u << 20) - 1, AML_PKGLEN_MAX };
	for (unsigned n = 1; n <= 4; n++)
		if (body + n <= limit[n])
			return aml_pkglen_encode_raw(body + n, out);
	return 0;
}

size_t aml_pkg_begin(struct aml *a)
{
	return a->len;
}

void aml_end(struct aml *a, size_t mark)
{
	if (a->err)
		return;
	if (mark > a->len) {
		a->err = true;
		return;
	}
	uint8_t enc[4];
	unsigned n = aml_pkglen_encode(a->len - mark, enc);
	if (n == 0 || !aml_reserve(a, n))
		return;
	memmove(a->buf + mark + n, a->buf + mark, a->len - mark);
	memcpy(a->buf + mark, enc, n);
	a->len += n;
}

static bool aml_seg_char(char c, bool first)
{
	if ((c >= 'A' && c <= 'Z') || c == '_')
		return true;
	return !first && c >= '0' && c <= '9';
}

void aml_name(struct aml *a, const char *path)
{
	if (!path || !*path) {
		a->err = true;
		return;
	}
	if (*path == '\\')
		aml_byte(a, (uint8_t)*path++);
	else
		while (*path == '^')
			aml_byte(a, (uint8_t)*path++);

	char segs[255][4];
	unsigned nseg = 0;
	while (*path) {
		if (nseg == 255) {
			a->err = true;
			return;
		}
		unsigned k = 0;
		while (*path && *path != '.') {
			if (k == 4 || !aml_seg_char(*path, k == 0)) {
				a->err = true;
				return;
			}
			segs[nseg][k++] = *path++;
		}
		if (k == 0) {
			a->err = true;
			return;
		}
		while (k < 4)
			segs[nseg][k++] = '_';
		nseg++;
		if (*path == '.' && !*++path) {
			a->err = true; /* trailing dot */
			return;
		}
	}
	/* §20.2.2: NullName, a bare NameSeg, DualNamePrefix or
	 * MultiNamePrefix SegCount. */
	if (nseg == 0) {
		aml_byte(a, 0x00);
		return;
	}
	if (nseg == 2)
		aml_byte(a, AML_DUAL_NAME);
	else if (nseg > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)nseg);
	}
	aml_bytes(a, segs, 4 * (size_t)nseg);
}

void aml_int(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_byte(a, AML_ZERO);
	else if (v == 1)
		aml_byte(a, AML_ONE);
	else if (v == UINT64_MAX)
		aml_byte(a, AML_ONES);
	else if (v <= 0xff) {
		aml_byte(a, AML_OP_BYTE);
		aml_byte(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_OP_WORD);
		aml_le16(a, (uint16_t)v);
	} else if (v <= 0xffffffffu) {
		aml_byte(a, AML_OP_DWORD);
		aml_le32(a, (uint32_t)v);
	} else {
		aml_byte(a, AML_OP_QWORD);
		aml_le64(a, v);
	}
}

void aml_dword(struct aml *a, uint32_t v)
{
	aml_byte(a, AML_OP_DWORD);
	aml_le32(a, v);
}

void aml_string(struct aml *a, const char *s)
{
	/* §20.2.3: String := StringPrefix AsciiCharList NullChar, with
	 * AsciiChar 0x01-0x7F. */
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p > 0x7f) {
			a->err = true;
			return;
		}
	aml_byte(a, AML_OP_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

void aml_eisaid(struct aml *a, const char *id)
{
	/* §19.6.35 EISAID: three uppercase letters packed 5 bits each,
	 * then four hex digits, stored big-endian in a DWord. */
	if (!id || strlen(id) != 7) {
		a->err = true;
		return;
	}
	for (int i = 0; i < 3; i++)
		if (id[i] < 'A' || id[i] > 'Z') {
			a->err = true;
			return;
		}
	char *end;
	unsigned long prod = strtoul(id + 3, &end, 16);
	if (*end) {
		a->err = true;
		return;
	}
	uint16_t vendor = (uint16_t)(((id[0] - 0x40) << 10) |
				     ((id[1] - 0x40) << 5) | (id[2] - 0x40));
	uint8_t b[4] = { (uint8_t)(vendor >> 8), (uint8_t)vendor,
			 (uint8_t)(prod >> 8), (uint8_t)prod };
	aml_byte(a, AML_OP_DWORD);
	aml_bytes(a, b, 4);
}

void aml_buffer(struct aml *a, const void *data, size_t n)
{
	aml_byte(a, AML_OP_BUFFER);
	size_t m = aml_pkg_begin(a);
	aml_int(a, n);
	aml_bytes(a, data, n);
	aml_end(a, m);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int aml_uuid_bytes(const char *s, uint8_t out[16])
{
	/* Textual order aabbccdd-eeff-gghh-iijj-kkllmmnnoopp; the first three
	 * groups are little-endian in memory (ACPI 6.4 §19.6.145 ToUUID). */
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
					   8, 9, 10, 11, 12, 13, 14, 15 };
	uint8_t raw[16];
	unsigned n = 0;
	if (!s || strlen(s) != 36)
		return -1;
	for (unsigned i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		raw[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	for (unsigned i = 0; i < 16; i++)
		out[order[i]] = raw[i];
	return 0;
}

void aml_uuid(struct aml *a, const char *uuid)
{
	uint8_t b[16];
	if (aml_uuid_bytes(uuid, b) < 0) {
		a->err = true;
		return;
	}
	aml_buffer(a, b, sizeof(b));
}

void aml_name_decl(struct aml *a, const char *name)
{
	aml_byte(a, AML_OP_NAME);
	aml_name(a, name);
}

void aml_name_int(struct aml *a, const char *name, uint64_t v)
{
	aml_name_decl(a, name);
	aml_int(a, v);
}

void aml_name_string(struct aml *a, const char *name, const char *s)
{
	aml_name_decl(a, name);
	aml_string(a, s);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_name_decl(a, name);
	aml_eisaid(a, id);
}

size_t aml_scope_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_OP_SCOPE);
	size_t m = aml_pkg_begin(a);
	aml_name(a, name);
	return m;
}

size_t aml_device_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_EXT_DEVICE);
	size_t m = aml_pkg_begin(a);
	aml_name(a, name);
	return m;
}

size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs,
			bool serialized)
{
	/* §20.2.5.2 MethodFlags: bits 0-2 ArgCount, bit 3 SerializeFlag. */
	if (nargs > 7)
		a->err = true;
	aml_byte(a, AML_OP_METHOD);
	size_t m = aml_pkg_begin(a);
	aml_name(a, name);
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
	return m;
}

size_t aml_package_begin(struct aml *a, unsigned nelems)
{
	if (nelems > 255)
		a->err = true;
	aml_byte(a, AML_OP_PACKAGE);
	size_t m = aml_pkg_begin(a);
	aml_byte(a, (uint8_t)nelems);
	return m;
}

size_t aml_if_begin(struct aml *a)
{
	aml_byte(a, AML_OP_IF);
	return aml_pkg_begin(a);
}

size_t aml_else_begin(struct aml *a)
{
	aml_byte(a, AML_OP_ELSE);
	return aml_pkg_begin(a);
}

void aml_arg(struct aml *a, unsigned n)
{
	if (n > 6)
		a->err = true;
	aml_byte(a, (uint8_t)(AML_OP_ARG0 + (n & 7)));
}

void aml_local(struct aml *a, unsigned n)
{
	if (n > 7)
		a->err = true;
	aml_byte(a, (uint8_t)(AML_OP_LOCAL0 + (n & 7)));
}

void aml_null_target(struct aml *a)
{
	aml_byte(a, 0x00);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_OP_RETURN);
}

void aml_store(struct aml *a)
{
	aml_byte(a, AML_OP_STORE);
}

void aml_op(struct aml *a, enum aml_op op)
{
	aml_byte(a, (uint8_t)op);
}

void aml_opregion(struct aml *a, const char *name, uint8_t space,
		  uint64_t offset, uint64_t len)
{
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_EXT_REGION);
	aml_name(a, name);
	aml_byte(a, space);
	aml_int(a, offset);
	aml_int(a, len);
}

void aml_field1(struct aml *a, const char *region, const char *elem,
		uint64_t bits)
{
	/* §20.2.5.2 FieldFlags: AccessType bits 0-3 (1 = ByteAcc), LockRule
	 * bit 4 (0 = NoLock), UpdateRule bits 5-6 (0 = Preserve). */
	uint8_t enc[4];
	unsigned n = aml_pkglen_encode_raw(bits, enc);
	if (n == 0 || strlen(elem) != 4) {
		a->err = true;
		return;
	}
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_EXT_FIELD);
	size_t m = aml_pkg_begin(a);
	aml_name(a, region);
	aml_byte(a, 0x01);
	aml_name(a, elem); /* a NameSeg: exactly four characters */
	aml_bytes(a, enc, n);
	aml_end(a, m);
}
