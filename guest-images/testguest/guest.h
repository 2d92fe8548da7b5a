/* The freestanding test guest: port and memory-mapped I/O, the serial
 * console, and the checks.  Plain integer code only (no SSE, no x87): on
 * nested hosts without VMX/SVM KVM emulates every guest instruction. */
#ifndef TESTGUEST_GUEST_H
#define TESTGUEST_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t mmio_read32(uint64_t a)
{
	return *(volatile uint32_t *)(uintptr_t)a;
}
static inline uint16_t mmio_read16(uint64_t a)
{
	return *(volatile uint16_t *)(uintptr_t)a;
}
static inline uint8_t mmio_read8(uint64_t a)
{
	return *(volatile uint8_t *)(uintptr_t)a;
}
static inline void mmio_write32(uint64_t a, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)a = v;
}
static inline void mmio_write16(uint64_t a, uint16_t v)
{
	*(volatile uint16_t *)(uintptr_t)a = v;
}
static inline void mmio_write8(uint64_t a, uint8_t v)
{
	*(volatile uint8_t *)(uintptr_t)a = v;
}
static inline void mmio_write64(uint64_t a, uint64_t v)
{
	mmio_write32(a, (uint32_t)v);
	mmio_write32(a + 4, (uint32_t)(v >> 32));
}
static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* Identity-mapped: the guest can reach this much physical memory. */
#define GUEST_MAPPED_TOP (64ull << 30)

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

void con_init(void);
void con_putc(char c);
void con_hexn(uint64_t v, int digits);   /* exactly `digits` hex digits */
void con_dec2(unsigned v);               /* two decimal digits */
void con_puts(const char *s);
void con_hex(uint64_t v);
void con_dec(uint64_t v);
/* "testguest: " + text, one line. */
void say(const char *s);
/* snap.c: the save/restore action; returns the failed checks. */
unsigned snap_action(void);
void snap_wait_action(void);
/* "snap ready", wait for a byte on COM1, "snap resumed". */
void snap_pause(void);
/* snap_blk.c: testguest.snap-blk, virtio-blk traffic across the save. */
extern bool snap_blk;
unsigned snapblk_start(void);
void snapblk_poll(void);
unsigned snapblk_finish(void);
/* 'printable prefix' of p, up to n bytes or the first NUL. */
void con_text(const uint8_t *p, unsigned n);

/* PVH hvm_start_info, version 1 (xen/include/public/arch-x86/hvm/start_info.h). */
#define START_INFO_MAGIC 0x336ec578u
struct start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

/* A 64-bit interrupt gate (SDM vol. 3 §6.14.1), code selector 0x08. */
struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};
static inline void idt_gate_set(struct idt_gate *g, const void *fn)
{
	uint64_t a = (uintptr_t)fn;
	*g = (struct idt_gate){ (uint16_t)a, 0x08, 0, 0x8e, (uint16_t)(a >> 16),
				(uint32_t)(a >> 32), 0 };
}

/* Interrupt delivery as handed over, then the PIT through the IOAPIC
 * (irq.c).  Returns the number of failures. */
/* ACPI tables (acpi.c): the table with signature sig through the RSDP
 * start_info names, or NULL; little-endian field reads. */
const uint8_t *acpi_table(const struct start_info *si, const char *sig);
bool acpi_sig_is(const uint8_t *p, const char *s);
uint64_t acpi_rd64(const uint8_t *p);
uint32_t acpi_rd32(const uint8_t *p);
uint16_t acpi_rd16(const uint8_t *p);
unsigned check_irq(const struct start_info *si);

/* NVDIMMs through the NFIT or e820 type 12 (nvdimm.c); with write_text,
 * write it to the first one and flush.  Returns the number of failures. */
unsigned check_nvdimm(const struct start_info *si, const char *write_text);

/* PCI configuration mechanism #1 (0xCF8/0xCFC). */
uint32_t pci_read32(unsigned dev, unsigned fn, unsigned off);
uint8_t pci_read8(unsigned dev, unsigned fn, unsigned off);
uint16_t pci_read16(unsigned dev, unsigned fn, unsigned off);
void pci_write16(unsigned dev, unsigned fn, unsigned off, uint16_t v);
void pci_write32(unsigned dev, unsigned fn, unsigned off, uint32_t v);
/* Memory BAR `bar`'s address (64-bit BARs whole), 0 for an I/O BAR. */
uint64_t pci_bar(unsigned dev, unsigned fn, unsigned bar);

