/* Guests that go wrong on purpose, on every CPU: each guest below fails
 * (triple fault, #UD, a fault in its own handler, an endless loop stopped
 * by the VMX-preemption timer, a VM entry refused), LHV reports how that
 * guest's run ended (struct run_result), and the next guest on the same CPU
 * runs normally. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "runtime.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/ept.h"
#include "vmx/msr_area.h"
#include "x86.h"

/* After a guest failed: a fresh guest on this CPU runs and its hypercall
 * works, so the failure ended that guest, not LHV. */
static void check_next_guest_runs(struct cpu_outcome *o, const char *after)
{
    struct echo e = {0x5150 + this_cpu()->index, 0x70000, 0};
    struct vcpu *v = test_guest(o);

    if (!v)
        return;
    struct run_result r = vcpu_run(v, guest_echo, &e);
    if (r.end != RUN_DONE)
        outcome_fail(o, "after %s the next guest failed: %s", after, r.why);
    else if (e.result != e.a + e.b)
        outcome_fail(o, "after %s the next guest's hypercall returned 0x%lx, expected 0x%lx",
                     after, e.result, e.a + e.b);
}

/* The run must have ended as want (a failure of the guest, not LHV's) */
static bool expect_end(struct cpu_outcome *o, struct vcpu *v, struct run_result r,
                       const char *what, enum run_end want)
{
    if (r.end == want)
        return true;
    if (r.end == RUN_DONE)
        outcome_fail(o, "%s: the guest ran to its end (%u exits), expected %s", what, v->exits,
                     run_end_name(want));
    else
        outcome_fail(o, "%s: the run ended as %s, expected %s: %s", what, run_end_name(r.end),
                     run_end_name(want), r.why);
    return false;
}

/* The run stopped at an unexpected exit with reason want; then the next
 * guest on this CPU runs (check_next_guest_runs). */
static void expect_exit_then_next(struct cpu_outcome *o, struct vcpu *v, struct run_result r,
                                  const char *what, u32 want, const char *after)
{
    if (expect_end(o, v, r, what, RUN_UNEXPECTED_EXIT) && CHECK_EQ(o, r.exit_reason, want))
        check_next_guest_runs(o, after);
}

static void guest_ud2(void *arg)
{
    (void)arg;
    __asm__ volatile("ud2");
}

/* vmx/fault-triple-fault: with no exception exiting and an IDT of limit 0,
 * the guest's #UD cannot be delivered (#GP, then #DF, then shutdown): a
 * triple fault exits with reason 2 (SDM 3A 6.15 interrupt 8; 3C 26.2). */

static void check_triple_fault(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    (void)arg;

    if (!v)
        return;
    vmw(EXCEPTION_BITMAP, 0);
    vmw(GUEST_IDTR_LIMIT, 0);
    struct run_result r = vcpu_run(v, guest_ud2, NULL);
    expect_exit_then_next(o, v, r, "UD2 with an empty IDT", EXIT_REASON_TRIPLE_FAULT,
                          "a triple fault");
}

VMX_TEST_ALL_CPUS("vmx/fault-triple-fault", check_triple_fault);

/* vmx/fault-invalid-opcode: UD2 with every exception exiting: exit reason 0,
 * VM-exit interruption information valid, type 3 (hardware exception),
 * vector 6 (SDM 3C 28.2.2). */

static void check_invalid_opcode(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    (void)arg;

    if (!v)
        return;
    struct run_result r = vcpu_run(v, guest_ud2, NULL);
    /* the run's interruption information is the exit's: 0x80000306 for #UD */
    if (expect_end(o, v, r, "UD2", RUN_UNEXPECTED_EXIT) &&
        CHECK_EQ(o, r.exit_reason, EXIT_REASON_EXCEPTION_NMI) &&
        CHECK_EQ(o, r.intr_info, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD)) &&
        CHECK_EQ(o, (u32)vmr(VM_EXIT_INTR_INFO), r.intr_info))
        check_next_guest_runs(o, "an invalid opcode");
}

VMX_TEST_ALL_CPUS("vmx/fault-invalid-opcode", check_invalid_opcode);

/* vmx/fault-in-guest-handler: with no exception exiting the guest's UD2
 * goes through the guest's IDT, which is LHV's own (the test guests run
 * LHV's code): its handler finds itself in a guest and hands the report to
 * the host (HC_GUEST_EXCEPTION), which fails that guest and goes on,
 * instead of ending the whole run from inside the guest. */

static void check_fault_in_guest_handler(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    (void)arg;

    if (!v)
        return;
    vmw(EXCEPTION_BITMAP, 0);
    struct run_result r = vcpu_run(v, guest_ud2, NULL);
    /* the handler's report: vector 6 at the UD2, no error code; by its VMCALL */
    if (expect_end(o, v, r, "UD2 through LHV's IDT", RUN_GUEST_EXCEPTION) &&
        CHECK_EQ(o, r.vector, VEC_UD) && CHECK_EQ(o, r.error_code, 0) &&
        CHECK_EQ(o, r.exit_reason, EXIT_REASON_VMCALL))
        check_next_guest_runs(o, "an exception in the guest's handler");
}

