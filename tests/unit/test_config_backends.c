/* core/config: host backends (-object, -drive, -netdev, -chardev) and
 * their shorthands (-serial, -qmp): happy paths, every bad value, the
 * QEMU ",," escape. */
#include "config_fixture.h"

static void test_object(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"-object", "memory-backend-file,id=mem0,mem-path=/img,,with,,commas,size=268435456,readonly=on,share=off",
		"-object", "memory-backend-ram,id=r0,size=64M,share=on",
		"-object", "rng-random,id=rng0,filename=/dev/random",
		"-object", "rng-random,id=rng1",
		"-object", "iothread,id=io1",
		"-object", "qom-type=iothread,id=io2");
	const struct cfg_object *o;

	(void)state;
	assert_int_equal(cfg->nobjects, 6);
	o = config_object(cfg, "mem0");
	assert_non_null(o);
	assert_int_equal(o->type, CFG_OBJ_MEMORY_BACKEND_FILE);
	assert_string_equal(o->mem_path, "/img,with,commas");
	assert_int_equal(o->size, 256ull << 20);
	assert_true(o->readonly);
	assert_false(o->share);
	o = config_object(cfg, "r0");
	assert_int_equal(o->type, CFG_OBJ_MEMORY_BACKEND_RAM);
	assert_int_equal(o->size, 64ull << 20);
	assert_true(o->share);
	assert_string_equal(config_object(cfg, "rng0")->filename, "/dev/random");
	assert_string_equal(config_object(cfg, "rng1")->filename, "/dev/urandom");
	assert_int_equal(config_object(cfg, "io2")->type, CFG_OBJ_IOTHREAD);
	assert_null(config_object(cfg, "nosuch"));
	assert_null(config_object(cfg, ""));
	free(cfg);
}

/* memory-backend-memfd: always shareable (vhost-user needs an fd). */
static void test_object_memfd(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"-m", "64M",
		"-object", "memory-backend-memfd,id=m0,size=64M,share=on",
		"-numa", "node,memdev=m0");
	const struct cfg_object *o = config_object(cfg, "m0");

	(void)state;
	assert_non_null(o);
	assert_int_equal(o->type, CFG_OBJ_MEMORY_BACKEND_MEMFD);
	assert_int_equal(o->size, 64ull << 20);
	assert_true(o->share);
	assert_int_equal(cfg->nnuma, 1);
	free(cfg);
}

