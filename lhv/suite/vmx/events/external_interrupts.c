/* External interrupts in a guest, on every CPU: a self-IPI delivered
 * through the guest's IDT, and external-interrupt exiting with and without
 * acknowledge interrupt on exit. */
#include "cpu.h"
#include "desc.h"
#include "lapic.h"
#include "pic.h"
#include "platform.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "trap.h"
#include "user.h"
#include "vmx/ept.h"
#include "vmx/guest_modes.h"
#include "vmx/vmx.h"
#include "x86.h"

#define SPIN_LIMIT 1000000u

/* ===== interrupts ==========================================================
 * Both tests send a self-IPI from inside the guest (the LAPIC is the host's:
 * no APIC virtualization, no MSR exits). Each vector has a host handler too,
 * which counts what reaches the host. */

static volatile u32 host_got[2][LHV_MAX_CPUS]; /* [0] VG_VEC_GUEST, [1] VG_VEC_EXIT */
static volatile u32 guest_got[LHV_MAX_CPUS];   /* VG_VEC_GUEST in the guest */

static void host_vec_guest(struct trap_frame *f)
{
    (void)f;
    host_got[0][this_cpu()->index]++;
    lapic_eoi();
}

static void host_vec_exit(struct trap_frame *f)
{
    (void)f;
    host_got[1][this_cpu()->index]++;
    lapic_eoi();
}

static bool lapic_vector_bit(u32 base_reg, u32 vector)
{
    return (lapic_read(base_reg + 0x10 * (vector / 32)) >> (vector % 32)) & 1;
}

/* ===== vmx/interrupt-to-guest ==============================================
 * With "external-interrupt exiting" clear (SDM 3C 25.6.1) an interrupt that
 * arrives while the guest runs goes through the guest's IDT when the
 * guest's RFLAGS.IF allows (26.1, 6.8.1), with no exit. The guest's IDT is
 * a copy of the host's with VG_VEC_GUEST pointing to vg_irq_stub, so any
 * host interrupt that comes in that window still runs the host's handler. */

struct irq_run {
    u32 apic_id;
    u32 spins;
    bool timed_out, hlt;
};

struct irq_log {
    u32 ext_exits;
};

static void *irq_idt;

void (*vg_guest_irq_body)(void);

void vg_guest_irq(void)
{
    if (vg_guest_irq_body)
        return vg_guest_irq_body();
    guest_got[this_cpu()->index]++;
    lapic_eoi();
}

static void guest_irq(void *arg)
{
    struct irq_run *r = arg;
    volatile u32 *got = &guest_got[this_cpu()->index];
    u32 i;

    lapic_send_ipi(r->apic_id, VG_VEC_GUEST); /* pending: IF is clear */
    if (r->hlt) { /* STI's shadow covers the HLT (SDM 3A 6.8.3): the guest halts, then wakes */
        __asm__ volatile("sti\n\thlt\n\tcli" : : : "memory");
        r->timed_out = !*got;
        return;
    }
    __asm__ volatile("sti" : : : "memory");
    for (i = 0; i < SPIN_LIMIT && !*got; i++)
        cpu_relax();
    __asm__ volatile("cli" : : : "memory");
    r->spins = i;
    r->timed_out = i == SPIN_LIMIT;
}

static enum exit_action irq_hook(struct vcpu *v, u32 reason)
{
    struct irq_log *l = v->test_data;
    if (reason == EXIT_REASON_EXTERNAL_INTERRUPT)
        l->ext_exits++;
    return EXIT_DEFAULT;
}

static bool irq_to_guest_once(struct cpu_outcome *o, bool hlt)
{
    u32 cpu = this_cpu()->index;
    struct irq_run r = {this_cpu()->apic_id, 0, false, hlt};
    struct irq_log l = {0};
    struct vcpu *v = test_guest_hooked(o, irq_hook, &l);

    if (!v)
        return false;
    vmw(PIN_BASED_VM_EXEC_CONTROL, vmr(PIN_BASED_VM_EXEC_CONTROL) &
                                       ~(u64)PIN_EXTERNAL_INTERRUPT_EXITING);
    vmw(CPU_BASED_VM_EXEC_CONTROL, vmr(CPU_BASED_VM_EXEC_CONTROL) & ~(u64)CPU_HLT_EXITING);
    vmw(GUEST_IDTR_BASE, (uintptr_t)irq_idt);
    guest_got[cpu] = 0;
    host_got[0][cpu] = 0;
    if (!test_guest_run(o, v, guest_irq, &r))
        return false;
    if (guest_got[cpu] != 1 || host_got[0][cpu] != 0)
        outcome_fail(o, "%s: vector 0x%x reached the guest %u times, the host %u times; expected "
                     "the guest once (%s, %u external-interrupt exits)",
                     hlt ? "STI; HLT" : "spinning", VG_VEC_GUEST, guest_got[cpu],
                     host_got[0][cpu], r.timed_out ? "the guest gave up waiting" : "the guest saw it",
                     l.ext_exits);
    else if (l.ext_exits)
        outcome_fail(o, "%u external-interrupt exits with the control clear", l.ext_exits);
    else
        return true;
    return false;
}

