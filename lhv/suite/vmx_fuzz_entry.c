/* vmx/fuzz-entry (issue 18 section 2, a first cut): the VM-entry check
 * model (lhv/vmx/entry_checks.c) held against the L0, trial by trial, on
 * CPU 0. Each trial starts from the fresh test guest (valid), reads every
 * field the model knows into its image, flips 1-3 bits of control or
 * guest-state fields (in the VMCS and the image), asks the model, enters
 * with the VMX-preemption timer at 0 (the guest exits before its first
 * instruction, SDM 3C 26.5.1) and compares outcome class, error number,
 * exit reason and qualification. A disagreement prints
 * "DIFF: fuzz seed=S trial=T field=F bit=B value=V ... model=... l0=...".
 * lhv.fuzz=N sets the number of trials (default 300), lhv.fuzz.seed=S
 * the seed (default 1): the same seed gives the same trials, each drawn
 * from the seed and its number alone, so lhv.fuzz.replay=S:T runs trial T
 * by itself and prints it in full (every failing check, every outcome the
 * SDM allows, what the L0 did).
 *
 * What this cut leaves out (the host must survive every trial): host-state
 * fields and the VM-exit controls are not mutated (a wrong prediction
 * would load a broken host at the exit), nor the MSR-area counts (the
 * areas would be read and written at address 0). A state the model says
 * enters is not entered when the mutation touched what the exit does not
 * restore (guest IA32_EFER, IA32_PAT, IA32_PERF_GLOBAL_CTRL, IA32_BNDCFGS,
 * the VM-entry controls) or when it waits for SIPI (the timer does not run
 * there); those trials count as "not entered". */
#include "catch.h"
#include "console.h"
#include "cpu.h"
#include "div64.h"
#include "emulator.h"
#include "string.h"
#include "vmx_test.h"
#include "vmx/entry_checks.h"
#include "vmx/vmx.h"
#include "x86.h"


/* The fields the model reads: the image is filled from the VMCS (a field
 * the CPU does not have reads as 0) */
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

/* Not mutated (see the top): host state, VM-exit controls, MSR-area counts,
 * IA32_DEBUGCTL (its valid bits are model-specific) */
static bool fz_mutable(u32 f)
{
    if (((f >> 10) & 3) == 3 || f == VM_EXIT_CONTROLS)
        return false;
    return f != VM_EXIT_MSR_STORE_COUNT && f != VM_EXIT_MSR_LOAD_COUNT &&
           f != VM_ENTRY_MSR_LOAD_COUNT && f != HOST_IA32_PAT && f != HOST_IA32_EFER &&
           f != ECM_HOST_PERF_GLOBAL_CTRL && f != GUEST_IA32_DEBUGCTL;
}

/* What the exit does not restore: a state the model says enters is not
 * entered after such a mutation */
static bool fz_lingers(u32 f)
{
    return f == GUEST_IA32_EFER || f == GUEST_IA32_PAT || f == ECM_GUEST_PERF_GLOBAL_CTRL ||
           f == ECM_GUEST_BNDCFGS || f == VM_ENTRY_CONTROLS;
}

