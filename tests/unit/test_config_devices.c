/* core/config: -device models and properties, references to backends,
 * PCI placement rules and the machine rules that tie options together. */
#include "config_fixture.h"

#define Q35 "-machine", "q35"

static void test_blk(void **state)
{
	struct machine_config *cfg = CFG_OK(
		Q35, "-object", "iothread,id=io1",
		"-drive", "id=d0,file=a", "-drive", "id=d1,file=b",
		"-device", "virtio-blk-device,drive=d0,id=blk0,iothread=io1,serial=SN-0123456789abcdef,share-rw=on",
		"-device", "virtio-blk-pci,drive=d1,bus=pcie.0,addr=0x3.0x0,id=blk1,multifunction=on,disable-modern=on,vectors=2");
	const struct cfg_device *d;

	(void)state;
	d = config_device(cfg, "blk0");
	assert_non_null(d);
	assert_int_equal(d->type, CFG_DEV_VIRTIO_BLK);
	assert_int_equal(d->transport, CFG_TRANSPORT_MMIO);
	assert_string_equal(d->drive, "d0");
	assert_string_equal(d->iothread, "io1");
	assert_string_equal(d->serial, "SN-0123456789abcdef");
	assert_true(d->share_rw);
	assert_int_equal(d->pci_slot, -1);
	assert_string_equal(config_device_name(d), "virtio-blk-device");
	d = config_device(cfg, "blk1");
	assert_int_equal(d->transport, CFG_TRANSPORT_PCI);
	assert_int_equal(d->pci_slot, 3);
	assert_int_equal(d->pci_func, 0);
	assert_true(d->multifunction);
	assert_true(d->disable_modern);
	assert_int_equal(d->vectors, 2);
	assert_int_equal(d->parent, -1);
	assert_string_equal(config_device_name(d), "virtio-blk-pci");
	assert_false(d->share_rw);   /* QEMU's default: the image is not shared */
	free(cfg);
}

static void test_net_rng_balloon(void **state)
{
	struct machine_config *cfg = CFG_OK(
		Q35, "-netdev", "tap,id=n0,ifname=tap0", "-netdev", "tap,id=n1,fds=3",
		"-device", "virtio-net-device,netdev=n0,id=net0,mac=52:54:00:12:34:56",
		"-device", "virtio-net-pci,netdev=n1,id=net1,addr=4,mq=off,vectors=0",
		"-object", "rng-random,id=r0", "-object", "rng-random,id=r1",
		"-device", "virtio-rng-device,rng=r0,max-bytes=1234,period=1000,id=rng0",
		"-device", "virtio-rng-pci,rng=r1,id=rng1,addr=0x5.0x0",
		"-device", "virtio-balloon-pci,deflate-on-oom=true,id=b0,addr=6");
	const struct cfg_device *d;

	(void)state;
	d = config_device(cfg, "net0");
	assert_true(d->has_mac);
	assert_memory_equal(d->mac, ((uint8_t[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }), 6);
	d = config_device(cfg, "net1");
	assert_false(d->has_mac);
	assert_false(d->mq);
	assert_true(d->has_vectors);           /* vectors=0: INTx only */
	assert_int_equal(d->vectors, 0);
	assert_int_equal(d->pci_slot, 4);
	d = config_device(cfg, "rng0");
	assert_int_equal(d->rng_max_bytes, 1234);
	assert_int_equal(d->rng_period_ms, 1000);
	d = config_device(cfg, "rng1");
	assert_int_equal(d->rng_max_bytes, 0);  /* unlimited */
	assert_int_equal(d->pci_slot, 5);
	d = config_device(cfg, "b0");
	assert_int_equal(d->type, CFG_DEV_VIRTIO_BALLOON);
	assert_true(d->deflate_on_oom);
	free(cfg);
	cfg = CFG_OK("-device", "virtio-balloon-device");
	assert_false(cfg->devices[0].deflate_on_oom);
	free(cfg);
}

/* StratoVirt: max-bytes/period*1000 must lie in [64, 1e9] bytes/s. */
static void test_rng_rate(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-object", "rng-random,id=r", "-device", "virtio-rng-device,rng=r,max-bytes=63,period=1000", NULL },
		  "max-bytes=63,period=1000 is 63 bytes/s", "64-1000000000" },
		{ { "-object", "rng-random,id=r", "-device", "virtio-rng-device,rng=r,max-bytes=1000000001,period=1000", NULL },
		  "1000000001 bytes/s", NULL },
		{ { "-object", "rng-random,id=r", "-device", "virtio-rng-device,rng=r,max-bytes=1,period=4294967295", NULL },
		  "is 0 bytes/s", NULL },
		{ { "-object", "rng-random,id=r", "-device", "virtio-rng-device,rng=r,max-bytes=9223372036854775807,period=1", NULL },
		  "out of range", NULL },
		{ { "-object", "rng-random,id=r", "-device", "virtio-rng-device,rng=r,period=1000", NULL },
		  "period= needs max-bytes=", NULL },
		{ { "-object", "rng-random,id=r", "-device", "virtio-rng-device,rng=r,max-bytes=0", NULL },
		  "max-bytes='0' is out of range", NULL },
		{ { "-object", "rng-random,id=r", "-device", "virtio-rng-device,rng=r,max-bytes=100,period=0", NULL },
		  "period='0' is out of range", NULL },
	};
	struct machine_config *cfg;

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
	cfg = CFG_OK("-object", "rng-random,id=r", "-device", "virtio-rng-device,rng=r,max-bytes=64,period=1000");
	free(cfg);
	cfg = CFG_OK("-object", "rng-random,id=r", "-device", "virtio-rng-device,rng=r,max-bytes=1000000000");
	assert_int_equal(cfg->devices[0].rng_period_ms, 1000);
	free(cfg);
	cfg = CFG_OK("-object", "rng-random,id=r", "-device", "virtio-rng-device,rng=r,max-bytes=1,period=15");
	free(cfg);
}

