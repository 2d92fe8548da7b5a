/* core/config: machine-wide options, sizes, --help/--version and the
 * error buffer.  Backends: test_config_backends.c; devices:
 * test_config_devices.c; whole command lines: test_config_cmdline.c. */
#include "config_fixture.h"

#include <errno.h>

static void test_defaults(void **state)
{
	struct machine_config *cfg = CFG_OK("-name", "x");

	(void)state;
	assert_int_equal(cfg->machine.type, CFG_MACHINE_MICROVM);
	assert_int_equal(cfg->machine.accel, CFG_ACCEL_KVM);
	assert_true(cfg->machine.kernel_irqchip);
	assert_false(cfg->machine.nvdimm);
	assert_string_equal(cfg->cpu_model, "host");
	assert_true(cfg->cpu_pmu);
	assert_int_equal(cfg->smp.cpus, 1);
	assert_int_equal(cfg->smp.maxcpus, 1);
	assert_int_equal(cfg->mem.size, 256ull << 20);
	assert_int_equal(cfg->mem.maxmem, 0);
	assert_int_equal(cfg->nserial, 0);
	assert_int_equal(cfg->rtc.base, CFG_RTC_UTC);
	assert_int_equal(cfg->lost_tick_policy, CFG_LOST_TICK_DELAY);
	assert_int_equal(cfg->seed, 0);
	assert_false(cfg->daemonize);
	free(cfg);
}

