/* PS/2 keyboard on IRQ1: every scancode is logged on the console. */
#ifndef LHV_KEYBOARD_H
#define LHV_KEYBOARD_H

#include "types.h"

void keyboard_init(void);

/* Scancodes received so far, and the last one. */
u32 keyboard_count(void);
u8 keyboard_last(void);

/* Makes the 8042 controller deliver `code` as if the keyboard had sent it
 * (controller command 0xD2, "write keyboard output buffer"). */
void keyboard_inject(u8 code);

#endif
