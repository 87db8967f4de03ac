/* MC146818 RTC (see rtc.h). Its registers sit behind an index port: 0x70
 * selects one (bit 7 would also mask NMIs: kept clear), 0x71 reads or
 * writes it; the pair must not be split by another access, so interrupts
 * stay off across it. */
#include "rtc.h"
#include "spinlock.h"
#include "x86.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_A_RATE 0x0f  /* rate select; bits 4-6 (the time base) stay as firmware set them */
#define RTC_B_PIE 0x40   /* periodic interrupt enable */

static u8 cmos_read(u8 reg)
{
    unsigned long flags = irq_save();
    outb(CMOS_INDEX, reg);
    u8 v = inb(CMOS_DATA);
    irq_restore(flags);
    return v;
}

static void cmos_write(u8 reg, u8 value)
{
    unsigned long flags = irq_save();
    outb(CMOS_INDEX, reg);
    outb(CMOS_DATA, value);
    irq_restore(flags);
}

void rtc_periodic_start(u8 rate)
{
    cmos_write(RTC_REG_A, (cmos_read(RTC_REG_A) & ~RTC_A_RATE) | (rate & RTC_A_RATE));
    cmos_write(RTC_REG_B, cmos_read(RTC_REG_B) | RTC_B_PIE);
    rtc_ack(); /* a flag left from before would hold the line */
}

void rtc_periodic_stop(void)
{
    cmos_write(RTC_REG_B, cmos_read(RTC_REG_B) & ~RTC_B_PIE);
    rtc_ack();
}

u8 rtc_ack(void) { return cmos_read(RTC_REG_C); }
