/* Interrupt-window exiting (SDM 3C 26.7.5), on every CPU. */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "x86.h"
#include "events.h"
#include "vmx/vmx.h"

/* ===== vmx/interrupt-window-exiting =======================================
 * Entered with IF=0: no exit. STI blocks interrupts for one more
 * instruction (SDM 3A 6.8.3), so the exit (reason 7) comes after the NOP
 * that follows it, with no blocking left. With IF=1 and a #DB injected
 * through a trap gate (IF stays 1) the exit comes after the delivery, at
 * the handler (SDM 3C 27.6.1, 26.7.5). Entered in the HLT activity state
 * (25.4.2) with IF=1 it comes at once, at the entry RIP; with a #DB
 * injected, at the handler. */
#define IWIN_WATCHDOG 256 /* preemption timer units: far longer than an exit takes */

static bool iwin_case(struct cpu_outcome *o, const char *what, u32 activity, bool inject_db,
                      const void *want)
{
    struct ev_log l;
    struct vcpu *v = ev_guest(o, &l, ev_idt);

    if (!v)
        return false;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_INTERRUPT_WINDOW_EXITING);
    vmw(GUEST_ACTIVITY_STATE, activity);
    if (inject_db)
        vmw(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_DB));
    else if (activity == ACTIVITY_HLT) {
        /* a watchdog: the VMX-preemption timer ends a halt no exit ends */
        if (!require_control(o, CTL_PIN, PIN_PREEMPTION_TIMER, "VMX-preemption timer"))
            return false;
        vmw_or(PIN_BASED_VM_EXEC_CONTROL, PIN_PREEMPTION_TIMER);
        vmw(VMX_PREEMPTION_TIMER_VALUE, IWIN_WATCHDOG);
    }
    memset(&v->regs, 0, sizeof(v->regs));
    REG_BX(v) = (uintptr_t)guest_nothing;
    struct run_result r = vcpu_run_at(v, (uintptr_t)guest_entry, 0, EFLAGS_IF);
    if (r.end == RUN_UNEXPECTED_EXIT && r.exit_reason == EXIT_REASON_PREEMPTION_TIMER &&
        !l.iwin_exits && l0_bochs_deviates(BOCHS_2_7_AND_3_0 | BOCHS_VIA_L0)) {
        outcome_xfail(o, "%s: %s: interrupt-window exiting does not end the HLT state (the "
                      "preemption timer did)", what, l0_bochs_names(BOCHS_2_7_AND_3_0));
        return true; /* the next case still runs: a FAIL there is the verdict */
    }
    if (r.end != RUN_DONE) {
        outcome_fail(o, "%s: %s", what, r.why);
        return false;
    }
    if (l.iwin_exits == 1 && l.exit_rip == (uintptr_t)want)
        return true;
    outcome_fail(o, "%s: %u interrupt-window exits, the first at guest RIP 0x%lx, expected one "
                 "at 0x%lx", what, l.iwin_exits, (unsigned long)l.exit_rip,
                 (unsigned long)want);
    return false;
}
static void check_iwin(struct cpu_outcome *o, void *arg)
{
    struct ev_log l;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_INTERRUPT_WINDOW_EXITING, "interrupt-window exiting"))
        return;
    struct vcpu *v = ev_guest(o, &l, ev_idt);
    if (!v)
        return;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_INTERRUPT_WINDOW_EXITING);
    if (!ev_run(o, v, (void (*)(void *))(uintptr_t)ev_iwin_guest, 0))
        return;
    if (l.iwin_exits != 1)
        outcome_fail(o, "%u interrupt-window exits, expected 1", l.iwin_exits);
    else if (l.exit_rip == (uintptr_t)ev_iwin_guest + 1 && l0_bochs_shadow_lost_here())
        outcome_xfail(o, "%s with 2+ CPUs: exit right after the STI (interrupt shadow lost)",
                      l0_bochs_names(BOCHS_3_0_ONLY));
    else if (l.exit_rip != (uintptr_t)ev_iwin_after_nop)
        outcome_fail(o, "the interrupt-window exit came at guest RIP 0x%lx, expected 0x%lx "
                     "(STI at 0x%lx, then one NOP)", (unsigned long)l.exit_rip,
                     (unsigned long)ev_iwin_after_nop, (unsigned long)ev_iwin_guest);
    else if (l.interruptibility & 3)
        outcome_fail(o, "interruptibility 0x%x at the exit, expected no blocking",
                     l.interruptibility);
    else if (iwin_case(o, "#DB injected", ACTIVITY_ACTIVE, true, ev_stub_ud) &&
             (vmx_caps.misc & VMX_MISC_ACTIVITY_HLT) &&
             iwin_case(o, "HLT state", ACTIVITY_HLT, false, guest_entry))
        iwin_case(o, "HLT state, #DB injected", ACTIVITY_HLT, true, ev_stub_ud);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/interrupt-window-exiting", ev_prepare, check_iwin);
