/* The serial console's transmit interrupt: the UART's wait halts. */
#ifndef LHV_SERIAL_H
#define LHV_SERIAL_H

#include "types.h"

/* After pic_init, on the BSP: where the console's UART has a known IRQ
 * line (COM1, COM2), waits for its FIFO halt on CPU 0 until the UART's
 * interrupt instead of polling (xmhf/lib/console.c). */
void serial_irq_init(void);
#define SERIAL_NO_IRQ 0xffu

/* The UART's IRQ line in use, or SERIAL_NO_IRQ (polling) */
u32 serial_irq_line(void);
/* The UART's interrupts taken since boot */
u32 serial_irq_count(void);
/* Back to polling, the line masked (LHV as L0 hands the PIC to its guest). */
void serial_irq_stop(void);

#endif
