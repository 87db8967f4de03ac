/* vmx/eoi-exit-level-ioapic: a level-triggered I/O APIC interrupt given to
 * a guest with virtual-interrupt delivery, whose EOI the EOI-exit bitmap
 * sends to the host (SDM 3C 25.6.8, 29.1.4, exit reason 45), which
 * completes it at the I/O APIC. The RTC's periodic interrupt (IRQ 8, held
 * until register C is read) is routed fixed and level-triggered to CPU 0 as
 * EL_VECTOR; with "external-interrupt exiting" and "acknowledge interrupt
 * on exit" it exits with that vector (remote IRR must then be 1: the I/O
 * APIC awaits the EOI, 82093AA 3.2.4); the host makes it the guest's
 * virtual interrupt (RVI and the virtual IRR bit), the guest's handler
 * (virtual_interrupts.c's stub) reports and writes the virtualized EOI,
 * which exits with the vector (EOI-exit bitmap bit set); the host then
 * reads register C and writes its own EOI, whose message must clear
 * remote IRR (3A 11.8.5). kvm-unit-tests' vmx_eoi_bitmap_ioapic_scan_test;
 * its routing change from another CPU exercises KVM's own I/O APIC scan
 * (the EOI-exit bitmap KVM keeps for its guest), not an SDM behaviour. */
#include "alloc.h"
#include "cpu.h"
#include "ioapic.h"
#include "lapic.h"
#include "rtc.h"
#include "spinlock.h"
#include "string.h"
#include "vapic.h"
#include "vmx/guest_modes.h"
#include "vmx/vmx.h"
#include "x86.h"

#define EL_VECTOR 0x53 /* vid_stub_53's gate: report, virtual EOI, IRET */
#define EL_HC_REPORT 0x0f17
#define EL_SPINS 2000000u

extern const char vid_stub_53[];

struct el_run {
    volatile u32 reports;
    u32 ext_exits, eoi_exits, eoi_qual;
    u32 irr_at_exit, irr_after_eoi; /* remote IRR, the first time */
};

static void el_guest(void *arg)
{
    struct el_run *r = arg;
    __asm__ volatile("sti" : : : "memory");
    for (u32 i = 0; i < EL_SPINS && !r->reports; i++)
        cpu_relax();
    __asm__ volatile("cli" : : : "memory");
}

static enum exit_action el_hook(struct vcpu *v, u32 reason)
{
    struct el_run *r = v->test_data;

    if (reason == EXIT_REASON_EXTERNAL_INTERRUPT) {
        u32 vector = (u32)vmr(VM_EXIT_INTR_INFO) & INTR_INFO_VECTOR_MASK;
        if (vector != EL_VECTOR) {
            vg_host_deliver(vector);
            return EXIT_RESUME;
        }
        if (!r->ext_exits++)
            r->irr_at_exit = ioapic_entry(RTC_IRQ) & IOAPIC_REMOTE_IRR;
        /* the guest's virtual interrupt: RVI and its virtual IRR bit (29.2.1) */
        vmw(GUEST_INTERRUPT_STATUS, (vmr(GUEST_INTERRUPT_STATUS) & ~0xffull) | EL_VECTOR);
        *vapic_reg(vapic_page(), LAPIC_REG_IRR + EL_VECTOR / 32 * 0x10) |= 1u << (EL_VECTOR % 32);
        return EXIT_RESUME;
    }
    if (reason == EXIT_REASON_EOI_INDUCED) { /* the host completes it */
        r->eoi_qual = (u32)v->exit_qual;
        rtc_ack();
        lapic_eoi();
        if (!r->eoi_exits++)
            r->irr_after_eoi = ioapic_entry(RTC_IRQ) & IOAPIC_REMOTE_IRR;
        return EXIT_RESUME;
    }
    if (reason == EXIT_REASON_VMCALL && (u32)REG_AX(v) == EL_HC_REPORT) {
        r->reports++;
        vcpu_skip_instruction();
        return EXIT_RESUME;
    }
    return EXIT_DEFAULT;
}

static void check_eoi_level(struct cpu_outcome *o, void *arg)
{
    static void *idt;
    struct el_run r;
    (void)arg;

    if (this_cpu()->index != 0) /* the RTC is one device */
        return;
    if (!require_control(o, CTL_PROC, CPU_ACTIVATE_SECONDARY_CONTROLS | CPU_USE_TPR_SHADOW,
                         "secondary controls, use TPR shadow") ||
        !require_control(o, CTL_PIN, PIN_EXTERNAL_INTERRUPT_EXITING, "external-interrupt exiting") ||
        !require_control(o, CTL_EXIT, EXIT_ACK_INTERRUPT_ON_EXIT, "acknowledge interrupt on exit") ||
        !require_control(o, CTL_PROC2, CPU2_VIRTUALIZE_X2APIC_MODE | CPU2_VIRTUAL_INTR_DELIVERY,
                         "virtualize x2APIC mode, virtual-interrupt delivery"))
        return;
    struct vcpu *v = vapic_guest(o, CPU2_VIRTUALIZE_X2APIC_MODE | CPU2_VIRTUAL_INTR_DELIVERY);
    if (!v)
        return;
    if (!idt) {
        idt = alloc_pages(1);
        test_idt_gate(idt, EL_VECTOR, vid_stub_53, 0);
    }
    memset(&r, 0, sizeof(r));
    for (u32 i = 0; i < 4; i++)
        vmw(EOI_EXIT_BITMAP0 + 2 * i, i == EL_VECTOR / 64 ? 1ull << (EL_VECTOR % 64) : 0);
    vmw(GUEST_INTERRUPT_STATUS, 0);
    vmw(GUEST_IDTR_BASE, (uintptr_t)idt);
    vmw(GUEST_IDTR_LIMIT, IDT_LIMIT);
    vmw_or(PIN_BASED_VM_EXEC_CONTROL, PIN_EXTERNAL_INTERRUPT_EXITING);
    vmw_or(VM_EXIT_CONTROLS, EXIT_ACK_INTERRUPT_ON_EXIT);
    v->hook = el_hook;
    v->test_data = &r;
    unsigned long flags = irq_save();
    if (!ioapic_level_route(RTC_IRQ, EL_VECTOR, this_cpu()->apic_id)) {
        irq_restore(flags);
        return outcome_skip(o, "no I/O APIC input receives IRQ 8 (the MADT's)");
    }
    rtc_periodic_start(RTC_RATE_1024HZ);
    bool ran = test_guest_run(o, v, el_guest, &r);
    rtc_periodic_stop();
    ioapic_mask(RTC_IRQ);
    irq_restore(flags);
    if (!ran)
        return;
    if (!CHECK(o, r.ext_exits >= 1) || !CHECK(o, r.reports >= 1) ||
        !CHECK(o, r.eoi_exits >= 1) || !CHECK_EQ(o, r.eoi_qual, EL_VECTOR))
        return;
    /* Bochs' I/O APIC never sets remote IRR (ioapic_level.c) */
    if (!r.irr_at_exit && l0_bochs_deviates(BOCHS_2_7_AND_3_0 | BOCHS_VIA_L0))
        return outcome_xfail(o, "%s: the I/O APIC never sets remote IRR for a level "
                             "interrupt (its EOI-induced exit came, vector 0x%x)",
                             l0_bochs_names(BOCHS_2_7_AND_3_0), r.eoi_qual);
    if (!CHECK(o, r.irr_at_exit))
        return;
    CHECK(o, !r.irr_after_eoi);
}
VMX_TEST_ALL_CPUS("vmx/eoi-exit-level-ioapic", check_eoi_level);
