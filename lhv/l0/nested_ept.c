/* Nested VMX, the secondary controls (docs/l0.md "Nested VMX"): what L1
 * is offered in IA32_VMX_PROCBASED_CTLS2 and IA32_VMX_EPT_VPID_CAP, and
 * EPT02, L1's EPT (EPT12) composed with the L0's.
 *
 * Part of nested.c's translation unit (build/unity/lhv-l0.c includes the
 * files of lhv/l0 in name order): it uses nested.c's static helpers.
 *
 * EPT02 is a shadow built lazily, per CPU, in pages of the L0's pool: it
 * starts empty, an EPT violation of VMCS02 walks EPT12 for the address
 * (entries read only where they are RAM of L1's map: elsewhere they read
 * all ones, a misconfiguration) and either reflects the violation or
 * misconfiguration to L1 (28.2.1, table 28-7) or installs a 4 KiB
 * translation with EPT12's permissions and memory type, to the host page
 * the L0's EPT gives, and resumes L2. It is dropped on INVEPT of its
 * context or all contexts, on a new EP4TA and when its pages run out. */
#include "l0/l0.h"

#ifdef __x86_64__

#define EPT02_PAGES 48 /* per CPU: the PML4 and the tables below it */
#define EPT12_NONE (~0ull)

/* What L1 may set besides EPT, VPID and unrestricted guest: each exits or
 * acts in L2 as the CPU makes it, with nothing of the L0's in between */
#define PROC2_OFFER (CPU2_ENABLE_EPT | CPU2_ENABLE_VPID | CPU2_UNRESTRICTED_GUEST | \
                     CPU2_DESCRIPTOR_TABLE_EXITING | CPU2_ENABLE_RDTSCP |               \
                     CPU2_WBINVD_EXITING | CPU2_ENABLE_INVPCID | CPU2_ENABLE_XSAVES)
/* No A/D flags, advanced exit information, 5-level walks, #VE */
#define EPT_VPID_OFFER (EPT_CAP_EXEC_ONLY | EPT_CAP_WALK_4 | EPT_CAP_UC | EPT_CAP_WB |      \
                        EPT_CAP_2M | EPT_CAP_1G | EPT_CAP_INVEPT | EPT_CAP_INVEPT_SINGLE | \
                        EPT_CAP_INVEPT_ALL | VPID_CAP_INVVPID | VPID_CAP_INDIVIDUAL |      \
                        VPID_CAP_SINGLE | VPID_CAP_ALL | VPID_CAP_SINGLE_GLOBALS)
/* The qualification bits the L0 passes from VMCS02's exit: the access,
 * the guest-linear address's validity and kind, NMI unblocking by IRET */
#define QUAL_PASSED (EPT_QUAL_READ | EPT_QUAL_WRITE | EPT_QUAL_FETCH | EPT_QUAL_LINEAR_VALID | \
                     EPT_QUAL_TRANSLATION | (1ull << 12))

struct ept02 {
    u64 ep4ta;        /* EPT12's PML4 address it shadows; EPT12_NONE: empty */
    u64 *page[EPT02_PAGES];
    u32 used;         /* page[0] is the PML4 */
    u64 last_gpa;     /* fills of one page again and again, no drop between: FATAL */
    u32 repeats;
};

static struct ept02 ept02[LHV_MAX_CPUS];
struct l0_ept02_counts l0_ept02_counts[LHV_MAX_CPUS];

static u64 ept_vpid_offer(void) { return vmx_caps.ept_vpid & EPT_VPID_OFFER; }

bool l0_nested_msr2(u32 msr, u64 *value)
{
    if (msr == MSR_IA32_VMX_PROCBASED_CTLS2)
        *value = (u64)(vmx_caps.proc2.allowed1 & PROC2_OFFER) << 32;
    else if (msr == MSR_IA32_VMX_EPT_VPID_CAP)
        *value = ept_vpid_offer();
    else
        return false; /* IA32_VMX_VMFUNC: no VM functions */
    return true;
}

/* INVEPT of EPT02 on this CPU (the L0 needs one of the two types) */
static void flush02(struct ept02 *s)
{
    u64 eptp = (uintptr_t)s->page[0] | EPTP_TYPE_WB | EPTP_WALK_4;
    if (invept(vmx_caps.ept_vpid & EPT_CAP_INVEPT_SINGLE ? INVEPT_SINGLE : INVEPT_ALL, eptp) !=
        VMX_OK)
        fatal("nested VMX: INVEPT of EPT02 failed");
}

