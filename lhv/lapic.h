/* Local APIC (SDM Vol. 3A, chapter 11): xAPIC through its MMIO page, or
 * x2APIC through MSRs when the CPU has it; the timer. */
#ifndef LHV_LAPIC_H
#define LHV_LAPIC_H

#include "types.h"

/* Register offsets (xAPIC MMIO; x2APIC MSR = 0x800 + offset / 16) */
#define LAPIC_REG_ID 0x20
#define LAPIC_REG_VERSION 0x30
#define LAPIC_REG_TPR 0x80
#define LAPIC_REG_EOI 0xb0
#define LAPIC_REG_ISR 0x100       /* in-service, 8 registers 0x10 apart */
#define LAPIC_REG_IRR 0x200       /* interrupt request, likewise */
#define LAPIC_REG_SVR 0xf0        /* spurious-interrupt vector register */
#define LAPIC_SVR_ENABLE (1u << 8)
#define LAPIC_REG_ESR 0x280
#define LAPIC_REG_ICR_LOW 0x300
#define LAPIC_REG_ICR_HIGH 0x310  /* xAPIC only */
#define LAPIC_REG_LVT_TIMER 0x320
#define LAPIC_REG_LVT_LINT0 0x350
#define LAPIC_REG_LVT_LINT1 0x360
#define LAPIC_REG_LVT_ERROR 0x370
#define LAPIC_REG_TIMER_INIT 0x380
#define LAPIC_REG_TIMER_CURRENT 0x390
#define LAPIC_REG_TIMER_DIVIDE 0x3e0
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_TIMER_PERIODIC (1u << 17)
#define LAPIC_DIVIDE_BY_1 0xb

/* ICR fields (11.6.1) */
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_NMI (4u << 8)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_DELIVERY_PENDING (1u << 12) /* xAPIC only */
#define ICR_ALL_EXCLUDING_SELF (3u << 18)
#define ICR_SELF (1u << 18)
#define ICR_ALL_INCLUDING_SELF (2u << 18)
#define ICR_SHORTHAND_MASK (3u << 18)
#define ICR_DELIVERY_MODE_MASK (7u << 8)
#define X2APIC_MSR_BASE 0x800 /* x2APIC register MSRs: 0x800 + offset / 16 (11.12.1.2) */

/* Enables this CPU's local APIC (x2APIC mode when the CPU has it) with the
 * spurious vector VEC_SPURIOUS, the timer masked and LINT0/LINT1 as the
 * firmware left them. */
void lapic_enable(void);
/* Leaves this CPU's local APIC as firmware hands it to a kernel: timer
 * stopped, TPR 0, software-disabled (INIT and SIPI still arrive), xAPIC
 * mode. LHV as L0 does it on each CPU just before its guest takes the
 * machine; it runs its own APICs in xAPIC mode (lapic_use_xapic, before
 * lapic_enable), since leaving x2APIC mode means disabling the APIC, which
 * Bochs 2.7 does not let software enable again. */
void lapic_use_xapic(void);
void lapic_handover(void);
bool lapic_x2apic(void);
u32 lapic_read(u32 reg);
void lapic_write(u32 reg, u32 value);
u32 lapic_id(void);
void lapic_eoi(void);

/* Sends an IPI: icr_low is vector and delivery mode; dest an APIC ID
 * (ignored with a shorthand). Waits for xAPIC delivery to finish. */
void lapic_send_ipi(u32 dest, u32 icr_low);

/* Timer, counting at the bus rate (divide by 1). vector 0 = masked. */
void lapic_timer_start(u32 vector, u32 initial, bool periodic);
void lapic_timer_stop(void);
u32 lapic_timer_current(void);

#endif
