/* vmx/vmclear-writes-vmcs: VMCLEAR writes the VMCS data the CPU may keep
 * inside it back to the VMCS region in memory and makes its launch state
 * clear (SDM 3C 31.3 VMCLEAR, 25.11.1): a copy of the region made after
 * VMCLEAR, made current with VMPTRLD, reads back the fields written to
 * the original, is clear (VMRESUME fails with error 5) and launches. */
#include "alloc.h"
#include "cpu.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "x86.h"

#define VC_RIP_MARK 0x7c1e0000ul /* written to the original's fields */

static void check_vmclear_copy(struct cpu_outcome *o, void *arg)
{
    static void *copies[LHV_MAX_CPUS];
    void **copy = &copies[this_cpu()->index];
    struct vcpu *v = test_guest(o);
    u64 rip = 0, exits = 0;
    (void)arg;

    if (!v)
        return;
    if (!*copy)
        *copy = alloc_pages(1);
    /* A launched VMCS with marks in a natural-width, a 64-bit and a
     * 32-bit field */
    if (!test_guest_run(o, v, guest_nothing, NULL))
        return;
    vmw(GUEST_RIP, VC_RIP_MARK);
    vmw(GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
    exits = vmr(VM_EXIT_REASON);
    if (!CHECK_EQ(o, vmx_vmclear((uintptr_t)v->vmcs), VMX_OK))
        return;
    memcpy(*copy, v->vmcs, PAGE_SIZE);
    if (!CHECK_EQ(o, vmx_vmptrld((uintptr_t)*copy), VMX_OK))
        return;
    rip = vmr(GUEST_RIP);
    bool same = CHECK_EQ(o, rip, VC_RIP_MARK) &&
                CHECK_EQ(o, vmr(GUEST_ACTIVITY_STATE), ACTIVITY_HLT) &&
                CHECK_EQ(o, vmr(VM_EXIT_REASON), exits) &&
                CHECK_EQ(o, vmr(VMCS_LINK_POINTER), ~0ull);
    /* Clear: VMRESUME fails with error 5, the copy launches and runs */
    vmw(GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
    v->launched = true;
    struct run_result r = vcpu_run(v, guest_nothing, NULL);
    if (same && CHECK_EQ(o, r.end, RUN_VMFAIL) && CHECK_EQ(o, r.vm_error, VMX_ERROR_VMRESUME_NON_LAUNCHED)) {
        v->launched = false;
        test_guest_run(o, v, guest_nothing, NULL);
    }
    vmx_vmclear((uintptr_t)*copy);
}
VMX_TEST_ALL_CPUS("vmx/vmclear-writes-vmcs", check_vmclear_copy);
