/* The L0's isolation tests for nested VMX (docs/tests.md, group l0;
 * lhv.l0.nested=1), judged in l0_finish after the guest's end action.
 * - l0/nested-isolation-vmx: a probe in the guest's place (32-bit code,
 *   paging on with 4 MiB pages, CPL 0) executes the guest's VMX
 *   instructions on addresses that are no RAM of its map: the L0's hidden
 *   range and MMIO (the I/O APIC page). The L0 must answer as the
 *   processor does where no memory is (SDM 3C 31.3; docs/l0.md): VMXON
 *   VMfailInvalid (the revision identifier reads all ones), VMPTRLD
 *   VMfailValid 11 with the current VMCS kept, VMCLEAR VMsucceed writing
 *   nothing -- and the host page a naive L0 would have used unchanged.
 * - l0/nested-own-exits: L2's exits that L1 did not ask for are the L0's
 *   (nested_own.c), end to end (below).
 * - l0/nested-isolation-bitmaps: the MSR and I/O bitmaps of VMCS02
 *   (nested_own.c): an L1 bitmap at a hidden or MMIO address reads as all
 *   ones (every access exits to L1) and is not read; one in L1's RAM is
 *   L1's OR the L0's. */
#include "l0/l0.h"

#ifdef __x86_64__
#include "alloc.h"
#include "console.h"
#include "pagetable.h"
#include "string.h"
#include "verdict.h"
#include "x86.h"

#define L0_TEST(name) name

#define NP_CODE 0x7000u
#define NP_DATA 0x7800u  /* pointers (u64), then the results (u32) */
#define NP_OUT (NP_DATA + 0x40)
#define NP_VMXON 0x9000u
#define NP_VMCS 0xa000u
#define NP_PD 0xb000u    /* 32-bit paging: 4 MiB identity pages */
#define NP_MMIO 0xfec00000ull
#define NP_FILL 0x5au

enum { P_HIDDEN, P_MMIO, P_VMXON, P_VMCS, P_VMPTRST };
/* the results, in the probe's order */
enum { R_VMXON_HIDDEN, R_VMXON_MMIO, R_VMXON, R_VMPTRLD, R_VMPTRLD_HIDDEN, R_ERR_HIDDEN,
       R_VMPTRLD_MMIO, R_ERR_MMIO, R_VMCLEAR_HIDDEN, R_VMCLEAR_MMIO, R_VMXOFF, R_COUNT };

static u8 *emit(u8 *p, const u8 *b, u32 n, const u32 *disp)
{
    memcpy(p, b, n);
    if (disp)
        memcpy(p + n, disp, 4);
    return p + n + (disp ? 4 : 0);
}

/* RFLAGS into result r: pushfd; pop dword [disp32] */
static u8 *flags(u8 *p, u32 r)
{
    static const u8 pop[] = {0x9c, 0x8f, 0x05};
    u32 at = NP_OUT + r * 4;
    return emit(p, pop, 3, &at);
}

/* A VMX instruction on pointer slot (m64 at [disp32]), then its RFLAGS */
static u8 *insn(u8 *p, const u8 *op, u32 n, u32 slot, u32 r)
{
    u32 at = NP_DATA + slot * 8;
    return flags(emit(p, op, n, &at), r);
}

/* VMREAD of field enc into result r: mov eax, enc; vmread [disp32], eax */
static u8 *vmread32(u8 *p, u32 enc, u32 r)
{
    static const u8 mov[] = {0xb8}, vmread[] = {0x0f, 0x78, 0x05};
    u32 at = NP_OUT + r * 4;
    return emit(emit(p, mov, 1, &enc), vmread, 3, &at);
}

static u8 *read_error(u8 *p, u32 r) { return vmread32(p, VM_INSTRUCTION_ERROR, r); }

