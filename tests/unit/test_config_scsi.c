/* The options issue 14 adds to -device: virtio-scsi-pci/-device with
 * scsi-hd and scsi-cd LUs (bus=ID.0, scsi-id=, lun=, channel=), num-queues=
 * on virtio-blk, num_queues= on virtio-scsi, romfile= (empty only) on
 * virtio-*-pci, free-page-reporting= on virtio-balloon. */
#include "config_fixture.h"

#define Q35 "-machine", "q35"
#define DRV0 "-drive", "id=d0,file=/tmp/a.img"
#define DRV1 "-drive", "id=d1,file=/tmp/b.img"

static void test_scsi_luns(void **state)
{
	(void)state;
	/* Kata's form: a controller, then LUs by bus name. */
	struct machine_config *cfg = CFG_OK(Q35, DRV0, DRV1,
		"-device", "virtio-scsi-pci,id=scsi0,disable-modern=true",
		"-device", "scsi-hd,drive=d0,bus=scsi0.0,scsi-id=3,lun=7,serial=S1",
		"-device", "driver=scsi-cd,drive=d1,bus=scsi0,channel=0,id=cd");
	assert_int_equal(cfg->devices[0].type, CFG_DEV_VIRTIO_SCSI);
	assert_int_equal(cfg->devices[0].transport, CFG_TRANSPORT_PCI);
	assert_string_equal(config_device_name(&cfg->devices[0]), "virtio-scsi-pci");
	assert_int_equal(cfg->devices[1].type, CFG_DEV_SCSI_HD);
	assert_int_equal(cfg->devices[1].parent, 0);
	assert_int_equal(cfg->devices[1].scsi_id, 3);
	assert_int_equal(cfg->devices[1].scsi_lun, 7);
	assert_string_equal(cfg->devices[1].serial, "S1");
	assert_int_equal(cfg->devices[2].type, CFG_DEV_SCSI_CD);
	assert_int_equal(cfg->devices[2].parent, 0);
	assert_int_equal(cfg->devices[2].scsi_id, 0);   /* first free target */
	assert_int_equal(cfg->devices[2].scsi_lun, 0);
	free(cfg);
	/* The only controller is the default; auto targets skip taken ones;
	 * virtio-scsi-device on microvm. */
	cfg = CFG_OK(DRV0, DRV1, "-device", "virtio-scsi-device,num_queues=4",
		     "-device", "scsi-hd,drive=d0", "-device", "scsi-hd,drive=d1");
	assert_int_equal(cfg->devices[0].transport, CFG_TRANSPORT_MMIO);
	assert_int_equal(cfg->devices[0].num_queues, 4);
	assert_int_equal(cfg->devices[1].scsi_id, 0);
	assert_int_equal(cfg->devices[2].scsi_id, 1);
	free(cfg);
	/* LUs of two controllers may share an address. */
	cfg = CFG_OK(Q35, DRV0, DRV1, "-device", "virtio-scsi-pci,id=a",
		     "-device", "virtio-scsi-pci,id=b",
		     "-device", "scsi-hd,drive=d0,bus=a.0,scsi-id=1",
		     "-device", "scsi-hd,drive=d1,bus=b.0,scsi-id=1");
	assert_int_equal(cfg->devices[3].parent, 1);
	free(cfg);
}

