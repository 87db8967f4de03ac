/* VGA text mode: a cell is a character byte and an attribute byte. The
 * hardware cursor is switched off through the CRTC (index port 0x3d4, data
 * 0x3d5; register 0x0a bit 5 = cursor disable).
 *
 * Video memory is slow to touch: every access is an MMIO exit in an
 * emulator, and an uncached bus cycle on real hardware (reads worst). So a
 * copy of the screen in RAM is what scrolling reads, and a cell is written
 * to the screen only when it changes: a scroll rewrites the characters
 * that differ from the row below, not all 80 x 24 cells. */
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

static u32 text_rows = VGA_ROWS; /* rows above the status area */
static u32 row, column;
static bool enabled;
/* What the screen holds since vga_init (0 before: no cell is ever 0, the
 * attribute bytes are not). */
static u16 screen[VGA_ROWS * VGA_COLUMNS] __attribute__((aligned(8)));

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
    row = column = 0;
    enabled = true;
}

/* Four cells at a time: a scroll is most of what a printed line costs
 * (an instruction per cell adds up where instructions are time, in Bochs). */
#define CELLS_PER_WORD 4
#define ROW_WORDS (VGA_COLUMNS / CELLS_PER_WORD)

static void scroll(void)
{
    u64 *shadow = (u64 *)screen;
    volatile u64 *text = (volatile u64 *)VGA_TEXT;

    for (u32 i = 0; i < (text_rows - 1) * ROW_WORDS; i++) {
        u64 below = shadow[i + ROW_WORDS];
        if (shadow[i] != below) {
            shadow[i] = below;
            text[i] = below;
        }
    }
    clear_row(text_rows - 1, ATTR_CONSOLE);
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
            row = text_rows - 1;
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

u32 vga_cursor_row(void) { return row; }

u32 vga_status_row(u32 cpu) { return text_rows + cpu / 4; }
