/* PS/2 keyboard through the 8042 controller (data port 0x60, status and
 * command port 0x64). Scancodes are logged as they arrive on IRQ1. */
#include "console.h"
#include "keyboard.h"
#include "pic.h"
#include "x86.h"

#define KBC_DATA 0x60
#define KBC_STATUS 0x64
#define KBC_COMMAND 0x64
#define KBC_STATUS_OUTPUT_FULL 0x01
#define KBC_STATUS_INPUT_FULL 0x02
#define KBC_WRITE_KEYBOARD_OUTPUT 0xd2

static volatile u32 count;
static volatile u8 last;

static void keyboard_irq(struct trap_frame *f)
{
    (void)f;
    if (!(inb(KBC_STATUS) & KBC_STATUS_OUTPUT_FULL))
        return;
    last = inb(KBC_DATA);
    count++;
    printf("kbd: scancode 0x%02x\n", last);
}

void keyboard_init(void)
{
    /* Drain what the firmware left, so the first IRQ1 is a fresh key */
    for (int i = 0; i < 16 && (inb(KBC_STATUS) & KBC_STATUS_OUTPUT_FULL); i++)
        inb(KBC_DATA);
    pic_enable_irq(1, keyboard_irq);
}

u32 keyboard_count(void) { return count; }
u8 keyboard_last(void) { return last; }

static void wait_input_empty(void)
{
    for (int i = 0; i < 100000 && (inb(KBC_STATUS) & KBC_STATUS_INPUT_FULL); i++)
        cpu_relax();
}

void keyboard_inject(u8 code)
{
    wait_input_empty();
    outb(KBC_COMMAND, KBC_WRITE_KEYBOARD_OUTPUT);
    wait_input_empty();
    outb(KBC_DATA, code);
}
