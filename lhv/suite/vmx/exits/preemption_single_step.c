/* vmx/preemption-timer-single-step: VMX-preemption timer exits do not
 * swallow single-step traps (SDM 3C 26.5.1, 28.3.4; 3A 18.3.1.4). The
 * guest single-steps (RFLAGS.TF) through a block of PS_NOPS NOPs and the
 * POPF that clears TF, each step's #DB trap an exception exit (the bitmap
 * has every vector). Once with no timer, once with the timer armed anew
 * at each #DB exit with 0, 1, 2, ... (its exits, before or between the
 * guest's instructions, are taken and the timer disarmed): both runs must
 * count the same PS_NOPS + 3 traps, the exit saving a trap that was
 * pending in the pending debug exceptions field (BS) for the next entry
 * to deliver. */
#include "desc.h"
#include "suite/vmx_test.h"
#include "x86.h"

#define PS_NOPS 8
#define PS_STEPS (PS_NOPS + 3) /* the NOPs, then PUSHF, AND, POPF */
#define PS_STR(x) #x
#define PS_XSTR(x) PS_STR(x)
#ifdef __x86_64__
#define PS_SP "%%rsp"
#else
#define PS_SP "%%esp"
#endif

struct ps_run {
    bool timer;
    u32 db_exits, timer_exits;
};

static void ps_guest(void *arg)
{
    (void)arg;
    __asm__ volatile("pushf\n\t"
                     "orl %0, (" PS_SP ")\n\t"
                     "popf\n\t"
                     ".rept " PS_XSTR(PS_NOPS) "\n\tnop\n\t.endr\n\t"
                     "pushf\n\t"
                     "andl %1, (" PS_SP ")\n\t"
                     "popf"
                     : : "ir"((u32)EFLAGS_TF), "ir"((u32)~EFLAGS_TF) : "cc", "memory");
}

static enum exit_action ps_hook(struct vcpu *v, u32 reason)
{
    struct ps_run *r = v->test_data;

    if (reason == EXIT_REASON_EXCEPTION_NMI &&
        (u32)vmr(VM_EXIT_INTR_INFO) == INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_DB)) {
        r->db_exits++;
        if (r->timer) {
            vmw_or(PIN_BASED_VM_EXEC_CONTROL, PIN_PREEMPTION_TIMER);
            vmw(VMX_PREEMPTION_TIMER_VALUE, r->db_exits % 3);
        }
        return EXIT_RESUME; /* a trap: RIP is past the stepped instruction */
    }
    if (reason == EXIT_REASON_PREEMPTION_TIMER) {
        r->timer_exits++;
        vmw(PIN_BASED_VM_EXEC_CONTROL, vmr(PIN_BASED_VM_EXEC_CONTROL) & ~(u64)PIN_PREEMPTION_TIMER);
        return EXIT_RESUME;
    }
    return EXIT_DEFAULT;
}

static bool ps_run(struct cpu_outcome *o, struct ps_run *r, bool timer)
{
    struct vcpu *v = test_guest(o);

    if (!v)
        return false;
    *r = (struct ps_run){timer, 0, 0};
    v->hook = ps_hook;
    v->test_data = r;
    return test_guest_run(o, v, ps_guest, NULL);
}

static void check_timer_single_step(struct cpu_outcome *o, void *arg)
{
    struct ps_run plain, timed;
    (void)arg;

    if (!require_control(o, CTL_PIN, PIN_PREEMPTION_TIMER, "activate VMX-preemption timer"))
        return;
    if (!ps_run(o, &plain, false) || !CHECK_EQ(o, plain.db_exits, PS_STEPS) ||
        !ps_run(o, &timed, true))
        return;
    if (CHECK(o, timed.timer_exits > 0))
        CHECK_EQ(o, timed.db_exits, PS_STEPS);
}
VMX_TEST_ALL_CPUS("vmx/preemption-timer-single-step", check_timer_single_step);
