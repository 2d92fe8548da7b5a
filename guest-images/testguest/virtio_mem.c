/* testguest.action=virtio-mem: the guest side of virtio-mem (virtio 1.2
 * §5.15) on virtio-mmio, polled: find device id 24, bring it up with one
 * request queue, say "virtio-mem waiting", then follow requested_size
 * from the config space:
 *   - grow: PLUG blocks from the start of the region up to
 *     requested_size, write and read the first and last quadword of each
 *     request's range; ask for one block more than requested and expect
 *     NACK; "virtio-mem plugged 0x... nack ok";
 *   - shrink: UNPLUG the top blocks down to requested_size; UNPLUG a
 *     block never plugged and expect ERROR; "virtio-mem unplugged to
 *     0x... error ok";
 * and end through debug-exit once requested_size is back to 0.
 * testguest.action=virtio-mem-pci: the same on a virtio-mem-pci that
 * arrives by PCIe native hot-plug behind the first hot-plug capable
 * Root Port (hotplug.c's "hotplug waiting on 00:NN"), as Kata adds it;
 * "virtio-mem pci 01:00.0" once it is bound. */
#include "guest.h"
#include "vring.h"

#define MMIO_BASE 0xd0000000ull
#define MMIO_SLOTS 8
#define CFG 0x100
#define SPIN 2000000000u

static struct vdesc desc[VRING_QSZ] __attribute__((aligned(16)));
static struct vavail avail __attribute__((aligned(2)));
static struct vused used __attribute__((aligned(4)));
static struct __attribute__((packed)) {
	uint16_t type, pad[3];
	uint64_t addr;
	uint16_t nb, pad2[3];
} rq;
static struct __attribute__((packed)) {
	uint16_t type, pad[3];
	uint16_t state;
} rs;
static uint16_t next;
/* The transport: where the device config is, how to notify. */
static uint64_t vm_cfg, vm_notify;
static bool vm_pci;

static uint64_t cfg64(uint64_t b, unsigned off)
{
	(void)b;
	return mmio_read32(vm_cfg + off) | (uint64_t)mmio_read32(vm_cfg + off + 4) << 32;
}

/* One request; the response type, or 0xffff on a timeout. */
static unsigned vmem_req(uint64_t b, uint16_t type, uint64_t addr, uint16_t nb)
{
	rq.type = type;
	rq.addr = addr;
	rq.nb = nb;
	rs.type = 0xffff;
	desc[0] = (struct vdesc){ (uintptr_t)&rq, sizeof(rq), VRING_DESC_F_NEXT, 1 };
	desc[1] = (struct vdesc){ (uintptr_t)&rs, sizeof(rs), VRING_DESC_F_WRITE, 0 };
	avail.ring[next % VRING_QSZ] = 0;
	barrier();
	avail.idx = ++next;
	barrier();
	if (vm_pci)
		mmio_write16(vm_notify, 0);
	else
		mmio_write32(b + 0x50, 0);
	for (unsigned long i = 0; i < 50000000ul; i++) {
		barrier();
		if (*(volatile uint16_t *)&used.idx == next)
			return rs.type;
	}
	return 0xffff;
}

static uint64_t vmem_find(void)
{
	for (unsigned i = 0; i < MMIO_SLOTS; i++) {
		uint64_t b = MMIO_BASE + i * 0x1000ull;
		if (mmio_read32(b) == 0x74726976 && mmio_read32(b + 4) == 2 &&
		    mmio_read32(b + 8) == 24)
			return b;
	}
	return 0;
}

static unsigned vmem_follow(uint64_t b);

