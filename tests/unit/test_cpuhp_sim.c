/* vCPU hot-plug on the board in the simulator, end to end but for the
 * CPU: a QMP session whose device_add/device_del/cpu_info ops drive the
 * board's CPU slots (as kvm/kvm_cpu_hotplug.c does around the vCPU), the
 * ACPI event on q35's GPE0 (SCI on GSI 9 once the OS enabled GPE 2) and
 * microvm's GED, and the sim guest driver (sim/vdriver_cpuhp.c) playing
 * the CPUS AML: scan, acknowledge, _STA, _EJ0.  The eject reaches the
 * backend's cpu_eject once, only for a removal that was asked for. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/json.h"
#include "core/layout.h"
#include "core/qmp.h"
#include "devices/acpi/acpi.h"
#include "devices/acpi/cpu_hotplug.h"
#include "machine/board.h"
#include "sim/sim.h"
#include "sim/vdriver_cpuhp.h"

struct cfix {
	struct machine_config cfg;
	struct layout l;
	struct sim *s;
	struct board *b;
	struct board_host host;
	struct qmp_machine_ops ops;
	struct qmp_session *q;
	char err[256];
	unsigned ejects, last_eject;
};

static int on_eject(void *o, unsigned index)
{
	struct cfix *f = o;
	f->ejects++;
	f->last_eject = index;
	return 0;
}

static unsigned opt_uint(const char *opts, const char *key)
{
	const char *p = strstr(opts, key);
	return p ? (unsigned)strtoul(p + strlen(key), NULL, 10) : 0;
}

/* The machine side of device_add/device_del for CPUs: slot = core-id on
 * a -smp 1,maxcpus=3 machine (cores first). */
static int f_add(void *o, const char *driver, const char *id, const char *opts,
		 struct qmp_err *e)
{
	struct cfix *f = o;
	(void)driver;
	(void)id;
	int r = board_cpu_plug(f->b, opt_uint(opts, "core-id="), true);
	if (r < 0) {
		e->cls = "GenericError";
		snprintf(e->desc, sizeof(e->desc), "plug: %s", strerror(-r));
		return -1;
	}
	return 0;
}

static int f_del(void *o, const char *id, struct qmp_err *e)
{
	struct cfix *f = o;
	unsigned idx = (unsigned)strtoul(id + 4, NULL, 10); /* "cpu-N" */
	int r = board_cpu_unplug_request(f->b, idx);
	if (r < 0) {
		e->cls = "GenericError";
		snprintf(e->desc, sizeof(e->desc), "unplug: %s", strerror(-r));
		return -1;
	}
	return 0;
}

static int f_info(void *o, unsigned index, struct qmp_cpu_info *out)
{
	struct cfix *f = o;
	out->core_id = index;
	if (!board_cpu_present(f->b, index))
		return -ENOENT;
	if (index > 0)
		snprintf(out->qom_path, sizeof(out->qom_path), "/machine/peripheral/cpu-%u", index);
	return 0;
}

static struct json *qmp(struct cfix *f, const char *in)
{
	qmp_session_input(f->q, in, strlen(in));
	size_t len;
	const char *out = qmp_session_output(f->q, &len);
	struct json *v = json_parse(out, len, NULL, 0);
	qmp_session_consume(f->q, len);
	assert_non_null(v);
	return v;
}

static void qmp_ok(struct cfix *f, const char *in)
{
	struct json *v = qmp(f, in);
	if (!json_get(v, "return"))
		fail_msg("%s: no return", in);
	json_free(v);
}

static unsigned qmp_len(struct cfix *f, const char *in)
{
	struct json *v = qmp(f, in);
	unsigned n = (unsigned)json_len(json_get(v, "return"));
	json_free(v);
	return n;
}