static void test_object_bad(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-object", "memory-backend-epc,id=m,size=1M", NULL }, "'memory-backend-epc'", "rng-random, iothread" },
		{ { "-object", "id=x", NULL }, "object type ''", NULL },
		{ { "-object", "memory-backend-ram,size=1M", NULL }, "id= is required", NULL },
		{ { "-object", "memory-backend-ram,id=m", NULL }, "'m': size= is required", NULL },
		{ { "-object", "memory-backend-file,id=m,size=1M", NULL }, "mem-path= is required", NULL },
		{ { "-object", "memory-backend-ram,id=m,size=1000", NULL }, "'1000' is out of range", NULL },
		{ { "-object", "memory-backend-ram,id=m,size=5000", NULL }, "not a multiple of 4 KiB", NULL },
		{ { "-object", "memory-backend-ram,id=m,size=1Z", NULL }, "size='1Z' is not a size", NULL },
		{ { "-object", "memory-backend-ram,id=m,size=20000000000000000000", NULL }, "out of range", NULL },
		{ { "-object", "memory-backend-ram,id=m,size=1M,mem-path=/x", NULL }, "'mem-path'", "id, size, share" },
		{ { "-object", "memory-backend-ram,id=m,size=1M,readonly=on", NULL }, "'readonly'", NULL },
		{ { "-object", "memory-backend-file,id=m,size=1M,mem-path=/x,share=perhaps", NULL }, "share='perhaps'", NULL },
		{ { "-object", "rng-random,id=r,filename=", NULL }, "filename is empty", NULL },
		{ { "-object", "rng-random,id=r,size=1M", NULL }, "'size'", "id, filename" },
		{ { "-object", "iothread,id=io,poll-max-ns=10", NULL }, "'poll-max-ns'", NULL },
		{ { "-object", "iothread,id=1io", NULL }, "id='1io' is not a valid id", NULL },
		{ { "-object", "iothread,id=io/1", NULL }, "not a valid id", NULL },
		{ { "-object", "iothread,id=io,id=io2", NULL }, "'id' given twice", NULL },
		{ { "-object", "iothread,id=a", "-object", "rng-random,id=a", NULL }, "-object: id 'a' is used twice", NULL },
		{ { "-object", "iothread,id=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL }, "too long", NULL },
	};
	const char *nine[20];

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
	/* At most 8 iothreads (StratoVirt). */
	for (int i = 0; i < 9; i++) {
		static const char *const ids[] = {
			"iothread,id=i0", "iothread,id=i1", "iothread,id=i2",
			"iothread,id=i3", "iothread,id=i4", "iothread,id=i5",
			"iothread,id=i6", "iothread,id=i7", "iothread,id=i8" };
		nine[2 * i] = "-object";
		nine[2 * i + 1] = ids[i];
	}
	nine[18] = NULL;
	cfgt_bad(nine, "too many iothreads (at most 8)", NULL);
	nine[16] = NULL;
	free(cfgt_ok(nine));
}

static void test_drive(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"-drive", "id=d0,file=disk.img,readonly=off,direct=off,throttling.iops-total=200",
		"-drive", "id=d1,file=/a,,b.img,readonly=on,direct=on,if=none,format=raw,aio=native",
		"-drive", "id=d2,file=c.img,cache=none,throttling.iops-total=1000000",
		"-drive", "id=d3,file=d.img,cache=unsafe,aio=io_uring,throttling.iops-total=0",
		"-drive", "id=d4,file=e.img,cache=directsync,direct=on",
		"-drive", "file=f.img,id=d5,cache=writethrough,readonly");
	const struct cfg_drive *d;

	(void)state;
	d = config_drive(cfg, "d0");
	assert_string_equal(d->file, "disk.img");
	assert_false(d->readonly);
	assert_false(d->direct);
	assert_int_equal(d->iops_total, 200);
	assert_int_equal(d->cache, CFG_CACHE_WRITEBACK);
	assert_true(d->flush);
	assert_int_equal(d->aio, CFG_AIO_THREADS);
	assert_string_equal(d->format, "raw");
	d = config_drive(cfg, "d1");
	assert_string_equal(d->file, "/a,b.img");
	assert_true(d->readonly);
	assert_true(d->direct);
	assert_int_equal(d->aio, CFG_AIO_NATIVE);
	d = config_drive(cfg, "d2");
	assert_true(d->direct);  /* cache=none is O_DIRECT */
	assert_int_equal(d->cache, CFG_CACHE_NONE);
	assert_int_equal(d->iops_total, 1000000);
	d = config_drive(cfg, "d3");
	assert_false(d->flush);
	assert_int_equal(d->aio, CFG_AIO_IO_URING);
	assert_int_equal(d->iops_total, 0);
	assert_true(config_drive(cfg, "d4")->direct);
	assert_int_equal(config_drive(cfg, "d5")->cache, CFG_CACHE_WRITETHROUGH);
	assert_true(config_drive(cfg, "d5")->readonly);
	free(cfg);
}

