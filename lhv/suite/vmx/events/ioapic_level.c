/* vmx/ioapic-level-to-guest: with the LAPIC the host's (no APIC
 * virtualization, "external-interrupt exiting" clear: SDM 3C 25.6.1) a
 * level-triggered I/O APIC interrupt goes through the guest's IDT, and the
 * guest's EOI reaches the I/O APIC. The source is the RTC's periodic
 * interrupt, IRQ 8, which stays asserted until register C is read; its
 * redirection entry is made fixed and level-triggered to this CPU. In the
 * guest's handler the entry's remote IRR (bit 14) must be 1: the I/O APIC
 * accepted a level interrupt and awaits its EOI (82093AA datasheet 3.2.4);
 * the handler reads register C (the line drops) and writes the LAPIC's
 * EOI, whose message to the I/O APICs (SDM 3A 11.8.5: for a
 * level-triggered interrupt) must clear remote IRR. kvm-unit-tests'
 * vmx_apic_passthrough_test. With two CPUs or more the line is raised
 * by CPU 1 (it starts the RTC's periodic interrupt) while CPU 0's guest
 * waits with interrupts on: vmx_apic_passthrough_thread_test. The RTC pin
 * is the test deadline's NMI backstop otherwise (deadline.c): the next
 * test's deadline routes it back. */
#include "cpu.h"
#include "ioapic.h"
#include "lapic.h"
#include "rtc.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/guest_modes.h"
#include "vmx/vmx.h"
#include "x86.h"

#define LV_SPINS 2000000u

static struct {
    volatile u32 got;
    volatile bool ready;               /* the guest waits with interrupts on */
    u32 irr_in_service, irr_after_eoi; /* the first interrupt's */
    bool by_cpu1;                      /* CPU 1 raised the line */
    struct smp_barrier routed;         /* CPU 0 has routed IRQ 8 (or gave up); then
                                          CPU 1 is done with the RTC's registers */
} lv;

static void lv_guest_irq(void)
{
    u32 in = ioapic_entry(RTC_IRQ);
    rtc_ack();
    lapic_eoi();
    if (!lv.got) {
        lv.irr_in_service = in & IOAPIC_REMOTE_IRR;
        lv.irr_after_eoi = ioapic_entry(RTC_IRQ) & IOAPIC_REMOTE_IRR;
    }
    lv.got++;
}

static void lv_guest(void *arg)
{
    u32 i;
    (void)arg;
    __asm__ volatile("sti" : : : "memory");
    lv.ready = true;
    for (i = 0; i < LV_SPINS && !lv.got; i++)
        cpu_relax();
    __asm__ volatile("cli" : : : "memory");
}

/* A copy of the host's IDT with VG_VEC_GUEST at vg_irq_stub */
static void *lv_idt(void)
{
    static void *idt;
    if (!idt)
        idt = test_idt_with_gate(VG_VEC_GUEST, vg_irq_stub);
    return idt;
}

/* CPU 1: raises the line once CPU 0's guest waits for it */
static void lv_raise(void)
{
    if (!smp_barrier_wait(&lv.routed, 2000))
        return;
    for (u32 i = 0; i < LV_SPINS && !lv.ready; i++)
        cpu_relax();
    if (lv.ready) {
        lv.by_cpu1 = true;
        rtc_periodic_start(RTC_RATE_1024HZ);
    }
    /* the CMOS index and data ports are one pair: CPU 0 stops the RTC
     * after this */
    smp_barrier_wait(&lv.routed, 2000);
}

static void lv_prepare(void)
{
    memset((void *)&lv, 0, sizeof(lv));
    smp_barrier_init(&lv.routed, 2);
}

/* CPU 0 takes the interrupt in its guest (the RTC is one device), CPU 1
 * raises it where there is one */
static void check_ioapic_level(struct cpu_outcome *o, void *arg)
{
    bool two = smp_online_count() >= 2 && cpus[1].online;
    (void)arg;
    if (this_cpu()->index == 1 && two)
        return lv_raise();
    if (this_cpu()->index != 0)
        return;
    struct vcpu *v = NULL;
    if (require_control_clear(o, CTL_PIN, PIN_EXTERNAL_INTERRUPT_EXITING,
                              "external-interrupt exiting"))
        v = test_guest(o);
    unsigned long flags = irq_save();
    bool routed = v && ioapic_level_route(RTC_IRQ, VG_VEC_GUEST, this_cpu()->apic_id);
    if (two)
        smp_barrier_wait(&lv.routed, 2000); /* CPU 1 goes on or gives up */
    if (!routed) {
        irq_restore(flags);
        if (v)
            outcome_skip(o, "no I/O APIC input receives IRQ 8 (the MADT's)");
        return;
    }
    vmw(PIN_BASED_VM_EXEC_CONTROL, vmr(PIN_BASED_VM_EXEC_CONTROL) &
                                       ~(u64)PIN_EXTERNAL_INTERRUPT_EXITING);
    vmw(GUEST_IDTR_BASE, (uintptr_t)lv_idt());
    vg_guest_irq_body = lv_guest_irq;
    if (!two)
        rtc_periodic_start(RTC_RATE_1024HZ);
    bool ran = test_guest_run(o, v, lv_guest, NULL);
    if (two)
        smp_barrier_wait(&lv.routed, 2000);
    rtc_periodic_stop();
    ioapic_mask(RTC_IRQ);
    vg_guest_irq_body = NULL;
    irq_restore(flags);
    if (!ran)
        return;
    if (!lv.got)
        return outcome_fail(o, "no RTC interrupt reached the guest's handler in %u spins%s",
                            LV_SPINS, two && !lv.by_cpu1 ? " (CPU 1 did not raise it)" : "");
    /* Bochs' I/O APIC never sets remote IRR (bx_ioapic_c::service_ioapic
     * delivers a level interrupt and keeps its IRR bit; receive_eoi does
     * nothing) */
    if (!lv.irr_in_service && l0_bochs_deviates(BOCHS_2_7_AND_3_0 | BOCHS_VIA_L0))
        return outcome_xfail(o, "%s: the I/O APIC never sets remote IRR for a level "
                             "interrupt (delivered: %u, raised by CPU %u)",
                             l0_bochs_names(BOCHS_2_7_AND_3_0), lv.got, two);
    if (!lv.irr_in_service)
        return outcome_fail(o, "remote IRR clear while the level interrupt was in service");
    CHECK(o, !lv.irr_after_eoi);
}
VMX_TEST_ALL_CPUS_AFTER("vmx/ioapic-level-to-guest", lv_prepare, check_ioapic_level);
