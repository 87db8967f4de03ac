/* The serial console's wait for its UART halts until the UART's interrupt
 * (lhv/serial.c): a line longer than the FIFO, written with interrupts on,
 * must wait, halt every time, and see the UART's IRQ arrive. */
#include "console.h"
#include "pic.h"
#include "serial.h"
#include "suite/suite.h"

/* several FIFOs of 16 characters */
static const char line[] = "serial: a line longer than the UART's FIFO, written with interrupts on, "
                           "halts until the UART's interrupt\n";

TEST("serial/tx-interrupt", test_tx_interrupt);
static void test_tx_interrupt(const char *name)
{
    u32 irq = serial_irq_line();

    if (irq == SERIAL_NO_IRQ)
        return verdict_skip(name, "the console's UART polls: serial output off "
                            "(lhv.console=vga) or a port other than COM1 and COM2");
    __asm__ volatile("sti");
    struct console_tx_stats before = console_tx_stats();
    u32 irqs = serial_irq_count();
    console_write(line, sizeof(line) - 1);
    struct console_tx_stats after = console_tx_stats();
    u32 waits = after.waits - before.waits, halted = after.halted - before.halted;
    u32 got = serial_irq_count() - irqs;
    if (!waits)
        return verdict_skip(name, "the UART took %u characters without a wait: it does not pace "
                            "its output (QEMU)", (u32)sizeof(line) - 1);
    if (halted != waits)
        return verdict_fail(name, "%u of %u waits for the UART halted (IRQ %u masks 0x%04x, in "
                            "service 0x%04x)", halted, waits, irq, pic_masks(), pic_in_service());
    verdict(got > 0, name, "%u waits halted, %u UART interrupts (IRQ %u) came: the halts ended "
            "by other interrupts", waits, got, irq);
}