static void test_drive_bad(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-drive", "id=d0,file=x,throttling.iops-total=1000001", NULL },
		  "throttling.iops-total='1000001' is out of range (0-1000000)", NULL },
		{ { "-drive", "id=d0,file=x,throttling.iops-total=-5", NULL }, "is not a number", NULL },
		{ { "-drive", "id=d0,file=x,throttling.iops-total=", NULL }, "is not a number", NULL },
		{ { "-drive", "file=x", NULL }, "-drive: id= is required", NULL },
		{ { "-drive", "id=d0", NULL }, "'d0': file= is required", NULL },
		{ { "-drive", "id=d0,file=", NULL }, "file is empty", NULL },
		{ { "-drive", "id=d0,file=x,if=virtio", NULL }, "if='virtio'", "none" },
		{ { "-drive", "id=d0,file=x,format=qcow2", NULL }, "format='qcow2'", "raw" },
		{ { "-drive", "id=d0,file=x,cache=fast", NULL }, "cache='fast'", "writeback, none" },
		{ { "-drive", "id=d0,file=x,aio=posix", NULL }, "aio='posix'", "threads" },
		{ { "-drive", "id=d0,file=x,readonly=2", NULL }, "readonly='2'", "on, off" },
		{ { "-drive", "id=d0,file=x,cache=none,direct=off", NULL }, "direct=off conflicts", NULL },
		{ { "-drive", "id=d0,file=x,discard=unmap", NULL }, "'discard'", "throttling.iops-total" },
		{ { "-drive", "id=d0,file=x", "-drive", "id=d0,file=y", NULL }, "-drive: id 'd0' is used twice", NULL },
		{ { "-drive", "id=d0,file=x,,", NULL }, NULL, NULL },
	};

	struct machine_config *cfg;

	(void)state;
	/* The last case is fine: ",," is a comma in the file name. */
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]) - 1);
	cfg = cfgt_ok(t[sizeof(t) / sizeof(t[0]) - 1].args);
	assert_string_equal(cfg->drives[0].file, "x,");
	free(cfg);
}

static void test_netdev(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"-netdev", "tap,id=n0,ifname=tap0",
		"-netdev", "tap,id=network-0,vhost=off,fds=5",
		"-netdev", "tap,id=n2,fd=7,script=no,downscript=no,vhost=off",
		"-netdev", "loop,id=lo");
	const struct cfg_netdev *n;

	(void)state;
	n = config_netdev(cfg, "n0");
	assert_int_equal(n->type, CFG_NETDEV_TAP);
	assert_string_equal(n->ifname, "tap0");
	assert_int_equal(n->fd, -1);
	assert_int_equal(n->vhostfd, -1);
	assert_false(n->vhost);
	n = config_netdev(cfg, "network-0");
	assert_int_equal(n->fd, 5);
	assert_false(n->vhost);
	n = config_netdev(cfg, "n2");
	assert_int_equal(n->fd, 7);
	assert_int_equal(n->vhostfd, -1);
	assert_int_equal(config_netdev(cfg, "lo")->type, CFG_NETDEV_LOOP);
	assert_int_equal(config_netdev(cfg, "lo")->queues, 1);
	free(cfg);
}

/* Kata's multiqueue forms: one inherited fd per queue pair, with a
 * vhost fd each; or N queues of a named multi_queue tap. */
static void test_netdev_queues(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"-netdev", "tap,id=a,fds=5:6:7:8",
		"-netdev", "tap,id=b,vhost=on,vhostfds=10:11,fds=12:13",
		"-netdev", "tap,id=c,ifname=tap0,queues=4",
		"-netdev", "tap,id=d,fd=9,vhostfd=3",
		"-netdev", "tap,id=e,vhostfds=20,fds=21");
	const struct cfg_netdev *n;

	(void)state;
	n = config_netdev(cfg, "a");
	assert_int_equal(n->queues, 4);
	assert_int_equal(n->fd, 5);
	assert_int_equal(n->fds[3], 8);
	assert_false(n->vhost);
	assert_int_equal(n->nvhostfds, 0);
	n = config_netdev(cfg, "b");
	assert_int_equal(n->queues, 2);
	assert_true(n->vhost);
	assert_int_equal(n->nvhostfds, 2);
	assert_int_equal(n->vhostfds[1], 11);
	assert_int_equal(n->fds[1], 13);
	n = config_netdev(cfg, "c");
	assert_int_equal(n->queues, 4);
	assert_int_equal(n->fd, -1);
	assert_string_equal(n->ifname, "tap0");
	n = config_netdev(cfg, "d");
	assert_int_equal(n->queues, 1);
	assert_int_equal(n->fd, 9);
	/* QEMU's rule: a vhostfd asks for vhost. */
	assert_true(n->vhost);
	assert_int_equal(n->vhostfd, 3);
	assert_true(config_netdev(cfg, "e")->vhost);
	free(cfg);
}

