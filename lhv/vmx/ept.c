/* EPT and VPID (ept.h; SDM 3C chapter 29, INVEPT/INVVPID in 31.3). Tables
 * come from alloc_pages: zeroed, identity-mapped pages below 4 GiB, so a
 * table's address is also its host-physical address. */
#include "alloc.h"
#include "ept.h"
#include "string.h"
#include "x86.h"

#define ENTRIES 512u
#define SIZE_2M MiB(2)
#define TABLE_ENTRY(t) ((u64)(uintptr_t)(t) | EPT_RWX) /* non-leaf: bits 7:3 zero */

const char *ept_unsupported(void)
{
    const char *why = vmx_unavailable();
    u64 cap = vmx_caps.ept_vpid;

    if (why)
        return why;
    if (!(vmx_caps.proc.allowed1 & CPU_ACTIVATE_SECONDARY_CONTROLS))
        return "IA32_VMX_PROCBASED_CTLS bit 31 (activate secondary controls) not allowed";
    if (!(vmx_caps.proc2.allowed1 & CPU2_ENABLE_EPT))
        return "IA32_VMX_PROCBASED_CTLS2 bit 1 (EPT) not allowed";
    if (!(cap & EPT_CAP_WALK_4))
        return "IA32_VMX_EPT_VPID_CAP bit 6 (page-walk length 4) clear";
    if (!(cap & (EPT_CAP_WB | EPT_CAP_UC)))
        return "IA32_VMX_EPT_VPID_CAP bits 8 and 14 (UC and WB EPT structures) clear";
    if (!(cap & EPT_CAP_INVEPT) || !(cap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL)))
        return "IA32_VMX_EPT_VPID_CAP bit 20 (INVEPT) or bits 25-26 (its types) clear";
    return NULL;
}

const char *vpid_unsupported(void)
{
    const char *why = vmx_unavailable();

    if (why)
        return why;
    if (!(vmx_caps.proc.allowed1 & CPU_ACTIVATE_SECONDARY_CONTROLS))
        return "IA32_VMX_PROCBASED_CTLS bit 31 (activate secondary controls) not allowed";
    if (!(vmx_caps.proc2.allowed1 & CPU2_ENABLE_VPID))
        return "IA32_VMX_PROCBASED_CTLS2 bit 5 (VPID) not allowed";
    if (!(vmx_caps.ept_vpid & VPID_CAP_INVVPID))
        return "IA32_VMX_EPT_VPID_CAP bit 32 (INVVPID) clear";
    return NULL;
}

static u32 maxphyaddr(void)
{
    if (cpuid(0x80000000, 0).eax >= 0x80000008)
        return cpuid(0x80000008, 0).eax & 0xff;
    return 36;
}

void mtrr_read(struct mtrr_state *s)
{
    memset(s, 0, sizeof(*s));
    s->addr_mask = mtrr_addr_mask(maxphyaddr());
    if (!(cpuid(1, 0).edx & CPUID1_EDX_MTRR))
        return; /* no MTRRs: UC, like MTRRs turned off */
    u64 cap = rdmsr(MSR_IA32_MTRRCAP), def = rdmsr(MSR_IA32_MTRR_DEF_TYPE);
    s->enabled = def & MTRR_DEF_E;
    s->fixed_enabled = (cap & MTRRCAP_FIX) && (def & MTRR_DEF_FE);
    s->default_type = (u8)(def & MTRR_DEF_TYPE_MASK);
    if (cap & MTRRCAP_FIX) {
        u64 fixed[MTRR_FIXED_MSRS];
        fixed[0] = rdmsr(MSR_IA32_MTRR_FIX64K_00000);
        fixed[1] = rdmsr(MSR_IA32_MTRR_FIX16K_80000);
        fixed[2] = rdmsr(MSR_IA32_MTRR_FIX16K_A0000);
        for (u32 i = 0; i < 8; i++)
            fixed[3 + i] = rdmsr(MSR_IA32_MTRR_FIX4K_C0000 + i);
        mtrr_set_fixed(s, fixed);
    }
    s->var_count = (u32)(cap & MTRRCAP_VCNT_MASK);
    if (s->var_count > MTRR_VAR_MAX)
        s->var_count = MTRR_VAR_MAX;
    for (u32 i = 0; i < s->var_count; i++) {
        s->var[i].base = rdmsr(MSR_IA32_MTRR_PHYSBASE0 + 2 * i);
        s->var[i].mask = rdmsr(MSR_IA32_MTRR_PHYSBASE0 + 2 * i + 1);
    }
}

