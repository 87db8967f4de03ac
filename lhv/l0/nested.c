/* Nested VMX for the guest (lhv.l0.nested=1, docs/l0.md "Nested VMX").
 *
 * The guest (L1) sees VMX: CPUID.1:ECX.VMX, IA32_FEATURE_CONTROL locked
 * with VMXON outside SMX allowed, and the L0's own capability MSRs (its
 * own VMCS revision identifier, the TRUE controls, a subset of the
 * controls the CPU allows; the secondary ones in nested_ept.c). Its VMX
 * instructions exit unconditionally (SDM 3C 26.1.2) and are emulated here
 * with the outcomes of SDM 3C chapter 31 ("VMX Instruction Reference"):
 * #UD and #GP(0) where the pseudocode raises them, VMsucceed, VMfailInvalid
 * and VMfailValid with the error numbers of 31.4, their RFLAGS. Operands
 * come from the exit qualification (the displacement) and the
 * VM-exit instruction-information field (28.2.5, tables 28-12 and 28-13).
 *
 * VMCS12: L1's VMCS regions hold the L0's own layout (revision, abort,
 * launch state, then the fields by width). VMPTRLD copies a region into a
 * per-CPU cache in L0 memory keyed by its guest-physical address; VMCLEAR
 * (and VMXOFF, and an eviction) write it back. Only RAM of the guest's
 * memory map is read or written: elsewhere (MMIO, the L0's hidden range)
 * a read gives all ones and a write goes nowhere, what the processor
 * finds where no memory is -- so VMPTRLD or VMXON of such an address
 * fails on the revision identifier.
 *
 * L2, the simplest case: VMLAUNCH/VMRESUME judge VMCS12 with the entry
 * model (entry_checks.h) and run L2 on a VMCS02 built from VMCS12, the
 * L0's host state and its EPT (or EPT02, nested_ept.c); every exit of L2 is
 * reflected to L1 (VMCS12's exit information and guest state written,
 * its host state loaded into L1, 27.2-27.5). */
#include "l0/nested.h"

#ifdef __x86_64__
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "end.h"
#include "string.h"
#include "vmx/entry_checks.h"
#include "x86.h"

#define VMCS12_CACHED 4          /* VMCS12s per CPU in L0 memory */
#define VMCS12_LAUNCH 8          /* region offsets: launch state (0 clear, 1 launched) */
#define VMCS12_FIELDS 16         /* then 16/32-bit fields as u32, 64-bit/natural as u64 */
#define VMCS12_SIZE (VMCS12_FIELDS + 3072)
#define VMCS12_CHANGED VMCS12_SIZE /* L0-only, past what is written back: a bit per
                                    * slot whose value changed since the model read it */
#define NO_VMCS12 (~0ull)

/* The controls the L0 offers (allowed 1-settings; the CPU must allow them
 * too), beyond the default1 bits (A.2-A.5) */
#define PIN_OFFER (PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING | L0_PIN_MORE)
#define PROC_OFFER (CPU_HLT_EXITING | CPU_USE_MSR_BITMAPS | CPU_UNCONDITIONAL_IO_EXITING | \
                    CPU_ACTIVATE_SECONDARY_CONTROLS | L0_PROC_MORE)
#define EXIT_OFFER (EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER | L0_EXIT_MORE)
#define ENTRY_OFFER (ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_IA32_EFER | L0_ENTRY_MORE)
#define PIN_DEFAULT1 0x16u
#define PROC_DEFAULT1 0x0401e172u
#define PROC_TRUE_DEFAULT1 0x04006172u /* CR3-load/store exiting may be 0 */
#define EXIT_DEFAULT1 0x00036dffu
#define EXIT_TRUE_DEFAULT1 0x00036dfbu /* save debug controls may be 0 */
#define ENTRY_DEFAULT1 0x000011ffu
#define ENTRY_TRUE_DEFAULT1 0x000011fbu

#define INFO_REG_OPERAND (1u << 10) /* VMREAD/VMWRITE: register operand */
#define INFO_INDEX_INVALID (1u << 22)
#define INFO_BASE_INVALID (1u << 27)

struct vmcs12 {
    u64 gpa; /* NO_VMCS12: free */
    u8 *image;
};

struct nested_cpu {
    bool vmxon;
    bool fc_set;           /* fc holds the guest's IA32_FEATURE_CONTROL */
    u64 fc;
    u64 vmxon_ptr, current;
    struct vmcs12 cache[VMCS12_CACHED];
    u32 evict;
    bool l2;               /* L2 runs: VMCS02 is current */
    void *vmcs02;
    struct ecm_vmcs *ecm;  /* VMCS12 as the entry model reads it */
    u64 v02_gpa;           /* the VMCS12 VMCS02 holds (launched), NO_VMCS12: none */
    u64 dirty[ECM_SLOTS / 64]; /* its fields L1 wrote since (VMWRITE) */
    bool dirty_any;
    struct ecm_caps caps;  /* the capability MSRs the L0 offers, for the model */
    bool caps_ready;
    /* Which checks read what, on the image of one VMCS12 (deps_gpa) at
     * its first VMRESUME (base): later VMRESUMEs of it evaluate only the
     * checks that read a field changed since (ecm_predict_delta) */
    struct ecm_deps *deps;
    struct ecm_vmcs *base;
    u8 *ecm_img;           /* the image ecm holds, but for the slots it marks changed */
    u64 diff[ECM_SLOTS / 64]; /* with a base: the slots where ecm and base differ */
    u64 deps_gpa;
    bool deps_ia32e;
};

bool l0_nested;
struct l0_nested_counts l0_nested_counts[LHV_MAX_CPUS];
static struct nested_cpu ncpu[LHV_MAX_CPUS];
static u64 fields[ECM_SLOTS / 64]; /* supported field slots (ecm_slot) */
static u32 max_index;
/* The supported slots by type (control, exit information, guest, host) */
static u16 type_slots[4][128];
static u32 type_count[4];
/* Those an exit of L2 saves into VMCS12: exit information and guest state
 * (27.2, 27.3) but VM_INSTRUCTION_ERROR, the link pointer, IA32_PAT (by
 * its control) and the PDPTEs (saved with EPT only) */
static u16 save_slots[256], save_enc[256], save_off[256]; /* slot, encoding, image offset */
static u32 save_count;

/* Where a field lives in VMCS12's image: 16- and 32-bit fields as u32,
 * 64-bit and natural-width ones as u64 */
static inline __attribute__((always_inline)) u32 field_off(u32 slot)
{
    u32 width = slot >> 7, i = slot & 127;
    if (width & 1)
        return VMCS12_FIELDS + 1024 + (width >> 1) * 1024 + i * 8;
    return VMCS12_FIELDS + (width >> 1) * 512 + i * 4;
}

static u32 allowed(u32 default1, u32 offer, u32 cpu_allowed1)
{
    return default1 | (offer & cpu_allowed1);
}