static const char *isolation_vmx(struct l0_vcpu *v, char *why, size_t n)
{
    static const u8 vmxon[] = {0xf3, 0x0f, 0xc7, 0x35}, vmptrld[] = {0x0f, 0xc7, 0x35},
                    vmclear[] = {0x66, 0x0f, 0xc7, 0x35}, vmptrst[] = {0x0f, 0xc7, 0x3d},
                    vmxoff[] = {0x0f, 0x01, 0xc4}, invd[] = {0x0f, 0x08};
    static const u32 want[R_COUNT] = {EFLAGS_CF, EFLAGS_CF, 0, 0, EFLAGS_ZF, 11, EFLAGS_ZF, 11,
                                      0, 0, 0};
    static const char *const what[R_COUNT] = {
        "VMXON hidden", "VMXON MMIO", "VMXON", "VMPTRLD", "VMPTRLD hidden", "its error",
        "VMPTRLD MMIO", "its error", "VMCLEAR hidden", "VMCLEAR MMIO", "VMXOFF"};
    u64 hidden = l0_mem.backing + 0x2000;
    /* The host page at the hidden address (the backing of the guest's own
     * footprint) is what an L0 that followed the address would use */
    u8 *naive = (u8 *)(uintptr_t)hidden, saved[64], *p = (u8 *)(uintptr_t)NP_CODE;
    u64 *ptr = (u64 *)(uintptr_t)NP_DATA;
    u32 *out = (u32 *)(uintptr_t)NP_OUT, pst = NP_DATA + P_VMPTRST * 8;
    bool kept;

    memset((void *)(uintptr_t)NP_DATA, 0, 0x800);
    ptr[P_HIDDEN] = hidden, ptr[P_MMIO] = NP_MMIO;
    ptr[P_VMXON] = NP_VMXON, ptr[P_VMCS] = NP_VMCS;
    for (u32 i = 0; i < 1024; i++)
        ((u32 *)(uintptr_t)NP_PD)[i] = (i << 22) | (u32)(PTE_P | PTE_RW | PTE_US | PTE_PS);
    memset((void *)(uintptr_t)NP_VMXON, 0, 2 * PAGE_SIZE);
    *(u32 *)(uintptr_t)NP_VMXON = L0_VMCS_REVISION;
    *(u32 *)(uintptr_t)NP_VMCS = L0_VMCS_REVISION;
    memcpy(saved, naive, sizeof(saved));
    memset(naive, NP_FILL, sizeof(saved));
    *(u32 *)naive = L0_VMCS_REVISION; /* a naive VMXON or VMPTRLD would take it */

    p = insn(p, vmxon, 4, P_HIDDEN, R_VMXON_HIDDEN);
    p = insn(p, vmxon, 4, P_MMIO, R_VMXON_MMIO);
    p = insn(p, vmxon, 4, P_VMXON, R_VMXON);
    p = insn(p, vmptrld, 3, P_VMCS, R_VMPTRLD);
    p = insn(p, vmptrld, 3, P_HIDDEN, R_VMPTRLD_HIDDEN);
    p = read_error(p, R_ERR_HIDDEN);
    p = insn(p, vmptrld, 3, P_MMIO, R_VMPTRLD_MMIO);
    p = read_error(p, R_ERR_MMIO);
    p = insn(p, vmclear, 4, P_HIDDEN, R_VMCLEAR_HIDDEN);
    p = insn(p, vmclear, 4, P_MMIO, R_VMCLEAR_MMIO);
    p = emit(p, vmptrst, 3, &pst);
    p = flags(emit(p, vmxoff, 3, NULL), R_VMXOFF);
    emit(p, invd, 2, NULL); /* exits (26.1.2): the probe stops */

    l0_nested_reset(v); /* the guest is done: out of its VMX operation */
    l0_probing = true;
    l0_vcpu_flat32_state(v, NP_CODE);
    vmw(CR0_READ_SHADOW, vmr(CR0_READ_SHADOW) | CR0_PG | CR0_NE);
    vmw(GUEST_CR0, vmr(GUEST_CR0) | CR0_PG);
    vmw(CR4_READ_SHADOW, CR4_PSE | CR4_VMXE);
    vmw(GUEST_CR4, vmr(GUEST_CR4) | CR4_PSE);
    vmw(GUEST_CR3, NP_PD);
    vmw(GUEST_RSP, NP_DATA + 0x800); /* PUSHFD's stack: the data page's top */
    l0_vcpu_run(v);
    l0_probing = false;
    l0_nested_reset(v);
    kept = naive[4] == NP_FILL && naive[8] == NP_FILL && *(u32 *)naive == L0_VMCS_REVISION;
    memcpy(naive, saved, sizeof(saved));

    if (vmr(VM_EXIT_REASON) != EXIT_REASON_INVD)
        return snprintf(why, n, "the probe ended with exit %llu at 0x%llx, not INVD",
                        vmr(VM_EXIT_REASON), vmr(GUEST_RIP)), why;
    for (u32 r = 0; r < R_COUNT; r++) {
        bool is_error = r == R_ERR_HIDDEN || r == R_ERR_MMIO;
        u32 got = is_error ? out[r] : out[r] & EFLAGS_STATUS;
        if (got != want[r])
            return snprintf(why, n, "%s: %s 0x%x, expected 0x%x", what[r],
                            is_error ? "error" : "RFLAGS status", got, want[r]), why;
    }
    if (ptr[P_VMPTRST] != NP_VMCS)
        return snprintf(why, n, "VMPTRST after the failed VMPTRLDs: 0x%llx, expected 0x%x",
                        ptr[P_VMPTRST], NP_VMCS), why;
    if (!kept)
        return snprintf(why, n, "the host page at the hidden address 0x%llx was written", hidden),
               why;
    return NULL;
}

