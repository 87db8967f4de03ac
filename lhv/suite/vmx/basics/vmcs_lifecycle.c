/* The VMCS and the instructions that manage it, on every CPU: launch state
 * and the current-VMCS pointer (SDM 3C 25.1, 25.11.3), the failures of
 * VMCLEAR, VMPTRLD, VMLAUNCH and VMRESUME with their error numbers (31.3,
 * 31.4). After every expected failure the CPU must still run a guest. */
#include "alloc.h"
#include "catch.h"
#include "cpu.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

/* Entering a guest directly (guest.c): the tests need the status of one
 * VMLAUNCH/VMRESUME, not the run loop's text. */
int vmx_enter(struct guest_regs *regs, int launched);
extern char guest_entry[];
static u32 *bad_region[LHV_MAX_CPUS];    /* a VMCS region with a wrong revision */

/* One VMLAUNCH (resume false) or VMRESUME of v set up to run guest_nothing;
 * returns the instruction's status. Should the entry succeed against
 * expectation, the guest ends with its HC_DONE VMCALL, whose exit comes
 * back here as VMX_OK. */
static int enter_once(struct vcpu *v, bool resume)
{
    unsigned long flags = irq_save();

    memset(&v->regs, 0, sizeof(v->regs));
    REG_BX(v) = (uintptr_t)guest_nothing;
    vmw(GUEST_RIP, (uintptr_t)guest_entry);
    vmw(GUEST_RSP, (uintptr_t)v->stack + PAGE_SIZE);
    vmw(GUEST_RFLAGS, 0x2);
    int st = vmx_enter(&v->regs, resume);
    if (st == VMX_OK)
        v->launched = true;
    irq_restore(flags);
    return st;
}

/* After an expected failure: the guest's VMCS loads again, is current, and
 * its guest runs. */
static bool recovers(struct cpu_outcome *o, struct vcpu *v, const char *after)
{
    u64 vmcs = (uintptr_t)v->vmcs, cur;
    char when[96];

    snprintf(when, sizeof(when), "after %s", after);
    if (!insn_succeeds(o, when, vmx_vmptrld(vmcs)))
        return false;
    if ((cur = vmx_current_vmcs()) != vmcs) {
        outcome_fail(o, "%s: VMPTRST gave 0x%llx, expected the VMCS 0x%llx", when, cur, vmcs);
        return false;
    }
    return test_guest_run_nop(o, v, when);
}

/* The physical-address width (CPUID 0x80000008 EAX[7:0], 36 without it). */
static u32 max_phys_bits(void)
{
    if (cpuid(0x80000000, 0).eax >= 0x80000008)
        return cpuid(0x80000008, 0).eax & 0xff;
    return 36;
}

/* A region that is not a VMCS of this CPU: revision id `revision`. */
static u64 region_with_revision(u32 revision)
{
    u32 i = this_cpu()->index;
    if (!bad_region[i])
        bad_region[i] = alloc_pages(1);
    bad_region[i][0] = revision;
    return (uintptr_t)bad_region[i];
}

/* Launch state (25.1): a clear VMCS launches, a launched one only resumes,
 * VMCLEAR makes it clear again and no longer current. VMPTRLD and VMCLEAR
 * refuse the VMXON region, bad addresses and foreign revisions (31.3). */
static void check_lifecycle(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    u64 vmcs, cur, value, vmxon = vmx_vmxon_pointer();
    u32 phys = max_phys_bits();
    u64 beyond = phys < 64 ? 1ull << phys : 0;
    (void)arg;

    if (!v)
        return;
    vmcs = (uintptr_t)v->vmcs;
    if ((cur = vmx_current_vmcs()) != vmcs) {
        outcome_fail(o, "VMPTRST gave 0x%llx after VMPTRLD of 0x%llx", cur, vmcs);
        return;
    }
    if (!test_guest_run_nop(o, v, "VMLAUNCH of a clear VMCS"))
        return;
    if (!insn_fails_with(o, "VMLAUNCH of a launched VMCS", enter_once(v, false), 4) ||
        !recovers(o, v, "VMLAUNCH of a launched VMCS"))
        return;

    if (!insn_succeeds(o, "VMCLEAR of the current VMCS", vmx_vmclear(vmcs)))
        return;
    if ((cur = vmx_current_vmcs()) != NO_VMCS) {
        outcome_fail(o, "VMPTRST gave 0x%llx after VMCLEAR of the current VMCS, expected "
                     "FFFFFFFF_FFFFFFFF", cur);
        return;
    }
    int st = vmr_safe(GUEST_RIP, &value);
    if (st != VMX_FAIL_INVALID) {
        outcome_fail(o, "VMREAD without a current VMCS: %s, expected VMfailInvalid",
                     vmx_status_name(st));
        return;
    }
    if (!insn_succeeds(o, "VMPTRLD after VMCLEAR", vmx_vmptrld(vmcs)))
        return;
    if (!insn_fails_with(o, "VMRESUME after VMCLEAR", enter_once(v, true), 5))
        return;
    v->launched = false;
    if (!test_guest_run_nop(o, v, "VMLAUNCH after VMCLEAR") || !test_guest_run_nop(o, v, "VMRESUME after relaunch"))
        return;

    if (!insn_fails_with(o, "VMPTRLD of the VMXON region", vmx_vmptrld(vmxon), 10) ||
        !recovers(o, v, "VMPTRLD of the VMXON region"))
        return;
    if (!insn_fails_with(o, "VMPTRLD of an address not 4 KiB aligned", vmx_vmptrld(vmcs + 0x80), 9) ||
        !recovers(o, v, "VMPTRLD of a misaligned address"))
        return;
    if (beyond && (!insn_fails_with(o, "VMPTRLD beyond MAXPHYADDR", vmx_vmptrld(beyond), 9) ||
                   !recovers(o, v, "VMPTRLD beyond MAXPHYADDR")))
        return;
    u32 wrong = (vmx_caps.revision + 1) & 0x7fffffff;
    if (!insn_fails_with(o, "VMPTRLD of a region with another revision id",
                    vmx_vmptrld(region_with_revision(wrong)), 11) ||
        !recovers(o, v, "VMPTRLD with a wrong revision id"))
        return;
    /* Bit 31 marks a shadow VMCS, which needs "VMCS shadowing" (25.2). */
    if (!vmx_has_proc2(CPU2_VMCS_SHADOWING) &&
        (!insn_fails_with(o, "VMPTRLD of a shadow VMCS without VMCS shadowing",
                     vmx_vmptrld(region_with_revision(vmx_caps.revision | 0x80000000u)), 11) ||
         !recovers(o, v, "VMPTRLD of a shadow VMCS")))
        return;

    if (!insn_fails_with(o, "VMCLEAR of the VMXON region", vmx_vmclear(vmxon), 3) ||
        !recovers(o, v, "VMCLEAR of the VMXON region"))
        return;
    if (!insn_fails_with(o, "VMCLEAR of an address not 4 KiB aligned", vmx_vmclear(vmcs + 0x80), 2) ||
        !recovers(o, v, "VMCLEAR of a misaligned address"))
        return;
    if (beyond && (!insn_fails_with(o, "VMCLEAR beyond MAXPHYADDR", vmx_vmclear(beyond), 2) ||
                   !recovers(o, v, "VMCLEAR beyond MAXPHYADDR")))
        return;
}

VMX_TEST_ALL_CPUS("vmx/vmcs-lifecycle", check_lifecycle);
