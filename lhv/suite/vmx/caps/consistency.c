/* The VMX capability MSRs agree with each other and with the CPU (SDM 3D
 * appendix A): IA32_VMX_BASIC's fields (A.1); for each control field,
 * allowed-0 within allowed-1, the default1 bits fixed to 1 in the
 * non-TRUE MSR (A.2), and the TRUE MSR differing only by letting
 * default1 bits be 0, with the same allowed-1 (A.3-A.5); the secondary
 * controls' allowed-0 all 0 (A.3.3); CR0/CR4 fixed-0 within fixed-1, with
 * PE, NE, PG and VMXE fixed to 1 and this CPU's CR0/CR4 inside them (A.7,
 * A.8); EPT with a 4-level walk and a usable memory type, INVEPT and
 * INVVPID with a type each where offered (A.10). Then one VM entry per
 * control field with a bit allowed-1 says must be 0 set: VMfailValid 7
 * (26.2.1.1), so the MSRs say what entry checks. Every CPU reads its own
 * MSRs. */
#include "cpu.h"
#include "suite/vmx_test.h"
#include "vmx/ept.h"
#include "vmx/vmx.h"
#include "x86.h"

struct cc_ctl {
    u32 msr, true_msr, default1, field;
};

static const struct cc_ctl cc_ctls[] = {
    {MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS, VMX_PIN_DEFAULT1,
     PIN_BASED_VM_EXEC_CONTROL},
    {MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, VMX_PROC_DEFAULT1,
     CPU_BASED_VM_EXEC_CONTROL},
    {MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS, VMX_EXIT_DEFAULT1, VM_EXIT_CONTROLS},
    {MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS, VMX_ENTRY_DEFAULT1,
     VM_ENTRY_CONTROLS},
};

#define LO(v) ((u32)(v))
#define HI(v) ((u32)((v) >> 32))

static bool cc_basic(struct cpu_outcome *o, u64 basic)
{
    u32 size = (u32)(basic >> 32) & 0x1fff;
    u64 type = VMX_BASIC_MEMTYPE(basic);

    return CHECK_EQ(o, basic & (1ull << 31), 0) && CHECK(o, size > 0 && size <= 4096) &&
           CHECK_EQ(o, basic & VMX_BASIC_PHYS_32BIT, 0) && CHECK(o, type == 0 || type == 6);
}

static bool cc_controls(struct cpu_outcome *o, bool true_ctls)
{
    for (u32 i = 0; i < ARRAY_SIZE(cc_ctls); i++) {
        const struct cc_ctl *c = &cc_ctls[i];
        u64 std = rdmsr(c->msr), tru = true_ctls ? rdmsr(c->true_msr) : std;
        if (!CHECK_EQ(o, LO(std) & ~HI(std), 0) || !CHECK_EQ(o, LO(std) & c->default1, c->default1) ||
            !CHECK_EQ(o, LO(tru) & ~HI(tru), 0) || !CHECK_EQ(o, LO(tru) & ~LO(std), 0) ||
            !CHECK_EQ(o, LO(std) & ~c->default1 & ~LO(tru), 0) || !CHECK_EQ(o, HI(tru), HI(std)))
            return false;
    }
    if (!(HI(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS)) & CPU_ACTIVATE_SECONDARY_CONTROLS))
        return true;
    return CHECK_EQ(o, LO(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2)), 0);
}

static bool cc_fixed(struct cpu_outcome *o)
{
    u64 f0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0), f1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
    u64 g0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0), g1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
    u64 cr0 = read_cr0(), cr4 = read_cr4();

    return CHECK_EQ(o, f0 & ~f1, 0) && CHECK_EQ(o, f0 & (CR0_PE | CR0_NE | CR0_PG),
                                                CR0_PE | CR0_NE | CR0_PG) &&
           CHECK_EQ(o, g0 & ~g1, 0) && CHECK_EQ(o, g0 & CR4_VMXE, CR4_VMXE) &&
           CHECK_EQ(o, cr0 & f0, f0) && CHECK_EQ(o, cr0 & ~f1, 0) && CHECK_EQ(o, cr4 & g0, g0) &&
           CHECK_EQ(o, cr4 & ~g1, 0);
}

static bool cc_ept_vpid(struct cpu_outcome *o)
{
    u64 proc2 = vmx_has_proc2(CPU2_ENABLE_EPT) || vmx_has_proc2(CPU2_ENABLE_VPID);
    u64 cap = proc2 ? rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) : 0;

    if (vmx_has_proc2(CPU2_ENABLE_EPT) &&
        (!CHECK(o, cap & EPT_CAP_WALK_4) || !CHECK(o, cap & (EPT_CAP_UC | EPT_CAP_WB))))
        return false;
    if ((cap & EPT_CAP_INVEPT) && !CHECK(o, cap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL)))
        return false;
    return !(cap & VPID_CAP_INVVPID) ||
           CHECK(o, cap & (VPID_CAP_INDIVIDUAL | VPID_CAP_SINGLE | VPID_CAP_ALL |
                           VPID_CAP_SINGLE_GLOBALS));
}

/* A control bit allowed-1 refuses makes VM entry fail: VMfailValid 7 */
static void cc_refused_bits(struct cpu_outcome *o, bool true_ctls)
{
    for (u32 i = 0; i < ARRAY_SIZE(cc_ctls); i++) {
        u32 refused = ~HI(rdmsr(true_ctls ? cc_ctls[i].true_msr : cc_ctls[i].msr));
        struct vcpu *v;
        if (!refused)
            continue;
        if (!(v = test_guest(o)))
            return;
        vmw(cc_ctls[i].field, vmr(cc_ctls[i].field) | (refused & -refused));
        struct run_result r = vcpu_run(v, guest_nothing, NULL);
        if (!CHECK_EQ(o, r.end, RUN_VMFAIL) || !CHECK_EQ(o, r.vm_error, 7))
            return;
    }
}

static void check_caps(struct cpu_outcome *o, void *arg)
{
    u64 basic = rdmsr(MSR_IA32_VMX_BASIC);
    bool true_ctls = basic & VMX_BASIC_TRUE_CTLS;
    (void)arg;

    if (vmx_unavailable())
        return outcome_skip(o, "%s", vmx_unavailable());
    if (cc_basic(o, basic) && cc_controls(o, true_ctls) && cc_fixed(o) && cc_ept_vpid(o))
        cc_refused_bits(o, true_ctls);
}
VMX_TEST_ALL_CPUS("vmx/capability-consistency", check_caps);
