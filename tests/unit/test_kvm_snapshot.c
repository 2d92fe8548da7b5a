/* KVM vCPU, irqchip and clock state through a snapshot stream
 * (kvm/kvm_snapshot.h) on the real /dev/kvm (skipped without it): what one
 * VM saves, a fresh VM loads and reads back the same; and a hostile stream
 * (a field out of range, a size this host does not use, a vCPU of
 * another shape, an MSR KVM does not list) is refused with one line naming
 * the field, before KVM sees it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "tests/unit/skip.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/snapshot.h"
#include "kvm/kvm_int.h"
#include "kvm/kvm_snapshot.h"

#define NEED_KVM()                                                     \
	do {                                                           \
		if (access("/dev/kvm", R_OK | W_OK) != 0)              \
			SKIP_BECAUSE("no usable /dev/kvm");            \
	} while (0)

/* A VM with one vCPU (APIC id `apic`), CPUID as the backend sets it. */
struct vm1 {
	struct kvm_vm vm;
	int fd;
};

static void vm1_new(struct vm1 *v, const struct kvm_sys *sys, uint32_t apic)
{
	char err[256];
	assert_int_equal(kvm_vm_create(&v->vm, sys, NULL, err, sizeof(err)), 0);
	v->fd = ioctl(v->vm.fd, KVM_CREATE_VCPU, (unsigned long)apic);
	assert_true(v->fd >= 0);
	unsigned max = sys->cpuid->nent + 8;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + max * sizeof(c->entries[0]));
	struct kvm_topo t = { 1, 1, 1, false };
	int n = kvm_cpuid_for_vcpu(sys->cpuid->entries, sys->cpuid->nent,
				   c->entries, max, &t, 0);
	assert_true(n > 0);
	c->nent = (uint32_t)n;
	assert_int_equal(ioctl(v->fd, KVM_SET_CPUID2, c), 0);
	free(c);
	kvm_msr_setup(v->fd, sys->msrs, NULL);
}

static void vm1_free(struct vm1 *v)
{
	close(v->fd);
	kvm_vm_destroy(&v->vm);
}

struct fix {
	struct kvm_sys sys;
	struct vm1 a, b;
	bool tsc_writable;
};

static uint64_t read_tsc(int fd)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[1];
	} m;
	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 1;
	m.e[0].index = 0x10;
	assert_int_equal(ioctl(fd, KVM_GET_MSRS, &m), 1);
	return m.e[0].data;
}

static int setup(void **state)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		*state = NULL;
		return 0;
	}
	struct fix *f = calloc(1, sizeof(*f));
	char err[256];
	assert_int_equal(kvm_sys_open(&f->sys, err, sizeof(err)), 0);
	vm1_new(&f->a, &f->sys, 0);
	vm1_new(&f->b, &f->sys, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	if (!f)
		return 0;
	vm1_free(&f->a);
	vm1_free(&f->b);
	kvm_sys_close(&f->sys);
	free(f);
	return 0;
}

/* Distinct values in A: registers, a pending-interrupt state, an 8259
 * mask, a TSC and a KVM clock far from B's. */
static void dirty_a(struct fix *f)
{
	struct kvm_regs r;
	assert_int_equal(ioctl(f->a.fd, KVM_GET_REGS, &r), 0);
	r.rax = 0x1122334455667788ull;
	r.r15 = 0xfeedull;
	r.rip = 0x100000;
	r.rflags = 0x202;
	assert_int_equal(ioctl(f->a.fd, KVM_SET_REGS, &r), 0);
	struct kvm_msrs *m = calloc(1, sizeof(*m) + sizeof(m->entries[0]));
	m->nmsrs = 1;
	m->entries[0].index = 0x10;   /* IA32_TSC */
	m->entries[0].data = 5000000000ull;
	assert_int_equal(ioctl(f->a.fd, KVM_SET_MSRS, m), 1);
	free(m);
	uint64_t t = read_tsc(f->a.fd);
	f->tsc_writable = t >= 5000000000ull && t < 5000000000ull + (60ull << 32);
	struct kvm_irqchip c;
	memset(&c, 0, sizeof(c));
	c.chip_id = KVM_IRQCHIP_PIC_MASTER;
	assert_int_equal(ioctl(f->a.vm.fd, KVM_GET_IRQCHIP, &c), 0);
	c.chip.pic.imr = 0x5a;
	assert_int_equal(ioctl(f->a.vm.fd, KVM_SET_IRQCHIP, &c), 0);
	struct kvm_clock_data cd;
	memset(&cd, 0, sizeof(cd));
	cd.clock = 7ull << 40;
	assert_int_equal(ioctl(f->a.vm.fd, KVM_SET_CLOCK, &cd), 0);
}

