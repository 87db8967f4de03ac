/* Virtual NMIs: NMI-window exiting (SDM 3C 26.3, 27.7.6), NMI injection
 * (27.6), virtual-NMI blocking across an exit, on every CPU. */
#include "string.h"
#include "nmi.h"

/* ===== vmx/nmi-window-exiting =============================================
 * Virtual NMIs with NMI-window exiting (SDM 3C 25.6.1-25.6.2, 26.2): with
 * no virtual-NMI blocking at entry the exit (reason 8) comes right after
 * the entry, at the entry RIP (27.7.6). Entered with virtual-NMI blocking
 * (interruptibility bit 3), there is no exit until the guest's IRET ends
 * the blocking (26.3); then it comes before the next instruction. Entered
 * with blocking by MOV SS it comes after the first instruction (27.7.6).
 * With a #DB injected it comes after the delivery, at the handler (27.6.1,
 * 27.7.6). Entered in the HLT activity state (25.4.2) it comes at once, at
 * the entry RIP; with a #DB injected, at the handler. */
static void guest_mark_then_iret(void *arg)
{
    (void)arg;
    guest_hypercall(NMI_HC_MARK, 0, 0, 0);
    nmi_iret_self();
}

static bool check_window_at(struct cpu_outcome *o, const char *what, const struct nmi_log *l,
                            uintptr_t want_rip)
{
    if (l->win_exits != 1)
        outcome_fail(o, "%s: %u NMI-window exits, expected 1", what, l->win_exits);
    else if (l->win_rip != want_rip)
        outcome_fail(o, "%s: the NMI-window exit came at guest RIP 0x%lx, expected 0x%lx", what,
                     (unsigned long)l->win_rip, (unsigned long)want_rip);
    else if (l->win_intr & INTR_BLOCKING_NMI)
        outcome_fail(o, "%s: interruptibility 0x%x at the NMI-window exit, expected no "
                     "virtual-NMI blocking", what, l->win_intr);
    else
        return true;
    return false;
}

#define NMI_VWIN (PIN_NMI_EXITING | PIN_VIRTUAL_NMIS)

/* One entry with NMI-window exiting: the interruptibility and activity
 * states given, a #DB injected or not; the exit must come at want */
static bool window_case(struct cpu_outcome *o, const char *what, u32 intr, u32 activity,
                        bool inject_db, const void *want)
{
    struct nmi_log l;
    struct vcpu *v = nmi_guest(o, &l, NMI_VWIN, CPU_NMI_WINDOW_EXITING, intr);

    if (!v)
        return false;
    vmw(GUEST_ACTIVITY_STATE, activity);
    if (inject_db)
        vmw(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_DB));
    memset(&v->regs, 0, sizeof(v->regs));
    if (!test_guest_run_at(o, v, (uintptr_t)ev_shadow_guest, 0, 0))
        return false;
    if ((intr & INTR_BLOCKING_MOV_SS) && l.win_exits == 1 &&
        l.win_rip == (uintptr_t)ev_shadow_guest && l0_bochs_shadow_lost_here()) {
        outcome_xfail(o, "%s: %s with 2+ CPUs: exit before the first guest instruction "
                      "(interrupt shadow lost)", what, l0_bochs_names(BOCHS_3_0_ONLY));
        return false;
    }
    return check_window_at(o, what, &l, (uintptr_t)want);
}