static struct cfix *setup(const char *machine)
{
	struct cfix *f = calloc(1, sizeof(*f));
	char *argv[] = { "vmm", "-machine", (char *)machine, "-smp", "1,maxcpus=3",
			 "-m", "64M", NULL };
	if (config_parse(&f->cfg, 7, argv, f->err, sizeof(f->err)) != 0)
		fail_msg("config_parse: %s", f->err);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = 1 };
	f->s = sim_new(&sc);
	f->host = (struct board_host){ .wall_epoch = 1767225600,
				       .cpu_eject = on_eject, .cpu_eject_opaque = f };
	f->b = board_new(&f->s->m, &f->cfg, &f->l, &f->host, f->err, sizeof(f->err));
	if (!f->b)
		fail_msg("board_new: %s", f->err);
	f->ops = (struct qmp_machine_ops){ .ncpus = 1, .max_cpus = board_cpu_possible(&f->cfg),
					   .device_add = f_add, .device_del = f_del,
					   .cpu_info = f_info };
	f->q = qmp_session_new(&f->ops, f);
	size_t len;
	qmp_session_output(f->q, &len);
	qmp_session_consume(f->q, len);
	qmp_ok(f, "{\"execute\": \"qmp_capabilities\"}");
	return f;
}

static void teardown(struct cfix *f)
{
	qmp_session_free(f->q);
	board_free(f->b);
	sim_free(f->s);
	free(f);
}

#define ADD2 "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"host-x86_64-cpu\", " \
	     "\"id\": \"cpu-2\", \"socket-id\": 0, \"core-id\": 2, \"thread-id\": 0}}"
#define DEL2 "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"cpu-2\"}}"

static void run_flow(struct cfix *f, bool q35)
{
	struct vdriver_cpuhp_event ev[4];
	unsigned sci = LAYOUT_GSI_ACPI_SCI;
	/* QMP: three slots, only the boot CPU plugged. */
	struct json *v = qmp(f, "{\"execute\": \"query-hotpluggable-cpus\"}");
	const struct json *l = json_get(v, "return");
	assert_int_equal(json_len(l), 3);
	assert_null(json_get(json_at(l, 0), "qom-path"));
	assert_string_equal(json_get_str(json_get(json_at(l, 2), "qom-path")),
			    "/machine/unattached/device[0]");
	assert_int_equal(json_get_int(json_get(json_get(json_at(l, 0), "props"), "core-id")), 2);
	json_free(v);
	assert_int_equal(vdriver_cpuhp_scan(f->s, ev, 4), 0);
	if (q35) /* the OS enables GPE 2, as ACPICA does for _E02 */
		sim_pio_write(f->s, ACPI_GPE0_IO_BASE + 2, 1, 1u << ACPI_GPE_CPU_HOTPLUG);
	assert_int_equal(f->s->gsi_level[sci], 0);

	qmp_ok(f, ADD2);
	assert_int_equal(f->s->gsi_level[sci], 1);
	if (q35) {
		assert_int_equal(sim_pio_read(f->s, ACPI_GPE0_IO_BASE, 1), 1u << ACPI_GPE_CPU_HOTPLUG);
		sim_pio_write(f->s, ACPI_GPE0_IO_BASE, 1, 1u << ACPI_GPE_CPU_HOTPLUG);
	} else {
		assert_int_equal(sim_pio_read(f->s, ACPI_PM_IO_BASE + ACPI_GED_SEL_OFF, 1),
				 ACPI_GED_EVT_CPU_HOTPLUG);
	}
	assert_int_equal(f->s->gsi_level[sci], 0);
	/* CSCN: one insert event, slot 2, APIC id 2. */
	assert_int_equal(vdriver_cpuhp_scan(f->s, ev, 4), 1);
	assert_int_equal(ev[0].sel, 2);
	assert_int_equal(ev[0].apic_id, 2);
	assert_int_equal(ev[0].flags, ACPI_CPUHP_ENABLED | ACPI_CPUHP_INSERT);
	assert_int_equal(vdriver_cpuhp_scan(f->s, ev, 4), 0);
	assert_int_equal(vdriver_cpuhp_status(f->s, 2), ACPI_CPUHP_ENABLED);
	assert_int_equal(qmp_len(f, "{\"execute\": \"query-cpus-fast\"}"), 2);
	/* A second device_add of the same slot fails; nothing changes. */
	v = qmp(f, ADD2);
	assert_non_null(json_get(v, "error"));
	json_free(v);

	/* An eject nobody asked for is dropped. */
	assert_int_equal(vdriver_cpuhp_eject(f->s, 2), ACPI_CPUHP_ENABLED);
	assert_int_equal(vdriver_cpuhp_eject(f->s, 0), ACPI_CPUHP_ENABLED);
	assert_int_equal(f->ejects, 0);

	/* device_del: the remove event, the scan, _EJ0. */
	qmp_ok(f, DEL2);
	qmp_ok(f, DEL2); /* asked again: QEMU raises the event again */
	assert_int_equal(f->s->gsi_level[sci], 1);
	if (q35)
		sim_pio_write(f->s, ACPI_GPE0_IO_BASE, 1, 1u << ACPI_GPE_CPU_HOTPLUG);
	else
		(void)sim_pio_read(f->s, ACPI_PM_IO_BASE + ACPI_GED_SEL_OFF, 1);
	assert_int_equal(vdriver_cpuhp_scan(f->s, ev, 4), 1);
	assert_int_equal(ev[0].sel, 2);
	assert_int_equal(ev[0].flags, ACPI_CPUHP_ENABLED | ACPI_CPUHP_REMOVE);
	assert_int_equal(vdriver_cpuhp_eject(f->s, 2), 0);
	assert_int_equal(f->ejects, 1);
	assert_int_equal(f->last_eject, 2);
	assert_int_equal(vdriver_cpuhp_eject(f->s, 2), 0); /* again: nothing */
	assert_int_equal(f->ejects, 1);
	assert_int_equal(qmp_len(f, "{\"execute\": \"query-cpus-fast\"}"), 1);
	/* And it can come back. */
	qmp_ok(f, ADD2);
	assert_int_equal(vdriver_cpuhp_scan(f->s, ev, 4), 1);
	assert_int_equal(qmp_len(f, "{\"execute\": \"query-cpus-fast\"}"), 2);
}

