/* Private to core/snapshot*.c: record kinds and little-endian helpers. */
#ifndef VMM_CORE_SNAPSHOT_INT_H
#define VMM_CORE_SNAPSHOT_INT_H

#include <stddef.h>
#include <stdint.h>

/* Record kinds (docs/snapshot.md "Records"). */
enum {
	SNAP_K_U8 = 1,
	SNAP_K_U16 = 2,
	SNAP_K_U32 = 3,
	SNAP_K_U64 = 4,
	SNAP_K_BYTES = 5,
	SNAP_K_SECTION = 6,
};

static inline void snap_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void snap_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t snap_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t snap_get64(const uint8_t *p)
{
	return (uint64_t)snap_get32(p) | (uint64_t)snap_get32(p + 4) << 32;
}

uint64_t snap_stream_sum(const uint8_t *buf, size_t len);

#endif