/* virtio-blk: read sector 0 into buf (512 bytes).  0 or a negative step
 * number saying where it failed. */
int vblk_read_mmio(uint64_t base, uint8_t *buf);
int vblk_read_pci(unsigned dev, unsigned fn, uint8_t *buf);
/* virtio-scsi (scsi.c): INQUIRY (36 bytes into inq) on LUN 0 of the
 * first target 0-7 that has one, TEST UNIT READY (*ua: the unit
 * attention's asc/ascq it reported, 0 none), then READ(10) of block 0
 * into buf (512 bytes); *target says which.  0 or a negative step. */
int vscsi_read_pci(unsigned dev, unsigned fn, uint8_t *inq, uint8_t *buf,
		   unsigned *target, uint16_t *ua);
int vscsi_read_mmio(uint64_t base, uint8_t *inq, uint8_t *buf,
		    unsigned *target, uint16_t *ua);
/* The legacy interface (I/O BAR 0) of a transitional or legacy-only
 * function (virtio_legacy.c). */
int vblk_read_pci_legacy(unsigned dev, unsigned fn, uint8_t *buf);
int vblk_pci_has_modern(unsigned dev, unsigned fn);
/* testguest.blk-write / testguest.blk-wait-reset (vhost-user tests):
 * also write sector 1 (result 1 ok, negative step failed, 0 not tried);
 * leave the device live for vblk_wait_reset() (1: NEEDS_RESET seen). */
#define VBLK_WRITE 1
#define VBLK_WAIT_RESET 2
/* testguest.vhu-snap: saved and restored in the middle of a device's
 * session (blk: between the read and the write; virtio-fs: between the
 * read and the create), its rings live (tests/integration/
 * test_kvm_vhost_snapshot.sh). */
#define VBLK_SNAP 4
extern int vblk_flags, vblk_write_result;
/* testguest.action=blkrand:N: N 4 KiB random reads after sector 0. */
extern uint32_t vblk_bench_reads;
int vblk_wait_reset(void);
/* Bring a virtio-pci device up with one queue q of qsz entries at the
 * given rings (VERSION_1 only); its notify address and status register.
 * 0 or a negative step. */
int vpci_setup_queue(unsigned dev, unsigned fn, unsigned q, unsigned qsz,
		     const void *d, const void *a, const void *u,
		     uint64_t *notify, uint64_t *status_reg);
/* virtio-fs (virtiofs.c): FUSE_INIT, LOOKUP/OPEN/READ/RELEASE of
 * "hello.txt", then CREATE/WRITE/FSYNC/RELEASE of "fromguest.txt".
 * Prints its lines; returns the number of failures. */
unsigned check_virtio_fs(unsigned bus, unsigned dev, unsigned fn);

/* testguest.action=vsock (vsock.c): failures. */
unsigned vsock_action(void);
unsigned vsock_snap_action(void);   /* vsock.c: saved with a connection */
/* testguest.action=hotplug (hotplug.c): failures. */
unsigned hotplug_action(void);
/* testguest.action=cpuhp (cpuhp.c); opt: testguest.cpuhp= or NULL. */
unsigned cpuhp_action(const char *opt);
/* Give function dev (bus << 5 | slot) memory BARs from [*next, limit] and
 * turn on decode and bus mastering (hotplug.c).  0, or -1: no room. */
int hp_assign_bars(unsigned dev, uint64_t *next, uint64_t limit);
/* testguest.action=shpc (shpc.c): failures. */
unsigned shpc_action(void);
/* testguest.action=scsihp (scsi_hp.c): failures. */
unsigned scsihp_action(void);
/* vnet.c: testguest.action=net-mq (virtio-net multiqueue); failures. */
unsigned vnet_mq_action(void);
unsigned memhp_action(void);   /* memhp.c */
unsigned virtio_mem_action(void);   /* virtio_mem.c */
/* hvc.c: Kata's console (the virtconsole on a legacy virtio-serial). */
void hvc_capture(char c);
void hvc_found(unsigned dev, unsigned fn);
void hvc_replay_forever(void);

#endif