static void test_q35_gpe(void **state)
{
	(void)state;
	struct cfix *f = setup("q35");
	run_flow(f, true);
	teardown(f);
}

static void test_microvm_ged(void **state)
{
	(void)state;
	struct cfix *f = setup("microvm");
	run_flow(f, false);
	teardown(f);
}

/* Without maxcpus there is no block: the ports read as nothing and
 * board_cpu_plug says so. */
static void test_no_hotplug(void **state)
{
	(void)state;
	struct cfix *f = calloc(1, sizeof(*f));
	char *argv[] = { "vmm", "-machine", "q35", "-smp", "2", "-m", "64M", NULL };
	assert_int_equal(config_parse(&f->cfg, 7, argv, f->err, sizeof(f->err)), 0);
	assert_int_equal(layout_build(&f->l, &f->cfg, f->err, sizeof(f->err)), 0);
	struct sim_config sc = { .ram_size = f->l.ram[0].size, .seed = 1 };
	f->s = sim_new(&sc);
	f->host = (struct board_host){ .wall_epoch = 1767225600 };
	f->b = board_new(&f->s->m, &f->cfg, &f->l, &f->host, f->err, sizeof(f->err));
	assert_non_null(f->b);
	assert_int_equal(board_cpu_plug(f->b, 1, true), -ENODEV);
	assert_true(board_cpu_present(f->b, 1));
	assert_false(board_cpu_present(f->b, 2));
	board_free(f->b);
	sim_free(f->s);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_q35_gpe),
		cmocka_unit_test(test_microvm_ged),
		cmocka_unit_test(test_no_hotplug),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
