/* core/config: the machine's shape: -machine (type, accel, irqchip,
 * nvdimm), -cpu, -smp (QEMU 7.2's topology arithmetic), -m (slots,
 * maxmem) and -rtc, each accepted form and each refusal with its
 * reason.  Other machine-wide options: test_config.c. */
#include "config_fixture.h"

static void test_machine(void **state)
{
	struct machine_config *cfg;

	(void)state;
	cfg = CFG_OK("-machine", "q35,accel=kvm,kernel_irqchip=on,nvdimm=on");
	assert_int_equal(cfg->machine.type, CFG_MACHINE_Q35);
	assert_int_equal(cfg->machine.accel, CFG_ACCEL_KVM);
	assert_true(cfg->machine.nvdimm);
	assert_true(cfg->machine.kernel_irqchip);
	free(cfg);
	cfg = CFG_OK("-M", "microvm,accel=sim,pmem-legacy=on,kernel_irqchip=on,nvdimm=off,dump-guest-core=on,mem-merge=no");
	assert_int_equal(cfg->machine.type, CFG_MACHINE_MICROVM);
	assert_int_equal(cfg->machine.accel, CFG_ACCEL_SIM);
	assert_true(cfg->machine.pmem_legacy);
	assert_true(cfg->machine.kernel_irqchip);
	assert_false(cfg->machine.nvdimm);
	assert_true(cfg->machine.dump_guest_core);
	assert_false(cfg->machine.mem_merge);
	free(cfg);
	cfg = CFG_OK("-machine", "type=q35", "-enable-kvm", "-machine", "nvdimm=true");
	assert_int_equal(cfg->machine.type, CFG_MACHINE_Q35);
	assert_true(cfg->machine.nvdimm);
	free(cfg);
	cfg = CFG_OK("-enable-kvm", "-machine", "q35,accel=kvm");
	assert_int_equal(cfg->machine.accel, CFG_ACCEL_KVM);
	free(cfg);
	/* A trailing comma is harmless (StratoVirt's own examples have one). */
	cfg = CFG_OK("-machine", "q35,");
	assert_int_equal(cfg->machine.type, CFG_MACHINE_Q35);
	free(cfg);
}

static void test_machine_bad(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-machine", "pc", NULL }, "'pc'", "microvm, q35" },
		{ { "-machine", "q35,accel=tcg", NULL }, "accel='tcg'", "kvm, sim" },
		{ { "-machine", "q35,nvdimm=maybe", NULL }, "nvdimm='maybe'", "on, off" },
		{ { "-machine", "q35,kernel_irqchip=split", NULL }, "split", "accepted: on" },
		/* Values that would be accepted and ignored are refused, each
		 * with the reason (STYLE.md 11). */
		{ { "-machine", "q35,kernel_irqchip=off", NULL }, "kernel_irqchip=off is not supported", "accepted: on" },
		{ { "-machine", "q35,mem-merge=on", NULL }, "mem-merge=on is not supported", "KSM" },
		{ { "-machine", "q35,dump-guest-core=off", NULL }, "dump-guest-core=off is not supported", "core dump" },
		{ { "-machine", "accel=sim", "-kernel", "/nonexistent", NULL }, "-kernel: '/nonexistent'", "no guest code" },
		{ { "-machine", "q35,usb=off", NULL }, "'usb'", "accepted" },
		{ { "-machine", "q35,nvdimm=on,nvdimm=off", NULL }, "'nvdimm' given twice", NULL },
		{ { "-machine", "accel=sim", "-enable-kvm", NULL }, "-enable-kvm", "accel=sim" },
		{ { "-enable-kvm", "-machine", "accel=sim", NULL }, "-machine", "conflicts" },
		{ { "-machine", "", NULL }, "-machine", "empty" },
		{ { "-machine", "q35,,", NULL }, "'q35,'", "microvm" },
		{ { "-machine", "q35,=on", NULL }, "without a name", NULL },
	};

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

