/* vmx/fuzz-entry (issue 18): the VM-entry check model
 * (lhv/vmx/entry_checks.c) held against the L0, trial by trial, on CPU 0
 * (docs/fuzzing.md, "The VM-entry fuzzer").
 *
 * The valid base state (LHV's test guest, the VMX-preemption timer at 0, a
 * VM-entry MSR-load area of one entry and empty VM-exit MSR areas of its
 * own) is built once, read into the model's image once, and the model
 * records once which fields each check reads (ecm_deps_build). A trial is
 * a list of mutations (field = value, or a word of the MSR-load area):
 * written into the VMCS and the image, predicted from the checks that read
 * them (ecm_predict_delta), entered, compared (outcome class, error
 * number, exit reason, qualification), and the mutated fields put back;
 * after an entry that succeeded, the guest-state fields the exit saved are
 * put back too. So a trial costs its mutations, not a guest setup.
 *
 * Mutations are aimed: a trial picks 1 to 3 checks of the model and walks
 * each to its edge (ecm_check_reads says which fields it reads; one of
 * them is mutated — a bit flipped, a fixed bit of a control, a MAXPHYADDR
 * or canonical edge, 0, all ones, a small value — until the check fails,
 * at most FZ_STEPS times); one trial in four flips random bits instead.
 * Nothing is clamped back to valid values: host state, VM-exit controls,
 * the 64-bit addresses, activity state, interruptibility and pending debug
 * exceptions are mutated like the rest. Trials with violations of several
 * stages (controls, host state, guest state, MSR loading) are the priority
 * probes: the model lists every outcome the SDM allows for them.
 *
 * The host survives every trial: a state the model says enters is not
 * entered when something would outlive the exit (host state, VM-exit
 * controls or MSR areas, a 64-bit address the guest would use, guest MSRs
 * the exit does not restore, wait-for-SIPI, an injected event delivered
 * through moved guest state), and a trial that could load a broken host
 * state if the model were wrong (host state or VM-exit fields mutated,
 * predicted VMfail) is written to the serial line before VMLAUNCH.
 *
 * lhv.fuzz=N trials, lhv.fuzz.seed=S, lhv.fuzz.replay=S:T (one trial in
 * full), lhv.fuzz.break=ID (the check ID taken out of the model: the run
 * must then FAIL, a test of the harness). */
#include "catch.h"
#include "console.h"
#include "cpu.h"
#include "div64.h"
#include "emulator.h"
#include "spinlock.h"
#include "string.h"
#include "vmx_test.h"
#include "vmx/entry_checks.h"
#include "vmx/vmx.h"
#include "x86.h"

/* The fields the model reads: the image is filled from the VMCS (a field
 * the CPU does not have reads as 0 and is not mutated) */
static const u32 fz_fields[] = {
    VIRTUAL_PROCESSOR_ID, ECM_POSTED_INTR_NV,
    GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR,
    GUEST_FS_SELECTOR, GUEST_GS_SELECTOR, GUEST_LDTR_SELECTOR, GUEST_TR_SELECTOR,
    HOST_ES_SELECTOR, HOST_CS_SELECTOR, HOST_SS_SELECTOR, HOST_DS_SELECTOR,
    HOST_FS_SELECTOR, HOST_GS_SELECTOR, HOST_TR_SELECTOR,
    IO_BITMAP_A, IO_BITMAP_B, MSR_BITMAP, VM_EXIT_MSR_STORE_ADDR, VM_EXIT_MSR_LOAD_ADDR,
    VM_ENTRY_MSR_LOAD_ADDR, ECM_PML_ADDRESS, VIRTUAL_APIC_PAGE_ADDR, ECM_APIC_ACCESS_ADDR,
    ECM_POSTED_INTR_DESC, ECM_VM_FUNCTION_CONTROL, EPT_POINTER, ECM_EPTP_LIST_ADDR,
    VMREAD_BITMAP, VMWRITE_BITMAP, ECM_VE_INFO_ADDR, ECM_SPPTP,
    VMCS_LINK_POINTER, GUEST_IA32_DEBUGCTL, GUEST_IA32_PAT, GUEST_IA32_EFER,
    ECM_GUEST_PERF_GLOBAL_CTRL, GUEST_PDPTE0, GUEST_PDPTE1, GUEST_PDPTE2, GUEST_PDPTE3,
    ECM_GUEST_BNDCFGS, HOST_IA32_PAT, HOST_IA32_EFER, ECM_HOST_PERF_GLOBAL_CTRL,
    PIN_BASED_VM_EXEC_CONTROL, CPU_BASED_VM_EXEC_CONTROL, CR3_TARGET_COUNT, VM_EXIT_CONTROLS,
    VM_EXIT_MSR_STORE_COUNT, VM_EXIT_MSR_LOAD_COUNT, VM_ENTRY_CONTROLS, VM_ENTRY_MSR_LOAD_COUNT,
    VM_ENTRY_INTR_INFO_FIELD, VM_ENTRY_EXCEPTION_ERROR_CODE, VM_ENTRY_INSTRUCTION_LEN,
    TPR_THRESHOLD, SECONDARY_VM_EXEC_CONTROL,
    GUEST_ES_LIMIT, GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_FS_LIMIT,
    GUEST_GS_LIMIT, GUEST_LDTR_LIMIT, GUEST_TR_LIMIT, GUEST_GDTR_LIMIT, GUEST_IDTR_LIMIT,
    GUEST_ES_AR_BYTES, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES,
    GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES, GUEST_LDTR_AR_BYTES, GUEST_TR_AR_BYTES,
    GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE,
    GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE,
    GUEST_DS_BASE, GUEST_FS_BASE, GUEST_GS_BASE, GUEST_LDTR_BASE, GUEST_TR_BASE,
    GUEST_GDTR_BASE, GUEST_IDTR_BASE, GUEST_DR7, GUEST_RIP, GUEST_RFLAGS,
    GUEST_PENDING_DBG_EXCEPTIONS, GUEST_SYSENTER_ESP, GUEST_SYSENTER_EIP,
    HOST_CR0, HOST_CR3, HOST_CR4, HOST_FS_BASE, HOST_GS_BASE, HOST_TR_BASE, HOST_GDTR_BASE,
    HOST_IDTR_BASE, HOST_IA32_SYSENTER_ESP, HOST_IA32_SYSENTER_EIP, HOST_RIP,
};

/* What a mutated field means for entering (fz_class) */
enum {
    FZ_HOST = 1,   /* host state, VM-exit controls and MSR areas: loaded at the exit */
    FZ_ADDR = 2,   /* an address the guest would use after entry */
    FZ_LINGER = 4, /* what the exit does not restore (guest MSRs, VM-entry controls) */
    FZ_GUEST = 8,  /* guest state an injected event is delivered through */
    FZ_COUNT = 16, /* an MSR-area count: 0 to 4 entries, never more (the areas hold 4) */
};

static u32 fz_class(u32 f)
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

