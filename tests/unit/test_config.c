/* core/config: machine-wide options, sizes, --help/--version and the
 * error buffer.  The machine's shape (-machine, -cpu, -smp, -m, -rtc):
 * test_config_machine.c; backends: test_config_backends.c; devices:
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
		cmocka_unit_test(test_kata_accepted),
		cmocka_unit_test(test_general_bad),
		cmocka_unit_test(test_absolute_paths),
		cmocka_unit_test(test_boot_options),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_small_err_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