static void test_console_nvdimm_debug_bridge(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"-machine", "q35,nvdimm=on",
		"-device", "virtio-serial-device,id=vs0",
		"-device", "virtio-serial-pci,id=vs1,addr=2",
		"-chardev", "socket,id=c0,path=a.sock,server,nowait",
		"-chardev", "stdio,id=c1",
		"-device", "virtconsole,chardev=c0,id=con0",
		"-device", "virtconsole,chardev=c1,id=con1,bus=vs1.0",
		"-object", "memory-backend-file,id=m0,mem-path=root.img,size=256M",
		"-device", "nvdimm,id=nv0,memdev=m0,unarmed=on,label-size=128K",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=4,id=dbg",
		"-device", "pci-bridge,id=br0,chassis_nr=1,addr=0x1f",
		"-drive", "id=d0,file=x",
		"-device", "virtio-blk-pci,drive=d0,bus=br0,addr=0,id=b");
	const struct cfg_device *d;

	(void)state;
	d = config_device(cfg, "con0");
	assert_int_equal(d->type, CFG_DEV_VIRTCONSOLE);
	assert_int_equal(d->parent, 0);   /* the first virtio-serial */
	d = config_device(cfg, "con1");
	assert_string_equal(d->bus, "vs1");
	assert_int_equal(d->parent, 1);
	d = config_device(cfg, "nv0");
	assert_true(d->unarmed);
	assert_int_equal(d->label_size, 128 << 10);
	d = config_device(cfg, "dbg");
	assert_int_equal(d->iobase, 0xf4);
	assert_int_equal(d->iosize, 4);
	d = config_device(cfg, "br0");
	assert_int_equal(d->chassis_nr, 1);
	assert_int_equal(d->pci_slot, 0x1f);
	d = config_device(cfg, "b");
	assert_int_equal(d->parent, 6);
	assert_int_equal(d->pci_slot, 0);
	free(cfg);
	cfg = CFG_OK("-device", "isa-debug-exit");
	assert_int_equal(cfg->devices[0].iobase, 0x501);
	assert_int_equal(cfg->devices[0].iosize, 2);
	free(cfg);
}

