/* The VGA text console: console lines appear on the screen, the cursor is
 * hidden, and each CPU has a status slot its timers fill. */
#include "console.h"
#include "string.h"
#include "suite/suite.h"
#include "timer.h"
#include "vga.h"

#define NO_VGA "no VGA text console (lhv.console=serial or UEFI boot)"

TEST("vga/console-mirror", test_mirror);
/* The two lines printed last are the two rows above the cursor, and the
 * rows below it are blank. The cursor is on the last text row before them
 * (the test moves it there), so the first line's newline scrolls: a jump
 * of half the text rows (lhv/vga.c) moved the first line up and cleared the
 * rows the second and those after it go to. */
static bool row_reads(u32 r, const char *text, char *seen, size_t size)
{
    size_t i;
    for (i = 0; i + 1 < size && text[i]; i++)
        seen[i] = vga_char_at(r, (u32)i);
    seen[i] = '\0';
    return strcmp(seen, text) == 0;
}

static void test_mirror(const char *name)
{
    static const char first[] = "vga: this line is on the screen";
    static const char second[] = "vga: and this one below it";
    char seen[sizeof(first)];

    if (!vga_enabled()) {
        verdict_skip(name, NO_VGA);
        return;
    }
    /* The cursor to the last text row, so the first line's newline scrolls:
     * rows of text on the screen alone (the console held, as vga_putc
     * wants), which the serial line need not carry; not blank, so a scroll
     * that leaves rows uncleared shows */
    unsigned long held = console_lock();
    while (vga_cursor_row() + 1 < vga_status_row(0))
        for (const char *p = "vga: a row to scroll away\n"; *p; p++)
            vga_putc(*p);
    console_unlock(held);
    printf("%s\n%s\n", first, second);
    u32 row = vga_cursor_row(); /* the next line */
    if (row < 2)
        return verdict_fail(name, "the cursor is on row %u after two lines", row);
    if (!row_reads(row - 1, second, seen, sizeof(seen)))
        return verdict_fail(name, "row %u reads \"%s\"", row - 1, seen);
    if (!row_reads(row - 2, first, seen, sizeof(seen)))
        return verdict_fail(name, "row %u reads \"%s\" after a scroll", row - 2, seen);
    for (u32 r = row; r < vga_status_row(0); r++)
        for (u32 c = 0; c < VGA_COLUMNS; c++)
            if (vga_char_at(r, c) != ' ')
                return verdict_fail(name, "row %u, below the cursor, has '%c' in column %u "
                                    "after a scroll", r, vga_char_at(r, c), c);
    verdict_pass(name);
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

/* Blinking is off (lhv/vga.c: vga_init) */
TEST("vga/blink-off", test_blink);
static void test_blink(const char *name)
{
    if (!vga_enabled()) {
        verdict_skip(name, NO_VGA);
        return;
    }
    verdict(!vga_blink_on(), name, "attribute mode control register (0x10) bit 3 (blink) is set");
}

/* CPU 0's slot, in the first status row, shows its number and state. */
TEST("vga/status-area", test_status);
static void test_status(const char *name)
{
    if (!vga_enabled()) {
        verdict_skip(name, NO_VGA);
        return;
    }
    /* Only the timer interrupt handlers write the slot (the PIT's every 100
     * ticks): it must read right within 120 ms, and usually does at once,
     * the PIT having run since the platform came up. */
    char slot[7];
    for (u32 waited = 0;; waited += 10) {
        for (u32 i = 0; i < 6; i++)
            slot[i] = vga_char_at(vga_status_row(0), i);
        slot[6] = '\0';
        if (strncmp(slot, "0 host", 6) == 0 || waited >= 120)
            break;
        timer_wait_ms(10);
    }
    verdict(strncmp(slot, "0 host", 6) == 0, name, "CPU 0's status slot reads \"%s\"", slot);
}
