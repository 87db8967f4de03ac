/* The executable model of SDM 3C chapter 27's VM-entry checks (see
 * entry_checks.h). Written from the SDM's text: each rule below is one
 * item of 27.1-27.4, named by a stable id in ecm_checks[]. A rule
 * function returns true when the rule holds (also when its precondition,
 * e.g. "if the 'use I/O bitmaps' control is 1", is false).
 *
 * Order (27.1, 27.2, 27.3.1, 27.7/27.8): the basic checks of 27.1 in
 * their fixed order (VMfailValid 26, 4, 5); then the controls and the
 * host state, "performed in any order" (27.2): VMfailValid 7 or 8; then
 * the guest state, also in any order (27.8: the exit qualification of one
 * failing check does not exclude others): exit 33 with qualification 0, 2
 * (PDPTEs), 3 (NMI with blocking by STI, implementation-specific) or 4
 * (VMCS link pointer); then the MSR-load area entry by entry: exit 34 with
 * the 1-based index of the first failing entry. Where the order is open
 * the result lists every outcome the SDM allows. */
#include "entry_checks.h"
#include "string.h"

/* Size over speed here (the rest of lhv/vmx is -O2 for the exit path): the
 * model is the image's largest piece and runs only in vmx/fuzz-entry. The
 * push/pop keeps it to this file in lhv/vmx's one translation unit. */
#pragma GCC push_options
#pragma GCC optimize("Os")

struct ecm_ctx {
    const struct ecm_vmcs *v;
    const struct ecm_caps *k;
    const struct ecm_cpu *cpu;
    u8 dwidth;               /* physical width of VMCS data structures */
    u32 msr_index, msr_high; /* MSR stage: the entry being loaded */
    u64 msr_value;
    u64 *rd;   /* ecm_deps_build: the slots a check reads (ECM_RD_WORDS), else NULL */
    bool virt; /* a derived value read counts as its own slot (ecm_deps) */
};

/* What a check reads, while ecm_deps_build watches: the VMCS slot of a
 * field, ECM_SLOTS for memory (ecm_read) */
typedef u32 __attribute__((may_alias)) ecm_rd_half;
static inline __attribute__((always_inline)) void ecm_touch(const struct ecm_ctx *c, u32 slot)
{
    /* as 32-bit halves (little-endian: the same bits), a 64-bit shift by
     * a variable count is ten instructions on i386 */
    if (c->rd)
        ((ecm_rd_half *)c->rd)[slot / 32] |= 1u << (slot % 32);
}
static inline __attribute__((always_inline)) void ecm_touch2(const struct ecm_ctx *c, u32 a, u32 b)
{
    ecm_touch(c, ecm_slot(a));
    ecm_touch(c, ecm_slot(b));
}

/* Bits of control fields (SDM 3C 25.6-25.8) the checks name */
#define ECM_PIN_NMI_EXITING (1u << 3)
#define ECM_PIN_VIRTUAL_NMIS (1u << 5)
#define ECM_PIN_PREEMPTION_TIMER (1u << 6)
#define ECM_PIN_POSTED_INTR (1u << 7)
#define ECM_P2_APIC_ACCESS (1u << 0)
#define ECM_P2_X2APIC (1u << 4)
#define ECM_P2_APIC_REG_VIRT (1u << 8)
#define ECM_P2_VID (1u << 9)
#define ECM_P2_PML (1u << 17)
#define ECM_P2_EPT_VE (1u << 18)
#define ECM_P2_MBEC (1u << 22)
#define ECM_P2_SPP (1u << 23)
#define ECM_P2_PT_GPA (1u << 24)
#define ECM_EXIT_LOAD_PERF_GLOBAL (1u << 12)
#define ECM_EXIT_CLEAR_RTIT (1u << 25)
#define ECM_ENTRY_SMM (1u << 10)
#define ECM_ENTRY_DUAL_MONITOR (1u << 11)
#define ECM_ENTRY_LOAD_PERF_GLOBAL (1u << 13)
#define ECM_ENTRY_LOAD_BNDCFGS (1u << 16)
#define ECM_ENTRY_LOAD_RTIT (1u << 18)
#define ECM_CR0_PE (1ull << 0)
#define ECM_CR0_WP (1ull << 16)
#define ECM_CR0_PG (1ull << 31)
#define ECM_CR4_PAE (1ull << 5)
#define ECM_CR4_PCIDE (1ull << 17)
#define ECM_CR4_CET (1ull << 23)
#define ECM_EFER_LME (1ull << 8)
#define ECM_EFER_LMA (1ull << 10)
#define ECM_RFLAGS_TF (1ull << 8)
#define ECM_RFLAGS_IF (1ull << 9)
#define ECM_RFLAGS_VM (1ull << 17)
#define ECM_AR_L (1u << 13)
#define ECM_AR_DB (1u << 14)
#define ECM_AR_G (1u << 15)
#define ECM_AR_UNUSABLE (1u << 16)
#define ECM_INTR_EXT 0
#define ECM_INTR_NMI 2
#define ECM_INTR_HW_EXC 3
#define ECM_INTR_OTHER 7
#define ECM_ACT_HLT 1
#define ECM_ACT_SHUTDOWN 2
#define ECM_ACT_SIPI 3
#define ECM_STI 1u
#define ECM_MOVSS 2u
#define ECM_SEG_ES 0
#define ECM_SEG_CS 1
#define ECM_SEG_SS 2
#define ECM_SEG_DS 3
#define ECM_SEG_FS 4
#define ECM_SEG_GS 5
#define ECM_SEG_LDTR 6
#define ECM_SEG_TR 7

/* Values derived from a field or two, computed where a rule asks (a
 * prediction reads a few; the fuzzer's walks ask for one check at a time) */
static inline __attribute__((always_inline)) u32 ecm_d_proc2(const struct ecm_vmcs *v)
{
    /* 0 unless activated (25.6.2) */
    return (ecm_get(v, CPU_BASED_VM_EXEC_CONTROL) & CPU_ACTIVATE_SECONDARY_CONTROLS)
               ? (u32)ecm_get(v, SECONDARY_VM_EXEC_CONTROL)
               : 0;
}
#define ECM_D_UG(v) ((ecm_d_proc2(v) & CPU2_UNRESTRICTED_GUEST) != 0)
#define ECM_D_HOST64(v) ((ecm_get(v, VM_EXIT_CONTROLS) & EXIT_HOST_ADDRESS_SPACE_SIZE) != 0)
#define ECM_D_IA32E(v) ((ecm_get(v, VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST) != 0)
#define ECM_D_V86(v) ((ecm_get(v, GUEST_RFLAGS) & ECM_RFLAGS_VM) != 0)
#define ECM_D_INTR(v) ((u32)ecm_get(v, VM_ENTRY_INTR_INFO_FIELD))
#define ECM_D_INJ(v) ((ECM_D_INTR(v) >> 31) != 0)
#define ECM_D_TYPE(v) ((ECM_D_INTR(v) >> 8) & 7)
#define ECM_D_VEC(v) (ECM_D_INTR(v) & 0xff)
/* A value read through ECM_X, so the fields it comes from count as read
 * (one call per use: small); k: its own slot when derived (ecm_deps) */
#define ECM_ACC(f, t, a, b, k, value)                                            \
    static __attribute__((noinline)) t ecm_x_##f(const struct ecm_ctx *c) \
    {                                                                         \
        if ((k) >= 0 && c->virt)                                              \
            ecm_touch(c, ECM_SLOTS + 1 + (k));                                \
        else                                                                  \
            ecm_touch2(c, a, b);                                              \
        return value;                                                         \
    }
ECM_ACC(pin, u32, PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VM_EXEC_CONTROL, -1,
        (u32)ecm_get(c->v, PIN_BASED_VM_EXEC_CONTROL))
ECM_ACC(proc, u32, CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_VM_EXEC_CONTROL, -1,
        (u32)ecm_get(c->v, CPU_BASED_VM_EXEC_CONTROL))
ECM_ACC(proc2, u32, CPU_BASED_VM_EXEC_CONTROL, SECONDARY_VM_EXEC_CONTROL, 0, ecm_d_proc2(c->v))
ECM_ACC(ug, bool, CPU_BASED_VM_EXEC_CONTROL, SECONDARY_VM_EXEC_CONTROL, 1, ECM_D_UG(c->v))
ECM_ACC(exit, u32, VM_EXIT_CONTROLS, VM_EXIT_CONTROLS, -1, (u32)ecm_get(c->v, VM_EXIT_CONTROLS))
ECM_ACC(host64, bool, VM_EXIT_CONTROLS, VM_EXIT_CONTROLS, 2, ECM_D_HOST64(c->v))
ECM_ACC(entry, u32, VM_ENTRY_CONTROLS, VM_ENTRY_CONTROLS, -1, (u32)ecm_get(c->v, VM_ENTRY_CONTROLS))
ECM_ACC(ia32e_guest, bool, VM_ENTRY_CONTROLS, VM_ENTRY_CONTROLS, 3, ECM_D_IA32E(c->v))
ECM_ACC(cr0, u64, GUEST_CR0, GUEST_CR0, -1, ecm_get(c->v, GUEST_CR0))
ECM_ACC(cr4, u64, GUEST_CR4, GUEST_CR4, -1, ecm_get(c->v, GUEST_CR4))
ECM_ACC(rflags, u64, GUEST_RFLAGS, GUEST_RFLAGS, -1, ecm_get(c->v, GUEST_RFLAGS))
ECM_ACC(v86, bool, GUEST_RFLAGS, GUEST_RFLAGS, 4, ECM_D_V86(c->v))
ECM_ACC(intr, u32, VM_ENTRY_INTR_INFO_FIELD, VM_ENTRY_INTR_INFO_FIELD, -1, ECM_D_INTR(c->v))
ECM_ACC(inj, bool, VM_ENTRY_INTR_INFO_FIELD, VM_ENTRY_INTR_INFO_FIELD, 5, ECM_D_INJ(c->v))
ECM_ACC(type, u32, VM_ENTRY_INTR_INFO_FIELD, VM_ENTRY_INTR_INFO_FIELD, 6, ECM_D_TYPE(c->v))
ECM_ACC(vec, u32, VM_ENTRY_INTR_INFO_FIELD, VM_ENTRY_INTR_INFO_FIELD, 7, ECM_D_VEC(c->v))
#define ECM_X(c, f) ecm_x_##f(c)

/* --- small facts ------------------------------------------------------- */

/* A field's value, by slot: the slot of a constant encoding is folded at
 * the call (ecm_g), where the rules name their fields */
static __attribute__((noinline)) u64 ecm_gs(const struct ecm_ctx *c, u32 slot)
{
    ecm_touch(c, slot);
    return c->v->f[slot];
}
static inline __attribute__((always_inline)) u64 ecm_g(const struct ecm_ctx *c, u32 enc)
{
    return ecm_gs(c, ecm_slot(enc));
}

/* The value has no bit at or above `bits` */
static bool ecm_fits(u64 a, u8 bits) { return bits >= 64 || (a >> bits) == 0; }

/* A physical address of a VMCS data structure: within the physical-address
 * width, or 32 bits when IA32_VMX_BASIC[48] says so (A.1) */
static bool ecm_pa_ok(const struct ecm_ctx *c, u64 a) { return ecm_fits(a, c->dwidth); }
static bool ecm_page_ok(const struct ecm_ctx *c, u64 a)
{
    return (a & 0xfff) == 0 && ecm_pa_ok(c, a);
}

/* Canonical: bits 63:N-1 all equal for a linear-address width N. Checks
 * the SDM makes only "on processors that support Intel 64" hold on others. */
static bool ecm_canonical(const struct ecm_ctx *c, u64 a)
{
    u8 n = c->cpu->linear_bits;
    if (!c->cpu->intel64 || n >= 64)
        return true;
    u64 top = a >> (n - 1);
    return top == 0 || top == (~0ull >> (n - 1));
}

static bool ecm_high_zero(const struct ecm_ctx *c, u64 a)
{
    return !c->cpu->intel64 || (a >> 32) == 0;
}

/* Control value allowed by a capability MSR (A.3-A.5): the bits of the
 * low half must be 1, bits clear in the high half must be 0 */
static bool ecm_allowed(u32 value, u64 msr)
{
    u32 must1 = (u32)msr, may1 = (u32)(msr >> 32);
    return (value & must1) == must1 && (value & ~may1) == 0;
}

