/* vmx/fuzz-entry (fuzz.h): the Bochs deviations the fuzzer knows, each
 * traced to the Bochs function that causes it (docs/l0-deviations.md), and
 * how a disagreement is explained by them. */
#include "cpu.h"
#include "string.h"
#include "x86.h"
#include "fuzz.h"

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
 *   exempts an unusable SS only: explained when the model, the trial's SS
 *   put back, allows what Bochs did (an entry, or an MSR-loading failure
 *   after it: seed 1 trial 167010 at 200,000 trials);
 * - ctl.inject.type and ctl.inject.vector, for type 7 (other event) on a
 *   CPU without MTF: VMenterLoadCheckVmControls lets any such event
 *   through (fuzz_trial.c, fz_bochs_injects_other);
 * - guest.intr.virtual_nmi: an injected NMI with virtual NMIs and blocking
 *   by NMI enters (the check is commented out in VMenterLoadCheckVmControls;
 *   Bochs restored it after 3.0, commit 203b044f5, issues #626 and #648);
 * - guest.activity.event in the HLT state: VMenterLoadCheckGuestState
 *   checks the injected event against the shutdown and wait-for-SIPI
 *   states only (27.3.1.5 allows HLT external interrupts, NMIs, #DB, #MC
 *   and MTF), and in the shutdown state lets any event with vector 18
 *   through, not a hardware exception alone. */
static const char *const fz_skipped[] = {
    "guest.rip.canonical", "guest.pending_dbg.bs_set", "guest.pending_dbg.bs_clear",
    "guest.pending_dbg.reserved", "guest.perf_global_ctrl.reserved", "host.cr4.cet_wp",
    "ctl.inject.error_code_bit", "host.perf_global_ctrl.reserved", "ctl.entry.smm",
    "ctl.inject.type", "ctl.inject.vector", "guest.activity.event", "guest.intr.virtual_nmi",
};

/* Whether img injects an event of type 7 on a CPU without MTF, which
 * Bochs lets through whatever its vector */
bool fz_bochs_other_unchecked(const struct ecm_vmcs *img)
{
    u32 info = (u32)ecm_get(img, VM_ENTRY_INTR_INFO_FIELD);
    return (info >> 31) && ((info >> 8) & 7) == 7 && !((fz.k.proc >> 32) & CPU_MONITOR_TRAP_FLAG);
}

/* Whether Bochs lets img's injected event into its activity state
 * unchecked (fz_skipped: guest.activity.event) */
static bool fz_bochs_event_unchecked(const struct ecm_vmcs *img)
{
    u64 act = ecm_get(img, GUEST_ACTIVITY_STATE);
    return act == 1 || (act == 2 && (ecm_get(img, VM_ENTRY_INTR_INFO_FIELD) & 0xff) == 18);
}

/* The model's prediction for img with the checks Bochs skips taken out
 * (those that fail here); false when none of them fails */
bool fz_bochs_predict(const struct ecm_vmcs *img, struct ecm_result *r)
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
        if ((!strcmp(fz_skipped[j], "ctl.inject.type") ||
             !strcmp(fz_skipped[j], "ctl.inject.vector")) && !fz_bochs_other_unchecked(img))
            continue; /* type 1 (reserved), vectors of other types: Bochs checks them */
        if (!strcmp(fz_skipped[j], "guest.activity.event") &&
            !fz_bochs_event_unchecked(img))
            continue;
        fz.disabled[i / 32] |= 1u << (i % 32);
        any = true;
    }
    if (any) /* img differs from the base in the trial's fields (fz_apply) */
        ecm_predict_delta(img, &fz.k, &fz.p, &fz.b->deps, fz.fields, fz.nf, fz.mem, r);
    memcpy(fz.disabled, saved, sizeof(saved));
    return any;
}

/* Bochs 2.7's own CS check (VMenterLoadCheckGuestState): a code CS's RPL
 * equal to its DPL (at least it, conforming). 27.3.1.2 checks CS.DPL
 * against SS.DPL, not CS.RPL, and with "unrestricted guest" nothing ties
 * CS.RPL to SS.RPL either (Bochs 3.0 has no such check): an exit 33 where
 * the model found no guest-state check failing, VMfail outranking it */