unsigned virtio_mem_action(void)
{
	uint64_t b = vmem_find();
	if (!b) {
		say("virtio-mem FAIL no device\n");
		return 1;
	}
	mmio_write32(b + 0x70, 0);
	mmio_write32(b + 0x70, 1 | 2);
	mmio_write32(b + 0x14, 1);                /* device features word 1 */
	if (!(mmio_read32(b + 0x10) & 1))
		return 1;
	mmio_write32(b + 0x24, 0);
	mmio_write32(b + 0x20, 1);                /* ACPI_PXM */
	mmio_write32(b + 0x24, 1);
	mmio_write32(b + 0x20, 1);                /* VERSION_1 */
	mmio_write32(b + 0x70, 1 | 2 | 8);
	if (!(mmio_read32(b + 0x70) & 8) || vring_setup_mmio(b, 0, desc, &avail, &used) < 0) {
		say("virtio-mem FAIL setup\n");
		return 1;
	}
	avail.flags = 1;                          /* we poll */
	mmio_write32(b + 0x70, 1 | 2 | 4 | 8);
	vm_cfg = b + CFG;
	return vmem_follow(b);
}

/* Follow requested_size as above; failures. */
static unsigned vmem_follow(uint64_t b)
{
	uint64_t bs = cfg64(b, 0), base = cfg64(b, 16);
	say("virtio-mem waiting\n");
	uint64_t plugged = 0;
	int grown = 0;
	for (unsigned long i = 0; i < SPIN; i++) {
		uint64_t req = cfg64(b, 48);
		if (req > plugged) {
			uint64_t n = (req - plugged) / bs;
			if (n > 64)
				n = 64;
			uint64_t a = base + plugged;
			if (vmem_req(b, 0, a, (uint16_t)n) != 0) {
				say("virtio-mem FAIL plug\n");
				return 1;
			}
			volatile uint64_t *lo = (volatile uint64_t *)(uintptr_t)a;
			volatile uint64_t *hi = (volatile uint64_t *)(uintptr_t)(a + n * bs - 8);
			*lo = a ^ 0x5a5a;
			*hi = a ^ 0xa5a5;
			if (*lo != (a ^ 0x5a5a) || *hi != (a ^ 0xa5a5)) {
				say("virtio-mem FAIL rw\n");
				return 1;
			}
			plugged += n * bs;
			if (plugged == req) {
				unsigned r = vmem_req(b, 0, base + plugged, 1);
				say("virtio-mem plugged ");
				con_hex(plugged);
				con_puts(r == 1 ? " nack ok\n" : " nack FAIL\n");
				if (r != 1)
					return 1;
				grown = 1;
			}
		} else if (req < plugged) {
			uint64_t n = (plugged - req) / bs;
			if (n > 64)
				n = 64;
			if (vmem_req(b, 1, base + plugged - n * bs, (uint16_t)n) != 0) {
				say("virtio-mem FAIL unplug\n");
				return 1;
			}
			plugged -= n * bs;
			if (plugged == req) {
				unsigned r = vmem_req(b, 1, base + plugged, 1);
				say("virtio-mem unplugged to ");
				con_hex(plugged);
				con_puts(r == 3 ? " error ok\n" : " error FAIL\n");
				if (r != 3)
					return 1;
				if (!plugged && grown)
					return 0;
			}
		}
	}
	say("virtio-mem FAIL timeout\n");
	return 1;
}

unsigned virtio_mem_pci_action(void)
{
	unsigned port, cap;
	uint64_t nxt, limit, st;
	if (hp_port_wait(&port, &cap, &nxt, &limit) < 0)
		return 1;
	unsigned dev = 1u << 5;                 /* bus 1, device 0 */
	uint32_t id = pci_read32(dev, 0, 0);
	if (id != 0x10581af4u || hp_assign_bars(dev, &nxt, limit) != 0) {
		say("virtio-mem FAIL no virtio-mem-pci or no room for its BARs\n");
		return 1;
	}
	/* avail.flags before the device may look: we poll. */
	avail.flags = 1;
	int r = vpci_setup_queue(dev, 0, 0, VRING_QSZ, desc, &avail, &used, &vm_notify, &st);
	vm_cfg = vpci_device_cfg(dev, 0);
	if (r < 0 || !vm_cfg) {
		say("virtio-mem FAIL pci setup\n");
		return 1;
	}
	vm_pci = true;
	say("virtio-mem pci 01:00.0\n");
	return vmem_follow(0);
}