static u64 *table_at(u64 entry) { return (u64 *)(uintptr_t)(entry & EPT_ADDR_MASK); }

u64 ept_identity_top(void)
{
    u64 top = GiB(4);
#ifdef __x86_64__
    /* The host maps [0, top) from PML4 entry 0 up (pagetable.h): the last
     * present PDPTE ends it. */
    const u64 *pml4 = (const u64 *)(uintptr_t)(read_cr3() & EPT_ADDR_MASK);
    for (u32 i = 0; i < ENTRIES / 2; i++) {
        if (!(pml4[i] & 1))
            continue;
        const u64 *pdpt = table_at(pml4[i]);
        for (u32 j = 0; j < ENTRIES; j++)
            if ((pdpt[j] & 1) && ((((u64)i << 9) + j + 1) << 30) > top)
                top = (((u64)i << 9) + j + 1) << 30;
    }
#endif
    u64 limit = mtrr_addr_mask(maxphyaddr()) + PAGE_SIZE;
    return top > limit ? limit : top;
}

static u64 leaf(u64 hpa, u64 perms, u8 type)
{
    return hpa | perms | ((u64)type << EPT_TYPE_SHIFT);
}

/* EPT takes UC, WC, WT, WP and WB; anything else would be a
 * misconfiguration (29.3.3.1) */
static u8 ept_type_of(u8 mtrr_type)
{
    if (mtrr_type != MTRR_TYPE_WC && mtrr_type != MTRR_TYPE_WT && mtrr_type != MTRR_TYPE_WP &&
        mtrr_type != MTRR_TYPE_WB)
        return MTRR_TYPE_UC;
    return mtrr_type;
}

u8 ept_type_for(const struct ept *e, u64 hpa, u64 size)
{
    return ept_type_of(mtrr_range_type(e->mtrr, hpa, size));
}

static u64 *new_table(struct ept *e)
{
    e->tables++;
    return alloc_pages(1);
}

/* The table one level down from *entry, made when absent. A large page
 * there is split into 512 pages of the next size with its permissions and
 * type. */
static u64 *next_table(struct ept *e, u64 *entry, int level)
{
    if (*entry & EPT_LARGE) {
        u64 *t = new_table(e);
        u64 step = level == 3 ? SIZE_2M : PAGE_SIZE;
        u64 keep = *entry & (EPT_RWX | EPT_TYPE_MASK | EPT_IGNORE_PAT);
        u64 base = *entry & EPT_ADDR_MASK;
        for (u32 i = 0; i < ENTRIES; i++)
            t[i] = (base + i * step) | keep | (level == 3 ? EPT_LARGE : 0);
        *entry = TABLE_ENTRY(t);
        return t;
    }
    if (!(*entry & EPT_RWX))
        *entry = TABLE_ENTRY(new_table(e));
    return table_at(*entry);
}

static u32 index_at(u64 gpa, int level) { return (u32)(gpa >> (12 + 9 * (level - 1))) & 511; }

/* The entry for gpa at level `want`, making tables on the way */
static u64 *make_entry(struct ept *e, u64 gpa, int want)
{
    u64 *t = e->pml4;
    for (int level = 4; level > want; level--)
        t = next_table(e, &t[index_at(gpa, level)], level);
    return &t[index_at(gpa, want)];
}

u64 *ept_entry(const struct ept *e, u64 gpa, int *level)
{
    u64 *t = e->pml4;
    for (int l = 4;; l--) {
        u64 *entry = &t[index_at(gpa, l)];
        *level = l;
        if (l == 1 || !(*entry & EPT_RWX) || (*entry & EPT_LARGE))
            return entry;
        t = table_at(*entry);
    }
}

void ept_map_4k(struct ept *e, u64 gpa, u64 hpa, u64 perms, u8 type)
{
    *make_entry(e, gpa, 1) = leaf(hpa & EPT_ADDR_MASK, perms & EPT_RWX, type);
}