/* nested_own.c's merge of an L1 bitmap page with the L0's */
static const char *isolation_bitmaps(char *why, size_t n)
{
    static const struct { const char *what; u64 gpa; } where[] = {
        {"hidden", 0}, {"MMIO", NP_MMIO}, {"RAM", NP_VMXON}};
    u8 *dst = alloc_pages(1);
    u64 hidden = l0_mem.backing + 0x3000;
    u8 *naive = (u8 *)(uintptr_t)hidden, *l1 = (u8 *)(uintptr_t)NP_VMXON, saved = naive[0];
    const char *res = NULL;

    naive[0] = 0;
    memset(l1, 0, PAGE_SIZE);
    l1[1] = 0x10; /* an L1 intercept */
    for (u32 i = 0; i < 3 && !res; i++) {
        u64 gpa = where[i].gpa ? where[i].gpa : hidden;
        bool ram = l0_nested_merge_page(dst, gpa, l0_msr_bitmap);
        for (u32 b = 0; b < PAGE_SIZE && !res; b++) {
            u8 want = i < 2 ? 0xff : (u8)(l1[b] | l0_msr_bitmap[b]);
            if (dst[b] != want || ram != (i == 2))
                res = why, snprintf(why, n, "L1's MSR bitmap in %s at 0x%llx: byte %u of "
                                    "VMCS02's is 0x%02x, expected 0x%02x (read: %s)",
                                    where[i].what, gpa, b, dst[b], want, ram ? "yes" : "no");
        }
    }
    naive[0] = saved;
    return res;
}

/* VMWRITE of a field from 32-bit code: mov eax, enc; mov ebx, value;
 * vmwrite eax, ebx */
static u8 *vmwrite32(u8 *p, u32 enc, u32 value)
{
    static const u8 mov_eax[] = {0xb8}, mov_ebx[] = {0xbb}, vmwrite[] = {0x0f, 0x79, 0xc3};
    p = emit(emit(p, mov_eax, 1, &enc), mov_ebx, 1, &value);
    return emit(p, vmwrite, 3, NULL);
}

