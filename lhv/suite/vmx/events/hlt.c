/* HLT exiting and the HLT activity state (SDM 3C 25.6.2, 25.4.2), on
 * every CPU. */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "x86.h"
#include "events.h"

/* ===== vmx/hlt-exiting ====================================================
 * HLT exits with reason 12 and length 1 (SDM 3C 26.1.3); then, without HLT
 * exiting, a guest entered in the HLT activity state (25.4.2) with an
 * external interrupt injected wakes to take it (27.6) and is active. */
static void check_hlt(struct cpu_outcome *o, void *arg)
{
    struct ev_log l;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_HLT_EXITING, "HLT exiting"))
        return;
    struct vcpu *v = ev_guest(o, &l, ev_idt);
    if (!v)
        return;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_HLT_EXITING);
    if (!ev_run(o, v, (void (*)(void *))(uintptr_t)ev_hlt_guest, 0))
        return;
    if (l.hlt_exits != 1 || l.exit_rip != (uintptr_t)ev_hlt_guest || l.exit_len != 1) {
        outcome_fail(o, "%u HLT exits (expected 1), the first at guest RIP 0x%lx with length %u "
                     "(expected 0x%lx, 1)", l.hlt_exits, (unsigned long)l.exit_rip, l.exit_len,
                     (unsigned long)ev_hlt_guest);
        return;
    }
    if (!(vmx_caps.misc & VMX_MISC_ACTIVITY_HLT)) {
        outcome_skip(o, "HLT exits passed; no HLT activity state (IA32_VMX_MISC bit 6)");
        return;
    }
    if (!(v = ev_guest(o, &l, ev_idt)))
        return;
    vmw(GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
    vmw(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO(INTR_TYPE_EXT_INTR, EV_VEC_EXT));
    if (!ev_run(o, v, guest_nothing, EFLAGS_IF) ||
        !ev_check_report(o, "external interrupt into the HLT state", &l, EV_VEC_EXT, EV_NO_ERROR,
                         (uintptr_t)guest_entry))
        return;
    if (l.activity != 0)
        outcome_fail(o, "activity state %u in the handler, expected 0 (active)", l.activity);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/hlt-exiting", ev_prepare, check_hlt);
