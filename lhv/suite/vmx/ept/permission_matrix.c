/* vmx/ept-permission-matrix: every read/write/execute combination of a
 * 4 KiB EPT leaf against a read, a write and an instruction fetch, and
 * permissions combined across levels (SDM 3C 29.3.3: misconfigurations
 * 29.3.3.1, violations 29.3.3.2; the qualification 28.2.1 table 28-7).
 * The guest reaches host test page 0 through the window (ept_suite.h); an
 * EPT exit opens the path and the access completes. */
#include "string.h"
#include "ept_suite.h"

#define PM_GPA (EPT_WINDOW + 0x230)
#define PM_VALUE 0x5eed0000u

enum pm_access { PM_READ, PM_WRITE, PM_FETCH };
static const char *const pm_names[] = {"read", "write", "fetch"};

struct pm_run {
    const struct ept *e;
    u64 *leaf, *pde;
    enum pm_access access;
    u32 got;
    u32 violations, misconfigs;
    u64 qual, gpa, gla;
};

static enum exit_action pm_hook(struct vcpu *v, u32 reason)
{
    struct pm_run *r = v->test_data;
    if (reason == EXIT_REASON_EPT_VIOLATION)
        r->violations++;
    else if (reason == EXIT_REASON_EPT_MISCONFIG)
        r->misconfigs++;
    else
        return EXIT_DEFAULT;
    r->qual = v->exit_qual;
    r->gpa = vmr(GUEST_PHYSICAL_ADDRESS);
    r->gla = vmr(GUEST_LINEAR_ADDRESS);
    if (r->violations + r->misconfigs > 1)
        return vcpu_fail(v, "a second EPT exit (reason %u) at 0x%llx", reason, r->gpa);
    *r->pde |= EPT_RWX;
    *r->leaf |= EPT_RWX;
    return ept_flush(r->e) == VMX_OK ? EXIT_RESUME : vcpu_fail(v, "INVEPT failed");
}

static void pm_guest(void *arg)
{
    struct pm_run *r = arg;
    volatile u32 *word = (volatile u32 *)(uintptr_t)PM_GPA;
    if (r->access == PM_READ)
        r->got = *word;
    else if (r->access == PM_WRITE)
        *word = PM_VALUE;
    else
        r->got = ept_call_code((const u8 *)word);
}

/* One access with the leaf's and the PDE's permissions: none, a violation
 * (qualification: the access, the combined permissions, a linear address
 * that the access itself translated) or a misconfiguration, then the
 * access done. */
static bool pm_case(struct cpu_outcome *o, struct ept_cpu *c, u32 leaf, u32 pde,
                    enum pm_access a)
{
    struct pm_run r = {.e = &c->map, .access = a};
    u8 *host = c->page[0] + (PM_GPA & 0xfff);
    u32 code;
    bool exec_only = vmx_caps.ept_vpid & EPT_CAP_EXEC_ONLY;
    u32 eff = leaf & pde;
    bool misconfig = ((leaf & EPT_WRITE) && !(leaf & EPT_READ)) ||
                     ((pde & EPT_WRITE) && !(pde & EPT_READ)) ||
                     (!exec_only && (leaf == EPT_EXEC || pde == EPT_EXEC));
    bool violation = !misconfig && !(eff & (1u << a));

    ept_put_code(host, PM_VALUE + leaf);
    memcpy(&code, host, 4);
    r.leaf = ept_leaf(&c->map, PM_GPA);
    r.pde = ept_at_level(&c->map, PM_GPA, 2);
    *r.leaf = (*r.leaf & ~EPT_RWX) | leaf;
    *r.pde = (*r.pde & ~EPT_RWX) | pde;
    struct vcpu *v = ept_cpu_guest(o, &c->map, 0, 0, pm_hook, &r);
    if (!v || !ept_cpu_flush(o, &c->map) || !test_guest_run(o, v, pm_guest, &r))
        return false;
    u32 want_got = a == PM_READ ? code : a == PM_FETCH ? PM_VALUE + leaf : 0;
    u64 want_qual = (1u << a) | (eff << 3) | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATION;
    u32 stored;
    memcpy(&stored, host, 4);
    if (r.misconfigs != misconfig || r.violations != violation ||
        (violation && ((r.qual & 0x1bf) != want_qual || r.gla != PM_GPA)) ||
        ((misconfig || violation) && r.gpa != PM_GPA) || r.got != want_got ||
        (a == PM_WRITE && stored != PM_VALUE)) {
        outcome_fail(o,
                     "%s, leaf perms %u, PDE perms %u: %u misconfigurations, %u violations "
                     "(expected %u, %u), qualification 0x%llx (expected 0x%llx), GPA 0x%llx, "
                     "guest saw 0x%x (expected 0x%x), stored 0x%x",
                     pm_names[a], leaf, pde, r.misconfigs, r.violations, misconfig, violation,
                     r.qual, violation ? want_qual : 0, r.gpa, r.got, want_got, stored);
        return false;
    }
    return true;
}

static void check_permission_matrix(struct cpu_outcome *o, void *arg)
{
    struct ept_cpu *c = ept_cpu(o);
    (void)arg;

    if (!c)
        return;
    ept_map_4k(&c->map, PM_GPA, (uintptr_t)c->page[0], EPT_RWX, MTRR_TYPE_WB);
    bool ok = true;
    for (u32 leaf = 0; ok && leaf < 8; leaf++)
        for (u32 a = PM_READ; ok && a <= PM_FETCH; a++)
            ok = pm_case(o, c, leaf, EPT_RWX, a);
    /* the walk's own entries: a PDE without write, without execute, execute-only */
    ok = ok && pm_case(o, c, EPT_RWX, EPT_READ | EPT_EXEC, PM_WRITE) &&
         pm_case(o, c, EPT_RWX, EPT_READ | EPT_EXEC, PM_READ) &&
         pm_case(o, c, EPT_RWX, EPT_READ | EPT_WRITE, PM_FETCH) &&
         pm_case(o, c, EPT_RWX, EPT_EXEC, PM_FETCH) &&
         pm_case(o, c, EPT_READ, EPT_RWX, PM_FETCH);
    ept_restore_identity_2m(&c->map, EPT_WINDOW);
    ept_flush(&c->map);
}

VMX_TEST_ALL_CPUS("vmx/ept-permission-matrix", check_permission_matrix);
