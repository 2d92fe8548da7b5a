/* Configuration errors the board would otherwise meet half-way through
 * building a machine, found first so the program can report them as what
 * they are (a configuration the user must change: exit status 2) and
 * before anything is created.  board_new() still checks all of it: this
 * runs the same rules early, it does not replace them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>

#include "core/layout.h"
#include "devices/acpi/acpi.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/pit.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "machine/board.h"
#include "machine/nvdimm_map.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

struct board_port_range {
	unsigned base, size;
	const char *what;
};

/* The port I/O the board claims besides the debug-exit device: the same
 * constants board_platform.c and the PCI host register with. */
static unsigned board_fixed_ports(const struct machine_config *cfg,
				  struct board_port_range *r)
{
	static const uint16_t com[CFG_MAX_SERIAL] = {
		SERIAL_COM1_BASE, SERIAL_COM2_BASE, 0x3e8, 0x2e8,
	};
	static const char *const com_name[CFG_MAX_SERIAL] = {
		"the serial port COM1", "the serial port COM2",
		"the serial port COM3", "the serial port COM4",
	};
	unsigned n = 0;
	r[n++] = (struct board_port_range){ PIT_PORT_BASE, PIT_NPORTS, "the PIT" };
	r[n++] = (struct board_port_range){ PIT_PORT61, 1, "the PIT's port 0x61" };
	r[n++] = (struct board_port_range){ I8042_DATA_PORT, 1, "the i8042" };
	r[n++] = (struct board_port_range){ I8042_CMD_PORT, 1, "the i8042" };
	r[n++] = (struct board_port_range){ RTC_PORT_BASE, RTC_NPORTS, "the RTC" };
	r[n++] = (struct board_port_range){ ACPI_PM_IO_BASE, ACPI_PM_IO_SIZE,
					    "the ACPI PM block" };
	if (cfg->machine.type == CFG_MACHINE_Q35) {
		r[n++] = (struct board_port_range){ 0xcf8, 8,
			"PCI configuration mechanism #1" };
		r[n++] = (struct board_port_range){ LAYOUT_PCI_IO_BASE,
			LAYOUT_PCI_IO_SIZE, "the PCI I/O window" };
	}
	for (unsigned i = 0; i < cfg->nserial && i < CFG_MAX_SERIAL; i++)
		if (cfg->serial[i].type != CFG_SERIAL_NONE)
			r[n++] = (struct board_port_range){ com[i], SERIAL_NREGS,
							    com_name[i] };
	return n;
}

static int board_check_ports(const struct machine_config *cfg, char *err,
			     size_t errlen)
{
	struct board_port_range r[16];
	unsigned n = board_fixed_ports(cfg, r);
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		if (d->type != CFG_DEV_ISA_DEBUG_EXIT)
			continue;
		unsigned base = d->iobase ? d->iobase : DEBUG_EXIT_DEFAULT_IOBASE;
		unsigned size = d->iosize ? d->iosize : DEBUG_EXIT_DEFAULT_IOSIZE;
		for (unsigned j = 0; j < n; j++)
			if (base < r[j].base + r[j].size && r[j].base < base + size) {
				snprintf(err, errlen, "vmm: -device isa-debug-exit: "
					 "ports 0x%x-0x%x overlap %s at 0x%x-0x%x "
					 "(accepted: a free iobase, e.g. 0xf4 or 0x501)",
					 base, base + size - 1, r[j].what, r[j].base,
					 r[j].base + r[j].size - 1);
				return -1;
			}
	}
	return 0;
}

/* -mem-path names a hugetlbfs mount (QEMU's use, and Kata's).  On any
 * other file system guest RAM would silently become an ordinary shared
 * file there, written back to that disk: refused, with what it is. */
static int board_check_mem_path(const struct machine_config *cfg, char *err,
				size_t errlen)
{
	const char *dir = cfg->mem.mem_path;
	if (!dir[0])
		return 0;
	struct statfs sfs;
	if (statfs(dir, &sfs) < 0) {
		snprintf(err, errlen, "vmm: -mem-path: '%s': %s", dir, strerror(errno));
		return -1;
	}
	if ((unsigned long)sfs.f_type != HUGETLBFS_MAGIC) {
		snprintf(err, errlen, "vmm: -mem-path: '%s' is not on hugetlbfs "
			 "(file system type 0x%lx; accepted: a hugetlbfs mount "
			 "such as /dev/hugepages)", dir, (unsigned long)sfs.f_type);
		return -1;
	}
	if (sfs.f_bsize > 0 && cfg->mem.size % (uint64_t)sfs.f_bsize) {
		snprintf(err, errlen, "vmm: -m: %llu MiB is not a multiple of "
			 "-mem-path '%s''s huge page size (%ld KiB)",
			 (unsigned long long)(cfg->mem.size >> 20), dir,
			 (long)(sfs.f_bsize >> 10));
		return -1;
	}
	return 0;
}

int board_check(const struct machine_config *cfg, bool files, char *err,
		size_t errlen)
{
	struct layout l;
	if (layout_build(&l, cfg, err, errlen) < 0 ||
	    board_check_ports(cfg, err, errlen) < 0)
		return -1;
	if (!files)
		return 0;
	if (cfg->machine.accel == CFG_ACCEL_KVM &&
	    board_check_mem_path(cfg, err, errlen) < 0)
		return -1;
	return nvdimm_map_check(cfg, &l, err, errlen);
}