void ept_map_2m(struct ept *e, u64 gpa, u64 hpa, u64 perms, u8 type)
{
    *make_entry(e, gpa, 2) = leaf(hpa & EPT_ADDR_MASK, perms & EPT_RWX, type) | EPT_LARGE;
}

void ept_map_1g(struct ept *e, u64 gpa, u64 hpa, u64 perms, u8 type)
{
    *make_entry(e, gpa, 3) = leaf(hpa & EPT_ADDR_MASK, perms & EPT_RWX, type) | EPT_LARGE;
}

void ept_protect_4k(struct ept *e, u64 gpa, u64 perms)
{
    u64 *entry = make_entry(e, gpa, 1);
    if (*entry == 0) /* demand mode, never touched: the identity page */
        *entry = leaf(gpa & EPT_ADDR_MASK, 0, ept_type_for(e, gpa & EPT_ADDR_MASK, PAGE_SIZE));
    *entry = (*entry & ~EPT_RWX) | (perms & EPT_RWX);
}

/* n entries of one table of the identity map (n a power of two), the first
 * for gpa, each mapping `step` bytes (2 MiB or 4 KiB), up to top. A span of
 * one memory type (most are) is n leaves of that type from one question to
 * the MTRRs; a mixed span is asked about in halves, and a mixed 2 MiB is a
 * table of 4 KiB pages. Asking about each 2 MiB of a mixed GiB and each
 * page of a mixed 2 MiB instead (1,024 + 512 questions) was 352 K
 * instructions a map on i386 (Bochs 2.7, 8 variable ranges), and the suite
 * builds seven maps. */
static void identity_span(struct ept *e, u64 *entries, u64 gpa, u32 n, u64 step, u64 top)
{
    if (gpa >= top)
        return;
    u64 size = (u64)n * step;
    u8 t = top - gpa >= size ? mtrr_range_type(e->mtrr, gpa, size) : MTRR_TYPE_MIXED;
    if (t == MTRR_TYPE_MIXED && n > 1) {
        identity_span(e, entries, gpa, n / 2, step, top);
        identity_span(e, entries + n / 2, gpa + size / 2, n / 2, step, top);
        return;
    }
    if (t == MTRR_TYPE_MIXED && step == SIZE_2M) {
        u64 *pt = new_table(e);
        identity_span(e, pt, gpa, ENTRIES, PAGE_SIZE, top);
        *entries = TABLE_ENTRY(pt);
        return;
    }
    t = ept_type_of(t); /* a page of no one type (none is) would be UC */
    for (u32 i = 0; i < n; i++)
        entries[i] = leaf(gpa + (u64)i * step, EPT_RWX, t) | (step == SIZE_2M ? EPT_LARGE : 0);
    if (step == SIZE_2M)
        e->leaves_2m += n;
    else
        e->leaves_4k += n;
    e->by_type[t] += n;
}

static void identity_2m(struct ept *e, u64 gpa)
{
    identity_span(e, make_entry(e, gpa, 2), gpa, 1, SIZE_2M, gpa + SIZE_2M);
}

/* One GiB of the identity map (up to top), in the one page directory that
 * maps it */
static void identity_1g(struct ept *e, u64 gpa, u64 top)
{
    identity_span(e, next_table(e, make_entry(e, gpa, 3), 3), gpa, ENTRIES, SIZE_2M, top);
}

void ept_restore_identity_2m(struct ept *e, u64 gpa)
{
    gpa &= ~(SIZE_2M - 1);
    if (e->demand) {
        u64 *pd_entry = make_entry(e, gpa, 2);
        *pd_entry = 0; /* pages come back on demand */
        return;
    }
    identity_2m(e, gpa);
}

bool ept_demand_map(struct ept *e, u64 gpa)
{
    int level;
    u64 *entry;

    if (!e->demand || gpa >= e->top)
        return false;
    entry = ept_entry(e, gpa, &level);
    if (*entry != 0)
        return false; /* written on purpose (a test's page) */
    gpa &= EPT_ADDR_MASK;
    ept_map_4k(e, gpa, gpa, EPT_RWX, ept_type_for(e, gpa, PAGE_SIZE));
    return true;
}