static void test_netdev_bad(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-netdev", "user,id=n0", NULL }, "netdev type 'user'", "tap, loop" },
		{ { "-netdev", "tap,ifname=tap0", NULL }, "'tap': id= is required", NULL },
		{ { "-netdev", "tap,id=n0", NULL }, "tap needs ifname= or fds=", NULL },
		{ { "-netdev", "tap,id=n0,ifname=averyveryverylongname", NULL }, "ifname is too long", "at most 15" },
		{ { "-netdev", "tap,id=n0,fd=5:6", NULL }, "fd='5:6'", "fds=" },
		{ { "-netdev", "tap,id=n0,fds=5:", NULL }, "fds='5:'", "list of fd numbers" },
		{ { "-netdev", "tap,id=n0,fds=:5", NULL }, "fds=':5'", "list of fd numbers" },
		{ { "-netdev", "tap,id=n0,fds=5::6", NULL }, "fds='5::6'", NULL },
		{ { "-netdev", "tap,id=n0,fds=5:5", NULL }, "fd 5 is given twice", NULL },
		{ { "-netdev", "tap,id=n0,fds=1:2:3:4:5:6:7:8", NULL }, "at most 7", NULL },
		{ { "-netdev", "tap,id=n0,fds=x", NULL }, "fds='x' is not a number", NULL },
		{ { "-netdev", "tap,id=n0,fds=5:-1", NULL }, "'-1'", NULL },
		{ { "-netdev", "tap,id=n0,fds=2147483648", NULL }, "out of range", NULL },
		{ { "-netdev", "tap,id=n0,ifname=t,vhost=auto", NULL }, "vhost='auto'", NULL },
		/* QEMU 7.2's combinations (net/tap.c net_init_tap). */
		{ { "-netdev", "tap,id=n0,fd=5,fds=6", NULL }, "invalid with fd=", NULL },
		{ { "-netdev", "tap,id=n0,fd=5,ifname=t", NULL }, "invalid with fd=", NULL },
		{ { "-netdev", "tap,id=n0,fd=5,queues=2", NULL }, "invalid with fd=", NULL },
		{ { "-netdev", "tap,id=n0,fd=5,vhostfds=4", NULL }, "invalid with fd=", NULL },
		{ { "-netdev", "tap,id=n0,fds=5,queues=2", NULL }, "invalid with fds=", NULL },
		{ { "-netdev", "tap,id=n0,fds=5,ifname=t", NULL }, "invalid with fds=", NULL },
		{ { "-netdev", "tap,id=n0,fds=5,vhostfd=4", NULL }, "invalid with fds=", NULL },
		{ { "-netdev", "tap,id=n0,fds=5:6,vhostfds=4", NULL }, "does not match the number of vhostfds", NULL },
		{ { "-netdev", "tap,id=n0,ifname=t,vhostfd=4", NULL }, "wasn't specified", NULL },
		{ { "-netdev", "tap,id=n0,fds=5,vhost=off,vhostfds=4", NULL }, "vhostfds= needs vhost=on", NULL },
		{ { "-netdev", "tap,id=n0,ifname=t,queues=0", NULL }, "queues", "out of range" },
		{ { "-netdev", "tap,id=n0,ifname=t,queues=8", NULL }, "queues", "out of range" },
		{ { "-netdev", "tap,id=n0,ifname=t,vnet_hdr=on", NULL }, "'vnet_hdr'", "queues" },
		{ { "-netdev", "tap,id=n0,ifname=t,script=/etc/qemu-ifup", NULL }, "script='/etc/qemu-ifup'", "no" },
		{ { "-netdev", "loop,id=n0,ifname=t", NULL }, "'ifname'", "accepted: id" },
		{ { "-netdev", "tap,id=n0,ifname=a", "-netdev", "tap,id=n0,ifname=b", NULL }, "-netdev: id 'n0' is used twice", NULL },
	};

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

