/* vmx/fuzz-entry (fuzz.h): what a field is to the fuzzer (its class, its
 * encoding from the model's slot; its width is in fuzz.h), and the model's
 * view of this CPU (capabilities, processor facts, memory). */
#include "catch.h"
#include "cpu.h"
#include "string.h"
#include "x86.h"
#include "fuzz.h"

u32 fz_class(u32 f)
{
    u32 type = (f >> 10) & 3;
    switch (f) {
    case VM_EXIT_CONTROLS: case VM_EXIT_MSR_STORE_ADDR: case VM_EXIT_MSR_LOAD_ADDR:
        return FZ_HOST;
    case VM_EXIT_MSR_STORE_COUNT: case VM_EXIT_MSR_LOAD_COUNT:
        return FZ_HOST | FZ_COUNT;
    case VM_ENTRY_MSR_LOAD_COUNT:
        return FZ_COUNT;
    case IO_BITMAP_A: case IO_BITMAP_B: case MSR_BITMAP: case VM_ENTRY_MSR_LOAD_ADDR:
    case ECM_PML_ADDRESS: case VIRTUAL_APIC_PAGE_ADDR: case ECM_APIC_ACCESS_ADDR:
    case ECM_POSTED_INTR_DESC: case EPT_POINTER: case ECM_EPTP_LIST_ADDR: case VMREAD_BITMAP:
    case VMWRITE_BITMAP: case ECM_VE_INFO_ADDR: case ECM_SPPTP: case VMCS_LINK_POINTER:
        return FZ_ADDR;
    case GUEST_IA32_EFER: case GUEST_IA32_PAT: case ECM_GUEST_PERF_GLOBAL_CTRL:
    case ECM_GUEST_BNDCFGS: case VM_ENTRY_CONTROLS:
        return FZ_LINGER | (type == 2 ? FZ_GUEST : 0);
    case GUEST_ACTIVITY_STATE: case GUEST_INTERRUPTIBILITY_INFO:
    case GUEST_PENDING_DBG_EXCEPTIONS:
        return 0;
    }
    return type == 3 ? FZ_HOST : type == 2 ? FZ_GUEST : 0;
}

/* Slot to encoding (the inverse of ecm_slot, for the fields in fz_fields) */
u32 fz_enc(u32 slot)
{
    return ((slot >> 7) & 3) << 13 | ((slot >> 5) & 3) << 10 | (slot & 0x1f) << 1;
}

/* --- the model's view of this CPU --------------------------------------- */

struct fz_copy {
    u64 pa;
    void *buf;
    u32 len;
};

static void fz_do_copy(void *arg)
{
    struct fz_copy *c = arg;
    memcpy(c->buf, (const void *)(uintptr_t)c->pa, c->len);
}

/* Physical memory through the identity map; an address the map lacks (or
 * that faults) reads as nothing. The MSR-load area, read at every trial,
 * without the exception catcher. */
static bool fz_read(const void *ctx, u64 pa, void *buf, u32 len)
{
    struct fz_copy c = {pa, buf, len};
    struct caught e;
    (void)ctx;
    if (pa >= (uintptr_t)fz_load && pa + len <= (uintptr_t)(fz_load + FZ_AREA)) {
        memcpy(buf, (const void *)(uintptr_t)pa, len);
        return true;
    }
    if (pa + len <= (1ull << 32) && pa + len >= pa &&
        catch_exception(fz_do_copy, &c, &e) == NO_EXCEPTION)
        return true;
    fz.blind = true; /* the L0 reads what the model cannot: the trial is not entered */
    return false;
}

/* WRMSR at CPL 0 of the MSRs the MSR-load area may name (fz_mutate_mem):
 * IA32_KERNEL_GS_BASE must be canonical (SDM 3A 3.4.4.1 / WRMSR). The
 * others fz_mutate_mem writes fail before this is asked (27.4); any other
 * comes from memory a moved area address points at (seed 2, trial 7344 on
 * amd64: MSR 0, which Bochs refuses): whether WRMSR takes it is the
 * processor's, so the model is blind there (the trial is not entered) */