static void test_device_props_bad(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-device", "virtio-gpu-pci", NULL }, "device 'virtio-gpu-pci' is not supported", "virtio-blk-device" },
		{ { "-device", "id=x", NULL }, "names no device", NULL },
		{ { "-device", "virtio-blk-device", NULL }, "virtio-blk-device needs drive=ID", NULL },
		{ { "-device", "virtio-net-device", NULL }, "needs netdev=ID", NULL },
		{ { "-device", "virtconsole", NULL }, "needs chardev=ID", NULL },
		{ { "-device", "virtio-rng-device", NULL }, "needs rng=ID", NULL },
		{ { "-device", "nvdimm", NULL }, "nvdimm needs memdev=ID", NULL },
		{ { "-device", "virtio-blk-device,drive=d0,bus=pcie.0", NULL }, "unknown property 'bus'", "id, drive, serial" },
		{ { "-device", "virtio-blk-device,drive=d0,mac=52:54:00:00:00:01", NULL }, "'mac'", NULL },
		{ { "-device", "virtio-net-device,netdev=n,drive=d", NULL }, "'drive'", NULL },
		{ { "-device", "virtio-blk-device,drive=d0,serial=123456789012345678901", NULL }, "serial is too long", "at most 20" },
		{ { "-device", "virtio-blk-device,drive=d0,serial=a\tb", NULL }, "not printable", NULL },
		{ { "-device", "virtio-blk-device,drive=d0,share-rw=maybe", NULL }, "share-rw='maybe'", NULL },
		{ { "-device", "virtio-net-device,netdev=n,share-rw=on", NULL }, "'share-rw'", NULL },
		{ { "-device", "virtio-blk-device,drive=0d", NULL }, "drive='0d' is not a valid id", NULL },
		{ { "-device", "virtio-net-device,netdev=n,mac=52:54:00:12:34", NULL }, "mac='52:54:00:12:34'", "xx:xx" },
		{ { "-device", "virtio-net-device,netdev=n,mac=52:54:00:12:34:5g", NULL }, "not a MAC", NULL },
		{ { "-device", "virtio-net-device,netdev=n,mac=52-54-00-12-34-56", NULL }, "not a MAC", NULL },
		{ { "-device", "virtio-net-device,netdev=n,mac=52:54:00:12:34:+5", NULL }, "not a MAC", NULL },
		{ { "-device", "virtio-net-device,netdev=n,mac=01:00:5e:00:00:01", NULL }, "multicast", NULL },
		{ { "-device", "virtio-net-device,netdev=n,mac=00:00:00:00:00:00", NULL }, "not a MAC", NULL },
		{ { "-device", "virtio-net-pci,netdev=n,vectors=65", NULL }, "vectors=65 is not supported", "accepted: 0-64" },
		{ { "-device", "virtio-net-pci,netdev=n,vectors=2049", NULL }, "out of range", NULL },
		{ { "-device", "virtio-net-pci,netdev=n,mq=maybe", NULL }, "mq='maybe'", NULL },
		{ { "-device", "virtio-net-pci,netdev=n,disable-modern=on,disable-legacy=on", NULL }, "leave nothing", NULL },
		{ { "-device", "virtio-net-pci,netdev=n,iothread=io0,disable-modern=on", NULL }, "iothread= needs the modern interface", NULL },
		{ { "-device", "nvdimm,memdev=m,label-size=64K", NULL }, "label-size='64K' is out of range", "128K" },
		{ { "-device", "nvdimm,memdev=m,unarmed=x", NULL }, "unarmed='x'", NULL },
		{ { "-device", "isa-debug-exit,iobase=0x10000", NULL }, "iobase='0x10000' is out of range", NULL },
		{ { "-device", "isa-debug-exit,iosize=3", NULL }, "iosize='3'", "1, 2, 4" },
		{ { "-device", "isa-debug-exit,iosize=8", NULL }, "out of range", NULL },
		{ { "-device", "isa-debug-exit,iobase=0xffff,iosize=2", NULL }, "beyond port 0xffff", NULL },
		{ { "-device", "isa-debug-exit,iobase=0xzz", NULL }, "is not a number", NULL },
		{ { "-device", "pci-bridge,id=b,chassis_nr=0", NULL }, "chassis_nr='0'", NULL },
		{ { "-device", "virtio-balloon-device,deflate-on-oom=yes-please", NULL }, "deflate-on-oom", NULL },
		{ { "-device", "virtio-balloon-device,id=b,id=c", NULL }, "'id' given twice", NULL },
	};

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