/* The capability MSRs as the L0 offers them (A.1-A.10); false: no such
 * MSR for the guest (#GP) */
static bool vmx_msr(u32 msr, u64 *value)
{
    const struct vmx_caps *c = &vmx_caps;
    u32 lo = 0, hi = 0;

    switch (msr) {
    case MSR_IA32_FEATURE_CONTROL:
        *value = FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_OUTSIDE_SMX;
        return true;
    case MSR_IA32_VMX_BASIC: /* 4 KiB regions, write-back, TRUE controls */
        *value = L0_VMCS_REVISION | (4096ull << 32) | (6ull << 50) | VMX_BASIC_TRUE_CTLS;
        return true;
    case MSR_IA32_VMX_PINBASED_CTLS:
    case MSR_IA32_VMX_TRUE_PINBASED_CTLS:
        lo = PIN_DEFAULT1, hi = allowed(lo, PIN_OFFER, c->pin.allowed1);
        break;
    case MSR_IA32_VMX_PROCBASED_CTLS:
    case MSR_IA32_VMX_TRUE_PROCBASED_CTLS:
        lo = msr == MSR_IA32_VMX_PROCBASED_CTLS ? PROC_DEFAULT1 : PROC_TRUE_DEFAULT1;
        hi = allowed(PROC_DEFAULT1, PROC_OFFER, c->proc.allowed1);
        break;
    case MSR_IA32_VMX_EXIT_CTLS:
    case MSR_IA32_VMX_TRUE_EXIT_CTLS:
        lo = msr == MSR_IA32_VMX_EXIT_CTLS ? EXIT_DEFAULT1 : EXIT_TRUE_DEFAULT1;
        hi = allowed(EXIT_DEFAULT1, EXIT_OFFER, c->exit.allowed1);
        break;
    case MSR_IA32_VMX_ENTRY_CTLS:
    case MSR_IA32_VMX_TRUE_ENTRY_CTLS:
        lo = msr == MSR_IA32_VMX_ENTRY_CTLS ? ENTRY_DEFAULT1 : ENTRY_TRUE_DEFAULT1;
        hi = allowed(ENTRY_DEFAULT1, ENTRY_OFFER, c->entry.allowed1);
        break;
    case MSR_IA32_VMX_MISC: /* nested_controls.c; no VMWRITE to exit
                             * information (bit 29) */
        *value = l0_nested_misc();
        return true;
    case MSR_IA32_VMX_CR0_FIXED0:
        *value = c->cr0_fixed0;
        return true;
    case MSR_IA32_VMX_CR0_FIXED1:
        *value = c->cr0_fixed1;
        return true;
    case MSR_IA32_VMX_CR4_FIXED0:
        *value = c->cr4_fixed0;
        return true;
    case MSR_IA32_VMX_CR4_FIXED1:
        *value = c->cr4_fixed1;
        return true;
    case MSR_IA32_VMX_VMCS_ENUM:
        *value = max_index << 1;
        return true;
    default: /* PROCBASED_CTLS2, EPT_VPID_CAP, VMFUNC: nested_ept.c */
        return l0_nested_msr2(msr, value);
    }
    *value = ((u64)hi << 32) | lo;
    return true;
}

bool l0_nested_vmx_msr(u32 msr, u64 *value) { return vmx_msr(msr, value); }

void l0_nested_setup(void)
{
    u64 x;
    for (u32 s = 0; s < ECM_SLOTS; s++) {
        u32 enc = (s >> 7) << 13 | ((s >> 5) & 3) << 10 | (s & 31) << 1;
        if (vmr_safe(enc, &x) == VMX_OK && type_count[(s >> 5) & 3] < 128) {
            fields[s / 64] |= 1ull << (s % 64);
            type_slots[(s >> 5) & 3][type_count[(s >> 5) & 3]++] = (u16)s;
            if ((s & 31) > max_index)
                max_index = s & 31;
        }
    }
    for (u32 i = 0; i < type_count[1] + type_count[2]; i++) {
        u32 sl = i < type_count[1] ? type_slots[1][i] : type_slots[2][i - type_count[1]];
        u32 enc = (sl >> 7) << 13 | ((sl >> 5) & 3) << 10 | (sl & 31) << 1;
        if (enc != VM_INSTRUCTION_ERROR && enc != VMCS_LINK_POINTER && enc != GUEST_IA32_PAT &&
            (enc < GUEST_PDPTE0 || enc > GUEST_PDPTE0 + 6)) {
            save_enc[save_count] = (u16)enc;
            save_off[save_count] = (u16)field_off(sl);
            save_slots[save_count++] = (u16)sl;
        }
    }
    for (u32 i = 0; i < LHV_MAX_CPUS; i++)
        ncpu[i].current = ncpu[i].v02_gpa = NO_VMCS12;
}

void l0_nested_msr_bitmap(u8 *bitmap)
{
    bitmap[MSR_IA32_FEATURE_CONTROL / 8] |= 1u << (MSR_IA32_FEATURE_CONTROL % 8);
    bitmap[2048 + MSR_IA32_FEATURE_CONTROL / 8] |= 1u << (MSR_IA32_FEATURE_CONTROL % 8);
    for (u32 m = MSR_IA32_VMX_BASIC; m <= MSR_IA32_VMX_VMFUNC; m++) {
        bitmap[m / 8] |= (u8)(1u << (m % 8));
        bitmap[2048 + m / 8] |= (u8)(1u << (m % 8));
    }
    l0_debugctl_setup(bitmap);
}

u32 l0_nested_cpuid1_ecx(u32 ecx)
{
    return l0_nested ? ecx | CPUID1_ECX_VMX : ecx & ~(u32)CPUID1_ECX_VMX;
}

/* --- the guest's state, as it sees it ------------------------------- */

static u64 *reg_ptr(struct l0_vcpu *v, u32 n)
{
#define R(x) (u8)(__builtin_offsetof(struct guest_regs, x) / 8)
    static const u8 r[16] = {R(rax), R(rcx), R(rdx), R(rbx), 0 /* RSP: the VMCS's */, R(rbp),
                             R(rsi), R(rdi), R(r8), R(r9), R(r10), R(r11), R(r12), R(r13),
                             R(r14), R(r15)};
#undef R
    return (u64 *)&v->regs + r[n & 15]; /* a table, not an array of pointers built per call */
}

static u64 get_reg(struct l0_vcpu *v, u32 n)
{
    return (n & 15) == 4 ? vmr(GUEST_RSP) : *reg_ptr(v, n);
}

static void set_reg(struct l0_vcpu *v, u32 n, u64 value)
{
    if ((n & 15) == 4)
        vmw(GUEST_RSP, value);
    else
        *reg_ptr(v, n) = value;
}

