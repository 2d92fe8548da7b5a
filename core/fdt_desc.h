/* The machine description as a flattened device tree (libfdt), for
 * `-dump-dtb FILE` and the trace header: `dtc -I dtb -O dts FILE` prints
 * it.  x86 has no DT boot binding, so this is a description, not a boot
 * input; it follows the usual bindings where one exists:
 *
 *   /                 compatible "vmm,microvm" | "vmm,q35", vmm,name,
 *                     vmm,uuid (16 bytes), vmm,accel, vmm,seed (sim)
 *   /chosen           bootargs, vmm,kernel, vmm,initrd
 *   /cpus/cpu@N       one per boot vCPU (reg = APIC id); /cpus carries
 *                     vmm,maxcpus, vmm,sockets, vmm,cores, vmm,threads
 *   /memory@GPA       device_type "memory", one per RAM range
 *   /interrupt-controller@fec00000   "intel,ce4100-ioapic", phandle 1,
 *                     #interrupt-cells 2: <gsi type>, type 0 = edge
 *                     rising, 2 = level high (the ce4100 binding)
 *   /virtio_mmio@ADDR "virtio,mmio", reg, interrupts, vmm,device, vmm,id
 *   /pci@e0000000     "pci-host-ecam-generic" (q35); children at their
 *                     PCI address (reg phys.hi = bus<<16|dev<<11|fn<<8),
 *                     a pci-bridge's children nested under it
 *   /pmem@ADDR        "pmem-region" per nvdimm (the SPA range), vmm,memdev
 *   /isa              serial@i3f8 ("ns16550a"), rtc@i70, pit@i40,
 *                     isa-debug-exit; reg = <1 port size> (I/O space)
 *
 * Every device node has vmm,device (the -device model name), vmm,id when
 * it has one, and properties naming its backend (vmm,file, vmm,ifname,
 * local-mac-address, vmm,chardev ...). */
#ifndef VMM_CORE_FDT_DESC_H
#define VMM_CORE_FDT_DESC_H

#include <stddef.h>
#include "config.h"
#include "layout.h"

/* Enough for CFG_MAX_ITEMS of everything. */
#define FDT_DESC_MAX (256u << 10)

/* Build the tree into buf.  Returns its total size (> 0) or a negative
 * errno: -ENOSPC when size is too small, -EINVAL on a libfdt error. */
int fdt_desc_build(const struct machine_config *cfg, const struct layout *l,
		   void *buf, size_t size);

/* Build and write to path (-dump-dtb).  0, or -1 with a one-line message
 * naming the file and the error in err. */
int fdt_desc_dump(const struct machine_config *cfg, const struct layout *l,
		  const char *path, char *err, size_t errlen);

#endif