/* vhost-user-blk/-fs (issue 16): properties, limits, the tag. */
static void test_vhost_user(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"-machine", "q35",
		"-chardev", "socket,id=c0,path=/tmp/blk.sock",
		"-chardev", "socket,id=c1,path=/tmp/fs.sock",
		"-device", "vhost-user-blk-pci,chardev=c0,num-queues=4,addr=0x5",
		"-device", "vhost-user-fs-pci,chardev=c1,tag=kataShared,num-request-queues=2,queue-size=1024");
	const struct cfg_device *d;

	(void)state;
	assert_int_equal(cfg->ndevices, 2);
	d = &cfg->devices[0];
	assert_int_equal(d->type, CFG_DEV_VHOST_USER_BLK);
	assert_int_equal(d->transport, CFG_TRANSPORT_PCI);
	assert_string_equal(d->chardev, "c0");
	assert_int_equal(d->vhu_queues, 4);
	assert_string_equal(config_device_name(d), "vhost-user-blk-pci");
	d = &cfg->devices[1];
	assert_int_equal(d->type, CFG_DEV_VHOST_USER_FS);
	assert_string_equal(d->vhu_tag, "kataShared");
	assert_int_equal(d->vhu_queues, 2);
	assert_int_equal(d->vhu_queue_size, 1024);
	free(cfg);
	/* 36 bytes is the limit, inclusive. */
	cfg = CFG_OK("-chardev", "socket,id=c1,path=/s",
		     "-device", "vhost-user-fs-device,chardev=c1,tag=012345678901234567890123456789012345");
	assert_int_equal(strlen(cfg->devices[0].vhu_tag), 36);
	assert_int_equal(cfg->devices[0].transport, CFG_TRANSPORT_MMIO);
	free(cfg);
}

static void test_vhost_user_bad(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-chardev", "socket,id=c,path=/s", "-device", "vhost-user-fs-pci,chardev=c,tag=0123456789012345678901234567890123456", NULL },
		  "must be 1-36 bytes", NULL },
		{ { "-chardev", "socket,id=c,path=/s", "-device", "vhost-user-fs-pci,chardev=c", NULL },
		  "needs tag=NAME", NULL },
		{ { "-device", "vhost-user-blk-pci", NULL }, "needs chardev=ID", NULL },
		{ { "-device", "vhost-user-blk-pci,chardev=nope", NULL }, "names no -chardev", NULL },
		{ { "-chardev", "socket,id=c,path=/s", "-device", "vhost-user-blk-pci,chardev=c,num-queues=17", NULL },
		  "num-queues", NULL },
		{ { "-chardev", "socket,id=c,path=/s", "-device", "vhost-user-fs-pci,chardev=c,tag=t,queue-size=100", NULL },
		  "not a power of 2", NULL },
		{ { "-chardev", "socket,id=c,path=/s", "-device", "vhost-user-blk-pci,chardev=c,tag=t", NULL },
		  "unknown property 'tag'", "num-queues" },
	};

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