static bool long64(void)
{
    return (vmr(GUEST_IA32_EFER) & EFER_LMA) && (vmr(GUEST_CS_AR_BYTES) & (1u << 13));
}

/* CR0/CR4 as the guest reads them: the read shadow for host-owned bits */
static u64 guest_cr(u32 field, u32 mask_field, u32 shadow_field)
{
    u64 mask = vmr(mask_field);
    return (vmr(field) & ~mask) | (vmr(shadow_field) & mask);
}

static u64 guest_cr0(void) { return guest_cr(GUEST_CR0, CR0_GUEST_HOST_MASK, CR0_READ_SHADOW); }
static u64 guest_cr4(void) { return guest_cr(GUEST_CR4, CR4_GUEST_HOST_MASK, CR4_READ_SHADOW); }

static void inject(struct l0_vcpu *v, u32 vector)
{
    struct l0_nested_counts *n = &l0_nested_counts[v->cpu];
    u32 info = INTR_INFO(INTR_TYPE_HW_EXCEPTION, vector);
    if (vector == VEC_GP) {
        info |= INTR_INFO_DELIVER_CODE;
        vmw(VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
        n->gp++;
    } else {
        n->ud++;
    }
    vmw(VM_ENTRY_INTR_INFO_FIELD, info);
}

/* --- guest-physical memory: RAM of its map, or nothing ---------------- */

static bool phys_copy(u64 gpa, void *buf, u32 n, bool write)
{
    if (!l0_guest_ram(gpa, n)) {
        if (!write)
            memset(buf, 0xff, n);
        return false;
    }
    u8 *h = (u8 *)(uintptr_t)l0_gpa_to_hpa(gpa);
    if (write)
        memcpy(h, buf, n);
    else
        memcpy(buf, h, n);
    return true;
}

static u32 phys_read32(u64 gpa)
{
    u32 x;
    phys_copy(gpa, &x, 4, false);
    return x;
}

static u32 maxphyaddr(void)
{
    if (cpuid(0x80000000u, 0).eax >= 0x80000008u)
        return cpuid(0x80000008u, 0).eax & 0xff;
    return 36;
}

static bool bad_address(u64 pa)
{
    return (pa & 0xfff) || (pa >> maxphyaddr());
}

/* --- VMCS12 ----------------------------------------------------------- */

static struct vmcs12 *cached(struct nested_cpu *c, u64 gpa)
{
    for (u32 i = 0; i < VMCS12_CACHED; i++)
        if (c->cache[i].gpa == gpa && c->cache[i].image)
            return &c->cache[i];
    return NULL;
}

static void write_back(struct vmcs12 *e)
{
    phys_copy(e->gpa, e->image, VMCS12_SIZE, true);
    e->gpa = NO_VMCS12;
}

static struct vmcs12 *load(struct nested_cpu *c, u64 gpa)
{
    struct vmcs12 *e = cached(c, gpa);
    if (e)
        return e;
    for (u32 i = 0; i < VMCS12_CACHED && !e; i++) {
        struct vmcs12 *x = &c->cache[c->evict];
        c->evict = (c->evict + 1) % VMCS12_CACHED;
        if (!x->image) {
            x->image = alloc_pages(1);
            x->gpa = NO_VMCS12;
        }
        if (x->gpa == NO_VMCS12 || x->gpa != c->current)
            e = x;
    }
    if (e->gpa != NO_VMCS12)
        write_back(e);
    e->gpa = gpa;
    phys_copy(gpa, e->image, VMCS12_SIZE, false);
    memset(e->image + VMCS12_CHANGED, 0xff, ECM_SLOTS / 8); /* all new to the model */
    return e;
}

static u8 *image(struct nested_cpu *c) { return cached(c, c->current)->image; }

static inline __attribute__((always_inline)) void *field_ptr(u8 *img, u32 slot)
{
    return img + field_off(slot);
}

static inline __attribute__((always_inline)) u64 field_get(u8 *img, u32 slot)
{
    void *p = field_ptr(img, slot);
    return (slot >> 7) & 1 ? *(u64 *)p : *(u32 *)p;
}

static void field_set(u8 *img, u32 slot, u64 value)
{
    static const u64 width_mask[4] = {0xffff, ~0ull, 0xffffffffull, ~0ull};
    void *p = field_ptr(img, slot);
    value &= width_mask[slot >> 7];
    if (value == field_get(img, slot))
        return;
    if ((slot >> 7) & 1)
        *(u64 *)p = value;
    else
        *(u32 *)p = (u32)value;
    ((u64 *)(img + VMCS12_CHANGED))[slot / 64] |= 1ull << (slot % 64);
}

/* A supported encoding (25.11.2, B): its slot and whether it is the high
 * access of a 64-bit field; false: VMfailValid 12 */
static bool encoding(u64 enc, u32 *slot, bool *high)
{
    if (enc & ~0x6fffull || ((enc >> 1) & 0x1ff) > max_index)
        return false;
    *high = enc & 1;
    if (*high && ((enc >> 13) & 3) != 1)
        return false;
    *slot = ecm_slot((u32)enc & ~1u);
    return fields[*slot / 64] & (1ull << (*slot % 64));
}

/* --- outcomes (31.2) --------------------------------------------------- */

static void next_insn(void) { vmw(GUEST_RIP, vmr(GUEST_RIP) + vmr(VM_EXIT_INSTRUCTION_LEN)); }

static void succeed(void)
{
    vmw(GUEST_RFLAGS, vmr(GUEST_RFLAGS) & ~(u64)EFLAGS_STATUS);
    next_insn();
}

static void vmfail(struct l0_vcpu *v, u32 error)
{
    struct nested_cpu *c = &ncpu[v->cpu];
    u64 rflags = vmr(GUEST_RFLAGS) & ~(u64)EFLAGS_STATUS;
    if (c->current != NO_VMCS12) {
        field_set(image(c), ecm_slot(VM_INSTRUCTION_ERROR), error);
        rflags |= EFLAGS_ZF;
        l0_nested_counts[v->cpu].fail_valid++;
    } else {
        rflags |= EFLAGS_CF;
        l0_nested_counts[v->cpu].fail_invalid++;
    }
    vmw(GUEST_RFLAGS, rflags);
    next_insn();
}

/* The memory operand's guest-linear address (28.2.5: displacement in the
 * qualification, base, index, scale, address size, segment) */
static u64 operand_address(struct l0_vcpu *v, u32 info, u64 disp)
{
    u64 a = disp;
    u32 size = (info >> 7) & 7, seg = (info >> 15) & 7;
    if (!(info & INFO_BASE_INVALID))
        a += get_reg(v, (info >> 23) & 15);
    if (!(info & INFO_INDEX_INVALID))
        a += get_reg(v, (info >> 18) & 15) << (info & 3);
    if (size == 0)
        a &= 0xffff;
    else if (size == 1)
        a &= 0xffffffffull;
    if (!long64() || seg >= 4) /* in 64-bit mode only FS and GS have bases */
        a += vmr(GUEST_ES_BASE + 2 * seg);
    return long64() ? a : a & 0xffffffffull;
}

/* false: the instruction faulted (#PF injected, CR2 the address: SDM 3A
 * 4.7; the fault comes before any other effect of the instruction) */
static bool operand_copy(struct l0_vcpu *v, u64 la, void *buf, u32 n, bool write)
{
    int r = l0_guest_copy(la, buf, n, write);
    if (r == 2)
        fatal("nested VMX: CPU %u: the operand of a VMX instruction at guest-linear 0x%llx is "
              "not in the guest's memory (RIP 0x%llx)", v->cpu, la, vmr(GUEST_RIP));
    if (r == 0)
        return true;
    __asm__ volatile("mov %0, %%cr2" : : "r"(la)); /* VM entry leaves CR2 alone */
    vmw(VM_ENTRY_EXCEPTION_ERROR_CODE, write ? PF_WRITE : 0); /* not present, CPL 0 */
    vmw(VM_ENTRY_INTR_INFO_FIELD,
        INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_PF) | INTR_INFO_DELIVER_CODE);
    l0_nested_counts[v->cpu].pf++;
    return false;
}

