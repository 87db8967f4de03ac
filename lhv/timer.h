/* Timekeeping on top of the PIT, the ACPI PM timer and the local APIC
 * timer: tick counters, waiting, and the calibration of the LAPIC timer. */
#ifndef LHV_TIMER_H
#define LHV_TIMER_H

#include "types.h"

#define PIT_TICK_HZ 1000 /* the rate timer_init runs the PIT at (about) */

/* Starts the PIT at ~1000 Hz on IRQ0 and installs the LAPIC timer vector;
 * call with interrupts off, then enable them. */
void timer_init(void);

/* IRQ0 ticks so far. */
u32 timer_pit_ticks(void);

/* Sleeps in hlt until `ticks` more PIT ticks have passed (interrupts on). */
void timer_sleep_ticks(u32 ticks);

/* Busy-waits ms milliseconds on the PIT's channel-2 counter (interrupts
 * are taken meanwhile if enabled). Bootstrap processor only. */
void timer_wait_ms(u32 ms);

/* LAPIC timer interrupts taken by CPU `index` so far. */
u32 timer_lapic_ticks(u32 index);

/* Result of the LAPIC timer calibration (median of several 100 ms windows). */
struct lapic_calibration {
    u64 hz_by_pit;    /* LAPIC timer counts per second, by the PIT */
    u64 hz_by_pm;     /* ... by the ACPI PM timer; 0 without one */
    u32 windows;
    u32 window_ms;
};

/* Measures the LAPIC timer frequency (divide by 1) on this CPU. */
void timer_calibrate_lapic(struct lapic_calibration *out);

/* The calibrated frequency (0 before calibration). */
u64 timer_lapic_hz(void);

#endif
