/* The L0's own exits while L2 runs (docs/l0.md "Nested VMX", "The L0's
 * own exits"). VMCS02 carries the L0's intercepts besides L1's, so that L2
 * reaches nothing L1 could not reach itself:
 * - the MSR bitmap is L1's OR the L0's (the x2APIC ICR write, and
 *   IA32_FEATURE_CONTROL and the VMX capability MSRs, which L2 must read
 *   as the L0 emulates them); L1's page is read only where it is RAM of
 *   L1's map: elsewhere (MMIO, the L0's hidden range) the processor finds
 *   all ones (docs/l0.md), so every MSR access exits to L1;
 * - when L1 lets L2 do I/O without exits, the L0's own I/O bitmaps (the
 *   end actions' ports); with L1's I/O bitmaps, theirs OR the L0's.
 * An exit of L2 that L1's controls do not ask for is the L0's: done as
 * for L1 (exits.c, nested.c) and L2 resumed, never reflected.
 * XSETBV exits unconditionally (26.1.2), but its #UD (CR4.OSXSAVE clear)
 * and #GP (CPL > 0) come before the exit (26.1.1, 3A XSETBV); Bochs exits
 * first (docs/l0-deviations.md): the L0 raises the exception in L2, or,
 * when L1's exception bitmap takes it, reflects it as that exception's
 * exit (reason 0) instead of reason 55. */
#include "l0/l0.h"

#ifdef __x86_64__
#include "alloc.h"
#include "desc.h"
#include "string.h"
#include "x86.h"

struct own_cpu {
    u8 *msr_bitmap; /* L1's | the L0's */
    u8 *io_bitmaps; /* A and B: L1's | the L0's */
};
static struct own_cpu own[LHV_MAX_CPUS];

/* L1's page at gpa in host memory; NULL: not RAM of its map (all ones) */
static const u8 *l1_page(u64 gpa)
{
    return l0_guest_ram(gpa, PAGE_SIZE) ? (const u8 *)(uintptr_t)l0_gpa_to_hpa(gpa) : NULL;
}

#define MERGE_WORDS 16
/* The words of the L0's page with a bit set (false: more than
 * MERGE_WORDS: merged word by word) */
static bool merge_index(const u8 **page, u16 *word, u16 *n, const u8 *mine)
{
    const u64 *m = (const u64 *)mine;
    u16 c = 0;
    for (u32 i = 0; i < PAGE_SIZE / 8; i++)
        if (m[i]) {
            if (c == MERGE_WORDS)
                return false;
            word[c++] = (u16)i;
        }
    *n = c;
    *page = mine;
    return true;
}

bool l0_nested_merge_page(u8 *dst, u64 l1_gpa, const u8 *mine)
{
    const u64 *l1 = (const u64 *)l1_page(l1_gpa), *m = (const u64 *)mine;
    u64 *d = (u64 *)dst;
    if (!l1) {
        memset(dst, 0xff, PAGE_SIZE);
        return false;
    }
    /* At every VM entry of L2: L1's page copied (REP MOVSQ: Bochs steps
     * it word by word, a sixth of a loop's instructions), then the words
     * of the L0's page that have a bit set, found once per page */
    static struct { const u8 *page; u16 n, word[MERGE_WORDS]; } sparse[4];
    u32 k = 0;
    while (k < 4 && sparse[k].page && sparse[k].page != mine)
        k++;
    if (k == 4 || (!sparse[k].page && !merge_index(&sparse[k].page, sparse[k].word,
                                                    &sparse[k].n, mine))) {
        for (u32 i = 0; i < PAGE_SIZE / 8; i++)
            d[i] = l1[i] | m[i];
        return true;
    }
    u64 words = PAGE_SIZE / 8;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(l1), "+c"(words) : : "memory");
    for (u32 i = 0; i < sparse[k].n; i++)
        ((u64 *)dst)[sparse[k].word[i]] |= m[sparse[k].word[i]];
    return true;
}

static u8 *page(u8 **p, u32 n)
{
    if (!*p)
        *p = alloc_pages(n);
    return *p;
}

void l0_nested_own_vmcs02(struct l0_vcpu *v)
{
    struct own_cpu *o = &own[v->cpu];
    u32 proc12 = (u32)l0_nested_vmcs12(v, CPU_BASED_VM_EXEC_CONTROL);
    u32 proc = (u32)vmr(CPU_BASED_VM_EXEC_CONTROL);

    if (proc12 & CPU_USE_MSR_BITMAPS) {
        bool ram = l0_nested_merge_page(page(&o->msr_bitmap, 1),
                                        l0_nested_vmcs12(v, MSR_BITMAP), l0_msr_bitmap);
        /* L2's x2APIC ICR writes as L1's bitmap has them: the L0's INIT rule
         * is for the CPUs of L1 that wait for their SIPI, which L2 does not
         * start. Intercepted here, an L2 self-IPI under L1's external-
         * interrupt exiting never came to L1 as that exit (vmx/external-
         * interrupt-exiting FAILed in l0-nested-ctl-*): the L0 sent it in
         * root operation with IF=0 and resumed L2 with IF=0, which Bochs
         * keeps masked (docs/l0-deviations.md, the row of
         * vmx/multi-ipi-pending-at-entry) */
        u32 icr = 2048 * 8 + X2APIC_MSR_BASE + (LAPIC_REG_ICR_LOW >> 4);
        const u8 *l1 = ram ? l1_page(l0_nested_vmcs12(v, MSR_BITMAP)) : NULL;
        if (l1 && !((l1[icr / 8] >> (icr % 8)) & 1))
            o->msr_bitmap[icr / 8] &= (u8)~(1u << (icr % 8));
        vmw(MSR_BITMAP, (uintptr_t)o->msr_bitmap);
    }
    if (proc12 & CPU_USE_IO_BITMAPS) {
        u8 *io = page(&o->io_bitmaps, 2);
        l0_nested_merge_page(io, l0_nested_vmcs12(v, IO_BITMAP_A), l0_io_bitmaps);
        l0_nested_merge_page(io + PAGE_SIZE, l0_nested_vmcs12(v, IO_BITMAP_B),
                             l0_io_bitmaps + PAGE_SIZE);
        vmw(IO_BITMAP_A, (uintptr_t)io);
        vmw(IO_BITMAP_B, (uintptr_t)io + PAGE_SIZE);
    } else if (!(proc12 & CPU_UNCONDITIONAL_IO_EXITING)) {
        vmw(IO_BITMAP_A, (uintptr_t)l0_io_bitmaps);
        vmw(IO_BITMAP_B, (uintptr_t)l0_io_bitmaps + PAGE_SIZE);
        vmw(CPU_BASED_VM_EXEC_CONTROL, proc | CPU_USE_IO_BITMAPS);
    }
    l0_nested_init_vmcs02(v); /* the timer that finds a pending INIT */
}

