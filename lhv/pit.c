/* 8254 PIT (ports 0x40-0x43; channel 2 gate and output in port 0x61). */
#include "div64.h"
#include "pit.h"
#include "x86.h"

#define PIT_CH0 0x40
#define PIT_CH2 0x42
#define PIT_MODE 0x43
#define PIT_SEL_CH0 0x00
#define PIT_SEL_CH2 0x80
#define PIT_LOHI 0x30        /* access low byte, then high byte */
#define PIT_MODE0 0x00       /* interrupt on terminal count */
#define PIT_MODE2 0x04       /* rate generator */
#define PORT61 0x61
#define PORT61_GATE2 0x01    /* channel 2 gate */
#define PORT61_SPEAKER 0x02  /* keep the speaker off */
#define PORT61_OUT2 0x20     /* channel 2 output (read-only) */

static void load(u16 port, u8 mode, u16 count)
{
    outb(PIT_MODE, mode);
    outb(port, (u8)count);
    outb(port, (u8)(count >> 8));
}

void pit_start_periodic(u16 divisor) { load(PIT_CH0, PIT_SEL_CH0 | PIT_LOHI | PIT_MODE2, divisor); }

void pit_start_oneshot(u16 count) { load(PIT_CH0, PIT_SEL_CH0 | PIT_LOHI | PIT_MODE0, count); }

/* Mode 0 with the longest count and never reloaded: at most one more
 * interrupt, 55 ms from now; the caller masks IRQ0 as well. */
void pit_stop(void) { pit_start_oneshot(0xffff); }

/* One channel-2 countdown of count input clocks (<= 65535): mode 0's output
 * goes high at terminal count. */
static void wait_ticks(u16 count)
{
    u8 p = inb(PORT61) & ~(PORT61_GATE2 | PORT61_SPEAKER);

    outb(PORT61, p); /* gate low: the count loads on the rising edge */
    load(PIT_CH2, PIT_SEL_CH2 | PIT_LOHI | PIT_MODE0, count);
    outb(PORT61, p | PORT61_GATE2);
    while (!(inb(PORT61) & PORT61_OUT2))
        cpu_relax();
    outb(PORT61, p);
}

void udelay(u32 us)
{
    /* input clocks = us * 1.193182, in chunks below 65536 (54 ms) */
    u64 ticks = udiv64((u64)us * PIT_HZ + 999999, 1000000, NULL);
    while (ticks) {
        u16 n = ticks > 0xffff ? 0xffff : (u16)ticks;
        wait_ticks(n ? n : 1);
        ticks -= n;
    }
}