void ept_build_identity(struct ept *e, const struct mtrr_state *m, u64 top)
{
    memset(e, 0, sizeof(*e));
    e->mtrr = m;
    e->top = top;
    e->pml4 = new_table(e);
    /* The paging structures are read with the EPTP's type: WB when the CPU
     * allows it (25.6.11). */
    e->eptp = (u64)(uintptr_t)e->pml4 | EPTP_WALK_4 |
              ((vmx_caps.ept_vpid & EPT_CAP_WB) ? EPTP_TYPE_WB : EPTP_TYPE_UC);
    e->demand = !(vmx_caps.ept_vpid & EPT_CAP_2M);
    if (e->demand)
        return;
    for (u64 gpa = 0; gpa < top; gpa += GiB(1))
        identity_1g(e, gpa, top);
}

struct inv_descriptor {
    u64 lo, hi;
} __attribute__((aligned(16)));

#define INV_STATUS(cf, zf) ((cf) ? VMX_FAIL_INVALID : (zf) ? VMX_FAIL_VALID : VMX_OK)

int invept(u32 type, u64 eptp)
{
    struct inv_descriptor d = {eptp, 0};
    u8 cf, zf;
    __asm__ volatile("invept %2, %3\n\tsetc %0\n\tsetz %1"
                     : "=qm"(cf), "=qm"(zf)
                     : "m"(d), "r"((unsigned long)type)
                     : "cc", "memory");
    return INV_STATUS(cf, zf);
}

int invvpid(unsigned long type, u16 vpid, u64 linear)
{
    struct inv_descriptor d = {vpid, linear};
    u8 cf, zf;
    __asm__ volatile("invvpid %2, %3\n\tsetc %0\n\tsetz %1"
                     : "=qm"(cf), "=qm"(zf)
                     : "m"(d), "r"(type)
                     : "cc", "memory");
    return INV_STATUS(cf, zf);
}

int ept_flush(const struct ept *e)
{
    if (vmx_caps.ept_vpid & EPT_CAP_INVEPT_SINGLE)
        return invept(INVEPT_SINGLE, e->eptp);
    return invept(INVEPT_ALL, 0);
}

bool vcpu_use_ept(struct vcpu *v, const struct ept *e, u16 vpid)
{
    u32 wanted = (e ? CPU2_ENABLE_EPT : 0) | (vpid ? CPU2_ENABLE_VPID : 0);
    u32 proc, proc2, missing;

    if (!wanted && !(vmx_caps.proc.allowed1 & CPU_ACTIVATE_SECONDARY_CONTROLS))
        return true; /* no secondary controls (LHV's own L0 without them): nothing to clear */
    if (!vmx_adjust(&vmx_caps.proc, (u32)vmr(CPU_BASED_VM_EXEC_CONTROL) |
                                        CPU_ACTIVATE_SECONDARY_CONTROLS, &proc, &missing) ||
        !vmx_adjust(&vmx_caps.proc2, wanted, &proc2, &missing)) {
        snprintf(v->why, sizeof(v->why), "EPT/VPID controls: the CPU does not allow bits 0x%x",
                 missing);
        return false;
    }
    vmw(CPU_BASED_VM_EXEC_CONTROL, proc);
    vmw(SECONDARY_VM_EXEC_CONTROL, proc2);
    if (e)
        vmw(EPT_POINTER, e->eptp);
    if (vpid)
        vmw(VIRTUAL_PROCESSOR_ID, vpid);
#ifndef __x86_64__
    /* A PAE guest under EPT gets its PDPTEs from these fields on VM entry
     * rather than from memory (27.3.2.4): the PDPT is at CR3 bits 31:5. */
    if (e && (vmr(GUEST_CR4) & CR4_PAE)) {
        const u64 *pdpt = (const u64 *)(uintptr_t)(vmr(GUEST_CR3) & ~0x1full);
        vmw(GUEST_PDPTE0, pdpt[0]);
        vmw(GUEST_PDPTE1, pdpt[1]);
        vmw(GUEST_PDPTE2, pdpt[2]);
        vmw(GUEST_PDPTE3, pdpt[3]);
    }
#endif
    return true;
}