/* --- the instructions (31.3) ------------------------------------------- */

bool l0_nested_fc_unlocked;

/* The guest's IA32_FEATURE_CONTROL (24.7): what its firmware would have
 * left, locked with VMXON outside SMX (the default) or 0; a WRMSR while it
 * is unlocked sets it (bits 0-2 only: the L0 offers no SMX, SGX or LMCE) */
static u64 *guest_fc(struct nested_cpu *c)
{
    if (!c->fc_set) {
        c->fc = l0_nested_fc_unlocked ? 0
                                      : FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_OUTSIDE_SMX;
        c->fc_set = true;
    }
    return &c->fc;
}

/* The operand is read after the #UD and #GP(0) checks, and not at all in
 * VMX operation (31.3 VMXON) */
static void do_vmxon(struct l0_vcpu *v, struct nested_cpu *c, u64 la)
{
    const struct vmx_caps *k = &vmx_caps;
    u64 cr0 = guest_cr0(), cr4 = guest_cr4(), pa;
    if (!(cr4 & CR4_VMXE))
        return inject(v, VEC_UD);
    if (c->vmxon)
        return ((vmr(GUEST_SS_AR_BYTES) >> 5) & 3) ? inject(v, VEC_GP) : vmfail(v, 15);
    u64 fc = *guest_fc(c);
    if (((vmr(GUEST_SS_AR_BYTES) >> 5) & 3) || (cr0 & k->cr0_fixed0) != k->cr0_fixed0 ||
        (cr0 & ~k->cr0_fixed1) || (cr4 & k->cr4_fixed0) != k->cr4_fixed0 ||
        (cr4 & ~k->cr4_fixed1) || !(fc & FEATURE_CONTROL_LOCKED) ||
        !(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX)) /* (the L0 offers no SMX) */
        return inject(v, VEC_GP);
    if (!operand_copy(v, la, &pa, 8, false))
        return;
    if (bad_address(pa) || phys_read32(pa) != L0_VMCS_REVISION)
        return vmfail(v, 0); /* no current VMCS: VMfailInvalid */
    c->vmxon = true;
    c->vmxon_ptr = pa;
    c->current = NO_VMCS12;
    succeed();
}

static void do_vmclear(struct l0_vcpu *v, struct nested_cpu *c, u64 pa)
{
    if (bad_address(pa))
        return vmfail(v, 2);
    if (pa == c->vmxon_ptr)
        return vmfail(v, 3);
    struct vmcs12 *e = cached(c, pa);
    if (e) {
        *(u32 *)(e->image + VMCS12_LAUNCH) = 0;
        write_back(e);
    } else {
        u32 clear = 0;
        phys_copy(pa + VMCS12_LAUNCH, &clear, 4, true);
    }
    if (pa == c->current)
        c->current = NO_VMCS12;
    if (pa == c->v02_gpa)
        c->v02_gpa = NO_VMCS12;
    succeed();
}

static void do_vmptrld(struct l0_vcpu *v, struct nested_cpu *c, u64 pa)
{
    if (bad_address(pa))
        return vmfail(v, 9);
    if (pa == c->vmxon_ptr)
        return vmfail(v, 10);
    if (phys_read32(pa) != L0_VMCS_REVISION) /* bit 31 too: no VMCS shadowing */
        return vmfail(v, 11);
    load(c, pa);
    if (pa != c->v02_gpa) /* VMCS02 holds another VMCS12 */
        c->v02_gpa = NO_VMCS12;
    c->current = pa;
    succeed();
}

static void do_vmread_vmwrite(struct l0_vcpu *v, struct nested_cpu *c, bool write, u32 info,
                              u64 qual)
{
    bool wide = long64(), high;
    u32 slot, size = wide ? 8 : 4;
    u64 enc = get_reg(v, info >> 28), la = 0, value = 0;
    if (!wide)
        enc &= 0xffffffffull;
    if (c->current == NO_VMCS12)
        return vmfail(v, 0);
    if (!encoding(enc, &slot, &high))
        return vmfail(v, 12);
    if (!(info & INFO_REG_OPERAND))
        la = operand_address(v, info, qual);
    u8 *img = image(c);
    if (write) {
        if (info & INFO_REG_OPERAND)
            value = get_reg(v, (info >> 3) & 15);
        else if (!operand_copy(v, la, &value, size, false))
            return;
        if (!wide)
            value &= 0xffffffffull;
        if (((enc >> 10) & 3) == 1) /* exit information: IA32_VMX_MISC bit 29 is 0 */
            return vmfail(v, 13);
        if (high)
            value = (field_get(img, slot) & 0xffffffffull) | (value << 32);
        field_set(img, slot, value);
        c->dirty[slot / 64] |= 1ull << (slot % 64);
        c->dirty_any = true;
    } else {
        value = field_get(img, slot);
        if (high)
            value >>= 32;
        if (!wide)
            value &= 0xffffffffull;
        if (info & INFO_REG_OPERAND)
            set_reg(v, (info >> 3) & 15, value);
        else if (!operand_copy(v, la, &value, size, true))
            return;
    }
    succeed();
}

/* --- VM entry of L2 and its exits (the simplest case) --------------- */

static bool has(u32 slot) { return fields[slot / 64] & (1ull << (slot % 64)); }
static u32 slot_encoding(u32 s) { return (s >> 7) << 13 | ((s >> 5) & 3) << 10 | (s & 31) << 1; }

static bool ecm_read_gpa(const void *ctx, u64 pa, void *buf, u32 len)
{
    (void)ctx;
    return phys_copy(pa, buf, len, false);
}

