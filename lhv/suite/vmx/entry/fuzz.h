/* vmx/fuzz-entry (issue 18), the VM-entry fuzzer (docs/fuzzing.md, "The
 * VM-entry fuzzer"): what its files share. fuzz.c: the run (the base state,
 * coverage, the test); fuzz_fields.c: what a field is to the fuzzer, the
 * model's view of this CPU; fuzz_bochs.c: the L0 deviations it knows;
 * fuzz_mutate.c: the generator, mutations, aims, the search of bits, a
 * trial's case; fuzz_trial.c: one trial
 * (apply, enter, the state after entry, put back), minimisation. */
#ifndef LHV_SUITE_VMX_ENTRY_FUZZ_H
#define LHV_SUITE_VMX_ENTRY_FUZZ_H

#include "suite/vmx_test.h"
#include "vmx/entry_checks.h"
#include "vmx/vmx.h"

/* What a mutated field means for entering (fz_class) */
enum {
    FZ_HOST = 1,   /* host state, VM-exit controls and MSR areas: loaded at the exit */
    FZ_ADDR = 2,   /* an address the guest would use after entry */
    FZ_LINGER = 4, /* what the exit does not restore (guest MSRs, VM-entry controls) */
    FZ_GUEST = 8,  /* guest state an injected event is delivered through */
    FZ_COUNT = 16, /* an MSR-area count: 0 to 4 entries, never more (the areas hold 4) */
};

/* --- the run's state (fuzz.c) ---------------------------------------------- */

/* The MSR areas: VM-entry MSR-load (one entry in the base: IA32_KERNEL_GS_BASE
 * with its value, loaded at each entry), VM-exit MSR-store and MSR-load
 * (count 0 in the base; 4 valid entries each, for counts mutated to 1-4) */
#define FZ_AREA 4
struct msr_entry {
    u32 index, reserved;
    u64 value;
};
extern struct msr_entry fz_load[FZ_AREA], fz_store[FZ_AREA], fz_xload[FZ_AREA];
extern u64 fz_kgs; /* the host's IA32_KERNEL_GS_BASE */

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

/* What the fuzzer knows of one valid base state (fz_basis_build) */
#define FZ_SAVED_MAX 64
struct fz_basis {
    struct ecm_vmcs base;
    struct ecm_deps deps;
    u32 base_rd[ECM_MAX_CHECKS][ECM_SLOTS / 32]; /* the mutable slots each check reads on it */
    u16 table[ECM_MAX_CHECKS]; /* the checks its first trials aim at (fz_gen) */
    u32 ntable;
    /* the mutable fields each check reads on it (slots): check i's are
     * read_pool[read_first[i] .. read_first[i + 1]) */
    u16 read_first[ECM_MAX_CHECKS + 1];
    u16 read_pool[4096];
    u64 saved[FZ_SAVED_MAX]; /* fz_saved_field's values: put back after an entry */
};

