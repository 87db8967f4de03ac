/* Interruptibility across VM entry and exit, on every CPU: the interrupt
 * shadow of STI and MOV SS (SDM 3C 25.4.2 table 25-3, 27.3.1.5, 28.3.4) and
 * pending debug exceptions (27.7.3). */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "x86.h"
#include "events.h"

/* A guest entered at ev_shadow_guest with interruptibility block and RFLAGS
 * rflags; true when VM entry took it */
static bool ev_enter_shadow(struct cpu_outcome *o, struct vcpu *v, u32 block,
                            unsigned long rflags)
{
    vmw(GUEST_INTERRUPTIBILITY_INFO, block);
    memset(&v->regs, 0, sizeof(v->regs));
    return test_guest_run_at(o, v, (uintptr_t)ev_shadow_guest, 0, rflags);
}

/* VM entry must refuse the guest state: exit reason 33 (SDM 3C 27.8) */
static bool ev_refused(struct cpu_outcome *o, struct vcpu *v, bool ran, const char *what)
{
    if (!ran && v->exit_reason == EXIT_REASON_INVALID_GUEST_STATE)
        return true;
    outcome_fail(o, "%s: VM entry %s, expected it to fail with reason 33 (SDM 3C 27.3.1.5)",
                 what, ran ? "took the guest" : v->why);
    return false;
}

/* ===== vmx/entry-interrupt-shadow =========================================
 * Interrupt-window exiting with IF=1: without blocking the exit (reason 7)
 * comes before the guest's first instruction (SDM 3C 26.7.5); entered with
 * blocking by STI or by MOV SS (interruptibility bits 0, 1: 25.4.2) it
 * comes after one instruction, as if the instruction before entry had
 * been STI or MOV SS (3A 6.8.3). Blocking by STI with IF=0 is no valid
 * guest state (27.3.1.5). */
static void check_entry_shadow(struct cpu_outcome *o, void *arg)
{
    static const struct {
        const char *what;
        u32 block;
        const char *want;
    } cases[] = {
        {"no blocking", 0, ev_shadow_guest},
        {"blocking by STI", INTR_BLOCKING_STI, ev_shadow_after},
        {"blocking by MOV SS", INTR_BLOCKING_MOV_SS, ev_shadow_after},
    };
    struct ev_log l;
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_INTERRUPT_WINDOW_EXITING, "interrupt-window exiting"))
        return;
    for (u32 i = 0; i < ARRAY_SIZE(cases); i++) {
        if (!(v = ev_guest(o, &l, ev_idt)))
            return;
        vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_INTERRUPT_WINDOW_EXITING);
        if (!ev_enter_shadow(o, v, cases[i].block, EFLAGS_IF))
            return;
        if (cases[i].block && l.iwin_exits == 1 && l.exit_rip == (uintptr_t)ev_shadow_guest &&
            l0_bochs_shadow_lost_here()) {
            outcome_xfail(o, "%s: %s with 2+ CPUs: exit before the first guest instruction "
                          "(interrupt shadow lost)", cases[i].what,
                          l0_bochs_names(BOCHS_3_0_ONLY));
            return;
        }
        if (l.iwin_exits != 1 || l.exit_rip != (uintptr_t)cases[i].want) {
            outcome_fail(o, "%s: %u interrupt-window exits, the first at guest RIP 0x%lx; "
                         "expected one at 0x%lx (entry at 0x%lx)", cases[i].what, l.iwin_exits,
                         (unsigned long)l.exit_rip, (unsigned long)cases[i].want,
                         (unsigned long)ev_shadow_guest);
            return;
        }
    }
    if (!(v = ev_guest(o, &l, ev_idt)))
        return;
    vmw(GUEST_INTERRUPTIBILITY_INFO, INTR_BLOCKING_STI);
    ev_refused(o, v, vcpu_run_at(v, (uintptr_t)ev_shadow_guest, 0, 0).end == RUN_DONE,
               "blocking by STI with IF=0");
}

VMX_TEST_ALL_CPUS_AFTER("vmx/entry-interrupt-shadow", ev_prepare, check_entry_shadow);

/* ===== vmx/exit-saves-interrupt-shadow ====================================
 * A VM exit saves the interruptibility state (SDM 3C 28.3.4): CPUID (which
 * always exits, 26.1.2) right after STI with IF=0 before it exits with
 * blocking by STI (bit 0); right after MOV SS with blocking by MOV SS (bit
 * 1); with nothing before it, with neither. The host clears the blocking
 * as it completes each CPUID. */
static void check_exit_shadow(struct cpu_outcome *o, void *arg)
{
    static const u32 want[3] = {INTR_BLOCKING_STI, INTR_BLOCKING_MOV_SS, 0};
    static const char *const after[3] = {"STI", "MOV SS", "no STI or MOV SS"};
    struct ev_log l;
    struct vcpu *v = ev_guest(o, &l, ev_idt);
    (void)arg;

    if (!v)
        return;
    memset(&v->regs, 0, sizeof(v->regs));
    if (!test_guest_run_at(o, v, (uintptr_t)ev_saves_guest, 0, 0))
        return;
    if (l.cpuid_exits != 3) {
        outcome_fail(o, "%u CPUID exits, expected 3", l.cpuid_exits);
        return;
    }
    for (u32 i = 0; i < 3; i++)
        if ((l.cpuid_shadow[i] & (INTR_BLOCKING_STI | INTR_BLOCKING_MOV_SS)) != want[i]) {
            outcome_fail(o, "CPUID after %s: interruptibility 0x%x saved, expected bits 1:0 = %u",
                         after[i], l.cpuid_shadow[i], want[i]);
            return;
        }
}

