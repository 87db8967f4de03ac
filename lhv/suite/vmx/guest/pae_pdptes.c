/* vmx/pae-pdptes: where a PAE guest's PDPTEs come from (SDM 3C 27.3.2.4,
 * 28.3.4; 3A 4.4.1). A 32-bit guest (also on the amd64 host) with PAE
 * paging through tables of its own reads linear PP_LINEAR, which its
 * PDPTE 3 in memory maps to page B and the VMCS's GUEST_PDPTE3 field to
 * page A. With EPT, VM entry loads the PDPTEs from the VMCS fields (the
 * guest reads A) and the exit saves them back; after the guest's MOV to
 * CR3 they are memory's (it reads B, the exit saves PDPTE 3 of memory).
 * Without EPT, entry loads them from the guest's CR3 (it reads B). */
#include "alloc.h"
#include "pagetable.h"
#include "cpu.h"
#include "suite/vmx_test.h"
#include "vmx/ept.h"
#include "guest_paging.h"
#include "x86.h"

#define PP_LINEAR 0xc0000000u  /* the first 4 KiB of the fourth GiB */
#define PP_REPORT 0x0f01u      /* the guest's report: EBX the word it read */
#define PP_WORD_A 0x0a0a0a0au  /* the page PDPTR3 of the VMCS leads to */
#define PP_WORD_B 0x0b0b0b0bu  /* the page PDPTE 3 in memory leads to */
#define PP_PAGES 9             /* PDPT, 4 PDs, PD 3', 2 PTs, A ... */

/* The 32-bit guest: the word at PP_LINEAR, MOV to CR3, the word again */
__asm__(".pushsection .text\n"
        ".code32\n"
        "pp_guest32:\n\t"
        "mov 0xc0000000, %ebx\n\t"
        "mov $0x0f01, %eax\n\t"
        "vmcall\n\t"
        "mov %cr3, %ecx\n"
        "pp_at_cr3:\n\t"
        "mov %ecx, %cr3\n"
        "pp_after_cr3:\n\t"
        "mov 0xc0000000, %ebx\n\t"
        "mov $0x0f01, %eax\n\t"
        "vmcall\n\t"
        "xor %eax, %eax\n\t"  /* HC_DONE */
        "vmcall\n\t"
        "ud2\n"
#ifdef __x86_64__
        ".code64\n"
#endif
        ".popsection");
extern const char pp_guest32[], pp_at_cr3[], pp_after_cr3[];

/* One CPU's guest tables: PDPT, PD 0-3 of 2 MiB identity pages but for
 * PD 3's first entry (a PT whose first page is B), PD 3' like PD 3 but for
 * a PT whose first page is A */
struct pp_tables {
    u64 *pdpt, *pd3_alt;
    u32 *page_a, *page_b;
};

struct pp_seen {
    u32 words[2];
    u64 pdptr3[2]; /* GUEST_PDPTE3 at each report (with EPT) */
    u32 reports;
    bool ept;
    u64 mtf_pdpte3[2]; /* GUEST_PDPTE3 at the MTF exits before and after MOV to CR3 */
    u32 mtf_exits, mtf_seen;
};

static void pp_build(struct pp_tables *t)
{
    u8 *mem = alloc_pages(PP_PAGES);
    u64 *pd[4], *pt_b = (u64 *)(mem + 6 * PAGE_SIZE), *pt_a = (u64 *)(mem + 7 * PAGE_SIZE);

    t->pdpt = (u64 *)mem;
    t->pd3_alt = (u64 *)(mem + 5 * PAGE_SIZE);
    t->page_a = (u32 *)(mem + 8 * PAGE_SIZE);
    t->page_b = alloc_pages(1);
    for (u32 i = 0; i < 4; i++) {
        pd[i] = (u64 *)(mem + (1 + i) * PAGE_SIZE);
        t->pdpt[i] = (uintptr_t)pd[i] | PTE_P;
        for (u64 k = 0; k < 512; k++)
            pd[i][k] = ((u64)i << 30 | k << 21) | PTE_P | PTE_RW | PTE_PS;
    }
    for (u32 k = 0; k < 512; k++)
        t->pd3_alt[k] = pd[3][k];
    pt_b[0] = (uintptr_t)t->page_b | PTE_P | PTE_RW;
    pt_a[0] = (uintptr_t)t->page_a | PTE_P | PTE_RW;
    pd[3][0] = (uintptr_t)pt_b | PTE_P | PTE_RW;
    t->pd3_alt[0] = (uintptr_t)pt_a | PTE_P | PTE_RW;
    *t->page_a = PP_WORD_A;
    *t->page_b = PP_WORD_B;
}

