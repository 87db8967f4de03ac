/* Interrupt-window exiting (SDM 3C 26.7.5), on every CPU. */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "x86.h"
#include "events.h"

/* ===== vmx/interrupt-window-exiting =======================================
 * Entered with IF=0: no exit. STI blocks interrupts for one more
 * instruction (SDM 3A 6.8.3), so the exit (reason 7) comes after the NOP
 * that follows it, with no blocking left. */
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
    else if (l.exit_rip == (uintptr_t)ev_iwin_guest + 1 && l0_bochs_deviates(BOCHS_3_0_ONLY))
        outcome_xfail(o, "%s with 2+ CPUs: exit right after the STI (interrupt shadow lost)",
                      l0_bochs_names(BOCHS_3_0_ONLY));
    else if (l.exit_rip != (uintptr_t)ev_iwin_after_nop)
        outcome_fail(o, "the interrupt-window exit came at guest RIP 0x%lx, expected 0x%lx "
                     "(STI at 0x%lx, then one NOP)", (unsigned long)l.exit_rip,
                     (unsigned long)ev_iwin_after_nop, (unsigned long)ev_iwin_guest);
    else if (l.interruptibility & 3)
        outcome_fail(o, "interruptibility 0x%x at the exit, expected no blocking",
                     l.interruptibility);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/interrupt-window-exiting", ev_prepare, check_iwin);