/* CR0/CR4 against IA32_VMX_CRn_FIXED0/1 (A.7, A.8); `exempt` bits are
 * not fixed to 1 */
static bool ecm_fixed(u64 value, u64 fixed0, u64 fixed1, u64 exempt)
{
    fixed0 &= ~exempt;
    return (value & fixed0) == fixed0 && (value & ~fixed1) == 0;
}

/* IA32_PAT: every byte a memory type the MSR accepts (SDM 3A 13.12.2) */
static bool ecm_pat_ok(u64 pat)
{
    for (int i = 0; i < 8; i++) {
        u8 t = (u8)(pat >> (8 * i));
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

static void ecm_read(const struct ecm_ctx *c, u64 pa, void *buf, u32 len)
{
    ecm_touch(c, ECM_SLOTS);
    if (!c->cpu->read || !c->cpu->read(c->cpu->ctx, pa, buf, len))
        memset(buf, 0xff, len);
}

/* Guest segment i (ES CS SS DS FS GS LDTR TR: the encodings' order) */
static u64 ecm_sel(const struct ecm_ctx *c, int i) { return ecm_g(c, GUEST_ES_SELECTOR + 2 * i); }
static u64 ecm_base(const struct ecm_ctx *c, int i) { return ecm_g(c, GUEST_ES_BASE + 2 * i); }
static u32 ecm_limit(const struct ecm_ctx *c, int i)
{
    return (u32)ecm_g(c, GUEST_ES_LIMIT + 2 * i);
}
static u32 ecm_ar(const struct ecm_ctx *c, int i)
{
    return (u32)ecm_g(c, GUEST_ES_AR_BYTES + 2 * i);
}
static bool ecm_usable(const struct ecm_ctx *c, int i) { return !(ecm_ar(c, i) & ECM_AR_UNUSABLE); }
static u32 ecm_type(u32 ar) { return ar & 0xf; }
static u32 ecm_dpl(u32 ar) { return (ar >> 5) & 3; }

/* The granularity rule (27.3.1.2): limit bits 11:0 not all 1 -> G = 0;
 * any of limit bits 31:20 set -> G = 1 */
static bool ecm_g_ok(u32 limit, u32 ar)
{
    if ((limit & 0xfff) != 0xfff && (ar & ECM_AR_G))
        return false;
    return !((limit & 0xfff00000u) && !(ar & ECM_AR_G));
}

/* The segments the "CS, and SS DS ES FS GS if usable" rules cover: true
 * when pred holds for every one of them (outside virtual-8086 mode) */
static bool ecm_each_seg(const struct ecm_ctx *c, bool (*pred)(const struct ecm_ctx *, int))
{
    if (ECM_X(c, v86))
        return true;
    for (int i = ECM_SEG_ES; i <= ECM_SEG_GS; i++)
        if ((i == ECM_SEG_CS || ecm_usable(c, i)) && !pred(c, i))
            return false;
    return true;
}

/* The data segments DS ES FS GS, usable, outside virtual-8086 mode */
static bool ecm_each_data(const struct ecm_ctx *c, bool (*pred)(const struct ecm_ctx *, int))
{
    static const int data[] = {ECM_SEG_ES, ECM_SEG_DS, ECM_SEG_FS, ECM_SEG_GS};
    if (ECM_X(c, v86))
        return true;
    for (unsigned j = 0; j < sizeof(data) / sizeof(data[0]); j++)
        if (ecm_usable(c, data[j]) && !pred(c, data[j]))
            return false;
    return true;
}

/* The six segments CS SS DS ES FS GS in virtual-8086 mode */
static bool ecm_each_v86(const struct ecm_ctx *c, bool (*pred)(const struct ecm_ctx *, int))
{
    if (!ECM_X(c, v86))
        return true;
    for (int i = ECM_SEG_ES; i <= ECM_SEG_GS; i++)
        if (!pred(c, i))
            return false;
    return true;
}

/* An MSR area of `count` 16-byte entries (27.2.1.2, 27.2.1.3) */
static bool ecm_msr_area_ok(const struct ecm_ctx *c, u32 addr_field, u32 count_field)
{
    u64 count = (u32)ecm_g(c, count_field), a = ecm_g(c, addr_field);
    if (!count)
        return true;
    return (a & 0xf) == 0 && ecm_pa_ok(c, a) && ecm_pa_ok(c, a + count * 16 - 1);
}

#define ECM_RULE(name) static bool ecm_##name(const struct ecm_ctx *c)

/* --- 27.1 basic checks ------------------------------------------------- */

ECM_RULE(movss) { return !c->cpu->movss_blocking; }
ECM_RULE(launch_clear) { return c->cpu->vmresume || !c->cpu->launched; }
ECM_RULE(launch_launched) { return !c->cpu->vmresume || c->cpu->launched; }

/* --- 27.2.1.1 VM-execution control fields ------------------------------ */

ECM_RULE(pin_allowed) { return ecm_allowed(ECM_X(c, pin), c->k->pin); }
ECM_RULE(proc_allowed) { return ecm_allowed(ECM_X(c, proc), c->k->proc); }
ECM_RULE(proc2_allowed)
{
    return !(ECM_X(c, proc) & CPU_ACTIVATE_SECONDARY_CONTROLS) || ecm_allowed(ECM_X(c, proc2), c->k->proc2);
}
ECM_RULE(cr3_count) { return (u32)ecm_g(c, CR3_TARGET_COUNT) <= ((c->k->misc >> 16) & 0x1ff); }
ECM_RULE(io_a) { return !(ECM_X(c, proc) & CPU_USE_IO_BITMAPS) || ecm_page_ok(c, ecm_g(c, IO_BITMAP_A)); }
ECM_RULE(io_b) { return !(ECM_X(c, proc) & CPU_USE_IO_BITMAPS) || ecm_page_ok(c, ecm_g(c, IO_BITMAP_B)); }
ECM_RULE(msr_bitmap)
{
    return !(ECM_X(c, proc) & CPU_USE_MSR_BITMAPS) || ecm_page_ok(c, ecm_g(c, MSR_BITMAP));
}
ECM_RULE(vapic)
{
    return !(ECM_X(c, proc) & CPU_USE_TPR_SHADOW) || ecm_page_ok(c, ecm_g(c, VIRTUAL_APIC_PAGE_ADDR));
}
ECM_RULE(tpr_reserved)
{
    if (!(ECM_X(c, proc) & CPU_USE_TPR_SHADOW) || (ECM_X(c, proc2) & ECM_P2_VID))
        return true;
    return ((u32)ecm_g(c, TPR_THRESHOLD) >> 4) == 0;
}
ECM_RULE(tpr_vtpr)
{
    u64 page = ecm_g(c, VIRTUAL_APIC_PAGE_ADDR);
    u8 vtpr;
    if (!(ECM_X(c, proc) & CPU_USE_TPR_SHADOW) || (ECM_X(c, proc2) & (ECM_P2_VID | ECM_P2_APIC_ACCESS)) ||
        !ecm_page_ok(c, page))
        return true;
    ecm_read(c, page + 0x80, &vtpr, 1);
    return ((u32)ecm_g(c, TPR_THRESHOLD) & 0xf) <= (u32)(vtpr >> 4);
}
ECM_RULE(tpr_needed)
{
    return (ECM_X(c, proc) & CPU_USE_TPR_SHADOW) ||
           !(ECM_X(c, proc2) & (ECM_P2_X2APIC | ECM_P2_APIC_REG_VIRT | ECM_P2_VID));
}
ECM_RULE(vnmi_nmi) { return (ECM_X(c, pin) & ECM_PIN_NMI_EXITING) || !(ECM_X(c, pin) & ECM_PIN_VIRTUAL_NMIS); }
ECM_RULE(nmi_window)
{
    return (ECM_X(c, pin) & ECM_PIN_VIRTUAL_NMIS) || !(ECM_X(c, proc) & CPU_NMI_WINDOW_EXITING);
}
ECM_RULE(apic_access)
{
    return !(ECM_X(c, proc2) & ECM_P2_APIC_ACCESS) || ecm_page_ok(c, ecm_g(c, ECM_APIC_ACCESS_ADDR));
}
ECM_RULE(x2apic_access) { return !(ECM_X(c, proc2) & ECM_P2_X2APIC) || !(ECM_X(c, proc2) & ECM_P2_APIC_ACCESS); }
ECM_RULE(vid_ext) { return !(ECM_X(c, proc2) & ECM_P2_VID) || (ECM_X(c, pin) & PIN_EXTERNAL_INTERRUPT_EXITING); }
ECM_RULE(pi_vid) { return !(ECM_X(c, pin) & ECM_PIN_POSTED_INTR) || (ECM_X(c, proc2) & ECM_P2_VID); }
ECM_RULE(pi_ack)
{
    return !(ECM_X(c, pin) & ECM_PIN_POSTED_INTR) || (ECM_X(c, exit) & EXIT_ACK_INTERRUPT_ON_EXIT);
}
ECM_RULE(pi_vector)
{
    return !(ECM_X(c, pin) & ECM_PIN_POSTED_INTR) || ((u32)ecm_g(c, ECM_POSTED_INTR_NV) >> 8) == 0;
}
ECM_RULE(pi_desc)
{
    u64 a = ecm_g(c, ECM_POSTED_INTR_DESC);
    return !(ECM_X(c, pin) & ECM_PIN_POSTED_INTR) || ((a & 0x3f) == 0 && ecm_pa_ok(c, a));
}
ECM_RULE(vpid) { return !(ECM_X(c, proc2) & CPU2_ENABLE_VPID) || (u16)ecm_g(c, VIRTUAL_PROCESSOR_ID); }

/* EPTP (25.6.11, Table 25-9): memory type 2:0, page-walk length - 1 in
 * 5:3, A/D 6, supervisor shadow-stack control 7 (a processor with CET
 * shadow stacks; reserved on others), reserved 11:8 and 63:N; what
 * IA32_VMX_EPT_VPID_CAP allows (A.10) */
static bool ecm_ept(const struct ecm_ctx *c) { return ECM_X(c, proc2) & CPU2_ENABLE_EPT; }
ECM_RULE(eptp_memtype)
{
    u64 t = ecm_g(c, EPT_POINTER) & 7;
    return !ecm_ept(c) || (t == 0 && (c->k->ept_vpid >> 8) & 1) ||
           (t == 6 && (c->k->ept_vpid >> 14) & 1);
}
ECM_RULE(eptp_walk)
{
    u64 w = (ecm_g(c, EPT_POINTER) >> 3) & 7;
    return !ecm_ept(c) || (w == 3 && (c->k->ept_vpid >> 6) & 1) ||
           (w == 4 && (c->k->ept_vpid >> 7) & 1);
}
ECM_RULE(eptp_ad)
{
    return !ecm_ept(c) || !((ecm_g(c, EPT_POINTER) >> 6) & 1) || (c->k->ept_vpid >> 21) & 1;
}
ECM_RULE(eptp_sss) { return !ecm_ept(c) || !((ecm_g(c, EPT_POINTER) >> 7) & 1) || c->cpu->cet_ss; }
ECM_RULE(eptp_reserved)
{
    u64 e = ecm_g(c, EPT_POINTER);
    return !ecm_ept(c) || ((e & 0xf00) == 0 && ecm_fits(e, c->cpu->maxphyaddr));
}
ECM_RULE(pml_ept) { return !(ECM_X(c, proc2) & ECM_P2_PML) || ecm_ept(c); }
ECM_RULE(pml_addr) { return !(ECM_X(c, proc2) & ECM_P2_PML) || ecm_page_ok(c, ecm_g(c, ECM_PML_ADDRESS)); }
ECM_RULE(ug_ept) { return !ECM_X(c, ug) || ecm_ept(c); }
ECM_RULE(mbec_ept) { return !(ECM_X(c, proc2) & ECM_P2_MBEC) || ecm_ept(c); }
ECM_RULE(spp_ept) { return !(ECM_X(c, proc2) & ECM_P2_SPP) || ecm_ept(c); }
ECM_RULE(spp_addr) { return !(ECM_X(c, proc2) & ECM_P2_SPP) || ecm_page_ok(c, ecm_g(c, ECM_SPPTP)); }
ECM_RULE(pt_ept) { return !(ECM_X(c, proc2) & ECM_P2_PT_GPA) || ecm_ept(c); }
ECM_RULE(pt_rtit)
{
    return !(ECM_X(c, proc2) & ECM_P2_PT_GPA) ||
           ((ECM_X(c, exit) & ECM_EXIT_CLEAR_RTIT) && (ECM_X(c, entry) & ECM_ENTRY_LOAD_RTIT));
}
static bool ecm_vmfunc_on(const struct ecm_ctx *c) { return ECM_X(c, proc2) & CPU2_ENABLE_VMFUNC; }
ECM_RULE(vmfunc_allowed)
{
    return !ecm_vmfunc_on(c) || (ecm_g(c, ECM_VM_FUNCTION_CONTROL) & ~c->k->vmfunc) == 0;
}
ECM_RULE(vmfunc_ept)
{
    return !ecm_vmfunc_on(c) || !(ecm_g(c, ECM_VM_FUNCTION_CONTROL) & 1) || ecm_ept(c);
}
ECM_RULE(vmfunc_list)
{
    return !ecm_vmfunc_on(c) || !(ecm_g(c, ECM_VM_FUNCTION_CONTROL) & 1) ||
           ecm_page_ok(c, ecm_g(c, ECM_EPTP_LIST_ADDR));
}
ECM_RULE(vmread_bitmap)
{
    return !(ECM_X(c, proc2) & CPU2_VMCS_SHADOWING) || ecm_page_ok(c, ecm_g(c, VMREAD_BITMAP));
}
ECM_RULE(vmwrite_bitmap)
{
    return !(ECM_X(c, proc2) & CPU2_VMCS_SHADOWING) || ecm_page_ok(c, ecm_g(c, VMWRITE_BITMAP));
}
ECM_RULE(ve_info)
{
    return !(ECM_X(c, proc2) & ECM_P2_EPT_VE) || ecm_page_ok(c, ecm_g(c, ECM_VE_INFO_ADDR));
}

/* --- 27.2.1.2 VM-exit control fields ----------------------------------- */

ECM_RULE(exit_allowed) { return ecm_allowed(ECM_X(c, exit), c->k->exit); }
ECM_RULE(exit_timer)
{
    return (ECM_X(c, pin) & ECM_PIN_PREEMPTION_TIMER) || !(ECM_X(c, exit) & EXIT_SAVE_PREEMPTION_TIMER);
}
ECM_RULE(exit_store) { return ecm_msr_area_ok(c, VM_EXIT_MSR_STORE_ADDR, VM_EXIT_MSR_STORE_COUNT); }
ECM_RULE(exit_load) { return ecm_msr_area_ok(c, VM_EXIT_MSR_LOAD_ADDR, VM_EXIT_MSR_LOAD_COUNT); }

/* --- 27.2.1.3 VM-entry control fields ---------------------------------- */

ECM_RULE(entry_allowed) { return ecm_allowed(ECM_X(c, entry), c->k->entry); }
ECM_RULE(entry_smm) { return !(ECM_X(c, entry) & ECM_ENTRY_SMM); }
ECM_RULE(entry_dual) { return !(ECM_X(c, entry) & ECM_ENTRY_DUAL_MONITOR); }
ECM_RULE(inj_type)
{
    return !ECM_X(c, inj) || (ECM_X(c, type) != 1 &&
                       (ECM_X(c, type) != ECM_INTR_OTHER || (c->k->proc >> 32) & CPU_MONITOR_TRAP_FLAG));
}
ECM_RULE(inj_vector)
{
    if (!ECM_X(c, inj))
        return true;
    if (ECM_X(c, type) == ECM_INTR_NMI)
        return ECM_X(c, vec) == 2;
    if (ECM_X(c, type) == ECM_INTR_HW_EXC)
        return ECM_X(c, vec) <= 31;
    return ECM_X(c, type) != ECM_INTR_OTHER || ECM_X(c, vec) == 0;
}
/* Deliver-error-code (bit 11) is 1 iff the event is a hardware exception
 * that pushes an error code (#DF #TS #NP #SS #GP #PF #AC #CP) into a
 * protected-mode guest; IA32_VMX_BASIC[56] lifts the vector part (A.1) */
ECM_RULE(inj_errcode)
{
    bool want, has = (ECM_X(c, intr) >> 11) & 1;
    /* #CP (21) came with CET: before it vector 21 was reserved and the
     * list 27.2.1.3 gives ended at #AC (Bochs without CET checks it so) */
    const u32 with_code = (1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) |
                          (1u << 14) | (1u << 17) | ((u32)c->cpu->cet << 21);
    if (!ECM_X(c, inj))
        return true;
    if (ECM_X(c, type) != ECM_INTR_HW_EXC || (ECM_X(c, ug) && !(ECM_X(c, cr0) & ECM_CR0_PE)))
        return !has;
    if ((c->k->basic >> 56) & 1)
        return true;
    want = ECM_X(c, vec) < 32 && ((with_code >> ECM_X(c, vec)) & 1);
    return has == want;
}
ECM_RULE(inj_reserved) { return !ECM_X(c, inj) || ((ECM_X(c, intr) >> 12) & 0x7ffff) == 0; }
ECM_RULE(inj_code_high)
{
    return !ECM_X(c, inj) || !((ECM_X(c, intr) >> 11) & 1) ||
           ((u32)ecm_g(c, VM_ENTRY_EXCEPTION_ERROR_CODE) >> 16) == 0;
}
ECM_RULE(inj_length)
{
    u32 len = (u32)ecm_g(c, VM_ENTRY_INSTRUCTION_LEN);
    if (!ECM_X(c, inj) || ECM_X(c, type) < 4 || ECM_X(c, type) > 6)
        return true;
    return (len >= 1 && len <= 15) || (len == 0 && (c->k->misc >> 30) & 1);
}
ECM_RULE(entry_load) { return ecm_msr_area_ok(c, VM_ENTRY_MSR_LOAD_ADDR, VM_ENTRY_MSR_LOAD_COUNT); }

/* --- 27.2.2 host control registers and MSRs ---------------------------- */

ECM_RULE(h_cr0) { return ecm_fixed(ecm_g(c, HOST_CR0), c->k->cr0_fixed0, c->k->cr0_fixed1, 0); }
ECM_RULE(h_cr4) { return ecm_fixed(ecm_g(c, HOST_CR4), c->k->cr4_fixed0, c->k->cr4_fixed1, 0); }
ECM_RULE(h_cet_wp)
{
    return !(ecm_g(c, HOST_CR4) & ECM_CR4_CET) || (ecm_g(c, HOST_CR0) & ECM_CR0_WP);
}
ECM_RULE(h_cr3) { return !c->cpu->intel64 || ecm_fits(ecm_g(c, HOST_CR3), c->cpu->maxphyaddr); }
ECM_RULE(h_sysenter_esp) { return ecm_canonical(c, ecm_g(c, HOST_IA32_SYSENTER_ESP)); }
ECM_RULE(h_sysenter_eip) { return ecm_canonical(c, ecm_g(c, HOST_IA32_SYSENTER_EIP)); }
ECM_RULE(h_perf)
{
    return !(ECM_X(c, exit) & ECM_EXIT_LOAD_PERF_GLOBAL) ||
           (ecm_g(c, ECM_HOST_PERF_GLOBAL_CTRL) & ~c->cpu->perf_global_valid) == 0;
}
ECM_RULE(h_pat) { return !(ECM_X(c, exit) & EXIT_LOAD_IA32_PAT) || ecm_pat_ok(ecm_g(c, HOST_IA32_PAT)); }
ECM_RULE(h_efer_rsvd)
{
    return !(ECM_X(c, exit) & EXIT_LOAD_IA32_EFER) ||
           (ecm_g(c, HOST_IA32_EFER) & ~c->cpu->efer_valid) == 0;
}
ECM_RULE(h_efer_lma)
{
    return !(ECM_X(c, exit) & EXIT_LOAD_IA32_EFER) ||
           !!(ecm_g(c, HOST_IA32_EFER) & ECM_EFER_LMA) == ECM_X(c, host64);
}
ECM_RULE(h_efer_lme)
{
    return !(ECM_X(c, exit) & EXIT_LOAD_IA32_EFER) ||
           !!(ecm_g(c, HOST_IA32_EFER) & ECM_EFER_LME) == ECM_X(c, host64);
}

/* --- 27.2.3 host segment and descriptor-table registers ---------------- */

ECM_RULE(h_sel)
{
    static const u32 sel[] = {HOST_ES_SELECTOR, HOST_CS_SELECTOR, HOST_SS_SELECTOR,
                              HOST_DS_SELECTOR, HOST_FS_SELECTOR, HOST_GS_SELECTOR,
                              HOST_TR_SELECTOR};
    for (unsigned i = 0; i < sizeof(sel) / sizeof(sel[0]); i++)
        if (ecm_g(c, sel[i]) & 7)
            return false;
    return true;
}
ECM_RULE(h_cs) { return (u16)ecm_g(c, HOST_CS_SELECTOR) != 0; }
ECM_RULE(h_tr) { return (u16)ecm_g(c, HOST_TR_SELECTOR) != 0; }
ECM_RULE(h_ss) { return ECM_X(c, host64) || (u16)ecm_g(c, HOST_SS_SELECTOR) != 0; }
ECM_RULE(h_fs_base) { return ecm_canonical(c, ecm_g(c, HOST_FS_BASE)); }
ECM_RULE(h_gs_base) { return ecm_canonical(c, ecm_g(c, HOST_GS_BASE)); }
ECM_RULE(h_gdtr_base) { return ecm_canonical(c, ecm_g(c, HOST_GDTR_BASE)); }
ECM_RULE(h_idtr_base) { return ecm_canonical(c, ecm_g(c, HOST_IDTR_BASE)); }
ECM_RULE(h_tr_base) { return ecm_canonical(c, ecm_g(c, HOST_TR_BASE)); }

/* --- 27.2.4 address-space size ----------------------------------------- */

ECM_RULE(as_outside) { return c->cpu->ia32e || !ECM_X(c, host64); }
ECM_RULE(as_inside) { return !c->cpu->ia32e || ECM_X(c, host64); }
ECM_RULE(as0_guest) { return ECM_X(c, host64) || !ECM_X(c, ia32e_guest); }
ECM_RULE(as0_pcide) { return ECM_X(c, host64) || !(ecm_g(c, HOST_CR4) & ECM_CR4_PCIDE); }
ECM_RULE(as0_rip) { return ECM_X(c, host64) || (ecm_g(c, HOST_RIP) >> 32) == 0; }
ECM_RULE(as1_pae) { return !ECM_X(c, host64) || (ecm_g(c, HOST_CR4) & ECM_CR4_PAE); }
ECM_RULE(as1_rip) { return !ECM_X(c, host64) || ecm_canonical(c, ecm_g(c, HOST_RIP)); }

/* --- 27.3.1.1 guest control registers, debug registers and MSRs -------- */

ECM_RULE(g_cr0)
{
    return ecm_fixed(ECM_X(c, cr0), c->k->cr0_fixed0, c->k->cr0_fixed1,
                     ECM_X(c, ug) ? (ECM_CR0_PE | ECM_CR0_PG) : 0);
}
ECM_RULE(g_pg_pe) { return !(ECM_X(c, cr0) & ECM_CR0_PG) || (ECM_X(c, cr0) & ECM_CR0_PE); }
ECM_RULE(g_cr4) { return ecm_fixed(ECM_X(c, cr4), c->k->cr4_fixed0, c->k->cr4_fixed1, 0); }
ECM_RULE(g_cet_wp) { return !(ECM_X(c, cr4) & ECM_CR4_CET) || (ECM_X(c, cr0) & ECM_CR0_WP); }
ECM_RULE(g_debugctl)
{
    return !(ECM_X(c, entry) & ENTRY_LOAD_DEBUG_CONTROLS) ||
           (ecm_g(c, GUEST_IA32_DEBUGCTL) & ~c->cpu->debugctl_valid) == 0;
}
ECM_RULE(g_ia32e_pg) { return !ECM_X(c, ia32e_guest) || (ECM_X(c, cr0) & ECM_CR0_PG); }
ECM_RULE(g_ia32e_pae) { return !ECM_X(c, ia32e_guest) || (ECM_X(c, cr4) & ECM_CR4_PAE); }
ECM_RULE(g_pcide) { return ECM_X(c, ia32e_guest) || !(ECM_X(c, cr4) & ECM_CR4_PCIDE); }
ECM_RULE(g_cr3) { return !c->cpu->intel64 || ecm_fits(ecm_g(c, GUEST_CR3), c->cpu->maxphyaddr); }
ECM_RULE(g_dr7)
{
    return !(ECM_X(c, entry) & ENTRY_LOAD_DEBUG_CONTROLS) || ecm_high_zero(c, ecm_g(c, GUEST_DR7));
}
ECM_RULE(g_sysenter_esp) { return ecm_canonical(c, ecm_g(c, GUEST_SYSENTER_ESP)); }
ECM_RULE(g_sysenter_eip) { return ecm_canonical(c, ecm_g(c, GUEST_SYSENTER_EIP)); }
ECM_RULE(g_perf)
{
    return !(ECM_X(c, entry) & ECM_ENTRY_LOAD_PERF_GLOBAL) ||
           (ecm_g(c, ECM_GUEST_PERF_GLOBAL_CTRL) & ~c->cpu->perf_global_valid) == 0;
}
ECM_RULE(g_pat)
{
    return !(ECM_X(c, entry) & ENTRY_LOAD_IA32_PAT) || ecm_pat_ok(ecm_g(c, GUEST_IA32_PAT));
}
ECM_RULE(g_efer_rsvd)
{
    return !(ECM_X(c, entry) & ENTRY_LOAD_IA32_EFER) ||
           (ecm_g(c, GUEST_IA32_EFER) & ~c->cpu->efer_valid) == 0;
}
ECM_RULE(g_efer_lma)
{
    return !(ECM_X(c, entry) & ENTRY_LOAD_IA32_EFER) ||
           !!(ecm_g(c, GUEST_IA32_EFER) & ECM_EFER_LMA) == ECM_X(c, ia32e_guest);
}
ECM_RULE(g_efer_lme)
{
    return !(ECM_X(c, entry) & ENTRY_LOAD_IA32_EFER) || !(ECM_X(c, cr0) & ECM_CR0_PG) ||
           !!(ecm_g(c, GUEST_IA32_EFER) & ECM_EFER_LME) == ECM_X(c, ia32e_guest);
}
ECM_RULE(g_bndcfgs)
{
    u64 b = ecm_g(c, ECM_GUEST_BNDCFGS);
    return !(ECM_X(c, entry) & ECM_ENTRY_LOAD_BNDCFGS) || ((b & 0xffc) == 0 && ecm_canonical(c, b));
}

/* --- 27.3.1.2 guest segment registers ---------------------------------- */

ECM_RULE(tr_ti) { return !(ecm_sel(c, ECM_SEG_TR) & 4); }
ECM_RULE(ldtr_ti) { return !ecm_usable(c, ECM_SEG_LDTR) || !(ecm_sel(c, ECM_SEG_LDTR) & 4); }
ECM_RULE(ss_rpl)
{
    return ECM_X(c, v86) || ECM_X(c, ug) || (ecm_sel(c, ECM_SEG_SS) & 3) == (ecm_sel(c, ECM_SEG_CS) & 3);
}
static bool ecm_v86_base_ok(const struct ecm_ctx *c, int i)
{
    return ecm_base(c, i) == ecm_sel(c, i) << 4;
}
static bool ecm_v86_limit_ok(const struct ecm_ctx *c, int i) { return ecm_limit(c, i) == 0xffff; }
static bool ecm_v86_ar_ok(const struct ecm_ctx *c, int i) { return ecm_ar(c, i) == 0xf3; }
ECM_RULE(v86_base) { return ecm_each_v86(c, ecm_v86_base_ok); }
ECM_RULE(v86_limit) { return ecm_each_v86(c, ecm_v86_limit_ok); }
ECM_RULE(v86_ar) { return ecm_each_v86(c, ecm_v86_ar_ok); }
ECM_RULE(tr_base) { return ecm_canonical(c, ecm_base(c, ECM_SEG_TR)); }
ECM_RULE(fs_base) { return ecm_canonical(c, ecm_base(c, ECM_SEG_FS)); }
ECM_RULE(gs_base) { return ecm_canonical(c, ecm_base(c, ECM_SEG_GS)); }
ECM_RULE(ldtr_base)
{
    return !ecm_usable(c, ECM_SEG_LDTR) || ecm_canonical(c, ecm_base(c, ECM_SEG_LDTR));
}
ECM_RULE(cs_base) { return ecm_high_zero(c, ecm_base(c, ECM_SEG_CS)); }
ECM_RULE(ssdses_base)
{
    static const int segs[] = {ECM_SEG_SS, ECM_SEG_DS, ECM_SEG_ES};
    for (unsigned j = 0; j < 3; j++)
        if (ecm_usable(c, segs[j]) && !ecm_high_zero(c, ecm_base(c, segs[j])))
            return false;
    return true;
}
ECM_RULE(cs_type)
{
    u32 t = ecm_type(ecm_ar(c, ECM_SEG_CS));
    return ECM_X(c, v86) || t == 9 || t == 11 || t == 13 || t == 15 || (ECM_X(c, ug) && t == 3);
}
ECM_RULE(ss_type)
{
    u32 t = ecm_type(ecm_ar(c, ECM_SEG_SS));
    return ECM_X(c, v86) || !ecm_usable(c, ECM_SEG_SS) || t == 3 || t == 7;
}
static bool ecm_data_type_ok(const struct ecm_ctx *c, int i)
{
    u32 t = ecm_type(ecm_ar(c, i));
    return (t & 1) && (!(t & 8) || (t & 2));
}
ECM_RULE(data_type) { return ecm_each_data(c, ecm_data_type_ok); }
static bool ecm_s_ok(const struct ecm_ctx *c, int i) { return (ecm_ar(c, i) >> 4) & 1; }
ECM_RULE(seg_s) { return ecm_each_seg(c, ecm_s_ok); }
ECM_RULE(cs_dpl)
{
    u32 cs = ecm_ar(c, ECM_SEG_CS), ss = ecm_ar(c, ECM_SEG_SS), t = ecm_type(cs);
    if (ECM_X(c, v86))
        return true;
    if (t == 3)
        return ecm_dpl(cs) == 0;
    if (t == 9 || t == 11)
        return ecm_dpl(cs) == ecm_dpl(ss);
    if (t == 13 || t == 15)
        return ecm_dpl(cs) <= ecm_dpl(ss);
    return true;
}
ECM_RULE(ss_dpl_rpl)
{
    return ECM_X(c, v86) || ECM_X(c, ug) || ecm_dpl(ecm_ar(c, ECM_SEG_SS)) == (ecm_sel(c, ECM_SEG_SS) & 3);
}
ECM_RULE(ss_dpl_0)
{
    bool real = ecm_type(ecm_ar(c, ECM_SEG_CS)) == 3 || !(ECM_X(c, cr0) & ECM_CR0_PE);
    return ECM_X(c, v86) || !real || ecm_dpl(ecm_ar(c, ECM_SEG_SS)) == 0;
}
static bool ecm_data_dpl_ok(const struct ecm_ctx *c, int i)
{
    u32 ar = ecm_ar(c, i);
    return ECM_X(c, ug) || ecm_type(ar) > 11 || ecm_dpl(ar) >= (ecm_sel(c, i) & 3);
}
ECM_RULE(data_dpl) { return ecm_each_data(c, ecm_data_dpl_ok); }
static bool ecm_p_ok(const struct ecm_ctx *c, int i) { return (ecm_ar(c, i) >> 7) & 1; }
ECM_RULE(seg_p) { return ecm_each_seg(c, ecm_p_ok); }
static bool ecm_ar118_ok(const struct ecm_ctx *c, int i) { return !(ecm_ar(c, i) & 0xf00); }
ECM_RULE(seg_ar118) { return ecm_each_seg(c, ecm_ar118_ok); }
ECM_RULE(cs_l_db)
{
    u32 ar = ecm_ar(c, ECM_SEG_CS);
    return ECM_X(c, v86) || !ECM_X(c, ia32e_guest) || !(ar & ECM_AR_L) || !(ar & ECM_AR_DB);
}
static bool ecm_seg_g_ok(const struct ecm_ctx *c, int i)
{
    return ecm_g_ok(ecm_limit(c, i), ecm_ar(c, i));
}
ECM_RULE(seg_g) { return ecm_each_seg(c, ecm_seg_g_ok); }
static bool ecm_ar_high_ok(const struct ecm_ctx *c, int i) { return (ecm_ar(c, i) >> 17) == 0; }
ECM_RULE(seg_ar_high) { return ecm_each_seg(c, ecm_ar_high_ok); }
ECM_RULE(tr_type)
{
    u32 t = ecm_type(ecm_ar(c, ECM_SEG_TR));
    return t == 11 || (!ECM_X(c, ia32e_guest) && t == 3);
}
ECM_RULE(tr_s) { return !((ecm_ar(c, ECM_SEG_TR) >> 4) & 1); }
ECM_RULE(tr_p) { return (ecm_ar(c, ECM_SEG_TR) >> 7) & 1; }
ECM_RULE(tr_rsvd) { return (ecm_ar(c, ECM_SEG_TR) & 0xfffe0f00u) == 0; }
ECM_RULE(tr_g) { return ecm_seg_g_ok(c, ECM_SEG_TR); }
ECM_RULE(tr_usable) { return ecm_usable(c, ECM_SEG_TR); }
static bool ecm_ldtr(const struct ecm_ctx *c) { return ecm_usable(c, ECM_SEG_LDTR); }
ECM_RULE(ldtr_type) { return !ecm_ldtr(c) || ecm_type(ecm_ar(c, ECM_SEG_LDTR)) == 2; }
ECM_RULE(ldtr_s) { return !ecm_ldtr(c) || !((ecm_ar(c, ECM_SEG_LDTR) >> 4) & 1); }
ECM_RULE(ldtr_p) { return !ecm_ldtr(c) || ((ecm_ar(c, ECM_SEG_LDTR) >> 7) & 1); }
ECM_RULE(ldtr_rsvd) { return !ecm_ldtr(c) || (ecm_ar(c, ECM_SEG_LDTR) & 0xfffe0f00u) == 0; }
ECM_RULE(ldtr_g) { return !ecm_ldtr(c) || ecm_seg_g_ok(c, ECM_SEG_LDTR); }

/* --- 27.3.1.3 guest descriptor-table registers ------------------------- */

ECM_RULE(gdtr_base) { return ecm_canonical(c, ecm_g(c, GUEST_GDTR_BASE)); }
ECM_RULE(idtr_base) { return ecm_canonical(c, ecm_g(c, GUEST_IDTR_BASE)); }
ECM_RULE(gdtr_limit) { return (ecm_g(c, GUEST_GDTR_LIMIT) >> 16) == 0; }
ECM_RULE(idtr_limit) { return (ecm_g(c, GUEST_IDTR_LIMIT) >> 16) == 0; }

/* --- 27.3.1.4 guest RIP and RFLAGS ------------------------------------- */

static bool ecm_64bit_code(const struct ecm_ctx *c)
{
    return ECM_X(c, ia32e_guest) && (ecm_ar(c, ECM_SEG_CS) & ECM_AR_L);
}
ECM_RULE(rip_high) { return ecm_64bit_code(c) || ecm_high_zero(c, ecm_g(c, GUEST_RIP)); }
/* Not the canonical check: bits 63:N identical, N the linear-address width
 * (bit N-1 is free; a fetch from such a RIP faults in the guest instead) */
ECM_RULE(rip_canonical)
{
    u64 top = ecm_g(c, GUEST_RIP) >> c->cpu->linear_bits;
    return !ecm_64bit_code(c) || c->cpu->linear_bits >= 64 || top == 0 ||
           top == (~0ull >> c->cpu->linear_bits);
}
ECM_RULE(rflags_rsvd)
{
    u64 rsvd = (c->cpu->intel64 ? ~0ull << 22 : 0xffc00000ull) | (1u << 15) | (1u << 5) | (1u << 3);
    return !(ECM_X(c, rflags) & rsvd) && (ECM_X(c, rflags) & 2);
}
ECM_RULE(rflags_vm) { return !ECM_X(c, v86) || (!ECM_X(c, ia32e_guest) && (ECM_X(c, cr0) & ECM_CR0_PE)); }
ECM_RULE(rflags_if) { return !ECM_X(c, inj) || ECM_X(c, type) != ECM_INTR_EXT || (ECM_X(c, rflags) & ECM_RFLAGS_IF); }

/* --- 27.3.1.5 guest non-register state --------------------------------- */

static u32 ecm_activity(const struct ecm_ctx *c) { return (u32)ecm_g(c, GUEST_ACTIVITY_STATE); }
static u32 ecm_intr_state(const struct ecm_ctx *c)
{
    return (u32)ecm_g(c, GUEST_INTERRUPTIBILITY_INFO);
}
/* States 1-3 are supported when IA32_VMX_MISC bits 6-8 say so (A.6) */
ECM_RULE(act_state)
{
    u32 a = ecm_activity(c);
    return a == 0 || (a <= 3 && (c->k->misc >> (5 + a)) & 1);
}
ECM_RULE(act_hlt_dpl)
{
    return ecm_activity(c) != ECM_ACT_HLT || ecm_dpl(ecm_ar(c, ECM_SEG_SS)) == 0;
}
ECM_RULE(act_blocking)
{
    return ecm_activity(c) == 0 || !(ecm_intr_state(c) & (ECM_STI | ECM_MOVSS));
}
/* Events an activity state lets through: HLT external interrupt, NMI,
 * #DB, #MC and MTF (other event 0); shutdown NMI and #MC; wait-for-SIPI
 * none */
ECM_RULE(act_event)
{
    u32 a = ecm_activity(c);
    bool mc = ECM_X(c, type) == ECM_INTR_HW_EXC && ECM_X(c, vec) == 18;
    if (!ECM_X(c, inj) || a == 0 || a > 3)
        return true;
    if (a == ECM_ACT_HLT)
        return ECM_X(c, type) == ECM_INTR_EXT || ECM_X(c, type) == ECM_INTR_NMI || mc ||
               (ECM_X(c, type) == ECM_INTR_HW_EXC && ECM_X(c, vec) == 1) ||
               (ECM_X(c, type) == ECM_INTR_OTHER && ECM_X(c, vec) == 0);
    if (a == ECM_ACT_SHUTDOWN)
        return ECM_X(c, type) == ECM_INTR_NMI || mc;
    return false;
}
ECM_RULE(is_rsvd) { return (ecm_intr_state(c) >> 5) == 0; }
ECM_RULE(is_sti_movss) { return (ecm_intr_state(c) & 3) != 3; }
ECM_RULE(is_sti_if) { return (ECM_X(c, rflags) & ECM_RFLAGS_IF) || !(ecm_intr_state(c) & ECM_STI); }
ECM_RULE(is_ext)
{
    return !ECM_X(c, inj) || ECM_X(c, type) != ECM_INTR_EXT || !(ecm_intr_state(c) & (ECM_STI | ECM_MOVSS));
}
ECM_RULE(is_nmi_movss)
{
    return !ECM_X(c, inj) || ECM_X(c, type) != ECM_INTR_NMI || !(ecm_intr_state(c) & ECM_MOVSS);
}
ECM_RULE(is_nmi_sti)
{
    return !ECM_X(c, inj) || ECM_X(c, type) != ECM_INTR_NMI || !(ecm_intr_state(c) & ECM_STI);
}
ECM_RULE(is_smi) { return !(ecm_intr_state(c) & 4); }
ECM_RULE(is_vnmi)
{
    return !ECM_X(c, inj) || ECM_X(c, type) != ECM_INTR_NMI || !(ECM_X(c, pin) & ECM_PIN_VIRTUAL_NMIS) ||
           !(ecm_intr_state(c) & 8);
}
ECM_RULE(is_enclave)
{
    u32 s = ecm_intr_state(c);
    return !(s & 0x10) || (c->cpu->sgx && !(s & ECM_MOVSS));
}
static u64 ecm_pdbg(const struct ecm_ctx *c) { return ecm_g(c, GUEST_PENDING_DBG_EXCEPTIONS); }
ECM_RULE(pd_rsvd)
{
    return (ecm_pdbg(c) & (0xff0ull | (1u << 13) | (1u << 15) | (~0ull << 17))) == 0;
}
/* The BS rule applies while blocking by STI or MOV SS, or in HLT */
static bool ecm_bs_applies(const struct ecm_ctx *c)
{
    return (ecm_intr_state(c) & (ECM_STI | ECM_MOVSS)) || ecm_activity(c) == ECM_ACT_HLT;
}
static bool ecm_single_step(const struct ecm_ctx *c)
{
    return (ECM_X(c, rflags) & ECM_RFLAGS_TF) && !(ecm_g(c, GUEST_IA32_DEBUGCTL) & 2);
}
ECM_RULE(pd_bs_set)
{
    return !ecm_bs_applies(c) || !ecm_single_step(c) || ((ecm_pdbg(c) >> 14) & 1);
}
ECM_RULE(pd_bs_clear)
{
    return !ecm_bs_applies(c) || ecm_single_step(c) || !((ecm_pdbg(c) >> 14) & 1);
}
ECM_RULE(pd_rtm)
{
    u64 p = ecm_pdbg(c);
    if (!((p >> 16) & 1))
        return true;
    return (p & 0xfff) == 0 && ((p >> 12) & 0xf) == 1 && c->cpu->rtm &&
           !(ecm_intr_state(c) & ECM_MOVSS);
}
static u64 ecm_link(const struct ecm_ctx *c) { return ecm_g(c, VMCS_LINK_POINTER); }
ECM_RULE(link_addr) { return ecm_link(c) == ~0ull || ecm_page_ok(c, ecm_link(c)); }
static u32 ecm_link_word(const struct ecm_ctx *c)
{
    u32 w;
    ecm_read(c, ecm_link(c), &w, 4);
    return w;
}
ECM_RULE(link_rev)
{
    if (ecm_link(c) == ~0ull || !ecm_page_ok(c, ecm_link(c)))
        return true;
    return (ecm_link_word(c) & 0x7fffffffu) == (u32)(c->k->basic & 0x7fffffffu);
}
ECM_RULE(link_shadow)
{
    if (ecm_link(c) == ~0ull || !ecm_page_ok(c, ecm_link(c)))
        return true;
    return !!(ecm_link_word(c) >> 31) == !!(ECM_X(c, proc2) & CPU2_VMCS_SHADOWING);
}

/* --- 27.3.1.6 guest PDPTEs (PAE paging) ------------------------------- */

static bool ecm_pae_paging(const struct ecm_ctx *c)
{
    return (ECM_X(c, cr0) & ECM_CR0_PG) && (ECM_X(c, cr4) & ECM_CR4_PAE) && !ECM_X(c, ia32e_guest);
}
/* A present PDPTE has bits 2:1, 8:5 and 63:MAXPHYADDR clear (SDM 3A 4.4.1) */
static bool ecm_pdpte_ok(const struct ecm_ctx *c, u64 e)
{
    u8 w = c->cpu->maxphyaddr;
    return !(e & 1) || ((e & 0x1e6) == 0 && ecm_fits(e, w));
}
ECM_RULE(pdpte_mem)
{
    u64 e[4];
    if (!ecm_pae_paging(c) || ecm_ept(c))
        return true;
    ecm_read(c, ecm_g(c, GUEST_CR3) & 0xffffffe0u, e, sizeof(e));
    for (int i = 0; i < 4; i++)
        if (!ecm_pdpte_ok(c, e[i]))
            return false;
    return true;
}
ECM_RULE(pdpte_fields)
{
    if (!ecm_pae_paging(c) || !ecm_ept(c))
        return true;
    for (int i = 0; i < 4; i++)
        if (!ecm_pdpte_ok(c, ecm_g(c, GUEST_PDPTE0 + 2 * i)))
            return false;
    return true;
}

/* --- 27.4 MSR loading --------------------------------------------------- */

/* IA32_VMX_MISC[27:25]: 512 * (N + 1) entries recommended at most (A.6) */
ECM_RULE(msr_count)
{
    return (u32)ecm_g(c, VM_ENTRY_MSR_LOAD_COUNT) <= 512u * (((c->k->misc >> 25) & 7) + 1);
}
ECM_RULE(msr_rsvd) { return c->msr_high == 0; }
ECM_RULE(msr_fsgs) { return c->msr_index != 0xc0000100u && c->msr_index != 0xc0000101u; }
ECM_RULE(msr_x2apic) { return (c->msr_index >> 8) != 0x8; }
ECM_RULE(msr_smm) { return c->msr_index != 0x9b && c->msr_index != 0x9e; }
ECM_RULE(msr_wrmsr)
{
    return !c->cpu->wrmsr_ok || c->cpu->wrmsr_ok(c->cpu->ctx, c->msr_index, c->msr_value);
}

/* --- the table ---------------------------------------------------------- */

#ifdef LHV_HOST_TEST
#define ECM_T(text) , text
#else
#define ECM_T(text) /* the texts live in docs/entry-checks.md */
#endif
#define ECM_B(id, err, fn, t) {id, "27.1", ECM_BASIC, err, 0, ECM_NORMAL, ecm_##fn ECM_T(t)}
#define ECM_C(id, sdm, fn, t) {id, "27.2.1." sdm, ECM_CTL, 7, 0, ECM_NORMAL, ecm_##fn ECM_T(t)}
#define ECM_H(id, sdm, fn, t) {id, "27.2." sdm, ECM_HOST, 8, 0, ECM_NORMAL, ecm_##fn ECM_T(t)}
#define ECM_G(id, sdm, q, fn, t) \
    {id, "27.3.1." sdm, ECM_GUEST, 0, q, ECM_NORMAL, ecm_##fn ECM_T(t)}
#define ECM_M(id, how, fn, t) {id, "27.4", ECM_MSR, 0, 0, how, ecm_##fn ECM_T(t)}

const struct ecm_check ecm_checks[] = {
    ECM_B("basic.movss", 26, movss, "no blocking by MOV SS at VMLAUNCH/VMRESUME"),
    ECM_B("basic.launch.clear", 4, launch_clear,
          "VMLAUNCH needs a VMCS whose launch state is clear"),
    ECM_B("basic.launch.launched", 5, launch_launched, "VMRESUME needs a launched VMCS"),

    ECM_C("ctl.pin.allowed", "1", pin_allowed, "pin-based controls within (TRUE_)PINBASED_CTLS"),
    ECM_C("ctl.proc.allowed", "1", proc_allowed,
          "primary processor-based controls within (TRUE_)PROCBASED_CTLS"),
    ECM_C("ctl.proc2.allowed", "1", proc2_allowed,
          "secondary controls (when activated) within PROCBASED_CTLS2"),
    ECM_C("ctl.cr3_target.count", "1", cr3_count, "CR3-target count <= IA32_VMX_MISC[24:16]"),
    ECM_C("ctl.io_bitmap_a.addr", "1", io_a,
          "use I/O bitmaps: bitmap A 4-KiB aligned, within the physical width"),
    ECM_C("ctl.io_bitmap_b.addr", "1", io_b,
          "use I/O bitmaps: bitmap B 4-KiB aligned, within the physical width"),
    ECM_C("ctl.msr_bitmap.addr", "1", msr_bitmap,
          "use MSR bitmaps: address 4-KiB aligned, within the physical width"),
    ECM_C("ctl.vapic.addr", "1", vapic,
          "use TPR shadow: virtual-APIC address 4-KiB aligned, within the width"),
    ECM_C("ctl.tpr_threshold.reserved", "1", tpr_reserved,
          "TPR shadow, no virtual-interrupt delivery: TPR threshold bits 31:4 = 0"),
    ECM_C("ctl.tpr_threshold.vtpr", "1", tpr_vtpr,
          "TPR shadow, no VID, no APIC-access virtualization: threshold[3:0] <= VTPR[7:4]"),
    ECM_C("ctl.tpr_shadow.needed", "1", tpr_needed,
          "no TPR shadow: virtualize x2APIC, APIC-register virtualization, VID all 0"),
    ECM_C("ctl.virtual_nmis.nmi_exiting", "1", vnmi_nmi, "virtual NMIs needs NMI exiting"),
    ECM_C("ctl.nmi_window.virtual_nmis", "1", nmi_window, "NMI-window exiting needs virtual NMIs"),
    ECM_C("ctl.apic_access.addr", "1", apic_access,
          "virtualize APIC accesses: APIC-access address 4-KiB aligned, within the width"),
    ECM_C("ctl.x2apic.apic_access", "1", x2apic_access,
          "virtualize x2APIC mode excludes virtualize APIC accesses"),
    ECM_C("ctl.vid.ext_int_exiting", "1", vid_ext,
          "virtual-interrupt delivery needs external-interrupt exiting"),
    ECM_C("ctl.posted_intr.vid", "1", pi_vid,
          "process posted interrupts needs virtual-interrupt delivery"),
    ECM_C("ctl.posted_intr.ack", "1", pi_ack,
          "process posted interrupts needs acknowledge interrupt on exit"),
    ECM_C("ctl.posted_intr.vector", "1", pi_vector,
          "posted-interrupt notification vector bits 15:8 = 0"),
    ECM_C("ctl.posted_intr.desc", "1", pi_desc,
          "posted-interrupt descriptor 64-byte aligned, within the width"),
    ECM_C("ctl.vpid.nonzero", "1", vpid, "enable VPID: VPID != 0"),
    ECM_C("ctl.eptp.memtype", "1", eptp_memtype,
          "EPTP memory type UC or WB as IA32_VMX_EPT_VPID_CAP bits 8/14 allow"),
    ECM_C("ctl.eptp.walk", "1", eptp_walk,
          "EPTP page-walk length 4 or 5 as IA32_VMX_EPT_VPID_CAP bits 6/7 allow"),
    ECM_C("ctl.eptp.ad", "1", eptp_ad,
          "EPTP A/D enable (bit 6) only with IA32_VMX_EPT_VPID_CAP bit 21"),
    ECM_C("ctl.eptp.sss", "1", eptp_sss,
          "EPTP bit 7 (supervisor shadow-stack control) = 0 without CET shadow stacks"),
    ECM_C("ctl.eptp.reserved", "1", eptp_reserved, "EPTP bits 11:8 and 63:MAXPHYADDR = 0"),
    ECM_C("ctl.pml.ept", "1", pml_ept, "enable PML needs enable EPT"),
    ECM_C("ctl.pml.addr", "1", pml_addr, "enable PML: PML address 4-KiB aligned, within the width"),
    ECM_C("ctl.unrestricted.ept", "1", ug_ept, "unrestricted guest needs enable EPT"),
    ECM_C("ctl.mbec.ept", "1", mbec_ept, "mode-based execute control for EPT needs enable EPT"),
    ECM_C("ctl.spp.ept", "1", spp_ept, "sub-page write permissions need enable EPT"),
    ECM_C("ctl.spp.addr", "1", spp_addr,
          "sub-page write permissions: SPPTP 4-KiB aligned, within the width"),
    ECM_C("ctl.pt_gpa.ept", "1", pt_ept, "Intel PT uses guest physical addresses needs enable EPT"),
    ECM_C("ctl.pt_gpa.rtit", "1", pt_rtit,
          "Intel PT uses guest physical addresses needs clear IA32_RTIT_CTL (exit) and load "
          "IA32_RTIT_CTL (entry)"),
    ECM_C("ctl.vmfunc.allowed", "1", vmfunc_allowed, "VM-function controls within IA32_VMX_VMFUNC"),
    ECM_C("ctl.vmfunc.eptp_switching.ept", "1", vmfunc_ept, "EPTP switching needs enable EPT"),
    ECM_C("ctl.vmfunc.eptp_list.addr", "1", vmfunc_list,
          "EPTP switching: EPTP-list address 4-KiB aligned, within the width"),
    ECM_C("ctl.vmread_bitmap.addr", "1", vmread_bitmap,
          "VMCS shadowing: VMREAD bitmap 4-KiB aligned, within the width"),
    ECM_C("ctl.vmwrite_bitmap.addr", "1", vmwrite_bitmap,
          "VMCS shadowing: VMWRITE bitmap 4-KiB aligned, within the width"),
    ECM_C("ctl.ve_info.addr", "1", ve_info,
          "EPT-violation #VE: information address 4-KiB aligned, within the width"),
    ECM_C("ctl.exit.allowed", "2", exit_allowed, "VM-exit controls within (TRUE_)EXIT_CTLS"),
    ECM_C("ctl.exit.save_timer", "2", exit_timer,
          "save VMX-preemption timer value needs activate VMX-preemption timer"),
    ECM_C("ctl.exit.msr_store.addr", "2", exit_store,
          "VM-exit MSR-store area (count != 0): 16-byte aligned, first and last byte within the "
          "width"),
    ECM_C("ctl.exit.msr_load.addr", "2", exit_load,
          "VM-exit MSR-load area (count != 0): 16-byte aligned, first and last byte within the "
          "width"),
    ECM_C("ctl.entry.allowed", "3", entry_allowed, "VM-entry controls within (TRUE_)ENTRY_CTLS"),
    ECM_C("ctl.entry.smm", "3", entry_smm, "entry to SMM = 0 outside SMM"),
    ECM_C("ctl.entry.dual_monitor", "3", entry_dual,
          "deactivate dual-monitor treatment = 0 outside SMM"),
    ECM_C("ctl.inject.type", "3", inj_type,
          "injected event type not 1, and 7 (other event) only with the MTF control allowed"),
    ECM_C("ctl.inject.vector", "3", inj_vector,
          "injected NMI has vector 2, hardware exception <= 31, other event 0"),
    ECM_C("ctl.inject.error_code_bit", "3", inj_errcode,
          "deliver-error-code iff a hardware exception with an error code (#CP only with CET) "
          "into a CR0.PE=1 guest (vector part lifted by IA32_VMX_BASIC[56])"),
    ECM_C("ctl.inject.reserved", "3", inj_reserved, "interruption-information bits 30:12 = 0"),
    ECM_C("ctl.inject.error_code.reserved", "3", inj_code_high,
          "injected error code bits 31:16 = 0"),
    ECM_C("ctl.inject.length", "3", inj_length,
          "software interrupt/exception: instruction length 1-15 (0 with IA32_VMX_MISC[30])"),
    ECM_C("ctl.entry.msr_load.addr", "3", entry_load,
          "VM-entry MSR-load area (count != 0): 16-byte aligned, first and last byte within the "
          "width"),

    ECM_H("host.cr0.fixed", "2", h_cr0, "host CR0 within IA32_VMX_CR0_FIXED0/1"),
    ECM_H("host.cr4.fixed", "2", h_cr4, "host CR4 within IA32_VMX_CR4_FIXED0/1"),
    ECM_H("host.cr4.cet_wp", "2", h_cet_wp, "host CR4.CET needs host CR0.WP"),
    ECM_H("host.cr3.width", "2", h_cr3, "host CR3 within MAXPHYADDR (Intel 64)"),
    ECM_H("host.sysenter_esp.canonical", "2", h_sysenter_esp,
          "host IA32_SYSENTER_ESP canonical (Intel 64)"),
    ECM_H("host.sysenter_eip.canonical", "2", h_sysenter_eip,
          "host IA32_SYSENTER_EIP canonical (Intel 64)"),
    ECM_H("host.perf_global_ctrl.reserved", "2", h_perf,
          "load IA32_PERF_GLOBAL_CTRL on exit: reserved bits 0"),
    ECM_H("host.pat.valid", "2", h_pat, "load IA32_PAT on exit: every byte 0, 1, 4, 5, 6 or 7"),
    ECM_H("host.efer.reserved", "2", h_efer_rsvd, "load IA32_EFER on exit: reserved bits 0"),
    ECM_H("host.efer.lma", "2", h_efer_lma,
          "load IA32_EFER on exit: LMA = host address-space size"),
    ECM_H("host.efer.lme", "2", h_efer_lme,
          "load IA32_EFER on exit: LME = host address-space size"),
    ECM_H("host.selector.rpl_ti", "3", h_sel, "host ES CS SS DS FS GS TR selectors: RPL and TI 0"),
    ECM_H("host.cs.nonnull", "3", h_cs, "host CS selector != 0"),
    ECM_H("host.tr.nonnull", "3", h_tr, "host TR selector != 0"),
    ECM_H("host.ss.nonnull", "3", h_ss, "host SS selector != 0 with host address-space size 0"),
    ECM_H("host.fs_base.canonical", "3", h_fs_base, "host FS base canonical (Intel 64)"),
    ECM_H("host.gs_base.canonical", "3", h_gs_base, "host GS base canonical (Intel 64)"),
    ECM_H("host.gdtr_base.canonical", "3", h_gdtr_base, "host GDTR base canonical (Intel 64)"),
    ECM_H("host.idtr_base.canonical", "3", h_idtr_base, "host IDTR base canonical (Intel 64)"),
    ECM_H("host.tr_base.canonical", "3", h_tr_base, "host TR base canonical (Intel 64)"),
    ECM_H("host.as.outside_ia32e", "4", as_outside,
          "outside IA-32e mode: host address-space size 0"),
    ECM_H("host.as.inside_ia32e", "4", as_inside, "in IA-32e mode: host address-space size 1"),
    ECM_H("host.as0.ia32e_guest", "4", as0_guest,
          "host address-space size 0 (so also outside IA-32e mode): IA-32e mode guest 0"),
    ECM_H("host.as0.pcide", "4", as0_pcide, "host address-space size 0: host CR4.PCIDE 0"),
    ECM_H("host.as0.rip", "4", as0_rip, "host address-space size 0: host RIP bits 63:32 0"),
    ECM_H("host.as1.pae", "4", as1_pae, "host address-space size 1: host CR4.PAE 1"),
    ECM_H("host.as1.rip", "4", as1_rip, "host address-space size 1: host RIP canonical"),

    ECM_G("guest.cr0.fixed", "1", 0, g_cr0,
          "guest CR0 within IA32_VMX_CR0_FIXED0/1 (PE and PG free with unrestricted guest)"),
    ECM_G("guest.cr0.pg_pe", "1", 0, g_pg_pe, "guest CR0.PG needs CR0.PE"),
    ECM_G("guest.cr4.fixed", "1", 0, g_cr4, "guest CR4 within IA32_VMX_CR4_FIXED0/1"),
    ECM_G("guest.cr4.cet_wp", "1", 0, g_cet_wp, "guest CR4.CET needs CR0.WP"),
    ECM_G("guest.debugctl.reserved", "1", 0, g_debugctl,
          "load debug controls: IA32_DEBUGCTL reserved bits 0"),
    ECM_G("guest.ia32e.pg", "1", 0, g_ia32e_pg, "IA-32e mode guest: CR0.PG 1"),
    ECM_G("guest.ia32e.pae", "1", 0, g_ia32e_pae, "IA-32e mode guest: CR4.PAE 1"),
    ECM_G("guest.cr4.pcide", "1", 0, g_pcide, "not IA-32e mode guest: CR4.PCIDE 0"),
    ECM_G("guest.cr3.width", "1", 0, g_cr3, "guest CR3 within MAXPHYADDR (Intel 64)"),
    ECM_G("guest.dr7.high", "1", 0, g_dr7, "load debug controls: DR7 bits 63:32 0 (Intel 64)"),
    ECM_G("guest.sysenter_esp.canonical", "1", 0, g_sysenter_esp,
          "guest IA32_SYSENTER_ESP canonical (Intel 64)"),
    ECM_G("guest.sysenter_eip.canonical", "1", 0, g_sysenter_eip,
          "guest IA32_SYSENTER_EIP canonical (Intel 64)"),
    ECM_G("guest.perf_global_ctrl.reserved", "1", 0, g_perf,
          "load IA32_PERF_GLOBAL_CTRL on entry: reserved bits 0"),
    ECM_G("guest.pat.valid", "1", 0, g_pat,
          "load IA32_PAT on entry: every byte 0, 1, 4, 5, 6 or 7"),
    ECM_G("guest.efer.reserved", "1", 0, g_efer_rsvd, "load IA32_EFER on entry: reserved bits 0"),
    ECM_G("guest.efer.lma", "1", 0, g_efer_lma, "load IA32_EFER on entry: LMA = IA-32e mode guest"),
    ECM_G("guest.efer.lme", "1", 0, g_efer_lme,
          "load IA32_EFER on entry with CR0.PG: LME = IA-32e mode guest"),
    ECM_G("guest.bndcfgs.valid", "1", 0, g_bndcfgs,
          "load IA32_BNDCFGS: bits 11:2 0, base canonical"),
    ECM_G("guest.tr.ti", "2", 0, tr_ti, "TR selector TI 0"),
    ECM_G("guest.ldtr.ti", "2", 0, ldtr_ti, "usable LDTR: selector TI 0"),
    ECM_G("guest.ss.rpl", "2", 0, ss_rpl, "not virtual-8086, not unrestricted: SS.RPL = CS.RPL"),
    ECM_G("guest.v86.base", "2", 0, v86_base,
          "virtual-8086: CS SS DS ES FS GS base = selector << 4"),
    ECM_G("guest.v86.limit", "2", 0, v86_limit, "virtual-8086: CS SS DS ES FS GS limit 0xffff"),
    ECM_G("guest.v86.ar", "2", 0, v86_ar, "virtual-8086: CS SS DS ES FS GS access rights 0xf3"),
    ECM_G("guest.tr_base.canonical", "2", 0, tr_base, "TR base canonical (Intel 64)"),
    ECM_G("guest.fs_base.canonical", "2", 0, fs_base, "FS base canonical (Intel 64)"),
    ECM_G("guest.gs_base.canonical", "2", 0, gs_base, "GS base canonical (Intel 64)"),
    ECM_G("guest.ldtr_base.canonical", "2", 0, ldtr_base, "usable LDTR: base canonical (Intel 64)"),
    ECM_G("guest.cs_base.high", "2", 0, cs_base, "CS base bits 63:32 0 (Intel 64)"),
    ECM_G("guest.ss_ds_es_base.high", "2", 0, ssdses_base,
          "usable SS DS ES: base bits 63:32 0 (Intel 64)"),
    ECM_G("guest.cs.type", "2", 0, cs_type,
          "CS type 9, 11, 13 or 15 (3 also with unrestricted guest)"),
    ECM_G("guest.ss.type", "2", 0, ss_type, "usable SS: type 3 or 7"),
    ECM_G("guest.data_seg.type", "2", 0, data_type,
          "usable DS ES FS GS: accessed, and readable if code"),
    ECM_G("guest.seg.s", "2", 0, seg_s, "CS, usable SS DS ES FS GS: S 1"),
    ECM_G("guest.cs.dpl", "2", 0, cs_dpl,
          "CS DPL: 0 for type 3, = SS.DPL for 9/11, <= SS.DPL for 13/15"),
    ECM_G("guest.ss.dpl_rpl", "2", 0, ss_dpl_rpl, "not unrestricted: SS.DPL = SS.RPL"),
    ECM_G("guest.ss.dpl_zero", "2", 0, ss_dpl_0, "CS type 3 or CR0.PE 0: SS.DPL 0"),
    ECM_G("guest.data_seg.dpl", "2", 0, data_dpl,
          "not unrestricted, usable DS ES FS GS of type 0-11: DPL >= RPL"),
    ECM_G("guest.seg.p", "2", 0, seg_p, "CS, usable SS DS ES FS GS: P 1"),
    ECM_G("guest.seg.ar_11_8", "2", 0, seg_ar118,
          "CS, usable SS DS ES FS GS: access-rights bits 11:8 0"),
    ECM_G("guest.cs.l_db", "2", 0, cs_l_db, "IA-32e mode guest with CS.L: CS.D/B 0"),
    ECM_G("guest.seg.g", "2", 0, seg_g, "CS, usable SS DS ES FS GS: G consistent with the limit"),
    ECM_G("guest.seg.ar_31_17", "2", 0, seg_ar_high,
          "CS, usable SS DS ES FS GS: access-rights bits 31:17 0"),
    ECM_G("guest.tr.type", "2", 0, tr_type, "TR type 11 (3 also outside IA-32e mode guests)"),
    ECM_G("guest.tr.s", "2", 0, tr_s, "TR S 0"),
    ECM_G("guest.tr.p", "2", 0, tr_p, "TR P 1"),
    ECM_G("guest.tr.reserved", "2", 0, tr_rsvd, "TR access-rights bits 11:8 and 31:17 0"),
    ECM_G("guest.tr.g", "2", 0, tr_g, "TR G consistent with the limit"),
    ECM_G("guest.tr.usable", "2", 0, tr_usable, "TR usable"),
    ECM_G("guest.ldtr.type", "2", 0, ldtr_type, "usable LDTR: type 2"),
    ECM_G("guest.ldtr.s", "2", 0, ldtr_s, "usable LDTR: S 0"),
    ECM_G("guest.ldtr.p", "2", 0, ldtr_p, "usable LDTR: P 1"),
    ECM_G("guest.ldtr.reserved", "2", 0, ldtr_rsvd,
          "usable LDTR: access-rights bits 11:8 and 31:17 0"),
    ECM_G("guest.ldtr.g", "2", 0, ldtr_g, "usable LDTR: G consistent with the limit"),
    ECM_G("guest.gdtr_base.canonical", "3", 0, gdtr_base, "GDTR base canonical (Intel 64)"),
    ECM_G("guest.idtr_base.canonical", "3", 0, idtr_base, "IDTR base canonical (Intel 64)"),
    ECM_G("guest.gdtr_limit.high", "3", 0, gdtr_limit, "GDTR limit bits 31:16 0"),
    ECM_G("guest.idtr_limit.high", "3", 0, idtr_limit, "IDTR limit bits 31:16 0"),
    ECM_G("guest.rip.high", "4", 0, rip_high,
          "not (IA-32e mode guest and CS.L): RIP bits 63:32 0 (Intel 64)"),
    ECM_G("guest.rip.canonical", "4", 0, rip_canonical,
          "IA-32e mode guest and CS.L: RIP bits 63:N identical (N linear-address bits)"),
    ECM_G("guest.rflags.reserved", "4", 0, rflags_rsvd,
          "RFLAGS bits 63:22, 15, 5, 3 0 and bit 1 1"),
    ECM_G("guest.rflags.vm", "4", 0, rflags_vm,
          "RFLAGS.VM 0 in an IA-32e mode guest or with CR0.PE 0"),
    ECM_G("guest.rflags.if", "4", 0, rflags_if, "injected external interrupt: RFLAGS.IF 1"),
    ECM_G("guest.activity.state", "5", 0, act_state,
          "activity state 0-3 and supported (IA32_VMX_MISC bits 6-8)"),
    ECM_G("guest.activity.hlt_ss_dpl", "5", 0, act_hlt_dpl, "HLT state: SS.DPL 0"),
    ECM_G("guest.activity.blocking", "5", 0, act_blocking,
          "not active: no blocking by STI or MOV SS"),
    ECM_G("guest.activity.event", "5", 0, act_event,
          "injected event allowed in the activity state (HLT: ext. int., NMI, #DB, #MC, MTF; "
          "shutdown: NMI, #MC; wait-for-SIPI: none)"),
    ECM_G("guest.intr.reserved", "5", 0, is_rsvd, "interruptibility bits 31:5 0"),
    ECM_G("guest.intr.sti_movss", "5", 0, is_sti_movss, "not both blocking by STI and by MOV SS"),
    ECM_G("guest.intr.sti_if", "5", 0, is_sti_if, "RFLAGS.IF 0: no blocking by STI"),
    ECM_G("guest.intr.ext_int", "5", 0, is_ext,
          "injected external interrupt: no blocking by STI or MOV SS"),
    ECM_G("guest.intr.nmi_movss", "5", 0, is_nmi_movss, "injected NMI: no blocking by MOV SS"),
    {"guest.intr.nmi_sti", "27.3.1.5", ECM_GUEST, 0, 3, ECM_IMPL, ecm_is_nmi_sti
     ECM_T(
         "injected NMI with blocking by STI: may fail (implementation-specific, qualification 3)")},
    ECM_G("guest.intr.smi", "5", 0, is_smi, "outside SMM: no blocking by SMI (bit 2)"),
    ECM_G("guest.intr.virtual_nmi", "5", 0, is_vnmi,
          "virtual NMIs and an injected NMI: no blocking by NMI (bit 3)"),
    ECM_G("guest.intr.enclave", "5", 0, is_enclave,
          "enclave interruption (bit 4) only with SGX and without blocking by MOV SS"),
    ECM_G("guest.pending_dbg.reserved", "5", 0, pd_rsvd,
          "pending debug exceptions bits 11:4, 13, 15, 63:17 0"),
    ECM_G("guest.pending_dbg.bs_set", "5", 0, pd_bs_set,
          "STI/MOV SS blocking or HLT, RFLAGS.TF 1, DEBUGCTL.BTF 0: BS 1"),
    ECM_G("guest.pending_dbg.bs_clear", "5", 0, pd_bs_clear,
          "STI/MOV SS blocking or HLT, RFLAGS.TF 0 or DEBUGCTL.BTF 1: BS 0"),
    ECM_G("guest.pending_dbg.rtm", "5", 0, pd_rtm,
          "RTM bit 16: bits 11:0 and 15:13 0, bit 12 1, RTM supported, no MOV SS blocking"),
    ECM_G("guest.link.addr", "5", 4, link_addr,
          "VMCS link pointer (not ~0): 4-KiB aligned, within the width"),
    ECM_G("guest.link.revision", "5", 4, link_rev,
          "VMCS link pointer (not ~0): revision identifier at it = IA32_VMX_BASIC[30:0]"),
    ECM_G("guest.link.shadow", "5", 4, link_shadow,
          "VMCS link pointer (not ~0): bit 31 at it = VMCS shadowing"),
    ECM_G("guest.pdpte.memory", "6", 2, pdpte_mem,
          "PAE paging without EPT: the PDPTEs at CR3 have no reserved bit set"),
    ECM_G("guest.pdpte.fields", "6", 2, pdpte_fields,
          "PAE paging with EPT: the PDPTE fields have no reserved bit set"),

    ECM_M("msr.count", ECM_UNDEF, msr_count,
          "VM-entry MSR-load count <= 512 * (IA32_VMX_MISC[27:25] + 1): beyond it the SDM leaves "
          "the behaviour undefined (A.6)"),
    ECM_M("msr.reserved", ECM_NORMAL, msr_rsvd, "entry bits 63:32 0"),
    ECM_M("msr.fs_gs_base", ECM_NORMAL, msr_fsgs, "entry not IA32_FS_BASE or IA32_GS_BASE"),
    ECM_M("msr.x2apic", ECM_NORMAL, msr_x2apic, "entry not an x2APIC MSR (0x800-0x8ff)"),
    ECM_M("msr.smm", ECM_NORMAL, msr_smm,
          "entry not an MSR writable only in SMM (IA32_SMM_MONITOR_CTL, IA32_SMBASE)"),
    ECM_M("msr.wrmsr", ECM_NORMAL, msr_wrmsr,
          "WRMSR of the entry's value at CPL 0 would not fault"),
};

const u32 ecm_nchecks = sizeof(ecm_checks) / sizeof(ecm_checks[0]);
STATIC_ASSERT(sizeof(ecm_checks) / sizeof(ecm_checks[0]) <= ECM_MAX_CHECKS, "ECM_MAX_CHECKS");

/* --- prediction --------------------------------------------------------- */

static inline __attribute__((always_inline)) void
ecm_setup(struct ecm_ctx *c, const struct ecm_vmcs *v, const struct ecm_caps *k, const struct ecm_cpu *cpu)
{
    /* every member set (no memset: this runs at each prediction and
     * at each step of the fuzzer's walks) */
    c->msr_index = c->msr_high = 0;
    c->msr_value = 0;
    c->rd = NULL;
    c->virt = false;
    c->v = v;
    c->k = k;
    c->cpu = cpu;
    c->dwidth = ((k->basic >> 48) & 1) ? 32 : cpu->maxphyaddr;
}

/* The derived values, in ECM_ACC's order of k */
static void ecm_derived(const struct ecm_vmcs *v, u32 *d)
{
    d[0] = ecm_d_proc2(v);
    d[1] = ECM_D_UG(v);
    d[2] = ECM_D_HOST64(v);
    d[3] = ECM_D_IA32E(v);
    d[4] = ECM_D_V86(v);
    d[5] = ECM_D_INJ(v);
    d[6] = ECM_D_TYPE(v);
    d[7] = ECM_D_VEC(v);
}

static void ecm_mark(struct ecm_result *r, u32 i) { r->failed[i / 32] |= 1u << (i % 32); }

static void ecm_alt(struct ecm_result *r, u8 kind, u32 code, u64 qual)
{
    for (u32 i = 0; i < r->nalt; i++)
        if (r->alt[i].kind == kind && r->alt[i].code == code && r->alt[i].qual == qual)
            return;
    if (r->nalt < ECM_MAX_ALT)
        r->alt[r->nalt++] = (struct ecm_outcome){kind, code, qual};
}

static void ecm_decide(struct ecm_result *r, u32 check, u8 kind, u32 code, u64 qual)
{
    r->check = (u16)check;
    r->outcome = (struct ecm_outcome){kind, code, qual};
    ecm_alt(r, kind, code, qual);
}

static inline __attribute__((always_inline)) void ecm_set(u32 *bits, u32 i) { bits[i / 32] |= 1u << (i % 32); }
static inline __attribute__((always_inline)) bool ecm_bit(const u32 *bits, u32 i) { return (bits[i / 32] >> (i % 32)) & 1; }

/* 27.4: the entries in order; the first that fails decides (exit 34, its
 * 1-based index). Returns false when none failed. */
static bool ecm_msr_stage(struct ecm_ctx *c, struct ecm_result *r, u32 first)
{
    u32 count = (u32)ecm_g(c, VM_ENTRY_MSR_LOAD_COUNT);
    u64 area = ecm_g(c, VM_ENTRY_MSR_LOAD_ADDR);

    ecm_set(r->evaluated, first);
    if (!ecm_checks[first].holds(c)) { /* msr.count */
        ecm_mark(r, first);
        ecm_decide(r, first, ECM_UNDEFINED, 0, 0);
        return true;
    }
    for (u32 n = 0; n < count; n++) {
        u32 e[4];
        bool bad = false;
        ecm_read(c, area + 16ull * n, e, sizeof(e));
        c->msr_index = e[0];
        c->msr_high = e[1];
        c->msr_value = e[2] | (u64)e[3] << 32;
        for (u32 i = first + 1; i < ecm_nchecks; i++) {
            if (c->cpu->disabled && ecm_bit(c->cpu->disabled, i))
                continue;
            ecm_set(r->evaluated, i);
            if (ecm_checks[i].holds(c))
                continue;
            ecm_mark(r, i);
            if (!bad)
                ecm_decide(r, i, ECM_EXIT_FAIL, EXIT_REASON_MSR_LOADING, n + 1);
            bad = true;
        }
        if (bad)
            return true;
    }
    return false;
}

/* The checks of the MSR stage and every check there is, as bit sets
 * (ecm_run's word-at-a-time view of the table; built at the first run) */
static u32 ecm_msr_set[ECM_WORDS], ecm_all_set[ECM_WORDS];
static volatile bool ecm_sets_built;

static void ecm_build_sets(void)
{
    u32 all[ECM_WORDS] = {0}, msr[ECM_WORDS] = {0};

    if (ecm_sets_built)
        return;
    /* Built aside, then stored whole: CPUs predicting at once (LHV as L0
     * with an SMP guest) each store the same complete words, and one that
     * sees the flag sees them (x86 keeps stores in order) */
    for (u32 i = 0; i < ecm_nchecks; i++) {
        ecm_set(all, i);
        if (ecm_checks[i].stage == ECM_MSR)
            ecm_set(msr, i);
    }
    for (u32 w = 0; w < ECM_WORDS; w++) {
        ecm_all_set[w] = all[w];
        ecm_msr_set[w] = msr[w];
    }
    __asm__ volatile("" ::: "memory");
    ecm_sets_built = true;
}

/* ecm_predict, evaluating only the checks in `eval` (NULL: all); the
 * others keep their result in `base`. A word of checks at a time: those
 * to evaluate, those failing from `base`, then the stage each failure
 * decides (lowest index first, as the table's order) */
static void ecm_run(const struct ecm_vmcs *v, const struct ecm_caps *caps, const struct ecm_cpu *cpu,
                    const u32 *eval, const u32 *base, struct ecm_result *r)
{
    struct ecm_ctx c;
    u32 first[ECM_MSR] = {ECM_NONE, ECM_NONE, ECM_NONE, ECM_NONE}, msr = ECM_NONE, impl = ECM_NONE;

    ecm_build_sets();
    r->nalt = 0;
    r->check = ECM_NONE;
    ecm_setup(&c, v, caps, cpu);
    for (u32 w = 0; w < ECM_WORDS; w++) {
        u32 todo = (eval ? eval[w] | base[w] : ~0u) & ecm_all_set[w];
        if (msr == ECM_NONE && (todo & ecm_msr_set[w]))
            msr = w * 32 + (u32)__builtin_ctz(todo & ecm_msr_set[w]);
        /* a check taken out (the fuzzer's lhv.fuzz.break) neither runs nor fails */
        todo &= ~ecm_msr_set[w] & ~(cpu->disabled ? cpu->disabled[w] : 0);
        u32 run = eval ? todo & eval[w] : todo, failed = todo & ~run;
        r->evaluated[w] = run;
        for (; run; run &= run - 1) { /* set bits only: a delta costs the checks it evaluates */
            u32 i = (u32)__builtin_ctz(run);
            if (!ecm_checks[w * 32 + i].holds(&c))
                failed |= 1u << i;
        }
        r->failed[w] = failed;
        for (; failed; failed &= failed - 1) {
            u32 i = w * 32 + (u32)__builtin_ctz(failed);
            const struct ecm_check *k = &ecm_checks[i];
            if (k->how == ECM_IMPL)
                impl = impl == ECM_NONE ? i : impl;
            else if (first[k->stage] == ECM_NONE)
                first[k->stage] = i;
        }
    }
    if (first[ECM_BASIC] != ECM_NONE) { /* 27.1: in order, only the first counts */
        ecm_decide(r, first[ECM_BASIC], ECM_VMFAIL, ecm_checks[first[ECM_BASIC]].error, 0);
        return;
    }
    if (first[ECM_CTL] != ECM_NONE || first[ECM_HOST] != ECM_NONE) { /* 27.2: any order */
        u32 f = first[ECM_CTL] != ECM_NONE ? first[ECM_CTL] : first[ECM_HOST];
        ecm_decide(r, f, ECM_VMFAIL, ecm_checks[f].error, 0);
        if (first[ECM_HOST] != ECM_NONE)
            ecm_alt(r, ECM_VMFAIL, 8, 0);
        return;
    }
    if (first[ECM_GUEST] != ECM_NONE) { /* 27.3.1: any order, any failing check's qualification */
        ecm_decide(r, first[ECM_GUEST], ECM_EXIT_FAIL, EXIT_REASON_INVALID_GUEST_STATE,
                   ecm_checks[first[ECM_GUEST]].qual);
        for (u32 w = first[ECM_GUEST] / 32; w < ECM_WORDS; w++)
            for (u32 f = r->failed[w]; f; f &= f - 1) {
                u32 i = w * 32 + (u32)__builtin_ctz(f);
                if (i > first[ECM_GUEST] && ecm_checks[i].stage == ECM_GUEST)
                    ecm_alt(r, ECM_EXIT_FAIL, EXIT_REASON_INVALID_GUEST_STATE, ecm_checks[i].qual);
            }
        return;
    }
    if (impl != ECM_NONE) /* the CPU may fail it, or go on */
        ecm_decide(r, impl, ECM_EXIT_FAIL, EXIT_REASON_INVALID_GUEST_STATE, ecm_checks[impl].qual);
    if (msr == ECM_NONE)
        for (msr = ecm_nchecks; msr > 0 && ecm_checks[msr - 1].stage == ECM_MSR; msr--)
            ;
    if (msr < ecm_nchecks && ecm_msr_stage(&c, r, msr)) {
        if (impl != ECM_NONE) /* the failure exit stays the prediction */
            ecm_decide(r, impl, ECM_EXIT_FAIL, EXIT_REASON_INVALID_GUEST_STATE,
                       ecm_checks[impl].qual);
        return;
    }
    if (impl == ECM_NONE)
        ecm_decide(r, ECM_NONE, ECM_ENTRY, 0, 0);
    else
        ecm_alt(r, ECM_ENTRY, 0, 0);
}

void ecm_predict(const struct ecm_vmcs *v, const struct ecm_caps *caps, const struct ecm_cpu *cpu,
                 struct ecm_result *r)
{
    ecm_run(v, caps, cpu, NULL, NULL, r);
}

void ecm_deps_build(const struct ecm_vmcs *base, const struct ecm_caps *caps,
                    const struct ecm_cpu *cpu, struct ecm_deps *d)
{
    struct ecm_ctx c;
    u64 rd[ECM_RD_WORDS];

    memset(d, 0, sizeof(*d));
    ecm_setup(&c, base, caps, cpu);
    ecm_derived(base, d->base_derived);
    c.rd = rd;
    for (u32 i = 0; i < ecm_nchecks; i++) {
        const struct ecm_check *k = &ecm_checks[i];
        if (k->stage == ECM_MSR)
            continue;
        if (k->stage == ECM_BASIC) /* reads the processor's state, not the VMCS */
            ecm_set(d->always, i);
        for (int virt = 0; virt < 2; virt++) { /* the fields as read, then by_slot */
            memset(rd, 0, sizeof(rd));
            c.virt = virt;
            if (!k->holds(&c))
                ecm_set(d->base_failed, i);
            for (u32 w = 0; w < 2 * ECM_RD_WORDS; w++)
                for (u32 b = (u32)(rd[w / 2] >> (w % 2 * 32)); b; b &= b - 1) {
                    u32 s = w * 32 + (u32)__builtin_ctz(b);
                    if (virt)
                        ecm_set(d->by_slot[s], i);
                    else if (s < ECM_SLOTS)
                        ecm_set(d->reads[s], i);
                }
        }
    }
}

bool ecm_check_reads(const struct ecm_vmcs *v, const struct ecm_caps *caps,
                     const struct ecm_cpu *cpu, u32 check, u64 *rd)
{
    struct ecm_ctx c;

    ecm_setup(&c, v, caps, cpu);
    c.rd = rd;
    if (rd)
        memset(rd, 0, ECM_RD_WORDS * sizeof(u64));
    return ecm_checks[check].holds(&c);
}

void ecm_predict_delta(const struct ecm_vmcs *v, const struct ecm_caps *caps,
                       const struct ecm_cpu *cpu, const struct ecm_deps *d, const u32 *fields,
                       u32 n, bool memory, struct ecm_result *r)
{
    u32 eval[ECM_WORDS];
    bool derived = false;

    for (u32 w = 0; w < ECM_WORDS; w++)
        eval[w] = d->always[w];
    for (u32 j = 0; j < n; j++) {
        u32 s = ecm_slot(fields[j]);
        for (u32 w = 0; w < ECM_WORDS; w++)
            eval[w] |= d->by_slot[s][w];
        derived |= s == ecm_slot(CPU_BASED_VM_EXEC_CONTROL) ||
                   s == ecm_slot(SECONDARY_VM_EXEC_CONTROL) || s == ecm_slot(VM_EXIT_CONTROLS) ||
                   s == ecm_slot(VM_ENTRY_CONTROLS) || s == ecm_slot(GUEST_RFLAGS) ||
                   s == ecm_slot(VM_ENTRY_INTR_INFO_FIELD);
    }
    if (derived) { /* the checks reading a derived value that changed */
        u32 dv[ECM_VSLOTS];
        ecm_derived(v, dv);
        for (u32 k = 0; k < ECM_VSLOTS; k++)
            for (u32 w = 0; dv[k] != d->base_derived[k] && w < ECM_WORDS; w++)
                eval[w] |= d->by_slot[ECM_SLOTS + 1 + k][w];
    }
    for (u32 w = 0; memory && w < ECM_WORDS; w++)
        eval[w] |= d->by_slot[ECM_SLOTS][w];
    ecm_run(v, caps, cpu, eval, d->base_failed, r);
}

bool ecm_acceptable(const struct ecm_result *r, const struct ecm_outcome *o)
{
    for (u32 i = 0; i < r->nalt; i++) {
        const struct ecm_outcome *a = &r->alt[i];
        if (a->kind == ECM_UNDEFINED)
            return true;
        if (a->kind == o->kind && a->code == o->code &&
            (a->kind != ECM_EXIT_FAIL || a->qual == o->qual))
            return true;
    }
    return false;
}

u32 ecm_find(const char *id)
{
    for (u32 i = 0; i < ecm_nchecks; i++)
        if (!strcmp(ecm_checks[i].id, id))
            return i;
    return ECM_NONE;
}

#undef ECM_RULE
#undef ECM_T
#undef ECM_B
#undef ECM_C
#undef ECM_H
#undef ECM_G
#undef ECM_M

#pragma GCC pop_options
