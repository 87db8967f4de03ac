/* The shutdown activity state (SDM 3C 25.4.2; IA32_VMX_MISC bit 7, A.6):
 * VM entry with activity state 2 leaves the guest shut down, running no
 * instruction; the VMX-preemption timer still counts there and its
 * expiry exits (reason 52) with the activity state saved as shutdown and
 * RIP where it was (26.5.1, 28.3.4). And VM entry refuses to inject an
 * event other than an NMI or a machine check into a shutdown guest: entry
 * failure on guest state, exit reason 33 with bit 31 (27.3.1.5, 27.8). */
#include "cpu.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

#define SD_TIMER 200 /* preemption-timer ticks */

struct sd_run {
    bool ran;             /* the guest ran an instruction of its own */
    u32 exits, activity;
    uintptr_t rip, entry_rip;
};

static void sd_guest(void *arg) { ((struct sd_run *)arg)->ran = true; }

static enum exit_action sd_hook(struct vcpu *v, u32 reason)
{
    struct sd_run *r = v->test_data;

    if (reason != EXIT_REASON_PREEMPTION_TIMER)
        return EXIT_DEFAULT;
    r->exits++;
    r->activity = (u32)vmr(GUEST_ACTIVITY_STATE);
    r->rip = (uintptr_t)vmr(GUEST_RIP);
    return vcpu_finish(v);
}

static void check_shutdown(struct cpu_outcome *o, void *arg)
{
    struct sd_run r = {0};
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PIN, PIN_PREEMPTION_TIMER, "activate VMX-preemption timer"))
        return;
    if (!(vmx_caps.misc & VMX_MISC_ACTIVITY_SHUTDOWN))
        return outcome_skip(o, "IA32_VMX_MISC bit 7 (shutdown activity state) is 0");
    if (!(v = test_guest(o)))
        return;
    vmw_or(PIN_BASED_VM_EXEC_CONTROL, PIN_PREEMPTION_TIMER);
    vmw(VMX_PREEMPTION_TIMER_VALUE, SD_TIMER);
    vmw(GUEST_ACTIVITY_STATE, ACTIVITY_SHUTDOWN);
    v->hook = sd_hook;
    v->test_data = &r;
    vcpu_set_call(v, sd_guest, &r);
    r.entry_rip = (uintptr_t)vmr(GUEST_RIP);
    v->exits = 0;
    if (vcpu_continue(v).end != RUN_DONE)
        return outcome_fail(o, "%s", v->why);
    if (!CHECK(o, !r.ran) || !CHECK_EQ(o, r.exits, 1) ||
        !CHECK_EQ(o, r.activity, ACTIVITY_SHUTDOWN) || !CHECK_EQ(o, r.rip, r.entry_rip))
        return;
    /* an external interrupt may not be injected into a shutdown guest */
    if (!(v = test_guest(o)))
        return;
    vmw(GUEST_ACTIVITY_STATE, ACTIVITY_SHUTDOWN);
    vmw(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO(INTR_TYPE_EXT_INTR, 0x40));
    struct run_result res = vcpu_run(v, sd_guest, &r);
    if (CHECK_EQ(o, res.end, RUN_ENTRY_FAILURE))
        CHECK_EQ(o, res.exit_reason, EXIT_REASON_INVALID_GUEST_STATE);
}
VMX_TEST_ALL_CPUS("vmx/activity-shutdown", check_shutdown);