static void test_scsi_rejections(void **state)
{
	(void)state;
	static const struct cfgt_bad_case bad[] = {
		{ { DRV0, "-device", "scsi-hd,drive=d0" },
		  "scsi-hd #0 needs a virtio-scsi device", NULL },
		{ { "-device", "virtio-scsi-device", "-device", "scsi-hd" },
		  "scsi-hd needs drive=ID", NULL },
		{ { DRV0, "-device", "virtio-scsi-device,id=s",
		    "-device", "scsi-hd,drive=d0,bus=x.0" },
		  "bus='x' names no virtio-scsi device", NULL },
		{ { DRV0, "-device", "virtio-scsi-device", "-device",
		    "virtio-scsi-device", "-device", "scsi-hd,drive=d0" },
		  "several virtio-scsi devices", NULL },
		{ { DRV0, DRV1, "-device", "virtio-scsi-device",
		    "-device", "scsi-hd,drive=d0,scsi-id=2,lun=1",
		    "-device", "scsi-cd,drive=d1,scsi-id=2,lun=1" },
		  "scsi-id=2,lun=1 is already used by scsi-hd #1", NULL },
		{ { DRV0, "-device", "virtio-scsi-device",
		    "-device", "scsi-hd,drive=d0,scsi-id=256" },
		  "scsi-id", "256" },
		{ { DRV0, "-device", "virtio-scsi-device",
		    "-device", "scsi-hd,drive=d0,lun=16384" },
		  "lun", "16384" },
		{ { DRV0, "-device", "virtio-scsi-device",
		    "-device", "scsi-hd,drive=d0,channel=1" },
		  "channel", NULL },
		{ { DRV0, "-device", "virtio-scsi-device",
		    "-device", "scsi-hd,drive=d0,mac=52:54:00:12:34:56" },
		  "scsi-hd: unknown property 'mac'", NULL },
		{ { DRV0, "-device", "virtio-scsi-device",
		    "-device", "scsi-hd,drive=d0", "-device", "virtio-blk-device,drive=d0" },
		  "drive 'd0' is already used", NULL },
		{ { "-device", "virtio-scsi-device,num_queues=0" }, "num_queues", NULL },
		{ { "-device", "virtio-scsi-device,num_queues=15" }, "num_queues", NULL },
		{ { Q35, "-device", "virtio-scsi-pci,romfile=efi-virtio.rom" },
		  "romfile='efi-virtio.rom': option ROMs are not supported", NULL },
		{ { DRV0, "-device", "virtio-blk-device,drive=d0,num-queues=17" },
		  "num-queues", NULL },
		{ { DRV0, "-device", "virtio-blk-device,drive=d0,num-queues=0" },
		  "num-queues", NULL },
		{ { "-device", "virtio-balloon-device,free-page-reporting=maybe" },
		  "free-page-reporting", NULL },
		{ { "-device", "virtio-rng-device,romfile=" },
		  "virtio-rng-device: unknown property 'romfile'", NULL },
	};
	cfgt_bad_table(bad, sizeof(bad) / sizeof(bad[0]));
}

static void test_kata_device_options(void **state)
{
	(void)state;
	/* romfile= empty (Kata's default) is "no option ROM": accepted on
	 * every virtio-*-pci; num-queues on virtio-blk; free page reporting
	 * on the balloon. */
	struct machine_config *cfg = CFG_OK(Q35, DRV0,
		"-device", "virtio-blk-pci,drive=d0,romfile=,num-queues=4",
		"-device", "virtio-balloon-pci,free-page-reporting=on,romfile=",
		"-device", "driver=virtio-scsi-pci,id=scsi0,romfile=");
	assert_int_equal(cfg->devices[0].num_queues, 4);
	assert_true(cfg->devices[1].free_page_reporting);
	assert_int_equal(cfg->devices[2].type, CFG_DEV_VIRTIO_SCSI);
	free(cfg);
	cfg = CFG_OK(DRV0, "-device", "virtio-blk-device,drive=d0",
		     "-device", "virtio-balloon-device");
	assert_int_equal(cfg->devices[0].num_queues, 0);
	assert_false(cfg->devices[1].free_page_reporting);
	free(cfg);
}

/* --help names each of them. */
static void test_help_lists_them(void **state)
{
	static const char *const must[] = {
		"virtio-scsi-device", "virtio-scsi-pci", "scsi-hd", "scsi-cd",
		"scsi-id=", "lun=", "num_queues=", "num-queues=",
		"free-page-reporting=", "romfile=",
	};
	char text[8192];
	(void)state;
	FILE *f = tmpfile();
	assert_non_null(f);
	config_usage(f);
	rewind(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		if (!strstr(text, must[i]))
			fail_msg("--help does not mention %s", must[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scsi_luns),
		cmocka_unit_test(test_scsi_rejections),
		cmocka_unit_test(test_kata_device_options),
		cmocka_unit_test(test_help_lists_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
