/* The 8259 PICs: remapped clear of the exception vectors, masked until a
 * driver unmasks its line, spurious IRQ7/IRQ15 recognised and counted. */
#include "pic.h"
#include "platform.h"
#include "rtc.h"
#include "serial.h"
#include "spinlock.h"
#include "suite/suite.h"
#include "timer.h"

/* IRQ0 (the PIT) reaches the handler on vector 0x20; had the PIC kept the
 * BIOS mapping it would arrive at vector 8 (#DF) and end the run. */
TEST("pic/irq0-vector", test_irq0_vector);
static void test_irq0_vector(const char *name)
{
    u32 before = timer_pit_ticks();
    timer_sleep_ticks(10);
    u32 got = timer_pit_ticks() - before;
    verdict(got >= 10 && got <= 12, name, "%u IRQ0 ticks on vector 0x20 while waiting for 10",
            got);
}

TEST("pic/masked-until-used", test_masked);
static void test_masked(const char *name)
{
    u16 now = pic_masks(), want = 0xfffc;
    u32 uart = serial_irq_line();

    if (uart != SERIAL_NO_IRQ)
        want &= (u16)~(1u << uart);
    if (platform.pic_masks_at_init != 0xffff)
        verdict_fail(name, "masks 0x%04x right after remapping, expected 0xffff",
                     platform.pic_masks_at_init);
    else
        verdict(now == want, name, "masks 0x%04x, expected 0x%04x (only IRQ0 the PIT, IRQ1 the "
                "keyboard%s)", now, want, uart != SERIAL_NO_IRQ ? ", the console's UART" : "");
}

/* A spurious IRQ7/IRQ15 has no ISR bit: a software INT to the vector looks
 * exactly like one to the handler. */
TEST("pic/spurious-irq7-irq15", test_spurious);
static void test_spurious(const char *name)
{
    u32 before = pic_spurious_count();
    __asm__ volatile("int %0" : : "i"(PIC_MASTER_BASE + 7));
    __asm__ volatile("int %0" : : "i"(PIC_SLAVE_BASE + 7));
    u32 got = pic_spurious_count() - before;
    verdict(got == 2, name, "%u of 2 spurious interrupts recognised", got);
}

/* A real slave IRQ: the RTC's periodic interrupt on IRQ 8 must arrive at
 * PIC_SLAVE_BASE + 0 (ICW2 of the slave, 8259A data sheet) and leave no
 * in-service bit behind once handled (an EOI to the slave and to the
 * master, which saw it on IRQ2). */
#define RTC_WANT_IRQS 3
#define RTC_WAIT_MS 30 /* 3 interrupts at 1024 Hz take 3 ms */

static volatile u32 rtc_irqs, rtc_vector;

static void rtc_irq(struct trap_frame *f)
{
    rtc_irqs++;
    rtc_vector = (u32)f->vector;
    rtc_ack();
}

TEST("pic/slave-irq8-rtc", test_slave_irq);
static void test_slave_irq(const char *name)
{
    u32 waited = 0;

    rtc_irqs = rtc_vector = 0;
    unsigned long flags = irq_save();
    pic_enable_irq(RTC_IRQ, rtc_irq);
    rtc_periodic_start(RTC_RATE_1024HZ);
    irq_restore(flags);
    __asm__ volatile("sti");
    while (rtc_irqs < RTC_WANT_IRQS && waited++ < RTC_WAIT_MS)
        timer_wait_ms(1);
    flags = irq_save();
    rtc_periodic_stop();
    pic_disable_irq(RTC_IRQ);
    irq_restore(flags);
    u16 isr = pic_in_service();
    if (rtc_irqs < RTC_WANT_IRQS)
        return verdict_fail(name, "%u of %u RTC interrupts (IRQ 8) reached their handler on "
                            "vector 0x%x in %u ms; in service: 0x%04x", rtc_irqs, RTC_WANT_IRQS,
                            PIC_SLAVE_BASE, RTC_WAIT_MS, isr);
    if (rtc_vector != PIC_SLAVE_BASE)
        return verdict_fail(name, "IRQ 8 arrived on vector 0x%x, expected 0x%x", rtc_vector,
                            PIC_SLAVE_BASE);
    verdict(isr == 0, name, "in-service bits 0x%04x left after IRQ 8 was handled, expected 0",
            isr);
}
