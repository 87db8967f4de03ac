/* What the timer tests (timer_calibration.c, timer_legacy_pit.c,
 * timer_local_apic.c) measure with: a counter read next to the ACPI PM
 * timer, and how far apart two rates are. */
#ifndef LHV_SUITE_PLATFORM_TIMER_MEASURE_H
#define LHV_SUITE_PLATFORM_TIMER_MEASURE_H

#include "div64.h"
#include "pmtimer.h"

/* A measurement's tries (interrupt counts in an emulator are at the mercy
 * of the host; see timer_legacy_pit.c) */
#define ATTEMPTS 3

/* How far apart two rates are, in parts per million of b */
u64 ppm_apart(u64 a, u64 b);

/* A counter read next to the ACPI PM timer: the PM time is the midpoint of
 * two PM reads around the counter's, with interrupts off (the PIT's IRQ0
 * comes at the very reload a period measurement brackets: its handler
 * inside a stamp put the counter read 6 PIT clocks off the midpoint, and
 * 3 of 20 runs of timer/pit-clock-rate FAILed in Bochs), which must be at most
 * STAMP_MAX_WIDTH apart (else a busy host stopped the virtual CPU in
 * between: read again). The error is then at most half that width, and
 * less where the width is steady (the same offset in both stamps of a
 * difference cancels). Bochs with 2 CPUs steps one clock for both, so
 * the three reads span 43 PM clocks there (11 with 1 CPU). */
#define STAMP_MAX_WIDTH 72 /* PM clocks: 20 us */
#define STAMP_TRIES 20

struct stamp {
    u32 pm, count;
};

/* (defined in timer_legacy_pit.c, beside its main user) */
bool stamp_read(struct stamp *s, u32 (*counter)(void));

#endif