static void test_pci_addr_syntax(void **state)
{
	static const struct { const char *addr; int slot, func; } ok[] = {
		{ "3", 3, 0 }, { "0x3", 3, 0 }, { "0x3.0x0", 3, 0 }, { "1f", 31, 0 },
		{ "0x1F.0x7", 31, 7 }, { "10", 16, 0 }, { "2.1", 2, 1 },
	};
	static const char *const bad[] = {
		"0x20", "32", "-1", "3.8", "3.", ".1", "x", "3.x", "", "3.0.0",
		"0x", "+3", " 3", "3.-1", "99999999999999999999",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char dev[96], dev0[96];
		struct machine_config *cfg;

		snprintf(dev, sizeof(dev), "virtio-rng-pci,rng=r,addr=%s,id=x", ok[i].addr);
		snprintf(dev0, sizeof(dev0), "virtio-balloon-pci,addr=%x.0,multifunction=on", (unsigned)ok[i].slot);
		if (ok[i].func == 0) {
			cfg = CFG_OK(Q35, "-object", "rng-random,id=r", "-device", dev);
			assert_int_equal(cfg->devices[0].pci_slot, ok[i].slot);
			assert_int_equal(cfg->devices[0].pci_func, 0);
		} else {
			cfg = CFG_OK(Q35, "-object", "rng-random,id=r", "-device", dev0,
				     "-device", dev);
			assert_int_equal(cfg->devices[1].pci_slot, ok[i].slot);
			assert_int_equal(cfg->devices[1].pci_func, ok[i].func);
		}
		free(cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char dev[96];

		snprintf(dev, sizeof(dev), "virtio-rng-pci,rng=r,addr=%s", bad[i]);
		cfgt_bad((const char *const[]){ Q35, "-object", "rng-random,id=r", "-device", dev, NULL },
			 "is not a PCI address", "slot 0x0-0x1f");
	}
}

static void test_references(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-device", "virtio-blk-device,drive=d9", NULL }, "drive='d9' names no -drive", "-drive id=d9" },
		{ { "-device", "virtio-net-device,netdev=n9", NULL }, "netdev='n9' names no -netdev", NULL },
		{ { "-device", "virtio-serial-device", "-device", "virtconsole,chardev=c9", NULL }, "chardev='c9' names no -chardev", NULL },
		{ { "-device", "virtio-rng-device,rng=r9", NULL }, "rng='r9' names no rng-random", NULL },
		{ { "-object", "iothread,id=r9", "-device", "virtio-rng-device,rng=r9", NULL }, "rng='r9' names no rng-random", NULL },
		{ { "-object", "rng-random,id=io", "-drive", "id=d,file=f", "-device", "virtio-blk-device,drive=d,iothread=io", NULL },
		  "iothread='io' names no iothread", NULL },
		{ { "-machine", "microvm,nvdimm=on", "-device", "nvdimm,memdev=m9", NULL }, "memdev='m9' names no memory backend", NULL },
		{ { "-machine", "microvm,nvdimm=on", "-object", "rng-random,id=m", "-device", "nvdimm,memdev=m", NULL }, "names no memory backend", NULL },
		/* Each backend serves one device. */
		{ { "-drive", "id=d,file=f", "-device", "virtio-blk-device,drive=d", "-device", "virtio-blk-device,drive=d,id=second", NULL },
		  "virtio-blk-device 'second': drive 'd' is already used", NULL },
		{ { "-netdev", "tap,id=n,ifname=t", "-device", "virtio-net-device,netdev=n", "-device", "virtio-net-device,netdev=n", NULL },
		  "virtio-net-device #1: netdev 'n' is already used", NULL },
		{ { "-chardev", "null,id=c", "-device", "virtio-serial-device", "-device", "virtconsole,chardev=c",
		    "-device", "virtconsole,chardev=c", NULL }, "chardev 'c' is already used", NULL },
		{ { "-object", "rng-random,id=r", "-device", "virtio-rng-device,rng=r", "-device", "virtio-rng-device,rng=r", NULL },
		  "rng 'r' is already used", NULL },
		{ { "-machine", "microvm,nvdimm=on", "-object", "memory-backend-ram,id=m,size=64M", "-device", "nvdimm,memdev=m",
		    "-device", "nvdimm,memdev=m", NULL }, "memdev 'm' is already used", NULL },
		{ { "-machine", "microvm,nvdimm=on", "-object", "memory-backend-ram,id=m,size=256M", "-device", "nvdimm,memdev=m",
		    "-numa", "node,memdev=m", NULL }, "-numa: memdev 'm' is already used by a device", NULL },
		{ { "-machine", "microvm,nvdimm=on", "-object", "memory-backend-ram,id=m,size=128K",
		    "-device", "nvdimm,memdev=m,label-size=128K", NULL }, "label-size leaves no room", NULL },
		/* Device ids are one namespace across models. */
		{ { "-device", "virtio-balloon-device,id=x", "-device", "isa-debug-exit,id=x", NULL }, "-device: id 'x' is used twice", NULL },
		{ { "-device", "virtio-serial-device,id=vs", "-chardev", "null,id=c", "-device", "virtconsole,chardev=c,bus=nosuch.0", NULL },
		  "bus='nosuch' names no virtio-serial", NULL },
		{ { "-device", "virtio-balloon-device,id=vs", "-chardev", "null,id=c", "-device", "virtconsole,chardev=c,bus=vs", NULL },
		  "bus='vs' names no virtio-serial", NULL },
	};
	struct machine_config *cfg;

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
	/* The same id in different namespaces is fine (QEMU too), and an
	 * iothread serves any number of devices. */
	cfg = CFG_OK("-object", "iothread,id=x", "-drive", "id=x,file=f", "-netdev", "tap,id=x,ifname=t",
		     "-chardev", "null,id=x", "-drive", "id=y,file=g",
		     "-device", "virtio-blk-device,drive=x,id=x,iothread=x",
		     "-device", "virtio-blk-device,drive=y,iothread=x",
		     "-device", "virtio-net-device,netdev=x,iothread=x");
	assert_int_equal(cfg->ndevices, 3);
	free(cfg);
}

