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

#endif
