/* The test guest: checks, one line each on COM1, what a VMM must get
 * right for a kernel to boot, then ends through the debug-exit port
 * (isa-debug-exit,iobase=0xf4): 0x10 when every check passed (the VMM
 * exits 33), 0x11 when one failed (35).  Without a debug-exit device it
 * powers off through the ACPI PM block instead.
 *
 * Lines (tests/integration/test_kvm_*.sh check them):
 *   testguest: hello, pvh start_info 0x... cmdline '...'
 *   testguest: e820 N entries, ram 0x... bytes
 *   testguest: rtc YYYY-MM-DD hh:mm:ss
 *   testguest: irq handover ...                  (irq.c: what Linux meets
 *   testguest: irq ioapic pin 2 pit ...           at its first sti)
 *   testguest: pit irq0 N ticks
 *   testguest: pci BB:DD.F vvvv:dddd            (one per function)
 *   testguest: pci-bridge 00:DD.F bus BB         (it numbered a bridge)
 *   testguest: msix BB:DD.F N | none            (virtio functions: table size)
 *   testguest: pci N functions                   (all buses)
 *   testguest: cpuid pmu version V counters N    (leaf 0xA; 0 0 = no PMU)
 *   testguest: virtio-blk mmio 0x... sector0 '...'
 *   testguest: virtio-blk pci BB:DD.F sector0 '...'
 *   testguest: virtio-blk pci-legacy BB:DD.F sector0 '...'  (I/O BAR 0 only)
 *   testguest: virtio-scsi pci BB:DD.F target T lun 0 'VENDOR  PRODUCT' ua AASQ sector0 '...'
 *   testguest: virtio-scsi mmio 0x... target T lun 0 '...' ua AASQ sector0 '...'
 *   testguest: nvdimm 0x... size 0x... sig '...'  (and the lines of nvdimm.c)
 *   testguest: done, N failed
 *
 * With "testguest.action=X" on the command line it ends differently,
 * right after the hello line, so the VMM's lifecycle paths get tested:
 *   reboot       i8042 command 0xFE (pulse the reset line)
 *   triplefault  an exception with no usable IDT
 *   poweroff     ACPI soft-off through the PM block
 *   spin         nothing more (the VMM is stopped from outside)
 *   nvdimm       only the nvdimm lines, then the debug-exit as above
 *   hotplug      the guest side of PCIe hot-plug (hotplug.c), then the
 *                debug-exit as above
 *   snapwait     "snap ready", a byte on COM1, debug-exit (snap.c); the
 *                byte 'r' resets through the i8042 instead
 *   snap         every check, with a save and restore in the middle
 *                (snap.c): "snap ready", then it waits for a byte on
 *                COM1; the checks go on in the restored VM
 *   vsock        virtio-vsock over virtio-mmio (vsock.c), then the
 *                debug-exit as above
 *   shpc         the guest side of SHPC hot-plug on a pci-bridge
 *                (shpc.c), then the debug-exit as above
 *   scsihp       the guest side of virtio-scsi LUN hot-plug (scsi_hp.c),
 *                then the debug-exit as above
 *   cpuhp        the guest side of vCPU hot-plug (cpuhp.c, options in
 *                testguest.cpuhp=), then the debug-exit as above
 *   net-mq       virtio-net multiqueue (vnet.c), then spin
 *   memhp        the guest side of ACPI memory hot-plug (memhp.c), then
 *                the debug-exit as above
 *   virtio-mem   the guest side of virtio-mem on virtio-mmio
 *                (virtio_mem.c), then the debug-exit as above
 *   virtio-mem-pci  the same on a virtio-mem-pci hot-added behind a
 *                Root Port (virtio_mem.c)
 *   fs-dimm      virtio-fs READ into a hot-added DIMM (virtiofs.c)
 * With "console=hvc0" (Kata's command line) and no debug-exit device, the
 * lines are replayed on the virtconsole instead of powering off (hvc.c).
 * "testguest.nvdimm-write=TEXT" writes TEXT at the start of the first
 * nvdimm and writes its flush hints, right after the hello line (before
 * any action), and prints what it reads back.
 * and for benchmarks, before anything else (no console output at all):
 *   exit         debug-exit 0x10 at once (startup cost)
 *   pio:N        N writes to port 0x80, then debug-exit 0x10 (exit cost) */
