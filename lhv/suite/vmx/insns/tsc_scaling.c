/* TSC scaling (SDM 3C 25.6.2 secondary processor-based control bit 25;
 * 25.6.5 TSC multiplier; 26.3 RDTSC): with "use TSC offsetting" (primary
 * bit 3) and "use TSC scaling" 1, RDTSC in the guest returns the host TSC
 * times the multiplier (a fixed-point number with 48 fractional bits),
 * plus the TSC offset. The guest's reading must lie between the host's
 * readings before and after the run, scaled and offset: multiplier 2.0
 * and 0.5, offset 2^40. Without the scaling control the multiplier is
 * ignored (offset only). */
#include "cpu.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

#define TS_OFFSET (1ull << 40)

static void ts_guest(void *arg) { *(u64 *)arg = rdtsc(); }

/* host TSC * 2^k >> 48 (the multipliers here are powers of two: no
 * 128-bit product on i386) */
static u64 ts_scale(u64 tsc, int k)
{
    return k >= 48 ? tsc << (k - 48) : tsc >> (48 - k);
}

/* One run; the guest's RDTSC must lie in [scale(before), scale(after)] +
 * offset */
static void ts_run(struct cpu_outcome *o, bool scaling, int k)
{
    struct vcpu *v = test_guest(o);
    u64 guest = 0, before, after;

    if (!v)
        return;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_USE_TSC_OFFSETTING | CPU_ACTIVATE_SECONDARY_CONTROLS);
    vmw(SECONDARY_VM_EXEC_CONTROL, scaling ? CPU2_USE_TSC_SCALING : 0);
    vmw(TSC_OFFSET, TS_OFFSET);
    vmw(TSC_MULTIPLIER, 1ull << k);
    before = rdtsc();
    if (!test_guest_run(o, v, ts_guest, &guest))
        return;
    after = rdtsc();
    if (!scaling)
        k = 48;
    if (!CHECK(o, guest >= ts_scale(before, k) + TS_OFFSET))
        return;
    CHECK(o, guest <= ts_scale(after, k) + TS_OFFSET);
}

static void check_tsc_scaling(struct cpu_outcome *o, void *arg)
{
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_USE_TSC_OFFSETTING | CPU_ACTIVATE_SECONDARY_CONTROLS,
                         "use TSC offsetting, secondary controls") ||
        !require_control_clear(o, CTL_PROC, CPU_RDTSC_EXITING, "RDTSC exiting") ||
        !require_control(o, CTL_PROC2, CPU2_USE_TSC_SCALING, "use TSC scaling"))
        return;
    ts_run(o, true, 49); /* 2.0 */
    if (!o->failed)
        ts_run(o, true, 47); /* 0.5 */
    if (!o->failed)
        ts_run(o, false, 49);
}
VMX_TEST_ALL_CPUS("vmx/tsc-scaling", check_tsc_scaling);
