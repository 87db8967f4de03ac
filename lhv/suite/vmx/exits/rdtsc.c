/* The TSC in the guest, on every CPU: TSC offsetting and RDTSC exiting. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

/* vmx/tsc-offsetting: with "use TSC offsetting" (processor-based bit 3)
 * and RDTSC exiting clear, the guest's RDTSC returns the TSC plus
 * TSC_OFFSET (SDM 3C 25.6.5, 26.3). The guest's value must lie between
 * the host's readings before and after the run, each plus the offset. */

#define TSC_BIG_OFFSET (1ull << 56)

static void guest_rdtsc(void *arg) { *(u64 *)arg = rdtsc(); }

static void check_tsc_offsetting(struct cpu_outcome *o, void *arg)
{
    u64 off = TSC_BIG_OFFSET + ((u64)this_cpu()->index << 40), got = 0;
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_USE_TSC_OFFSETTING, "use TSC offsetting") ||
        !require_control_clear(o, CTL_PROC, CPU_RDTSC_EXITING, "RDTSC exiting") ||
        !(v = test_guest(o)))
        return;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_USE_TSC_OFFSETTING);
    vmw(TSC_OFFSET, off);
    u64 t0 = rdtsc();
    if (!test_guest_run(o, v, guest_rdtsc, &got))
        return;
    u64 t1 = rdtsc();
    if (got < t0 + off || got > t1 + off)
        outcome_fail(o, "the guest's RDTSC read 0x%llx, expected host TSC + 0x%llx in "
                     "[0x%llx, 0x%llx]", got, off, t0 + off, t1 + off);
}

VMX_TEST_ALL_CPUS("vmx/tsc-offsetting", check_tsc_offsetting);

/* vmx/rdtsc-exiting: with RDTSC exiting (processor-based bit 12) the
 * guest's RDTSC exits with reason 16 (SDM 3C 26.1.3) and what the host
 * puts in EDX:EAX is what the guest reads. */

#define RDTSC_ANSWER 0x0123456789abcdefull

struct rdtsc_data {
    u32 exits;
};

static enum exit_action rdtsc_hook(struct vcpu *v, u32 reason)
{
    struct rdtsc_data *d = v->test_data;
    if (reason != EXIT_REASON_RDTSC)
        return EXIT_DEFAULT;
    u64 answer = RDTSC_ANSWER + this_cpu()->index;
    d->exits++;
    REG_AX(v) = (u32)answer;
    REG_DX(v) = (u32)(answer >> 32);
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void check_rdtsc_exiting(struct cpu_outcome *o, void *arg)
{
    struct rdtsc_data d = {0};
    u64 got = 0, answer = RDTSC_ANSWER + this_cpu()->index;
    struct vcpu *v;
    (void)arg;

    if (!(v = test_guest_with_control(o, CTL_PROC, CPU_RDTSC_EXITING, "RDTSC exiting",
                                      rdtsc_hook, &d)))
        return;
    if (!test_guest_run(o, v, guest_rdtsc, &got))
        return;
    if (d.exits != 1 || got != answer)
        outcome_fail(o, "%u RDTSC exits, the guest read 0x%llx; expected 1 exit and the host's "
                     "0x%llx", d.exits, got, answer);
}

VMX_TEST_ALL_CPUS("vmx/rdtsc-exiting", check_rdtsc_exiting);