static void test_chardev(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"-chardev", "socket,id=c0,path=console.sock,server,nowait",
		"-chardev", "socket,id=c1,path=/run/c.sock,server=on,wait=off",
		"-chardev", "socket,id=c2,path=/run/d.sock,server=on",
		"-chardev", "socket,id=c3,path=/run/e.sock",
		"-chardev", "socket,id=c4,path=/run/f.sock,server=off,reconnect=2",
		"-chardev", "stdio,id=s0,signal=off",
		"-chardev", "file,id=f0,path=out.log",
		"-chardev", "pty,id=p0", "-chardev", "null,id=z0");
	const struct cfg_chardev *ch;

	(void)state;
	ch = config_chardev(cfg, "c0");
	assert_int_equal(ch->type, CFG_CHR_SOCKET);
	assert_string_equal(ch->path, "console.sock");
	assert_true(ch->server);
	assert_false(ch->wait);
	ch = config_chardev(cfg, "c1");
	assert_true(ch->server);
	assert_false(ch->wait);
	ch = config_chardev(cfg, "c2");
	assert_true(ch->server);
	assert_true(ch->wait);   /* QEMU's default for a server */
	ch = config_chardev(cfg, "c3");
	assert_false(ch->server);
	assert_false(ch->wait);
	assert_int_equal(ch->reconnect, 0);
	ch = config_chardev(cfg, "c4");   /* a client, as QEMU has it */
	assert_false(ch->server);
	assert_int_equal(ch->reconnect, 2);
	ch = config_chardev(cfg, "s0");
	assert_int_equal(ch->type, CFG_CHR_STDIO);
	assert_false(ch->signal);
	assert_int_equal(config_chardev(cfg, "f0")->type, CFG_CHR_FILE);
	assert_string_equal(config_chardev(cfg, "f0")->path, "out.log");
	assert_int_equal(config_chardev(cfg, "p0")->type, CFG_CHR_PTY);
	assert_int_equal(config_chardev(cfg, "z0")->type, CFG_CHR_NULL);
	free(cfg);
}

static void test_chardev_bad(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-chardev", "vc,id=v", NULL }, "chardev backend 'vc'", "socket, stdio" },
		{ { "-chardev", "socket,path=x", NULL }, "'socket': id= is required", NULL },
		{ { "-chardev", "socket,id=c0", NULL }, "'c0': path= is required", NULL },
		{ { "-chardev", "file,id=c0", NULL }, "path= is required", NULL },
		{ { "-chardev", "socket,id=c0,path=x,nowait=on", NULL }, "'nowait' takes no value", NULL },
		{ { "-chardev", "socket,id=c0,path=x,server=maybe", NULL }, "server='maybe'", NULL },
		{ { "-chardev", "socket,id=c0,path=x,host=h", NULL }, "'host'", "id, path, server" },
		{ { "-chardev", "stdio,id=c0,path=x", NULL }, "'path'", "id, signal" },
		{ { "-chardev", "socket,id=c0,path=x,reconnect=abc", NULL }, "reconnect='abc' is not a number", NULL },
		{ { "-chardev", "socket,id=c0,path=x,reconnect=-1", NULL }, "reconnect", NULL },
		{ { "-chardev", "socket,id=c0,path=x,server=on,wait=off,reconnect=1", NULL },
		  "'reconnect' option is incompatible with socket in server listen mode", NULL },
		{ { "-chardev", "socket,id=c0,path=x,wait=off", NULL },
		  "'wait' option is incompatible with socket in client connect mode", NULL },
		{ { "-chardev", "socket,id=c0,path=x,server=off,nowait", NULL },
		  "'wait' option is incompatible", NULL },
		{ { "-chardev", "pty,id=c0,signal=on", NULL }, "'signal'", "accepted: id" },
		{ { "-chardev", "null,id=a", "-chardev", "null,id=a", NULL }, "-chardev: id 'a' is used twice", NULL },
	};

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