/* The entry model's verdict on VMCS12 with the L0's capability MSRs */
static struct ecm_outcome model(struct nested_cpu *c, u8 *img, bool resume, bool launched)
{
    static const u32 msrs[7] = {MSR_IA32_VMX_BASIC, MSR_IA32_VMX_TRUE_PINBASED_CTLS,
                                MSR_IA32_VMX_TRUE_PROCBASED_CTLS, MSR_IA32_VMX_PROCBASED_CTLS2,
                                MSR_IA32_VMX_TRUE_EXIT_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS,
                                MSR_IA32_VMX_MISC};
    struct ecm_caps *k = &c->caps;
    struct ecm_cpu p = {0};
    struct ecm_result r;
    if (!c->caps_ready) { /* they do not change after l0_nested_setup */
        u64 *kv = &k->basic; /* basic pin proc proc2 exit entry misc, in this order */
        for (u32 i = 0; i < 7; i++)
            if (msrs[i])
                vmx_msr(msrs[i], &kv[i]);
        vmx_msr(MSR_IA32_VMX_CR0_FIXED0, &k->cr0_fixed0);
        vmx_msr(MSR_IA32_VMX_CR0_FIXED1, &k->cr0_fixed1);
        vmx_msr(MSR_IA32_VMX_CR4_FIXED0, &k->cr4_fixed0);
        vmx_msr(MSR_IA32_VMX_CR4_FIXED1, &k->cr4_fixed1);
        vmx_msr(MSR_IA32_VMX_EPT_VPID_CAP, &k->ept_vpid);
        c->caps_ready = true;
    }
    if (!c->ecm)
        c->ecm = alloc_pages(1);
    p.maxphyaddr = (u8)maxphyaddr();
    p.linear_bits = (u8)((cpuid(0x80000008u, 0).eax >> 8) & 0xff);
    p.intel64 = true;
    p.ia32e = (vmr(GUEST_IA32_EFER) & EFER_LMA) != 0;
    p.vmresume = resume;
    p.launched = launched;
    p.rtm = (cpuid(7, 0).ebx >> 11) & 1;
    p.sgx = (cpuid(7, 0).ebx >> 2) & 1;
    p.cet_ss = (cpuid(7, 0).ecx >> 7) & 1;
    p.cet = p.cet_ss || ((cpuid(7, 0).edx >> 20) & 1);
    p.efer_valid = 0xd01; /* SCE LME LMA NXE */
    p.debugctl_valid = 0x3;
    p.read = ecm_read_gpa;
    p.wrmsr_ok = l0_nested_wrmsr_ok;
    p.ctx = img;
    /* ecm: the supported fields (the others stay 0), read again only where
     * they changed since it last held this image (field_set, load) */
    u64 *chg = (u64 *)(img + VMCS12_CHANGED);
    for (u32 w = 0; w < ECM_SLOTS / 64; w++) {
        u64 bits = (c->ecm_img == img ? chg[w] : ~0ull) & fields[w];
        chg[w] = 0;
        for (; bits; bits &= bits - 1) {
            u32 sl = w * 64 + (u32)__builtin_ctzll(bits);
            u64 x = field_get(img, sl), bit = 1ull << (sl % 64);
            c->ecm->f[sl] = x;
            if (c->base && x != c->base->f[sl])
                c->diff[w] |= bit;
            else
                c->diff[w] &= ~bit;
        }
    }
    c->ecm_img = img;
    if (resume && c->deps && c->deps_gpa == c->current && c->deps_ia32e == p.ia32e) {
        u32 changed[ECM_SLOTS], n = 0; /* the fields changed since the base */
        for (u32 w = 0; w < ECM_SLOTS / 64; w++)
            for (u64 bits = c->diff[w]; bits; bits &= bits - 1)
                changed[n++] = slot_encoding(w * 64 + (u32)__builtin_ctzll(bits));
        ecm_predict_delta(c->ecm, k, &p, c->deps, changed, n, true, &r);
        return r.outcome;
    }
    ecm_predict(c->ecm, k, &p, &r);
    if (resume) { /* the base for this VMCS12's next VMRESUMEs */
        if (!c->deps) {
            c->deps = alloc_pages((sizeof(struct ecm_deps) + PAGE_SIZE - 1) / PAGE_SIZE);
            c->base = alloc_pages(1);
        }
        ecm_deps_build(c->ecm, k, &p, c->deps);
        memcpy(c->base, c->ecm, sizeof(*c->base));
        memset(c->diff, 0, sizeof(c->diff));
        c->deps_gpa = c->current;
        c->deps_ia32e = p.ia32e;
    }
    return r.outcome;
}

/* CR0/CR4 of L1: its value in the read shadow, the fixed bits kept */
static void l1_cr(u32 field, u32 shadow, u64 value, u64 fixed0, u64 fixed1)
{
    vmw(shadow, value);
    vmw(field, (value | fixed0) & fixed1);
}

/* L1 after a VM exit from L2 or a failed VM entry: VMCS12's host state
 * (27.5), in VMCS01 (current) */