static uint8_t *save_a(struct fix *f, size_t *len)
{
	char err[256];
	struct snap_w *w = snap_w_new();
	assert_int_equal(kvm_snap_cpu_save(f->a.fd, &f->sys, 0, 0, w, err, sizeof(err)), 0);
	assert_int_equal(kvm_snap_vm_save(&f->a.vm, w, err, sizeof(err)), 0);
	const uint8_t *buf;
	assert_int_equal(snap_w_finish(w, &buf, len), 0);
	uint8_t *copy = malloc(*len);
	memcpy(copy, buf, *len);
	snap_w_free(w);
	return copy;
}

static void test_roundtrip(void **state)
{
	struct fix *f = *state;
	if (!f)
		SKIP_BECAUSE("no usable /dev/kvm");
	dirty_a(f);
	size_t len;
	uint8_t *buf = save_a(f, &len);
	char err[256];
	struct snap_r *r;
	assert_int_equal(snap_r_open(&r, buf, len, err, sizeof(err)), 0);
	assert_int_equal(kvm_snap_cpu_load(f->b.fd, &f->sys, 0, 0, r, NULL), 0);
	assert_int_equal(kvm_snap_vm_load(&f->b.vm, r), 0);
	assert_int_equal(snap_r_done(r), 0);
	snap_r_free(r);
	struct kvm_regs ra, rb;
	assert_int_equal(ioctl(f->a.fd, KVM_GET_REGS, &ra), 0);
	assert_int_equal(ioctl(f->b.fd, KVM_GET_REGS, &rb), 0);
	assert_memory_equal(&ra, &rb, sizeof(ra));
	struct kvm_sregs sa, sb;
	assert_int_equal(ioctl(f->a.fd, KVM_GET_SREGS, &sa), 0);
	assert_int_equal(ioctl(f->b.fd, KVM_GET_SREGS, &sb), 0);
	assert_memory_equal(&sa, &sb, sizeof(sa));
	struct kvm_lapic_state la, lb;
	assert_int_equal(ioctl(f->a.fd, KVM_GET_LAPIC, &la), 0);
	assert_int_equal(ioctl(f->b.fd, KVM_GET_LAPIC, &lb), 0);
	/* The current-count register (0x390) runs; the rest must match. */
	memset(&la.regs[0x390], 0, 4);
	memset(&lb.regs[0x390], 0, 4);
	assert_memory_equal(&la, &lb, sizeof(la));
	/* The TSC went on from A's, not from B's start: where the host
	 * honours a TSC write (this project's nested host runs every guest
	 * on the host TSC and ignores it; then both read the host's). */
	uint64_t ta = read_tsc(f->a.fd), tb = read_tsc(f->b.fd);
	if (f->tsc_writable)
		assert_true(tb >= 5000000000ull && tb < 5000000000ull + (60ull << 32));
	else
		assert_true(tb >= ta && tb - ta < (60ull << 32));
	struct kvm_irqchip c;
	memset(&c, 0, sizeof(c));
	c.chip_id = KVM_IRQCHIP_PIC_MASTER;
	assert_int_equal(ioctl(f->b.vm.fd, KVM_GET_IRQCHIP, &c), 0);
	assert_int_equal(c.chip.pic.imr, 0x5a);
	struct kvm_clock_data cd;
	memset(&cd, 0, sizeof(cd));
	assert_int_equal(ioctl(f->b.vm.fd, KVM_GET_CLOCK, &cd), 0);
	assert_true(cd.clock >= (7ull << 40));
	assert_true(cd.clock < (7ull << 40) + 60000000000ull);
	free(buf);
}

/* A vCPU section written by hand with the loader's field order, so
 * each field can be made hostile on its own. */
struct cpu_img {
	uint32_t index, apic_id, xsave_size, nmsrs, mp_state, tsc_khz;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint8_t xsave[16384];
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_msr_entry msrs[4];
	struct kvm_vcpu_events ev;
	struct kvm_debugregs dr;
};

