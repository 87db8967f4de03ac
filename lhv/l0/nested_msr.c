/* L1's MSR areas (docs/l0.md "Nested VMX"): the VM-entry MSR-load area
 * (SDM 3C 27.4), the VM-exit MSR-store area (28.4) and the VM-exit
 * MSR-load area (28.6), processed by the L0 itself, entry by entry, in
 * order, with the rules of those sections; VMCS02's own counts stay 0.
 *
 * Why not hand VMCS02 the areas (translated): an MSR that a VMCS field
 * switches (IA32_EFER, IA32_PAT, IA32_DEBUGCTL, IA32_SYSENTER_*, FS/GS
 * base) would be switched between L2 and the L0 instead of between L2 and
 * L1, the L0's emulated MSRs (IA32_FEATURE_CONTROL, IA32_VMX_*) would be
 * the CPU's, and IA32_TIME_STAMP_COUNTER is stored as RDMSR reads it,
 * without the TSC offset (what Bochs gets wrong, docs/l0-deviations.md).
 * So: an MSR a VMCS field holds goes to or comes from that field (VMCS02
 * on entry and at the store, VMCS01 for the exit's load), an emulated one
 * is the L0's, every other is the CPU's, written or read by the L0 with
 * WRMSR/RDMSR in VMX root operation (the L0 uses none of them), a #GP
 * caught. An area is read and written through the RAM-only access: an
 * entry outside L1's RAM reads all ones (its reserved bits fail it), a
 * store there goes nowhere. */
#include "l0/nested.h"

#ifdef __x86_64__
#include "catch.h"
#include "end.h"
#include "x86.h"

#define EFER_VALID 0xd01ull /* SCE LME LMA NXE, as the entry model has them */

struct msr02 {
    u32 field;
    u64 value;
};

/* The entry loads VMCS02 holds, applied after VMCS12's guest state */
static struct {
    struct msr02 f[8];
    u32 n;
} pending[LHV_MAX_CPUS];

/* The VMCS field that holds an MSR across VM entries and exits, or 0 */
static u32 msr_field(u32 msr)
{
    switch (msr) {
    case MSR_IA32_SYSENTER_CS: return GUEST_SYSENTER_CS;
    case MSR_IA32_SYSENTER_ESP: return GUEST_SYSENTER_ESP;
    case MSR_IA32_SYSENTER_EIP: return GUEST_SYSENTER_EIP;
    case MSR_IA32_DEBUGCTL: return GUEST_IA32_DEBUGCTL;
    case MSR_IA32_PAT: return GUEST_IA32_PAT;
    case MSR_IA32_EFER: return GUEST_IA32_EFER;
    case MSR_IA32_FS_BASE: return GUEST_FS_BASE;
    case MSR_IA32_GS_BASE: return GUEST_GS_BASE;
    }
    return 0;
}

static bool emulated(u32 msr)
{
    return msr == MSR_IA32_FEATURE_CONTROL ||
           (msr >= MSR_IA32_VMX_BASIC && msr <= MSR_IA32_VMX_VMFUNC);
}

struct msr_op {
    u32 msr;
    bool write;
    u64 value;
};

static void msr_op(void *arg)
{
    struct msr_op *o = arg;
    if (o->write)
        wrmsr(o->msr, o->value);
    else
        o->value = rdmsr(o->msr);
}

/* RDMSR or WRMSR at CPL 0; false: it raised #GP */
static bool msr_try(bool write, u32 msr, u64 *value)
{
    struct msr_op o = {msr, write, *value};
    struct caught c;
    if (catch_exception(msr_op, &o, &c) != NO_EXCEPTION)
        return false;
    *value = o.value;
    return true;
}

