/* Timekeeping: the PIT ticks at ~1000 Hz on IRQ0 of the BSP; each CPU
 * counts its own LAPIC timer interrupts; the LAPIC timer frequency is
 * measured against the PIT and cross-checked against the ACPI PM timer (the
 * TSC is no independent clock in emulators: it follows the host in QEMU TCG
 * and counts instructions in Bochs). */
#include "console.h"
#include "cpu.h"
#include "deadline.h"
#include "desc.h"
#include "div64.h"
#include "lapic.h"
#include "pic.h"
#include "pit.h"
#include "pmtimer.h"
#include "spinlock.h"
#include "string.h"
#include "timer.h"
#include "vga.h"
#include "x86.h"

#define PIT_DIVISOR 1193 /* 1193182 / 1193 = 1000.15 Hz */
#define CALIBRATION_WINDOWS 3
#define CALIBRATION_MS 100
#define CALIBRATION_RETRIES 5 /* windows measured again after a host stall */

static volatile u32 pit_ticks;
static volatile u32 lapic_ticks[LHV_MAX_CPUS];
static u64 lapic_hz;

/* The CPU's VGA status slot: its timer ticks and whether a guest runs. */
static void show_status(struct lhv_cpu *c)
{
    char text[VGA_SLOT_WIDTH];
    snprintf(text, sizeof(text), "%u %s P%u L%u", c->index, c->in_guest ? "guest" : "host",
             c->index ? 0 : pit_ticks, lapic_ticks[c->index]);
    vga_status(c->index, text);
}

static void pit_tick(struct trap_frame *f)
{
    deadline_tick((unsigned long)f->ip);
    if (++pit_ticks % 100 == 0)
        show_status(this_cpu());
}

static void lapic_tick(struct trap_frame *f)
{
    struct lhv_cpu *c = this_cpu();
    (void)f;
    if (++lapic_ticks[c->index] % 10 == 0)
        show_status(c);
    lapic_eoi();
}

void timer_init(void)
{
    trap_set_handler(VEC_LAPIC_TIMER, lapic_tick);
    pit_start_periodic(PIT_DIVISOR);
    pic_enable_irq(0, pit_tick);
}

u32 timer_pit_ticks(void) { return pit_ticks; }

u32 timer_lapic_ticks(u32 index) { return lapic_ticks[index]; }

u64 timer_lapic_hz(void) { return lapic_hz; }

void timer_sleep_ticks(u32 ticks)
{
    u32 start = pit_ticks;
    while (pit_ticks - start < ticks)
        __asm__ volatile("sti; hlt; cli");
    __asm__ volatile("sti");
}

static u64 median3(u64 a, u64 b, u64 c)
{
    if ((a <= b && b <= c) || (c <= b && b <= a))
        return b;
    if ((b <= a && a <= c) || (c <= a && a <= b))
        return a;
    return c;
}

static bool halt_waits = true; /* timer_halt_waits */

void timer_halt_waits(bool on) { halt_waits = on; }

/* Whether a wait with `left` PIT clocks to go may halt until the next
 * interrupt: channel 0 ticks periodically, faster than what is left (two
 * ticks: one may have come between this check and the hlt), and a tick
 * came since the wait began, so IRQ0 is not masked. */
static bool may_halt(u64 left, u32 ticks_at_start)
{
    u16 divisor = pit_periodic_divisor();
    return halt_waits && divisor && left > 2u * divisor && pit_ticks != ticks_at_start;
}

/* One step of a wait loop: halt (interrupts on) or poll. A poll loop is
 * as slow as the instructions it runs in Bochs, where a halted CPU skips to
 * the next event, and under QEMU TCG each poll of a timer port takes the
 * lock the other vCPUs' timer interrupts need. */
static void wait_step(u64 left, u32 ticks_at_start)
{
    if (irqs_enabled() && may_halt(left, ticks_at_start))
        __asm__ volatile("hlt" : : : "memory");
    else
        cpu_relax();
}

/* On channel 2, which counts with interrupts off too */
void timer_wait_ms(u32 ms)
{
    struct pit_counter pc;
    u64 clocks = udiv64((u64)ms * PIT_HZ, 1000, NULL), elapsed;
    u32 ticks_at_start = pit_ticks;

    pit_counter_start(&pc);
    while ((elapsed = pit_counter_elapsed(&pc)) < clocks)
        wait_step(clocks - elapsed, ticks_at_start);
}