static void test_serial(void **state)
{
	struct machine_config *cfg = CFG_OK(
		"-serial", "stdio", "-serial", "file:/tmp/s,,1.log",
		"-serial", "unix:/run/s.sock,server,nowait",
		"-chardev", "pty,id=p0", "-serial", "chardev:p0");

	(void)state;
	assert_int_equal(cfg->nserial, 4);
	assert_int_equal(cfg->serial[2].reconnect, 0);
	assert_int_equal(cfg->serial[0].type, CFG_SERIAL_STDIO);
	assert_int_equal(cfg->serial[1].type, CFG_SERIAL_FILE);
	/* file: takes the rest verbatim: no option syntax inside. */
	assert_string_equal(cfg->serial[1].arg, "/tmp/s,,1.log");
	assert_int_equal(cfg->serial[2].type, CFG_SERIAL_SOCKET);
	assert_string_equal(cfg->serial[2].arg, "/run/s.sock");
	assert_true(cfg->serial[2].server);
	assert_false(cfg->serial[2].wait);
	assert_int_equal(cfg->serial[3].type, CFG_SERIAL_CHARDEV);
	assert_string_equal(cfg->serial[3].arg, "p0");
	free(cfg);
	cfg = CFG_OK("-serial", "pty", "-serial", "null", "-serial", "none");
	assert_int_equal(cfg->nserial, 0);
	free(cfg);
	/* unix:PATH without server is a client (QEMU's meaning). */
	cfg = CFG_OK("-serial", "unix:/run/peer.sock,reconnect=3");
	assert_int_equal(cfg->serial[0].type, CFG_SERIAL_SOCKET);
	assert_false(cfg->serial[0].server);
	assert_int_equal(cfg->serial[0].reconnect, 3);
	free(cfg);
	cfg = CFG_OK("-serial", "none", "-serial", "pty");
	assert_int_equal(cfg->nserial, 1);
	assert_int_equal(cfg->serial[0].type, CFG_SERIAL_PTY);
	free(cfg);
}

static void test_serial_bad(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-serial", "vc", NULL }, "-serial: 'vc' is not supported", "chardev:ID" },
		{ { "-serial", "tcp:localhost:4444", NULL }, "'tcp:localhost:4444'", NULL },
		{ { "-serial", "chardev:nosuch", NULL }, "-serial: chardev:nosuch names no -chardev", NULL },
		{ { "-serial", "chardev:", NULL }, "chardev is empty", NULL },
		{ { "-serial", "file:", NULL }, "empty", NULL },
		{ { "-serial", "unix:/s,listen", NULL }, "'listen'", "server, wait, nowait" },
		{ { "-serial", "unix:/s,server,nowait,reconnect=1", NULL }, "incompatible", NULL },
		{ { "-serial", "unix:/s,nowait", NULL }, "'wait' option is incompatible", NULL },
		{ { "-serial", "stdio", "-serial", "stdio", "-serial", "stdio", "-serial", "stdio",
		    "-serial", "stdio", NULL }, "too many serial ports (at most 4)", NULL },
		{ { "-chardev", "pty,id=p", "-serial", "chardev:p", "-serial", "chardev:p", NULL },
		  "'p' is used by two serial ports", NULL },
		{ { "-chardev", "pty,id=p", "-serial", "chardev:p", "-device", "virtio-serial-device",
		    "-device", "virtconsole,chardev=p", NULL }, "'p' is already used by a device", NULL },
	};

	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

