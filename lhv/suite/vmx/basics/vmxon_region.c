/* vmx/vmxon-region-checks: VMXON outside VMX operation checks its operand
 * and CR0 (SDM 3C 31.3 VMXON, 24.7, 24.8, A.1): a VMXON pointer not 4 KiB
 * aligned, one beyond MAXPHYADDR, a region whose revision identifier
 * (bits 30:0) is not IA32_VMX_BASIC's, and one with bit 31 (the
 * shadow-VMCS indicator) set each give VMfailInvalid and leave the CPU
 * outside VMX operation; CR0.NE clear (a bit IA32_VMX_CR0_FIXED0 fixes to
 * 1) raises #GP(0). Then VMXON with LHV's region works and guests run. */
#include "alloc.h"
#include "catch.h"
#include "cpu.h"
#include "desc.h"
#include "suite/vmx_test.h"
#include "x86.h"

static int vr_vmxon(u64 pa)
{
    u8 cf, zf;
    __asm__ volatile("vmxon %2\n\tsetc %0\n\tsetz %1"
                     : "=qm"(cf), "=qm"(zf) : "m"(pa) : "cc", "memory");
    return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK;
}

static void vr_vmxon_probe(void *arg) { (void)vr_vmxon(*(u64 *)arg); }

static u32 vr_maxphyaddr(void)
{
    if (cpuid(0x80000000u, 0).eax >= 0x80000008u)
        return cpuid(0x80000008u, 0).eax & 0xff;
    return 36;
}

/* VMXON of pa must VMfailInvalid; a success is undone at once */
static bool vr_refused(struct cpu_outcome *o, u64 pa, const char *what)
{
    int st = vr_vmxon(pa);
    if (st == VMX_FAIL_INVALID)
        return true;
    if (st == VMX_OK)
        __asm__ volatile("vmxoff" : : : "cc", "memory");
    outcome_fail(o, "VMXON of %s (0x%llx): status %d, expected VMfailInvalid", what, pa, st);
    return false;
}

static void vr_checks(struct cpu_outcome *o, u32 *bad)
{
    u64 good = vmx_vmxon_pointer();
    unsigned long cr0 = read_cr0();
    struct caught c;

    bad[0] = vmx_caps.revision + 1;
    if (!vr_refused(o, good + 0x800, "a pointer not 4 KiB aligned") ||
        !vr_refused(o, 1ull << vr_maxphyaddr(), "a pointer at MAXPHYADDR") ||
        !vr_refused(o, (uintptr_t)bad, "a region of another revision"))
        return;
    bad[0] = vmx_caps.revision | VMCS_SHADOW_INDICATOR;
    if (!vr_refused(o, (uintptr_t)bad, "a region with bit 31 set"))
        return;
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0 & ~(unsigned long)CR0_NE));
    int vector = catch_exception(vr_vmxon_probe, &good, &c);
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
    if (vector == NO_EXCEPTION) /* it entered VMX operation: leave again */
        __asm__ volatile("vmxoff" : : : "cc", "memory");
    if (CHECK_EQ(o, vector, VEC_GP))
        CHECK_EQ(o, c.error_code, 0);
}

static void check_vmxon_region(struct cpu_outcome *o, void *arg)
{
    static u32 *bad_regions[LHV_MAX_CPUS];
    u32 **bad = &bad_regions[this_cpu()->index];
    struct vcpu *v = test_guest(o);
    (void)arg;

    if (!v)
        return;
    if (!*bad)
        *bad = alloc_pages(1);
    if (!CHECK_EQ(o, vmx_vmclear((uintptr_t)v->vmcs), VMX_OK))
        return;
    vmx_disable_cpu();
    __asm__ volatile("mov %0, %%cr4" : : "r"(read_cr4() | CR4_VMXE));
    vr_checks(o, *bad);
    const char *why = vmx_enable_cpu();
    if (why)
        return outcome_fail(o, "VMXON of LHV's region afterwards: %s", why);
    if ((v = test_guest(o)))
        test_guest_run(o, v, guest_nothing, NULL);
}
VMX_TEST_ALL_CPUS("vmx/vmxon-region-checks", check_vmxon_region);
