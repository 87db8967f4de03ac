/* vmx/ept-misconfig: EPT paging-structure entries the processor refuses to
 * use end the guest's access with an EPT-misconfiguration exit (reason 49)
 * that names the guest-physical address (SDM 3C 29.3.3.1, 28.2.1): reserved
 * bits 7:3 of a non-leaf entry, an address bit at or above MAXPHYADDR, a
 * 2 MiB leaf with address bits 20:12 set, a PDPTE with bit 7 whose address
 * is not 1 GiB aligned (reserved either way: 1 GiB pages or not), and bit
 * 7 of a PML4E; the ignored bits of a leaf make none. Write-only and
 * write/execute entries: see vmx/ept-permission-matrix; memory types:
 * vmx/ept-memory-type. */
#include "ept_suite.h"

#define MC_GPA (EPT_WINDOW + 0x3a8)

struct mc_case {
    const char *what;
    int level;
    u64 keep, set; /* the entry becomes (entry & keep) | set */
    u32 misconfigs;
};

static void check_misconfig(struct cpu_outcome *o, void *arg)
{
    struct ept_cpu *c = ept_cpu(o);
    (void)arg;

    if (!c)
        return;
    u64 page = (uintptr_t)c->page[0], leaf = EPT_RWX | (u64)MTRR_TYPE_WB << EPT_TYPE_SHIFT;
    u64 above = c->mtrr.addr_mask + PAGE_SIZE; /* bit MAXPHYADDR */
    const struct mc_case cases[] = {
        {"bit 3 of a PDE that points to a table", 2, ~0ull, 1ull << 3, 1},
        {"bit 6 of a PDPTE that points to a table", 3, ~0ull, 1ull << 6, 1},
        {"address bit MAXPHYADDR of a leaf", 1, ~0ull, above, 1},
        {"a 2 MiB leaf with address bit 13", 2, 0, 0x202000 | leaf | EPT_LARGE, 1},
        {"a PDPTE with bit 7 and address bit 13", 3, 0, 0x2000 | leaf | EPT_LARGE, 1},
        {"a 2 MiB leaf with address bit 12", 2, 0, 0x201000 | leaf | EPT_LARGE, 1},
        {"bit 7 of a PML4E", 4, ~0ull, EPT_LARGE, 1},
        /* ignored bits of a leaf: 11, 56:52, 62 (table 29-6) */
        {"ignored bits of a leaf", 1, ~0ull, 1ull << 11 | 0x1full << 52 | 1ull << 62, 0},
    };
    for (u32 i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct mc_case *k = &cases[i];
        if (k->set == above && above >> 52)
            continue; /* MAXPHYADDR 52: no such bit */
        ept_map_4k(&c->map, MC_GPA, page, EPT_RWX, MTRR_TYPE_WB);
        *(u32 *)(c->page[0] + (MC_GPA & 0xfff)) = 0x3c0f1600 + i;
        struct ept_access a = {MC_GPA, false, 0};
        struct ept_exits x = {.e = &c->map, .entry = ept_at_level(&c->map, MC_GPA, k->level)};
        x.restore = *x.entry;
        *x.entry = (*x.entry & k->keep) | k->set;
        struct vcpu *v = ept_cpu_guest(o, &c->map, 0, 0, ept_exits_hook, &x);
        if (!v || !ept_cpu_flush(o, &c->map) || !test_guest_run(o, v, ept_access_guest, &a))
            break;
        /* Bochs masks bit 12 of a large leaf as if it were a PAT bit */
        if (k->set == (0x201000 | leaf | EPT_LARGE) && !x.misconfigs && !x.violations &&
            l0_bochs_deviates(BOCHS_2_7_AND_3_0)) {
            outcome_xfail(o, "%s ignore address bit 12 of a 2 MiB EPT leaf (reserved)",
                          l0_bochs_names(BOCHS_2_7_AND_3_0));
            continue;
        }
        /* a PML4E covers the guest's code: its first fetch meets it */
        if (x.misconfigs != k->misconfigs || x.violations ||
            (k->level < 4 && x.misconfigs && x.gpa != MC_GPA) || a.value != 0x3c0f1600 + i) {
            outcome_fail(o, "%s: %u misconfigurations, %u violations (expected %u, 0), "
                         "guest-physical 0x%llx (expected 0x%llx), read 0x%x", k->what,
                         x.misconfigs, x.violations, k->misconfigs, x.gpa, MC_GPA, a.value);
            break;
        }
    }
    ept_restore_identity_2m(&c->map, EPT_WINDOW);
    ept_flush(&c->map);
}

VMX_TEST_ALL_CPUS("vmx/ept-misconfig", check_misconfig);
