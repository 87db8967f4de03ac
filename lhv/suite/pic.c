/* The 8259 PICs: remapped clear of the exception vectors, masked until a
 * driver unmasks its line, spurious IRQ7/IRQ15 recognised and counted. */
#include "pic.h"
#include "platform.h"
#include "suite.h"
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
    u16 now = pic_masks();
    if (platform.pic_masks_at_init != 0xffff)
        verdict_fail(name, "masks 0x%04x right after remapping, expected 0xffff",
                     platform.pic_masks_at_init);
    else
        verdict(now == 0xfffc, name, "masks 0x%04x, expected 0xfffc (only IRQ0 the PIT, IRQ1 the "
                "keyboard)", now);
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
