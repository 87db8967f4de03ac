/* vmx/ept-memory-type: the memory types EPT takes (SDM 3C 29.3.7, 29.3.3.1,
 * 25.6.11). A leaf's type (bits 5:3) may be UC, WC, WT, WP or WB, with or
 * without "ignore PAT" (bit 6: the guest's PAT is not combined with it);
 * 2, 3 and 7 are reserved and make an EPT misconfiguration. The EPT
 * pointer's type (the paging structures' own) may be only what
 * IA32_VMX_EPT_VPID_CAP bits 8 and 14 allow (UC, WB); any other fails VM
 * entry with error 7. What type an access finally gets is not visible to
 * software: checked are which types the processor takes. */
#include "ept_suite.h"

#define MT_GPA (EPT_WINDOW + 0x4c4)

static bool mt_reserved(u32 t) { return t == 2 || t == 3 || t == 7; }

static bool mt_leaf(struct cpu_outcome *o, struct ept_cpu *c, u32 t, u64 ipat)
{
    u32 want = 0x3e770000 + t * 2 + !!ipat;
    *(u32 *)(c->page[0] + (MT_GPA & 0xfff)) = want;
    ept_map_4k(&c->map, MT_GPA, (uintptr_t)c->page[0], EPT_RWX, MTRR_TYPE_WB);
    struct ept_exits x = {.e = &c->map, .entry = ept_leaf(&c->map, MT_GPA)};
    x.restore = *x.entry;
    *x.entry = (*x.entry & ~EPT_TYPE_MASK) | ((u64)t << EPT_TYPE_SHIFT) | ipat;
    struct ept_access a = {MT_GPA, false, 0};
    struct vcpu *v = ept_cpu_guest(o, &c->map, 0, 0, ept_exits_hook, &x);
    if (!v || !ept_cpu_flush(o, &c->map) || !test_guest_run(o, v, ept_access_guest, &a))
        return false;
    if (x.misconfigs == mt_reserved(t) && !x.violations && a.value == want &&
        (!x.misconfigs || x.gpa == MT_GPA))
        return true;
    outcome_fail(o, "leaf type %u%s: %u misconfigurations (expected %u), %u violations, "
                 "GPA 0x%llx, read 0x%x (expected 0x%x)", t, ipat ? " with ignore PAT" : "",
                 x.misconfigs, mt_reserved(t), x.violations, x.gpa, a.value, want);
    return false;
}

static bool mt_eptp(struct cpu_outcome *o, struct ept_cpu *c, u32 t)
{
    bool ok = (t == 0 && (vmx_caps.ept_vpid & EPT_CAP_UC)) ||
              (t == 6 && (vmx_caps.ept_vpid & EPT_CAP_WB));
    struct vcpu *v = ept_cpu_guest(o, &c->map, 0, 0, NULL, NULL);
    if (!v)
        return false;
    vmw(EPT_POINTER, (c->map.eptp & ~7ull) | t);
    struct run_result r = vcpu_run(v, guest_nothing, NULL);
    if (ok ? r.end == RUN_DONE
           : r.end == RUN_VMFAIL && r.vmfail == VMX_FAIL_VALID &&
                 r.vm_error == VMX_ERROR_ENTRY_CONTROLS)
        return true;
    outcome_fail(o, "EPT pointer with type %u: %s, expected %s", t, v->why,
                 ok ? "the guest to run" : "VMfailValid, error 7");
    return false;
}

static void check_memory_type(struct cpu_outcome *o, void *arg)
{
    struct ept_cpu *c = ept_cpu(o);
    bool ok = true;
    (void)arg;

    if (!c)
        return;
    for (u32 t = 0; ok && t < 8; t++)
        ok = mt_leaf(o, c, t, 0) && mt_leaf(o, c, t, EPT_IGNORE_PAT);
    ept_restore_identity_2m(&c->map, EPT_WINDOW);
    ept_flush(&c->map);
    for (u32 t = 0; ok && t < 8; t++)
        ok = mt_eptp(o, c, t);
}

VMX_TEST_ALL_CPUS("vmx/ept-memory-type", check_memory_type);
