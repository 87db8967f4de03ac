/* Task switches of a 32-bit guest (SDM 3A 7.3), which exit unconditionally
 * (3C 26.1.2): the i386 LHV gives #DF and NMI their own tasks through task
 * gates and returns from them with IRET. The L0 does what the processor
 * would: save the state into the old TSS, load it from the new one, mark
 * busy flags, link and NT, set CR0.TS, push the event's error code.
 * Guest-linear addresses (GDT, TSS, stack) go through the guest's own
 * paging (none, 32-bit or PAE) and then the L0's EPT map. 32-bit TSSs only;
 * anything else is FATAL, as an unexpected exit is. */
#include "l0/l0.h"

#ifdef __x86_64__
#include "cpu.h"
#include "end.h"
#include "string.h"
#include "pagetable.h"
#include "x86.h"

#define TSS_LINK 0x00
#define TSS_CR3 0x1c
#define TSS_EIP 0x20
#define TSS_EFLAGS 0x24
#define TSS_EAX 0x28 /* then ECX EDX EBX ESP EBP ESI EDI */
#define TSS_ES 0x48  /* then CS SS DS FS GS, 4 bytes apart */
#define TSS_LDT 0x60
#define TSS32_MIN_LIMIT 0x67
#define DESC_TYPE_BUSY (1u << 9) /* in the descriptor's high word: available 9, busy 11 */
#define EFLAGS_NT (1u << 14)
#define TS_SOURCE_CALL 0
#define TS_SOURCE_IRET 1
#define TS_SOURCE_JMP 2
#define TS_SOURCE_GATE 3

/* What stopped the walk, per CPU: the guests' CPUs walk at once (nested
 * VMX operands with 2+ CPUs: a shared one gave a CPU the other's #PF) */
static const char *faults[LHV_MAX_CPUS];
#define fault faults[this_cpu()->index]
static const char not_mapped[] = "a guest-linear address its page tables do not map";

static u64 phys(u64 gpa)
{
    u64 hpa = l0_gpa_to_hpa(gpa);
    if (hpa == ~0ull && !fault)
        fault = "a guest-physical address outside its memory";
    return hpa;
}

static u64 read_phys64(u64 gpa)
{
    u64 hpa = phys(gpa);
    return hpa == ~0ull ? 0 : *(volatile u64 *)(uintptr_t)hpa;
}

/* The guest's own paging, as its CR0/CR4 say (no IA-32e: no task switches there) */
static u64 linear_to_gpa(u64 la)
{
    u64 cr3 = vmr(GUEST_CR3);
    if (!(vmr(GUEST_CR0) & CR0_PG))
        return la & 0xffffffffull;
    if (vmr(GUEST_IA32_EFER) & EFER_LMA) { /* 4-level (nested.c's operands) */
        u64 e = cr3;
        for (int shift = 39; shift >= 12; shift -= 9) {
            e = read_phys64((e & 0xffffffffff000ull) + ((la >> shift) & 511) * 8);
            if (!(e & PTE_P))
                goto not_present;
            if (shift != 12 && shift != 39 && (e & PTE_PS))
                return (e & 0xffffffffff000ull & ~((1ull << shift) - 1)) |
                       (la & ((1ull << shift) - 1));
        }
        return (e & 0xffffffffff000ull) | (la & 0xfff);
    }
    if (vmr(GUEST_CR4) & CR4_PAE) {
        u64 pdpte = vmr(GUEST_PDPTE0 + 2 * ((la >> 30) & 3));
        u64 pde = read_phys64((pdpte & 0xffffffffff000ull) + ((la >> 21) & 511) * 8);
        if (!(pdpte & PTE_P) || !(pde & PTE_P))
            goto not_present;
        if (pde & PTE_PS)
            return (pde & 0xfffffffe00000ull) | (la & 0x1fffff);
        u64 pte = read_phys64((pde & 0xffffffffff000ull) + ((la >> 12) & 511) * 8);
        if (!(pte & PTE_P))
            goto not_present;
        return (pte & 0xffffffffff000ull) | (la & 0xfff);
    }
    u32 pde = (u32)read_phys64((cr3 & 0xfffff000) + ((la >> 22) & 1023) * 4);
    if (!(pde & PTE_P))
        goto not_present;
    if (pde & PTE_PS)
        return (pde & 0xffc00000u) | (la & 0x3fffff);
    u32 pte = (u32)read_phys64((pde & 0xfffff000u) + ((la >> 12) & 1023) * 4);
    if (!(pte & PTE_P))
        goto not_present;
    return (pte & 0xfffff000u) | (la & 0xfff);
not_present:
    if (!fault)
        fault = not_mapped;
    return ~0ull;
}