/* A bit of L1's bitmap page (all ones where it is not RAM) */
static bool l1_bit(u64 gpa, u32 bit)
{
    const u8 *p = l1_page(gpa);
    return !p || (p[bit / 8] >> (bit % 8)) & 1;
}

/* 26.1.3: an MSR access exits by L1's MSR bitmap, or always without one
 * or outside its two ranges */
static bool l1_wants_msr(struct l0_vcpu *v, u32 msr, bool write)
{
    u64 bm = l0_nested_vmcs12(v, MSR_BITMAP);
    if (!(l0_nested_vmcs12(v, CPU_BASED_VM_EXEC_CONTROL) & CPU_USE_MSR_BITMAPS))
        return true;
    if (msr >= 0xc0000000u && msr <= 0xc0001fffu)
        return l1_bit(bm + (write ? 3072 : 1024), msr - 0xc0000000u);
    if (msr <= 0x1fffu)
        return l1_bit(bm + (write ? 2048 : 0), msr);
    return true;
}

/* 26.1.3: I/O exits unconditionally, or by L1's I/O bitmaps (any byte of
 * the access, a wrap past 0xffff always) */
static bool l1_wants_io(struct l0_vcpu *v, u64 qual)
{
    u32 proc12 = (u32)l0_nested_vmcs12(v, CPU_BASED_VM_EXEC_CONTROL);
    u32 port = (u32)(qual >> 16), size = (u32)(qual & IO_QUAL_SIZE_MASK) + 1;
    if (!(proc12 & CPU_USE_IO_BITMAPS))
        return proc12 & CPU_UNCONDITIONAL_IO_EXITING;
    for (u32 p = port; p < port + size; p++)
        if (p > 0xffff || l1_bit(l0_nested_vmcs12(v, p < 0x8000 ? IO_BITMAP_A : IO_BITMAP_B),
                                 p & 0x7fff))
            return true;
    return false;
}

/* XSETBV of L2: the exception that comes before its exit, or 0 */
static u32 xsetbv_fault(void)
{
    if (!(vmr(GUEST_CR4) & CR4_OSXSAVE))
        return INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD);
    if ((vmr(GUEST_SS_AR_BYTES) >> 5) & 3)
        return INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_GP) | INTR_INFO_DELIVER_CODE;
    return 0;
}

u32 l0_nested_own_exit(struct l0_vcpu *v, u32 reason)
{
    struct l0_nested_counts *n = &l0_nested_counts[v->cpu];
    u64 qual = vmr(EXIT_QUALIFICATION);
    u32 msr = (u32)v->regs.rcx;

    switch (reason) {
    case EXIT_REASON_PREEMPTION_TIMER: /* the L0's look for an INIT, or L1's */
        return l0_nested_init_exit(v);
    case EXIT_REASON_XSETBV: {
        u32 info = xsetbv_fault();
        if (!info)
            return 0;
        n->l2_own++, n->l2_own_reasons |= 1ull << reason; /* reasons < 64 */
        if ((l0_nested_vmcs12(v, EXCEPTION_BITMAP) >> (info & 0xff)) & 1)
            return info; /* L1 takes it: reflected as an exception exit */
        vmw(VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
        vmw(VM_ENTRY_INTR_INFO_FIELD, info);
        return L0_OWN_DONE;
    }
    case EXIT_REASON_IO_INSTRUCTION:
        if (l1_wants_io(v, qual))
            return 0;
        n->l2_own++, n->l2_own_reasons |= 1ull << reason; /* reasons < 64 */
        l0_exit_io(v, qual);
        return L0_OWN_DONE;
    case EXIT_REASON_MSR_READ:
    case EXIT_REASON_MSR_WRITE:
        if (l1_wants_msr(v, msr, reason == EXIT_REASON_MSR_WRITE))
            return 0;
        n->l2_own++, n->l2_own_reasons |= 1ull << reason; /* reasons < 64 */
        if (!l0_nested_exit(v, reason)) /* the VMX MSRs as L1 sees them */
            l0_exit_icr_write(v);
        return L0_OWN_DONE;
    default:
        return 0;
    }
}
#endif