VMX_TEST_ALL_CPUS_AFTER("vmx/exit-saves-interrupt-shadow", ev_prepare, check_exit_shadow);

/* ===== vmx/pending-debug-exceptions =======================================
 * Entered with RFLAGS.TF=1 and the pending debug exception BS (single
 * step), the #DB is delivered before the guest's first instruction (SDM 3C
 * 27.7.3: a trap on the instruction before entry), also under blocking by
 * STI, which holds back interrupts but not debug exceptions; with #DB in
 * the exception bitmap it exits: reason 0, vector 1, hardware exception,
 * the exit qualification with BS (28.2.1 table 28-1), and DR6 untouched
 * (28.1: a #DB that exits does not update DR6); the exit saves no pending
 * debug exceptions (28.3.4: the #DB took them). Under blocking by MOV SS
 * with B0 pending too (a data breakpoint of the MOV SS), the #DB waits for
 * the next instruction (3A 6.8.3) and its exit qualification has BS and B0
 * (28.2.1). Under blocking by STI or MOV SS, BS must equal TF (without
 * IA32_DEBUGCTL.BTF): else VM entry fails (27.3.1.5). */
static bool ev_db_exit(struct cpu_outcome *o, const char *what, u32 block)
{
    struct ev_log l;
    struct vcpu *v = ev_guest(o, &l, ev_idt);
    bool movss = block == INTR_BLOCKING_MOV_SS;
    u64 want = PENDING_DBG_BS | (movss ? PENDING_DBG_B0 : 0);
    const char *at = movss ? ev_shadow_after : ev_shadow_guest;
    unsigned long dr6;

    if (!v)
        return false;
    __asm__ volatile("mov %0, %%dr6" : : "r"(0xffff0ff0ul));
    vmw(GUEST_INTERRUPTIBILITY_INFO, block);
    vmw(GUEST_PENDING_DBG_EXCEPTIONS, want | (movss ? PENDING_DBG_ENABLED_BP : 0));
    memset(&v->regs, 0, sizeof(v->regs));
    if (!test_guest_run_at(o, v, (uintptr_t)ev_shadow_guest, 0, EFLAGS_TF | EFLAGS_IF))
        return false;
    __asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
    if (l.exc_exits != 1 || l.exit_info != (INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_DB)) ||
        l.exc_rip != (uintptr_t)at) {
        outcome_fail(o, "%s: %u exception exits, the first with interruption info 0x%x at guest "
                     "RIP 0x%lx; expected one #DB (0x%x) at 0x%lx", what, l.exc_exits,
                     l.exit_info, (unsigned long)l.exc_rip,
                     INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_DB), (unsigned long)at);
        return false;
    }
    if ((l.exc_qual & (PENDING_DBG_BS | 0xf)) != want || l.exc_pending) {
        outcome_fail(o, "%s: #DB exit qualification 0x%llx and pending debug exceptions 0x%llx "
                     "saved, expected 0x%llx (BS%s) and 0", what,
                     (unsigned long long)l.exc_qual, (unsigned long long)l.exc_pending,
                     (unsigned long long)want, movss ? ", B0" : "");
        return false;
    }
    if (dr6 & PENDING_DBG_BS) {
        outcome_fail(o, "%s: DR6 0x%lx after the #DB exit, expected BS clear (SDM 3C 28.1)", what,
                     dr6);
        return false;
    }
    return true;
}

/* VM entry with block, RFLAGS and pending debug exceptions that disagree */
static bool ev_db_refused(struct cpu_outcome *o, const char *what, u32 block,
                          unsigned long rflags, u32 pending)
{
    struct ev_log l;
    struct vcpu *v = ev_guest(o, &l, ev_idt);

    if (!v)
        return false;
    vmw(GUEST_INTERRUPTIBILITY_INFO, block);
    vmw(GUEST_PENDING_DBG_EXCEPTIONS, pending);
    memset(&v->regs, 0, sizeof(v->regs));
    bool ran = vcpu_run_at(v, (uintptr_t)ev_shadow_guest, 0, rflags).end == RUN_DONE;
    /* Bochs 2.7 and 3.0 (cpu/vmx.cc, VMenterLoadCheckGuestState) check
     * only the reserved bits of the pending debug exceptions field, never
     * BS against TF: they enter such a guest. */
    if (ran && l0_bochs_deviates(BOCHS_2_7_AND_3_0)) {
        outcome_xfail(o, "%s: %s: guest entered (no BS/TF check, SDM 3C 27.3.1.5)", what,
                      l0_bochs_names(BOCHS_2_7_AND_3_0));
        return true;
    }
    return ev_refused(o, v, ran, what);
}

static void check_pending_db(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    if (ev_db_exit(o, "TF and BS", 0) &&
        ev_db_exit(o, "TF and BS under blocking by STI", INTR_BLOCKING_STI) &&
        ev_db_exit(o, "TF, BS and B0 under blocking by MOV SS", INTR_BLOCKING_MOV_SS) &&
        ev_db_refused(o, "TF without BS under blocking by STI", INTR_BLOCKING_STI,
                      EFLAGS_TF | EFLAGS_IF, 0))
        ev_db_refused(o, "BS without TF under blocking by MOV SS", INTR_BLOCKING_MOV_SS, 0,
                      PENDING_DBG_BS);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/pending-debug-exceptions", ev_prepare, check_pending_db);