static void load_l1_host(u8 *img)
{
    const struct vmx_caps *k = &vmx_caps;
#define H(enc) field_get(img, ecm_slot(enc))
    u32 exit = (u32)H(VM_EXIT_CONTROLS);
    bool wide = exit & EXIT_HOST_ADDRESS_SPACE_SIZE;
    u64 efer = (exit & EXIT_LOAD_IA32_EFER) ? H(HOST_IA32_EFER) : vmr(GUEST_IA32_EFER);
    efer = wide ? efer | EFER_LMA | EFER_LME : efer & ~(u64)(EFER_LMA | EFER_LME);
    l1_cr(GUEST_CR0, CR0_READ_SHADOW, H(HOST_CR0), k->cr0_fixed0 & ~(u64)(CR0_PE | CR0_PG),
          k->cr0_fixed1);
    l1_cr(GUEST_CR4, CR4_READ_SHADOW, H(HOST_CR4), k->cr4_fixed0, k->cr4_fixed1);
    vmw(GUEST_CR3, H(HOST_CR3));
    vmw(GUEST_DR7, 0x400);
    vmw(GUEST_IA32_DEBUGCTL, 0);
    vmw(GUEST_SYSENTER_CS, H(HOST_IA32_SYSENTER_CS));
    vmw(GUEST_SYSENTER_ESP, H(HOST_IA32_SYSENTER_ESP));
    vmw(GUEST_SYSENTER_EIP, H(HOST_IA32_SYSENTER_EIP));
    vmw(GUEST_IA32_EFER, efer);
    u64 entry01 = vmr(VM_ENTRY_CONTROLS) & ~(u64)ENTRY_IA32E_MODE_GUEST;
    vmw(VM_ENTRY_CONTROLS, entry01 | (wide ? ENTRY_IA32E_MODE_GUEST : 0));
    for (u32 seg = 0; seg < 6; seg++) { /* ES CS SS DS FS GS */
        u16 sel = (u16)H(HOST_ES_SELECTOR + 2 * seg);
        u32 ar = seg == 1 ? (wide ? 0xa09bu : 0xc09bu) : sel ? 0xc093u : 0x10000u;
        u64 base = seg == 4 ? H(HOST_FS_BASE) : seg == 5 ? H(HOST_FS_BASE + 2) : 0;
        vmcs_guest_segment(GUEST_ES_SELECTOR + 2 * seg, sel, base, 0xffffffffu, ar);
    }
    vmcs_guest_segment(GUEST_TR_SELECTOR, (u16)H(HOST_TR_SELECTOR), H(HOST_TR_BASE), 0x67,
                       0x8b);
    vmcs_guest_segment(GUEST_LDTR_SELECTOR, 0, 0, 0, 0x10000);
    vmw(GUEST_GDTR_BASE, H(HOST_GDTR_BASE));
    vmw(GUEST_GDTR_LIMIT, 0xffff);
    vmw(GUEST_IDTR_BASE, H(HOST_IDTR_BASE));
    vmw(GUEST_IDTR_LIMIT, 0xffff);
    vmw(GUEST_RIP, H(HOST_RIP));
    vmw(GUEST_RSP, H(HOST_RSP));
    vmw(GUEST_RFLAGS, 0x2);
    vmw(GUEST_INTERRUPTIBILITY_INFO, 0);
    vmw(GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
    vmw(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    vmw(VM_ENTRY_INTR_INFO_FIELD, 0);
    if ((H(HOST_CR4) & CR4_PAE) && !wide)
        l0_load_pdptes();
#undef H
}

/* VMCS02: VMCS12's controls and guest state, the L0's host state, EPT
 * (the L0's when L1 has none, so L2's guest-physical space is L1's; else
 * EPT02) */
static const char *enter_l2(struct l0_vcpu *v, struct nested_cpu *c, u8 *img, bool fast)
{
    u64 host[128]; /* the L0's host-state fields, by width and index */
    u64 entry01 = vmr(VM_ENTRY_CONTROLS), exit01 = vmr(VM_EXIT_CONTROLS);
    u64 pat01 = (entry01 & ENTRY_LOAD_IA32_PAT) ? vmr(GUEST_IA32_PAT) : 0;
    u64 efer01 = vmr(GUEST_IA32_EFER);
    u32 proc = (u32)field_get(img, ecm_slot(CPU_BASED_VM_EXEC_CONTROL));
    u32 entry = (u32)field_get(img, ecm_slot(VM_ENTRY_CONTROLS));

    if (fast) { /* VMRESUME of the VMCS12 VMCS02 holds: the fields L1 wrote, and those
                 * an exit leaves in VMCS02 but not in VMCS12 */
        static const u32 unsaved[] = {GUEST_DR7, GUEST_IA32_DEBUGCTL, GUEST_IA32_EFER,
                                      GUEST_IA32_PAT, VMX_PREEMPTION_TIMER_VALUE};
        if (vmx_vmptrld((uintptr_t)c->vmcs02) != VMX_OK)
            fatal("nested VMX: CPU %u: VMPTRLD of VMCS02 failed", v->cpu);
        for (u32 w = 0; w < ECM_SLOTS / 64; w++) /* controls and guest state */
            for (u64 bits = c->dirty[w]; bits; bits &= bits - 1) {
                u32 sl = w * 64 + (u32)__builtin_ctzll(bits);
                if (!(sl & 32))
                    vmw(slot_encoding(sl), field_get(img, sl));
            }
        for (u32 i = 0; i < sizeof(unsaved) / sizeof(unsaved[0]); i++)
            if (has(ecm_slot(unsaved[i])))
                vmw(unsaved[i], field_get(img, ecm_slot(unsaved[i])));
    } else {
        for (u32 i = 0; i < type_count[3]; i++)
            host[i] = vmr(slot_encoding(type_slots[3][i]));
        if (!c->vmcs02)
            c->vmcs02 = vmx_alloc_region();
        if (vmx_vmclear((uintptr_t)c->vmcs02) != VMX_OK ||
            vmx_vmptrld((uintptr_t)c->vmcs02) != VMX_OK)
            fatal("nested VMX: CPU %u: VMCLEAR/VMPTRLD of VMCS02 failed", v->cpu);
        for (u32 t = 0; t < 4; t++)
            for (u32 i = 0; i < type_count[t]; i++)
                if (t != 1)
                    vmw(slot_encoding(type_slots[t][i]),
                        t == 3 ? host[i] : field_get(img, type_slots[t][i]));
    }
    memset(c->dirty, 0, sizeof(c->dirty));
    c->dirty_any = false;
    c->v02_gpa = c->current;
    vmw(CPU_BASED_VM_EXEC_CONTROL, proc | CPU_ACTIVATE_SECONDARY_CONTROLS);
    u32 proc2 = l0_nested_vmcs02_secondary(v, img, proc); /* EPT02, VPID02: nested_inv.c */
    vmw(VM_EXIT_CONTROLS, exit01);
    if (!(entry & ENTRY_LOAD_IA32_EFER)) {
        u64 efer = efer01 & ~(u64)(EFER_LMA | EFER_LME);
        vmw(GUEST_IA32_EFER, efer | ((entry & ENTRY_IA32E_MODE_GUEST) ? EFER_LMA | EFER_LME : 0));
    }
    entry |= ENTRY_LOAD_IA32_EFER | (u32)(entry01 & ENTRY_LOAD_IA32_PAT);
    vmw(VM_ENTRY_CONTROLS, entry);
    if (entry01 & ENTRY_LOAD_IA32_PAT)
        vmw(GUEST_IA32_PAT, pat01);
    vmw(VMCS_LINK_POINTER, ~0ull);
    const char *why = l0_nested_vmcs02(v, img); /* L1's controls (nested_controls.c) */
    if (why)
        return why;
    l0_nested_own_vmcs02(v); /* L1's bitmaps merged with the L0's (nested_own.c) */
    /* With EPT, VM entry takes a PAE guest's PDPTEs from the VMCS
     * (27.3.2.4); without it, as L1 has it, from CR3: load them */
    u64 cr0 = field_get(img, ecm_slot(GUEST_CR0)), cr4 = field_get(img, ecm_slot(GUEST_CR4));
    if ((cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(entry & ENTRY_IA32E_MODE_GUEST) &&
        !(proc2 & CPU2_ENABLE_EPT))
        l0_load_pdptes();
    l0_debugctl_entry(v, img);
    c->l2 = true;
    v->switched = true;
    v->launch_next = !fast;
    return NULL;
}

bool l0_nested_in_l2(struct l0_vcpu *v) { return ncpu[v->cpu].l2; }

u64 l0_nested_vmcs12(struct l0_vcpu *v, u32 enc)
{
    return field_get(image(&ncpu[v->cpu]), ecm_slot(enc));
}

void l0_nested_reset(struct l0_vcpu *v)
{
    struct nested_cpu *c = &ncpu[v->cpu];
    l0_nested_leave_l2(v);
    for (u32 i = 0; i < VMCS12_CACHED; i++)
        c->cache[i].gpa = NO_VMCS12;
    c->vmxon = false;
    c->vmxon_ptr = c->current = NO_VMCS12;
}

void l0_nested_leave_l2(struct l0_vcpu *v)
{
    if (ncpu[v->cpu].l2 && vmx_vmptrld((uintptr_t)v->vmcs) == VMX_OK)
        ncpu[v->cpu].l2 = false;
}

enum exit_action l0_nested_l2_exit(struct l0_vcpu *v, u32 reason)
{
    struct nested_cpu *c = &ncpu[v->cpu];
    u8 *img = image(c);
    u32 exit12 = (u32)field_get(img, ecm_slot(VM_EXIT_CONTROLS));
    u64 efer12 = field_get(img, ecm_slot(GUEST_IA32_EFER)), qual12 = 0;
    u32 reason12 = reason;

    if (l0_ept02_exit(v, img, &reason12, &qual12)) /* nested_ept.c */
        return EXIT_RESUME; /* EPT02 filled: L2 goes on */
    u32 own = l0_nested_own_exit(v, reason); /* the L0's own intercepts (nested_own.c) */
    if (own == L0_OWN_DONE)
        return EXIT_RESUME;
    if (own == L0_OWN_INIT) /* the INIT the L0 held (nested_init.c) */
        own = 0, reason12 = EXIT_REASON_INIT;
    if (!own && !l0_nested_l1_wants(v, img, reason12)) { /* nested_controls.c */
        char state[220];
        l0_guest_state_line(state, sizeof(state));
        fatal("nested VMX: L2 on CPU %u: exit %u (qualification 0x%llx, guest-physical "
              "0x%llx), which L1's controls do not ask for and the L0 does not handle; %s",
              v->cpu, reason & 0xffff, vmr(EXIT_QUALIFICATION), vmr(GUEST_PHYSICAL_ADDRESS),
              state);
    }
    l0_nested_counts[v->cpu].l2_exits++;
    u64 *chg = (u64 *)(img + VMCS12_CHANGED);
    for (u32 i = 0; i < save_count; i++) { /* exit information and guest state (27.2, 27.3): */
        u32 sl = save_slots[i];               /* field_set's work, from the tables */
        u64 x = vmr(save_enc[i]);
        if (sl & 128) { /* 64-bit and natural width */
            if (*(u64 *)(img + save_off[i]) == x)
                continue;
            *(u64 *)(img + save_off[i]) = x;
        } else {
            if (*(u32 *)(img + save_off[i]) == (u32)x)
                continue;
            *(u32 *)(img + save_off[i]) = (u32)x;
        }
        chg[sl / 64] |= 1ull << (sl % 64);
    }
    if (own) { /* the exception the L0 raised in L2, taken by L1's exception bitmap */
        reason12 = EXIT_REASON_EXCEPTION_NMI; /* (l0_ept02_exit_fields writes it) */
        field_set(img, ecm_slot(VM_EXIT_INTR_INFO), own);
        field_set(img, ecm_slot(VM_EXIT_INTR_ERROR_CODE), 0);
        field_set(img, ecm_slot(EXIT_QUALIFICATION), 0);
    }
    if (!(exit12 & EXIT_SAVE_IA32_EFER))
        field_set(img, ecm_slot(GUEST_IA32_EFER), efer12);
    l0_ept02_exit_fields(img, reason12, qual12);
    l0_nested_exit_to12(v, img);
    field_set(img, ecm_slot(VM_ENTRY_INTR_INFO_FIELD),
              field_get(img, ecm_slot(VM_ENTRY_INTR_INFO_FIELD)) & ~(u64)INTR_INFO_VALID);
    c->l2 = false;
    if (vmx_vmptrld((uintptr_t)v->vmcs) != VMX_OK)
        fatal("nested VMX: CPU %u: VMPTRLD of VMCS01 failed", v->cpu);
    load_l1_host(img);
    l0_nested_exit_to01(v, img, true);
    v->switched = true;
    return EXIT_STOP;
}

/* VMLAUNCH/VMRESUME (31.3): the checks before the VM entry, then the
 * entry model on VMCS12 (27.1-27.3), then L2 */
static void do_vmentry(struct l0_vcpu *v, struct nested_cpu *c, bool resume)
{
    if (c->current == NO_VMCS12)
        return vmfail(v, 0);
    if (vmr(GUEST_INTERRUPTIBILITY_INFO) & INTR_BLOCKING_MOV_SS)
        return vmfail(v, VMX_ERROR_MOV_SS_BLOCKING);
    u8 *img = image(c);
    u32 *launched = (u32 *)(img + VMCS12_LAUNCH);
    if (!resume && *launched)
        return vmfail(v, VMX_ERROR_VMLAUNCH_NON_CLEAR);
    if (resume && !*launched)
        return vmfail(v, VMX_ERROR_VMRESUME_NON_LAUNCHED);
    /* VMRESUME of the VMCS12 that VMCS02 holds, no field written since its
     * last entry: the state an exit saved, which VM entry accepts, so the
     * model's verdict stands (memory it reads -- the MSR-load area, PAE
     * PDPTEs -- is read again below and by the CPU's entry of VMCS02) */
    bool fast = resume && c->v02_gpa == c->current;
    struct ecm_outcome o = {ECM_ENTRY, 0, 0};
    if (!fast || c->dirty_any)
        o = model(c, img, resume, *launched);
    if (o.kind == ECM_VMFAIL)
        return vmfail(v, o.code);
    bool msr_fail = o.kind == ECM_EXIT_FAIL && o.code == EXIT_REASON_MSR_LOADING;
    if (o.kind == ECM_ENTRY || msr_fail) { /* 27.4: the entries before a failing one load */
        l0_nested_pre_entry(v, img);
        u32 n = msr_fail ? (u32)o.qual - 1 : (u32)field_get(img, ecm_slot(VM_ENTRY_MSR_LOAD_COUNT));
        u32 bad = l0_nested_entry_msrs(v, img, n);
        if (bad)
            o = (struct ecm_outcome){ECM_EXIT_FAIL, EXIT_REASON_MSR_LOADING, bad};
    }
    if (o.kind == ECM_EXIT_FAIL) { /* 27.8: an exit with bit 31 set, host state and the
                                    * VM-exit MSR-load area loaded */
        field_set(img, ecm_slot(VM_EXIT_REASON), o.code | EXIT_REASON_ENTRY_FAILURE);
        field_set(img, ecm_slot(EXIT_QUALIFICATION), o.qual);
        load_l1_host(img);
        l0_nested_exit_to01(v, img, false);
        return;
    }
    const char *why = o.kind == ECM_UNDEFINED ? "a VMCS12 whose entry the SDM leaves undefined"
                                              : enter_l2(v, c, img, fast);
    if (why)
        fatal("nested VMX: CPU %u: %s of the VMCS at 0x%llx: %s, which this L0 does not "
              "emulate yet (issue #20)", v->cpu, resume ? "VMRESUME" : "VMLAUNCH", c->current,
              why);
    *launched = 1;
    l0_nested_counts[v->cpu].l2_entries++;
}

static void do_msr(struct l0_vcpu *v, bool write)
{
    u32 msr = (u32)v->regs.rcx;
    u64 value, *fc = guest_fc(&ncpu[v->cpu]);
    if (msr == MSR_IA32_FEATURE_CONTROL && write) {
        value = (u32)v->regs.rax | v->regs.rdx << 32;
        if ((*fc & FEATURE_CONTROL_LOCKED) || (value & ~7ull))
            return inject(v, VEC_GP);
        *fc = value;
        return next_insn();
    }
    if (msr == MSR_IA32_FEATURE_CONTROL)
        value = *fc;
    else if (write || !vmx_msr(msr, &value)) /* read-only, or absent */
        return inject(v, VEC_GP);
    v->regs.rax = (u32)value;
    v->regs.rdx = value >> 32;
    next_insn();
}

bool l0_nested_exit(struct l0_vcpu *v, u32 reason)
{
    struct nested_cpu *c = &ncpu[v->cpu];
    u32 info = (u32)vmr(VMX_INSTRUCTION_INFO);
    u64 qual = vmr(EXIT_QUALIFICATION), pa = 0;

    if (!l0_nested)
        return false;
    if (reason == EXIT_REASON_MSR_READ || reason == EXIT_REASON_MSR_WRITE) {
        u32 msr = (u32)v->regs.rcx;
        if (l0_debugctl_msr(v, reason == EXIT_REASON_MSR_WRITE))
            return true;
        if (msr != MSR_IA32_FEATURE_CONTROL &&
            (msr < MSR_IA32_VMX_BASIC || msr > MSR_IA32_VMX_VMFUNC))
            return false;
        do_msr(v, reason == EXIT_REASON_MSR_WRITE);
        return true;
    }
    bool inv = reason == EXIT_REASON_INVEPT || reason == EXIT_REASON_INVVPID;
    if (!inv && (reason < EXIT_REASON_VMCALL || reason > EXIT_REASON_VMXON))
        return false;
    if (!inv)
        l0_nested_counts[v->cpu].insn[reason - EXIT_REASON_VMCALL]++;
    /* #UD before all (31.3): outside VMX operation (VMXON aside), in
     * virtual-8086 or compatibility mode, CR0.PE clear */
    bool compat = (vmr(GUEST_IA32_EFER) & EFER_LMA) && !long64();
    if ((!c->vmxon && reason != EXIT_REASON_VMXON) || (vmr(GUEST_RFLAGS) & EFLAGS_VM) ||
        compat || !(guest_cr0() & CR0_PE) || (inv && !l0_nested_inv_offered(reason))) {
        inject(v, VEC_UD);
        return true;
    }
    if (reason != EXIT_REASON_VMXON && ((vmr(GUEST_SS_AR_BYTES) >> 5) & 3)) {
        inject(v, VEC_GP); /* CPL > 0 */
        return true;
    }
    if (reason == EXIT_REASON_VMCLEAR || reason == EXIT_REASON_VMPTRLD)
        if (!operand_copy(v, operand_address(v, info, qual), &pa, 8, false))
            return true;
    switch (reason) {
    case EXIT_REASON_VMXON:
        do_vmxon(v, c, operand_address(v, info, qual));
        break;
    case EXIT_REASON_VMXOFF:
        for (u32 i = 0; i < VMCS12_CACHED; i++)
            if (c->cache[i].image && c->cache[i].gpa != NO_VMCS12)
                write_back(&c->cache[i]);
        c->vmxon = false;
        c->current = c->v02_gpa = NO_VMCS12;
        c->vmxon_ptr = NO_VMCS12;
        succeed();
        l0_nested_init_vmxoff(v); /* a held INIT resets the CPU now */
        break;
    case EXIT_REASON_VMCLEAR:
        do_vmclear(v, c, pa);
        break;
    case EXIT_REASON_VMPTRLD:
        do_vmptrld(v, c, pa);
        break;
    case EXIT_REASON_VMPTRST:
        if (operand_copy(v, operand_address(v, info, qual), &c->current, 8, true))
            succeed();
        break;
    case EXIT_REASON_VMREAD:
    case EXIT_REASON_VMWRITE:
        do_vmread_vmwrite(v, c, reason == EXIT_REASON_VMWRITE, info, qual);
        break;
    case EXIT_REASON_VMLAUNCH:
    case EXIT_REASON_VMRESUME:
        do_vmentry(v, c, reason == EXIT_REASON_VMRESUME);
        break;
    case EXIT_REASON_INVEPT:
    case EXIT_REASON_INVVPID:
        l0_nested_inv(v, reason == EXIT_REASON_INVEPT, info, qual); /* nested_inv.c */
        break;
    default: /* VMCALL in VMX root operation, no dual-monitor treatment */
        vmfail(v, 1);
    }
    return true;
}

bool l0_nested_cr_refused(struct l0_vcpu *v, u32 cr, u64 value)
{
    /* In VMX operation CR0 and CR4 keep their fixed bits (24.8): a MOV
     * that would clear one (CR4.VMXE among them) is #GP(0) */
    const struct vmx_caps *k = &vmx_caps;
    if (!l0_nested || !ncpu[v->cpu].vmxon)
        return false;
    bool bad = cr == 0 ? (value & k->cr0_fixed0) != k->cr0_fixed0 || (value & ~k->cr0_fixed1)
                       : (value & k->cr4_fixed0) != k->cr4_fixed0 || (value & ~k->cr4_fixed1);
    if (bad)
        inject(v, VEC_GP);
    return bad;
}
/* For nested_*.c (nested.h) */
u64 l0_v12(u8 *img, u32 enc) { return field_get(img, ecm_slot(enc)); }
void l0_v12_set(u8 *img, u32 enc, u64 value) { field_set(img, ecm_slot(enc), value); }
bool l0_phys_copy(u64 gpa, void *buf, u32 n, bool write) { return phys_copy(gpa, buf, n, write); }

/* A linear address the CPU's linear-address width allows (CPUID 80000008H) */
bool l0_canonical(u64 a)
{
    u32 bits = (cpuid(0x80000008u, 0).eax >> 8) & 0xff;
    return (u64)((s64)(a << (64 - bits)) >> (64 - bits)) == a;
}
#endif