/* Then the guest halts by its own HLT (HLT exiting clear): the interrupt
 * wakes it into its handler, with no exit (SDM 3A 6.8.3; 3C 25.6.2) */
static void check_irq_to_guest(struct cpu_outcome *o, void *arg)
{
    (void)arg;

    if (require_control_clear(o, CTL_PIN, PIN_EXTERNAL_INTERRUPT_EXITING,
                              "external-interrupt exiting") &&
        require_control_clear(o, CTL_PROC, CPU_HLT_EXITING, "HLT exiting") &&
        irq_to_guest_once(o, false))
        irq_to_guest_once(o, true);
}

VMX_TEST("vmx/interrupt-to-guest", test_irq_to_guest);
static void test_irq_to_guest(const char *name)
{
    trap_set_handler(VG_VEC_GUEST, host_vec_guest);
    if (vmx_caps.present && !irq_idt)
        irq_idt = test_idt_with_gate(VG_VEC_GUEST, vg_irq_stub);
    verdict_all_cpus(name, check_irq_to_guest, NULL);
}

/* ===== vmx/external-interrupt-exiting ======================================
 * With "external-interrupt exiting" set, an interrupt exits with reason 1
 * whatever the guest's RFLAGS.IF (SDM 3C 25.6.1, 26.2). With "acknowledge
 * interrupt on exit" (25.7.1, 27.2.2) the CPU takes the vector from the
 * LAPIC during the exit (IRR bit clear, ISR bit set) and names it in
 * VM_EXIT_INTR_INFO (valid, type 0 = external); the host EOIs it. Without,
 * the info is not valid, the interrupt stays pending in the IRR, and the
 * host takes it through its own IDT once it enables interrupts. The guest
 * keeps IF clear throughout. With acknowledge on, the guest first sends
 * VG_VEC_GUEST as well: a vector taken on exit that is not the test's own
 * goes to the host's handler through vg_host_deliver, and must get there
 * once (the path that keeps host interrupts from being lost). */

struct ext_run {
    u32 apic_id;
    bool ack;
    volatile u32 exited;   /* set by the hook, watched by the guest */
    u32 ext_exits, foreign;
    u32 info;              /* VM_EXIT_INTR_INFO of the exit for VG_VEC_EXIT */
    bool irr, isr;         /* the vector's LAPIC IRR and ISR bits in the hook */
    u32 bad_info;          /* an info that should not be (ack off: valid) */
    u32 infos[4];          /* of the first external-interrupt exits */
};

static void guest_ext(void *arg)
{
    struct ext_run *r = arg;
    if (r->ack) /* another vector first: the host's handler must get it */
        lapic_send_ipi(r->apic_id, VG_VEC_GUEST);
    lapic_send_ipi(r->apic_id, VG_VEC_EXIT);
    for (u32 i = 0; i < SPIN_LIMIT && !r->exited; i++)
        cpu_relax();
}

static enum exit_action ext_hook(struct vcpu *v, u32 reason)
{
    struct ext_run *r = v->test_data;

    if (reason != EXIT_REASON_EXTERNAL_INTERRUPT)
        return EXIT_DEFAULT;
    u32 info = (u32)vmr(VM_EXIT_INTR_INFO);
    if (r->ext_exits < 4)
        r->infos[r->ext_exits] = info;
    r->ext_exits++;
    if (r->ack) {
        if (!(info & INTR_INFO_VALID)) {
            r->bad_info = info ? info : 0xdead;
            return EXIT_DEFAULT;
        }
        u32 vector = info & 0xff;
        if (vector != VG_VEC_EXIT) {
            /* Someone else's interrupt, taken from the controller: the host
             * handles it as if it had arrived (it EOIs) */
            r->foreign++;
            vg_host_deliver(vector);
            return EXIT_RESUME;
        }
        r->info = info;
        r->irr = lapic_vector_bit(LAPIC_REG_IRR, vector);
        r->isr = lapic_vector_bit(LAPIC_REG_ISR, vector);
        lapic_eoi();
        r->exited = 1;
        return EXIT_RESUME;
    }
    if (info & INTR_INFO_VALID)
        r->bad_info = info;
    if (!r->exited && lapic_vector_bit(LAPIC_REG_IRR, VG_VEC_EXIT)) {
        r->info = info;
        r->irr = true;
        r->isr = lapic_vector_bit(LAPIC_REG_ISR, VG_VEC_EXIT);
        r->exited = 1;
    }
    return EXIT_DEFAULT; /* handle_external_interrupt: the host takes it */
}

