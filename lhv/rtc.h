/* MC146818 real-time clock (the CMOS RTC), as far as LHV uses it: its
 * periodic interrupt, the one device every PC (QEMU and Bochs included)
 * wires to a slave 8259 line, IRQ 8; and its time of day and alarm, which
 * raises the same IRQ (the test deadline's backstop, deadline.c). */
#ifndef LHV_RTC_H
#define LHV_RTC_H

#include "types.h"

#define RTC_IRQ 8
#define RTC_RATE_1024HZ 6 /* rate select: 32768 >> (rate - 1) Hz */
#define RTC_DAY_SECONDS 86400u
#define RTC_B_24H 0x02    /* register B: 24-hour mode (else 12, bit 7 of the hour = PM) */
#define RTC_B_BINARY 0x04 /* register B: binary (else BCD) */

/* Starts (register B PIE) or stops the periodic interrupt at a rate
 * select of 3-15. Interrupts may be on: each register access is atomic. */
void rtc_periodic_start(u8 rate);
void rtc_periodic_stop(void);

/* Reads register C, which acknowledges the interrupt (the RTC raises no
 * other until it is read); returns its flags. */
u8 rtc_ack(void);

/* Reads the time of day as seconds since midnight; false when the clock
 * gives no valid time. */
bool rtc_time_of_day(u32 *seconds);

/* Raises IRQ 8 once when the time of day reaches `seconds` (alarm
 * interrupt enabled, pending flags cleared), or no more. */
void rtc_alarm_at(u32 seconds);
void rtc_alarm_off(void);

/* The hours, minutes and seconds registers for a time of day (taken
 * modulo a day), in the format register B value regb gives, and back
 * (false for values the format cannot hold). Pure: unit-tested. */
void rtc_encode_hms(u32 seconds, u8 regb, u8 hms[3]);
bool rtc_decode_hms(const u8 hms[3], u8 regb, u32 *seconds);

#endif
