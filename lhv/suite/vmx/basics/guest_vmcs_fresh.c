/* vmx/guest-vmcs-fresh: every test's guest starts from a new VMCS, not
 * from the fields the test before it wrote. The set-up (vcpu_init) writes
 * the fields a guest needs; the rest must read 0, as in a region never
 * used: before, a second iteration of the suite handed vmx/fuzz-entry a
 * base with 26 fields that later tests had left (an EPTP, PDPTEs, a VPID,
 * the entry's error code), and its trials changed. */
#include "cpu.h"
#include "suite/vmx_test.h"

/* Fields vcpu_init does not write, of three widths, and what a test
 * leaves in them here */
static const struct {
    u32 field;
    u64 mark;
} fresh_marks[] = {
    {VM_ENTRY_EXCEPTION_ERROR_CODE, 0xb}, /* 32-bit */
    {VM_ENTRY_INSTRUCTION_LEN, 2},        /* 32-bit */
    {CR3_TARGET_VALUE0, 0x7c3000},        /* natural width */
};

static void check_guest_vmcs_fresh(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    (void)arg;

    if (!v)
        return;
    for (u32 i = 0; i < ARRAY_SIZE(fresh_marks); i++)
        vmw(fresh_marks[i].field, fresh_marks[i].mark);
    if (!test_guest_run_nop(o, v, "with the marks written") || !(v = test_guest(o)))
        return;
    for (u32 i = 0; i < ARRAY_SIZE(fresh_marks); i++) {
        u64 left = vmr(fresh_marks[i].field);
        if (left) {
            outcome_fail(o, "the next test's guest reads 0x%llx in field 0x%x, written by the "
                         "test before it (expected 0: a new VMCS)", left, fresh_marks[i].field);
            return;
        }
    }
    test_guest_run_nop(o, v, "in the new VMCS");
}
VMX_TEST_ALL_CPUS("vmx/guest-vmcs-fresh", check_guest_vmcs_fresh);
