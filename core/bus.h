/* Port-I/O and MMIO buses.
 *
 * One access callback type serves both: the device gets the offset inside
 * its registered range, a data buffer of len bytes (little-endian, as on
 * x86) and the direction.  A bus instance owns its region table; there are
 * no globals, so two machines can live in one process.
 *
 * An access nobody claims reads as all-ones and a write is dropped; both are
 * counted and logged once per address (bounded), never fatal. */
#ifndef VMM_CORE_BUS_H
#define VMM_CORE_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct log;

typedef int (*bus_access_fn)(void *dev, uint64_t offset, void *data,
			     unsigned len, bool is_write);

struct bus;

struct bus *bus_new(const char *name, struct log *log);
void bus_free(struct bus *bus);

/* Claim [base, base+size).  Returns 0; -EINVAL on zero size or a wrapping
 * range; -EEXIST on overlap (the log line names both devices); -ENOMEM. */
int bus_register(struct bus *bus, uint64_t base, uint64_t size,
		 bus_access_fn fn, void *dev, const char *name);
/* Release the range registered at exactly base by dev. 0 or -ENOENT. */
int bus_unregister(struct bus *bus, uint64_t base, void *dev);

/* Dispatch an access.  Returns the device's result, or -ENOENT when
 * unclaimed (reads then return all-ones).  An access that straddles the end
 * of a region is treated as unclaimed.  len is 1..8. */
int bus_access(struct bus *bus, uint64_t addr, void *data, unsigned len,
	       bool is_write);

/* Convenience for tests and the sim guest: little-endian values. */
uint64_t bus_read(struct bus *bus, uint64_t addr, unsigned len);
void bus_write(struct bus *bus, uint64_t addr, unsigned len, uint64_t val);

/* How many accesses hit no device since creation. */
uint64_t bus_unclaimed_count(const struct bus *bus);

/* Optional observer (trace record, the simulator's event log): called after
 * every access with the final data. */
typedef void (*bus_observer_fn)(void *opaque, const struct bus *bus,
				uint64_t addr, const void *data, unsigned len,
				bool is_write, int rc);
void bus_set_observer(struct bus *bus, bus_observer_fn fn, void *opaque);
const char *bus_name(const struct bus *bus);

#endif
