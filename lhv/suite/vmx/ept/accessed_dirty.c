/* vmx/ept-accessed-dirty: with EPTP bit 6 the processor sets the accessed
 * flag of every EPT entry a guest access's walk uses and the dirty flag of
 * the leaf of a write, and treats its own accesses to the guest's paging
 * structures as writes; without bit 6 it sets none (SDM 3C 29.3.5). */
#include "x86.h"
#include "ept_suite.h"

#define AD_READ EPT_WINDOW
#define AD_WRITE (EPT_WINDOW + 0x1000)
#define AD_IDLE (EPT_WINDOW + 0x2000)

static void ad_guest(void *arg)
{
    u32 *got = arg;
    *got = *(volatile u32 *)(uintptr_t)AD_READ;
    *(volatile u32 *)(uintptr_t)AD_WRITE = *got + 1;
}

/* The guest page whose walk the processor starts from memory: the PML4 at
 * CR3 (amd64); the window's page directory (PAE: VM entry loads the PDPTEs) */
static u64 ad_walked_page(void)
{
#ifdef __x86_64__
    return read_cr3() & EPT_ADDR_MASK;
#else
    const u64 *pdpt = (const u64 *)(uintptr_t)(read_cr3() & ~0x1ful);
    return pdpt[(AD_READ >> 30) & 3] & EPT_ADDR_MASK;
#endif
}

static void check_accessed_dirty(struct cpu_outcome *o, void *arg)
{
    struct ept_cpu *c = ept_cpu(o);
    u64 walked = ad_walked_page();
    u32 seen;
    (void)arg;

    if (!c)
        return;
    if (!(vmx_caps.ept_vpid & EPT_CAP_AD)) {
        outcome_skip(o, "IA32_VMX_EPT_VPID_CAP bit 21 (EPT accessed and dirty flags) clear");
        return;
    }
    for (u32 i = 0; i < 3; i++)
        ept_map_4k(&c->map, AD_READ + i * PAGE_SIZE, (uintptr_t)c->page[i], EPT_RWX,
                   MTRR_TYPE_WB);
    ept_identity_4k(&c->map, walked);
    u64 *rd = ept_leaf(&c->map, AD_READ), *wr = ept_leaf(&c->map, AD_WRITE);
    u64 *idle = ept_leaf(&c->map, AD_IDLE), *walk = ept_leaf(&c->map, walked);
    u64 *pde = ept_at_level(&c->map, AD_READ, 2), *pdpte = ept_at_level(&c->map, AD_READ, 3);
    u64 *pml4e = ept_at_level(&c->map, AD_READ, 4);
    const u64 ad = EPT_ACCESSED | EPT_DIRTY;
    for (u32 on = 0; on < 2; on++) {
        ept_all_ad(&c->map, false);
        struct vcpu *v = ept_cpu_guest(o, &c->map, on ? EPTP_AD : 0, 0, NULL, NULL);
        if (!v || !ept_cpu_flush(o, &c->map) || !test_guest_run(o, v, ad_guest, &seen))
            break;
        if (!on) { /* no flags at all without EPTP bit 6 */
            if (!CHECK_EQ(o, (*rd | *wr | *walk | *pde | *pdpte | *pml4e) & ad, 0))
                break;
            continue;
        }
        const u64 got[] = {*rd & ad, *wr & ad, *idle & ad, *walk & ad, *pde & ad, *pdpte & ad,
                           *pml4e & ad, *(u32 *)c->page[1]};
        const u64 want[] = {EPT_ACCESSED, ad, 0, ad, EPT_ACCESSED, EPT_ACCESSED, EPT_ACCESSED,
                            seen + 1};
        ept_expect(o, "A/D of the read page;A/D of the written page;A/D of an untouched page;"
                   "A/D of the guest's paging structure;A/D of the PDE;A/D of the PDPTE;"
                   "A/D of the PML4E;the written word", got, want, ARRAY_SIZE(got));
    }
    ept_restore_identity_2m(&c->map, EPT_WINDOW);
    ept_flush(&c->map);
}

VMX_TEST_ALL_CPUS("vmx/ept-accessed-dirty", check_accessed_dirty);