static bool fz_wrmsr_ok(const void *ctx, u32 msr, u64 value)
{
    (void)ctx;
    if (msr != MSR_IA32_KERNEL_GS_BASE) {
        fz.blind = true;
        return true;
    }
    u64 top = value >> (fz.p.linear_bits - 1);
    return top == 0 || top == (~0ull >> (fz.p.linear_bits - 1));
}

void fz_caps(struct ecm_caps *k)
{
    const struct vmx_caps *c = &vmx_caps;
    k->basic = c->basic;
    k->pin = c->pin.allowed0 | (u64)c->pin.allowed1 << 32;
    k->proc = c->proc.allowed0 | (u64)c->proc.allowed1 << 32;
    k->proc2 = c->proc2.allowed0 | (u64)c->proc2.allowed1 << 32;
    k->exit = c->exit.allowed0 | (u64)c->exit.allowed1 << 32;
    k->entry = c->entry.allowed0 | (u64)c->entry.allowed1 << 32;
    k->misc = c->misc;
    k->cr0_fixed0 = c->cr0_fixed0;
    k->cr0_fixed1 = c->cr0_fixed1;
    k->cr4_fixed0 = c->cr4_fixed0;
    k->cr4_fixed1 = c->cr4_fixed1;
    k->ept_vpid = c->ept_vpid;
    k->vmfunc = c->vmfunc;
}

/* IA32_PERF_GLOBAL_CTRL: one enable bit per general-purpose counter (bits
 * 0..) and per fixed counter (bits 32..), from CPUID leaf 0AH (SDM 3B
 * 21.2.2, architectural performance monitoring version 2 and later) */
static u64 fz_perf_global_valid(void)
{
    if (cpuid(0, 0).eax < 0xa)
        return 0;
    struct cpuid_regs r = cpuid(0xa, 0);
    u32 gp = (r.eax >> 8) & 0xff, fixed = r.edx & 0x1f;
    if ((r.eax & 0xff) < 2)
        return 0;
    return (gp >= 32 ? 0xffffffffull : (1ull << gp) - 1) | (((1ull << fixed) - 1) << 32);
}

void fz_cpu(struct ecm_cpu *p)
{
    u32 ext = cpuid(0x80000000, 0).eax;
    memset(p, 0, sizeof(*p));
    p->maxphyaddr = ext >= 0x80000008 ? cpuid(0x80000008, 0).eax & 0xff : 36;
    p->linear_bits = ext >= 0x80000008 ? (cpuid(0x80000008, 0).eax >> 8) & 0xff : 32;
    p->intel64 = ext >= 0x80000001 && (cpuid(0x80000001, 0).edx & CPUID80000001_EDX_LM);
#ifdef __x86_64__
    p->ia32e = true;
#endif
    p->rtm = (cpuid(7, 0).ebx >> 11) & 1;
    p->sgx = (cpuid(7, 0).ebx >> 2) & 1;
    p->cet_ss = (cpuid(7, 0).ecx >> 7) & 1;
    p->cet = p->cet_ss || ((cpuid(7, 0).edx >> 20) & 1);
    p->efer_valid = 0xd01; /* SCE LME LMA NXE */
    /* LBR and BTF; the other IA32_DEBUGCTL bits are model-specific and the
     * field is not mutated (fz_setup) */
    p->debugctl_valid = 0x3;
    p->perf_global_valid = fz_perf_global_valid();
    p->read = fz_read;
    p->wrmsr_ok = fz_wrmsr_ok;
    p->disabled = fz.disabled;
}

void fz_print(char *buf, size_t n, const struct ecm_outcome *o)
{
    if (o->kind == ECM_ENTRY)
        snprintf(buf, n, "entry");
    else if (o->kind == ECM_VMFAIL)
        snprintf(buf, n, "VMfailValid %u", o->code);
    else if (o->kind == ECM_EXIT_FAIL)
        snprintf(buf, n, "exit %u qual %llu", o->code, o->qual);
    else
        snprintf(buf, n, "undefined");
}