static bool fz_bochs27_cs_rpl(const struct ecm_vmcs *img, const struct ecm_outcome *got)
{
    u32 ar = (u32)ecm_get(img, GUEST_CS_AR_BYTES), rpl = ecm_get(img, GUEST_CS_SELECTOR) & 3;
    u32 dpl = (ar >> 5) & 3;
    bool code = (ar & 0x18) == 0x18, conforming = (ar >> 2) & 1;
    return l0_bochs_deviates(BOCHS_2_7_ONLY) && code && (conforming ? rpl < dpl : rpl != dpl) &&
           got->kind == ECM_EXIT_FAIL && got->code == EXIT_REASON_INVALID_GUEST_STATE &&
           got->qual == 0 && fz.r.outcome.kind != ECM_VMFAIL;
}

/* Bochs checks the VMCS's linear addresses at the width of the paging it
 * runs (IsCanonical, cpu/cpu.h: linaddr_width, from CR4.LA57), a 4-level
 * host: 48 bits. A processor with 5-level paging checks such addresses
 * (bases, MSR values) at its own width, 57, whatever CR4.LA57 says (the
 * 5-level paging specification; KVM models it so: x86.h,
 * is_noncanonical_msr_address). Seen on Bochs 3.0 sapphire_rapids: an FS
 * base of 0x800000000000 canonical to the model, exit 33 on Bochs; an
 * MSR-load entry's IA32_KERNEL_GS_BASE with bit 48 set, exit 34 (WRMSR's
 * check, the same width). */
static bool fz_bochs_width48(const struct ecm_vmcs *img, const struct ecm_outcome *got)
{
    static struct ecm_result r; /* off the stack */
    u8 width = fz.p.linear_bits;

    if (width <= 48 || (read_cr4() & CR4_LA57) || !l0_bochs_deviates(BOCHS_2_7_AND_3_0))
        return false;
    fz.p.linear_bits = 48; /* the WRMSR oracle's too (fz_wrmsr_ok) */
    ecm_predict(img, &fz.k, &fz.p, &r);
    fz.p.linear_bits = width;
    return ecm_acceptable(&r, got);
}

bool fz_bochs_known(const char *id, const struct ecm_outcome *got,
                    const struct ecm_vmcs *img)
{
    static struct ecm_vmcs fixed; /* 4 KiB: off the stack */
    struct ecm_result r;
    u64 mult = 0;

    if (got->kind == ECM_EXIT_FAIL && !strcmp(id, "ctl.entry.smm") &&
        got->code == EXIT_REASON_INVALID_GUEST_STATE && got->qual == 0)
        return true; /* Bochs' own SMM check, among the guest-state checks */
    if (fz_bochs27_cs_rpl(img, got))
        return true;
    if (got->kind == ECM_VMFAIL && got->code == 7 &&
        (ecm_get(img, CPU_BASED_VM_EXEC_CONTROL) & CPU_ACTIVATE_SECONDARY_CONTROLS) &&
        (ecm_get(img, SECONDARY_VM_EXEC_CONTROL) & CPU2_USE_TSC_SCALING) &&
        vmr_safe(TSC_MULTIPLIER, &mult) == VMX_OK && mult == 0)
        return true;
    if (fz_bochs_width48(img, got))
        return true;
    fz.blind = false;
    if (fz_bochs_predict(img, &r)) {
        if (ecm_acceptable(&r, got))
            return true;
        /* past the skipped checks the model reached an MSR it cannot judge
         * (fz_wrmsr_ok): loading it may fail (exit 34) or not */
        if (fz.blind && r.outcome.kind == ECM_ENTRY &&
            (got->kind == ECM_ENTRY || (got->kind == ECM_EXIT_FAIL &&
                                        got->code == EXIT_REASON_MSR_LOADING)))
            return true;
    }
    if (!(ecm_get(img, VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST) ||
        !(ecm_get(img, GUEST_CS_AR_BYTES) & (1u << 13)) || (ecm_get(img, GUEST_SS_SELECTOR) & 3))
        return false;
    fixed = *img;
    ecm_put(&fixed, GUEST_SS_SELECTOR, ecm_get(&fz.b->base, GUEST_SS_SELECTOR));
    ecm_put(&fixed, GUEST_SS_BASE, ecm_get(&fz.b->base, GUEST_SS_BASE));
    ecm_put(&fixed, GUEST_SS_LIMIT, ecm_get(&fz.b->base, GUEST_SS_LIMIT));
    ecm_put(&fixed, GUEST_SS_AR_BYTES, ecm_get(&fz.b->base, GUEST_SS_AR_BYTES));
    ecm_predict(&fixed, &fz.k, &fz.p, &r);
    return ecm_acceptable(&r, got);
}