#include "guest.h"

#define DEBUG_EXIT 0xf4
#define ACPI_PM 0x600
#define VIRTIO_MMIO_BASE 0xd0000000ull
#define VIRTIO_MMIO_SLOTS 8

extern void irq0_stub(void);
extern void irq_other_stub(void);
extern char irq_vector_stubs[];   /* start.S: irq.c's counting stubs */
extern void exc_stub(void);
volatile uint64_t pit_ticks;

static unsigned failed;
static void check_blk_extra(void);
static uint8_t sector[512] __attribute__((aligned(16)));

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;
	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

/* ---- checks ---- */

static void check_start_info(const struct start_info *si)
{
	say("hello, pvh start_info ");
	con_hex((uintptr_t)si);
	con_puts(" cmdline ");
	if (si->magic == START_INFO_MAGIC && si->cmdline_paddr)
		con_text((const uint8_t *)(uintptr_t)si->cmdline_paddr, 200);
	else
		con_puts("''");
	con_puts("\n");
	if (si->magic != START_INFO_MAGIC) {
		say("FAIL bad start_info magic\n");
		failed++;
		return;
	}
	uint64_t ram = 0;
	const struct memmap_entry *m = (const void *)(uintptr_t)si->memmap_paddr;
	for (uint32_t i = 0; si->version >= 1 && i < si->memmap_entries; i++)
		if (m[i].type == 1)
			ram += m[i].size;
	say("e820 ");
	con_dec(si->memmap_entries);
	con_puts(" entries, ram ");
	con_hex(ram);
	con_puts(" bytes\n");
	if (si->memmap_entries == 0 || ram == 0)
		failed++;
}

static uint8_t cmos(uint8_t idx)
{
	outb(0x70, idx);
	return inb(0x71);
}

/* MC146818A: read outside the update cycle (UIP clear), BCD or binary
 * as register B says. */
static void check_rtc(void)
{
	for (unsigned i = 0; i < 1000000 && (cmos(0x0a) & 0x80); i++)
		;
	uint8_t b = cmos(0x0b);
	uint8_t v[7] = { cmos(0x00), cmos(0x02), cmos(0x04), cmos(0x07),
			 cmos(0x08), cmos(0x09), cmos(0x32) };
	unsigned n[7];
	for (int i = 0; i < 7; i++)
		n[i] = (b & 0x04) ? v[i] : (unsigned)((v[i] >> 4) * 10 + (v[i] & 15));
	if (!(b & 0x02) && (v[2] & 0x80))   /* 12-hour mode, PM */
		n[2] = (n[2] & 0x7f) % 12 + 12;
	unsigned year = n[6] * 100 + n[5];
	say("rtc ");
	con_dec(year);
	con_putc('-');
	con_dec2(n[4]);
	con_putc('-');
	con_dec2(n[3]);
	con_putc(' ');
	con_dec2(n[2]);
	con_putc(':');
	con_dec2(n[1]);
	con_putc(':');
	con_dec2(n[0]);
	con_puts("\n");
	if (year < 2000 || n[4] < 1 || n[4] > 12 || n[3] < 1 || n[3] > 31)
		failed++;
}

static struct idt_gate idt[256] __attribute__((aligned(16)));

static void idt_set(unsigned v, void (*fn)(void))
{
	idt_gate_set(&idt[v], (const void *)fn);
}

/* 8259 (ICW1-4, vectors 0x20/0x28, only IRQ0 unmasked) and the 8254's
 * channel 0 in mode 2 at 1 kHz.  The in-kernel LAPIC takes the 8259's
 * output through LINT0 in ExtINT mode.  Poll, never hlt. */