static enum exit_action pp_hook(struct vcpu *v, u32 reason)
{
    struct pp_seen *s = v->test_data;

    if (reason != EXIT_REASON_VMCALL || (u32)REG_AX(v) != PP_REPORT)
        return EXIT_DEFAULT;
    if (s->reports < 2) {
        s->words[s->reports] = (u32)REG_BX(v);
        if (s->ept) /* the fields exist where EPT does (25.4.2) */
            s->pdptr3[s->reports] = vmr(GUEST_PDPTE3);
    }
    s->reports++;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

/* The test guest made a 32-bit guest with PAE paging through t */
void guest_make_32bit(void)
{
#ifdef __x86_64__
    u32 entry = (u32)vmr(VM_ENTRY_CONTROLS) & ~ENTRY_IA32E_MODE_GUEST;
    vmw(VM_ENTRY_CONTROLS, entry);
    if (entry & ENTRY_LOAD_IA32_EFER)
        vmw(GUEST_IA32_EFER, rdmsr(MSR_IA32_EFER) & ~(u64)(EFER_LME | EFER_LMA));
    /* CS of the same selector, 32-bit: D/B instead of L */
    vmw(GUEST_CS_AR_BYTES, (vmr(GUEST_CS_AR_BYTES) & ~(u64)AR_L) | AR_DB);
#endif
}

struct ept *guest_identity_ept(void)
{
    static struct ept epts[LHV_MAX_CPUS];
    static struct mtrr_state mtrrs[LHV_MAX_CPUS];
    struct ept *e = &epts[this_cpu()->index];

    if (!e->pml4) {
        mtrr_read(&mtrrs[this_cpu()->index]);
        ept_build_identity(e, &mtrrs[this_cpu()->index], ept_identity_top());
    }
    return e;
}

static void pp_guest_state(const struct pp_tables *t, bool ept)
{
    vmw(GUEST_CR3, (uintptr_t)t->pdpt);
    vmw(GUEST_CR4, vmx_caps.cr4_fixed0 | CR4_PAE);
    vmw(CR4_READ_SHADOW, CR4_PAE);
    guest_make_32bit();
    /* PDPTE 3 of the VMCS leads to A; the others are memory's. The fields
     * exist only where EPT does (SDM 3C 25.4.2): without, entry ignores
     * them anyway. */
    for (u32 i = 0; ept && i < 4; i++)
        vmw(GUEST_PDPTE0 + 2 * i, i == 3 ? (uintptr_t)t->pd3_alt | PTE_P : t->pdpt[i]);
}

static bool pp_run(struct cpu_outcome *o, const struct pp_tables *t, struct ept *e,
                   struct pp_seen *s, exit_hook hook, u32 proc)
{
    struct vcpu *v = test_guest(o);

    if (!v)
        return false;
    if (!vcpu_use_ept(v, e, 0)) {
        outcome_fail(o, "EPT: %s", v->why);
        return false;
    }
    s->ept = e != NULL;
    pp_guest_state(t, s->ept);
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, proc);
    v->hook = hook;
    v->test_data = s;
    if (!test_guest_run_at(o, v, (uintptr_t)pp_guest32, 0, 0))
        return false;
    return CHECK_EQ(o, s->reports, 2);
}

static struct pp_tables pp_cpu_tables[LHV_MAX_CPUS];