void l0_ept02_drop(u32 cpu, u64 ep4ta)
{
    struct ept02 *s = &ept02[cpu];
    if (!s->page[0] || (ep4ta != EPT12_NONE && ep4ta != s->ep4ta))
        return;
    memset(s->page[0], 0, PAGE_SIZE);
    s->used = 1;
    s->ep4ta = EPT12_NONE;
    s->last_gpa = ~0ull; /* a fill after a drop is no repeat */
    l0_ept02_counts[cpu].drops++;
    flush02(s);
}

u64 l0_ept02_eptp(u32 cpu, u64 eptp12)
{
    struct ept02 *s = &ept02[cpu];
    if (!s->page[0]) {
        for (u32 i = 0; i < EPT02_PAGES; i++)
            s->page[i] = alloc_pages(1);
        s->ep4ta = EPT12_NONE;
    }
    if ((eptp12 & EPT_ADDR_MASK) != s->ep4ta) {
        l0_ept02_drop(cpu, EPT12_NONE);
        s->ep4ta = eptp12 & EPT_ADDR_MASK;
    }
    return (uintptr_t)s->page[0] | EPTP_TYPE_WB | EPTP_WALK_4;
}

/* An entry of EPT12 that the processor would refuse (29.3.3.1): level 4
 * PML4E .. 1 PTE; leaf: it maps a page */
static bool misconfigured(u64 e, int level, bool leaf)
{
    u64 caps = ept_vpid_offer(), type = (e & EPT_TYPE_MASK) >> EPT_TYPE_SHIFT;
    if ((e & (EPT_READ | EPT_WRITE)) == EPT_WRITE ||
        ((e & EPT_RWX) == EPT_EXEC && !(caps & EPT_CAP_EXEC_ONLY)) ||
        (e & EPT_ADDR_MASK) >> maxphyaddr())
        return true;
    if (!leaf)
        return e & 0xf8; /* bits 7:3 */
    if (type == 2 || type == 3 || type == 7)
        return true;
    return level > 1 && (e & EPT_ADDR_MASK & ((1ull << (12 + 9 * (level - 1))) - 1));
}

/* Walks EPT12 for gpa: 0 a translation (*leaf, *size), or the exit L1
 * gets: EXIT_REASON_EPT_VIOLATION (*perms: what the entries allowed, the
 * AND of their bits 2:0) or EXIT_REASON_EPT_MISCONFIG */
static u32 walk12(u64 ep4ta, u64 gpa, u32 access, u64 *leaf, u64 *size, u64 *perms)
{
    u64 caps = ept_vpid_offer(), table = ep4ta, e = 0;
    *perms = EPT_RWX;
    for (int level = 4; level >= 1; level--) {
        phys_copy(table + ((gpa >> (12 + 9 * (level - 1))) & 511) * 8, &e, 8, false);
        if (!(e & EPT_RWX)) {
            *perms = 0;
            return EXIT_REASON_EPT_VIOLATION;
        }
        bool big = (e & EPT_LARGE) && ((level == 2 && (caps & EPT_CAP_2M)) ||
                                       (level == 3 && (caps & EPT_CAP_1G)));
        if (misconfigured(e, level, level == 1 || big))
            return EXIT_REASON_EPT_MISCONFIG;
        *perms &= e & EPT_RWX;
        if (level == 1 || big) {
            *leaf = e;
            *size = 1ull << (12 + 9 * (level - 1));
            return (access & ~*perms) ? EXIT_REASON_EPT_VIOLATION : 0;
        }
        table = e & EPT_ADDR_MASK;
    }
    return 0; /* not reached */
}

/* The EPT02 entry for gpa's 4 KiB page, tables added; NULL: no pages left */
static u64 *entry02(struct ept02 *s, u64 gpa)
{
    u64 *t = s->page[0];
    for (int level = 4; level > 1; level--) {
        u64 *e = &t[(gpa >> (12 + 9 * (level - 1))) & 511];
        if (!(*e & EPT_RWX)) {
            if (s->used == EPT02_PAGES)
                return NULL;
            u64 *n = s->page[s->used++];
            memset(n, 0, PAGE_SIZE);
            *e = (uintptr_t)n | EPT_RWX;
        }
        t = (u64 *)(uintptr_t)(*e & EPT_ADDR_MASK);
    }
    return &t[(gpa >> 12) & 511];
}

/* L2 resumes where the violation stopped it: an event it was delivering is
 * delivered again, NMIs unblocked by its IRET blocked again (27.2.3, 28.2.3) */