#define NO_L2 (NP_CODE + 0x400)   /* L2's code */
#define NO_HOST (NP_CODE + 0x600) /* L1's code after the VM exit */
#define NO_MSR_BITMAP 0xc000u     /* L1's MSR bitmap: zeros, no MSR exits */
#define NO_CR0 (CR0_PE | CR0_ET | CR0_NE | CR0_PG)
#define NO_CR4 (CR4_PSE | CR4_VMXE)
#define NO_RING3 (NP_CODE + 0x480)  /* L2 at CPL 3: XSETBV */
#define NO_GP (NP_CODE + 0x500)     /* L2's #GP handler */
#define NO_GDT (NP_DATA + 0x100)    /* flat code/data at DPL 0 (0x08, 0x10) and 3 (0x1b, 0x23) */
#define NO_IDT (NP_DATA + 0x180)    /* vectors 0-13, only #GP present */
#define NO_TSS (NP_DATA + 0x200)    /* ESP0/SS0 for the #GP from CPL 3 */
_Static_assert(NO_RING3 == 0x7480 && NP_DATA + 0x500 == 0x7d00, "to_ring3's EIP and ESP");
enum { O_REASON = 16, O_BASIC_LO, O_BASIC_HI, O_LAUNCH_FLAGS, O_LAUNCH_ERROR, O_GP_ERROR,
       O_GP_EIP, O_GP_CS, O_QUAL };

/* l0/nested-own-exits: the probe as L1 launches an L2 (32-bit, paging,
 * L1's MSR bitmap all zeros, no I/O exiting, exception bitmap 0) that
 * reads IA32_VMX_BASIC and port 0x64 (an end action's port, in the L0's
 * I/O bitmap), goes to CPL 3 and executes XSETBV, whose #GP its handler
 * takes and VMCALLs. L1 asked for none of those exits: the L0 takes them
 * itself (the MSR as it emulates it for L1, the #GP raised in L2), and L1
 * sees the VMCALL exit only. */
static const char *init_held(struct l0_vcpu *v, u32 exits0, char *why, size_t n);

