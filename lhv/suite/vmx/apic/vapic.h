/* What the APIC-virtualization tests share (SDM 3C chapter 29): each CPU's
 * virtual-APIC page and APIC-access page, and a guest set up with "use
 * TPR shadow" and the secondary controls a test asks for. */
#ifndef LHV_SUITE_VMX_APIC_VAPIC_H
#define LHV_SUITE_VMX_APIC_VAPIC_H

#include "suite/vmx_test.h"

/* A 32-bit register of a virtual-APIC (or APIC-access) page */
static inline volatile u32 *vapic_reg(void *page, u32 offset)
{
    return (volatile u32 *)((u8 *)page + offset);
}

/* This CPU's pages (allocated once, per CPU; the APIC-access page's
 * contents never matter: accesses to it are virtualized or exit). */
void *vapic_page(void);
void *apic_access_page(void);

/* This CPU's test guest with "use TPR shadow" (primary bit 21), its
 * virtual-APIC page zeroed and at VIRTUAL_APIC_PAGE_ADDR, TPR threshold 0,
 * and the secondary controls proc2 (with APIC_ACCESS_ADDR when they
 * virtualize APIC accesses). NULL after outcome_fail/outcome_skip. */
struct vcpu *vapic_guest(struct cpu_outcome *o, u32 proc2);

/* Guest side: one access at a known address whose end the host can find
 * again: *after is where the instruction ends (a trap-like exit's RIP). */
u32 vapic_guest_read(volatile u32 *p, uintptr_t *after);
void vapic_guest_write(volatile u32 *p, u32 value, uintptr_t *after);

#endif