static void resume_l2(u64 qual)
{
    u32 idt = (u32)vmr(IDT_VECTORING_INFO_FIELD);
    if (idt & INTR_INFO_VALID) {
        vmw(VM_ENTRY_INTR_INFO_FIELD, idt & (INTR_INFO_VALID | 0xfffu) & ~(u32)(1u << 12));
        vmw(VM_ENTRY_EXCEPTION_ERROR_CODE, vmr(IDT_VECTORING_ERROR_CODE));
        vmw(VM_ENTRY_INSTRUCTION_LEN, vmr(VM_EXIT_INSTRUCTION_LEN));
    } else if (qual & (1ull << 12)) {
        vmw(GUEST_INTERRUPTIBILITY_INFO, vmr(GUEST_INTERRUPTIBILITY_INFO) | INTR_BLOCKING_NMI);
    }
}

static __attribute__((noreturn)) void not_l1s(struct l0_vcpu *v, u32 reason, u64 gpa)
{
    char state[220];
    l0_guest_state_line(state, sizeof(state));
    fatal("nested VMX: L2 on CPU %u touched guest-physical 0x%llx, which is not L1's memory "
          "(exit %u, qualification 0x%llx); %s", v->cpu, gpa, reason,
          vmr(EXIT_QUALIFICATION), state);
}

bool l0_ept02_exit(struct l0_vcpu *v, u8 *img, u32 *reason12, u64 *qual12)
{
    struct ept02 *s = &ept02[v->cpu];
    u32 proc = (u32)field_get(img, ecm_slot(CPU_BASED_VM_EXEC_CONTROL));
    u32 proc2 = (u32)field_get(img, ecm_slot(SECONDARY_VM_EXEC_CONTROL));
    u32 reason = *reason12 & 0xffff;
    u64 leaf, size, perms;
    int level;

    if (reason != EXIT_REASON_EPT_VIOLATION && reason != EXIT_REASON_EPT_MISCONFIG)
        return false;
    u64 gpa = vmr(GUEST_PHYSICAL_ADDRESS), qual = vmr(EXIT_QUALIFICATION);
    /* Without EPT12, L2's guest-physical addresses are L1's: the L0's EPT
     * refused one (the hidden range); EPT02 holds only valid entries */
    if (!(proc & CPU_ACTIVATE_SECONDARY_CONTROLS) || !(proc2 & CPU2_ENABLE_EPT) ||
        reason == EXIT_REASON_EPT_MISCONFIG)
        not_l1s(v, reason, gpa);
    u32 access = (u32)(qual & (EPT_QUAL_READ | EPT_QUAL_WRITE | EPT_QUAL_FETCH));
    u32 r = walk12(s->ep4ta, gpa, access, &leaf, &size, &perms);
    if (r) {
        *qual12 = r == EXIT_REASON_EPT_MISCONFIG ? 0 : (qual & QUAL_PASSED) | perms << 3;
        l0_ept02_counts[v->cpu].reflected++;
        *reason12 = (*reason12 & ~0xffffu) | r;
        return false;
    }
    u64 gpa1 = (leaf & EPT_ADDR_MASK & ~(size - 1)) | (gpa & (size - 1));
    u64 *e01 = ept_entry(&l0_mem.ept, gpa1, &level);
    if (!e01 || (*e01 & EPT_RWX) != EPT_RWX)
        not_l1s(v, reason, gpa1);
    u64 hpa = (*e01 & EPT_ADDR_MASK & ~((1ull << (12 + 9 * (level - 1))) - 1)) |
              (gpa1 & ((1ull << (12 + 9 * (level - 1))) - 1) & ~0xfffull);
    u64 *e02 = entry02(s, gpa);
    if (!e02) { /* full: start again */
        u64 ep4ta = s->ep4ta;
        l0_ept02_drop(v->cpu, EPT12_NONE);
        s->ep4ta = ep4ta;
        e02 = entry02(s, gpa);
    }
    bool had = *e02 & EPT_RWX;
    *e02 = hpa | (perms & *e01 & EPT_RWX) | (leaf & (EPT_TYPE_MASK | EPT_IGNORE_PAT));
    if (had)
        flush02(s); /* more permissions than before: the old entry may be cached */
    if (gpa >> 12 == s->last_gpa >> 12 && ++s->repeats > 8)
        fatal("nested VMX: CPU %u: EPT violations at L2's guest-physical 0x%llx go on "
              "(qualification 0x%llx, EPT02 entry 0x%llx)", v->cpu, gpa, qual, *e02);
    if (gpa >> 12 != s->last_gpa >> 12)
        s->repeats = 0;
    s->last_gpa = gpa;
    l0_ept02_counts[v->cpu].fills++;
    resume_l2(qual);
    return true;
}
#endif