static void check_pit(void)
{
	for (unsigned v = 0; v < 32; v++)
		idt_set(v, exc_stub);
	for (unsigned v = 0x20; v < 0x30; v++)
		idt_set(v, irq_other_stub);
	idt_set(0x20, irq0_stub);
	/* Vectors check_irq() used: one of its interrupts may still reach
	 * the CPU now -- the in-kernel PIT injects from its own thread, so
	 * a tick it raised just before check_ioapic_pit() masked pin 2 can
	 * arrive after that check's drain (QEMU's PIT, which re-injects
	 * lost ticks, did so in about 1 run in 12).  irq.c's stubs take it
	 * and EOI the LAPIC; a missing gate would be a #NP. */
	for (unsigned v = 0x30; v < 256; v++)
		idt_gate_set(&idt[v], irq_vector_stubs + 16 * v);
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } d = {
		sizeof(idt) - 1, (uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(d));
	outb(0x20, 0x11); outb(0xa0, 0x11);
	outb(0x21, 0x20); outb(0xa1, 0x28);
	outb(0x21, 0x04); outb(0xa1, 0x02);
	outb(0x21, 0x01); outb(0xa1, 0x01);
	outb(0x21, 0xfe); outb(0xa1, 0xff);
	outb(0x43, 0x34);               /* ch0, lobyte/hibyte, mode 2 */
	outb(0x40, 1193 & 0xff);
	outb(0x40, 1193 >> 8);
	__asm__ volatile("sti");
	for (unsigned long i = 0; i < 40000000ul && pit_ticks < 3; i++)
		barrier();
	__asm__ volatile("cli");
	outb(0x21, 0xff);
	say("pit irq0 ");
	con_dec(pit_ticks);
	con_puts(" ticks\n");
	if (pit_ticks < 3)
		failed++;
}

static void check_blk_result(int r)
{
	if (r == 0) {
		con_puts(" sector0 ");
		con_text(sector, 48);
		con_puts("\n");
	} else {
		con_puts(" FAIL step ");
		con_dec((uint64_t)-r);
		con_puts("\n");
		failed++;
	}
}

/* The MSI-X table size of a function (PCI 3.0 §6.8.2.3: Message Control
 * bits 10:0 are N-1), found on its capability list, or "none". */
static void say_msix(unsigned bus, unsigned slot, unsigned fn, unsigned dev)
{
	say("msix ");
	con_hexn(bus, 2);
	con_putc(':');
	con_hexn(slot, 2);
	con_putc('.');
	con_hexn(fn, 1);
	unsigned cap = (pci_read16(dev, fn, 0x06) & 0x10) ? pci_read8(dev, fn, 0x34) : 0;
	for (unsigned n = 0; cap >= 0x40 && n < 48; n++) {
		if (pci_read8(dev, fn, cap) == 0x11) {
			con_puts(" ");
			con_dec((pci_read16(dev, fn, cap + 2) & 0x7ff) + 1u);
			con_puts("\n");
			return;
		}
		cap = pci_read8(dev, fn, cap + 1) & 0xfc;
	}
	con_puts(" none\n");
}

/* The rest of a virtio-scsi line: target, INQUIRY vendor/product, the
 * unit attention TEST UNIT READY reported, block 0 (or the failed step). */
static void scsi_result(int r, const uint8_t *inq, unsigned target, uint16_t ua)
{
	if (r == 0) {
		con_puts(" target ");
		con_dec(target);
		con_puts(" lun 0 ");
		con_text(inq + 8, 24);
		con_puts(" ua ");
		con_hexn(ua, 4);
	}
	check_blk_result(r);
}

static void check_scsi(unsigned bus, unsigned slot, unsigned fn, unsigned dev)
{
	uint8_t inq[36];
	unsigned target = 0;
	uint16_t ua = 0;
	memset(sector, 0, sizeof(sector));
	say("virtio-scsi pci ");
	con_hexn(bus, 2);
	con_putc(':');
	con_hexn(slot, 2);
	con_putc('.');
	con_hexn(fn, 1);
	int r = vscsi_read_pci(dev, fn, inq, sector, &target, &ua);
	scsi_result(r, inq, target, ua);
}

/* Scan one bus; devices are numbered bus << 5 | slot, which the 0xCF8
 * address takes as is (bus in bits 23:16, device in 15:11).  Bridges
 * found on bus 0 are numbered here, as firmware does before the OS
 * (PCI-to-PCI Bridge 1.2 §3.2.5.2-5): primary 0, secondary = subordinate
 * = the next free bus, in slot order; their windows stay as the VMM's
 * resource assignment left them. */
