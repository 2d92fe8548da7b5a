/* Shared by the ACPI unit tests: build a machine_config + layout from a
 * real command line (config_parse + layout_build), the way vmm does. */
#ifndef VMM_TESTS_ACPI_FIXTURE_H
#define VMM_TESTS_ACPI_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/layout.h"

struct acpi_fixture {
	struct machine_config cfg;
	struct layout l;
};

/* argv is NULL-terminated, without argv[0].  Returns NULL (printing the
 * error) if the command line or the layout is rejected. */
static inline struct acpi_fixture *acpi_fixture_new(const char *const *args)
{
	char *argv[64];
	int argc = 0;
	argv[argc++] = (char *)"vmm";
	for (; *args && argc < 63; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	struct acpi_fixture *f = calloc(1, sizeof(*f));
	char err[256] = "";
	if (!f)
		return NULL;
	if (config_parse(&f->cfg, argc, argv, err, sizeof(err)) != 0 ||
	    layout_build(&f->l, &f->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "fixture: %s\n", err);
		free(f);
		return NULL;
	}
	return f;
}

/* The machines the ACPI tests and the iasl dump use. */
#define ACPI_FIX_MICROVM                                                      \
	"-machine", "microvm,accel=sim", "-smp", "2", "-m", "256M",           \
		"-serial", "stdio",                                           \
		"-drive", "id=d0,file=/nonexistent-disk.img,readonly=on",     \
		"-device", "virtio-blk-device,drive=d0,id=blk0",              \
		"-drive", "id=d1,file=/nonexistent-disk1.img,readonly=on",    \
		"-device", "virtio-blk-device,drive=d1,id=blk1", NULL
#define ACPI_FIX_Q35                                                          \
	"-machine", "q35,accel=sim", "-smp", "4", "-m", "1G",                 \
		"-serial", "stdio", "-serial", "stdio",                       \
		"-drive", "id=d0,file=/nonexistent-disk.img,readonly=on",     \
		"-device", "virtio-blk-pci,drive=d0,id=blk0,bus=pcie.0,addr=0x3", \
		NULL
#define ACPI_FIX_NVDIMM                                                       \
	"-machine", "microvm,accel=sim,nvdimm=on", "-smp", "1",               \
		"-m", "256M,slots=2,maxmem=2G",                               \
		"-object",                                                    \
		"memory-backend-file,id=mem0,mem-path=/nonexistent-root.img,size=256M,readonly=on", \
		"-device", "nvdimm,id=nv0,memdev=mem0,unarmed=on",            \
		"-object",                                                    \
		"memory-backend-file,id=mem1,mem-path=/nonexistent-data.img,size=65664K,share=on", \
		"-device", "nvdimm,id=nv1,memdev=mem1,label-size=128K", NULL

#endif
