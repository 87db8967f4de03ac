/* VGA text console (80x25 at 0xB8000): the console's lines scroll in the
 * upper rows; the bottom rows hold one status slot per CPU. */
#ifndef LHV_VGA_H
#define LHV_VGA_H

#include "types.h"

#define VGA_COLUMNS 80
#define VGA_ROWS 25
#define VGA_SLOT_WIDTH 20 /* four CPU slots per row */

/* Clears the screen, hides the cursor and reserves status rows for ncpus
 * CPUs (at most 16 rows, 64 CPUs). */
void vga_init(u32 ncpus);
void vga_putc(char c);
/* True once vga_init ran (lhv.console includes vga: not under UEFI). */
bool vga_enabled(void);

/* Writes text (cut to VGA_SLOT_WIDTH - 1) into the status slot of a CPU. */
void vga_status(u32 cpu, const char *text);

/* Reads back what the screen shows at a cell, and whether the hardware
 * cursor is off (CRTC cursor-start register bit 5). */
char vga_char_at(u32 row, u32 column);
bool vga_cursor_hidden(void);
/* Whether attribute bit 7 blinks (attribute mode control bit 3) */
bool vga_blink_on(void);

/* Row where the next console character goes, and the row of a CPU's
 * status slot (for tests). */
u32 vga_cursor_row(void);
u32 vga_status_row(u32 cpu);

#endif