static void test_machine_rules(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-object", "memory-backend-ram,id=m,size=64M", "-device", "nvdimm,memdev=m", NULL },
		  "nvdimm #0 needs -machine ...,nvdimm=on", NULL },
		{ { "-drive", "id=d,file=f", "-device", "virtio-blk-pci,drive=d", NULL },
		  "virtio-blk-pci #0: virtio-*-pci needs -machine q35", NULL },
		{ { "-device", "pci-bridge,id=b", NULL }, "needs -machine q35", NULL },
		{ { "-device", "virtio-balloon-device", "-device", "virtio-balloon-device", NULL }, "only one virtio-balloon", NULL },
		{ { "-device", "isa-debug-exit", "-device", "isa-debug-exit,iobase=0xf4", NULL }, "only one isa-debug-exit", NULL },
	};

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

static void test_pci_rules(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { Q35, "-device", "virtio-balloon-pci,addr=0", NULL }, "addr=0x0 on pcie.0 is the host bridge", NULL },
		{ { Q35, "-device", "virtio-balloon-pci,addr=3,id=a", "-device", "virtio-serial-pci,addr=0x3.0x0,id=b", NULL },
		  "virtio-serial-pci 'b': PCI address pcie.0:03.0 is already used by virtio-balloon-pci 'a'", NULL },
		{ { Q35, "-device", "virtio-balloon-pci,addr=3.1", NULL }, "function 1 of slot 0x3 needs a function 0 with multifunction=on", NULL },
		{ { Q35, "-device", "virtio-balloon-pci,addr=3.0", "-device", "virtio-serial-pci,addr=3.1", NULL },
		  "needs a function 0 with multifunction=on", NULL },
		{ { Q35, "-device", "virtio-balloon-pci,multifunction=on", NULL }, "multifunction=on needs addr=", NULL },
		{ { Q35, "-device", "virtio-balloon-pci,bus=pcie.1", NULL }, "bus='pcie.1' is neither pcie.0 nor a pci-bridge id", NULL },
		{ { Q35, "-device", "virtio-serial-pci,id=vs", "-device", "virtio-balloon-pci,bus=vs", NULL }, "bus='vs' is neither", NULL },
		{ { Q35, "-device", "pci-bridge,id=b1", "-device", "pci-bridge,id=b2,bus=b1", NULL }, "a pci-bridge behind a pci-bridge", NULL },
		{ { Q35, "-device", "pci-bridge,id=b1,shpc=on", "-device", "virtio-balloon-pci,bus=b1,addr=0", NULL },
		  "slot 0 of pci-bridge 'b1' is reserved with shpc=on", NULL },
		{ { Q35, "-device", "pci-bridge,id=b1", "-device", "virtio-balloon-pci,bus=b1,addr=4,id=x",
		    "-device", "virtio-serial-pci,bus=b1,addr=4", NULL }, "PCI address b1:04.0 is already used by virtio-balloon-pci 'x'", NULL },
	};
	struct machine_config *cfg;

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
	/* The same slot on different buses, and a proper multi-function slot. */
	cfg = CFG_OK(Q35, "-device", "pci-bridge,id=b1,addr=2", "-device", "virtio-balloon-pci,addr=4",
		     "-device", "virtio-serial-pci,bus=b1,addr=4,multifunction=on",
		     "-object", "rng-random,id=r", "-device", "virtio-rng-pci,rng=r,bus=b1,addr=4.3");
	assert_int_equal(cfg->devices[2].parent, 0);
	assert_int_equal(cfg->devices[3].pci_func, 3);
	free(cfg);
	/* q35 takes virtio-mmio devices too. */
	cfg = CFG_OK(Q35, "-device", "virtio-balloon-device");
	assert_int_equal(cfg->devices[0].transport, CFG_TRANSPORT_MMIO);
	free(cfg);
}

