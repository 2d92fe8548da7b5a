/* QEMU's modern ACPI CPU hot-plug register block (cpu_hotplug.h; QEMU
 * docs/specs/acpi_cpu_hotplug.rst).  Registers are decoded byte by byte,
 * so the AML's ByteAcc fields and a guest's DWORD accesses reach the same
 * state: the selector and the OST registers take each byte as it is
 * written, and the OST status write is complete when its top byte lands. */
#include "cpu_hotplug.h"

#include <errno.h>
#include <string.h>

#include "core/log.h"

void acpi_cpuhp_init(struct acpi_cpuhp *hp, unsigned n, const uint32_t *ids,
		     unsigned boot, struct log *log)
{
	memset(hp, 0, sizeof(*hp));
	hp->n = n < ACPI_CPUHP_MAX ? n : ACPI_CPUHP_MAX;
	hp->log = log;
	for (unsigned i = 0; i < hp->n; i++) {
		hp->slot[i].arch_id = ids ? ids[i] : i;
		hp->slot[i].enabled = hp->slot[i].fixed = i < boot;
	}
	/* "On QEMU start, 'CPU selector' is initialized to a valid value". */
	hp->selector = 0;
}

static void cpuhp_notify(struct acpi_cpuhp *hp)
{
	if (hp->notify)
		hp->notify(hp->opaque);
}

int acpi_cpuhp_plug(struct acpi_cpuhp *hp, unsigned index)
{
	if (index >= hp->n)
		return -ERANGE;
	struct acpi_cpuhp_slot *s = &hp->slot[index];
	if (s->enabled)
		return -EBUSY;
	s->enabled = true;
	s->inserting = true;
	s->removing = s->remove_pending = false;
	cpuhp_notify(hp);
	return 0;
}

int acpi_cpuhp_request_unplug(struct acpi_cpuhp *hp, unsigned index)
{
	if (index >= hp->n)
		return -ERANGE;
	struct acpi_cpuhp_slot *s = &hp->slot[index];
	if (!s->enabled)
		return -ENODEV;
	if (s->fixed)
		return -EPERM;
	/* Asked again before the guest ejected: the event is raised again,
	 * as QEMU 7.2 does (a guest that missed the first one may act on
	 * this one). */
	s->removing = s->remove_pending = true;
	cpuhp_notify(hp);
	return 0;
}

void acpi_cpuhp_unplugged(struct acpi_cpuhp *hp, unsigned index)
{
	if (index >= hp->n)
		return;
	struct acpi_cpuhp_slot *s = &hp->slot[index];
	s->enabled = s->inserting = s->removing = s->remove_pending = false;
}

bool acpi_cpuhp_enabled(const struct acpi_cpuhp *hp, unsigned index)
{
	return index < hp->n && hp->slot[index].enabled;
}

bool acpi_cpuhp_unplug_pending(const struct acpi_cpuhp *hp, unsigned index)
{
	return index < hp->n && hp->slot[index].remove_pending;
}

static void cpuhp_drop(struct acpi_cpuhp *hp, const char *why)
{
	if (hp->dropped++ == 0)
		log_warn(hp->log, "acpi-cpuhp: %s (selector %u), ignored", why,
			 hp->selector);
}

/* Command 0: select the first CPU from the selector on (wrapping) with an
 * insert or remove event; none: the selector stays. */
static void cpuhp_next_event(struct acpi_cpuhp *hp)
{
	for (unsigned k = 0; k < hp->n; k++) {
		unsigned i = (hp->selector + k) % hp->n;
		if (hp->slot[i].inserting || hp->slot[i].removing) {
			hp->selector = i;
			return;
		}
	}
}

static uint8_t cpuhp_status(const struct acpi_cpuhp_slot *s)
{
	return (uint8_t)((s->enabled ? ACPI_CPUHP_ENABLED : 0) |
			 (s->inserting ? ACPI_CPUHP_INSERT : 0) |
			 (s->removing ? ACPI_CPUHP_REMOVE : 0));
}

