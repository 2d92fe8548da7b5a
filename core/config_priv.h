/* Private to core/config*.c: the option-string tokenizer, typed value
 * parsers and the error context shared by the per-option parsers. */
#ifndef VMM_CORE_CONFIG_PRIV_H
#define VMM_CORE_CONFIG_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"

#define CFG_KV_MAX 32
#define CFG_KV_BUF 4096

/* One parse: where errors go and which option is being parsed. */
struct cfg_ctx {
	struct machine_config *cfg;
	char *err;
	size_t errlen;
	const char *opt;        /* "-smp", as the user spelled it minus a '-' */
	bool accel_given;       /* -machine accel= or -enable-kvm seen */
	bool qmp_given;
	bool serial_none;       /* -serial none: no default serial */
};

/* "key=val,key=val" split QEMU-style: ",," is a literal comma inside a
 * value; a bare "key" has val NULL.  With implied_key, a first item
 * without '=' becomes implied_key=item ("-smp 4", "-machine q35"). */
struct cfg_kv {
	const char *key;
	const char *val;
	bool implied;   /* key came from implied_key: quote just the value */
};
struct cfg_kvlist {
	struct cfg_kv kv[CFG_KV_MAX];
	unsigned n;
	char buf[CFG_KV_BUF];
};

int cfg_error(struct cfg_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int cfg_kv_split(struct cfg_ctx *c, struct cfg_kvlist *l, const char *s,
		 const char *implied_key);
int cfg_unknown_key(struct cfg_ctx *c, const struct cfg_kv *kv,
		    const char *accepted);

/* Typed values; each returns 0 or -1 with the error written. */
int cfg_bool(struct cfg_ctx *c, const struct cfg_kv *kv, bool *out);
int cfg_uint(struct cfg_ctx *c, const char *what, const char *val,
	     uint64_t min, uint64_t max, uint64_t *out);
int cfg_size(struct cfg_ctx *c, const char *what, const char *val,
	     uint64_t unit, uint64_t min, uint64_t max, uint64_t *out);
int cfg_str(struct cfg_ctx *c, const char *what, const char *val,
	    char *dst, size_t dstlen);
int cfg_id(struct cfg_ctx *c, const char *what, const char *val,
	   char *dst);
int cfg_need_val(struct cfg_ctx *c, const struct cfg_kv *kv);
bool cfg_id_ok(const char *id);

/* Per-option parsers (config_machine.c, config_backend.c,
 * config_device.c). */
int cfg_opt_name(struct cfg_ctx *c, const char *arg);
int cfg_opt_uuid(struct cfg_ctx *c, const char *arg);
int cfg_opt_machine(struct cfg_ctx *c, const char *arg);
int cfg_opt_cpu(struct cfg_ctx *c, const char *arg);
int cfg_opt_smp(struct cfg_ctx *c, const char *arg);
int cfg_opt_m(struct cfg_ctx *c, const char *arg);
int cfg_opt_rtc(struct cfg_ctx *c, const char *arg);
int cfg_opt_global(struct cfg_ctx *c, const char *arg);
int cfg_opt_realtime(struct cfg_ctx *c, const char *arg);
int cfg_opt_numa(struct cfg_ctx *c, const char *arg);
int cfg_opt_vga(struct cfg_ctx *c, const char *arg);
int cfg_opt_object(struct cfg_ctx *c, const char *arg);
/* pc-dimm / virtio-mem properties and rules (config_mem.c). */
int cfg_mem_prop(struct cfg_ctx *c, bool dimm, struct cfg_device *d,
		 const struct cfg_kv *kv, bool *handled);
int cfg_mem_check(struct cfg_ctx *c, const struct cfg_device *d, const char *lb);
int cfg_opt_drive(struct cfg_ctx *c, const char *arg);
int cfg_opt_netdev(struct cfg_ctx *c, const char *arg);
int cfg_opt_chardev(struct cfg_ctx *c, const char *arg);
int cfg_opt_serial(struct cfg_ctx *c, const char *arg);
int cfg_opt_qmp(struct cfg_ctx *c, const char *arg);
int cfg_opt_incoming(struct cfg_ctx *c, const char *arg);
int cfg_check_incoming(struct cfg_ctx *c);
int cfg_opt_device(struct cfg_ctx *c, const char *arg);
/* QMP's run-time additions (config_hotplug.c): one -device/-object/
 * -netdev parsed and checked on a copy of cfg, which replaces cfg only if
 * all went well.  count_off: offsetof the list's count in the config. */
int cfg_add_one(struct machine_config *cfg, const char *opt,
		int (*parse)(struct cfg_ctx *c, const char *arg), size_t count_off,
		const char *what, const char *arg, char *err, size_t errlen);

/* "YYYY-MM-DD[THH:MM:SS]" (UTC) -> seconds since the epoch; -1 if bad. */
int cfg_parse_date(const char *s, int64_t *out);

/* After all options: cross-references and whole-machine rules
 * (config_check.c). */
int cfg_check(struct cfg_ctx *c);

#endif