static void test_size_parser(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(config_parse_size("4096", 1, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(config_parse_size("512", 1 << 20, &v), 0);
	assert_int_equal(v, 512ull << 20);
	assert_int_equal(config_parse_size("512M", 1, &v), 0);
	assert_int_equal(v, 512ull << 20);
	assert_int_equal(config_parse_size("2k", 1, &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(config_parse_size("1G", 1, &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(config_parse_size("3T", 1, &v), 0);
	assert_int_equal(v, 3ull << 40);
	assert_int_equal(config_parse_size("1.5G", 1, &v), 0);
	assert_int_equal(v, 3ull << 29);
	assert_int_equal(config_parse_size("100B", 1 << 20, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(config_parse_size("15E", 1, &v), 0);
	assert_int_equal(v, 15ull << 60);
	/* Overflow: 16 EiB, 2^64 bytes, and a huge digit string. */
	assert_int_equal(config_parse_size("16E", 1, &v), -ERANGE);
	assert_int_equal(config_parse_size("18446744073709551616", 1, &v), -ERANGE);
	assert_int_equal(config_parse_size("18446744073709551615", 1, &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(config_parse_size("17179869184G", 1, &v), -ERANGE);
	assert_int_equal(config_parse_size("99999999999999999999999", 1, &v), -ERANGE);
	/* Not sizes. */
	assert_int_equal(config_parse_size("", 1, &v), -EINVAL);
	assert_int_equal(config_parse_size("-1", 1, &v), -EINVAL);
	assert_int_equal(config_parse_size(" 1", 1, &v), -EINVAL);
	assert_int_equal(config_parse_size("1Q", 1, &v), -EINVAL);
	assert_int_equal(config_parse_size("1MB", 1, &v), -EINVAL);
	assert_int_equal(config_parse_size("M", 1, &v), -EINVAL);
	assert_int_equal(config_parse_size("1.", 1 << 20, &v), -EINVAL);
	assert_int_equal(config_parse_size("1.5", 1, &v), -EINVAL);
	assert_int_equal(config_parse_size("0x10", 1, &v), -EINVAL);
	assert_int_equal(config_parse_size(NULL, 1, &v), -EINVAL);
}

static void test_double_dash_and_flags(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"--name", "vm1", "--no-reboot", "-daemonize", "-disable-seccomp",
		"-nodefaults", "-no-user-config", "-nographic", "-vga", "none",
		"-realtime", "mlock=off", "-pidfile", "vm.pid", "-D", "vm.log",
		"-mem-path", "/dev/hugepages", "-dump-dtb", "m.dtb",
		"-trace-record", "t.trace", "-seed", "12345678901234567890");

	(void)state;
	assert_string_equal(cfg->name, "vm1");
	assert_true(cfg->no_reboot);
	assert_true(cfg->daemonize);
	assert_true(cfg->disable_seccomp);
	assert_true(cfg->nodefaults);
	assert_true(cfg->no_user_config);
	assert_true(cfg->nographic);
	assert_false(cfg->realtime_mlock);
	assert_string_equal(cfg->pidfile, "vm.pid");
	assert_string_equal(cfg->logfile, "vm.log");
	assert_string_equal(cfg->mem.mem_path, "/dev/hugepages");
	assert_string_equal(cfg->dump_dtb, "m.dtb");
	assert_string_equal(cfg->trace_record, "t.trace");
	assert_int_equal(cfg->seed, 12345678901234567890ull);
	assert_int_equal(cfg->nserial, 0);  /* -nodefaults: no serial */
	free(cfg);

	/* -nographic alone puts serial0 on stdio, as QEMU does... */
	cfg = CFG_OK("-nographic");
	assert_int_equal(cfg->nserial, 1);
	assert_int_equal(cfg->serial[0].type, CFG_SERIAL_STDIO);
	free(cfg);
	/* ...unless -serial none says otherwise. */
	cfg = CFG_OK("-nographic", "-serial", "none");
	assert_int_equal(cfg->nserial, 0);
	free(cfg);
	cfg = CFG_OK("-realtime", "mlock=off", "--no-reboot");
	assert_false(cfg->realtime_mlock);
	assert_true(cfg->no_reboot);
	free(cfg);
}

static void test_name_uuid(void **state)
{
	struct machine_config *cfg;

	(void)state;
	cfg = CFG_OK("-name", "sandbox-aed7737ccc2f20ca2bffd069324b86e2ec6357023a8ee1034c7f9e532cd17eae",
		     "-uuid", "977692f6-744c-4917-8ccd-ffad44020fe9");
	assert_string_equal(cfg->name, "sandbox-aed7737ccc2f20ca2bffd069324b86e2ec6357023a8ee1034c7f9e532cd17eae");
	assert_true(cfg->has_uuid);
	assert_int_equal(cfg->uuid[0], 0x97);
	assert_int_equal(cfg->uuid[4], 0x74);
	assert_int_equal(cfg->uuid[15], 0xe9);
	free(cfg);
	cfg = CFG_OK("-name", "guest=a,,b,debug-threads=on,process=p");
	assert_string_equal(cfg->name, "a,b");
	free(cfg);
	cfg = CFG_OK("-uuid", "977692F6-744C-4917-8CCD-FFAD44020FE9");
	assert_int_equal(cfg->uuid[0], 0x97);
	free(cfg);
}

static void test_name_uuid_bad(void **state)
{
	char longname[300];
	const struct cfgt_bad_case t[] = {
		{ { "-uuid", "977692f6-744c-4917-8ccd-ffad44020fe", NULL }, "-uuid", "is not a UUID" },
		{ { "-uuid", "977692f6x744c-4917-8ccd-ffad44020fe9", NULL }, "-uuid", "977692f6x" },
		{ { "-uuid", "977692g6-744c-4917-8ccd-ffad44020fe9", NULL }, "-uuid", "accepted" },
		{ { "-uuid", "977692f6-744c-4917-8ccd-ffad44020fe9a", NULL }, "-uuid", NULL },
		{ { "-uuid", "977692f6-744c-4917-8ccdf-fad44020fe9", NULL }, "-uuid", NULL },
		{ { "-name", "", NULL }, "-name", "empty" },
		{ { "-name", "a\tb", NULL }, "-name", "control character" },
		{ { "-name", "x,colour=red", NULL }, "-name", "'colour'" },
		{ { "-name", NULL }, "-name", "needs an argument" },
	};

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cfgt_bad((const char *const[]){ "-name", longname, NULL }, "-name",
		 "too long");
}

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

static void test_kata_accepted(void **state)
{
	struct machine_config *cfg;
	const struct cfgt_bad_case t[] = {
		{ { "-global", "kvm-pit.lost_tick_policy=slew", NULL }, "'slew'", "discard, delay" },
		{ { "-global", "virtio-blk.x=1", NULL }, "virtio-blk.x=1", "kvm-pit.lost_tick_policy" },
		{ { "-vga", "std", NULL }, "-vga: 'std'", "none" },
		{ { "-realtime", "mlock=sometimes", NULL }, "mlock='sometimes'", NULL },
		{ { "-realtime", "mlock=on", NULL }, "mlock=on is not supported", "accepted: off" },
		{ { "-realtime", "rt=on", NULL }, "'rt'", "mlock" },
		{ { "-numa", "dist,src=0,dst=1", NULL }, "-numa", "node,memdev" },
		{ { "-numa", "node", NULL }, "memdev= is required", NULL },
		{ { "-numa", "node,memdev=nosuch", NULL }, "memdev='nosuch'", "no memory backend" },
		{ { "-object", "memory-backend-ram,id=r0,size=128M", "-numa", "node,memdev=r0", NULL },
		  "(128 MiB) does not equal -m (256 MiB)", NULL },
		{ { "-object", "rng-random,id=r0", "-numa", "node,memdev=r0", NULL }, "no memory backend", NULL },
		{ { "-object", "memory-backend-ram,id=r0,size=128M", "-object", "memory-backend-ram,id=r1,size=128M",
		    "-numa", "node,memdev=r0,nodeid=1", "-numa", "node,memdev=r1,nodeid=1", NULL }, "nodeid 1 given twice", NULL },
		{ { "-object", "memory-backend-ram,id=r0,size=256M", "-numa", "node,memdev=r0",
		    "-numa", "node,memdev=r0", NULL }, "'r0' is used by two nodes", NULL },
		{ { "-numa", "node,memdev=r0,cpus=0-1", NULL }, "'cpus'", "memdev, nodeid" },
		/* Guest RAM comes from the nodes (issue 16): -mem-path as well
		 * would be a second answer to where it comes from. */
		{ { "-object", "memory-backend-file,id=dimm1,size=2048M,mem-path=/dev/shm,share=on",
		    "-m", "2048M", "-mem-path", "/dev/hugepages", "-numa", "node,memdev=dimm1", NULL },
		  "both say where guest RAM comes from", "use one" },
	};

	(void)state;
	cfg = CFG_OK("-global", "kvm-pit.lost_tick_policy=discard", "-vga", "none");
	assert_int_equal(cfg->lost_tick_policy, CFG_LOST_TICK_DISCARD);
	free(cfg);
	cfg = CFG_OK("-global", "kvm-pit.lost_tick_policy=delay");
	assert_int_equal(cfg->lost_tick_policy, CFG_LOST_TICK_DELAY);
	free(cfg);
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

/* -daemonize's chdir("/") must not change what a relative path names:
 * each becomes absolute against the starting directory; absolute ones
 * and non-paths (-serial stdio, chardev ids) are left alone. */
static void test_absolute_paths(void **state)
{
	(void)state;
	struct machine_config *cfg = CFG_OK("-kernel", "k.elf", "-initrd", "/abs/i",
		"-drive", "id=d0,file=disk.img", "-pidfile", "vm.pid", "-D", "log/vm.log",
		"-serial", "file:con.out", "-serial", "chardev:c1",
		"-chardev", "socket,id=c0,path=c.sock,server,nowait", "-chardev", "null,id=c1",
		"-object", "memory-backend-file,id=m,mem-path=img,size=2M",
		"-qmp", "unix:q.sock,server,nowait");
	char err[256];
	assert_int_equal(config_absolute_paths(cfg, "/start/dir", err, sizeof(err)), 0);
	assert_string_equal(cfg->kernel, "/start/dir/k.elf");
	assert_string_equal(cfg->initrd, "/abs/i");
	assert_string_equal(cfg->drives[0].file, "/start/dir/disk.img");
	assert_string_equal(cfg->pidfile, "/start/dir/vm.pid");
	assert_string_equal(cfg->logfile, "/start/dir/log/vm.log");
	assert_string_equal(cfg->serial[0].arg, "/start/dir/con.out");
	assert_string_equal(cfg->serial[1].arg, "c1");
	assert_string_equal(cfg->chardevs[0].path, "/start/dir/c.sock");
	assert_string_equal(cfg->objects[0].mem_path, "/start/dir/img");
	assert_string_equal(cfg->qmp_path, "/start/dir/q.sock");
	char deep[CFG_PATH_MAX];
	memset(deep, 'd', sizeof(deep) - 1);
	deep[0] = '/';
	deep[sizeof(deep) - 1] = '\0';
	struct machine_config *c2 = CFG_OK("-kernel", "k.elf");
	assert_int_equal(config_absolute_paths(c2, deep, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-daemonize: -kernel 'k.elf'"));
	free(c2);
	free(cfg);
	cfgt_bad((const char *const[]){ "-serial", "stdio", "-daemonize", NULL },
		 "-serial stdio cannot be used with -daemonize", "file:");
	cfgt_bad((const char *const[]){ "-nographic", "-daemonize", NULL },
		 "implied by -nographic", NULL);
	cfg = CFG_OK("-nographic", "-nodefaults", "-daemonize");
	assert_int_equal(cfg->nserial, 0);
	free(cfg);
}

static void test_general_bad(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-frobnicate", NULL }, "unknown option '-frobnicate'", "--help" },
		{ { "--frobnicate", NULL }, "'--frobnicate'", NULL },
		{ { "disk.img", NULL }, "'disk.img' is not an option", NULL },
		{ { "-", NULL }, "'-' is not an option", NULL },
		{ { "-kernel", NULL }, "-kernel: needs an argument", NULL },
		{ { "-kernel", "", NULL }, "-kernel", "empty" },
		{ { "-initrd", "initrd.img", NULL }, "-initrd needs -kernel", NULL },
		{ { "-append", "console=ttyS0", NULL }, "-append needs -kernel", NULL },
		{ { "-seed", "x", NULL }, "-seed: 'x' is not a number", NULL },
		{ { "-seed", "18446744073709551616", NULL }, "-seed", "out of range" },
		{ { "-qmp", "unix:a.sock,server,nowait", "-qmp", "unix:b.sock,server,nowait", NULL },
		  "-qmp: given twice", NULL },
	};

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

static void test_boot_options(void **state)
{
	char big[5000];
	struct machine_config *cfg = CFG_OK(
		"-kernel", "/opt/kata/vmlinux", "-initrd", "i.img", "-append",
		"tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 "
		"root=/dev/pmem0p1 rootflags=dax,data=ordered,errors=remount-ro ro",
		"-kernel", "second-wins");

	(void)state;
	assert_string_equal(cfg->kernel, "second-wins");
	assert_string_equal(cfg->initrd, "i.img");
	assert_non_null(strstr(cfg->append, "rootflags=dax,data=ordered"));
	free(cfg);
	cfg = CFG_OK("-kernel", "k", "-append", "");
	assert_string_equal(cfg->append, "");
	free(cfg);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cfgt_bad((const char *const[]){ "-kernel", "k", "-append", big, NULL },
		 "-append", "too long");
	big[300] = '\0';
	cfgt_bad((const char *const[]){ "-kernel", big, NULL }, "-kernel", "too long");
}

static void test_help_version(void **state)
{
	struct machine_config *cfg;
	char err[64];
	FILE *f;
	char text[8192];
	size_t n;
	static const char *const must_list[] = {
		"-name", "-uuid", "-machine", "-M ", "-enable-kvm", "-cpu", "-smp",
		"-m ", "-mem-path", "-numa", "-rtc", "-global", "-seed", "-kernel",
		"-initrd", "-append", "-object", "-drive", "-netdev", "-chardev",
		"virtio-blk-device", "virtio-net-pci", "virtconsole", "nvdimm",
		"isa-debug-exit", "pci-bridge", "-serial", "-qmp", "unix:fd=", "-S ", "-pidfile",
		"-daemonize", "-D ", "-disable-seccomp", "-no-reboot", "-dump-dtb",
		"-trace-record", "-nodefaults", "-no-user-config", "-nographic",
		"-vga", "-realtime", "--help", "--version", "throttling.iops-total",
		"max-bytes", "deflate-on-oom", "label-size", "iothread",
	};

	(void)state;
	assert_int_equal(cfgt_parse(&cfg, (const char *const[]){ "--help", NULL },
				    err, sizeof(err)), 1);
	free(cfg);
	assert_int_equal(cfgt_parse(&cfg, (const char *const[]){ "-smp", "2", "--version", NULL },
				    err, sizeof(err)), 1);
	free(cfg);
	/* --help stops parsing: a later bad option is not reached. */
	assert_int_equal(cfgt_parse(&cfg, (const char *const[]){ "-h", "-bogus", NULL },
				    err, sizeof(err)), 1);
	free(cfg);
	f = tmpfile();
	assert_non_null(f);
	config_usage(f);
	rewind(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	for (size_t i = 0; i < sizeof(must_list) / sizeof(must_list[0]); i++)
		if (!strstr(text, must_list[i]))
			fail_msg("--help does not list '%s'", must_list[i]);
	assert_non_null(strstr(VMM_VERSION, "."));
}

/* A small error buffer truncates the message but stays terminated. */
static void test_small_err_buffer(void **state)
{
	struct machine_config *cfg;
	char err[12];

	(void)state;
	assert_int_equal(cfgt_parse(&cfg, (const char *const[]){ "-smp", "300", NULL },
				    err, sizeof(err)), -1);
	free(cfg);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(strncmp(err, "vmm: -smp: ", 11), 0);
	cfg = calloc(1, sizeof(*cfg));
	assert_int_equal(config_parse(cfg, 3, (char *[]){ "vmm", "-smp", "300", NULL },
				      NULL, 0), -1);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_size_parser),
		cmocka_unit_test(test_double_dash_and_flags),
		cmocka_unit_test(test_name_uuid),
		cmocka_unit_test(test_name_uuid_bad),
		cmocka_unit_test(test_machine),
		cmocka_unit_test(test_machine_bad),
		cmocka_unit_test(test_cpu),
		cmocka_unit_test(test_smp),
		cmocka_unit_test(test_smp_bad),
		cmocka_unit_test(test_mem),
		cmocka_unit_test(test_mem_bad),
		cmocka_unit_test(test_rtc),
		cmocka_unit_test(test_rtc_bad),
		cmocka_unit_test(test_kata_accepted),
		cmocka_unit_test(test_general_bad),
		cmocka_unit_test(test_absolute_paths),
		cmocka_unit_test(test_boot_options),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_small_err_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