static bool ext_once(struct cpu_outcome *o, struct vcpu *v, bool ack)
{
    u32 cpu = this_cpu()->index;
    struct ext_run r;
    const char *how = ack ? "acknowledge on exit" : "no acknowledge on exit";

    memset(&r, 0, sizeof(r));
    r.apic_id = this_cpu()->apic_id;
    r.ack = ack;
    v->hook = ext_hook;
    v->test_data = &r;
    u32 exit_ctls = (u32)vmr(VM_EXIT_CONTROLS) & ~EXIT_ACK_INTERRUPT_ON_EXIT;
    vmw(VM_EXIT_CONTROLS, exit_ctls | (ack ? EXIT_ACK_INTERRUPT_ON_EXIT : 0));
    host_got[0][cpu] = host_got[1][cpu] = 0;
    /* Host interrupts that waited while this CPU ran with interrupts off
     * (the PIT on the BSP) are taken now, and the 8259 stays masked while
     * the guest runs (it reaches the BSP only): Bochs 2.7 stops exiting for
     * LAPIC interrupts after an exit caused by a PIC interrupt, until the
     * host toggles EFLAGS.IF. An edge that comes meanwhile waits in the
     * 8259, as it would with interrupts off. */
    unsigned long flags = irq_save();
    __asm__ volatile("sti\n\tnop\n\tcli" : : : "memory");
    u8 pic_mask = cpu == 0 ? inb(PIC_MASTER_DATA) : 0;
    if (cpu == 0)
        outb(PIC_MASTER_DATA, 0xff);
    bool ran = test_guest_run(o, v, guest_ext, &r);
    if (cpu == 0)
        outb(PIC_MASTER_DATA, pic_mask);
    irq_restore(flags);
    if (!ran)
        return false;
    u32 host = host_got[1][cpu], other = host_got[0][cpu];
    if (r.bad_info)
        outcome_fail(o, "%s: VM_EXIT_INTR_INFO 0x%x", how, r.bad_info);
    else if (!r.exited)
        outcome_fail(o, "%s: no external-interrupt exit for vector 0x%x (%u such exits, "
                     "interruption info 0x%x 0x%x 0x%x ...; host took it %u times)", how,
                     VG_VEC_EXIT, r.ext_exits, r.infos[0], r.infos[1], r.infos[2], host);
    else if (ack && (r.info != (INTR_INFO_VALID | VG_VEC_EXIT) || r.irr || !r.isr || host))
        outcome_fail(o, "%s: VM_EXIT_INTR_INFO 0x%x (expected 0x%x), LAPIC IRR %u ISR %u "
                     "(expected 0 1), host handler ran %u times (expected 0)", how, r.info,
                     INTR_INFO_VALID | VG_VEC_EXIT, r.irr, r.isr, host);
    else if (!ack && (r.info & INTR_INFO_VALID || !r.irr || r.isr || host != 1))
        outcome_fail(o, "%s: VM_EXIT_INTR_INFO 0x%x (expected not valid), LAPIC IRR %u ISR %u "
                     "(expected 1 0), host handler ran %u times (expected 1)", how, r.info,
                     r.irr, r.isr, host);
    else if (ack && other != 1)
        outcome_fail(o, "%s: vector 0x%x, taken on exit too, reached the host's handler %u "
                     "times (%u other vectors on exit), expected once", how, VG_VEC_GUEST, other,
                     r.foreign);
    else
        return true;
    return false;
}

static void check_ext_exiting(struct cpu_outcome *o, void *arg)
{
    (void)arg;

    if (!require_control(o, CTL_PIN, PIN_EXTERNAL_INTERRUPT_EXITING, "external-interrupt exiting"))
        return;
    struct vcpu *v = test_guest_hooked(o, NULL, NULL);
    if (!v)
        return;
    vmw(PIN_BASED_VM_EXEC_CONTROL, vmr(PIN_BASED_VM_EXEC_CONTROL) |
                                       PIN_EXTERNAL_INTERRUPT_EXITING);
    if (!ext_once(o, v, false))
        return;
    if (!(vmx_caps.exit.allowed1 & EXIT_ACK_INTERRUPT_ON_EXIT))
        outcome_skip(o, "acknowledge interrupt on exit not supported (%s bit 15); the exit "
                     "without it passed", control_msr(CTL_EXIT));
    else
        ext_once(o, v, true);
}

VMX_TEST("vmx/external-interrupt-exiting", test_ext_exiting);
static void test_ext_exiting(const char *name)
{
    trap_set_handler(VG_VEC_GUEST, host_vec_guest);
    trap_set_handler(VG_VEC_EXIT, host_vec_exit);
    verdict_all_cpus(name, check_ext_exiting, NULL);
}
