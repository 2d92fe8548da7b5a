/* Machine-wide options: -name -uuid -machine -cpu -smp -m -rtc, and the
 * QEMU options Kata passes that only need to be accepted (-global,
 * -realtime, -numa, -vga). */
#include <stdio.h>
#include <string.h>
#include "config_priv.h"

int cfg_opt_name(struct cfg_ctx *c, const char *arg)
{
	struct cfg_kvlist l;

	if (cfg_kv_split(c, &l, arg, "guest"))
		return -1;
	for (unsigned i = 0; i < l.n; i++) {
		const struct cfg_kv *kv = &l.kv[i];
		bool b;

		if (!strcmp(kv->key, "guest")) {
			if (cfg_str(c, "the name", kv->val, c->cfg->name,
				    sizeof(c->cfg->name)))
				return -1;
			for (const char *p = c->cfg->name; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					return cfg_error(c, "'%s' has a control character (accepted: printable text, 1-255 characters)",
							 kv->val);
		} else if (!strcmp(kv->key, "debug-threads")) {
			if (cfg_bool(c, kv, &b))
				return -1;
		} else if (!strcmp(kv->key, "process")) {
			if (cfg_need_val(c, kv))
				return -1;
		} else {
			return cfg_unknown_key(c, kv, "guest, process, debug-threads");
		}
	}
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* RFC 4122 text form: 8-4-4-4-12 hex digits. */
int cfg_opt_uuid(struct cfg_ctx *c, const char *arg)
{
	static const int dash[] = { 8, 13, 18, 23 };
	unsigned n = 0;
	size_t len = strlen(arg);

	if (len != 36)
		goto bad;
	for (size_t i = 0, d = 0; i < len; i++) {
		int hi, lo;

		if (d < 4 && (int)i == dash[d]) {
			if (arg[i] != '-')
				goto bad;
			d++;
			continue;
		}
		hi = hexval(arg[i]);
		lo = hexval(arg[i + 1]);
		if (hi < 0 || lo < 0 || (d < 4 && (int)i + 1 == dash[d]))
			goto bad;
		c->cfg->uuid[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	c->cfg->has_uuid = true;
	return 0;
bad:
	return cfg_error(c, "'%s' is not a UUID (accepted: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, hex digits)",
			 arg);
}

int cfg_opt_machine(struct cfg_ctx *c, const char *arg)
{
	struct cfg_machine *m = &c->cfg->machine;
	struct cfg_kvlist l;

	if (cfg_kv_split(c, &l, arg, "type"))
		return -1;
	for (unsigned i = 0; i < l.n; i++) {
		const struct cfg_kv *kv = &l.kv[i];
		int r = 0;

		if (!strcmp(kv->key, "type")) {
			if (kv->val && !strcmp(kv->val, "microvm"))
				m->type = CFG_MACHINE_MICROVM;
			else if (kv->val && !strcmp(kv->val, "q35"))
				m->type = CFG_MACHINE_Q35;
			else
				r = cfg_error(c, "machine type '%s' is not supported (accepted: microvm, q35)",
					      kv->val ? kv->val : "");
		} else if (!strcmp(kv->key, "accel")) {
			enum cfg_accel a;

			if (kv->val && !strcmp(kv->val, "kvm"))
				a = CFG_ACCEL_KVM;
			else if (kv->val && !strcmp(kv->val, "sim"))
				a = CFG_ACCEL_SIM;
			else
				return cfg_error(c, "accel='%s' is not supported (accepted: kvm, sim)",
						 kv->val ? kv->val : "");
			if (c->accel_given && a != m->accel)
				return cfg_error(c, "accel='%s' conflicts with an earlier -enable-kvm or accel=",
						 kv->val);
			m->accel = a;
			c->accel_given = true;
		} else if (!strcmp(kv->key, "nvdimm")) {
			r = cfg_bool(c, kv, &m->nvdimm);
		} else if (!strcmp(kv->key, "pmem-legacy")) {
			r = cfg_bool(c, kv, &m->pmem_legacy);
		} else if (!strcmp(kv->key, "kernel_irqchip")) {
			/* KVM's in-kernel LAPIC/IOAPIC/PIC is the only
			 * interrupt controller vmm has. */
			if (kv->val && !strcmp(kv->val, "split"))
				return cfg_error(c, "kernel_irqchip='split' is not supported (accepted: on; the interrupt controllers are KVM's in-kernel ones)");
			r = cfg_bool(c, kv, &m->kernel_irqchip);
			if (!r && !m->kernel_irqchip)
				return cfg_error(c, "kernel_irqchip=off is not supported (accepted: on; vmm has no userspace interrupt controller)");
		} else if (!strcmp(kv->key, "dump-guest-core")) {
			/* Guest RAM is an ordinary mapping, so it is in any
			 * core dump; off would need MADV_DONTDUMP. */
			r = cfg_bool(c, kv, &m->dump_guest_core);
			if (!r && !m->dump_guest_core)
				return cfg_error(c, "dump-guest-core=off is not supported (accepted: on; guest memory is always in a core dump)");
		} else if (!strcmp(kv->key, "mem-merge")) {
			/* Guest RAM is never marked MADV_MERGEABLE (KSM). */
			r = cfg_bool(c, kv, &m->mem_merge);
			if (!r && m->mem_merge)
				return cfg_error(c, "mem-merge=on is not supported (accepted: off; guest memory is not offered to KSM)");
		} else {
			r = cfg_unknown_key(c, kv, "type (microvm, q35), accel, nvdimm, pmem-legacy, kernel_irqchip, dump-guest-core, mem-merge");
		}
		if (r)
			return -1;
	}
	return 0;
}

int cfg_opt_cpu(struct cfg_ctx *c, const char *arg)
{
	struct cfg_kvlist l;

	if (cfg_kv_split(c, &l, arg, "model"))
		return -1;
	for (unsigned i = 0; i < l.n; i++) {
		const struct cfg_kv *kv = &l.kv[i];

		if (!strcmp(kv->key, "model") && kv->implied) {
			/* Only the host model: CPUID is KVM's supported set. */
			if (strcmp(kv->val, "host"))
				return cfg_error(c, "CPU model '%s' is not supported (accepted: host)",
						 kv->val);
			strcpy(c->cfg->cpu_model, "host");
		} else if (!strcmp(kv->key, "pmu")) {
			if (cfg_bool(c, kv, &c->cfg->cpu_pmu))
				return -1;
		} else {
			return cfg_unknown_key(c, kv, "host, pmu");
		}
	}
	return 0;
}

/* QEMU 7.x machine_parse_smp_config(): fill omitted values preferring
 * cores over sockets, then require sockets*cores*threads == maxcpus and
 * cpus <= maxcpus. */
int cfg_opt_smp(struct cfg_ctx *c, const char *arg)
{
	struct cfg_kvlist l;
	uint64_t cpus = 0, maxcpus = 0, sockets = 0, cores = 0, threads = 0;
	uint64_t dies = 1, total;

	if (cfg_kv_split(c, &l, arg, "cpus"))
		return -1;
	for (unsigned i = 0; i < l.n; i++) {
		const struct cfg_kv *kv = &l.kv[i];
		const char *what = kv->implied ? NULL : kv->key;
		uint64_t *dst;

		if (!strcmp(kv->key, "cpus"))
			dst = &cpus;
		else if (!strcmp(kv->key, "maxcpus"))
			dst = &maxcpus;
		else if (!strcmp(kv->key, "sockets"))
			dst = &sockets;
		else if (!strcmp(kv->key, "cores"))
			dst = &cores;
		else if (!strcmp(kv->key, "threads"))
			dst = &threads;
		else if (!strcmp(kv->key, "dies"))
			dst = &dies;
		else
			return cfg_unknown_key(c, kv, "cpus, maxcpus, sockets, cores, threads, dies");
		if (cfg_uint(c, what, kv->val, 1, CFG_MAX_CPUS, dst))
			return -1;
	}
	if (dies != 1)
		return cfg_error(c, "dies=%llu is not supported (accepted: 1)",
				 (unsigned long long)dies);
	if (cpus == 0 && maxcpus == 0) {
		sockets = sockets ? sockets : 1;
		cores = cores ? cores : 1;
		threads = threads ? threads : 1;
	} else {
		maxcpus = maxcpus ? maxcpus : cpus;
		if (cores == 0) {
			sockets = sockets ? sockets : 1;
			threads = threads ? threads : 1;
			cores = maxcpus / (sockets * threads);
		} else if (sockets == 0) {
			threads = threads ? threads : 1;
			sockets = maxcpus / (cores * threads);
		}
		if (threads == 0)
			threads = maxcpus / (sockets * cores);
	}
	total = sockets * cores * threads;
	maxcpus = maxcpus ? maxcpus : total;
	cpus = cpus ? cpus : maxcpus;
	if (total != maxcpus)
		return cfg_error(c, "'%s': sockets (%llu) * cores (%llu) * threads (%llu) != maxcpus (%llu) (accepted: a topology whose product is maxcpus)",
				 arg, (unsigned long long)sockets,
				 (unsigned long long)cores,
				 (unsigned long long)threads,
				 (unsigned long long)maxcpus);
	if (maxcpus > CFG_MAX_CPUS)
		return cfg_error(c, "'%s': maxcpus %llu is out of range (1-%d)",
				 arg, (unsigned long long)maxcpus, CFG_MAX_CPUS);
	if (cpus > maxcpus)
		return cfg_error(c, "'%s': cpus (%llu) > maxcpus (%llu) (accepted: cpus <= maxcpus)",
				 arg, (unsigned long long)cpus,
				 (unsigned long long)maxcpus);
	c->cfg->smp = (struct cfg_smp){ .cpus = (unsigned)cpus, .maxcpus = (unsigned)maxcpus,
					.sockets = (unsigned)sockets, .cores = (unsigned)cores,
					.threads = (unsigned)threads };
	return 0;
}

/* -m [size=]SIZE[,slots=N,maxmem=SIZE]; a bare number is MiB (QEMU and
 * StratoVirt), for maxmem too so both spell alike. */
int cfg_opt_m(struct cfg_ctx *c, const char *arg)
{
	struct cfg_mem *m = &c->cfg->mem;
	struct cfg_kvlist l;
	uint64_t size = m->size, maxmem = 0, slots = 0;
	bool have_slots = false, have_maxmem = false;

	if (cfg_kv_split(c, &l, arg, "size"))
		return -1;
	for (unsigned i = 0; i < l.n; i++) {
		const struct cfg_kv *kv = &l.kv[i];
		const char *what = kv->implied ? NULL : kv->key;

		if (!strcmp(kv->key, "size")) {
			if (cfg_size(c, what, kv->val, 1ull << 20, CFG_MIN_MEM,
				     CFG_MAX_MEM, &size))
				return -1;
		} else if (!strcmp(kv->key, "maxmem")) {
			if (cfg_size(c, what, kv->val, 1ull << 20, CFG_MIN_MEM,
				     CFG_MAX_MAXMEM, &maxmem))
				return -1;
			have_maxmem = true;
		} else if (!strcmp(kv->key, "slots")) {
			if (cfg_uint(c, what, kv->val, 0, CFG_MAX_MEM_SLOTS, &slots))
				return -1;
			have_slots = true;
		} else {
			return cfg_unknown_key(c, kv, "size, slots, maxmem");
		}
	}
	/* Page granularity, as QEMU rounds -m up. */
	size = (size + 4095) & ~4095ull;
	if (have_maxmem) {
		maxmem = (maxmem + 4095) & ~4095ull;
		if (maxmem < size)
			return cfg_error(c, "'%s': maxmem (%llu MiB) is below the memory size (%llu MiB) (accepted: maxmem >= size)",
					 arg, (unsigned long long)(maxmem >> 20),
					 (unsigned long long)(size >> 20));
		if (!have_slots && maxmem > size)
			return cfg_error(c, "'%s': maxmem without slots= (accepted: size,slots=N,maxmem=M)",
					 arg);
	} else if (have_slots) {
		return cfg_error(c, "'%s': slots= without maxmem= (accepted: size,slots=N,maxmem=M)",
				 arg);
	}
	m->size = size;
	m->maxmem = have_maxmem ? maxmem : 0;
	m->slots = (unsigned)slots;
	return 0;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so no libc time zone state is involved. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int cfg_parse_date(const char *s, int64_t *out)
{
	static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
					  31, 30, 31 };
	unsigned y, mo, d, h = 0, mi = 0, se = 0, dim;
	int n = 0;
	size_t len = strlen(s);

	if (len == 10) {
		if (sscanf(s, "%4u-%2u-%2u%n", &y, &mo, &d, &n) != 3 || n != 10)
			return -1;
	} else if (len == 19) {
		if (sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2u%n", &y, &mo, &d, &h, &mi,
			   &se, &n) != 6 || n != 19)
			return -1;
	} else {
		return -1;
	}
	for (size_t i = 0; i < len; i++)  /* sscanf would take "+1" or " 1" */
		if (!strchr("0123456789-:T", s[i]))
			return -1;
	/* The MC146818 keeps two BCD year digits plus a century byte. */
	if (y < 1970 || y > 2099 || mo < 1 || mo > 12 || h > 23 || mi > 59 ||
	    se > 59)
		return -1;
	dim = mdays[mo - 1] + (mo == 2 && is_leap(y));
	if (d < 1 || d > dim)
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

int cfg_opt_rtc(struct cfg_ctx *c, const char *arg)
{
	struct cfg_rtc *r = &c->cfg->rtc;
	struct cfg_kvlist l;

	if (cfg_kv_split(c, &l, arg, NULL))
		return -1;
	for (unsigned i = 0; i < l.n; i++) {
		const struct cfg_kv *kv = &l.kv[i];
		const char *v = kv->val ? kv->val : "";

		if (!strcmp(kv->key, "base")) {
			if (!strcmp(v, "utc")) {
				r->base = CFG_RTC_UTC;
			} else if (!strcmp(v, "localtime")) {
				r->base = CFG_RTC_LOCALTIME;
			} else if (!cfg_parse_date(v, &r->date_epoch)) {
				r->base = CFG_RTC_DATE;
			} else {
				return cfg_error(c, "base='%s' is not accepted (accepted: utc, localtime, YYYY-MM-DD[THH:MM:SS] in 1970-2099)",
						 v);
			}
		} else if (!strcmp(kv->key, "clock")) {
			/* The RTC starts at the host's time and then runs on
			 * the host's monotonic clock, through pauses: QEMU's
			 * host and rt differ from that only when the host's
			 * clock is stepped; vm would stop it while paused. */
			if (!strcmp(v, "host"))
				r->clock = CFG_RTC_CLOCK_HOST;
			else if (!strcmp(v, "rt"))
				r->clock = CFG_RTC_CLOCK_RT;
			else if (!strcmp(v, "vm"))
				return cfg_error(c, "clock=vm is not supported (accepted: host, rt; the RTC keeps running while the VM is paused)");
			else
				return cfg_error(c, "clock='%s' is not accepted (accepted: host, rt)",
						 v);
		} else if (!strcmp(kv->key, "driftfix")) {
			/* slew: RTC periodic interrupts the guest missed are
			 * delivered late (devices/rtc.h); none drops them. */
			if (!strcmp(v, "none"))
				r->driftfix_slew = false;
			else if (!strcmp(v, "slew"))
				r->driftfix_slew = true;
			else
				return cfg_error(c, "driftfix='%s' is not accepted (accepted: none, slew)",
						 v);
		} else {
			return cfg_unknown_key(c, kv, "base, clock, driftfix");
		}
	}
	return 0;
}

/* Only the one global Kata sets; anything else would silently not apply. */
int cfg_opt_global(struct cfg_ctx *c, const char *arg)
{
	struct cfg_kvlist l;
	const struct cfg_kv *kv;

	if (cfg_kv_split(c, &l, arg, NULL))
		return -1;
	kv = &l.kv[0];
	if (l.n != 1 || strcmp(kv->key, "kvm-pit.lost_tick_policy"))
		return cfg_error(c, "'%s' is not supported (accepted: kvm-pit.lost_tick_policy=discard|delay)",
				 arg);
	if (kv->val && !strcmp(kv->val, "discard"))
		c->cfg->lost_tick_policy = CFG_LOST_TICK_DISCARD;
	else if (kv->val && !strcmp(kv->val, "delay"))
		c->cfg->lost_tick_policy = CFG_LOST_TICK_DELAY;
	else
		return cfg_error(c, "lost_tick_policy='%s' is not accepted (accepted: discard, delay)",
				 kv->val ? kv->val : "");
	return 0;
}

int cfg_opt_realtime(struct cfg_ctx *c, const char *arg)
{
	struct cfg_kvlist l;

	if (cfg_kv_split(c, &l, arg, NULL))
		return -1;
	for (unsigned i = 0; i < l.n; i++) {
		if (strcmp(l.kv[i].key, "mlock"))
			return cfg_unknown_key(c, &l.kv[i], "mlock");
		if (cfg_bool(c, &l.kv[i], &c->cfg->realtime_mlock))
			return -1;
		if (c->cfg->realtime_mlock)
			return cfg_error(c, "mlock=on is not supported (accepted: off; guest and VMM memory are not locked)");
	}
	return 0;
}

int cfg_opt_numa(struct cfg_ctx *c, const char *arg)
{
	struct machine_config *cfg = c->cfg;
	struct cfg_numa *n;
	struct cfg_kvlist l;
	bool have_nodeid = false;
	uint64_t nodeid = 0;

	if (cfg_kv_split(c, &l, arg, "type"))
		return -1;
	if (!l.kv[0].implied || strcmp(l.kv[0].val, "node"))
		return cfg_error(c, "'%s' is not supported (accepted: node,memdev=ID[,nodeid=N])",
				 arg);
	if (cfg->nnuma == CFG_MAX_NUMA)
		return cfg_error(c, "too many NUMA nodes (at most %d)",
				 CFG_MAX_NUMA);
	n = &cfg->numa[cfg->nnuma];
	memset(n, 0, sizeof(*n));
	for (unsigned i = 1; i < l.n; i++) {
		const struct cfg_kv *kv = &l.kv[i];

		if (!strcmp(kv->key, "memdev")) {
			if (cfg_id(c, "memdev", kv->val, n->memdev))
				return -1;
		} else if (!strcmp(kv->key, "nodeid")) {
			if (cfg_uint(c, "nodeid", kv->val, 0, CFG_MAX_NUMA - 1,
				     &nodeid))
				return -1;
			have_nodeid = true;
		} else {
			return cfg_unknown_key(c, kv, "memdev, nodeid");
		}
	}
	if (!n->memdev[0])
		return cfg_error(c, "'%s': memdev= is required", arg);
	n->nodeid = have_nodeid ? (unsigned)nodeid : cfg->nnuma;
	for (unsigned i = 0; i < cfg->nnuma; i++)
		if (cfg->numa[i].nodeid == n->nodeid)
			return cfg_error(c, "nodeid %u given twice", n->nodeid);
	cfg->nnuma++;
	return 0;
}

int cfg_opt_vga(struct cfg_ctx *c, const char *arg)
{
	if (strcmp(arg, "none"))
		return cfg_error(c, "'%s' is not supported (accepted: none)", arg);
	return 0;
}
