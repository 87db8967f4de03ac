/* vmx/entry-canonical-la57: on a processor with 5-level paging
 * (CPUID.(EAX=7,ECX=0):ECX[16]) VM entry checks the linear addresses of
 * the guest- and host-state areas (SDM 3C 27.2.2, 27.2.3, 27.3.1.1,
 * 27.3.1.2) at the processor's linear-address width, 57 bits, whatever
 * CR4.LA57 says (Intel's 5-level paging specification; LHV's host runs
 * 4-level paging): an address with bit 50 set, canonical at 57 bits and
 * not at 48, in one field at a time must enter (the guest reaches its
 * VMCALL), and the exit loads the host's into the MSR the field names
 * (28.5.1). kvm-unit-tests' vmx_canonical_test checks both widths. */
#include "cpu.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

#ifdef __x86_64__
#define LA57_ADDR (1ull << 50)

static const u32 la57_guest[] = {
    GUEST_FS_BASE, GUEST_GS_BASE, GUEST_TR_BASE, GUEST_GDTR_BASE, GUEST_IDTR_BASE,
    GUEST_SYSENTER_ESP, GUEST_SYSENTER_EIP,
};
/* the host's that an exit may load here (not GS: LHV's per-CPU pointer,
 * nor the descriptor tables LHV runs on) and the MSR each goes into */
static const u32 la57_host[][2] = {
    {HOST_FS_BASE, MSR_IA32_FS_BASE},
    {HOST_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_ESP},
    {HOST_IA32_SYSENTER_EIP, MSR_IA32_SYSENTER_EIP},
};

/* One field at LA57_ADDR: the run's end, and for a host field the MSR's
 * value after the exit (the MSR put back) */
static struct run_result la57_run(struct vcpu *v, u32 field, u32 msr, u64 *loaded)
{
    u64 old_field = vmr(field), old_msr = msr ? rdmsr(msr) : 0;
    vmw(field, LA57_ADDR);
    struct run_result r = vcpu_run(v, guest_nothing, NULL);
    if (msr) {
        *loaded = rdmsr(msr);
        wrmsr(msr, old_msr);
    }
    vmw(field, old_field);
    return r;
}

/* Bochs checks these addresses at its running paging's width
 * (IsCanonical, cpu/cpu.h: linaddr_width from CR4.LA57): 48 bits under
 * LHV's 4-level host, so each field fails (docs/l0-deviations.md) */
static bool la57_bochs(struct cpu_outcome *o, struct run_result r, u32 field)
{
    if (!l0_bochs_deviates(BOCHS_2_7_AND_3_0) ||
        !(r.end == RUN_VMFAIL || (r.end == RUN_ENTRY_FAILURE && r.exit_reason == 33)))
        return false;
    outcome_xfail(o, "%s: checked at 48 bits: field 0x%x = 0x%llx, canonical at 57, refused (%s)",
                  l0_bochs_names(BOCHS_2_7_AND_3_0), field, LA57_ADDR, r.why);
    return true;
}

static void check_canonical_la57(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    if (!((cpuid(7, 0).ecx >> 16) & 1)) /* LA57 */
        return outcome_skip(o, "no 5-level paging (CPUID.(EAX=7,ECX=0):ECX[16]): the width is 48");
    struct vcpu *v = test_guest(o);
    if (!v)
        return;
    u64 loaded = 0;
    for (u32 i = 0; i < ARRAY_SIZE(la57_guest); i++) {
        struct run_result r = la57_run(v, la57_guest[i], 0, NULL);
        if (r.end != RUN_DONE)
            return la57_bochs(o, r, la57_guest[i])
                       ? (void)0
                       : outcome_fail(o, "guest field 0x%x = 0x%llx: %s", la57_guest[i],
                                      LA57_ADDR, r.why);
    }
    for (u32 i = 0; i < ARRAY_SIZE(la57_host); i++) {
        struct run_result r = la57_run(v, la57_host[i][0], la57_host[i][1], &loaded);
        if (r.end != RUN_DONE)
            return la57_bochs(o, r, la57_host[i][0])
                       ? (void)0
                       : outcome_fail(o, "host field 0x%x = 0x%llx: %s", la57_host[i][0],
                                      LA57_ADDR, r.why);
        if (loaded != LA57_ADDR)
            return outcome_fail(o, "host field 0x%x = 0x%llx: the exit loaded MSR 0x%x with 0x%llx",
                                la57_host[i][0], LA57_ADDR, la57_host[i][1], loaded);
    }
}
#else
static void check_canonical_la57(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    outcome_skip(o, "a 32-bit host cannot write bits 63:32 of natural-width fields (25.11.2)");
}
#endif
VMX_TEST_ALL_CPUS("vmx/entry-canonical-la57", check_canonical_la57);