/* Kata's pcie-root-port line: chassis=, slot=, one device at addr 0. */
static void test_pcie_root_port(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { Q35, "-device", "pcie-root-port,id=rp,chassis=0", NULL }, "chassis='0'", NULL },
		{ { Q35, "-device", "pcie-root-port,id=rp,slot=8192", NULL }, "slot='8192'", NULL },
		{ { Q35, "-device", "pcie-root-port,id=rp,shpc=on", NULL }, "unknown property 'shpc'", NULL },
		{ { Q35, "-device", "pcie-root-port,id=rp,chassis=1", "-device", "virtio-balloon-pci,bus=rp,addr=1", NULL },
		  "pcie-root-port 'rp' has one slot (accepted: addr=0x0)", NULL },
		{ { Q35, "-device", "pcie-root-port,id=rp,chassis=1", "-device", "virtio-balloon-pci,bus=rp",
		    "-device", "virtio-serial-pci,bus=rp", NULL }, "pcie-root-port 'rp' already holds virtio-balloon-pci #1", NULL },
		{ { Q35, "-device", "pcie-root-port,id=rp,chassis=1", "-device", "pcie-root-port,id=r2,bus=rp", NULL },
		  "nothing but an endpoint goes on pcie-root-port 'rp'", NULL },
		{ { "-device", "pcie-root-port,id=rp", NULL }, "needs -machine q35", NULL },
	};
	struct machine_config *cfg;

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
	cfg = CFG_OK(Q35, "-device", "pcie-root-port,id=rp0,bus=pcie.0,chassis=3,slot=17,addr=2",
		     "-device", "virtio-balloon-pci,bus=rp0,addr=0x0");
	assert_int_equal(cfg->devices[0].type, CFG_DEV_PCI_BRIDGE);
	assert_true(cfg->devices[0].pcie_port);
	assert_int_equal(cfg->devices[0].chassis_nr, 3);
	assert_int_equal(cfg->devices[0].port_slot, 17);
	assert_string_equal(config_device_name(&cfg->devices[0]), "pcie-root-port");
	assert_int_equal(cfg->devices[1].parent, 0);
	assert_int_equal(cfg->devices[1].pci_slot, 0);
	free(cfg);
}

/* device_add's path into the description: all or nothing, and removal
 * renumbers the parents of what follows. */