static void check_nmi_window(struct cpu_outcome *o, void *arg)
{
    const u32 pin = NMI_VWIN;
    struct nmi_log l;
    struct vcpu *v;
    (void)arg;

    if (!window_case(o, "no blocking", 0, ACTIVITY_ACTIVE, false, ev_shadow_guest) ||
        !window_case(o, "blocking by MOV SS", INTR_BLOCKING_MOV_SS, ACTIVITY_ACTIVE, false,
                     ev_shadow_after) ||
        !window_case(o, "#DB injected", 0, ACTIVITY_ACTIVE, true, nmi_guest_handler))
        return;
    if ((vmx_caps.misc & VMX_MISC_ACTIVITY_HLT) &&
        (!window_case(o, "HLT state", 0, ACTIVITY_HLT, false, ev_shadow_guest) ||
         !window_case(o, "HLT state, #DB injected", 0, ACTIVITY_HLT, true, nmi_guest_handler)))
        return;
    if (!(v = nmi_guest(o, &l, pin, CPU_NMI_WINDOW_EXITING, INTR_BLOCKING_NMI)) ||
        !nmi_run(o, v, guest_mark_then_iret, NULL))
        return;
    if (l.marks != 1 || l.win_at_mark)
        outcome_fail(o, "virtual-NMI blocking: %u NMI-window exits before the IRET, expected 0",
                     l.win_at_mark);
    else if (!(l.mark_intr & INTR_BLOCKING_NMI))
        outcome_fail(o, "virtual-NMI blocking: interruptibility 0x%x saved before the IRET, "
                     "expected bit 3", l.mark_intr);
    else
        check_window_at(o, "virtual-NMI blocking", &l, (uintptr_t)nmi_iret_self_after);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/nmi-window-exiting", nmi_prepare, check_nmi_window);

/* ===== vmx/nmi-inject =====================================================
 * An NMI injected on VM entry (type 2, vector 2; SDM 3C 27.6) runs the
 * guest's vector-2 handler once, returning to the entry RIP; during the
 * handler NMIs are blocked (interruptibility bit 3, 27.6.1.2), and its
 * IRET (NMI exiting 0) ends that (26.3): none left at the end. */
static bool check_report(struct cpu_outcome *o, const char *what, const struct nmi_log *l)
{
    if (l->reports != 1)
        outcome_fail(o, "%s: the guest's NMI handler ran %u times, expected once", what,
                     l->reports);
    else if (l->report_rip[0] != (uintptr_t)guest_entry)
        outcome_fail(o, "%s: the handler returns to 0x%lx, expected the entry RIP 0x%lx", what,
                     (unsigned long)l->report_rip[0], (unsigned long)guest_entry);
    else if (!(l->report_intr[0] & INTR_BLOCKING_NMI))
        outcome_fail(o, "%s: interruptibility 0x%x in the handler, expected blocking by NMI "
                     "(bit 3)", what, l->report_intr[0]);
    else
        return true;
    return false;
}

static void check_nmi_inject(struct cpu_outcome *o, void *arg)
{
    struct nmi_log l;
    struct vcpu *v = nmi_guest(o, &l, 0, 0, 0);
    (void)arg;

    if (!v)
        return;
    vmw(VM_ENTRY_INTR_INFO_FIELD, II_NMI);
    if (!nmi_run(o, v, guest_nothing, NULL) || !check_report(o, "injected NMI", &l))
        return;
    u32 intr = interruptibility();
    if (intr & INTR_BLOCKING_NMI)
        outcome_fail(o, "interruptibility 0x%x after the handler's IRET, expected no blocking "
                     "by NMI", intr);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/nmi-inject", nmi_prepare, check_nmi_inject);

/* ===== vmx/nmi-inject-virtual =============================================
 * With virtual NMIs, an injected NMI sets virtual-NMI blocking (SDM 3C
 * 27.6.1.2): NMI-window exiting gives no exit while the handler runs, and
 * one (reason 8) right after its IRET (26.3), at the handler's return
 * address. */
static void check_nmi_inject_virtual(struct cpu_outcome *o, void *arg)
{
    struct nmi_log l;
    struct vcpu *v = nmi_guest(o, &l, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS,
                               CPU_NMI_WINDOW_EXITING, 0);
    (void)arg;

    if (!v)
        return;
    vmw(VM_ENTRY_INTR_INFO_FIELD, II_NMI);
    if (!nmi_run(o, v, guest_nothing, NULL) || !check_report(o, "injected virtual NMI", &l))
        return;
    if (l.win_at_report)
        outcome_fail(o, "%u NMI-window exits before the handler's IRET, expected 0",
                     l.win_at_report);
    else
        check_window_at(o, "after the handler", &l, (uintptr_t)guest_entry);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/nmi-inject-virtual", nmi_prepare, check_nmi_inject_virtual);

/* ===== vmx/nmi-blocking-across-exit =======================================
 * Without NMI exiting or virtual NMIs, blocking by NMI is the CPU's own: a
 * VM exit other than one caused by an NMI leaves it as it was (SDM 3C
 * 28.5). So at the VMCALL of the handler of an injected NMI the host's
 * NMIs are blocked: one it sends itself stays pending, the entry keeps it
 * blocked (bit 3 saved and loaded back, 27.7.1), and the handler's IRET
 * lets it in through the guest's IDT (NMI exiting 0): the handler runs a
 * second time, returning to the same entry RIP; the host's handler never. */
static void host_nmi_in_guest_handler(struct nmi_log *l)
{
    l->host[0] = host_nmis();
    nmi_self();
    nmi_settle();
    l->host[1] = host_nmis();
}

static void check_nmi_across_exit(struct cpu_outcome *o, void *arg)
{
    struct nmi_log l;
    struct vcpu *v = nmi_guest(o, &l, 0, 0, 0);
    (void)arg;

    if (!v)
        return;
    l.at_report = host_nmi_in_guest_handler;
    vmw(VM_ENTRY_INTR_INFO_FIELD, II_NMI);
    if (!nmi_run(o, v, guest_nothing, NULL))
        return;
    if (l.host[1] != l.host[0])
        outcome_fail(o, "at an exit from the guest's NMI handler the host took its own NMI, "
                     "expected it blocked");
    else if (l.reports != 2)
        outcome_fail(o, "the guest's NMI handler ran %u times, expected 2 (injected, then the "
                     "host's pending NMI)", l.reports);
    else if (l.report_rip[1] != (uintptr_t)guest_entry ||
             !(l.report_intr[1] & INTR_BLOCKING_NMI))
        outcome_fail(o, "second handler run returns to 0x%lx with interruptibility 0x%x, "
                     "expected 0x%lx and blocking by NMI", (unsigned long)l.report_rip[1],
                     l.report_intr[1], (unsigned long)guest_entry);
    else if (host_nmis() != l.host[0])
        outcome_fail(o, "the host's NMI handler ran %u times, expected 0",
                     host_nmis() - l.host[0]);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/nmi-blocking-across-exit", nmi_prepare, check_nmi_across_exit);
