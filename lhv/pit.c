/* 8254 PIT (ports 0x40-0x43; channel 2 gate in port 0x61). */
#include "div64.h"
#include "pit.h"
#include "x86.h"

#define PIT_CH0 0x40
#define PIT_CH2 0x42
#define PIT_MODE 0x43
#define PIT_SEL_CH0 0x00
#define PIT_SEL_CH2 0x80
#define PIT_LATCH 0x00       /* counter latch command (with a channel select) */
#define PIT_LOHI 0x30        /* access low byte, then high byte */
#define PIT_MODE0 0x00       /* interrupt on terminal count */
#define PIT_MODE2 0x04       /* rate generator */
#define PORT61 0x61
#define PORT61_GATE2 0x01    /* channel 2 gate */
#define PORT61_SPEAKER 0x02  /* keep the speaker off */

static void load(u16 port, u8 mode, u16 count)
{
    outb(PIT_MODE, mode);
    outb(port, (u8)count);
    outb(port, (u8)(count >> 8));
}

static u16 periodic_divisor; /* 0: channel 0 is not in mode 2 */

void pit_start_periodic(u16 divisor)
{
    load(PIT_CH0, PIT_SEL_CH0 | PIT_LOHI | PIT_MODE2, divisor);
    periodic_divisor = divisor;
}

void pit_start_oneshot(u16 count)
{
    load(PIT_CH0, PIT_SEL_CH0 | PIT_LOHI | PIT_MODE0, count);
    periodic_divisor = 0;
}

u16 pit_periodic_divisor(void) { return periodic_divisor; }

/* Latches a channel's count and reads it, low byte first */
static u16 latch_read(u8 select, u16 port)
{
    outb(PIT_MODE, select | PIT_LATCH);
    u8 lo = inb(port);
    return (u16)(lo | (inb(port) << 8));
}

static u16 ch2_read(void) { return latch_read(PIT_SEL_CH2, PIT_CH2); }

u16 pit_channel0_count(void) { return latch_read(PIT_SEL_CH0, PIT_CH0); }

/* Mode 2 with count 0 (= 65536): counts down and reloads forever. */
void pit_counter_start(struct pit_counter *c)
{
    u8 p = inb(PORT61) & ~(PORT61_GATE2 | PORT61_SPEAKER);
    outb(PORT61, p);
    load(PIT_CH2, PIT_SEL_CH2 | PIT_LOHI | PIT_MODE2, 0);
    outb(PORT61, p | PORT61_GATE2);
    c->last = ch2_read();
    c->elapsed = 0;
}

u64 pit_counter_elapsed(struct pit_counter *c)
{
    u16 now = ch2_read();
    c->elapsed += (u16)(c->last - now); /* counts down; wraps at 65536 */
    c->last = now;
    return c->elapsed;
}

void udelay(u32 us)
{
    struct pit_counter c;
    u64 clocks = udiv64((u64)us * PIT_HZ + 999999, 1000000, NULL);
    pit_counter_start(&c);
    while (pit_counter_elapsed(&c) < clocks)
        cpu_relax();
}