/* The PM timer runs at 3 x PIT_HZ: both come from the 14.318 MHz clock. */
void timer_wait_pm(u32 pm_clocks)
{
    u32 p0 = pmtimer_read(), ticks_at_start = pit_ticks, elapsed;

    while ((elapsed = pmtimer_delta(p0, pmtimer_read())) < pm_clocks)
        wait_step((pm_clocks - elapsed) / 3, ticks_at_start);
}

void timer_pit_rate_begin(struct pit_rate_sample *s, u16 divisor)
{
    unsigned long flags = irq_save();
    bool pm = pmtimer_present();

    s->divisor = divisor;
    pit_start_periodic(divisor);
    s->ticks_at_start = pit_ticks;
    s->pm_at_start = pm ? pmtimer_read() : 0;
    irq_restore(flags);
}

void timer_pit_rate_end(struct pit_rate_sample *s)
{
    unsigned long flags = irq_save();
    bool pm = pmtimer_present();

    s->irqs = pit_ticks - s->ticks_at_start;
    s->pm_clocks = pm ? pmtimer_delta(s->pm_at_start, pmtimer_read()) : 0;
    timer_init();
    irq_restore(flags);
}

/* One window of CALIBRATION_MS, timed by polling the PIT's channel-2
 * counter (a delayed CPU loses no time that way, unlike counting IRQ0s,
 * as long as it reads the 16-bit counter at least once per wrap, 55 ms):
 * the LAPIC counter and the PM timer are read next to the PIT at both ends
 * with interrupts off, so nothing comes between the reads; in between the
 * CPU takes interrupts (the IRQ0s being counted). Returns false when the
 * PM timer saw more than half a wrap of PIT clocks that the polling did
 * not: the host stopped the (virtual) CPU for longer than a wrap. */
static bool measure_window(u64 *by_pit, u64 *by_pm)
{
    struct pit_counter pc;
    u64 window = udiv64((u64)CALIBRATION_MS * PIT_HZ, 1000, NULL), clocks;
    bool pm = pmtimer_present();

    __asm__ volatile("cli");
    lapic_timer_start(0, 0xffffffffu, false);
    pit_counter_start(&pc);
    u32 c0 = lapic_timer_current(), p0 = pm ? pmtimer_read() : 0;
    u32 ticks_at_start = pit_ticks;
    /* Interrupts on between the reads only. Halting reads channel 2 at
     * each IRQ0, well within its 55 ms wrap; the window may end late, its
     * length is what was counted. (STI defers interrupts by one
     * instruction: the nop or hlt after it.) */
    while ((clocks = pit_counter_elapsed(&pc)) < window) {
        if (may_halt(window - clocks, ticks_at_start))
            __asm__ volatile("sti; hlt; cli" : : : "memory");
        else
            __asm__ volatile("sti; nop; cli" : : : "memory");
    }
    u32 c1 = lapic_timer_current(), p1 = pm ? pmtimer_read() : 0;
    __asm__ volatile("sti");
    u64 counts = c0 - c1;
    u64 pm_clocks = pm ? pmtimer_delta(p0, p1) : 0;
    *by_pit = udiv64(counts * PIT_HZ, clocks, NULL);
    *by_pm = pm ? udiv64(counts * PMTIMER_HZ, pm_clocks, NULL) : 0;
    /* The PM timer runs at 3 x PIT_HZ (both from the 14.318 MHz clock). */
    return !pm || udiv64(pm_clocks, 3, NULL) <= clocks + 0x8000;
}

void timer_calibrate_lapic(struct lapic_calibration *out, struct pit_rate_sample *irq0)
{
    u64 pit[CALIBRATION_WINDOWS], pm[CALIBRATION_WINDOWS];

    timer_pit_rate_begin(irq0, PIT_SAMPLE_DIVISOR);
    for (int i = 0, tries = 0; i < CALIBRATION_WINDOWS; i++)
        if (!measure_window(&pit[i], &pm[i]) && ++tries < CALIBRATION_RETRIES)
            i--; /* a window the host cut short of PIT wraps: measure it again */
    timer_pit_rate_end(irq0);
    lapic_timer_stop();
    out->hz_by_pit = median3(pit[0], pit[1], pit[2]);
    out->hz_by_pm = median3(pm[0], pm[1], pm[2]);
    out->windows = CALIBRATION_WINDOWS;
    out->window_ms = CALIBRATION_MS;
    lapic_hz = out->hz_by_pm ? out->hz_by_pm : out->hz_by_pit;
}
