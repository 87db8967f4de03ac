/* The MSR bitmap keeps the guest's writes off MSRs that hold host state,
 * on every CPU. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "runtime.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/ept.h"
#include "vmx/msr_area.h"
#include "x86.h"

/* vmx/isolation-msrs: MSRs that hold the host's state are the host's: with
 * their write bits set in the MSR bitmap (SDM 3C 25.6.9), the guest's WRMSR
 * of IA32_EFER, IA32_LSTAR (amd64), IA32_APIC_BASE and IA32_FEATURE_CONTROL
 * exits with reason 32 (26.1.3) with the MSR in ECX and the value in
 * EDX:EAX, and the host drops it; their reads still pass (no exit) and
 * read the host's values. The guest writes EFER and LSTAR changed (SCE
 * toggled, LSTAR + 0x10), the others unchanged (a leak there would stop
 * the machine): afterwards the host's values are what they were. */

static const u32 host_msrs[] = {
    MSR_IA32_EFER,
#ifdef __x86_64__
    MSR_IA32_LSTAR,
#endif
    MSR_IA32_APIC_BASE, MSR_IA32_FEATURE_CONTROL};
#define HOST_MSRS ARRAY_SIZE(host_msrs)

struct msr_data {
    u64 read[HOST_MSRS];   /* what the guest read */
    u64 wrote[HOST_MSRS];  /* what it then tried to write */
    u32 exits;
};

static u64 msr_change(u32 msr, u64 value)
{
    if (msr == MSR_IA32_EFER)
        return value ^ 1; /* SCE */
#ifdef __x86_64__
    if (msr == MSR_IA32_LSTAR)
        return value + 0x10;
#endif
    return value;
}

static enum exit_action isolation_msr_hook(struct vcpu *v, u32 reason)
{
    struct msr_data *d = v->test_data;
    if (reason != EXIT_REASON_MSR_WRITE)
        return EXIT_DEFAULT;
    u32 msr = (u32)REG_CX(v);
    u64 value = ((u64)(u32)REG_DX(v) << 32) | (u32)REG_AX(v);
    if (d->exits >= HOST_MSRS || msr != host_msrs[d->exits] || value != d->wrote[d->exits]) {
        return vcpu_fail(v, "WRMSR exit %u: MSR 0x%x value 0x%llx, unexpected", d->exits, msr,
                         value);
    }
    d->exits++;
    vcpu_skip_instruction(); /* dropped */
    return EXIT_RESUME;
}

static void guest_msrs(void *arg)
{
    struct msr_data *d = arg;
    for (u32 i = 0; i < HOST_MSRS; i++) {
        d->read[i] = rdmsr(host_msrs[i]);
        d->wrote[i] = msr_change(host_msrs[i], d->read[i]);
        wrmsr(host_msrs[i], d->wrote[i]);
    }
}

static void check_msrs(struct cpu_outcome *o, void *arg)
{
    struct msr_data d;
    u64 host[HOST_MSRS];
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_USE_MSR_BITMAPS, "use MSR bitmaps") ||
        !(v = test_guest(o)))
        return;
    for (u32 i = 0; i < HOST_MSRS; i++) {
        host[i] = rdmsr(host_msrs[i]);
        msr_bitmap_set(v->msr_bitmap, host_msrs[i], MSR_BITMAP_WRITE, true);
    }
    memset(&d, 0, sizeof(d));
    v->hook = isolation_msr_hook;
    v->test_data = &d;
    bool ran = test_guest_run(o, v, guest_msrs, &d);
    memset(v->msr_bitmap, 0, PAGE_SIZE);
    for (u32 i = 0; i < HOST_MSRS; i++) {
        u64 now = rdmsr(host_msrs[i]);
        if (now != host[i]) {
            outcome_fail(o, "the host's MSR 0x%x is 0x%llx after the guest, was 0x%llx",
                         host_msrs[i], now, host[i]);
            wrmsr(host_msrs[i], host[i]);
            return;
        }
    }
    if (!ran)
        return;
    if (d.exits != HOST_MSRS) {
        outcome_fail(o, "%u WRMSR exits, expected %u", d.exits, (u32)HOST_MSRS);
        return;
    }
    for (u32 i = 0; i < HOST_MSRS; i++)
        if (d.read[i] != host[i]) {
            outcome_fail(o, "the guest read MSR 0x%x as 0x%llx, the host has 0x%llx",
                         host_msrs[i], d.read[i], host[i]);
            return;
        }
}

VMX_TEST_ALL_CPUS("vmx/isolation-msrs", check_msrs);
