/* The keyboard's IRQ1 reaches vector 0x21 and its scancode is logged: the
 * 8042 is asked to deliver a scancode as if a key had been pressed. */
#include "keyboard.h"
#include "suite/suite.h"
#include "timer.h"

#define SCANCODE_A_PRESSED 0x1e

TEST("keyboard/irq1-scancode", test_scancode);
static void test_scancode(const char *name)
{
    u32 before = keyboard_count();
    keyboard_inject(SCANCODE_A_PRESSED);
    for (int ms = 0; ms < 50 && keyboard_count() == before; ms++)
        timer_wait_ms(1);
    if (keyboard_count() == before)
        return verdict_fail(name, "no IRQ1 within 50 ms of an injected scancode");
    verdict(keyboard_last() == SCANCODE_A_PRESSED, name, "scancode 0x%02x, expected 0x%02x",
            keyboard_last(), SCANCODE_A_PRESSED);
}