static void img_from(struct cpu_img *im, struct fix *f)
{
	memset(im, 0, sizeof(*im));
	int xs = ioctl(f->sys.fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	im->xsave_size = xs > 4096 ? (uint32_t)xs : 4096;
	assert_true(im->xsave_size <= sizeof(im->xsave));
	assert_int_equal(ioctl(f->a.fd, KVM_GET_REGS, &im->regs), 0);
	assert_int_equal(ioctl(f->a.fd, KVM_GET_SREGS, &im->sregs), 0);
	assert_int_equal(ioctl(f->a.fd, im->xsave_size > 4096 ? KVM_GET_XSAVE2 :
			       KVM_GET_XSAVE, im->xsave), 0);
	assert_int_equal(ioctl(f->a.fd, KVM_GET_XCRS, &im->xcrs), 0);
	assert_int_equal(ioctl(f->a.fd, KVM_GET_LAPIC, &im->lapic), 0);
	assert_int_equal(ioctl(f->a.fd, KVM_GET_VCPU_EVENTS, &im->ev), 0);
	assert_int_equal(ioctl(f->a.fd, KVM_GET_DEBUGREGS, &im->dr), 0);
	im->nmsrs = 1;
	im->msrs[0].index = 0x10;
	im->msrs[0].data = 12345;
	im->tsc_khz = 2000000;
}

static void img_put(struct snap_w *w, const struct cpu_img *im)
{
	snap_w_begin(w, KVM_SNAP_CPU_SECTION, 1);
	snap_w_u32(w, "index", im->index);
	snap_w_u32(w, "apic_id", im->apic_id);
	snap_w_bytes(w, "regs", &im->regs, sizeof(im->regs));
	snap_w_bytes(w, "sregs", &im->sregs, sizeof(im->sregs));
	snap_w_u32(w, "xsave_size", im->xsave_size);
	snap_w_bytes(w, "xsave", im->xsave, im->xsave_size);
	snap_w_u8(w, "has_xcrs", 1);
	snap_w_bytes(w, "xcrs", &im->xcrs, sizeof(im->xcrs));
	snap_w_bytes(w, "lapic", &im->lapic, sizeof(im->lapic));
	snap_w_u32(w, "nmsrs", im->nmsrs);
	snap_w_bytes(w, "msrs", im->msrs, (im->nmsrs < 4 ? im->nmsrs : 4) * sizeof(im->msrs[0]));
	snap_w_u32(w, "mp_state", im->mp_state);
	snap_w_bytes(w, "events", &im->ev, sizeof(im->ev));
	snap_w_u8(w, "has_debugregs", 1);
	snap_w_bytes(w, "debugregs", &im->dr, sizeof(im->dr));
	snap_w_u32(w, "tsc_khz", im->tsc_khz);
	snap_w_end(w);
}

/* Load im into B; returns the error line ("" when it loaded). */
static const char *img_load(struct fix *f, const struct cpu_img *im, char *out,
			    size_t outlen)
{
	struct snap_w *w = snap_w_new();
	img_put(w, im);
	const uint8_t *buf;
	size_t len;
	assert_int_equal(snap_w_finish(w, &buf, &len), 0);
	struct snap_r *r;
	char err[256];
	assert_int_equal(snap_r_open(&r, buf, len, err, sizeof(err)), 0);
	int rc = kvm_snap_cpu_load(f->b.fd, &f->sys, 0, 0, r, NULL);
	snprintf(out, outlen, "%s", snap_r_error(r));
	assert_true((rc == 0) == (out[0] == 0));
	snap_r_free(r);
	snap_w_free(w);
	return out;
}

#define EXPECT_REFUSED(f, im, field)                                           \
	do {                                                                   \
		char e_[256];                                                  \
		const char *m_ = img_load(f, im, e_, sizeof(e_));              \
		if (!strstr(m_, field))                                        \
			fail_msg("expected a refusal naming '%s', got '%s'",   \
				 field, m_);                                   \
	} while (0)

static void test_hostile_cpu(void **state)
{
	struct fix *f = *state;
	if (!f)
		SKIP_BECAUSE("no usable /dev/kvm");
	static struct cpu_img im;
	char e[256];
	img_from(&im, f);
	/* The baseline loads. */
	assert_string_equal(img_load(f, &im, e, sizeof(e)), "");
	img_from(&im, f);
	im.index = 1;
	EXPECT_REFUSED(f, &im, "index");
	img_from(&im, f);
	im.apic_id = 3;
	EXPECT_REFUSED(f, &im, "apic_id");
	img_from(&im, f);
	im.xsave_size = 8192;
	EXPECT_REFUSED(f, &im, "xsave_size");
	img_from(&im, f);
	im.nmsrs = 0x7fffffff;
	EXPECT_REFUSED(f, &im, "nmsrs");
	img_from(&im, f);
	im.msrs[0].index = 0xdeadbeef;
	EXPECT_REFUSED(f, &im, "msrs");
	img_from(&im, f);
	im.msrs[0].index = 0x802;  /* x2APIC id: the LAPIC state's business */
	EXPECT_REFUSED(f, &im, "msrs");
	img_from(&im, f);
	im.mp_state = 9;
	EXPECT_REFUSED(f, &im, "mp_state");
	img_from(&im, f);
	im.ev.flags = 0x80000000u;
	EXPECT_REFUSED(f, &im, "events");
	img_from(&im, f);
	im.ev.exception.nr = 200;
	EXPECT_REFUSED(f, &im, "events");
	img_from(&im, f);
	im.xcrs.nr_xcrs = 1000;
	EXPECT_REFUSED(f, &im, "xcrs");
	img_from(&im, f);
	im.dr.flags = 1;
	EXPECT_REFUSED(f, &im, "debugregs");
	img_from(&im, f);
	im.tsc_khz = 0xffffffffu;
	EXPECT_REFUSED(f, &im, "tsc_khz");
	/* The APIC id register must be the vCPU's (xAPIC: bits 31:24). */
	img_from(&im, f);
	uint32_t id = 5u << 24;
	memcpy(&im.lapic.regs[0x20], &id, 4);
	EXPECT_REFUSED(f, &im, "lapic");
	/* A value KVM itself refuses is reported with the field too: CR0.PG
	 * without PE (SDM vol. 3 §2.5). */
	img_from(&im, f);
	im.sregs.cr0 = 0x80000000ull;
	EXPECT_REFUSED(f, &im, "sregs");
}

static void test_hostile_vm(void **state)
{
	struct fix *f = *state;
	if (!f)
		SKIP_BECAUSE("no usable /dev/kvm");
	struct kvm_irqchip c[3];
	unsigned ids[3] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC };
	for (unsigned bad = 0; bad < 4; bad++) {
		for (unsigned i = 0; i < 3; i++) {
			memset(&c[i], 0, sizeof(c[i]));
			c[i].chip_id = ids[i];
			assert_int_equal(ioctl(f->a.vm.fd, KVM_GET_IRQCHIP, &c[i]), 0);
		}
		const char *want = "";
		if (bad == 0) {
			c[0].chip.pic.init_state = 7;
			want = "pic_master";
		} else if (bad == 1) {
			c[1].chip.pic.irq_base = 0x71;
			want = "pic_slave";
		} else if (bad == 2) {
			c[2].chip.ioapic.base_address = 0xfee00000;
			want = "ioapic";
		}
		struct snap_w *w = snap_w_new();
		snap_w_begin(w, KVM_SNAP_IRQCHIP_SECTION, 1);
		snap_w_bytes(w, "pic_master", &c[0].chip.pic, sizeof(c[0].chip.pic));
		snap_w_bytes(w, "pic_slave", &c[1].chip.pic, sizeof(c[1].chip.pic));
		snap_w_bytes(w, "ioapic", &c[2].chip.ioapic, sizeof(c[2].chip.ioapic));
		snap_w_end(w);
		snap_w_begin(w, KVM_SNAP_CLOCK_SECTION, bad == 3 ? 2 : 1);
		snap_w_u64(w, "clock", 1);
		snap_w_end(w);
		const uint8_t *buf;
		size_t len;
		assert_int_equal(snap_w_finish(w, &buf, &len), 0);
		struct snap_r *r;
		char err[256];
		assert_int_equal(snap_r_open(&r, buf, len, err, sizeof(err)), 0);
		assert_int_not_equal(kvm_snap_vm_load(&f->b.vm, r), 0);
		if (bad == 3)
			want = "kvm.clock";
		if (!strstr(snap_r_error(r), want))
			fail_msg("case %u: expected '%s' in '%s'", bad, want, snap_r_error(r));
		snap_r_free(r);
		snap_w_free(w);
	}
}

static void test_msr_filter(void **state)
{
	(void)state;
	const uint32_t listed[] = { 0x174, 0x802, 0x10, 0xc0000080, 0x174, 0x8ff, 0x6e0 };
	uint32_t out[8];
	unsigned n = kvm_snap_msr_filter(listed, 7, out, 8);
	/* The TSC first; x2APIC registers and duplicates out. */
	assert_int_equal(n, 4);
	assert_int_equal(out[0], 0x10);
	assert_int_equal(out[1], 0x174);
	assert_int_equal(out[2], 0xc0000080);
	assert_int_equal(out[3], 0x6e0);
	assert_int_equal(kvm_snap_msr_filter(listed, 7, out, 2), 2);
	assert_int_equal(kvm_snap_msr_filter(NULL, 0, out, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msr_filter),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_cpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_vm, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
