/* NMI exiting (SDM 3C 25.6.1, 26.2) and blocking by NMI across VM exits
 * and entries (25.4.2 table 25-3, 27.7.1, 28.1), on every CPU. */
#include "string.h"
#include "nmi.h"

/* ===== vmx/nmi-exiting ====================================================
 * With NMI exiting, an NMI in the guest exits (reason 0) with interruption
 * info valid | type 2 (NMI) | vector 2 (SDM 3C 26.2, 28.2.2) instead of
 * reaching any handler. The exit saves no blocking by NMI: the blocking the
 * NMI causes begins "only after the VM exit completes" (28.1), in the host.
 * The host's handler does not run. */
static void check_nmi_exiting(struct cpu_outcome *o, void *arg)
{
    struct nmi_log l;
    struct vcpu *v = nmi_guest(o, &l, PIN_NMI_EXITING, 0, 0);
    (void)arg;

    if (!v)
        return;
    u32 before = host_nmis();
    if (!nmi_run(o, v, guest_nmi_and_wait, &l) || !check_nmi_info(o, &l, 1))
        return;
    if (host_nmis() != before)
        outcome_fail(o, "the host's NMI handler ran %u times, expected 0", host_nmis() - before);
    else if ((l.nmi_intr & INTR_BLOCKING_NMI) && l0_bochs_deviates(BOCHS_2_7_ONLY))
        outcome_xfail(o, BOCHS_NMI_EXIT_SAVES_BLOCKING, l.nmi_intr);
    else if (l.nmi_intr & INTR_BLOCKING_NMI)
        outcome_fail(o, "interruptibility 0x%x saved at the NMI exit: blocking by NMI, "
                     "expected none", l.nmi_intr);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/nmi-exiting", nmi_prepare, check_nmi_exiting);

/* ===== vmx/nmi-exit-blocks-host ===========================================
 * An NMI exit leaves NMIs blocked in the host (SDM 3C 28.1: "causes
 * subsequent NMIs to be blocked ... after the VM exit completes"): two
 * NMIs the host sends itself then do not reach its handler; after its own
 * IRET exactly one does, the other was lost (SDM 3A 6.7.1: one NMI is held
 * pending while NMIs are blocked). */
static void host_two_nmis_then_iret(struct nmi_log *l)
{
    l->host[0] = host_nmis();
    nmi_self();
    nmi_self();
    nmi_settle();
    l->host[1] = host_nmis();
    nmi_iret_self();
    nmi_settle();
    l->host[2] = host_nmis();
}

static void check_nmi_exit_blocks_host(struct cpu_outcome *o, void *arg)
{
    struct nmi_log l;
    struct vcpu *v = nmi_guest(o, &l, PIN_NMI_EXITING, 0, 0);
    (void)arg;

    if (!v)
        return;
    l.at_nmi = host_two_nmis_then_iret;
    if (!nmi_run(o, v, guest_nmi_and_wait, &l) || !check_nmi_info(o, &l, 1))
        return;
    if (l.host[1] != l.host[0])
        outcome_fail(o, "after the NMI exit the host took %u NMIs before its IRET, expected 0 "
                     "(blocked by the exit)", l.host[1] - l.host[0]);
    else if (l.host[2] != l.host[0] + 1)
        outcome_fail(o, "two NMIs sent while blocked: the host took %u after its IRET, "
                     "expected 1 (one held pending, one lost)", l.host[2] - l.host[0]);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/nmi-exit-blocks-host", nmi_prepare, check_nmi_exit_blocks_host);

/* ===== vmx/nmi-pending-at-entry ===========================================
 * An NMI the host sends itself while the NMI exit keeps NMIs blocked stays
 * pending; VM entry with no blocking by NMI in the guest interruptibility
 * state unblocks NMIs (SDM 3C 27.7.1), so it exits again (NMI exiting)
 * right after the entry, before any guest instruction: at the same guest
 * RIP. The host's handler never sees it. (Bit 3 is cleared for the entry:
 * it is clear already, but Bochs saves it set, see above.) */
static void host_nmi_pending(struct nmi_log *l)
{
    l->host[0] = host_nmis();
    nmi_self();
    nmi_settle();
    l->host[1] = host_nmis();
    vmw(GUEST_INTERRUPTIBILITY_INFO, l->nmi_intr & ~INTR_BLOCKING_NMI);
}

static void check_nmi_pending_at_entry(struct cpu_outcome *o, void *arg)
{
    struct nmi_log l;
    struct vcpu *v = nmi_guest(o, &l, PIN_NMI_EXITING, 0, 0);
    (void)arg;

    if (!v)
        return;
    l.at_nmi = host_nmi_pending;
    if (!nmi_run(o, v, guest_nmi_and_wait, &l))
        return;
    if (l.nmi_exits == 1 && l.host[1] == l.host[0] &&
        (interruptibility() & INTR_BLOCKING_NMI) && l0_bochs_deviates(BOCHS_2_7_ONLY | BOCHS_VIA_L0)) {
        outcome_xfail(o, BOCHS_ENTRY_KEEPS_NMI_BLOCKING, l0_bochs_names(BOCHS_2_7_ONLY),
                      "cleared at the NMI exit, saved set at "
                      "the next, no second NMI exit");
        return;
    }
    if (!check_nmi_info(o, &l, 2))
        return;
    if (l.host[1] != l.host[0] || host_nmis() != l.host[0])
        outcome_fail(o, "the host took %u NMIs, expected 0 (the pending one exits from the "
                     "guest)", host_nmis() - l.host[0]);
    else if (l.nmi_rip[1] != l.nmi_rip[0])
        outcome_fail(o, "second NMI exit at guest RIP 0x%lx, expected 0x%lx (the first's: "
                     "before any guest instruction)", (unsigned long)l.nmi_rip[1],
                     (unsigned long)l.nmi_rip[0]);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/nmi-pending-at-entry", nmi_prepare, check_nmi_pending_at_entry);

/* ===== vmx/nmi-blocking-at-entry ==========================================
 * NMI exiting without virtual NMIs, entered with blocking by NMI
 * (interruptibility bit 3; SDM 3C 27.7.1): the guest sends itself two NMIs
 * and executes an IRET, which does not unblock NMIs when NMI exiting is 1
 * (26.3): no exit. At its mark (a VMCALL) the exit saves the blocking
 * (28.3.1.5); the host clears it, and the one NMI held pending (the other
 * was lost, SDM 3A 6.7.1) exits right after the VMCALL.
 *
 * The guest runs without external-interrupt exiting, with IF clear: this
 * blocking is the CPU's own, which a VM exit keeps (28.1) and any IRET in
 * the host ends (3A 6.7.1). An external-interrupt exit for the 1 kHz PIT
 * tick while the guest waits lets the host's interrupt handler IRET, and
 * the held NMI then goes to the host's handler, not to an NMI exit (seen on
 * Bochs 2.7 and 3.0, CPU 0 only: the one that takes IRQ0). */
static void guest_two_nmis_iret_mark(void *arg)
{
    struct nmi_log *l = arg;
    nmi_self();
    nmi_self();
    nmi_settle();
    nmi_iret_self();
    nmi_settle();
    guest_hypercall(NMI_HC_MARK, 0, 0, 0);
    nmi_wait(&l->nmi_exits, NMI_WAIT_MS);
    nmi_settle(); /* time for a second NMI exit, were there one */
}

static void host_unblock_guest(struct nmi_log *l)
{
    vmw(GUEST_INTERRUPTIBILITY_INFO, l->mark_intr & ~INTR_BLOCKING_NMI);
}

static void check_nmi_blocking_at_entry(struct cpu_outcome *o, void *arg)
{
    struct nmi_log l;
    (void)arg;

    if (!require_control_clear(o, CTL_PIN, PIN_EXTERNAL_INTERRUPT_EXITING,
                               "external-interrupt exiting"))
        return;
    struct vcpu *v = nmi_guest(o, &l, PIN_NMI_EXITING, 0, INTR_BLOCKING_NMI);
    if (!v)
        return;
    vmw(PIN_BASED_VM_EXEC_CONTROL, vmr(PIN_BASED_VM_EXEC_CONTROL) &
                                       ~(u64)PIN_EXTERNAL_INTERRUPT_EXITING);
    l.at_mark = host_unblock_guest;
    u32 before = host_nmis();
    if (!nmi_run(o, v, guest_two_nmis_iret_mark, &l))
        return;
    if (l.marks != 1 || l.nmi_at_mark)
        outcome_fail(o, "%u NMI exits before the mark (%u marks), expected none: blocking by "
                     "NMI from the entry, IRET does not end it with NMI exiting",
                     l.nmi_at_mark, l.marks);
    else if (!(l.mark_intr & INTR_BLOCKING_NMI))
        outcome_fail(o, "interruptibility 0x%x saved at the mark, expected blocking by NMI "
                     "(bit 3)", l.mark_intr);
    else if (!l.nmi_exits && (interruptibility() & INTR_BLOCKING_NMI) &&
             l0_bochs_deviates(BOCHS_2_7_ONLY | BOCHS_VIA_L0))
        outcome_xfail(o, BOCHS_ENTRY_KEEPS_NMI_BLOCKING, l0_bochs_names(BOCHS_2_7_ONLY),
                      "cleared at the mark, saved set at the "
                      "next exit, no NMI exit");
    else if (!check_nmi_info(o, &l, 1))
        return;
    else if (l.nmi_rip[0] != l.mark_rip + 3)
        outcome_fail(o, "the NMI exit came at guest RIP 0x%lx, expected 0x%lx (right after "
                     "the mark's VMCALL)", (unsigned long)l.nmi_rip[0],
                     (unsigned long)l.mark_rip + 3);
    else if (host_nmis() != before)
        outcome_fail(o, "the host's NMI handler ran %u times, expected 0", host_nmis() - before);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/nmi-blocking-at-entry", nmi_prepare, check_nmi_blocking_at_entry);