static void test_cpu(void **state)
{
	struct machine_config *cfg = CFG_OK("-cpu", "host,pmu=off");
	const struct cfgt_bad_case t[] = {
		{ { "-cpu", "qemu64", NULL }, "'qemu64'", "host" },
		{ { "-cpu", "host,+avx", NULL }, "'+avx'", "pmu" },
		{ { "-cpu", "host,pmu=2", NULL }, "pmu='2'", "on, off" },
	};

	(void)state;
	assert_false(cfg->cpu_pmu);
	free(cfg);
	cfg = CFG_OK("-cpu", "host");
	assert_true(cfg->cpu_pmu);
	free(cfg);
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

static void check_smp(const char *arg, unsigned cpus, unsigned maxcpus,
		      unsigned sockets, unsigned cores, unsigned threads)
{
	struct machine_config *cfg = CFG_OK("-smp", arg);

	if (cfg->smp.cpus != cpus || cfg->smp.maxcpus != maxcpus ||
	    cfg->smp.sockets != sockets || cfg->smp.cores != cores ||
	    cfg->smp.threads != threads)
		fail_msg("-smp %s: got %u,%u s%u c%u t%u", arg, cfg->smp.cpus,
			 cfg->smp.maxcpus, cfg->smp.sockets, cfg->smp.cores,
			 cfg->smp.threads);
	free(cfg);
}

/* Expected values are what QEMU 7.2 computes for the same -smp. */
static void test_smp(void **state)
{
	(void)state;
	check_smp("1", 1, 1, 1, 1, 1);
	check_smp("4", 4, 4, 1, 4, 1);
	check_smp("cpus=2", 2, 2, 1, 2, 1);
	check_smp("1,maxcpus=8", 1, 8, 1, 8, 1);
	check_smp("1,cores=1,threads=1,sockets=8,maxcpus=8", 1, 8, 8, 1, 1);
	check_smp("sockets=2,cores=2,threads=2", 8, 8, 2, 2, 2);
	check_smp("8,sockets=2", 8, 8, 2, 4, 1);
	check_smp("8,cores=2", 8, 8, 4, 2, 1);
	check_smp("8,sockets=2,cores=2", 8, 8, 2, 2, 2);
	check_smp("254", 254, 254, 1, 254, 1);
	check_smp("2,maxcpus=254", 2, 254, 1, 254, 1);
	/* The largest topology product that fits: 2 * 127 = 254. */
	check_smp("sockets=2,cores=127", 254, 254, 2, 127, 1);
	check_smp("1,sockets=2,cores=127,maxcpus=254", 1, 254, 2, 127, 1);
	check_smp("4,dies=1", 4, 4, 1, 4, 1);
}

static void test_smp_bad(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-smp", "300", NULL }, "-smp: '300' is out of range (1-254)", NULL },
		{ { "-smp", "0", NULL }, "'0' is out of range", NULL },
		{ { "-smp", "255", NULL }, "out of range (1-254)", NULL },
		{ { "-smp", "-1", NULL }, "'-1' is not a number", NULL },
		{ { "-smp", "two", NULL }, "'two' is not a number", NULL },
		{ { "-smp", "1,maxcpus=300", NULL }, "maxcpus='300'", "1-254" },
		{ { "-smp", "4,maxcpus=2", NULL }, "cpus (4) > maxcpus (2)", NULL },
		{ { "-smp", "4,sockets=3", NULL }, "sockets (3) * cores (1) * threads (1) != maxcpus (4)", NULL },
		{ { "-smp", "sockets=16,cores=16", NULL }, "maxcpus 256", "1-254" },
		/* Each factor is in range, only their product (255) is not:
		 * the bound on the product itself, one past the limit. */
		{ { "-smp", "sockets=3,cores=85", NULL }, "maxcpus 255", "1-254" },
		{ { "-smp", "sockets=3,cores=5,threads=17", NULL }, "maxcpus 255", "1-254" },
		{ { "-smp", "2,cores=0", NULL }, "cores='0'", NULL },
		{ { "-smp", "2,dies=2", NULL }, "dies", "accepted: 1" },
		{ { "-smp", "2,books=2", NULL }, "'books'", "maxcpus" },
		{ { "-smp", "2,threads", NULL }, "threads", NULL },
		{ { "-smp", "99999999999999999999", NULL }, "out of range", NULL },
	};

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

static void test_mem(void **state)
{
	struct machine_config *cfg;

	(void)state;
	cfg = CFG_OK("-m", "2048M,slots=10,maxmem=16811M");
	assert_int_equal(cfg->mem.size, 2048ull << 20);
	assert_int_equal(cfg->mem.slots, 10);
	assert_int_equal(cfg->mem.maxmem, 16811ull << 20);
	free(cfg);
	cfg = CFG_OK("-m", "512");  /* bare number: MiB */
	assert_int_equal(cfg->mem.size, 512ull << 20);
	free(cfg);
	cfg = CFG_OK("-m", "size=1G");
	assert_int_equal(cfg->mem.size, 1ull << 30);
	free(cfg);
	cfg = CFG_OK("-m", "1.5G");
	assert_int_equal(cfg->mem.size, 3ull << 29);
	free(cfg);
	cfg = CFG_OK("-m", "4097K");  /* rounded up to a page */
	assert_int_equal(cfg->mem.size, 4100ull << 10);
	free(cfg);
	cfg = CFG_OK("-m", "512G");
	assert_int_equal(cfg->mem.size, 512ull << 30);
	free(cfg);
	cfg = CFG_OK("-m", "1G,slots=1,maxmem=1G");
	assert_int_equal(cfg->mem.maxmem, 1ull << 30);
	free(cfg);
	cfg = CFG_OK("-m", "1G,maxmem=1G");  /* no hotplug room: no slots needed */
	assert_int_equal(cfg->mem.maxmem, 1ull << 30);
	free(cfg);
}

static void test_mem_bad(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-m", "1Q", NULL }, "-m: '1Q' is not a size", "K|M|G|T" },
		{ { "-m", "513G", NULL }, "'513G' is out of range", "4M-512G" },
		{ { "-m", "1M", NULL }, "out of range", NULL },
		{ { "-m", "0", NULL }, "'0' is out of range", NULL },
		{ { "-m", "16E", NULL }, "out of range", NULL },
		{ { "-m", "99999999999999999999", NULL }, "out of range", NULL },
		{ { "-m", "17179869184T", NULL }, "out of range", NULL },
		{ { "-m", "1G,maxmem=512M,slots=1", NULL }, "maxmem (512 MiB) is below", NULL },
		{ { "-m", "1G,maxmem=2G", NULL }, "maxmem without slots", NULL },
		{ { "-m", "1G,slots=2", NULL }, "slots= without maxmem", NULL },
		{ { "-m", "1G,slots=257,maxmem=2G", NULL }, "slots='257'", "0-256" },
		{ { "-m", "1G,maxmem=5T,slots=1", NULL }, "maxmem='5T'", "out of range" },
		{ { "-m", "1G,hotplug=on", NULL }, "'hotplug'", "size, slots, maxmem" },
		{ { "-m", NULL }, "-m: needs an argument", NULL },
	};

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

static void test_rtc(void **state)
{
	struct machine_config *cfg;

	(void)state;
	cfg = CFG_OK("-rtc", "base=utc,driftfix=none,clock=host");
	assert_int_equal(cfg->rtc.base, CFG_RTC_UTC);
	assert_false(cfg->rtc.driftfix_slew);
	assert_int_equal(cfg->rtc.clock, CFG_RTC_CLOCK_HOST);
	free(cfg);
	cfg = CFG_OK("-rtc", "base=utc,driftfix=slew,clock=host");
	assert_true(cfg->rtc.driftfix_slew);
	free(cfg);
	cfg = CFG_OK("-rtc", "base=localtime,clock=rt,driftfix=none");
	assert_int_equal(cfg->rtc.base, CFG_RTC_LOCALTIME);
	assert_int_equal(cfg->rtc.clock, CFG_RTC_CLOCK_RT);
	assert_false(cfg->rtc.driftfix_slew);
	free(cfg);
	cfg = CFG_OK("-rtc", "base=2006-06-17T16:01:21,clock=rt");
	assert_int_equal(cfg->rtc.base, CFG_RTC_DATE);
	assert_int_equal(cfg->rtc.date_epoch, 1150560081);  /* date -u -d */
	assert_int_equal(cfg->rtc.clock, CFG_RTC_CLOCK_RT);
	free(cfg);
	cfg = CFG_OK("-rtc", "base=2000-02-29");
	assert_int_equal(cfg->rtc.date_epoch, 951782400);
	free(cfg);
	cfg = CFG_OK("-rtc", "base=1970-01-01T00:00:00");
	assert_int_equal(cfg->rtc.date_epoch, 0);
	free(cfg);
	cfg = CFG_OK("-rtc", "base=2099-12-31T23:59:59");
	assert_int_equal(cfg->rtc.date_epoch, 4102444799);
	free(cfg);
}

static void test_rtc_bad(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-rtc", "base=gmt", NULL }, "base='gmt'", "utc, localtime" },
		{ { "-rtc", "base=2023-02-29", NULL }, "2023-02-29", NULL },
		{ { "-rtc", "base=1969-12-31", NULL }, "1969", "1970-2099" },
		{ { "-rtc", "base=2100-01-01", NULL }, "2100", NULL },
		{ { "-rtc", "base=2006-13-01", NULL }, "2006-13-01", NULL },
		{ { "-rtc", "base=2006-06-17T24:00:00", NULL }, "T24", NULL },
		{ { "-rtc", "base=2006-06-17 16:01:21", NULL }, "base=", NULL },
		{ { "-rtc", "base=2006-6-17T1:01:21x", NULL }, "base=", NULL },
		{ { "-rtc", "base=+006-06-17", NULL }, "base=", NULL },
		{ { "-rtc", "clock=wall", NULL }, "clock='wall'", "host, rt" },
		{ { "-rtc", "clock=vm", NULL }, "clock=vm is not supported", "paused" },
		{ { "-rtc", "driftfix=fast", NULL }, "driftfix='fast'", "none, slew" },
		{ { "-rtc", "utc", NULL }, "'utc'", "base, clock, driftfix" },
	};

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_machine),
		cmocka_unit_test(test_machine_bad),
		cmocka_unit_test(test_cpu),
		cmocka_unit_test(test_smp),
		cmocka_unit_test(test_smp_bad),
		cmocka_unit_test(test_mem),
		cmocka_unit_test(test_mem_bad),
		cmocka_unit_test(test_rtc),
		cmocka_unit_test(test_rtc_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