static void test_qmp(void **state)
{
	struct machine_config *cfg = CFG_OK("-qmp", "unix:/run/vmm.sock,server,nowait");
	const struct cfgt_bad_case t[] = {
		{ { "-qmp", "tcp:localhost:4444,server,nowait", NULL }, "-qmp", "unix:PATH,server,nowait" },
		{ { "-qmp", "unix:/s", NULL }, "'unix:/s' is not supported", NULL },
		{ { "-qmp", "unix:/s,server", NULL }, "is not supported", "wait=off" },
		{ { "-qmp", "unix:/s,server=on,wait=on", NULL }, "not supported", NULL },
		{ { "-qmp", "unix:,server,nowait", NULL }, "socket path is empty", NULL },
		{ { "-qmp", "unix:/s,server,nowait,pretty=on", NULL }, "'pretty'", NULL },
		{ { "-qmp", "unix:/s,server,nowait,reconnect=1", NULL }, "'reconnect'", NULL },
	};

	(void)state;
	assert_string_equal(cfg->qmp_path, "/run/vmm.sock");
	free(cfg);
	cfg = CFG_OK("-qmp", "unix:/run/vc/qmp.sock,server=on,wait=off");
	assert_string_equal(cfg->qmp_path, "/run/vc/qmp.sock");
	free(cfg);
	cfg = CFG_OK("-qmp", "unix:/a,,b.sock,nowait,server");
	assert_string_equal(cfg->qmp_path, "/a,b.sock");
	assert_false(cfg->qmp_has_fd);
	free(cfg);
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

/* Kata binds the QMP socket itself and passes the listening fd. */
static void test_qmp_fd(void **state)
{
	struct machine_config *cfg = CFG_OK("-qmp", "unix:fd=5,server=on,wait=off");
	const struct cfgt_bad_case t[] = {
		{ { "-qmp", "unix:fd=x,server=on,wait=off", NULL }, "not a number", NULL },
		{ { "-qmp", "unix:fd=-1,server=on,wait=off", NULL }, "fd", NULL },
		{ { "-qmp", "unix:fd=4294967296,server=on,wait=off", NULL }, "out of range", NULL },
		{ { "-qmp", "unix:fd=5", NULL }, "not supported", "unix:fd=N,server=on,wait=off" },
		{ { "-qmp", "unix:fd=5,server=on", NULL }, "not supported", NULL },
		{ { "-qmp", "unix:fd=5,server=on,wait=off,path=/x", NULL }, "'path'", NULL },
		{ { "-qmp", "unix:fd=5,server,nowait", "-qmp", "unix:/s,server,nowait", NULL },
		  "given twice", NULL },
	};

	(void)state;
	assert_true(cfg->qmp_has_fd);
	assert_int_equal(cfg->qmp_fd, 5);
	assert_string_equal(cfg->qmp_path, "");
	free(cfg);
	cfg = CFG_OK("-qmp", "unix:fd=0,nowait,server");
	assert_true(cfg->qmp_has_fd);
	assert_int_equal(cfg->qmp_fd, 0);
	free(cfg);
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

/* -S: held vCPUs need someone to say cont. */
static void test_start_paused(void **state)
{
	struct machine_config *cfg = CFG_OK("-S", "-qmp", "unix:/s,server,nowait");
	const struct cfgt_bad_case t[] = {
		{ { "-S", NULL }, "-S needs -qmp", NULL },
		{ { "-S", "-qmp", "unix:/s,server,nowait", "-machine", "microvm,accel=sim", NULL },
		  "-S needs accel=kvm", NULL },
	};

	(void)state;
	assert_true(cfg->start_paused);
	free(cfg);
	cfg = CFG_OK("-S", "-qmp", "unix:fd=3,server=on,wait=off");
	assert_true(cfg->start_paused);
	free(cfg);
	cfg = CFG_OK("-qmp", "unix:/s,server,nowait");
	assert_false(cfg->start_paused);
	free(cfg);
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

/* The tokenizer's limits: many properties, very long arguments. */
static void test_tokenizer_limits(void **state)
{
	char big[5000], many[2000];
	size_t o = 0;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "id=d0,file=", 11);
	cfgt_bad((const char *const[]){ "-drive", big, NULL }, "-drive", "too long");
	o = (size_t)snprintf(many, sizeof(many), "id=d0,file=x");
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, ",readonly%d=on", i);
	cfgt_bad((const char *const[]){ "-drive", many, NULL }, "too many properties", NULL);
	cfgt_bad((const char *const[]){ "-drive", "id=d0,,file=x", NULL }, "id='d0,file=x'", "not a valid id");
	cfgt_bad((const char *const[]){ "-drive", ",id=d0,file=x", NULL }, "empty property", NULL);
	cfgt_bad((const char *const[]){ "-drive", "id=d0,,,file=x", NULL }, "not a valid id", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_object),
		cmocka_unit_test(test_object_bad),
		cmocka_unit_test(test_object_memfd),
		cmocka_unit_test(test_drive),
		cmocka_unit_test(test_drive_bad),
		cmocka_unit_test(test_netdev),
		cmocka_unit_test(test_netdev_bad),
		cmocka_unit_test(test_netdev_queues),
		cmocka_unit_test(test_chardev),
		cmocka_unit_test(test_chardev_bad),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_serial_bad),
		cmocka_unit_test(test_qmp),
		cmocka_unit_test(test_qmp_fd),
		cmocka_unit_test(test_start_paused),
		cmocka_unit_test(test_tokenizer_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