/* Bits a field holds: 16, 32, 64 or the natural width */
static u32 fz_bits(u32 f)
{
    static const u8 w[4] = {16, 64, 32, sizeof(long) * 8};
    return w[(f >> 13) & 3];
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

static u64 fz_next(void)
{
    fz_rng ^= fz_rng << 13;
    fz_rng ^= fz_rng >> 7;
    fz_rng ^= fz_rng << 17;
    return fz_rng;
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
 * that faults) reads as nothing */
static bool fz_read(const void *ctx, u64 pa, void *buf, u32 len)
{
    struct fz_copy c = {pa, buf, len};
    struct caught e;
    (void)ctx;
    if (pa + len > (1ull << 32) || pa + len < pa)
        return false;
    return catch_exception(fz_do_copy, &c, &e) == NO_EXCEPTION;
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
     * field is not mutated (fz_mutable) */
    p->debugctl_valid = 0x3;
    p->perf_global_valid = fz_perf_global_valid();
    p->read = fz_read;
}

static void fz_image(struct ecm_vmcs *img)
{
    memset(img, 0, sizeof(*img));
    for (u32 i = 0; i < ARRAY_SIZE(fz_fields); i++) {
        u64 v = 0;
        if (vmr_safe(fz_fields[i], &v) != VMX_OK)
            v = 0;
        ecm_put(img, fz_fields[i], v);
    }
}

/* --- one trial ------------------------------------------------------------ */

static enum exit_action fz_stop(struct vcpu *v, u32 reason)
{
    (void)v;
    (void)reason;
    return EXIT_STOP;
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

/* One mutation: a bit of a field flipped */
struct fz_mut {
    u32 field, bit;
    u64 value;
};

#define FZ_MAX_MUTS 3

/* The first trial's state before its mutation: the fields vcpu_init does
 * not write keep what a trial left in this CPU's VMCS, so the run puts them
 * back for the tests after it (fz_restore); fz_bochs_known compares with it */
static struct ecm_vmcs fz_base;

/* Bochs' deviations the fuzzer meets (2.7 and 3.0: docs/l0-deviations.md), each with its evidence in the
 * run (the outcome Bochs gave where the SDM, and the model, say otherwise):
 * - guest.rip.canonical: RIP bits 63:N not checked in 64-bit mode (the
 *   XFAIL of vmx/entry-checks-guest-state: Bochs' log shows the entry, then
 *   "#GP(0): RIP crossed canonical boundary");
 * - guest.pending_dbg.bs_set/bs_clear: no BS/TF check (vmx/events' XFAIL);
 * - guest.pending_dbg.reserved with only bits 63:32 set: entered (27.3.1.5
 *   reserves bits 63:17; found by this fuzzer, seed 1, amd64);
 * - guest.perf_global_ctrl.reserved: with "load IA32_PERF_GLOBAL_CTRL" it
 *   enters whatever the field's reserved bits (27.3.1.1; bits beyond
 *   CPUID.0AH's counters; seed 1, i386);
 * - ctl.entry.smm: "entry to SMM" outside SMM gives exit 33, not
 *   VMfailValid 7 (27.2.1.3; Bochs checks only the guest's blocking by SMI,
 *   in VMenterLoadCheckGuestState, cpu/vmx.cc; seed 7, amd64);
 * - SS in a 64-bit guest with SS.RPL 0: Bochs skips every SS check ("SS is
 *   allowed to be NULL selector", VMenterLoadCheckGuestState), the SDM
 *   exempts an unusable SS only: explained when the model enters once the
 *   trial's SS is put back (seed 7, amd64). */
static bool fz_bochs_known(const char *id, const struct ecm_outcome *got,
                           const struct ecm_vmcs *img, const struct ecm_caps *k,
                           const struct ecm_cpu *p)
{
    static struct ecm_vmcs fixed; /* 4 KiB: off the stack */
    struct ecm_result r;

    if (got->kind == ECM_EXIT_FAIL)
        return !strcmp(id, "ctl.entry.smm") && got->code == EXIT_REASON_INVALID_GUEST_STATE &&
               got->qual == 0;
    if (got->kind != ECM_ENTRY)
        return false;
    if (!strcmp(id, "guest.pending_dbg.reserved"))
        return (ecm_get(img, GUEST_PENDING_DBG_EXCEPTIONS) & 0xffffafffu & ~0xfull) == 0;
    if (!strcmp(id, "guest.rip.canonical") || !strcmp(id, "guest.pending_dbg.bs_set") ||
        !strcmp(id, "guest.pending_dbg.bs_clear") || !strcmp(id, "guest.perf_global_ctrl.reserved"))
        return true;
    if (!(ecm_get(img, VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST) ||
        !(ecm_get(img, GUEST_CS_AR_BYTES) & (1u << 13)) || (ecm_get(img, GUEST_SS_SELECTOR) & 3))
        return false;
    fixed = *img;
    ecm_put(&fixed, GUEST_SS_SELECTOR, ecm_get(&fz_base, GUEST_SS_SELECTOR));
    ecm_put(&fixed, GUEST_SS_BASE, ecm_get(&fz_base, GUEST_SS_BASE));
    ecm_put(&fixed, GUEST_SS_LIMIT, ecm_get(&fz_base, GUEST_SS_LIMIT));
    ecm_put(&fixed, GUEST_SS_AR_BYTES, ecm_get(&fz_base, GUEST_SS_AR_BYTES));
    ecm_predict(&fixed, k, p, &r);
    return r.outcome.kind == ECM_ENTRY;
}

struct fz_stats {
    u32 trials, entered, not_entered, diffs, explained;
    u16 hit_fail[ECM_MAX_CHECKS];
};

static struct fz_stats fz_stats;

/* Flips 1 to FZ_MAX_MUTS bits in the VMCS and the image; returns how many
 * (0: a field this CPU lacks) and whether one of them lingers past the exit */
static u32 fz_mutate(struct ecm_vmcs *img, struct fz_mut *m, bool *lingers)
{
    u32 n = 1 + (u32)fz_next() % FZ_MAX_MUTS;
    *lingers = false;
    for (u32 i = 0; i < n; i++) {
        u64 back = 0;
        do {
            m[i].field = fz_fields[(u32)fz_next() % ARRAY_SIZE(fz_fields)];
        } while (!fz_mutable(m[i].field));
        m[i].bit = (u32)fz_next() % fz_bits(m[i].field);
        m[i].value = ecm_get(img, m[i].field) ^ (1ull << m[i].bit);
        if (vmw_safe(m[i].field, m[i].value) != VMX_OK)
            return 0;
        vmr_safe(m[i].field, &back); /* the model sees what the VMCS holds */
        ecm_put(img, m[i].field, back);
        *lingers |= fz_lingers(m[i].field);
    }
    return n;
}

/* Whether to enter a state the model says enters: not when a mutation
 * lingers past the exit, in wait-for-SIPI (no timer exit there), nor when an
 * injected event (delivered before the timer exit) would push onto a stack
 * that more than one mutation may have moved */
static bool fz_safe(const struct ecm_vmcs *img, u32 n, bool lingers)
{
    if (lingers || ecm_get(img, GUEST_ACTIVITY_STATE) == 3)
        return false;
    return n == 1 || !(ecm_get(img, VM_ENTRY_INTR_INFO_FIELD) >> 31);
}

static void fz_diff(u32 t, const struct fz_mut *m, u32 n, const char *model, const char *id,
                    const char *l0, bool known)
{
    printf("DIFF: fuzz seed=%u trial=%u", suite_fuzz_seed(), t);
    for (u32 i = 0; i < n; i++)
        printf(" field=0x%04x bit=%u value=0x%llx", m[i].field, m[i].bit, m[i].value);
    printf(" model=%s (%s) l0=%s%s; replay: lhv.fuzz.replay=%u:%u\n", model, id, l0,
           known ? " [known Bochs deviation]" : "", suite_fuzz_seed(), t);
}

/* lhv.fuzz.replay: the trial in full, what the model and the L0 said */
static void fz_detail(u32 t, const struct fz_mut *m, u32 n, const struct ecm_vmcs *img,
                      const struct ecm_result *r, const struct ecm_outcome *got)
{
    char s[48] = "";

    printf("fuzz: replay seed=%u trial=%u: %u mutation(s)\n", suite_fuzz_seed(), t, n);
    for (u32 i = 0; i < n; i++)
        printf("fuzz:   field 0x%04x bit %u: 0x%llx -> 0x%llx\n", m[i].field, m[i].bit,
               ecm_get(&fz_base, m[i].field), ecm_get(img, m[i].field));
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
    fz_print(s, sizeof(s), got);
    printf("fuzz:   the L0: %s\n", got ? s : "not entered (the state would outlive the "
                                               "trial's exit, or it waits for SIPI)");
}


static void fz_restore(struct cpu_outcome *o)
{
    if (!test_guest(o))
        return;
    for (u32 i = 0; i < ARRAY_SIZE(fz_fields); i++)
        vmw_safe(fz_fields[i], ecm_get(&fz_base, fz_fields[i]));
}

/* Returns false after outcome_fail (setup broke) */
static bool fz_trial(struct cpu_outcome *o, u32 t, bool first, bool replay, struct ecm_vmcs *img,
                     const struct ecm_caps *k, const struct ecm_cpu *p)
{
    struct ecm_result r;
    struct ecm_outcome got = {ECM_ENTRY, 0, 0};
    struct fz_mut m[FZ_MAX_MUTS];
    struct vcpu *v = test_guest(o);
    char want_s[48], got_s[48];
    bool lingers;
    u32 n;

    if (!v)
        return false;
    v->hook = fz_stop;
    vmw_or(PIN_BASED_VM_EXEC_CONTROL, PIN_PREEMPTION_TIMER);
    vmw(VMX_PREEMPTION_TIMER_VALUE, 0);
    vcpu_set_call(v, guest_nothing, NULL);
    fz_image(img);
    if (first) { /* the valid start must be valid to the model too */
        fz_base = *img;
        ecm_predict(img, k, p, &r);
        if (r.outcome.kind != ECM_ENTRY) {
            outcome_fail(o, "the model rejects LHV's valid test guest: check %s",
                         ecm_checks[r.check].id);
            return false;
        }
    }
    fz_seed_trial(suite_fuzz_seed(), t);
    if (!(n = fz_mutate(img, m, &lingers))) {
        if (replay)
            printf("fuzz: replay seed=%u trial=%u: a field this CPU lacks (no trial)\n",
                   suite_fuzz_seed(), t);
        return true;
    }
    ecm_predict(img, k, p, &r);
    fz_stats.trials++;
    for (u32 i = 0; i < ecm_nchecks; i++)
        fz_stats.hit_fail[i] += ecm_failed(&r, i);
    if (r.outcome.kind == ECM_ENTRY && !fz_safe(img, n, lingers)) {
        fz_stats.not_entered++;
        if (replay)
            fz_detail(t, m, n, img, &r, NULL);
        return true;
    }
    struct run_result res = vcpu_continue(v);
    if (res.end == RUN_VMFAIL && res.vmfail == VMX_FAIL_VALID)
        got = (struct ecm_outcome){ECM_VMFAIL, res.vm_error, 0};
    else if (res.end == RUN_VMFAIL)
        got = (struct ecm_outcome){ECM_VMFAIL, 0, 0};
    else if (res.end == RUN_ENTRY_FAILURE)
        got = (struct ecm_outcome){ECM_EXIT_FAIL, res.exit_reason, res.qualification};
    else
        fz_stats.entered++;
    if (replay)
        fz_detail(t, m, n, img, &r, &got);
    if (ecm_acceptable(&r, &got))
        return true;
    fz_stats.diffs++;
    fz_print(want_s, sizeof(want_s), &r.outcome);
    fz_print(got_s, sizeof(got_s), &got);
    const char *id = r.check == ECM_NONE ? "-" : ecm_checks[r.check].id;
    bool known = l0_bochs_deviates(BOCHS_2_7_AND_3_0) && r.check != ECM_NONE &&
                 fz_bochs_known(id, &got, img, k, p);
    fz_stats.explained += known;
    fz_diff(t, m, n, want_s, id, got_s, known);
    return true;
}

static void fz_coverage(void)
{
    u32 hit = 0;
    for (u32 i = 0; i < ecm_nchecks; i++)
        hit += fz_stats.hit_fail[i] != 0;
    printf("fuzz: coverage: %u of %u checks failed at least once\n", hit, ecm_nchecks);
}

static void fz_run(struct cpu_outcome *o, void *arg)
{
    static struct ecm_vmcs img; /* 4 KiB: off the stack */
    struct ecm_caps k;
    struct ecm_cpu p;
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
    memset(&fz_stats, 0, sizeof(fz_stats));
    fz_caps(&k);
    fz_cpu(&p);
    u32 replay = suite_fuzz_replay(), first = replay ? replay - 1 : 0;
    u32 end = replay ? replay : suite_fuzz_trials();
    u64 t0 = rdtsc();
    for (u32 t = first; t < end; t++)
        if (!fz_trial(o, t, t == first, replay != 0, &img, &k, &p))
            return;
    fz_restore(o);
    printf("fuzz: %u trials, %u disagreements (%u explained), %u entered, %u not entered, "
           "%llu TSC ticks per trial\n",
           fz_stats.trials, fz_stats.diffs, fz_stats.explained, fz_stats.entered,
           fz_stats.not_entered, udiv64(rdtsc() - t0, fz_stats.trials ? fz_stats.trials : 1, NULL));
    fz_coverage();
    if (fz_stats.diffs > fz_stats.explained)
        outcome_fail(o, "%u disagreements with the model (DIFF lines above)",
                     fz_stats.diffs - fz_stats.explained);
    else if (fz_stats.explained)
        outcome_xfail(o, "%u disagreements, each a known %s deviation (DIFF lines)",
                      fz_stats.explained, l0_bochs_names(BOCHS_2_7_AND_3_0));
}

VMX_TEST_ALL_CPUS("vmx/fuzz-entry", fz_run);
