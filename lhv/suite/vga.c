/* The VGA text console: console lines appear on the screen, the cursor is
 * hidden, and each CPU has a status slot its timers fill. */
#include "console.h"
#include "string.h"
#include "suite.h"
#include "timer.h"
#include "vga.h"

#define NO_VGA "no VGA text console (lhv.console=serial or UEFI boot)"

TEST("vga/console-mirror", test_mirror);
static void test_mirror(const char *name)
{
    if (!vga_enabled()) {
        verdict_skip(name, NO_VGA);
        return;
    }
    static const char marker[] = "vga: this line is on the screen";
    printf("%s\n", marker);
    u32 row = vga_cursor_row(); /* the next line; the marker is just above */
    char seen[sizeof(marker)];
    for (u32 i = 0; i + 1 < sizeof(marker); i++)
        seen[i] = row ? vga_char_at(row - 1, i) : 0;
    seen[sizeof(marker) - 1] = '\0';
    verdict(strcmp(seen, marker) == 0, name, "row %u reads \"%s\"", row ? row - 1 : 0, seen);
}

TEST("vga/cursor-hidden", test_cursor);
static void test_cursor(const char *name)
{
    if (!vga_enabled()) {
        verdict_skip(name, NO_VGA);
        return;
    }
    verdict(vga_cursor_hidden(), name, "CRTC register 0x0a bit 5 (cursor disable) is clear");
}

/* CPU 0's slot, in the first status row, shows its number and state. */
TEST("vga/status-area", test_status);
static void test_status(const char *name)
{
    if (!vga_enabled()) {
        verdict_skip(name, NO_VGA);
        return;
    }
    timer_wait_ms(120); /* > 100 PIT ticks: the slot was written */
    char slot[7];
    for (u32 i = 0; i < 6; i++)
        slot[i] = vga_char_at(vga_status_row(0), i);
    slot[6] = '\0';
    verdict(strncmp(slot, "0 host", 6) == 0, name, "CPU 0's status slot reads \"%s\"", slot);
}
