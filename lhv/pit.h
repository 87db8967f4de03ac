/* 8254 programmable interval timer: channel 0 drives IRQ0, channel 2
 * (gated through port 0x61) measures delays by polling. */
#ifndef LHV_PIT_H
#define LHV_PIT_H

#include "types.h"

#define PIT_HZ 1193182u /* input clock */

/* Channel 0: periodic interrupts (mode 2) at PIT_HZ / divisor, or one
 * interrupt after `count` input clocks (mode 0). */
void pit_start_periodic(u16 divisor);
void pit_start_oneshot(u16 count);
void pit_stop(void);

/* Busy-waits about us microseconds with channel 2 (no interrupts used). */
void udelay(u32 us);

#endif