/* Guest-linear memory, byte by byte across pages */
static void lin_copy(u64 la, void *buf, u32 n, bool write)
{
    for (u32 i = 0; i < n; i++) {
        u64 gpa = linear_to_gpa(la + i);
        u64 hpa = gpa == ~0ull ? ~0ull : phys(gpa);
        if (hpa == ~0ull)
            return;
        if (write)
            *(volatile u8 *)(uintptr_t)hpa = ((u8 *)buf)[i];
        else
            ((u8 *)buf)[i] = *(volatile u8 *)(uintptr_t)hpa;
    }
}

int l0_guest_copy(u64 la, void *buf, u32 n, bool write)
{
    fault = NULL;
    lin_copy(la, buf, n, write);
    return !fault ? 0 : fault == not_mapped ? 1 : 2;
}

static u32 lin_read32(u64 la)
{
    u32 v = 0;
    lin_copy(la, &v, 4, false);
    return v;
}

static void lin_write32(u64 la, u32 v) { lin_copy(la, &v, 4, true); }

static u64 desc_addr(u16 sel)
{
    return vmr(GUEST_GDTR_BASE) + (sel & ~7u);
}

/* A GDT or LDT descriptor into a guest segment's VMCS fields (accessed
 * set, as loading sets it); a null selector makes it unusable. */
static void load_segment(u32 sel_field, u16 sel)
{
    if ((sel & ~3u) == 0) {
        vmcs_guest_segment(sel_field, sel, 0, 0, AR_UNUSABLE);
        return;
    }
    u64 table = (sel & 4) ? vmr(GUEST_LDTR_BASE) : vmr(GUEST_GDTR_BASE);
    u64 la = table + (sel & ~7u);
    u32 lo = lin_read32(la), hi = lin_read32(la + 4);
    if (sel_field != GUEST_TR_SELECTOR && sel_field != GUEST_LDTR_SELECTOR && (hi & 0x1000) &&
        !(hi & 0x100)) {
        hi |= 0x100; /* accessed */
        lin_write32(la + 4, hi);
    }
    u64 base = (lo >> 16) | ((u64)(hi & 0xff) << 16) | ((u64)(hi >> 24) << 24);
    u32 limit = (lo & 0xffff) | (hi & 0xf0000);
    if (hi & (1u << 23))
        limit = (limit << 12) | 0xfff;
    u32 ar = ((hi >> 8) & 0xff) | (((hi >> 20) & 0xf) << 12);
    vmcs_guest_segment(sel_field, sel, base, limit, ar);
}

static void set_busy(u16 sel, bool busy)
{
    u64 la = desc_addr(sel) + 4;
    u32 hi = lin_read32(la);
    lin_write32(la, busy ? hi | DESC_TYPE_BUSY : hi & ~DESC_TYPE_BUSY);
}

static const u32 seg_fields[6] = {GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR,
                                  GUEST_DS_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR};

