/* 8254 programmable interval timer: channel 0 drives IRQ0; channel 2
 * (gated through port 0x61, no interrupt) is a free-running counter read by
 * polling, which loses nothing when an emulator delays the CPU. */
#ifndef LHV_PIT_H
#define LHV_PIT_H

#include "types.h"

#define PIT_HZ 1193182u /* input clock */

/* Channel 0: periodic interrupts (mode 2) at PIT_HZ / divisor, or one
 * interrupt after `count` input clocks (mode 0). */
void pit_start_periodic(u16 divisor);
void pit_start_oneshot(u16 count);
/* The divisor channel 0 was last started periodic with (0 for the
 * divisor 65536 and after a one-shot) */
u16 pit_periodic_divisor(void);

/* Channel 0's current count (latched). In mode 2 it runs from the divisor
 * down to 1, then reloads. One user at a time (the bootstrap processor):
 * the latch and its two reads belong together. */
u16 pit_channel0_count(void);

/* Channel 2 as a counter of input clocks: start it, then read the clocks
 * elapsed since the start. Poll at least every 54 ms (one wrap). One user
 * at a time (the bootstrap processor). */
struct pit_counter {
    u16 last;
    u64 elapsed;
};
void pit_counter_start(struct pit_counter *c);
u64 pit_counter_elapsed(struct pit_counter *c);

/* Busy-waits about us microseconds on the channel-2 counter. */
void udelay(u32 us);

#endif
