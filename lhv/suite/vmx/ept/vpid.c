/* VPID and INVVPID, on every CPU (SDM 3C chapter 29, 31.3). */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "lapic.h"
#include "string.h"
#include "x86.h"
#include "ept_guest.h"

/* vmx/vpid-invvpid */

static bool echo_run(struct cpu_outcome *o, struct vcpu *v, const char *when)
{
    struct echo e = {0x1000 + this_cpu()->index, 0x20000, 0};
    if (!test_guest_run(o, v, guest_echo, &e))
        return false;
    if (e.result != e.a + e.b) {
        outcome_fail(o, "%s: the guest's hypercall returned 0x%lx, expected 0x%lx", when, e.result,
                     e.a + e.b);
        return false;
    }
    return true;
}

static const char *const invvpid_names[] = {"individual-address", "single-context", "all-context",
                                            "single-context-retaining-globals", "undefined type 4"};

/* INVVPID(type, vpid, linear) should succeed (ok) or fail with VMfailValid
 * error 28 */
static bool expect_invvpid(struct cpu_outcome *o, unsigned long type, u16 vpid, u64 linear, bool ok,
                           const char *why)
{
    int st = invvpid(type, vpid, linear);
    u32 err = st == VMX_FAIL_VALID ? (u32)vmr(VM_INSTRUCTION_ERROR) : 0;

    if (ok && st == VMX_OK)
        return true;
    if (!ok && st == VMX_FAIL_VALID && err == VMX_ERROR_INVALID_INV_OPERAND)
        return true;
    char got[80];
    if (st == VMX_OK)
        snprintf(got, sizeof(got), "succeeded");
    else if (st == VMX_FAIL_VALID)
        snprintf(got, sizeof(got), "VMfailValid, error %u (%s)", err, vmx_error_text(err));
    else
        snprintf(got, sizeof(got), "VMfailInvalid");
    outcome_fail(o, "INVVPID %s, VPID %u, address 0x%llx (%s): %s, expected %s",
                 invvpid_names[type], vpid, linear, why, got,
                 ok ? "success" : "VMfailValid, error 28");
    return false;
}

static void check_vpid(struct cpu_outcome *o, void *arg)
{
    const char *why = vpid_unsupported();
    u16 vpid = (u16)(1 + this_cpu()->index);
    u64 addr = (uintptr_t)&cpu_ept[this_cpu()->index];
    struct vcpu *v;
    (void)arg;

    if (why) {
        outcome_skip(o, "%s", why);
        return;
    }
    v = ept_guest(o, NULL, vpid, NULL, NULL);
    if (!v || !echo_run(o, v, "with VPID"))
        return;
    if (!(vmr(SECONDARY_VM_EXEC_CONTROL) & CPU2_ENABLE_VPID) || vmr(VIRTUAL_PROCESSOR_ID) != vpid) {
        outcome_fail(o, "VPID not on: secondary controls 0x%llx, VPID %llu",
                     vmr(SECONDARY_VM_EXEC_CONTROL), vmr(VIRTUAL_PROCESSOR_ID));
        return;
    }
    /* Each type as IA32_VMX_EPT_VPID_CAP bits 43:40 say (31.3, INVVPID) */
    for (u32 t = INVVPID_ADDRESS; t <= INVVPID_SINGLE_GLOBALS; t++) {
        bool supported = vmx_caps.ept_vpid & (VPID_CAP_INDIVIDUAL << t);
        if (!expect_invvpid(o, t, vpid, addr, supported, supported ? "supported" : "not supported"))
            return;
    }
    if (!expect_invvpid(o, 4, vpid, addr, false, "no such type"))
        return;
    if ((vmx_caps.ept_vpid & VPID_CAP_SINGLE) &&
        !expect_invvpid(o, INVVPID_SINGLE, 0, 0, false, "VPID 0"))
        return;
    if ((vmx_caps.ept_vpid & VPID_CAP_INDIVIDUAL) &&
        !expect_invvpid(o, INVVPID_ADDRESS, 0, addr, false, "VPID 0"))
        return;
#ifdef __x86_64__
    if ((vmx_caps.ept_vpid & VPID_CAP_INDIVIDUAL) &&
        !expect_invvpid(o, INVVPID_ADDRESS, vpid, 0x0000800000000000ull, false, "non-canonical"))
        return;
#endif
    echo_run(o, v, "after INVVPID");
}

VMX_TEST_ALL_CPUS("vmx/vpid-invvpid", check_vpid);