/* Bits a field holds: 16, 64, 32 or the natural width */
static u32 fz_bits(u32 f)
{
    static const u8 w[4] = {16, 64, 32, sizeof(long) * 8};
    return w[(f >> 13) & 3];
}

static u64 fz_mask(u32 f)
{
    u32 b = fz_bits(f);
    return b >= 64 ? ~0ull : (1ull << b) - 1;
}

static u64 fz_rng;

/* Each trial draws from its own generator state, a mix of the seed and the
 * trial number (SplitMix64's finaliser), so lhv.fuzz.replay=S:T rebuilds
 * trial T alone, without the T before it. Never 0 (xorshift's fixed point). */
static void fz_seed_trial(u32 seed, u32 trial)
{
    u64 z = ((u64)seed << 32 | trial) + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    fz_rng = (z ^ (z >> 31)) | 1;
}

static u32 fz_next(void)
{
    fz_rng ^= fz_rng << 13;
    fz_rng ^= fz_rng >> 7;
    fz_rng ^= fz_rng << 17;
    return (u32)(fz_rng >> 32);
}

static u32 fz_below(u32 n) { return (u32)(((u64)fz_next() * n) >> 32); }

/* --- the run's state ------------------------------------------------------ */

/* The MSR areas: VM-entry MSR-load (one entry in the base: IA32_KERNEL_GS_BASE
 * with its value, loaded at each entry), VM-exit MSR-store and MSR-load
 * (count 0 in the base; 4 valid entries each, for counts mutated to 1-4) */
#define FZ_AREA 4
static struct msr_entry {
    u32 index, reserved;
    u64 value;
} fz_load[FZ_AREA] __attribute__((aligned(16))), fz_store[FZ_AREA] __attribute__((aligned(16))),
    fz_xload[FZ_AREA] __attribute__((aligned(16)));
static u64 fz_kgs; /* the host's IA32_KERNEL_GS_BASE */

/* A mutation: a VMCS field and its new value, or (field FZ_MEM | i) the
 * 32-bit word i of the VM-entry MSR-load area */
#define FZ_MEM 0x80000000u
#define FZ_MAX_MUTS 10
struct fz_mut {
    u32 field;
    u64 value;
};
struct fz_case {
    u32 n, naims;
    u16 aims[3];
    struct fz_mut m[FZ_MAX_MUTS];
};

/* The L0's answer: the outcome, or not entered (the gate) */
struct fz_answer {
    bool entered_vm; /* the L0 was asked */
    struct ecm_outcome got;
};

static struct {
    struct ecm_vmcs base, img, orig; /* the base; the trial's image; before the run */
    struct ecm_deps deps;
    struct ecm_caps k;
    struct ecm_cpu p;
    struct ecm_result r;
    u32 disabled[ECM_WORDS];
    u8 has[ECM_SLOTS]; /* the field exists in this VMCS and may be mutated */
    u32 pass[ECM_MAX_CHECKS], fail[ECM_MAX_CHECKS];
    u32 trials, entered, not_entered, diffs, explained, probes, probes_ok, risky, announced;
    u32 known_skips; /* not entered: the L0 would skip the host check (fz_gate) */
    bool blind;      /* the model read memory LHV does not map (fz_read) */
    u32 other_exits, other_reason; /* entries whose first exit was not the timer's */
    bool timer_exit;               /* the last entry's exit was the timer's */
    u32 state_field, state_diffs;  /* fz_state_check's answer; trials it failed */
    u64 state_loaded, state_saved;
    u64 ticks_gen, ticks_model, ticks_l0;
    struct vcpu *v;
    /* the mutable fields each check reads on the base (slots): check i's
     * are read_pool[read_first[i] .. read_first[i + 1]) */
    u16 read_first[ECM_MAX_CHECKS + 1];
    u16 read_pool[4096];
} fz;

/* Slot to encoding (the inverse of ecm_slot, for the fields in fz_fields) */
static u32 fz_enc(u32 slot)
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
 * IA32_KERNEL_GS_BASE must be canonical (SDM 3A 3.4.4.1 / WRMSR) */
static bool fz_wrmsr_ok(const void *ctx, u32 msr, u64 value)
{
    (void)ctx;
    if (msr != MSR_IA32_KERNEL_GS_BASE)
        return true;
    u64 top = value >> (fz.p.linear_bits - 1);
    return top == 0 || top == (~0ull >> (fz.p.linear_bits - 1));
}

static void fz_caps(struct ecm_caps *k)
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

static void fz_cpu(struct ecm_cpu *p)
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
    p->efer_valid = 0xd01; /* SCE LME LMA NXE */
    /* LBR and BTF; the other IA32_DEBUGCTL bits are model-specific and the
     * field is not mutated (fz_setup) */
    p->debugctl_valid = 0x3;
    p->perf_global_valid = fz_perf_global_valid();
    p->read = fz_read;
    p->wrmsr_ok = fz_wrmsr_ok;
    p->disabled = fz.disabled;
}

static void fz_print(char *buf, size_t n, const struct ecm_outcome *o)
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

/* Bochs' deviations the fuzzer meets (2.7 and 3.0: docs/l0-deviations.md),
 * each with its evidence in the run. A disagreement is explained when the
 * checks Bochs skips, taken out of the model, leave the L0's outcome one
 * the SDM allows (so a skipped guest check followed by an MSR-loading
 * failure is explained too):
 * - guest.rip.canonical: RIP bits 63:N not checked in 64-bit mode
 *   (VMenterLoadCheckGuestState checks bits 63:32 outside 64-bit mode only);
 * - guest.pending_dbg.bs_set/bs_clear: no BS/TF check;
 * - guest.pending_dbg.reserved, when only bits 63:32 are set (27.3.1.5
 *   reserves bits 63:17);
 * - guest.perf_global_ctrl.reserved: "load IA32_PERF_GLOBAL_CTRL" enters
 *   whatever the field's reserved bits (27.3.1.1);
 * - host.cr4.cet_wp: VMenterLoadCheckHostState checks CR4.CET => CR0.WP
 *   only with the "load CET state" VM-exit control (27.2.2 has no such
 *   condition);
 * - ctl.inject.error_code_bit, on a CPU with CET: VMenterLoadCheckVmControls
 *   skips the deliver-error-code check whole, where IA32_VMX_BASIC[56] lifts
 *   only its vector part for hardware exceptions (27.2.1.3, A.1);
 * - host.perf_global_ctrl.reserved (and the guest's, above): vmx.cc never
 *   reads either IA32_PERF_GLOBAL_CTRL field, so "load IA32_PERF_GLOBAL_CTRL"
 *   neither checks nor loads (27.2.2, 27.3.1.1);
 * - a check the SDM does not make: "use TSC scaling" with TSC multiplier 0
 *   gives VMfailValid 7 (VMenterLoadCheckVmControls; 27.2.1.1 has no check
 *   on the multiplier);
 * - ctl.entry.smm: "entry to SMM" outside SMM gives exit 33, not
 *   VMfailValid 7 (27.2.1.3; Bochs checks only the guest's blocking by SMI,
 *   in VMenterLoadCheckGuestState);
 * - SS in a 64-bit guest with SS.RPL 0: Bochs skips every SS check ("SS is
 *   allowed to be NULL selector", VMenterLoadCheckGuestState), the SDM
 *   exempts an unusable SS only: explained when the model enters once the
 *   trial's SS is put back. */
