/* VGA text mode: a cell is a character byte and an attribute byte. The
 * hardware cursor is switched off through the CRTC (index port 0x3d4, data
 * 0x3d5; register 0x0a bit 5 = cursor disable).
 *
 * Video memory is slow to touch: every access is an MMIO exit in an
 * emulator, and an uncached bus cycle on real hardware (reads worst). So a
 * copy of the screen in RAM is what scrolling reads, and a cell is written
 * to the screen only when it changes: a scroll rewrites the characters
 * that differ from the row they move to, not all 80 x 24 cells.
 *
 * A full screen jumps up by half its text rows at once (a terminal's jump
 * scroll): each line that scrolled the screen cost a rewrite of most of it,
 * now one in text_rows / 2 lines does. The screen shows the last
 * text_rows / 2 lines at least, the newest lowest, in the order printed.
 * (Moving the CRTC's start address instead would write one row, but Bochs
 * redraws only the cells whose video memory changed, so its screen would
 * show the old rows: gui.cc text_update_common.) */
#include "string.h"
#include "vga.h"
#include "x86.h"

#define VGA_TEXT ((volatile u16 *)0xb8000)
#define ATTR_CONSOLE 0x07 /* light grey on black */
#define ATTR_STATUS 0x1f  /* white on blue */
#define CRTC_INDEX 0x3d4
#define CRTC_DATA 0x3d5
#define CRTC_CURSOR_START 0x0a
#define CURSOR_DISABLE 0x20
#define INPUT_STATUS_1 0x3da /* reading it points the attribute port at an index */
#define ATTR_PORT 0x3c0      /* attribute controller: index, then data */
#define ATTR_READ 0x3c1
#define ATTR_PALETTE_ON 0x20 /* with the index: the display keeps its palette */
#define ATTR_MODE 0x10
#define ATTR_MODE_BLINK 0x08

static u32 text_rows = VGA_ROWS; /* rows above the status area */
static u32 row, column;
static bool enabled;
/* What the screen holds since vga_init (0 before: no cell is ever 0, the
 * attribute bytes are not). */
static u16 screen[VGA_ROWS * VGA_COLUMNS] __attribute__((aligned(8)));

/* The attribute controller's port takes an index, then data, by a flip-flop
 * that reading INPUT_STATUS_1 sets to "index" */
static u8 attr_read(u8 index)
{
    (void)inb(INPUT_STATUS_1);
    outb(ATTR_PORT, ATTR_PALETTE_ON | index);
    u8 v = inb(ATTR_READ);
    (void)inb(INPUT_STATUS_1);
    return v;
}

static void attr_write(u8 index, u8 v)
{
    (void)inb(INPUT_STATUS_1);
    outb(ATTR_PORT, ATTR_PALETTE_ON | index);
    outb(ATTR_PORT, v);
}

static void set_cell(u32 i, u16 cell)
{
    if (screen[i] != cell) {
        screen[i] = cell;
        VGA_TEXT[i] = cell;
    }
}

static void put_cell(u32 r, u32 c, char ch, u8 attr)
{
    set_cell(r * VGA_COLUMNS + c, (u16)((u8)ch | (attr << 8)));
}

static void clear_row(u32 r, u8 attr)
{
    for (u32 c = 0; c < VGA_COLUMNS; c++)
        put_cell(r, c, ' ', attr);
}

void vga_init(u32 ncpus)
{
    u32 status_rows = (ncpus + 3) / 4;
    if (status_rows > 16)
        status_rows = 16;
    text_rows = VGA_ROWS - status_rows;
    for (u32 r = 0; r < VGA_ROWS; r++)
        clear_row(r, r < text_rows ? ATTR_CONSOLE : ATTR_STATUS);
    outb(CRTC_INDEX, CRTC_CURSOR_START);
    outb(CRTC_DATA, inb(CRTC_DATA) | CURSOR_DISABLE);
    /* No blinking: LHV's attributes never set bit 7, which then means a
     * bright background; and Bochs redraws the whole screen at each blink
     * phase while blinking is on (gui.cc text_update_common) */
    attr_write(ATTR_MODE, attr_read(ATTR_MODE) & ~ATTR_MODE_BLINK);
    row = column = 0;
    enabled = true;
}

/* Four cells at a time: a scroll is most of what a printed line costs
 * (an instruction per cell adds up where instructions are time, in Bochs). */
#define CELLS_PER_WORD 4
#define ROW_WORDS (VGA_COLUMNS / CELLS_PER_WORD)

static u32 scroll_rows(void) { return text_rows / 2; } /* text_rows >= 9 (vga_init) */

static void scroll(void)
{
    u64 *shadow = (u64 *)screen;
    volatile u64 *text = (volatile u64 *)VGA_TEXT;
    u32 jump = scroll_rows();

    for (u32 i = 0; i < (text_rows - jump) * ROW_WORDS; i++) {
        u64 below = shadow[i + jump * ROW_WORDS];
        if (shadow[i] != below) {
            shadow[i] = below;
            text[i] = below;
        }
    }
    for (u32 r = text_rows - jump; r < text_rows; r++)
        clear_row(r, ATTR_CONSOLE);
}

/* Called with the console held (console.c), so lines never mix. */
bool vga_enabled(void)
{
    return enabled;
}

void vga_putc(char ch)
{
    if (!enabled || ch == '\r')
        return;
    if (ch != '\n')
        put_cell(row, column++, ch, ATTR_CONSOLE);
    if (ch == '\n' || column == VGA_COLUMNS) {
        column = 0;
        if (++row == text_rows) {
            scroll();
            row = text_rows - scroll_rows();
        }
    }
}

void vga_status(u32 cpu, const char *text)
{
    u32 r = text_rows + cpu / 4, c0 = (cpu % 4) * VGA_SLOT_WIDTH;

    if (!enabled || r >= VGA_ROWS)
        return;
    size_t n = strnlen(text, VGA_SLOT_WIDTH - 1);
    for (u32 i = 0; i < VGA_SLOT_WIDTH; i++)
        put_cell(r, c0 + i, i < n ? text[i] : ' ', ATTR_STATUS);
}

char vga_char_at(u32 r, u32 c) { return (char)(VGA_TEXT[r * VGA_COLUMNS + c] & 0xff); }

bool vga_cursor_hidden(void)
{
    outb(CRTC_INDEX, CRTC_CURSOR_START);
    return inb(CRTC_DATA) & CURSOR_DISABLE;
}

bool vga_blink_on(void) { return attr_read(ATTR_MODE) & ATTR_MODE_BLINK; }

u32 vga_cursor_row(void) { return row; }

u32 vga_status_row(u32 cpu) { return text_rows + cpu / 4; }
