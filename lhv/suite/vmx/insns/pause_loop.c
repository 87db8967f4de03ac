/* PAUSE-loop exiting (SDM 3C 25.6.2 secondary processor-based control bit
 * 10; 25.6.13 PLE_Gap and PLE_Window; 26.1.3): at CPL 0, a PAUSE more than
 * PLE_Gap TSC ticks after the previous one starts a new loop; a PAUSE
 * within the gap exits (reason 40) once more than PLE_Window ticks passed
 * since the loop's first PAUSE. The guest runs up to PL_PAUSES PAUSEs
 * back to back, counting them. Gap 0: every PAUSE starts a loop, no exit.
 * Gap 2^20, window 256: an exit comes, at a PAUSE (RIP at it, fault-like),
 * and not at the first. The host then clears the control and the loop
 * ends. */
#include "cpu.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

#define PL_PAUSES 20000

struct pl_run {
    volatile u32 count;       /* PAUSEs the guest completed */
    u32 exits, count_at_exit;
    uintptr_t rip, pause_at;  /* exit RIP and where the guest's PAUSE is */
};

static void pl_guest(void *arg)
{
    struct pl_run *r = arg;

    for (u32 i = 0; i < PL_PAUSES; i++) {
#ifdef __x86_64__
        __asm__ volatile("lea 1f(%%rip), %0\n1: pause" : "=r"(r->pause_at) : : "memory");
#else
        __asm__ volatile("mov $1f, %0\n1: pause" : "=r"(r->pause_at) : : "memory");
#endif
        r->count++;
    }
}

static enum exit_action pl_hook(struct vcpu *v, u32 reason)
{
    struct pl_run *r = v->test_data;

    if (reason != EXIT_REASON_PAUSE)
        return EXIT_DEFAULT;
    if (!r->exits++) {
        r->count_at_exit = r->count;
        r->rip = (uintptr_t)vmr(GUEST_RIP);
    }
    vmw(SECONDARY_VM_EXEC_CONTROL,
        vmr(SECONDARY_VM_EXEC_CONTROL) & ~(u64)CPU2_PAUSE_LOOP_EXITING);
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static bool pl_run(struct cpu_outcome *o, struct pl_run *r, u32 gap, u32 window)
{
    struct vcpu *v = test_guest(o);

    *r = (struct pl_run){0};
    if (!v)
        return false;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS);
    vmw(SECONDARY_VM_EXEC_CONTROL, CPU2_PAUSE_LOOP_EXITING);
    vmw(PLE_GAP, gap);
    vmw(PLE_WINDOW, window);
    v->hook = pl_hook;
    v->test_data = r;
    return test_guest_run(o, v, pl_guest, r);
}

static void check_pause_loop(struct cpu_outcome *o, void *arg)
{
    struct pl_run r;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_ACTIVATE_SECONDARY_CONTROLS, "secondary controls") ||
        !require_control_clear(o, CTL_PROC, CPU_PAUSE_EXITING, "PAUSE exiting") ||
        !require_control(o, CTL_PROC2, CPU2_PAUSE_LOOP_EXITING, "PAUSE-loop exiting"))
        return;
    if (!pl_run(o, &r, 0, 0) || !CHECK_EQ(o, r.exits, 0) || !CHECK_EQ(o, r.count, PL_PAUSES))
        return;
    if (pl_run(o, &r, 1u << 20, 256) && CHECK_EQ(o, r.exits, 1) && CHECK(o, r.count_at_exit >= 1) &&
        CHECK(o, r.count_at_exit < PL_PAUSES) && CHECK_EQ(o, r.count, PL_PAUSES))
        CHECK_EQ(o, r.rip, r.pause_at);
}
VMX_TEST_ALL_CPUS("vmx/pause-loop-exiting", check_pause_loop);
