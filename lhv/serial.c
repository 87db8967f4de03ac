/* The serial console's transmit interrupt. xmhf/lib/console.c polls the
 * 16550 while its FIFO is full; an emulator that paces its UART (Bochs:
 * 87 us a character at 115200 baud, ~870 instructions at its 10 M a second)
 * then runs the polling loop for the whole wait, about a tenth of the
 * default run's wall time (docs/performance.md). A halt lets its clock skip
 * ahead to the UART's THRE interrupt (Bochs with one CPU: 10 ticks a step).
 *
 * Only CPU 0 halts: the 8259's interrupts reach it alone (virtual wire), as
 * timer_sleep_ticks also counts on; and only while the line can reach it:
 * unmasked, nothing of its priority or higher in service. Anything else,
 * and a caller that had interrupts off, polls. */
#include "console.h"
#include "cpu.h"
#include "pic.h"
#include "serial.h"

static u32 uart_irq = SERIAL_NO_IRQ;
static volatile u32 uart_irqs;

/* The PC's wiring: COM1 on IRQ 4, COM2 on IRQ 3 (COM3 and COM4 share
 * those lines, so they poll) */
static u32 irq_of_port(u16 port)
{
    if (port == 0x3f8)
        return 4;
    if (port == 0x2f8)
        return 3;
    return SERIAL_NO_IRQ;
}

static void uart_interrupt(struct trap_frame *f)
{
    (void)f;
    uart_irqs++;
    console_tx_irq_ack();
}

/* Called with interrupts off, the UART's interrupt enabled */
static bool halt_for_uart(void)
{
    if (this_cpu()->index != 0 || !pic_master_irq_open(uart_irq))
        return false;
    __asm__ volatile("sti; hlt; cli" ::: "memory"); /* STI's shadow covers HLT */
    return true;
}

void serial_irq_init(void)
{
    uart_irq = irq_of_port(console_serial_port());
    if (uart_irq == SERIAL_NO_IRQ)
        return;
    pic_enable_irq(uart_irq, uart_interrupt);
    console_set_tx_halt(halt_for_uart);
}

void serial_irq_stop(void)
{
    if (uart_irq == SERIAL_NO_IRQ)
        return;
    console_set_tx_halt(NULL);
    pic_disable_irq(uart_irq);
    uart_irq = SERIAL_NO_IRQ;
}

u32 serial_irq_line(void) { return uart_irq; }

u32 serial_irq_count(void) { return uart_irqs; }