static bool pat_ok(u64 pat)
{
    for (u32 i = 0; i < 8; i++) {
        u32 t = (pat >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

/* WRMSR of value to msr at CPL 0 would not raise #GP, as L1 sees its MSRs:
 * the emulated ones are read-only, a field's MSR has the field's rules,
 * an address MSR must be canonical, any other must exist (RDMSR works);
 * a #GP the check misses is caught at the write. ctx: VMCS12's image. */
bool l0_nested_wrmsr_ok(const void *ctx, u32 msr, u64 value)
{
    u64 x = 0;
    if (emulated(msr))
        return false;
    switch (msr) {
    case MSR_IA32_EFER: {
        u8 *img = (u8 *)ctx;
        bool pg = l0_v12(img, GUEST_CR0) & CR0_PG;
        bool lme = l0_v12(img, VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST;
        return !(value & ~EFER_VALID) && (!pg || !(value & EFER_LME) == !lme);
    }
    case MSR_IA32_PAT:
        return pat_ok(value);
    case MSR_IA32_DEBUGCTL:
        return !(value & ~L0_DEBUGCTL_VALID);
    case MSR_IA32_SYSENTER_ESP:
    case MSR_IA32_SYSENTER_EIP:
    case MSR_IA32_KERNEL_GS_BASE:
    case MSR_IA32_LSTAR:
    case MSR_IA32_CSTAR:
    case MSR_IA32_FS_BASE:
    case MSR_IA32_GS_BASE:
        return l0_canonical(value);
    case MSR_IA32_SYSENTER_CS:
        return true;
    }
    return msr_try(false, msr, &x);
}

/* The index rules all three areas share (27.4, 28.4, 28.6): bits 63:32
 * reserved, no x2APIC MSR, none SMM alone may access; the load areas
 * also refuse FS and GS base */
static bool entry_allowed(const u32 *e, bool load)
{
    u32 msr = e[0];
    if (e[1] || (msr >> 8) == 0x8)
        return false;
    if (load)
        return msr != MSR_IA32_FS_BASE && msr != MSR_IA32_GS_BASE &&
               msr != MSR_IA32_SMM_MONITOR_CTL && msr != MSR_IA32_SMBASE;
    return msr != MSR_IA32_SMBASE;
}

static void read_entry(u8 *img, u32 addr_field, u32 i, u32 *e)
{
    l0_phys_copy(l0_v12(img, addr_field) + 16ull * i, e, 16, false);
}

u32 l0_nested_entry_msrs(struct l0_vcpu *v, u8 *img, u32 n)
{
    pending[v->cpu].n = 0;
    for (u32 i = 0; i < n; i++) {
        u32 e[4];
        read_entry(img, VM_ENTRY_MSR_LOAD_ADDR, i, e);
        u64 value = e[2] | (u64)e[3] << 32;
        u32 f = msr_field(e[0]);
        if (!entry_allowed(e, true) || !l0_nested_wrmsr_ok(img, e[0], value))
            return i + 1;
        if (!f) {
            if (!msr_try(true, e[0], &value))
                return i + 1;
            continue;
        }
        u32 k = 0;
        while (k < pending[v->cpu].n && pending[v->cpu].f[k].field != f)
            k++;
        pending[v->cpu].f[k] = (struct msr02){f, value};
        pending[v->cpu].n += k == pending[v->cpu].n;
    }
    return 0;
}

void l0_nested_msr_fields02(struct l0_vcpu *v)
{
    for (u32 k = 0; k < pending[v->cpu].n; k++) {
        struct msr02 *m = &pending[v->cpu].f[k];
        u64 value = m->value;
        if (m->field == GUEST_IA32_EFER) /* LMA as IA-32e mode guest has it */
            value = (value & ~(u64)EFER_LMA) | (vmr(GUEST_IA32_EFER) & EFER_LMA);
        if (m->field == GUEST_IA32_PAT)
            vmw(VM_ENTRY_CONTROLS, vmr(VM_ENTRY_CONTROLS) | ENTRY_LOAD_IA32_PAT);
        vmw(m->field, value);
    }
}

static __attribute__((noreturn)) void vmx_abort(struct l0_vcpu *v, u32 why, const char *area,
                                                u32 i, u32 msr)
{
    fatal("nested VMX: CPU %u: VMX abort %u (SDM 3C 28.7) of L1: VM-exit MSR-%s entry %u "
          "(MSR 0x%x) failed; L1 would shut down", v->cpu, why, area, i + 1, msr);
}

void l0_nested_exit_store(struct l0_vcpu *v, u8 *img)
{
    u32 n = (u32)l0_v12(img, VM_EXIT_MSR_STORE_COUNT);
    u64 area = l0_v12(img, VM_EXIT_MSR_STORE_ADDR);
    for (u32 i = 0; i < n; i++) {
        u32 e[4];
        u64 value = 0;
        read_entry(img, VM_EXIT_MSR_STORE_ADDR, i, e);
        u32 f = msr_field(e[0]);
        bool ok = entry_allowed(e, false);
        if (ok && f)
            value = vmr(f); /* VMCS02 saved it (its exit controls save all) */
        else if (ok && emulated(e[0]))
            ok = l0_nested_vmx_msr(e[0], &value);
        else if (ok)
            ok = msr_try(false, e[0], &value);
        if (!ok)
            vmx_abort(v, 1, "store", i, e[0]);
        l0_phys_copy(area + 16ull * i + 8, &value, 8, true);
    }
}

void l0_nested_exit_load(struct l0_vcpu *v, u8 *img)
{
    u32 n = (u32)l0_v12(img, VM_EXIT_MSR_LOAD_COUNT);
    for (u32 i = 0; i < n; i++) {
        u32 e[4];
        read_entry(img, VM_EXIT_MSR_LOAD_ADDR, i, e);
        u64 value = e[2] | (u64)e[3] << 32;
        u32 f = msr_field(e[0]);
        bool ok = entry_allowed(e, true) && !emulated(e[0]);
        if (ok && f == GUEST_IA32_EFER) { /* LMA and LME as host address-space size set them */
            u64 mode = vmr(GUEST_IA32_EFER) & (EFER_LMA | EFER_LME);
            ok = !(value & ~EFER_VALID) && (value & EFER_LME) == (mode & EFER_LME);
            value = (value & ~(u64)(EFER_LMA | EFER_LME)) | mode;
        } else if (ok && f == GUEST_IA32_PAT) {
            ok = pat_ok(value);
            if (ok && !(vmr(VM_ENTRY_CONTROLS) & ENTRY_LOAD_IA32_PAT))
                f = 0, ok = msr_try(true, e[0], &value);
        } else if (ok && f) {
            ok = l0_nested_wrmsr_ok(img, e[0], value);
        } else if (ok) {
            ok = msr_try(true, e[0], &value);
        }
        if (!ok)
            vmx_abort(v, 4, "load", i, e[0]);
        if (f)
            vmw(f, value);
    }
}
#endif