static unsigned scan_bus(unsigned bus, unsigned *next_bus)
{
	unsigned n = 0;
	for (unsigned slot = 0; slot < 32; slot++) {
		unsigned dev = bus << 5 | slot;
		for (unsigned fn = 0; fn < 8; fn++) {
			uint32_t id = pci_read32(dev, fn, 0);
			if ((id & 0xffff) == 0xffff) {
				if (fn == 0)
					break;
				continue;
			}
			n++;
			say("pci ");
			con_hexn(bus, 2);
			con_putc(':');
			con_hexn(slot, 2);
			con_putc('.');
			con_hexn(fn, 1);
			con_putc(' ');
			con_hexn(id & 0xffff, 4);
			con_putc(':');
			con_hexn(id >> 16, 4);
			con_puts("\n");
			if ((id & 0xffff) == 0x1af4)
				say_msix(bus, slot, fn, dev);
			if (id == 0x10031af4u)      /* virtio-serial, legacy id */
				hvc_found(dev, fn);
			/* virtio-blk: modern (0x1042) or transitional /
			 * legacy (0x1001).  The modern interface when there is
			 * one (Linux's choice), else the legacy I/O BAR. */
			int legacy = id == 0x10011af4u && !vblk_pci_has_modern(dev, fn);
			if (id == 0x10421af4u || id == 0x10011af4u) {
				memset(sector, 0, sizeof(sector));
				say(legacy ? "virtio-blk pci-legacy " : "virtio-blk pci ");
				con_hexn(bus, 2);
				con_putc(':');
				con_hexn(slot, 2);
				con_putc('.');
				con_hexn(fn, 1);
				check_blk_result(legacy ? vblk_read_pci_legacy(dev, fn, sector) :
						 vblk_read_pci(dev, fn, sector));
				check_blk_extra();
			}
			/* virtio-scsi: modern (0x1048) or transitional
			 * (0x1004) through its modern interface. */
			if (id == 0x10481af4u ||
			    (id == 0x10041af4u && vblk_pci_has_modern(dev, fn)))
				check_scsi(bus, slot, fn, dev);
			if (id == 0x105a1af4u)      /* virtio 1.x fs (26) */
				failed += check_virtio_fs(bus, dev, fn);
			/* Class 06.04 with a type 1 header: a PCI-to-PCI bridge. */
			if (bus == 0 && (pci_read32(dev, fn, 0x08) >> 16) == 0x0604 &&
			    (pci_read8(dev, fn, 0x0e) & 0x7f) == 1 && *next_bus < 256) {
				unsigned sec = (*next_bus)++;
				pci_write32(dev, fn, 0x18, sec << 16 | sec << 8);
				say("pci-bridge 00:");
				con_hexn(slot, 2);
				con_putc('.');
				con_hexn(fn, 1);
				con_puts(" bus ");
				con_hexn(pci_read8(dev, fn, 0x19), 2);
				con_puts("\n");
			}
			if (fn == 0 && !(pci_read8(dev, 0, 0x0e) & 0x80))
				break;          /* single-function device */
		}
	}
	return n;
}

static void check_pci(void)
{
	unsigned next_bus = 1;
	unsigned n = scan_bus(0, &next_bus);
	for (unsigned bus = 1; bus < next_bus; bus++)
		n += scan_bus(bus, &next_bus);
	say("pci ");
	con_dec(n);
	con_puts(" functions\n");
}

/* What the VMM says about the performance-monitoring unit: CPUID leaf
 * 0xA (Intel SDM vol. 2A): EAX[7:0] version, [15:8] general-purpose
 * counters per logical processor.  -cpu host,pmu=off makes both 0. */
static void check_cpuid_pmu(void)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	uint32_t max = a;
	a = 0;
	if (max >= 0xa)
		__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xa), "c"(0));
	say("cpuid pmu version ");
	con_dec(a & 0xff);
	con_puts(" counters ");
	con_dec((a >> 8) & 0xff);
	con_puts("\n");
}

