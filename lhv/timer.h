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

/* Waits ms milliseconds on the PIT's channel-2 counter (interrupts are
 * taken meanwhile if enabled; between the PIT's periodic ticks it halts).
 * Bootstrap processor only. */
void timer_wait_ms(u32 ms);

/* Waits pm_clocks of the ACPI PM timer (which must be present), halting
 * between the PIT's periodic ticks like timer_wait_ms. */
void timer_wait_pm(u32 pm_clocks);

/* LAPIC timer interrupts taken by CPU `index` so far. */
u32 timer_lapic_ticks(u32 index);

/* Result of the LAPIC timer calibration (median of several 100 ms windows). */
struct lapic_calibration {
    u64 hz_by_pit;    /* LAPIC timer counts per second, by the PIT */
    u64 hz_by_pm;     /* ... by the ACPI PM timer; 0 without one */
    u32 windows;
    u32 window_ms;
};

/* IRQ0 interrupts counted over a span timed by the ACPI PM timer, with the
 * PIT's channel 0 periodic at PIT_HZ / divisor: what timer/pit-periodic
 * checks. pm_clocks is 0 when there is no PM timer. */
struct pit_rate_sample {
    u16 divisor;
    u32 irqs;
    u32 pm_clocks;
    u32 ticks_at_start, pm_at_start;
};

/* Runs the PIT at PIT_HZ / divisor and starts counting; the CPU must take
 * interrupts until timer_pit_rate_end, which stores the counts and puts
 * the PIT back to the timer_init rate. Bootstrap processor only. */
void timer_pit_rate_begin(struct pit_rate_sample *s, u16 divisor);
void timer_pit_rate_end(struct pit_rate_sample *s);

/* The PIT rate timer/pit-periodic checks: 1193182 / 11932 = 100.0 Hz. */
#define PIT_SAMPLE_DIVISOR 11932

/* Measures the LAPIC timer frequency (divide by 1) on this CPU. Call with
 * interrupts on: meanwhile the PIT runs at PIT_SAMPLE_DIVISOR and its IRQ0s
 * are counted into `irq0`, so timer/pit-periodic needs no time of its own at
 * boot. */
void timer_calibrate_lapic(struct lapic_calibration *out, struct pit_rate_sample *irq0);

/* Whether the timer waits (timer_wait_ms and kin, the calibration's
 * windows) may halt between the PIT's interrupts (on by default) or only
 * poll: see platform_init_bsp for where they poll. */
void timer_halt_waits(bool on);

/* The calibrated frequency (0 before calibration). */
u64 timer_lapic_hz(void);

#endif