static void check_pae_pdptes(struct cpu_outcome *o, void *arg)
{
    struct pp_tables *t = &pp_cpu_tables[this_cpu()->index];
    const char *no_ept = ept_unsupported();
    struct pp_seen s = {0};
    (void)arg;

    if (vmx_unavailable())
        return outcome_skip(o, "%s", vmx_unavailable());
    if (!t->pdpt)
        pp_build(t);
    /* Without EPT: memory's PDPTEs from the start (what the exit leaves in
     * the fields is undefined then, 28.3.4) */
    if (!pp_run(o, t, NULL, &s, pp_hook, 0) || !CHECK_EQ(o, s.words[0], PP_WORD_B) ||
        !CHECK_EQ(o, s.words[1], PP_WORD_B))
        return;
    if (no_ept)
        return outcome_skip(o, "(without EPT: passed) %s", no_ept);
    s = (struct pp_seen){0};
    if (!pp_run(o, t, guest_identity_ept(), &s, pp_hook, 0) ||
        !CHECK_EQ(o, s.words[0], PP_WORD_A) ||
        !CHECK_EQ(o, s.pdptr3[0], (uintptr_t)t->pd3_alt | PTE_P) ||
        !CHECK_EQ(o, s.words[1], PP_WORD_B))
        return;
    CHECK_EQ(o, s.pdptr3[1], t->pdpt[3]);
}
VMX_TEST_ALL_CPUS("vmx/pae-pdptes", check_pae_pdptes);

/* vmx/mtf-pae-pdptes: the same guest with EPT and the monitor trap flag
 * (25.6.2, 26.5.2): every instruction ends in an MTF exit, and each exit
 * saves the PDPTEs the guest uses (28.3.4): at the exit after MOV CR3,
 * ECX the VMCS's PDPTE 3 still; at the one after MOV to CR3, memory's. */
static enum exit_action pp_mtf_hook(struct vcpu *v, u32 reason)
{
    struct pp_seen *s = v->test_data;
    if (reason != EXIT_REASON_MONITOR_TRAP_FLAG)
        return pp_hook(v, reason);
    uintptr_t rip = (uintptr_t)vmr(GUEST_RIP);
    for (u32 i = 0; i < 2; i++)
        if (rip == (uintptr_t)(i ? pp_after_cr3 : pp_at_cr3)) {
            s->mtf_pdpte3[i] = vmr(GUEST_PDPTE3);
            s->mtf_seen |= 1u << i;
        }
    s->mtf_exits++;
    return EXIT_RESUME;
}

static void check_mtf_pae_pdptes(struct cpu_outcome *o, void *arg)
{
    struct pp_tables *t = &pp_cpu_tables[this_cpu()->index];
    const char *no_ept = ept_unsupported();
    struct pp_seen s = {0};
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_MONITOR_TRAP_FLAG, "monitor trap flag"))
        return;
    if (no_ept)
        return outcome_skip(o, "%s", no_ept);
    if (!t->pdpt)
        pp_build(t);
    if (!pp_run(o, t, guest_identity_ept(), &s, pp_mtf_hook, CPU_MONITOR_TRAP_FLAG))
        return;
    /* Bochs 2.7 (docs/l0-deviations.md, as vmx/mtf-single-step) */
    if (s.mtf_exits == 0 && l0_bochs_deviates(BOCHS_2_7_ONLY))
        return outcome_xfail(o, "%s makes no MTF exit: its VM entry does not arm the monitor "
                             "trap flag", l0_bochs_names(BOCHS_2_7_ONLY));
    if (CHECK_EQ(o, s.mtf_seen, 3) &&
        CHECK_EQ(o, s.mtf_pdpte3[0], (uintptr_t)t->pd3_alt | PTE_P) &&
        CHECK_EQ(o, s.mtf_pdpte3[1], t->pdpt[3]) && CHECK_EQ(o, s.words[0], PP_WORD_A))
        CHECK_EQ(o, s.words[1], PP_WORD_B);
}
VMX_TEST_ALL_CPUS("vmx/mtf-pae-pdptes", check_mtf_pae_pdptes);
