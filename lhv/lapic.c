/* Local APIC access (SDM Vol. 3A, 11.4 xAPIC, 11.12 x2APIC). In x2APIC
 * mode every register is an MSR at 0x800 + offset/16 and the ICR is one
 * 64-bit MSR; the MMIO page is no longer decoded. */
#include "desc.h"
#include "lapic.h"
#include "spinlock.h"
#include "x86.h"

#define APIC_BASE_X2APIC (1u << 10)
#define CPUID1_ECX_X2APIC (1u << 21)

static uintptr_t mmio_base = LAPIC_DEFAULT_BASE;
static bool x2apic_mode;

bool lapic_x2apic(void) { return x2apic_mode; }

u32 lapic_read(u32 reg)
{
    if (x2apic_mode)
        return (u32)rdmsr(X2APIC_MSR_BASE + (reg >> 4));
    return *(volatile u32 *)(mmio_base + reg);
}

void lapic_write(u32 reg, u32 value)
{
    if (x2apic_mode)
        wrmsr(X2APIC_MSR_BASE + (reg >> 4), value);
    else
        *(volatile u32 *)(mmio_base + reg) = value;
}

u32 lapic_id(void)
{
    u32 id = lapic_read(LAPIC_REG_ID);
    return x2apic_mode ? id : id >> 24;
}

void lapic_eoi(void) { lapic_write(LAPIC_REG_EOI, 0); }

static bool xapic_only;

void lapic_use_xapic(void) { xapic_only = true; }

void lapic_handover(void)
{
    u64 base = rdmsr(MSR_IA32_APIC_BASE);

    lapic_timer_stop();
    lapic_write(LAPIC_REG_LVT_ERROR, LAPIC_LVT_MASKED);
    lapic_write(LAPIC_REG_TPR, 0);
    /* software-disabled, as reset leaves it: INIT and SIPI still arrive
     * (11.4.7.2) */
    lapic_write(LAPIC_REG_SVR, VEC_SPURIOUS);
    /* x2APIC goes back to xAPIC only through disabled (11.12.5) */
    if (base & APIC_BASE_X2APIC) {
        wrmsr(MSR_IA32_APIC_BASE, base & ~(u64)(APIC_BASE_X2APIC | APIC_BASE_ENABLE));
        wrmsr(MSR_IA32_APIC_BASE, (base & ~(u64)APIC_BASE_X2APIC) | APIC_BASE_ENABLE);
    }
    x2apic_mode = false;
}

void lapic_enable(void)
{
    u64 base = rdmsr(MSR_IA32_APIC_BASE);

    mmio_base = (uintptr_t)(base & APIC_BASE_ADDR_MASK);
    base |= APIC_BASE_ENABLE;
    /* x2APIC is entered from xAPIC mode: EN first, then EXTD (11.12.5) */
    if ((cpuid(1, 0).ecx & CPUID1_ECX_X2APIC) && !xapic_only)
        base |= APIC_BASE_X2APIC;
    wrmsr(MSR_IA32_APIC_BASE, base);
    x2apic_mode = base & APIC_BASE_X2APIC;
    lapic_write(LAPIC_REG_TPR, 0);
    lapic_write(LAPIC_REG_LVT_TIMER, LAPIC_LVT_MASKED);
    lapic_write(LAPIC_REG_LVT_ERROR, LAPIC_LVT_MASKED);
    lapic_write(LAPIC_REG_SVR, LAPIC_SVR_ENABLE | VEC_SPURIOUS);
}

/* The xAPIC ICR is two writes: an interrupt handler sending its own IPI
 * between them would change the destination, so interrupts stay off. */
void lapic_send_ipi(u32 dest, u32 icr_low)
{
    unsigned long flags = irq_save();
    if (x2apic_mode) {
        wrmsr(X2APIC_MSR_BASE + (LAPIC_REG_ICR_LOW >> 4), ((u64)dest << 32) | icr_low);
    } else {
        lapic_write(LAPIC_REG_ICR_HIGH, dest << 24);
        lapic_write(LAPIC_REG_ICR_LOW, icr_low);
        while (lapic_read(LAPIC_REG_ICR_LOW) & ICR_DELIVERY_PENDING)
            cpu_relax();
    }
    irq_restore(flags);
}

void lapic_timer_start(u32 vector, u32 initial, bool periodic)
{
    lapic_write(LAPIC_REG_TIMER_DIVIDE, LAPIC_DIVIDE_BY_1);
    lapic_write(LAPIC_REG_LVT_TIMER, (vector ? vector : LAPIC_LVT_MASKED) |
                                         (periodic ? LAPIC_TIMER_PERIODIC : 0));
    lapic_write(LAPIC_REG_TIMER_INIT, initial);
}

void lapic_timer_stop(void)
{
    lapic_write(LAPIC_REG_TIMER_INIT, 0);
    lapic_write(LAPIC_REG_LVT_TIMER, LAPIC_LVT_MASKED);
}

u32 lapic_timer_current(void) { return lapic_read(LAPIC_REG_TIMER_CURRENT); }
