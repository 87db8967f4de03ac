/* vmx/ept-misconfig: EPT paging-structure entries the processor refuses to
 * use end the guest's access with an EPT-misconfiguration exit (reason 49)
 * that names the guest-physical address (SDM 3C 29.3.3.1, 28.2.1; tables
 * 29-1 to 29-6): each reserved bit at each level in turn, one at a time:
 * address bits MAXPHYADDR..51 of every entry (and of 2 MiB and 1 GiB
 * leaves), bits 7:3 of a PML4E and 6:3 of a PDPTE or PDE that point to a
 * table, address bits 20:12 of a 2 MiB leaf and 29:12 of a 1 GiB leaf (a
 * PDPTE with bit 7 whose address is not 1 GiB aligned without 1 GiB pages).
 * The same entry made not present is an EPT violation instead: reserved
 * bits count only in a present entry. The ignored bits 8-11 and 52-63
 * (A/D flags off, mode-based execute, #VE and the other controls that
 * give them a meaning clear) of the entry at each level change nothing:
 * a read, a write and a fetch pass without an exit. Write-only and
 * write/execute entries: see vmx/ept-permission-matrix; memory types:
 * vmx/ept-memory-type. */
#include "ept_suite.h"

#define MC_GPA (EPT_WINDOW + 0x3a8)
#define MC_CODE 0x800 /* where in the page the guest calls code */

/* Bits lo..hi, one at a time, in the entry at `level`, made a leaf of
 * `huge` level 2 or 3 first (0: the entry as it is); `ignored`: no exit */
struct mc_class {
    u8 level, huge, lo, hi;
    bool ignored;
};

struct mc_run {
    bool fetch;
    u32 read, called;
};

static void mc_guest(void *arg)
{
    struct mc_run *r = arg;
    volatile u32 *word = (volatile u32 *)(uintptr_t)MC_GPA;
    r->read = *word;
    if (r->fetch) {
        word[1] = r->read + 1;
        r->called = ept_call_code((const u8 *)(uintptr_t)((MC_GPA & ~0xfffull) + MC_CODE));
    }
}

/* One bit of a class, present or not; false after outcome_fail */
static bool mc_case(struct cpu_outcome *o, struct ept_cpu *c, struct vcpu *v,
                    const struct mc_class *k, u32 bit, bool present)
{
    u32 want = 0x3c0f0000 + bit * 16 + k->level * 2 + present;
    u32 *host = (u32 *)(c->page[0] + (MC_GPA & 0xfff));
    struct mc_run r = {k->ignored, 0, 0};
    struct ept_exits *x = v->test_data;

    ept_map_4k(&c->map, MC_GPA, (uintptr_t)c->page[0], EPT_RWX, MTRR_TYPE_WB);
    host[0] = want;
    ept_put_code(c->page[0] + MC_CODE, ~want);
    x->violations = x->misconfigs = 0;
    x->entry = ept_at_level(&c->map, MC_GPA, k->level);
    x->restore = *x->entry;
    u64 e = *x->entry;
    if (k->huge) /* a leaf at the window's 2 MiB or 1 GiB */
        e = (MC_GPA & ~(k->huge == 2 ? MiB(2) - 1 : GiB(1) - 1)) | EPT_RWX |
            (u64)MTRR_TYPE_WB << EPT_TYPE_SHIFT | EPT_LARGE;
    if (!present)
        e &= ~EPT_RWX;
    e |= 1ull << bit;
    *x->entry = e;
    bool ran = ept_cpu_flush(o, &c->map) && test_guest_run(o, v, mc_guest, &r);
    u64 left = *x->entry;
    *x->entry = x->restore; /* an ignored bit stays otherwise */
    if (!ran)
        return false;
    /* Bochs masks bit 12 of a large leaf as if it were a PAT bit */
    if (k->huge && bit == 12 && present && !x->misconfigs && !x->violations &&
        l0_bochs_deviates(BOCHS_2_7_AND_3_0)) {
        outcome_xfail(o, "%s ignore address bit 12 of a 2 MiB EPT leaf (reserved; of a 1 GiB "
                      "leaf too)", l0_bochs_names(BOCHS_2_7_AND_3_0));
        return true;
    }
    bool misconfig = present && !k->ignored, violation = !present;
    /* a PML4E covers the guest's code: its first fetch meets it */
    if (x->misconfigs != misconfig || x->violations != violation ||
        (k->level < 4 && (misconfig || violation) && x->gpa != MC_GPA) ||
        (violation && k->level < 4 && (x->qual & 0x3f) != EPT_QUAL_READ) || r.read != want ||
        (k->ignored && (r.called != ~want || host[1] != want + 1 || left != e))) {
        outcome_fail(o, "bit %u of the level %u entry (%s%s): %u misconfigurations, %u "
                     "violations (expected %u, %u), qualification 0x%llx at 0x%llx, read 0x%x, "
                     "called 0x%x", bit, k->level, k->huge ? "made a leaf, " : "",
                     present ? "present" : "not present", x->misconfigs, x->violations,
                     misconfig, violation, x->qual, x->gpa, r.read, r.called);
        return false;
    }
    return true;
}

static void check_misconfig(struct cpu_outcome *o, void *arg)
{
    struct ept_cpu *c = ept_cpu(o);
    (void)arg;

    if (!c)
        return;
    u8 maxphy = (u8)(32 + __builtin_ctz((u32)((c->mtrr.addr_mask + PAGE_SIZE) >> 32)));
    bool big = vmx_caps.ept_vpid & EPT_CAP_1G;
    const struct mc_class classes[] = {
        {1, 0, maxphy, 51, false}, {2, 0, maxphy, 51, false}, {3, 0, maxphy, 51, false},
        {4, 0, maxphy, 51, false}, {2, 2, maxphy, 51, false}, {3, 3, maxphy, 51, false},
        {2, 0, 3, 6, false},       {3, 0, 3, 6, false},       {4, 0, 3, 7, false},
        {2, 2, 12, 20, false},     {3, 3, 12, big ? 29 : 13, false},
        /* ignored: 8-11 and 52-63 of the entry at each level */
        {1, 0, 8, 11, true},       {2, 0, 8, 11, true},       {3, 0, 8, 11, true},
        {4, 0, 8, 11, true},       {1, 0, 52, 63, true},      {2, 0, 52, 63, true},
        {3, 0, 52, 63, true},      {4, 0, 52, 63, true},
    };
    struct ept_exits x = {.e = &c->map};
    struct vcpu *v = ept_cpu_guest(o, &c->map, 0, 0, ept_exits_hook, &x);
    bool ok = v != NULL;
    for (u32 i = 0; ok && i < ARRAY_SIZE(classes); i++) {
        const struct mc_class *k = &classes[i];
        for (u32 bit = k->lo; ok && bit <= k->hi; bit++) {
            if (k->huge == 3 && !big && bit == 12)
                continue; /* without 1 GiB pages bit 7 of a PDPTE is reserved by itself */
            ok = mc_case(o, c, v, k, bit, true) &&
                 (k->ignored || (bit != k->lo && bit != k->hi) || mc_case(o, c, v, k, bit, false));
        }
    }
    ept_restore_identity_2m(&c->map, EPT_WINDOW);
    ept_flush(&c->map);
}

VMX_TEST_ALL_CPUS("vmx/ept-misconfig", check_misconfig);