static const char *const fz_skipped[] = {
    "guest.rip.canonical", "guest.pending_dbg.bs_set", "guest.pending_dbg.bs_clear",
    "guest.pending_dbg.reserved", "guest.perf_global_ctrl.reserved", "host.cr4.cet_wp",
    "ctl.inject.error_code_bit", "host.perf_global_ctrl.reserved", "ctl.entry.smm",
};

/* The model's prediction for img with the checks Bochs skips taken out
 * (those that fail here); false when none of them fails */
static bool fz_bochs_predict(const struct ecm_vmcs *img, struct ecm_result *r)
{
    bool any = false;
    u32 saved[ECM_WORDS];

    static u32 idx[ARRAY_SIZE(fz_skipped)];
    if (!idx[0])
        for (u32 j = 0; j < ARRAY_SIZE(fz_skipped); j++)
            idx[j] = ecm_find(fz_skipped[j]);
    memcpy(saved, fz.disabled, sizeof(saved));
    for (u32 j = 0; j < ARRAY_SIZE(fz_skipped); j++) {
        u32 i = idx[j];
        if (i == ECM_NONE || !ecm_failed(&fz.r, i))
            continue;
        if (!strcmp(fz_skipped[j], "guest.pending_dbg.reserved") &&
            (ecm_get(img, GUEST_PENDING_DBG_EXCEPTIONS) & 0xffffafffu & ~0xfull))
            continue;
        if (!strcmp(fz_skipped[j], "ctl.inject.error_code_bit") && !((cpuid(7, 0).ecx >> 7) & 1))
            continue; /* CET_SS */
        fz.disabled[i / 32] |= 1u << (i % 32);
        any = true;
    }
    if (any)
        ecm_predict(img, &fz.k, &fz.p, r);
    memcpy(fz.disabled, saved, sizeof(saved));
    return any;
}

