/* MC146818 real-time clock (the CMOS RTC), as far as LHV uses it: its
 * periodic interrupt, the one device every PC (QEMU and Bochs included)
 * wires to a slave 8259 line, IRQ 8. */
#ifndef LHV_RTC_H
#define LHV_RTC_H

#include "types.h"

#define RTC_IRQ 8
#define RTC_RATE_1024HZ 6 /* rate select: 32768 >> (rate - 1) Hz */

/* Starts (register B PIE) or stops the periodic interrupt at a rate
 * select of 3-15. Interrupts may be on: each register access is atomic. */
void rtc_periodic_start(u8 rate);
void rtc_periodic_stop(void);

/* Reads register C, which acknowledges the interrupt (the RTC raises no
 * other until it is read); returns its flags. */
u8 rtc_ack(void);

#endif
