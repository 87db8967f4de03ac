/* VMX capability discovery (SDM 3D appendix A): never assume a feature,
 * read it. Controls use the TRUE MSRs when IA32_VMX_BASIC bit 55 says they
 * exist (they may allow clearing default-1 bits). */
#include "catch.h"
#include "console.h"
#include "vmx.h"
#include "x86.h"

struct vmx_caps vmx_caps;

struct msr_read {
    u32 msr;
    u64 value;
};

static void do_rdmsr(void *arg)
{
    struct msr_read *m = arg;
    m->value = rdmsr(m->msr);
}

/* RDMSR that returns false instead of faulting (models without an MSR
 * raise #GP: core2 lacks 0x48c, most lack 0x491). */
static bool read_msr_safe(u32 msr, u64 *value)
{
    struct msr_read m = {msr, 0};
    struct caught c;
    if (catch_exception(do_rdmsr, &m, &c) != NO_EXCEPTION)
        return false;
    *value = m.value;
    return true;
}

static struct vmx_ctl_caps ctl_caps(u32 msr, u32 true_msr)
{
    u64 v = rdmsr(vmx_caps.true_ctls ? true_msr : msr);
    return (struct vmx_ctl_caps){(u32)v, (u32)(v >> 32)};
}

bool vmx_adjust(const struct vmx_ctl_caps *c, u32 wanted, u32 *value, u32 *missing)
{
    *missing = wanted & ~c->allowed1;
    *value = (wanted | c->allowed0) & c->allowed1;
    return *missing == 0;
}

bool vmx_has_proc2(u32 bits)
{
    return (vmx_caps.proc.allowed1 & CPU_ACTIVATE_SECONDARY_CONTROLS) &&
           (vmx_caps.proc2.allowed1 & bits) == bits;
}

static void print_caps(void)
{
    const struct vmx_caps *c = &vmx_caps;
    printf("vmx: basic 0x%016llx (revision 0x%x, %u-byte regions, %s controls) misc 0x%016llx\n",
           c->basic, c->revision, c->region_size, c->true_ctls ? "TRUE" : "default", c->misc);
    printf("vmx: %-6s allowed0 0x%08x allowed1 0x%08x\n", "pin", c->pin.allowed0, c->pin.allowed1);
    printf("vmx: %-6s allowed0 0x%08x allowed1 0x%08x\n", "proc", c->proc.allowed0,
           c->proc.allowed1);
    printf("vmx: %-6s allowed0 0x%08x allowed1 0x%08x\n", "proc2", c->proc2.allowed0,
           c->proc2.allowed1);
    printf("vmx: %-6s allowed0 0x%08x allowed1 0x%08x\n", "exit", c->exit.allowed0,
           c->exit.allowed1);
    printf("vmx: %-6s allowed0 0x%08x allowed1 0x%08x\n", "entry", c->entry.allowed0,
           c->entry.allowed1);
    printf("vmx: cr0 fixed0 0x%llx fixed1 0x%llx, cr4 fixed0 0x%llx fixed1 0x%llx\n",
           c->cr0_fixed0, c->cr0_fixed1, c->cr4_fixed0, c->cr4_fixed1);
    printf("vmx: ept/vpid 0x%016llx vmfunc 0x%llx\n", c->ept_vpid, c->vmfunc);
}

void vmx_caps_init(void)
{
    struct vmx_caps *c = &vmx_caps;

    if (!(cpuid(1, 0).ecx & CPUID1_ECX_VMX)) {
        c->absent = "CPU has no VMX (CPUID.01H:ECX bit 5)";
        return;
    }
    c->present = true;
    c->basic = rdmsr(MSR_IA32_VMX_BASIC);
    c->revision = (u32)c->basic & 0x7fffffff;
    c->region_size = (u32)(c->basic >> 32) & 0x1fff;
    c->true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;
    c->pin = ctl_caps(MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS);
    c->proc = ctl_caps(MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
    c->exit = ctl_caps(MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS);
    c->entry = ctl_caps(MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS);
    if (c->proc.allowed1 & CPU_ACTIVATE_SECONDARY_CONTROLS) {
        u64 v = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
        c->proc2 = (struct vmx_ctl_caps){(u32)v, (u32)(v >> 32)};
    }
    c->misc = rdmsr(MSR_IA32_VMX_MISC);
    c->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
    c->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
    c->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
    c->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
    if (vmx_has_proc2(CPU2_ENABLE_EPT) || vmx_has_proc2(CPU2_ENABLE_VPID))
        read_msr_safe(MSR_IA32_VMX_EPT_VPID_CAP, &c->ept_vpid);
    if (vmx_has_proc2(CPU2_ENABLE_VMFUNC))
        read_msr_safe(MSR_IA32_VMX_VMFUNC, &c->vmfunc);
    print_caps();
}
