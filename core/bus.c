/* I/O buses: a sorted table of non-overlapping ranges, looked up by binary
 * search on every access.  Unclaimed accesses behave like a PC's floating
 * bus (reads all ones, writes vanish), are counted, and are logged once per
 * address; the set of addresses already logged is bounded so a guest
 * probing the whole port space cannot make us allocate without limit. */
#include "bus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"

#define BUS_NAME_MAX 32
/* Distinct unclaimed addresses remembered for "log once"; past this the
 * rest share one rate limiter. */
#define BUS_UNCLAIMED_MEMORY 64

struct bus_range {
	uint64_t base, size;
	bus_access_fn fn;
	void *dev;
	char name[BUS_NAME_MAX];
};

struct bus {
	char name[BUS_NAME_MAX];
	struct log *log;
	struct bus_range *ranges; /* sorted by base, disjoint */
	size_t n, cap;
	uint64_t unclaimed;
	uint64_t seen[BUS_UNCLAIMED_MEMORY];
	unsigned nseen;
	struct log_rl unclaimed_rl;
	bus_observer_fn observer;
	void *observer_opaque;
};

struct bus *bus_new(const char *name, struct log *log)
{
	struct bus *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	snprintf(b->name, sizeof(b->name), "%s", name ? name : "bus");
	b->log = log;
	return b;
}

void bus_free(struct bus *bus)
{
	if (!bus)
		return;
	free(bus->ranges);
	free(bus);
}

const char *bus_name(const struct bus *bus)
{
	return bus->name;
}

/* Index of the first range with base > addr. */
static size_t bus_upper(const struct bus *b, uint64_t addr)
{
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t size,
		 bus_access_fn fn, void *dev, const char *name)
{
	const char *nm = name ? name : "?";
	uint64_t end = base + size;
	/* Ranges may not wrap; one ending exactly at 2^64 is refused too, so
	 * every end fits in 64 bits. */
	/* The caller reports the failure to the user; this line is detail
	 * for the log (info), so a bad command line prints one message. */
	if (size == 0 || end < base || !fn) {
		log_info(bus->log, "%s: cannot register '%s' at 0x%llx size 0x%llx: invalid range",
			bus->name, nm, (unsigned long long)base, (unsigned long long)size);
		return -EINVAL;
	}
	size_t pos = bus_upper(bus, base);
	const struct bus_range *clash = NULL;
	if (pos > 0 && bus->ranges[pos - 1].base + bus->ranges[pos - 1].size > base)
		clash = &bus->ranges[pos - 1];
	else if (pos < bus->n && bus->ranges[pos].base < end)
		clash = &bus->ranges[pos];
	if (clash) {
		log_info(bus->log,
			"%s: cannot register '%s' at 0x%llx-0x%llx: overlaps '%s' at 0x%llx-0x%llx",
			bus->name, nm, (unsigned long long)base,
			(unsigned long long)(end - 1), clash->name,
			(unsigned long long)clash->base,
			(unsigned long long)(clash->base + clash->size - 1));
		return -EEXIST;
	}
	if (bus->n == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
		(bus->n - pos) * sizeof(bus->ranges[0]));
	struct bus_range *r = &bus->ranges[pos];
	r->base = base;
	r->size = size;
	r->fn = fn;
	r->dev = dev;
	snprintf(r->name, sizeof(r->name), "%s", nm);
	bus->n++;
	return 0;
}

int bus_unregister(struct bus *bus, uint64_t base, void *dev)
{
	size_t pos = bus_upper(bus, base);
	if (pos == 0)
		return -ENOENT;
	struct bus_range *r = &bus->ranges[pos - 1];
	if (r->base != base || r->dev != dev)
		return -ENOENT;
	pos--;
	memmove(&bus->ranges[pos], &bus->ranges[pos + 1],
		(bus->n - pos - 1) * sizeof(bus->ranges[0]));
	bus->n--;
	return 0;
}

/* Info, not warn: guests probe for absent hardware all the time (Linux
 * walks the legacy serial/parallel/VGA ports at boot), which is normal and
 * should not be noise on stderr at the default level. */
static void bus_note_unclaimed(struct bus *b, uint64_t addr, unsigned len,
			       bool is_write)
{
	b->unclaimed++;
	for (unsigned i = 0; i < b->nseen; i++)
		if (b->seen[i] == addr)
			return;
	if (b->nseen < BUS_UNCLAIMED_MEMORY) {
		b->seen[b->nseen++] = addr;
		log_info(b->log, "%s: unclaimed %s of %u byte(s) at 0x%llx",
			 b->name, is_write ? "write" : "read", len,
			 (unsigned long long)addr);
		return;
	}
	log_rl(b->log, &b->unclaimed_rl, LOG_INFO,
	       "%s: unclaimed %s of %u byte(s) at 0x%llx", b->name,
	       is_write ? "write" : "read", len, (unsigned long long)addr);
}

int bus_access(struct bus *bus, uint64_t addr, void *data, unsigned len,
	       bool is_write)
{
	if (len == 0 || len > 8)
		return -EINVAL;
	int rc = -ENOENT;
	size_t pos = bus_upper(bus, addr);
	const struct bus_range *r = pos ? &bus->ranges[pos - 1] : NULL;
	/* Claimed only when the whole access is inside one range: a
	 * straddling access has no single owner to decode it. */
	if (r && addr - r->base < r->size && len <= r->size - (addr - r->base)) {
		rc = r->fn(r->dev, addr - r->base, data, len, is_write);
	} else {
		if (!is_write)
			memset(data, 0xff, len);
		bus_note_unclaimed(bus, addr, len, is_write);
	}
	if (bus->observer)
		bus->observer(bus->observer_opaque, bus, addr, data, len,
			      is_write, rc);
	return rc;
}

uint64_t bus_read(struct bus *bus, uint64_t addr, unsigned len)
{
	uint8_t b[8] = { 0 };
	if (len == 0 || len > 8)
		return ~0ull;
	bus_access(bus, addr, b, len, false);
	uint64_t v = 0;
	for (unsigned i = 0; i < len; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

void bus_write(struct bus *bus, uint64_t addr, unsigned len, uint64_t val)
{
	uint8_t b[8];
	if (len == 0 || len > 8)
		return;
	for (unsigned i = 0; i < len; i++)
		b[i] = (uint8_t)(val >> (8 * i));
	bus_access(bus, addr, b, len, true);
}

uint64_t bus_unclaimed_count(const struct bus *bus)
{
	return bus->unclaimed;
}

void bus_set_observer(struct bus *bus, bus_observer_fn fn, void *opaque)
{
	bus->observer = fn;
	bus->observer_opaque = opaque;
}
