/* I/O APIC (82093AA datasheet, 3.2): LHV takes its device interrupts
 * through the 8259s and leaves every redirection entry masked, except the
 * one that turns an ISA IRQ into an NMI for the test deadline's backstop
 * (deadline.c). */
#ifndef LHV_IOAPIC_H
#define LHV_IOAPIC_H

#include "acpi.h"

/* Remembers the I/O APICs and interrupt overrides of the MADT. */
void ioapic_init(const struct acpi_info *acpi);

/* Sends ISA IRQ irq to the CPU with APIC ID dest as an NMI (edge, the
 * polarity the MADT gives), or masks it again. ioapic_nmi_route returns
 * false when no I/O APIC input receives that IRQ. */
bool ioapic_nmi_route(u32 irq, u32 dest);
void ioapic_mask(u32 irq);

/* Sends ISA IRQ irq to the CPU with APIC ID dest as vector, fixed and
 * level-triggered; false when no I/O APIC input receives that IRQ */
bool ioapic_level_route(u32 irq, u32 vector, u32 dest);

/* The low word of irq's redirection entry (bit 14: remote IRR), 0 when no
 * input receives it */
u32 ioapic_entry(u32 irq);
#define IOAPIC_REMOTE_IRR (1u << 14)
#define IOAPIC_DELIVERY (7u << 8) /* the delivery mode field */
#define IOAPIC_NMI (4u << 8)
#define IOAPIC_MASKED (1u << 16)

#endif