static void check_virtio_mmio(void)
{
	for (unsigned i = 0; i < VIRTIO_MMIO_SLOTS; i++) {
		uint64_t base = VIRTIO_MMIO_BASE + 0x1000ull * i;
		if (mmio_read32(base) != 0x74726976u)   /* "virt" */
			continue;
		if (mmio_read32(base + 4) != 2)
			continue;                       /* v2 devices only */
		memset(sector, 0, sizeof(sector));
		if (mmio_read32(base + 8) == 8) {       /* SCSI host */
			uint8_t inq[36];
			unsigned target = 0;
			uint16_t ua = 0;
			say("virtio-scsi mmio ");
			con_hex(base);
			int r = vscsi_read_mmio(base, inq, sector, &target, &ua);
			scsi_result(r, inq, target, ua);
			continue;
		}
		if (mmio_read32(base + 8) != 2)
			continue;                       /* block devices */
		say("virtio-blk mmio ");
		con_hex(base);
		check_blk_result(vblk_read_mmio(base, sector));
	}
}

static bool hvc_wanted;   /* "console=hvc0": Kata's line, see hvc.c */

static void guest_exit(void)
{
	say("done, ");
	con_dec(failed);
	con_puts(" failed\n");
	outb(DEBUG_EXIT, failed ? 0x11 : 0x10);
	if (hvc_wanted)
		hvc_replay_forever();
	/* No debug-exit device: ACPI soft-off, hardware-reduced sleep
	 * control (SLP_TYP 5, SLP_EN) then PM1a_CNT (ACPI 6.4 §4.8.3). */
	outb(ACPI_PM + 0xc, (5 << 2) | 0x20);
	outw(ACPI_PM + 0x4, (5 << 10) | 0x2000);
}

/* The vhost-user tests' extras after a virtio-blk read. */
static void check_blk_extra(void)
{
	if (vblk_write_result) {
		say(vblk_write_result > 0 ? "virtio-blk wrote sector1\n" :
		    "virtio-blk write FAIL\n");
		failed += vblk_write_result < 0;
		vblk_write_result = 0;
	}
	if (vblk_flags & VBLK_WAIT_RESET) {
		say("virtio-blk waiting for needs-reset\n");
		if (vblk_wait_reset()) {
			say("virtio-blk needs-reset seen\n");
		} else {
			say("virtio-blk needs-reset FAIL\n");
			failed++;
		}
		vblk_flags &= ~VBLK_WAIT_RESET;
	}
}

/* The value of "key" in the command line, or NULL. */
static const char *cmdline_opt(const struct start_info *si, const char *key)
{
	if (si->magic != START_INFO_MAGIC || !si->cmdline_paddr)
		return NULL;
	const char *c = (const char *)(uintptr_t)si->cmdline_paddr;
	while (*c) {
		const char *k = key, *p = c;
		while (*k && *p == *k) {
			k++;
			p++;
		}
		if (!*k)
			return p;
		while (*c && *c != ' ')
			c++;
		while (*c == ' ')
			c++;
	}
	return NULL;
}

static bool word_is(const char *p, const char *w)
{
	while (*w && *p == *w) {
		p++;
		w++;
	}
	return !*w && (*p == 0 || *p == ' ');
}

static uint64_t parse_dec(const char *p)
{
	uint64_t v = 0;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	return v;
}

/* Benchmark actions: no output, straight to debug-exit. */
static void bench_action(const char *a)
{
	if (word_is(a, "exit"))
		outb(DEBUG_EXIT, 0x10);
	if (a[0] == 'b' && a[1] == 'l' && a[2] == 'k' && a[3] == 'r' &&
	    a[4] == 'a' && a[5] == 'n' && a[6] == 'd' && a[7] == ':') {
		/* The first virtio-blk on PCI bus 0 (vhost-user or ours). */
		vblk_bench_reads = (uint32_t)parse_dec(a + 8);
		for (unsigned slot = 0; slot < 32; slot++)
			if (pci_read32(slot, 0, 0) == 0x10421af4u) {
				int r = vblk_read_pci(slot, 0, sector);
				outb(DEBUG_EXIT, r == 0 ? 0x10 : 0x11);
			}
		outb(DEBUG_EXIT, 0x11);
	}
	if (a[0] == 'p' && a[1] == 'i' && a[2] == 'o' && a[3] == ':') {
		for (uint64_t n = parse_dec(a + 4); n; n--)
			outb(0x80, 0);     /* POST-code port: a pure exit */
		outb(DEBUG_EXIT, 0x10);
	}
}

