/* Intel 8042 keyboard controller at ports 0x60 (data) and 0x64
 * (status/command), with a minimal PS/2 keyboard behind it and no
 * auxiliary (mouse) port.
 *
 * Enough for what Linux does with it: the i8042 probe (controller self-test
 * 0xAA -> 0x55, command byte read/write, keyboard interface test, the
 * keyboard's reset/identify/LED commands) finishes at once, and reboot=k
 * (command 0xFE, "pulse output port bit 0", the CPU reset line) reaches the
 * machine as MACHINE_RESET, which the backend turns into an exit under
 * -no-reboot.  Writing the output port with bit 0 clear (command 0xD1)
 * resets the same way.  The aux port reports itself absent (aux test 0x01),
 * so a probe without i8042.noaux costs one command timeout. */
#ifndef VMM_DEVICES_I8042_H
#define VMM_DEVICES_I8042_H

#include <stdbool.h>
#include <stdint.h>
#include "core/irq.h"
#include "core/machine.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64

/* Status register (port 0x64 read). */
#define I8042_STR_OBF 0x01
#define I8042_STR_IBF 0x02
#define I8042_STR_SYS 0x04
#define I8042_STR_CMDDAT 0x08 /* last write was to 0x64 */
#define I8042_STR_KEYLOCK 0x10 /* 1: keyboard not inhibited */
#define I8042_STR_AUXDATA 0x20

/* Controller command byte. */
#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_AUXINT 0x02
#define I8042_CTR_SYS 0x04
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE 0x40

struct log;
struct i8042;

struct i8042_config {
	struct irq irq;          /* IRQ1 */
	struct machine_ctl ctl;  /* reset requests */
	struct log *log;         /* may be NULL */
};

struct i8042 *i8042_new(const struct i8042_config *cfg);
void i8042_free(struct i8042 *k);
void i8042_reset(struct i8042 *k);

/* bus_access_fn for port 0x60 and for port 0x64 (each registered with
 * size 1; port 0x61 between them belongs to the PIT). */
int i8042_data_access(void *dev, uint64_t offset, void *data, unsigned len,
		      bool is_write);
int i8042_cmd_access(void *dev, uint64_t offset, void *data, unsigned len,
		     bool is_write);

/* Snapshot (docs/snapshot.md): section "i8042".  load validates every
 * field first and changes nothing on error; it drives no interrupt line
 * (the backend restores its interrupt controller). */
struct snap_w;
struct snap_r;
int i8042_save(const struct i8042 *x, struct snap_w *w);
int i8042_load(struct i8042 *x, struct snap_r *r);

#endif
