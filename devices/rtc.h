/* MC146818A real-time clock and 128 bytes of CMOS RAM at ports 0x70/0x71
 * (index, data), IRQ8.
 *
 * Follows the Motorola MC146818A datasheet: time/calendar in BCD or binary
 * and 12/24-hour per register B, the SET bit, the divider chain of register
 * A (update cycles once a second, UIP high 244 us before each update, the
 * first update 500 ms after the divider leaves reset), periodic interrupt
 * at the register A rate, alarm with don't-care bytes (0xC0-0xFF), update-
 * ended interrupt, register C read-to-clear, register D valid-RAM bit.
 *
 * Time is the base (epoch seconds, from -rtc) plus what the clk says has
 * elapsed since rtc_new(), so in the simulator the date is reproducible.
 *
 * driftfix=slew (QEMU's lost-tick policy for the RTC): a periodic tick
 * that comes while the previous one is still unacknowledged (PF set,
 * register C not yet read) is counted, and each count is delivered as a
 * fresh interrupt right after the guest reads register C, at most
 * RTC_SLEW_BURST in a row before a real tick; guests that count ticks for
 * time (older Windows, some RTOSes) then keep time across vCPU stalls. */
#ifndef VMM_DEVICES_RTC_H
#define VMM_DEVICES_RTC_H

#include <stdbool.h>
#include <stdint.h>
#include "core/clk.h"
#include "core/irq.h"

#define RTC_PORT_BASE 0x70
#define RTC_NPORTS 2
#define RTC_CMOS_SIZE 128

/* Register indices (datasheet Figure 3 "Address map"). */
#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_DAY_OF_WEEK 0x06
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
/* PC convention (IBM AT BIOS; ACPI FADT.CENTURY points here). */
#define RTC_CENTURY 0x32

#define RTC_A_UIP 0x80
#define RTC_A_DV_MASK 0x70
#define RTC_A_RS_MASK 0x0f
#define RTC_B_SET 0x80
#define RTC_B_PIE 0x40
#define RTC_B_AIE 0x20
#define RTC_B_UIE 0x10
#define RTC_B_SQWE 0x08
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H 0x02
#define RTC_B_DSE 0x01
#define RTC_C_IRQF 0x80
#define RTC_C_PF 0x40
#define RTC_C_AF 0x20
#define RTC_C_UF 0x10
#define RTC_D_VRT 0x80

/* driftfix=slew: re-deliveries in a row before waiting for a real tick
 * (as QEMU's RTC_REINJECT_ON_ACK_COUNT), and the most missed ticks kept. */
#define RTC_SLEW_BURST 20u
#define RTC_SLEW_MAX_LOST (1u << 20)

/* UIP rises this long before each update (datasheet tBUC). */
#define RTC_UIP_NS 244000u

struct log;
struct rtc;

struct rtc_config {
	const struct clk *clk;
	struct irq irq;         /* IRQ8 */
	int64_t base_epoch;     /* guest time at rtc_new(), seconds since 1970
	                         * UTC (clamped to +-2^40) */
	bool slew;              /* -rtc driftfix=slew: periodic interrupts the
	                         * guest missed are delivered late, not lost */
	struct log *log;        /* may be NULL */
};

struct rtc *rtc_new(const struct rtc_config *cfg);
void rtc_free(struct rtc *rtc);
/* The chip's RESET pin (machine reset): interrupt enables, SQWE and the
 * flags are cleared; time and RAM are battery-backed and survive. */
void rtc_reset(struct rtc *rtc);

/* bus_access_fn for ports 0x70 (offset 0: index, bit 7 = NMI disable) and
 * 0x71 (offset 1: data). */
int rtc_access(void *dev, uint64_t offset, void *data, unsigned len,
	       bool is_write);

/* Board access to the battery-backed RAM (memory size fields 0x15-0x18,
 * 0x30/0x31, 0x34/0x35, 0x5b-0x5d, ...).  Indices below 0x0e and the
 * century byte are the clock's and are refused (-EINVAL). */
int rtc_cmos_set(struct rtc *rtc, unsigned idx, uint8_t val);
uint8_t rtc_cmos_get(const struct rtc *rtc, unsigned idx);

/* driftfix=slew: periodic ticks missed and not yet re-delivered. */
uint32_t rtc_slew_pending(const struct rtc *rtc);

/* The guest's idea of now, in epoch seconds (what the registers show). */
int64_t rtc_now_epoch(struct rtc *rtc);

/* --- calendar and register format helpers (rtc_time.c) --- */

struct rtc_tm {
	int64_t year;  /* full year, e.g. 2026 */
	int mon;       /* 1..12 */
	int mday;      /* 1..31 */
	int hour, min, sec;
	int wday;      /* 0 = Sunday */
};

void rtc_time_from_epoch(int64_t t, struct rtc_tm *tm);
/* Any field values (even far out of range) normalize like mktime(). */
int64_t rtc_time_to_epoch(const struct rtc_tm *tm);

/* The clock's registers 0x00, 0x02, 0x04, 0x06-0x09 and the century byte,
 * in the format register B selects. */
struct rtc_regs {
	uint8_t sec, min, hour, wday, mday, mon, year, century;
};
void rtc_time_encode(int64_t t, uint8_t reg_b, struct rtc_regs *r);
/* Decode whatever the guest wrote (invalid BCD digits, hour 0 or 13+ in
 * 12-hour mode, month 0...) without failing: digits count at face value
 * and the result normalizes like mktime().  The day of week is ignored. */
int64_t rtc_time_decode(const struct rtc_regs *r, uint8_t reg_b);
/* One value in register format: BCD or binary per reg_b. */
uint8_t rtc_time_to_reg(unsigned v, uint8_t reg_b);
unsigned rtc_time_from_reg(uint8_t v, uint8_t reg_b);
/* Hours with the 12-hour PM bit (bit 7) as register B selects. */
uint8_t rtc_time_hour_to_reg(unsigned hour24, uint8_t reg_b);

#endif