static uint8_t cpuhp_read_byte(const struct acpi_cpuhp *hp, unsigned off)
{
	const struct acpi_cpuhp_slot *s = &hp->slot[hp->selector];
	uint32_t data = 0;
	switch (off) {
	case ACPI_CPUHP_FLAGS_OFF:
		return cpuhp_status(s);
	case 0: case 1: case 2: case 3:
		return 0; /* command data 2: the APIC id's upper half is 0 */
	case 8: case 9: case 10: case 11:
		if (hp->cmd == ACPI_CPUHP_CMD_NEXT_EVENT)
			data = hp->selector;
		else if (hp->cmd == ACPI_CPUHP_CMD_ARCH_ID)
			data = s->arch_id;
		return (uint8_t)(data >> (8 * (off - 8)));
	default:
		return 0; /* reserved */
	}
}

static void cpuhp_control(struct acpi_cpuhp *hp, uint8_t v)
{
	unsigned i = hp->selector;
	struct acpi_cpuhp_slot *s = &hp->slot[i];
	if (v & ACPI_CPUHP_INSERT)
		s->inserting = false;
	if (v & ACPI_CPUHP_REMOVE)
		s->removing = false;
	if (v & ACPI_CPUHP_FW_EJECT)
		cpuhp_drop(hp, "eject hand-over to firmware (there is none)");
	if (!(v & ACPI_CPUHP_EJECT))
		return;
	/* _EJ0: only a removal device_del asked for completes. */
	if (!s->enabled || s->fixed || !s->remove_pending) {
		cpuhp_drop(hp, "eject of a CPU nobody asked to remove");
		return;
	}
	if (hp->eject)
		hp->eject(hp->opaque, i);
	else
		acpi_cpuhp_unplugged(hp, i);
}

static void cpuhp_write_byte(struct acpi_cpuhp *hp, unsigned off, uint8_t v)
{
	if (off < 4) {
		unsigned sh = 8 * off;
		hp->selector = (hp->selector & ~(0xffu << sh)) | (uint32_t)v << sh;
		return;
	}
	/* Other registers only act on a possible CPU (acpi_cpu_hotplug.rst:
	 * writes are ignored until a valid selector is stored). */
	if (hp->selector >= hp->n) {
		cpuhp_drop(hp, "selector out of range");
		return;
	}
	switch (off) {
	case ACPI_CPUHP_FLAGS_OFF:
		cpuhp_control(hp, v);
		break;
	case ACPI_CPUHP_CMD_OFF:
		hp->cmd = v;
		if (v == ACPI_CPUHP_CMD_NEXT_EVENT)
			cpuhp_next_event(hp);
		break;
	case 8: case 9: case 10: case 11: {
		unsigned sh = 8 * (off - 8);
		uint32_t mask = ~(0xffu << sh), b = (uint32_t)v << sh;
		if (hp->cmd == ACPI_CPUHP_CMD_OST_EVENT) {
			hp->ost_event = (hp->ost_event & mask) | b;
		} else if (hp->cmd == ACPI_CPUHP_CMD_OST_STATUS) {
			hp->ost_status = (hp->ost_status & mask) | b;
			if (off == 11 && hp->ost)
				hp->ost(hp->opaque, hp->selector, hp->ost_event,
					hp->ost_status);
		}
		break;
	}
	default:
		break; /* reserved: ignored */
	}
}

int acpi_cpuhp_access(void *dev, uint64_t offset, void *data, unsigned len,
		      bool is_write)
{
	struct acpi_cpuhp *hp = dev;
	uint8_t *b = data;
	if (offset >= ACPI_CPUHP_IO_SIZE || len > ACPI_CPUHP_IO_SIZE - offset)
		return -1;
	for (unsigned i = 0; i < len; i++) {
		unsigned off = (unsigned)offset + i;
		if (is_write)
			cpuhp_write_byte(hp, off, b[i]);
		else
			b[i] = hp->selector < hp->n ? cpuhp_read_byte(hp, off) : 0;
	}
	return 0;
}