static void do_action(const char *a)
{
	say("action ");
	for (const char *p = a; *p && *p != ' '; p++)
		con_putc(*p);
	con_puts("\n");
	if (word_is(a, "reboot")) {
		for (unsigned i = 0; i < 100000 && (inb(0x64) & 2); i++)
			;
		outb(0x64, 0xfe);
	} else if (word_is(a, "triplefault")) {
		struct __attribute__((packed)) { uint16_t limit; uint64_t base; } d = { 0, 0 };
		__asm__ volatile("lidt %0; int3" : : "m"(d));
	} else if (word_is(a, "poweroff")) {
		outb(ACPI_PM + 0xc, (5 << 2) | 0x20);
		outw(ACPI_PM + 0x4, (5 << 10) | 0x2000);
	}
	for (;;)
		barrier();     /* the VMM ends us */
}

/* testguest.cpuhp= for the cpuhp action (cpuhp.c). */
static const char *cpuhp_opt;
static unsigned cpuhp_run(void)
{
	return cpuhp_action(cpuhp_opt);
}

/* testguest.action=NAME that runs one feature's guest side (its own
 * file), counts its failures and ends through the debug-exit. */
static const struct {
	const char *name;
	unsigned (*run)(void);
} test_actions[] = {
	{ "cpuhp", cpuhp_run },
	{ "hotplug", hotplug_action },
	{ "vsock", vsock_action },
	{ "vsocksnap", vsock_snap_action },
	{ "shpc", shpc_action },
	{ "scsihp", scsihp_action },
	{ "memhp", memhp_action },
	{ "virtio-mem", virtio_mem_action },
	{ "virtio-mem-pci", virtio_mem_pci_action },
	{ "fs-dimm", fs_dimm_action },
	{ "hpsnap", hpsnap_action },
	{ "madt", madt_action },
};

const struct start_info *guest_si;

void guest_main(uint32_t start_info);
void guest_main(uint32_t start_info)
{
	const struct start_info *si = (const void *)(uintptr_t)start_info;
	guest_si = si;
	const char *action = cmdline_opt(si, "testguest.action=");
	const char *nvwrite = cmdline_opt(si, "testguest.nvdimm-write=");
	if (action)
		bench_action(action);
	if (cmdline_opt(si, "testguest.blk-write"))
		vblk_flags |= VBLK_WRITE;
	if (cmdline_opt(si, "testguest.snap-blk"))
		snap_blk = true;
	if (cmdline_opt(si, "testguest.blk-wait-reset"))
		vblk_flags |= VBLK_WAIT_RESET;
	if (cmdline_opt(si, "testguest.vhu-snap"))
		vblk_flags |= VBLK_SNAP;
	con_init();
	hvc_wanted = cmdline_opt(si, "console=hvc0") != NULL;
	check_start_info(si);
	if (action && word_is(action, "snapwait"))
		snap_wait_action();
	/* The nvdimm write comes first so that every lifecycle action
	 * below can end a VM whose shared nvdimm holds guest data. */
	if (nvwrite || (action && word_is(action, "nvdimm"))) {
		failed += check_nvdimm(si, nvwrite);
		if (action && word_is(action, "nvdimm")) {
			guest_exit();
			for (;;)
				barrier();     /* the VMM ends us */
		}
	}
	cpuhp_opt = cmdline_opt(si, "testguest.cpuhp=");
	if (action && word_is(action, "net-mq")) {
		failed += vnet_mq_action();
		say("done, ");
		con_dec(failed);
		con_puts(" failed\n");
		for (;;)
			barrier();     /* the host checks the tap, then stops us */
	}
	for (unsigned i = 0; action && i < sizeof(test_actions) / sizeof(test_actions[0]); i++) {
		if (!word_is(action, test_actions[i].name))
			continue;
		failed += test_actions[i].run();
		guest_exit();
		for (;;)
			barrier();     /* the VMM ends us */
	}
	bool snap = action && word_is(action, "snap");
	if (action && !snap)
		do_action(action);
	check_rtc();
	/* Before check_pit(), which programs the 8259s itself. */
	failed += check_irq(si);
	check_pit();
	if (snap)
		failed += snap_action();   /* snap.c: saved and restored here */
	check_pci();
	check_cpuid_pmu();
	check_virtio_mmio();
	failed += check_nvdimm(si, NULL);
	guest_exit();
}