VMX_TEST_ALL_CPUS("vmx/fault-in-guest-handler", check_fault_in_guest_handler);

/* vmx/fault-endless-loop: a guest that never gives the CPU back is stopped
 * by the VMX-preemption timer (pin-based control bit 6): it counts down
 * once every 2^X TSC ticks, X = IA32_VMX_MISC bits 4:0, and exits with
 * reason 52 at zero (SDM 3C 26.5.1, 25.6.1, A.6). With "save VMX-preemption
 * timer value" the count goes on across other exits (external interrupts)
 * instead of starting again. The loop is long but not endless (2^28 turns),
 * so a timer that never fires ends as a FAIL, not a hang. */

#define LOOP_TSC_TICKS (1u << 17) /* when the timer should fire: well into the loop */
#define LOOP_TURNS (1u << 28)

static void guest_loop(void *arg)
{
    unsigned long n = LOOP_TURNS;
    (void)arg;
    __asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(n));
}

static void check_endless_loop(struct cpu_outcome *o, void *arg)
{
    u32 rate = (u32)(vmx_caps.misc & 0x1f);
    struct vcpu *v;
    (void)arg;

    if (!(v = test_guest_with_control(o, CTL_PIN, PIN_PREEMPTION_TIMER, "VMX-preemption timer",
                                      NULL, NULL)))
        return;
    if (vmx_caps.exit.allowed1 & EXIT_SAVE_PREEMPTION_TIMER)
        vmw(VM_EXIT_CONTROLS, vmr(VM_EXIT_CONTROLS) | EXIT_SAVE_PREEMPTION_TIMER);
    u32 count = LOOP_TSC_TICKS >> rate;
    vmw(VMX_PREEMPTION_TIMER_VALUE, count ? count : 1);
    if (this_cpu()->index == 0)
        printf("vmx: preemption timer: 1 count per 2^%u TSC ticks, %u counts, save on exit %s\n",
               rate, count ? count : 1,
               (vmx_caps.exit.allowed1 & EXIT_SAVE_PREEMPTION_TIMER) ? "on" : "not offered");
    struct run_result r = vcpu_run(v, guest_loop, NULL);
    expect_exit_then_next(o, v, r, "the endless loop", EXIT_REASON_PREEMPTION_TIMER,
                          "the preemption timer stopped a loop");
}

VMX_TEST_ALL_CPUS("vmx/fault-endless-loop", check_endless_loop);

/* vmx/fault-entry-failure: guest state that VM entry refuses, checked after
 * the guest-state checks started (SDM 3C 27.3.1: exit reason 33 with bit
 * 31 set): CR0.PG set with CR0.PE clear (27.3.1.1), and a CS whose type is
 * a data segment (27.3.1.2: without unrestricted guest it must be code
 * type 9, 11, 13 or 15). An unusable CS (AR bit 16) alone is no such
 * failure: Bochs 2.7 enters the guest with it. And a control it refuses
 * earlier (27.2.1.1: CR3-target count above IA32_VMX_MISC bits 24:16),
 * VMfailValid with error 7. */

/* The entry fails as want: a VM-entry failure with basic exit reason
 * code, or VMfailValid with VM-instruction error code */
static bool entry_fails_with(struct cpu_outcome *o, const char *what, enum run_end want,
                             u32 code, void (*breakit)(void))
{
    struct vcpu *v = test_guest(o);
    if (!v)
        return false;
    breakit();
    struct run_result r = vcpu_run(v, guest_echo, NULL);
    if (!expect_end(o, v, r, what, want))
        return false;
    if (want == RUN_VMFAIL)
        return CHECK_EQ(o, r.vmfail, VMX_FAIL_VALID) && CHECK_EQ(o, r.vm_error, code);
    return CHECK_EQ(o, r.exit_reason, code);
}

static void break_cr0(void) { vmw(GUEST_CR0, vmr(GUEST_CR0) & ~(u64)CR0_PE); }
/* CS type 3: a read/write data segment (bit 3 clear), not code */
static void break_cs(void) { vmw(GUEST_CS_AR_BYTES, (vmr(GUEST_CS_AR_BYTES) & ~0xfull) | 0x3); }
static void break_cr3_targets(void)
{
    vmw(CR3_TARGET_COUNT, ((vmx_caps.misc >> 16) & 0x1ff) + 1);
}

static void check_entry_failure(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    /* error 7: VM entry with invalid control field(s) (SDM 3C 31.4) */
    if (entry_fails_with(o, "guest CR0.PE clear with PG set", RUN_ENTRY_FAILURE,
                         EXIT_REASON_INVALID_GUEST_STATE, break_cr0) &&
        entry_fails_with(o, "guest CS of data type 3", RUN_ENTRY_FAILURE,
                         EXIT_REASON_INVALID_GUEST_STATE, break_cs) &&
        entry_fails_with(o, "CR3-target count too large", RUN_VMFAIL, 7, break_cr3_targets))
        check_next_guest_runs(o, "refused VM entries");
}

VMX_TEST_ALL_CPUS("vmx/fault-entry-failure", check_entry_failure);
