/* 8259A programmable interrupt controllers, master and slave. */
#ifndef LHV_PIC_H
#define LHV_PIC_H

#include "trap.h"

#define PIC_MASTER_BASE 0x20 /* IRQ0-7 -> vectors 0x20-0x27, clear of exceptions */
#define PIC_SLAVE_BASE 0x28  /* IRQ8-15 -> vectors 0x28-0x2f */
#define PIC_MASTER_DATA 0x21 /* the master's data port: its interrupt mask (OCW1) */

/* Remaps both controllers and masks every line. */
void pic_init(void);

/* Installs the handler of an IRQ line (called before its EOI) and unmasks
 * it (and the cascade line for IRQ8-15). */
void pic_enable_irq(u32 irq, irq_handler h);

/* Masks an IRQ line again (and the cascade when no slave line is left
 * unmasked) and forgets its handler. */
void pic_disable_irq(u32 irq);

/* The in-service registers: master in bits 0-7, slave in 8-15. */
u16 pic_in_service(void);

/* The interrupt mask registers: master in bits 0-7, slave in 8-15. */
u16 pic_masks(void);

/* Whether a master line's interrupt (irq 0-7) would reach the CPU now: its
 * line unmasked and no line of its priority or higher in service (the
 * fully nested mode: a lower number is a higher priority). */
bool pic_master_irq_open(u32 irq);

/* Spurious IRQ7/IRQ15 seen so far (recognised through the ISR). */
u32 pic_spurious_count(void);

#endif