struct fz_state {
    /* the valid bases: LHV's test guest, and the real-mode guest under
     * "unrestricted guest" where the CPU allows it; b: the trial's */
    struct fz_basis bases[2], *b;
    u32 nbases;
    struct ecm_vmcs img, orig; /* the trial's image; the VMCS before the run */
    struct ecm_caps k;
    struct ecm_cpu p;
    struct ecm_result r;
    u32 disabled[ECM_WORDS];
    u8 has[ECM_SLOTS]; /* the field exists in this VMCS and may be mutated */
    u8 cls[ECM_SLOTS]; /* fz_class of each such field */
    u32 hasm[ECM_SLOTS / 32];                    /* has[] as a bitmap */
    u32 walk_missed[ECM_WORDS]; /* the table's walks did not make these fail */
    u32 no_field[ECM_WORDS];    /* it reads a field this VMCS lacks (fz_needs_missing_field) */
    u32 fields[FZ_MAX_MUTS], nf; /* the trial's VMCS fields (fz_apply), for ecm_predict_delta */
    bool mem;                    /* and whether it changed the MSR-load area */
    u32 pass[ECM_MAX_CHECKS], fail[ECM_MAX_CHECKS]; /* per check (fz_counts) */
#define FZ_PLANES 32 /* lhv.fuzz is at most 10^9 */
    u32 hits[ECM_WORDS][FZ_PLANES], fails[ECM_WORDS][FZ_PLANES]; /* bit-sliced counts */
    u32 trials, entered, not_entered, diffs, explained, probes, probes_ok, risky, announced;
    u32 known_skips; /* not entered: the L0 would skip the host check (fz_gate) */
    bool blind;      /* the model read memory LHV does not map (fz_read) */
    u32 other_exits, other_reason; /* entries whose first exit was not the timer's */
    bool timer_exit;               /* the last entry's exit was the timer's */
    u32 state_field, state_diffs;  /* fz_state_check's answer; trials it failed */
    u32 known_quiet[ECM_MAX_CHECKS + 1]; /* known disagreements by deciding check, past the
                                        FZ_KNOWN_SHOWN printed (fz_trial) */
    u32 bochs_shadow_runs;         /* entries that ran guest code first (fz_bochs_shadow_runs) */
    u32 bochs_real_cs;             /* entries whose CS Bochs made a data segment (fz_bochs_real_cs) */
    u32 bochs_panics;              /* not entered: Bochs would end (fz_bochs_panics) */
    u32 bochs_injects_other;       /* not entered: Bochs would end (fz_bochs_injects_other) */
    u64 state_loaded, state_saved;
    u64 ticks_gen, ticks_model, ticks_l0;
    struct vcpu *v;
};
extern struct fz_state fz;

/* The guest-state fields a VM exit saves that this VMCS has (their base
 * values in fz_basis.saved): put back after an entry that succeeded */
extern u32 fz_saved_field[], fz_nsaved;

/* Here, inline: the mutations and the state check call these per field,
 * from two files */

/* Bits a field holds: 16, 64, 32 or the natural width */
static inline __attribute__((always_inline)) u32 fz_bits(u32 f)
{
    static const u8 w[4] = {16, 64, 32, sizeof(long) * 8};
    return w[(f >> 13) & 3];
}

static inline __attribute__((always_inline)) u64 fz_mask(u32 f)
{
    u32 b = fz_bits(f);
    return b >= 64 ? ~0ull : (1ull << b) - 1;
}

/* What a mutable field is (fz_class, from the table fz_setup fills) */
static inline __attribute__((always_inline)) u32 fz_cls(u32 f) { return fz.cls[ecm_slot(f)]; }

/* fuzz_fields.c */
u32 fz_class(u32 f);
u32 fz_enc(u32 slot);
void fz_caps(struct ecm_caps *k);
void fz_cpu(struct ecm_cpu *p);
void fz_print(char *buf, size_t n, const struct ecm_outcome *o);

/* fuzz_bochs.c */
bool fz_bochs_other_unchecked(const struct ecm_vmcs *img);
bool fz_bochs_predict(const struct ecm_vmcs *img, struct ecm_result *r);
bool fz_bochs_known(const char *id, const struct ecm_outcome *got,
                    const struct ecm_vmcs *img);

/* fuzz_trial.c */
#define FZ_KNOWN_SHOWN 3 /* DIFF lines printed of each check's known disagreements */
void fz_known_quiet_line(void);

/* fuzz_mutate.c */
u32 *fz_word(u32 i);
void fz_unmutate_image(const struct fz_case *c);
void fz_gen(u32 t, u32 ix, struct fz_case *c);
u32 fz_sweep_trials(void); /* seed 0's trials: each single-bit change, on each base */
/* Trial t's base (fz_use_basis), *ix its number among that base's trials */
u32 fz_basis_of(u32 t, u32 *ix);
void fz_use_basis(u32 k);

/* fuzz_trial.c */
void fz_spin(void);
enum exit_action fz_stop(struct vcpu *v, u32 reason);
void fz_trial(u32 t, bool replay);
void fz_counts(void);

#endif