static void test_config_add_remove_device(void **state)
{
	struct machine_config *cfg;
	char err[256];

	(void)state;
	cfg = CFG_OK(Q35, "-device", "virtio-balloon-pci,id=bal,bus=rp0,addr=0",
		     "-device", "pcie-root-port,id=rp0,chassis=1,addr=2",
		     "-device", "pcie-root-port,id=rp1,chassis=2,addr=3",
		     "-drive", "id=d0,file=/dev/null,readonly=on");
	struct machine_config *before = malloc(sizeof(*before));
	memcpy(before, cfg, sizeof(*cfg));
	/* Refusals leave it as it was. */
	assert_int_equal(config_add_device(cfg, "virtio-blk-pci,id=v0,drive=zz,bus=rp1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "zz"));
	assert_int_equal(config_add_device(cfg, "virtio-blk-pci,id=bal,drive=d0,bus=rp1", err, sizeof(err)), -1);
	assert_int_equal(config_add_device(cfg, "virtio-blk-pci,id=v0,drive=d0,bus=rp0", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already holds"));
	assert_memory_equal(cfg, before, sizeof(*cfg));
	/* Accepted: appended, its bus resolved. */
	assert_int_equal(config_add_device(cfg, "driver=virtio-blk-pci,id=v0,drive=d0,bus=rp1,addr=0x0",
					   err, sizeof(err)), 0);
	assert_int_equal(cfg->ndevices, 4);
	assert_int_equal(cfg->devices[3].parent, 2);
	/* Removing the first device moves the ports down a place. */
	assert_int_equal(config_remove_device(cfg, "bal"), 0);
	assert_int_equal(cfg->ndevices, 3);
	assert_string_equal(cfg->devices[2].id, "v0");
	assert_int_equal(cfg->devices[2].parent, 1);
	assert_string_equal(cfg->devices[1].id, "rp1");
	assert_int_equal(config_remove_device(cfg, "bal"), -1);
	assert_int_equal(config_remove_device(cfg, ""), -1);
	free(before);
	free(cfg);
}

/* "driver=" spelled out, as Kata writes it, and the 64-device limit. */
static void test_driver_key_and_limits(void **state)
{
	const char *args[2 * CFG_MAX_ITEMS + 4];
	struct machine_config *cfg;
	int n = 0;

	(void)state;
	cfg = CFG_OK("-device", "driver=virtio-balloon-device,id=b");
	assert_int_equal(cfg->devices[0].type, CFG_DEV_VIRTIO_BALLOON);
	free(cfg);
	cfg = CFG_OK("-device", "id=b,driver=virtio-balloon-device");
	assert_string_equal(cfg->devices[0].id, "b");
	free(cfg);
	for (int i = 0; i < CFG_MAX_ITEMS; i++) {
		args[n++] = "-device";
		args[n++] = "virtio-serial-device";
	}
	args[n] = NULL;
	cfg = cfgt_ok(args);
	assert_int_equal(cfg->ndevices, CFG_MAX_ITEMS);
	free(cfg);
	args[n++] = "-device";
	args[n++] = "virtio-serial-device";
	args[n] = NULL;
	cfgt_bad(args, "too many devices (at most 64)", NULL);
	/* A full device table leaves no room for the implied virtio-serial. */
	n = 0;
	args[n++] = "-chardev";
	args[n++] = "null,id=c";
	for (int i = 0; i < CFG_MAX_ITEMS - 1; i++) {
		args[n++] = "-device";
		args[n++] = "virtio-balloon-device";
	}
	args[n++] = "-device";
	args[n++] = "virtconsole,chardev=c";
	args[n] = NULL;
	cfgt_bad(args, "no room", NULL);
}

/* Eight virtconsoles on one virtio-serial are one more than its ports
 * (VCON_MAX_PORTS); the board used to find that after the parse. */
static void test_too_many_consoles(void **state)
{
	const char *args[40];
	char ids[8][16], cons[8][32];
	unsigned n = 0;

	(void)state;
	for (unsigned i = 0; i < 8; i++) {
		snprintf(ids[i], sizeof(ids[i]), "null,id=c%u", i);
		snprintf(cons[i], sizeof(cons[i]), "virtconsole,chardev=c%u", i);
		args[n++] = "-chardev";
		args[n++] = ids[i];
		args[n++] = "-device";
		args[n++] = cons[i];
	}
	args[n] = NULL;
	cfgt_bad(args, "virtconsole #7: more than 7 virtconsoles on one virtio-serial", "bus=");
	args[n - 4] = NULL;    /* seven fit */
	struct machine_config *cfg = calloc(1, sizeof(*cfg));
	char err[256];
	const char *argv[40] = { "vmm" };
	for (unsigned i = 0; args[i]; i++)
		argv[i + 1] = args[i];
	assert_int_equal(config_parse(cfg, (int)(n - 4 + 1), (char **)argv, err, sizeof(err)), 0);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_too_many_consoles),
		cmocka_unit_test(test_blk),
		cmocka_unit_test(test_vhost_user),
		cmocka_unit_test(test_vhost_user_bad),
		cmocka_unit_test(test_net_rng_balloon),
		cmocka_unit_test(test_rng_rate),
		cmocka_unit_test(test_console_nvdimm_debug_bridge),
		cmocka_unit_test(test_device_props_bad),
		cmocka_unit_test(test_pci_addr_syntax),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_machine_rules),
		cmocka_unit_test(test_pci_rules),
		cmocka_unit_test(test_pcie_root_port),
		cmocka_unit_test(test_config_add_remove_device),
		cmocka_unit_test(test_driver_key_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
