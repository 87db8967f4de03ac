/* vmx/ept-permission-matrix: every read/write/execute combination of a
 * 4 KiB EPT leaf against a read, a write and an instruction fetch, and
 * permissions combined across levels (SDM 3C 29.3.3: misconfigurations
 * 29.3.3.1, violations 29.3.3.2; the qualification 28.2.1 table 28-7);
 * the leaf's combinations again through a 2 MiB leaf and with EPT A/D
 * flags on (29.3.5: they change no permission). The guest reaches host
 * test page 0 through the window (ept_suite.h); an EPT exit opens the
 * path and the access completes. */
#include "string.h"
#include "ept_suite.h"

#define PM_OFF 0x230
#define PM_VALUE 0x5eed0000u

enum pm_access { PM_READ, PM_WRITE, PM_FETCH };
static const char *const pm_names[] = {"read", "write", "fetch"};

struct pm_run {
    const struct ept *e;
    uintptr_t at;
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
    volatile u32 *word = (volatile u32 *)r->at;
    if (r->access == PM_READ)
        r->got = *word;
    else if (r->access == PM_WRITE)
        *word = PM_VALUE;
    else
        r->got = ept_call_code((const u8 *)word);
}

/* The window's leaf: 4 KiB (level 1) or 2 MiB (2), the EPTP's A/D bit */
struct pm_mode {
    int level;
    u64 eptp_bits;
};

/* One access with the leaf's and the PDE's (2 MiB: PDPTE's) permissions:
 * none, a violation (qualification: the access, the combined permissions,
 * a linear address that the access itself translated) or a
 * misconfiguration, then the access done. */
static bool pm_case(struct cpu_outcome *o, struct ept_cpu *c, const struct pm_mode *m, u32 leaf,
                    u32 pde, enum pm_access a)
{
    uintptr_t off = m->level == 2 ? (uintptr_t)c->page[0] & (MiB(2) - 1) : 0;
    struct pm_run r = {.e = &c->map, .at = EPT_WINDOW + off + PM_OFF, .access = a};
    u8 *host = c->page[0] + PM_OFF;
    u32 code;
    bool exec_only = vmx_caps.ept_vpid & EPT_CAP_EXEC_ONLY;
    u32 eff = leaf & pde;
    bool misconfig = ((leaf & EPT_WRITE) && !(leaf & EPT_READ)) ||
                     ((pde & EPT_WRITE) && !(pde & EPT_READ)) ||
                     (!exec_only && (leaf == EPT_EXEC || pde == EPT_EXEC));
    bool violation = !misconfig && !(eff & (1u << a));

    ept_put_code(host, PM_VALUE + leaf);
    memcpy(&code, host, 4);
    r.leaf = ept_leaf(&c->map, r.at);
    r.pde = ept_at_level(&c->map, r.at, m->level + 1);
    *r.leaf = (*r.leaf & ~(EPT_RWX | EPT_ACCESSED | EPT_DIRTY)) | leaf;
    *r.pde = (*r.pde & ~EPT_RWX) | pde;
    struct vcpu *v = ept_cpu_guest(o, &c->map, m->eptp_bits, 0, pm_hook, &r);
    if (!v || !ept_cpu_flush(o, &c->map) || !test_guest_run(o, v, pm_guest, &r))
        return false;
    u32 want_got = a == PM_READ ? code : a == PM_FETCH ? PM_VALUE + leaf : 0;
    u64 want_qual = (1u << a) | (eff << 3) | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATION;
    u32 stored;
    memcpy(&stored, host, 4);
    /* A/D on: the access, done at last, sets the leaf's accessed (and dirty) flag */
    u64 ad = *r.leaf & (EPT_ACCESSED | EPT_DIRTY);
    u64 want_ad = m->eptp_bits ? EPT_ACCESSED | (a == PM_WRITE ? EPT_DIRTY : 0) : 0;
    if (r.misconfigs != misconfig || r.violations != violation ||
        (violation && ((r.qual & 0x1bf) != want_qual || r.gla != r.at)) ||
        ((misconfig || violation) && r.gpa != r.at) || r.got != want_got ||
        (a == PM_WRITE && stored != PM_VALUE) || ad != want_ad) {
        outcome_fail(o,
                     "%s, level %d leaf perms %u, above %u, EPTP A/D %u: %u "
                     "misconfigurations, %u violations (expected %u, %u), qualification 0x%llx "
                     "(expected 0x%llx), GPA 0x%llx, guest saw 0x%x (expected 0x%x), stored 0x%x, A/D 0x%llx",
                     pm_names[a], m->level, leaf, pde, !!m->eptp_bits, r.misconfigs, r.violations, misconfig, violation,
                     r.qual, violation ? want_qual : 0, r.gpa, r.got, want_got, stored, ad);
        return false;
    }
    return true;
}

/* Every leaf combination against every access */
static bool pm_leaves(struct cpu_outcome *o, struct ept_cpu *c, const struct pm_mode *m)
{
    if (m->level == 2) {
        u64 big = (uintptr_t)c->page[0] & ~(MiB(2) - 1);
        ept_map_2m(&c->map, EPT_WINDOW, big, EPT_RWX, ept_type_for(&c->map, big, MiB(2)));
    } else {
        ept_map_4k(&c->map, EPT_WINDOW + PM_OFF, (uintptr_t)c->page[0], EPT_RWX, MTRR_TYPE_WB);
    }
    bool ok = true;
    for (u32 leaf = 0; ok && leaf < 8; leaf++)
        for (u32 a = PM_READ; ok && a <= PM_FETCH; a++)
            ok = pm_case(o, c, m, leaf, EPT_RWX, a);
    return ok;
}

static void check_permission_matrix(struct cpu_outcome *o, void *arg)
{
    struct ept_cpu *c = ept_cpu(o);
    static const struct pm_mode small = {1, 0}, big = {2, 0}, ad = {1, EPTP_AD};
    (void)arg;

    if (!c)
        return;
    bool ok = pm_leaves(o, c, &small);
    /* the walk's own entries: a PDE without write, without execute, execute-only */
    ok = ok && pm_case(o, c, &small, EPT_RWX, EPT_READ | EPT_EXEC, PM_WRITE) &&
         pm_case(o, c, &small, EPT_RWX, EPT_READ | EPT_EXEC, PM_READ) &&
         pm_case(o, c, &small, EPT_RWX, EPT_READ | EPT_WRITE, PM_FETCH) &&
         pm_case(o, c, &small, EPT_RWX, EPT_EXEC, PM_FETCH) &&
         pm_case(o, c, &small, EPT_READ, EPT_RWX, PM_FETCH);
    ok = ok && pm_leaves(o, c, &big);
    /* without A/D flags (IA32_VMX_EPT_VPID_CAP bit 21) the rest is not run */
    if (ok && (vmx_caps.ept_vpid & EPT_CAP_AD))
        pm_leaves(o, c, &ad);
    ept_restore_identity_2m(&c->map, EPT_WINDOW);
    ept_flush(&c->map);
}

VMX_TEST_ALL_CPUS("vmx/ept-permission-matrix", check_permission_matrix);
