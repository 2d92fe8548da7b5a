/* -device virtio-vsock-{pci,device},guest-cid=,uds= and
 * vhost-vsock-{pci,device},guest-cid=,vhostfd= (issue 14 §5): what is
 * accepted, what is refused and why. */
#include "config_fixture.h"

static void test_vsock_ok(void **state)
{
	(void)state;
	struct machine_config *cfg = CFG_OK("-machine", "q35",
		"-device", "virtio-vsock-pci,id=vs,guest-cid=4294967294,uds=/tmp/v.sock,addr=0x6",
		"-device", "vhost-vsock-pci,disable-modern=true,vhostfd=3,id=vsock-1,guest-cid=5,romfile=");
	const struct cfg_device *d = &cfg->devices[0];
	assert_int_equal(d->type, CFG_DEV_VIRTIO_VSOCK);
	assert_int_equal(d->transport, CFG_TRANSPORT_PCI);
	assert_int_equal(d->guest_cid, 4294967294ull);
	assert_string_equal(d->vsock_uds, "/tmp/v.sock");
	assert_int_equal(d->vhostfd, -1);
	assert_string_equal(config_device_name(d), "virtio-vsock-pci");
	d = &cfg->devices[1];
	assert_int_equal(d->type, CFG_DEV_VHOST_VSOCK);
	assert_int_equal(d->vhostfd, 3);
	assert_int_equal(d->guest_cid, 5);
	assert_true(d->disable_modern);
	assert_string_equal(config_device_name(d), "vhost-vsock-pci");
	free(cfg);
	cfg = CFG_OK("-device", "virtio-vsock-device,guest-cid=3,uds=rel.sock",
		     "-device", "vhost-vsock-device,guest-cid=9");
	assert_int_equal(cfg->devices[0].transport, CFG_TRANSPORT_MMIO);
	assert_int_equal(cfg->devices[1].vhostfd, -1);
	/* -daemonize makes uds= absolute like every other path. */
	char err[256];
	assert_int_equal(config_absolute_paths(cfg, "/run/x", err, sizeof(err)), 0);
	assert_string_equal(cfg->devices[0].vsock_uds, "/run/x/rel.sock");
	free(cfg);
}

static void test_vsock_bad(void **state)
{
	const struct cfgt_bad_case t[] = {
		{ { "-device", "virtio-vsock-device,uds=/s", NULL }, "needs guest-cid=N", NULL },
		{ { "-device", "virtio-vsock-device,guest-cid=3", NULL }, "needs uds=PATH", NULL },
		{ { "-device", "virtio-vsock-device,guest-cid=2,uds=/s", NULL }, "guest-cid", NULL },
		{ { "-device", "virtio-vsock-device,guest-cid=4294967295,uds=/s", NULL }, "guest-cid", NULL },
		{ { "-device", "virtio-vsock-device,guest-cid=x,uds=/s", NULL }, "guest-cid", NULL },
		{ { "-device", "virtio-vsock-device,guest-cid=3,uds=/s,vhostfd=3", NULL },
		  "unknown property 'vhostfd'", "guest-cid, uds" },
		{ { "-device", "vhost-vsock-device,guest-cid=3,uds=/s", NULL },
		  "unknown property 'uds'", "guest-cid, vhostfd" },
		{ { "-device", "vhost-vsock-device,guest-cid=3,vhostfd=-1", NULL }, "vhostfd", NULL },
		{ { "-device", "virtio-vsock-device,guest-cid=3,uds=/a",
		    "-device", "virtio-vsock-device,guest-cid=3,uds=/b", NULL },
		  "guest-cid=3 is already used", NULL },
		{ { "-device", "virtio-vsock-device,guest-cid=3,uds=/a",
		    "-device", "virtio-vsock-device,guest-cid=4,uds=/a", NULL },
		  "uds=/a is already used", NULL },
	};
	(void)state;
	cfgt_bad_table(t, sizeof(t) / sizeof(t[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vsock_ok),
		cmocka_unit_test(test_vsock_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