static const char *own_exits(struct l0_vcpu *v, bool init, char *why, size_t n)
{
    static const u32 fields[][2] = {
        {PIN_BASED_VM_EXEC_CONTROL, 0x16}, {CPU_BASED_VM_EXEC_CONTROL, 0x04006172 | CPU_USE_MSR_BITMAPS},
        {VM_EXIT_CONTROLS, 0x00036dfb}, {VM_ENTRY_CONTROLS, 0x000011fb},
        {MSR_BITMAP, NO_MSR_BITMAP}, {VMCS_LINK_POINTER, ~0u}, {VMCS_LINK_POINTER + 1, ~0u},
        {GUEST_CR0, NO_CR0}, {GUEST_CR3, NP_PD}, {GUEST_CR4, NO_CR4 | CR4_OSXSAVE},
        {GUEST_DR7, 0x400},
        {GUEST_RSP, NP_DATA + 0x700}, {GUEST_RIP, NO_L2}, {GUEST_RFLAGS, 2},
        {GUEST_CS_SELECTOR, 8}, {GUEST_CS_LIMIT, ~0u}, {GUEST_CS_AR_BYTES, 0xc09b},
        {GUEST_TR_SELECTOR, 0x28}, {GUEST_TR_LIMIT, 0x67}, {GUEST_TR_AR_BYTES, 0x8b},
        {GUEST_TR_BASE, NO_TSS}, {GUEST_GDTR_BASE, NO_GDT}, {GUEST_GDTR_LIMIT, 0x2f},
        {GUEST_IDTR_BASE, NO_IDT}, {GUEST_IDTR_LIMIT, 14 * 8 - 1},
        {GUEST_LDTR_AR_BYTES, 0x10000},
        {HOST_CR0, NO_CR0}, {HOST_CR3, NP_PD}, {HOST_CR4, NO_CR4}, {HOST_CS_SELECTOR, 8},
        {HOST_SS_SELECTOR, 0x10}, {HOST_DS_SELECTOR, 0x10}, {HOST_ES_SELECTOR, 0x10},
        {HOST_TR_SELECTOR, 0x28}, {HOST_RSP, NP_DATA + 0x7f0}, {HOST_RIP, NO_HOST}};
    static const u8 vmxon[] = {0xf3, 0x0f, 0xc7, 0x35}, vmptrld[] = {0x0f, 0xc7, 0x35},
                    vmlaunch[] = {0x0f, 0x01, 0xc2}, invd[] = {0x0f, 0x08},
                    mov_ecx[] = {0xb9}, rdmsr_store[] = {0x0f, 0x32, 0xa3},
                    store_edx[] = {0x89, 0x15}, in64[] = {0xe4, 0x64}, vmcall[] = {0x0f, 0x01, 0xc1},
                    /* push 0x23; push esp3; push 2; push 0x1b; push eip3; iret */
                    to_ring3[] = {0x6a, 0x23, 0x68, 0x00, 0x7d, 0x00, 0x00, 0x6a, 0x02, 0x6a, 0x1b,
                                  0x68, 0x80, 0x74, 0x00, 0x00, 0xcf},
                    /* xor ecx, ecx; mov eax, 1; xor edx, edx; xsetbv */
                    xsetbv[] = {0x31, 0xc9, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x01, 0xd1},
                    /* the handler's stores through SS: IRET to CPL 3 nulled DS */
                    pop_eax_store[] = {0x58, 0x36, 0xa3},
                    eip_store[] = {0x8b, 0x04, 0x24, 0x36, 0xa3},
                    cs_store[] = {0x8b, 0x44, 0x24, 0x04, 0x36, 0xa3};
    static const u64 gdt[6] = {0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull,
                               0x00cffb000000ffffull, 0x00cff3000000ffffull, 0};
    struct l0_nested_counts *c = &l0_nested_counts[v->cpu];
    u32 *out = (u32 *)(uintptr_t)NP_OUT, own0 = c->l2_own, exits0 = c->l2_exits;
    c->l2_own_reasons = 0;
    u32 msr = MSR_IA32_VMX_BASIC, at;
    u64 basic;
    u8 *p = (u8 *)(uintptr_t)NP_CODE;

    memset((void *)(uintptr_t)NP_VMXON, 0, 2 * PAGE_SIZE);
    memset((void *)(uintptr_t)NO_MSR_BITMAP, 0, PAGE_SIZE);
    memset(out, 0, 0x100);
    *(u32 *)(uintptr_t)NP_VMXON = L0_VMCS_REVISION;
    *(u32 *)(uintptr_t)NP_VMCS = L0_VMCS_REVISION;
    p = insn(p, vmxon, 4, P_VMXON, 0);
    p = insn(p, vmptrld, 3, P_VMCS, 1);
    for (u32 i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        p = vmwrite32(p, fields[i][0], fields[i][1]);
    for (u32 seg = 0; seg < 6; seg++) {
        if (seg == 1)
            continue;
        p = vmwrite32(p, GUEST_ES_SELECTOR + 2 * seg, 0x10);
        p = vmwrite32(p, GUEST_ES_LIMIT + 2 * seg, ~0u);
        p = vmwrite32(p, GUEST_ES_AR_BYTES + 2 * seg, 0xc093);
    }
    p = flags(emit(p, vmlaunch, 3, NULL), O_LAUNCH_FLAGS); /* only when it failed */
    p = read_error(p, O_LAUNCH_ERROR);
    emit(p, invd, 2, NULL);
    p = (u8 *)(uintptr_t)NO_L2;
    at = NP_OUT + O_BASIC_LO * 4;
    p = emit(emit(p, mov_ecx, 1, &msr), rdmsr_store, 3, &at);
    at = NP_OUT + O_BASIC_HI * 4;
    p = emit(p, store_edx, 2, &at);
    p = emit(p, in64, 2, NULL);
    emit(p, to_ring3, sizeof(to_ring3), NULL);
    p = emit((u8 *)(uintptr_t)NO_RING3, xsetbv, sizeof(xsetbv), NULL);
    emit(p, vmcall, 3, NULL); /* reached only without the #GP */
    at = NP_OUT + O_GP_ERROR * 4;
    p = emit((u8 *)(uintptr_t)NO_GP, pop_eax_store, 3, &at);
    at = NP_OUT + O_GP_EIP * 4;
    p = emit(p, eip_store, 5, &at);
    at = NP_OUT + O_GP_CS * 4;
    p = emit(p, cs_store, 6, &at);
    emit(p, vmcall, 3, NULL);
    memcpy((void *)(uintptr_t)NO_GDT, gdt, sizeof(gdt));
    memset((void *)(uintptr_t)NO_IDT, 0, 14 * 8 + 0x68);
    ((u32 *)(uintptr_t)NO_IDT)[13 * 2] = (8u << 16) | (NO_GP & 0xffff);
    ((u32 *)(uintptr_t)NO_IDT)[13 * 2 + 1] = (NO_GP & 0xffff0000u) | 0x8e00; /* int gate */
    ((u32 *)(uintptr_t)NO_TSS)[1] = NP_DATA + 0x600; /* ESP0 */
    ((u32 *)(uintptr_t)NO_TSS)[2] = 0x10;            /* SS0 */
    p = vmread32((u8 *)(uintptr_t)NO_HOST, VM_EXIT_REASON, O_REASON); /* L1 after the exit */
    p = vmread32(p, EXIT_QUALIFICATION, O_QUAL);
    emit(p, invd, 2, NULL);

    l0_nested_reset(v);
    if (init) /* an INIT for this CPU, held (nested_init.c): its VMLAUNCH must exit */
        __atomic_store_n(&init_pending[v->cpu], 1, __ATOMIC_RELEASE);
    l0_probing = true;
    l0_vcpu_flat32_state(v, NP_CODE);
    vmw(CR0_READ_SHADOW, vmr(CR0_READ_SHADOW) | CR0_PG | CR0_NE);
    vmw(GUEST_CR0, vmr(GUEST_CR0) | CR0_PG);
    vmw(CR4_READ_SHADOW, NO_CR4);
    vmw(GUEST_CR4, vmr(GUEST_CR4) | CR4_PSE);
    vmw(GUEST_CR3, NP_PD);
    vmw(GUEST_RSP, NP_DATA + 0x800);
    l0_vcpu_run(v);
    l0_probing = false;
    l0_nested_reset(v);

    l0_nested_vmx_msr(MSR_IA32_VMX_BASIC, &basic);
    if (vmr(VM_EXIT_REASON) != EXIT_REASON_INVD || out[O_LAUNCH_FLAGS])
        return snprintf(why, n, "the probe ended with exit %llu at 0x%llx (VMLAUNCH: RFLAGS "
                        "0x%x, error %u)", vmr(VM_EXIT_REASON), vmr(GUEST_RIP),
                        out[O_LAUNCH_FLAGS], out[O_LAUNCH_ERROR]), why;
    if (init)
        return init_held(v, exits0, why, n);
    if (out[O_REASON] != EXIT_REASON_VMCALL || c->l2_exits - exits0 != 1)
        return snprintf(why, n, "L1 saw exit %u and %u exits in all, expected one VMCALL (18)",
                        out[O_REASON], c->l2_exits - exits0), why;
    if (out[O_BASIC_LO] != (u32)basic || out[O_BASIC_HI] != (u32)(basic >> 32))
        return snprintf(why, n, "L2's IA32_VMX_BASIC 0x%08x%08x, expected the L0's 0x%llx",
                        out[O_BASIC_HI], out[O_BASIC_LO], basic), why;
    if (out[O_GP_CS] != 0x1b || out[O_GP_ERROR] != 0 ||
        out[O_GP_EIP] != NO_RING3 + sizeof(xsetbv) - 3)
        return snprintf(why, n, "L2's XSETBV at CPL 3: #GP frame CS 0x%x EIP 0x%x error 0x%x, "
                        "expected CS 0x1b EIP 0x%x error 0 (SDM 3C 26.1.1)", out[O_GP_CS],
                        out[O_GP_EIP], out[O_GP_ERROR], (u32)(NO_RING3 + sizeof(xsetbv) - 3)),
               why;
    /* XSETBV's exit comes only where the CPU exits before its CPL check
     * (Bochs, docs/l0-deviations.md); the #GP above is the outcome */
    u64 must = (1ull << EXIT_REASON_MSR_READ) | (1ull << EXIT_REASON_IO_INSTRUCTION);
    if ((c->l2_own_reasons & must) != must || c->l2_own - own0 < 2)
        return snprintf(why, n, "the L0 took %u of L2's exits itself (reasons 0x%llx), "
                        "expected RDMSR (31) and IN (30)", c->l2_own - own0,
                        c->l2_own_reasons), why;
    return NULL;
}

/* l0/nested-init-held: own_exits' probe with an INIT held for its CPU
 * before its VMLAUNCH. INIT is blocked in VMX root operation (SDM 3C
 * 24.8), so at the VM entry it is pending and exits before L2's first
 * instruction (26.2): L1 sees exit 3, qualification 0, and L2 read no
 * MSR; the INIT is taken. Then an INIT held at VMXOFF puts the CPU in the
 * INIT state, waiting for its SIPI. */
static const char *init_held(struct l0_vcpu *v, u32 exits0, char *why, size_t n)
{
    const u32 *out = (const u32 *)(uintptr_t)NP_OUT;
    u32 taken = l0_nested_inits(v->cpu), exits = l0_nested_counts[v->cpu].l2_exits - exits0;
    bool left = __atomic_exchange_n(&init_pending[v->cpu], 0, __ATOMIC_ACQ_REL);

    if (out[O_REASON] != EXIT_REASON_INIT || out[O_QUAL] || exits != 1 || out[O_BASIC_LO] || left)
        return snprintf(why, n, "VMLAUNCH with an INIT held: L1 saw exit %u, qualification "
                        "0x%x, %u exits in all, L2's RDMSR %s, the INIT %s; expected one exit 3, "
                        "qualification 0, no RDMSR, the INIT taken", out[O_REASON], out[O_QUAL],
                        exits, out[O_BASIC_LO] ? "ran" : "did not run", left ? "left" : "taken"),
               why;
    __atomic_store_n(&init_pending[v->cpu], 1, __ATOMIC_RELEASE);
    l0_nested_init_vmxoff(v); /* as after L1's VMXOFF */
    bool reset = vmr(GUEST_ACTIVITY_STATE) == ACTIVITY_WAIT_SIPI && v->waiting;
    v->waiting = false;
    if (!reset || init_pending[v->cpu] || l0_nested_inits(v->cpu) != taken)
        return snprintf(why, n, "VMXOFF with an INIT held: activity state %llu, expected %u "
                        "(wait-for-SIPI)", vmr(GUEST_ACTIVITY_STATE), ACTIVITY_WAIT_SIPI), why;
    return NULL;
}

void l0_nested_isolation_tests(struct l0_vcpu *v)
{
    char why[200];
    const char *r;
    if (!l0_nested) {
        verdict_skip(L0_TEST("l0/nested-isolation-vmx"), "%s", "lhv.l0.nested=0");
        verdict_skip(L0_TEST("l0/nested-isolation-bitmaps"), "%s", "lhv.l0.nested=0");
        verdict_skip(L0_TEST("l0/nested-own-exits"), "%s", "lhv.l0.nested=0");
        verdict_skip(L0_TEST("l0/nested-init-held"), "%s", "lhv.l0.nested=0");
        return;
    }
    r = isolation_vmx(v, why, sizeof(why));
    verdict(!r, L0_TEST("l0/nested-isolation-vmx"), "%s", r);
    r = isolation_bitmaps(why, sizeof(why));
    verdict(!r, L0_TEST("l0/nested-isolation-bitmaps"), "%s", r);
    r = own_exits(v, false, why, sizeof(why));
    verdict(!r, L0_TEST("l0/nested-own-exits"), "%s", r);
    r = own_exits(v, true, why, sizeof(why));
    verdict(!r, L0_TEST("l0/nested-init-held"), "%s", r);
}
#endif
