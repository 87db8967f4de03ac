/* vmx/guest-tpr-passthrough: without "use TPR shadow" the guest's TPR is
 * the local APIC's own (SDM 3C 29.1.1 applies only with the shadow; 3A
 * 11.8.3.1): the host raises the TPR to class 0xf and sends itself vector
 * 0xe1, which stays in the IRR (11.8.3); the guest, with
 * external-interrupt exiting and "acknowledge interrupt on exit" (25.6.1,
 * 25.7.1), writes TPR 0, and the interrupt the write unmasks exits with
 * reason 1 and the vector, after the write and not before (26.2); the host
 * then has TPR 0 and the vector in service, not requested. */
#include "cpu.h"
#include "lapic.h"
#include "pic.h"
#include "spinlock.h"
#include "suite/vmx_test.h"
#include "trap.h"
#include "vmx/guest_modes.h"
#include "x86.h"

#define TPT_VECTOR 0xe1
#define TPT_SPINS 1000000u

struct tpt_run {
    volatile u32 lowering, exited; /* set by the guest, by the hook */
    u32 lowering_at_exit, info, tpr, irr, isr;
};

static volatile u32 tpt_host_got[LHV_MAX_CPUS];

/* The vector reaching the host's IDT (it should not): counted, EOId */
static void tpt_host(struct trap_frame *f)
{
    (void)f;
    tpt_host_got[this_cpu()->index]++;
    lapic_eoi();
}

static void tpt_prepare(void) { trap_set_handler(TPT_VECTOR, tpt_host); }

static bool tpt_bit(u32 base, u32 vector)
{
    return (lapic_read(base + 0x10 * (vector / 32)) >> (vector % 32)) & 1;
}

static void tpt_guest(void *arg)
{
    struct tpt_run *r = arg;
    /* IF set, though exiting does not need it: Bochs keeps a LAPIC interrupt
     * masked in a guest entered with IF clear (docs/l0-deviations.md) */
    __asm__ volatile("sti" : : : "memory");
    r->lowering = 1;
    lapic_write(LAPIC_REG_TPR, 0);
    for (u32 i = 0; i < TPT_SPINS && !r->exited; i++)
        cpu_relax();
}

static enum exit_action tpt_hook(struct vcpu *v, u32 reason)
{
    struct tpt_run *r = v->test_data;
    if (reason != EXIT_REASON_EXTERNAL_INTERRUPT)
        return EXIT_DEFAULT;
    u32 info = (u32)vmr(VM_EXIT_INTR_INFO);
    if ((info & INTR_INFO_VECTOR_MASK) != TPT_VECTOR || r->exited) {
        vg_host_deliver(info & INTR_INFO_VECTOR_MASK); /* someone else's */
        return EXIT_RESUME;
    }
    r->info = info;
    r->lowering_at_exit = r->lowering;
    r->tpr = lapic_read(LAPIC_REG_TPR);
    r->irr = tpt_bit(LAPIC_REG_IRR, TPT_VECTOR);
    r->isr = tpt_bit(LAPIC_REG_ISR, TPT_VECTOR);
    lapic_eoi();
    r->exited = 1;
    return EXIT_RESUME;
}

static void check_tpr_passthrough(struct cpu_outcome *o, void *arg)
{
    struct tpt_run r = {0};
    u32 cpu = this_cpu()->index;
    (void)arg;

    tpt_host_got[cpu] = 0;
    if (!require_control(o, CTL_EXIT, EXIT_ACK_INTERRUPT_ON_EXIT, "acknowledge interrupt on exit"))
        return;
    struct vcpu *v = test_guest_with_msr_bitmaps(o); /* x2APIC: the TPR is MSR 808H */
    if (!v)
        return;
    v->hook = tpt_hook;
    v->test_data = &r;
    vmw_or(PIN_BASED_VM_EXEC_CONTROL, PIN_EXTERNAL_INTERRUPT_EXITING);
    vmw_or(VM_EXIT_CONTROLS, EXIT_ACK_INTERRUPT_ON_EXIT);
    /* as vmx/external-interrupt-exiting: the 8259 masked while the guest runs */
    unsigned long flags = irq_save();
    __asm__ volatile("sti\n\tnop\n\tcli" : : : "memory");
    u8 pic_mask = cpu == 0 ? inb(PIC_MASTER_DATA) : 0;
    if (cpu == 0)
        outb(PIC_MASTER_DATA, 0xff);
    lapic_write(LAPIC_REG_TPR, 0xf0);
    lapic_send_ipi(this_cpu()->apic_id, TPT_VECTOR);
    u32 pending = tpt_bit(LAPIC_REG_IRR, TPT_VECTOR);
    bool ran = test_guest_run(o, v, tpt_guest, &r);
    u32 tpr_after = lapic_read(LAPIC_REG_TPR);
    lapic_write(LAPIC_REG_TPR, 0);
    if (cpu == 0)
        outb(PIC_MASTER_DATA, pic_mask);
    irq_restore(flags);
    if (ran && CHECK_EQ(o, pending, 1) && CHECK_EQ(o, tpt_host_got[cpu], 0) &&
        CHECK_EQ(o, r.exited, 1) &&
        CHECK_EQ(o, r.lowering_at_exit, 1) &&
        CHECK_EQ(o, r.info, INTR_INFO(INTR_TYPE_EXT_INTR, TPT_VECTOR)) &&
        CHECK_EQ(o, r.tpr, 0) && CHECK_EQ(o, r.irr, 0) && CHECK_EQ(o, r.isr, 1))
        CHECK_EQ(o, tpr_after, 0);
}
VMX_TEST_ALL_CPUS_AFTER("vmx/guest-tpr-passthrough", tpt_prepare, check_tpr_passthrough);