static bool fz_bochs_known(const char *id, const struct ecm_outcome *got,
                           const struct ecm_vmcs *img)
{
    static struct ecm_vmcs fixed; /* 4 KiB: off the stack */
    struct ecm_result r;
    u64 mult = 0;

    if (got->kind == ECM_EXIT_FAIL && !strcmp(id, "ctl.entry.smm") &&
        got->code == EXIT_REASON_INVALID_GUEST_STATE && got->qual == 0)
        return true; /* Bochs' own SMM check, among the guest-state checks */
    if (got->kind == ECM_VMFAIL && got->code == 7 &&
        (ecm_get(img, CPU_BASED_VM_EXEC_CONTROL) & CPU_ACTIVATE_SECONDARY_CONTROLS) &&
        (ecm_get(img, SECONDARY_VM_EXEC_CONTROL) & CPU2_USE_TSC_SCALING) &&
        vmr_safe(TSC_MULTIPLIER, &mult) == VMX_OK && mult == 0)
        return true;
    if (fz_bochs_predict(img, &r) && ecm_acceptable(&r, got))
        return true;
    if (got->kind != ECM_ENTRY || !(ecm_get(img, VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST) ||
        !(ecm_get(img, GUEST_CS_AR_BYTES) & (1u << 13)) || (ecm_get(img, GUEST_SS_SELECTOR) & 3))
        return false;
    fixed = *img;
    ecm_put(&fixed, GUEST_SS_SELECTOR, ecm_get(&fz.base, GUEST_SS_SELECTOR));
    ecm_put(&fixed, GUEST_SS_BASE, ecm_get(&fz.base, GUEST_SS_BASE));
    ecm_put(&fixed, GUEST_SS_LIMIT, ecm_get(&fz.base, GUEST_SS_LIMIT));
    ecm_put(&fixed, GUEST_SS_AR_BYTES, ecm_get(&fz.base, GUEST_SS_AR_BYTES));
    ecm_predict(&fixed, &fz.k, &fz.p, &r);
    return r.outcome.kind == ECM_ENTRY;
}

/* --- mutations ------------------------------------------------------------ */

static u32 *fz_word(u32 i) { return (u32 *)fz_load + i; }

/* The base's word i of the MSR-load area's first entry */
static u32 fz_base_word(u32 i)
{
    return i == 0 ? MSR_IA32_KERNEL_GS_BASE : i == 2 ? (u32)fz_kgs : i == 3 ? (u32)(fz_kgs >> 32) : 0;
}

/* Adds (or updates) a mutation; the image follows */
static void fz_add(struct fz_case *c, u32 field, u64 value)
{
    u32 i = 0;
    while (i < c->n && c->m[i].field != field)
        i++;
    if (i == FZ_MAX_MUTS)
        return;
    c->m[i] = (struct fz_mut){field, value};
    c->n += i == c->n;
    if (!(field & FZ_MEM))
        ecm_put(&fz.img, field, value);
    else
        *fz_word(field & 0xff) = (u32)value;
}

/* Puts the image and the MSR-load area back to the base */
static void fz_unmutate_image(const struct fz_case *c)
{
    for (u32 i = 0; i < c->n; i++) {
        u32 f = c->m[i].field;
        if (f & FZ_MEM)
            *fz_word(f & 0xff) = fz_base_word(f & 0xff);
        else
            ecm_put(&fz.img, f, ecm_get(&fz.base, f));
    }
}

/* A new value for field f at one of the checks' edges */
static u64 fz_edge(u32 f, u64 x)
{
    static const u8 edges[] = {0, 1, 2, 3, 4, 11, 12, 16, 31, 32, 47, 48, 56, 57, 63};
    const struct vmx_caps *k = &vmx_caps;
    u32 bits = fz_bits(f), fixed = 0, free = 0;

    if (fz_class(f) & FZ_COUNT)
        return fz_below(5);
    switch (f) {
    case PIN_BASED_VM_EXEC_CONTROL: fixed = k->pin.allowed0 | ~k->pin.allowed1; break;
    case CPU_BASED_VM_EXEC_CONTROL: fixed = k->proc.allowed0 | ~k->proc.allowed1; break;
    case SECONDARY_VM_EXEC_CONTROL: fixed = k->proc2.allowed0 | ~k->proc2.allowed1; break;
    case VM_EXIT_CONTROLS: fixed = k->exit.allowed0 | ~k->exit.allowed1; break;
    case VM_ENTRY_CONTROLS: fixed = k->entry.allowed0 | ~k->entry.allowed1; break;
    }
    free = ~fixed;
    if (fixed && free && fz_below(2)) { /* a control the CPU lets change: the gates of checks */
        u32 b;
        do
            b = fz_below(32);
        while (!((free >> b) & 1));
        return x ^ (1u << b);
    }
    switch (fz_below(9)) {
    case 0:
        return 0;
    case 1:
        return ~0ull & fz_mask(f);
    case 2:
        return fz_below(8);
    case 3: { /* a MAXPHYADDR or canonical edge, or a low bit */
        u32 b = fz_below(2) ? fz.p.maxphyaddr - 1 + fz_below(2) : edges[fz_below(sizeof(edges))];
        return (x ^ (1ull << (b % bits))) & fz_mask(f);
    }
    case 4: /* a bit the capability MSR fixes, or one it leaves free */
        if (fixed) {
            u32 b;
            do
                b = fz_below(32);
            while (!((fixed >> b) & 1));
            return x ^ (1u << b);
        }
        /* fall through */
    case 5:
        return (x ^ (1ull << fz_below(bits)) ^ (1ull << fz_below(bits))) & fz_mask(f);
    default:
        return (x ^ (1ull << fz_below(bits))) & fz_mask(f);
    }
}

/* A word of the MSR-load area aimed at the MSR checks (27.4): the index of
 * a forbidden MSR, a reserved bit, a value WRMSR refuses */
static void fz_mutate_mem(struct fz_case *c)
{
    static const u32 bad[] = {0xc0000100u, 0xc0000101u, 0x800, 0x8ff, 0x9b, 0x9e};
    switch (fz_below(3)) {
    case 0:
        fz_add(c, FZ_MEM | 0, fz_below(3) ? bad[fz_below(ARRAY_SIZE(bad))] : 0x800 + fz_below(256));
        break;
    case 1:
        fz_add(c, FZ_MEM | 1, 1u << fz_below(32));
        break;
    default:
        fz_add(c, FZ_MEM | 3, (u32)(fz_kgs >> 32) ^ (1u << fz_below(32)));
        break;
    }
}

/* Walks the image toward a failure of check i: mutates fields it reads
 * until it fails (at most FZ_STEPS mutations) */
#define FZ_STEPS 8
static void fz_aim(struct fz_case *c, u32 i)
{
    u64 rd[ECM_RD_WORDS];

    static u32 msr_count = ECM_NONE;
    if (msr_count == ECM_NONE)
        msr_count = ecm_find("msr.count");
    if (ecm_checks[i].stage == ECM_MSR) {
        if (i == msr_count)
            fz_add(c, VM_ENTRY_MSR_LOAD_COUNT, fz_below(5));
        else
            fz_mutate_mem(c);
        return;
    }
    /* the first step from the base's reads (it holds there), no evaluation */
    u32 nb = fz.read_first[i + 1] - fz.read_first[i];
    if (!nb)
        return;
    u32 f = fz_enc(fz.read_pool[fz.read_first[i] + fz_below(nb)]);
    fz_add(c, f, fz_edge(f, ecm_get(&fz.img, f)));
    for (u32 step = 1; step < FZ_STEPS; step++) {
        if (!ecm_check_reads(&fz.img, &fz.k, &fz.p, i, rd))
            return;
        u32 cand[64], nc = 0;
        for (u32 w = 0; w < ECM_SLOTS / 32; w++)
            for (u32 b = (u32)(rd[w / 2] >> (w % 2 * 32)); b && nc < ARRAY_SIZE(cand); b &= b - 1) {
                u32 s = w * 32 + (u32)__builtin_ctz(b);
                if (fz.has[s])
                    cand[nc++] = s;
            }
        if (!nc)
            return;
        u32 deeper[64], nd = 0; /* read now, not on the base: opened by the walk */
        for (u32 j = 0; j < nc; j++)
            if (!((fz.deps.by_slot[cand[j]][i / 32] >> (i % 32)) & 1))
                deeper[nd++] = cand[j];
        f = fz_enc(nd && fz_below(2) ? deeper[fz_below(nd)] : cand[fz_below(nc)]);
        fz_add(c, f, fz_edge(f, ecm_get(&fz.img, f)));
    }
}

/* The trial's mutations, from its seed and number alone */
static void fz_gen(u32 t, struct fz_case *c)
{
    static u16 mutable_slots[ECM_SLOTS];
    static u32 nmutable;

    if (!nmutable)
        for (u32 s = 0; s < ECM_SLOTS; s++)
            if (fz.has[s])
                mutable_slots[nmutable++] = (u16)s;
    fz_seed_trial(suite_fuzz_seed(), t);
    memset(c, 0, sizeof(*c));
    if (fz_below(4) == 0) { /* 1-3 random bits of random fields */
        for (u32 n = 1 + fz_below(3); n; n--) {
            u32 f = fz_enc(mutable_slots[fz_below(nmutable)]);
            u64 x = ecm_get(&fz.img, f);
            fz_add(c, f, fz_class(f) & FZ_COUNT ? fz_below(5)
                                                 : (x ^ (1ull << fz_below(fz_bits(f)))) & fz_mask(f));
        }
    } else { /* 1-3 checks aimed at */
        c->naims = 1 + (fz_below(3) == 0) + (fz_below(6) == 0);
        for (u32 a = 0; a < c->naims; a++) {
            c->aims[a] = (u16)(3 + fz_below(ecm_nchecks - 3)); /* not the 27.1 checks */
            fz_aim(c, c->aims[a]);
        }
    }
    fz_unmutate_image(c);
}

/* --- one trial ------------------------------------------------------------ */

/* The guest's code: a jump to itself. The timer at 0 exits before its first
 * instruction; an L0 that lets the guest run anyway (or a mutation that
 * stops the timer) finds nothing to break in it */
void fz_spin(void);
__asm__(".pushsection .text.fz_spin, \"ax\"\n"
        ".globl fz_spin\n"
        "fz_spin: jmp fz_spin\n"
        ".popsection");

static enum exit_action fz_stop(struct vcpu *v, u32 reason)
{
    (void)v;
    (void)reason;
    return EXIT_STOP;
}

/* The guest-state fields a VM exit saves (27.3 loads them, 28.3 saves
 * them): put back after an entry that succeeded */
static const u32 fz_saved[] = {
    GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR,
    GUEST_FS_SELECTOR, GUEST_GS_SELECTOR, GUEST_LDTR_SELECTOR, GUEST_TR_SELECTOR,
    GUEST_IA32_DEBUGCTL, GUEST_IA32_PAT, GUEST_IA32_EFER, ECM_GUEST_PERF_GLOBAL_CTRL,
    GUEST_PDPTE0, GUEST_PDPTE1, GUEST_PDPTE2, GUEST_PDPTE3, ECM_GUEST_BNDCFGS,
    GUEST_ES_LIMIT, GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_FS_LIMIT,
    GUEST_GS_LIMIT, GUEST_LDTR_LIMIT, GUEST_TR_LIMIT, GUEST_GDTR_LIMIT, GUEST_IDTR_LIMIT,
    GUEST_ES_AR_BYTES, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES,
    GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES, GUEST_LDTR_AR_BYTES, GUEST_TR_AR_BYTES,
    GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE,
    GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE,
    GUEST_DS_BASE, GUEST_FS_BASE, GUEST_GS_BASE, GUEST_LDTR_BASE, GUEST_TR_BASE,
    GUEST_GDTR_BASE, GUEST_IDTR_BASE, GUEST_DR7, GUEST_RIP, GUEST_RFLAGS, GUEST_RSP,
    GUEST_PENDING_DBG_EXCEPTIONS, GUEST_SYSENTER_ESP, GUEST_SYSENTER_EIP,
    VMX_PREEMPTION_TIMER_VALUE,
};
static u64 fz_saved_base[ARRAY_SIZE(fz_saved)];
static u32 fz_saved_field[ARRAY_SIZE(fz_saved)], fz_nsaved; /* those this VMCS has */

/* Whether the state may be entered: what a VM exit does not undo stays
 * out of the guest (see the top) */
static bool fz_gate(const struct fz_case *c, const struct ecm_result *r)
{
    if (fz.blind)
        return false;
    u32 cls = 0;
    for (u32 i = 0; i < c->n; i++)
        cls |= c->m[i].field & FZ_MEM ? 0 : fz_class(c->m[i].field);
    if (r->outcome.kind == ECM_VMFAIL && (cls & FZ_HOST) &&
        l0_bochs_deviates(BOCHS_2_7_AND_3_0)) {
        /* a VMfail that rests on a check Bochs skips: Bochs would load the
         * broken host state (a 32-bit host without CR4.PAE triple-faults) */
        static struct ecm_result skip; /* off the stack */
        if (fz_bochs_predict(&fz.img, &skip) && skip.outcome.kind != ECM_VMFAIL) {
            fz.known_skips++;
            return false;
        }
    }
    if (r->outcome.kind == ECM_VMFAIL)
        return true; /* nothing is loaded */
    if (cls & FZ_HOST)
        return false; /* the exit (a failure exit too) loads the host state */
    if (r->outcome.kind == ECM_EXIT_FAIL && r->outcome.code == EXIT_REASON_INVALID_GUEST_STATE &&
        r->nalt == 1)
        return true; /* 27.3 fails before any guest state is loaded */
    if (cls & (FZ_ADDR | FZ_LINGER))
        return false;
    if (ecm_get(&fz.img, GUEST_ACTIVITY_STATE) == 3 ||
        !(ecm_get(&fz.img, PIN_BASED_VM_EXEC_CONTROL) & PIN_PREEMPTION_TIMER))
        return false; /* no timer exit: wait-for-SIPI (it does not count there), or no timer */
    return !(ecm_get(&fz.img, VM_ENTRY_INTR_INFO_FIELD) >> 31) || !(cls & FZ_GUEST);
}

/* Writes the case into the VMCS and the image; false when a field cannot
 * be written (the trial is dropped) */
static void fz_apply(const struct fz_case *c, u32 *fields, u32 *nf, bool *mem)
{
    *nf = 0;
    *mem = false;
    for (u32 i = 0; i < c->n; i++) {
        u32 f = c->m[i].field;
        if (f & FZ_MEM) {
            *fz_word(f & 0xff) = (u32)c->m[i].value;
            *mem = true;
            continue;
        }
        vmw_safe(f, c->m[i].value);
        ecm_put(&fz.img, f, c->m[i].value);
        fields[(*nf)++] = f;
    }
}

static void fz_unapply(const struct fz_case *c, bool entered)
{
    for (u32 i = 0; i < c->n; i++)
        if (!(c->m[i].field & FZ_MEM))
            vmw_safe(c->m[i].field, ecm_get(&fz.base, c->m[i].field));
    fz_unmutate_image(c);
    if (entered) {
        for (u32 i = 0; i < fz_nsaved; i++)
            vmw_safe(fz_saved_field[i], fz_saved_base[i]);
        wrmsr(MSR_IA32_KERNEL_GS_BASE, fz_kgs); /* the MSR-load area may have changed it */
    }
}

/* The stages whose checks fail (bit per enum ecm_stage) */
static u32 fz_stages(const struct ecm_result *r)
{
    u32 st = 0;
    for (u32 w = 0; w < ECM_WORDS; w++)
        for (u32 f = r->failed[w]; f; f &= f - 1)
            st |= 1u << ecm_checks[w * 32 + __builtin_ctz(f)].stage;
    return st;
}

/* One VMLAUNCH/VMRESUME of the current VMCS, back at the first exit
 * (vmx_enter: none of the run loop's reporting, which would cost more than
 * the trial) */
int vmx_enter(struct guest_regs *regs, int launched);
static struct ecm_outcome fz_enter(void)
{
    struct vcpu *v = fz.v;
    unsigned long flags = irq_save();
    u64 x = 0;

    this_cpu()->in_guest = true;
    int st = vmx_enter(&v->regs, v->launched);
    this_cpu()->in_guest = false;
    irq_restore(flags);
    if (st == VMX_FAIL_VALID) {
        vmr_safe(VM_INSTRUCTION_ERROR, &x);
        return (struct ecm_outcome){ECM_VMFAIL, (u32)x, 0};
    }
    if (st != VMX_OK)
        return (struct ecm_outcome){ECM_VMFAIL, 0, 0};
    u32 reason = (u32)vmr(VM_EXIT_REASON);
    if (reason & EXIT_REASON_ENTRY_FAILURE) /* the launch state stays (27.8) */
        return (struct ecm_outcome){ECM_EXIT_FAIL, reason & 0xffff, vmr(EXIT_QUALIFICATION)};
    v->launched = true;
    fz.timer_exit = (reason & 0xffff) == EXIT_REASON_PREEMPTION_TIMER;
    if (!fz.timer_exit) {
        fz.other_exits++;
        fz.other_reason = reason & 0xffff;
    }
    return (struct ecm_outcome){ECM_ENTRY, 0, 0};
}

/* The state after an entry that succeeded and exited at once (the timer
 * at 0, no event injected, active or HLT): a VM exit saves what the entry
 * loaded (27.3.2, 28.3.2), since no instruction ran in between. Compared:
 * RIP, RSP, RFLAGS, CR3, CR0's bits entry loads (27.3.2.1: not ET, CD,
 * NW, the reserved ones), the descriptor-table registers, IA32_SYSENTER_ESP
 * and EIP, the activity state, and each usable segment's selector, base,
 * limit and access rights (an unusable one's may change, 28.3.2). Returns
 * the first field that differs, 0 when none, with what was loaded and saved */
static u32 fz_state_check(u64 *loaded, u64 *saved)
{
    static const u32 same[] = {
        GUEST_RIP, GUEST_RSP, GUEST_RFLAGS, GUEST_CR3, GUEST_GDTR_BASE, GUEST_GDTR_LIMIT,
        GUEST_IDTR_BASE, GUEST_IDTR_LIMIT, GUEST_SYSENTER_ESP, GUEST_SYSENTER_EIP,
        GUEST_ACTIVITY_STATE, GUEST_CR0,
    };
    const u64 cr0_loaded = 0x8005002full & ~0x10ull; /* PG AM WP NE TS EM MP PE */

    if (ecm_get(&fz.img, VM_ENTRY_INTR_INFO_FIELD) >> 31 ||
        ecm_get(&fz.img, GUEST_ACTIVITY_STATE) > 1)
        return 0;
    for (u32 i = 0; i < ARRAY_SIZE(same) + 8 * 4; i++) {
        u32 f;
        u64 mask = ~0ull;
        if (i < ARRAY_SIZE(same)) {
            f = same[i];
            if (f == GUEST_CR0)
                mask = cr0_loaded;
        } else {
            u32 seg = (i - ARRAY_SIZE(same)) / 4, part = (i - ARRAY_SIZE(same)) % 4;
            if (ecm_get(&fz.img, GUEST_ES_AR_BYTES + 2 * seg) & (1u << 16))
                continue; /* unusable */
            f = (part == 0 ? GUEST_ES_SELECTOR : part == 1 ? GUEST_ES_BASE
                 : part == 2 ? GUEST_ES_LIMIT : GUEST_ES_AR_BYTES) + 2 * seg;
            if (part == 3)
                mask = 0xf0ff; /* type S DPL P, AVL L D/B G */
        }
        u64 x = 0;
        if (vmr_safe(f, &x) != VMX_OK)
            continue;
        *loaded = ecm_get(&fz.img, f) & mask & fz_mask(f);
        *saved = x & mask & fz_mask(f);
        if (*loaded != *saved)
            return f;
    }
    return 0;
}

#define FZ_WINDOW 64
/* Asks the model (fz.r) and, when the gate allows, the L0 */
static struct fz_answer fz_try(u32 t, const struct fz_case *c)
{
    struct fz_answer a = {false, {ECM_ENTRY, 0, 0}};
    u32 fields[FZ_MAX_MUTS], nf;
    bool mem;
    u64 t0 = rdtsc();

    fz_apply(c, fields, &nf, &mem);
    fz.p.launched = fz.p.vmresume = fz.v->launched;
    fz.blind = false;
    ecm_predict_delta(&fz.img, &fz.k, &fz.p, &fz.deps, fields, nf, mem, &fz.r);
    u64 t1 = rdtsc();
    fz.ticks_model += t1 - t0;
    if (fz_gate(c, &fz.r)) {
        u32 cls = 0;
        for (u32 i = 0; i < nf; i++)
            cls |= fz_class(fields[i]);
        if ((cls & FZ_HOST) && !(fz_stages(&fz.r) & (1u << ECM_CTL))) {
            /* on the line before VMLAUNCH, so a host the L0 breaks is still
             * known: "fz T", at most once in FZ_WINDOW trials (each line
             * costs the UART's time), so the culprit is among the
             * FZ_WINDOW trials from the last such line */
            if (!fz.risky || t >= fz.announced + FZ_WINDOW) {
                printf("fz %u\n", t);
                fz.announced = t;
            }
            fz.risky++;
        }
        a.entered_vm = true;
        a.got = fz_enter();
    }
    fz.state_field = 0;
    if (a.entered_vm && a.got.kind == ECM_ENTRY && fz.timer_exit)
        fz.state_field = fz_state_check(&fz.state_loaded, &fz.state_saved);
    fz_unapply(c, a.entered_vm && a.got.kind == ECM_ENTRY);
    fz.ticks_l0 += rdtsc() - t1;
    return a;
}

static bool fz_disagrees(const struct fz_answer *a, const struct ecm_result *r)
{
    return a->entered_vm && !ecm_acceptable(r, &a->got);
}

static void fz_print_muts(const struct fz_case *c)
{
    for (u32 i = 0; i < c->n; i++)
        if (c->m[i].field & FZ_MEM)
            printf(" msr-load-word%u=0x%llx", c->m[i].field & 0xff, c->m[i].value);
        else
            printf(" 0x%04x=0x%llx", c->m[i].field, c->m[i].value);
}

/* lhv.fuzz.replay: the trial in full, what the model and the L0 said */
static void fz_detail(u32 t, const struct fz_case *c, const struct fz_answer *a)
{
    char s[48] = "";
    const struct ecm_result *r = &fz.r;

    printf("fuzz: replay seed=%u trial=%u: %u mutation(s)", suite_fuzz_seed(), t, c->n);
    for (u32 i = 0; i < c->naims; i++)
        printf("%s%s", i ? ", " : ", aimed at ", ecm_checks[c->aims[i]].id);
    printf("\n");
    for (u32 i = 0; i < c->n; i++)
        if (!(c->m[i].field & FZ_MEM))
            printf("fuzz:   field 0x%04x: 0x%llx -> 0x%llx\n", c->m[i].field,
                   ecm_get(&fz.base, c->m[i].field), c->m[i].value);
        else
            printf("fuzz:   MSR-load area word %u -> 0x%llx\n", c->m[i].field & 0xff,
                   c->m[i].value);
    for (u32 i = 0; i < ecm_nchecks; i++)
        if (ecm_failed(r, i))
            printf("fuzz:   check %s (SDM 3C %s) fails\n", ecm_checks[i].id, ecm_checks[i].sdm);
    fz_print(s, sizeof(s), &r->outcome);
    printf("fuzz:   the model predicts: %s (%s)\n", s,
           r->check == ECM_NONE ? "no check fails" : ecm_checks[r->check].id);
    for (u32 i = 0; i < r->nalt; i++) {
        fz_print(s, sizeof(s), &r->alt[i]);
        printf("fuzz:   the SDM allows: %s\n", s);
    }
    fz_print(s, sizeof(s), &a->got);
    printf("fuzz:   the L0: %s\n", a->entered_vm ? s : "not entered (the state would outlive the "
                                                       "trial's exit, or it waits for SIPI)");
}

/* After a disagreement: the mutations whose removal keeps the same
 * disagreement (the model's outcome and the L0's) are dropped, one by one */
static void fz_minimise(u32 t, struct fz_case *c, const struct ecm_outcome *want,
                        const struct ecm_outcome *got)
{
    struct fz_case m = *c;
    u32 before = c->n;

    for (u32 i = 0; i < m.n && m.n > 1;) {
        struct fz_case less = m;
        less.m[i] = less.m[--less.n];
        struct fz_answer a = fz_try(t, &less);
        if (fz_disagrees(&a, &fz.r) && fz.r.outcome.kind == want->kind &&
            fz.r.outcome.code == want->code && a.got.kind == got->kind && a.got.code == got->code)
            m = less;
        else
            i++;
    }
    printf("fuzz: minimised trial=%u (%u of %u mutations):", t, m.n, before);
    fz_print_muts(&m);
    printf("\n");
}

static void fz_count(const struct ecm_result *r)
{
    for (u32 w = 0; w < ECM_WORDS; w++) {
        u32 ev = r->evaluated[w];
        while (ev) {
            u32 b = __builtin_ctz(ev), i = w * 32 + b;
            ev &= ev - 1;
            if ((r->failed[w] >> b) & 1)
                fz.fail[i]++;
            else
                fz.pass[i]++;
        }
    }
}

static void fz_trial(u32 t, bool replay)
{
    struct fz_case c;
    char want_s[48], got_s[48];
    u64 t0 = rdtsc();

    fz_gen(t, &c);
    fz.ticks_gen += rdtsc() - t0;
    if (!c.n)
        return;
    struct fz_answer a = fz_try(t, &c);
    fz.trials++;
    fz_count(&fz.r);
    if (replay)
        fz_detail(t, &c, &a);
    if (!a.entered_vm) {
        fz.not_entered++;
        return;
    }
    fz.entered += a.got.kind == ECM_ENTRY;
    u32 st = fz_stages(&fz.r);
    bool probe = st & (st - 1); /* violations in two stages or more */
    fz.probes += probe;
    u32 state_field = fz.state_field;
    u64 state_loaded = fz.state_loaded, state_saved = fz.state_saved;
    bool known = false, outcome_diff = fz_disagrees(&a, &fz.r);
    if (outcome_diff) {
        struct ecm_result r = fz.r;
        fz.diffs++;
        fz_print(want_s, sizeof(want_s), &r.outcome);
        fz_print(got_s, sizeof(got_s), &a.got);
        const char *id = r.check == ECM_NONE ? "-" : ecm_checks[r.check].id;
        fz_apply(&c, (u32[FZ_MAX_MUTS]){0}, &(u32){0}, &(bool){0});
        fz.r = r;
        known = l0_bochs_deviates(BOCHS_2_7_AND_3_0) && fz_bochs_known(id, &a.got, &fz.img);
        fz_unapply(&c, false);
        fz.explained += known;
        printf("DIFF: fuzz seed=%u trial=%u", suite_fuzz_seed(), t);
        fz_print_muts(&c);
        printf(" model=%s (%s) l0=%s%s; replay: lhv.fuzz.replay=%u:%u\n", want_s, id, got_s,
               known ? " [known Bochs deviation]" : "", suite_fuzz_seed(), t);
        if (!known) /* a known deviation is triaged already */
            fz_minimise(t, &c, &r.outcome, &a.got);
    } else {
        fz.probes_ok += probe;
    }
    if (state_field) {
        /* silent corruption: the saved state is not what entry loaded; after
         * an entry that a known deviation let through (the state was
         * invalid) it is that deviation's */
        fz.diffs++;
        fz.state_diffs++;
        fz.explained += known;
        printf("DIFF: fuzz seed=%u trial=%u", suite_fuzz_seed(), t);
        fz_print_muts(&c);
        printf(" state after entry: field 0x%04x loaded 0x%llx saved 0x%llx%s; replay: "
               "lhv.fuzz.replay=%u:%u\n", state_field, state_loaded, state_saved,
               known ? " [after a known Bochs deviation]" : "", suite_fuzz_seed(), t);
    }
}

/* --- the run ----------------------------------------------------------- */

/* Whether s contains w */
static bool fz_contains(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (; *s; s++)
        if (!strncmp(s, w, n))
            return true;
    return false;
}

/* Why a check cannot be hit one way on this CPU, or NULL (not reached) */
static const char *fz_unreachable(u32 i, bool failing)
{
    const struct ecm_check *k = &ecm_checks[i];
    u32 nb = fz.read_first[i + 1] - fz.read_first[i], natural = 0;

    if (k->stage == ECM_BASIC)
        return "processor state the fuzzer does not vary";
    if (!strcmp(k->id, "msr.count"))
        return "more MSR-load entries than the fuzzer's area";
    if (!strcmp(k->id, "guest.debugctl.reserved"))
        return "IA32_DEBUGCTL not mutated";
    if (!strcmp(k->id, "ctl.eptp.ad") && ((fz.k.ept_vpid >> 21) & 1))
        return "EPT_VPID_CAP[21]: A/D allowed";
    if (!nb && !fz.pass[i] && !fz.fail[i] && k->stage != ECM_MSR)
        return "the processor's mode decides it";
    for (u32 j = fz.read_first[i]; j < fz.read_first[i + 1]; j++)
        natural += ((fz_enc(fz.read_pool[j]) >> 13) & 3) == 3;
    if (sizeof(long) == 4 && failing &&
        ((nb && natural == nb) || fz_contains(k->id, "canonical") || fz_contains(k->id, ".high") ||
         fz_contains(k->id, ".rip")))
        return "bits 63:32 of natural-width fields, 32-bit host"; /* 25.11.2 */
    return NULL;
}

/* The coverage lines: returns how many checks the CPU could reach both
 * ways that this run did not */
static u32 fz_coverage(void)
{
    u32 both = 0, unreached = 0, cannot = 0;
    for (u32 i = 0; i < ecm_nchecks; i++) {
        if (fz.pass[i] && fz.fail[i])
            both++;
        else if (fz_unreachable(i, !fz.fail[i]))
            cannot++;
        else
            unreached++;
    }
    printf("fuzz: coverage: %u of %u checks hit both ways (passing and failing), %u cannot be "
           "here, %u not reached\n", both, ecm_nchecks, cannot, unreached);
    /* one line per reason, then the checks not reached (passing/failing counts) */
    for (u32 i = 0; i < ecm_nchecks; i++) {
        const char *why = fz.pass[i] && fz.fail[i] ? NULL : fz_unreachable(i, !fz.fail[i]);
        bool seen = false;
        for (u32 j = 0; why && j < i && !seen; j++)
            seen = !(fz.pass[j] && fz.fail[j]) && fz_unreachable(j, !fz.fail[j]) == why;
        if (!why || seen)
            continue;
        printf("fuzz: coverage: cannot be hit both ways here (%s):", why);
        for (u32 j = i; j < ecm_nchecks; j++)
            if (!(fz.pass[j] && fz.fail[j]) && fz_unreachable(j, !fz.fail[j]) == why)
                printf(" %s", ecm_checks[j].id);
        printf("\n");
    }
    if (unreached > 16 && fz.trials < 10000) /* the line would cost more than the run */
        printf("fuzz: coverage: the %u not reached are listed by runs of 10000 trials or more\n",
               unreached);
    else if (unreached) {
        printf("fuzz: coverage: not reached (passing/failing):");
        for (u32 i = 0; i < ecm_nchecks; i++)
            if (!(fz.pass[i] && fz.fail[i]) && !fz_unreachable(i, !fz.fail[i]))
                printf(" %s %u/%u", ecm_checks[i].id, fz.pass[i], fz.fail[i]);
        printf("\n");
    }
    return unreached;
}

/* The valid base: the test guest, the timer at 0, the MSR areas */
static bool fz_setup(struct cpu_outcome *o)
{
    struct ecm_result r;
    struct vcpu *v = test_guest(o);

    if (!v)
        return false;
    fz.v = v;
    v->hook = fz_stop;
    for (u32 i = 0; i < ARRAY_SIZE(fz_fields); i++) {
        u64 x = 0;
        if (vmr_safe(fz_fields[i], &x) == VMX_OK)
            fz.has[ecm_slot(fz_fields[i])] = 1;
        ecm_put(&fz.orig, fz_fields[i], x);
    }
    fz.has[ecm_slot(GUEST_IA32_DEBUGCTL)] = 0; /* its valid bits are model-specific */
    fz_kgs = fz.p.intel64 ? rdmsr(MSR_IA32_KERNEL_GS_BASE) : 0;
    for (u32 i = 0; i < FZ_AREA; i++) {
        fz_load[i] = (struct msr_entry){MSR_IA32_KERNEL_GS_BASE, 0, fz_kgs};
        fz_store[i] = fz_load[i];
        fz_xload[i] = fz_load[i];
    }
    vmw_or(PIN_BASED_VM_EXEC_CONTROL, PIN_PREEMPTION_TIMER);
    vmw(VMX_PREEMPTION_TIMER_VALUE, 0);
    vmw(VM_ENTRY_MSR_LOAD_ADDR, (uintptr_t)fz_load);
    vmw(VM_ENTRY_MSR_LOAD_COUNT, fz.p.intel64);
    vmw(VM_EXIT_MSR_STORE_ADDR, (uintptr_t)fz_store);
    vmw(VM_EXIT_MSR_LOAD_ADDR, (uintptr_t)fz_xload);
    vcpu_set_entry(v, (uintptr_t)fz_spin, 0, 0);
    for (u32 i = 0; i < ARRAY_SIZE(fz_fields); i++) {
        u64 x = 0;
        vmr_safe(fz_fields[i], &x);
        ecm_put(&fz.base, fz_fields[i], x);
    }
    u64 rsp = 0; /* not a field the model reads: in the image for fz_state_check */
    vmr_safe(GUEST_RSP, &rsp);
    ecm_put(&fz.base, GUEST_RSP, rsp);
    fz_nsaved = 0;
    for (u32 i = 0; i < ARRAY_SIZE(fz_saved); i++)
        if (vmr_safe(fz_saved[i], &fz_saved_base[fz_nsaved]) == VMX_OK)
            fz_saved_field[fz_nsaved++] = fz_saved[i];
    fz.img = fz.base;
    fz.p.launched = fz.p.vmresume = v->launched;
    ecm_predict(&fz.base, &fz.k, &fz.p, &r);
    if (r.outcome.kind != ECM_ENTRY) { /* the valid start must be valid to the model too */
        outcome_fail(o, "the model rejects LHV's valid test guest: check %s",
                     ecm_checks[r.check].id);
        return false;
    }
    ecm_deps_build(&fz.base, &fz.k, &fz.p, &fz.deps);
    u32 n = 0;
    for (u32 i = 0; i < ecm_nchecks; i++) {
        fz.read_first[i] = (u16)n;
        for (u32 s = 0; s < ECM_SLOTS && n < ARRAY_SIZE(fz.read_pool); s++)
            if (fz.has[s] && ((fz.deps.by_slot[s][i / 32] >> (i % 32)) & 1))
                fz.read_pool[n++] = (u16)s;
    }
    fz.read_first[ecm_nchecks] = (u16)n;
    return true;
}

static void fz_restore(void)
{
    for (u32 i = 0; i < ARRAY_SIZE(fz_fields); i++)
        if (fz.has[ecm_slot(fz_fields[i])])
            vmw_safe(fz_fields[i], ecm_get(&fz.orig, fz_fields[i]));
}

static void fz_run(struct cpu_outcome *o, void *arg)
{
    const char *unavailable = vmx_unavailable();
    (void)arg;

    if (unavailable) {
        outcome_skip(o, "%s", unavailable);
        return;
    }
    if (!(vmx_caps.pin.allowed1 & PIN_PREEMPTION_TIMER)) {
        outcome_skip(o, "IA32_VMX_PINBASED_CTLS bit 6 (VMX-preemption timer) may not be 1");
        return;
    }
    if (this_cpu()->index != 0) { /* one campaign, one serial stream */
        outcome_skip(o, "the fuzzer runs on CPU 0");
        return;
    }
    memset(&fz, 0, sizeof(fz));
    fz_caps(&fz.k);
    fz_cpu(&fz.p);
    const char *brk = suite_fuzz_break();
    if (*brk) {
        u32 i = ecm_find(brk);
        if (i == ECM_NONE) {
            outcome_fail(o, "lhv.fuzz.break=%s: the model has no such check", brk);
            return;
        }
        fz.disabled[i / 32] |= 1u << (i % 32);
        printf("fuzz: check %s taken out of the model (lhv.fuzz.break): the run must FAIL\n", brk);
    }
    if (!fz_setup(o))
        return;
    u32 replay = suite_fuzz_replay(), first = replay ? replay - 1 : 0;
    u32 end = replay ? replay : suite_fuzz_trials();
    if (!replay) /* its serial timestamp starts the bench's wall-clock window */
        printf("fuzz: %u trials from seed %u\n", end, suite_fuzz_seed());
    u64 t0 = rdtsc();
    for (u32 t = first; t < end; t++)
        fz_trial(t, replay != 0);
    u64 ticks = rdtsc() - t0;
    fz_restore();
    u32 n = fz.trials ? fz.trials : 1;
    printf("fuzz: %u trials, %u disagreements (%u explained), %u entered, %u not entered, "
           "%u priority probes (%u agreed), %u announced, %u kept from a host check Bochs "
           "skips\n", fz.trials, fz.diffs, fz.explained, fz.entered, fz.not_entered, fz.probes,
           fz.probes_ok, fz.risky, fz.known_skips);
    printf("fuzz: %u entries' saved state checked against what they loaded, %u differ\n",
           fz.entered - fz.other_exits, fz.state_diffs);
    if (fz.other_exits)
        printf("fuzz: %u entries exited for another reason than the timer (the last: %u)\n",
               fz.other_exits, fz.other_reason);
    printf("fuzz: %llu TSC ticks per trial: %llu generating, %llu the model, %llu the L0 and "
           "putting back\n", udiv64(ticks, n, NULL), udiv64(fz.ticks_gen, n, NULL),
           udiv64(fz.ticks_model, n, NULL), udiv64(fz.ticks_l0, n, NULL));
    if (!replay)
        fz_coverage();
    if (fz.diffs > fz.explained)
        outcome_fail(o, "%u disagreements with the model (DIFF lines above)",
                     fz.diffs - fz.explained);
    else if (fz.explained)
        outcome_xfail(o, "%u disagreements, each a known %s deviation (DIFF lines)",
                      fz.explained, l0_bochs_names(BOCHS_2_7_AND_3_0));
}

VMX_TEST_ALL_CPUS("vmx/fuzz-entry", fz_run);