const char *l0_task_switch(struct l0_vcpu *v, u64 qual)
{
    u16 new_sel = (u16)qual;
    u32 source = (u32)(qual >> 30) & 3;
    u32 vect = (u32)vmr(IDT_VECTORING_INFO_FIELD);
    u16 old_sel = (u16)vmr(GUEST_TR_SELECTOR);
    u64 old_base = vmr(GUEST_TR_BASE);
    u64 *gprs[8] = {&v->regs.rax, &v->regs.rcx, &v->regs.rdx, &v->regs.rbx, NULL,
                    &v->regs.rbp, &v->regs.rsi, &v->regs.rdi};

    fault = NULL;
    if (vmr(GUEST_IA32_EFER) & EFER_LMA)
        return "a task switch in IA-32e mode";
    u32 hi = lin_read32(desc_addr(new_sel) + 4), lo = lin_read32(desc_addr(new_sel));
    u32 type = (hi >> 8) & 0xf;
    if (fault || (type != 9 && type != 11) || (new_sel & 4))
        return fault ? fault : "a task switch to something but a 32-bit TSS";
    u64 new_base = (lo >> 16) | ((u64)(hi & 0xff) << 16) | ((u64)(hi >> 24) << 24);

    /* The old task's state into its TSS */
    u32 eflags = (u32)vmr(GUEST_RFLAGS);
    u64 eip = vmr(GUEST_RIP);
    if (source != TS_SOURCE_GATE || !(vect & INTR_INFO_VALID))
        eip += vmr(VM_EXIT_INSTRUCTION_LEN); /* CALL, JMP, IRET: after it */
    if (source == TS_SOURCE_IRET)
        eflags &= ~EFLAGS_NT;
    if (source == TS_SOURCE_JMP || source == TS_SOURCE_IRET)
        set_busy(old_sel, false);
    lin_write32(old_base + TSS_EIP, (u32)eip);
    lin_write32(old_base + TSS_EFLAGS, eflags);
    for (u32 i = 0; i < 8; i++)
        lin_write32(old_base + TSS_EAX + 4 * i, i == 4 ? (u32)vmr(GUEST_RSP) : (u32)*gprs[i]);
    for (u32 i = 0; i < 6; i++)
        lin_write32(old_base + TSS_ES + 4 * i, (u32)vmr(seg_fields[i]));

    /* The new task's link and busy flag */
    bool nest = source == TS_SOURCE_CALL || source == TS_SOURCE_GATE;
    if (nest)
        lin_write32(new_base + TSS_LINK, old_sel);
    if (source != TS_SOURCE_IRET)
        set_busy(new_sel, true);

    /* Its state */
    u32 t[26];
    lin_copy(new_base, t, sizeof(t), false);
    if (fault)
        return fault;
    if (vmr(GUEST_CR0) & CR0_PG) {
        vmw(GUEST_CR3, t[TSS_CR3 / 4]);
        if (vmr(GUEST_CR4) & CR4_PAE) {
            for (u32 i = 0; i < 4; i++)
                vmw(GUEST_PDPTE0 + 2 * i, read_phys64((t[TSS_CR3 / 4] & ~0x1fu) + 8 * i));
        }
    }
    vmw(GUEST_RIP, t[TSS_EIP / 4]);
    vmw(GUEST_RFLAGS, (t[TSS_EFLAGS / 4] | (nest ? EFLAGS_NT : 0) | 2));
    for (u32 i = 0; i < 8; i++) {
        if (i == 4)
            vmw(GUEST_RSP, t[TSS_EAX / 4 + 4]);
        else
            *gprs[i] = t[TSS_EAX / 4 + i];
    }
    load_segment(GUEST_LDTR_SELECTOR, (u16)t[TSS_LDT / 4]);
    for (u32 i = 0; i < 6; i++)
        load_segment(seg_fields[i], (u16)t[TSS_ES / 4 + i]);
    load_segment(GUEST_TR_SELECTOR, new_sel);
    vmw(GUEST_TR_AR_BYTES, (vmr(GUEST_TR_AR_BYTES) & ~0xfull) | 11);
    vmw(GUEST_CR0, vmr(GUEST_CR0) | CR0_TS);

    /* The event that took the gate: delivered now (its error code on the
     * new stack; an NMI blocks NMIs), not to be injected again */
    if (source == TS_SOURCE_GATE && (vect & INTR_INFO_VALID)) {
        if (vect & INTR_INFO_DELIVER_CODE) {
            u64 esp = (u32)(vmr(GUEST_RSP) - 4);
            lin_write32(vmr(GUEST_SS_BASE) + esp, (u32)vmr(IDT_VECTORING_ERROR_CODE));
            vmw(GUEST_RSP, esp);
        }
        if (INTR_INFO_TYPE(vect) == INTR_TYPE_NMI)
            vmw(GUEST_INTERRUPTIBILITY_INFO,
                vmr(GUEST_INTERRUPTIBILITY_INFO) | INTR_BLOCKING_NMI);
    }
    u64 intr = vmr(GUEST_INTERRUPTIBILITY_INFO) & ~(u64)(INTR_BLOCKING_STI | INTR_BLOCKING_MOV_SS);
    if (source == TS_SOURCE_IRET)
        intr &= ~(u64)INTR_BLOCKING_NMI;
    vmw(GUEST_INTERRUPTIBILITY_INFO, intr);
    return fault;
}
#endif
