/* An executable model of the checks VMLAUNCH and VMRESUME make (SDM Vol.
 * 3C chapter 27 "VM Entries": 27.1 basic checks, 27.2 controls and host
 * state, 27.3.1 guest state, 27.4 MSR loading). Pure: it reads only the
 * VMCS image, the capability MSRs and the processor facts it is given, and
 * memory through the caller's callback. Built into LHV (both subarchs) and
 * on the host for the unit tests (tests/unit/test_entry_checks.c).
 *
 * ecm_checks[] is the single source of truth: one row per rule, with a
 * stable id, its SDM section and the outcome a failure produces;
 * docs/entry-checks.md is generated from it. */
#ifndef LHV_VMX_ENTRY_CHECKS_H
#define LHV_VMX_ENTRY_CHECKS_H

#include "types.h"
#include "vmcs.h"

/* VMCS fields the checks read that vmcs.h does not name (SDM 3D app. B) */
enum {
    ECM_POSTED_INTR_NV = 0x0002,
    ECM_PML_ADDRESS = 0x200e,
    ECM_APIC_ACCESS_ADDR = 0x2014,
    ECM_POSTED_INTR_DESC = 0x2016,
    ECM_VM_FUNCTION_CONTROL = 0x2018,
    ECM_EPTP_LIST_ADDR = 0x2024,
    ECM_VE_INFO_ADDR = 0x202a,
    ECM_SPPTP = 0x2030,
    ECM_GUEST_PERF_GLOBAL_CTRL = 0x2808,
    ECM_GUEST_BNDCFGS = 0x2812,
    ECM_HOST_PERF_GLOBAL_CTRL = 0x2c04,
};

/* A VMCS image: every field by its encoding. The slot is built from the
 * encoding's width (bits 14:13), type (11:10) and index (bits 5:1 of
 * 9:1); every field LHV knows has an index below 32. Only full-width
 * encodings (access type 0) are stored. */
#define ECM_SLOTS 512
struct ecm_vmcs {
    u64 f[ECM_SLOTS];
};

static inline bool ecm_field_ok(u32 enc)
{
    return !(enc & 1) && ((enc >> 1) & 0x1ff) < 32 && enc < 0x8000 && ((enc >> 12) & 1) == 0;
}
static inline __attribute__((always_inline)) u32 ecm_slot(u32 enc)
{
    return ((enc >> 13) & 3) << 7 | ((enc >> 10) & 3) << 5 | ((enc >> 1) & 0x1f);
}
static inline __attribute__((always_inline)) u64 ecm_get(const struct ecm_vmcs *v, u32 enc) { return v->f[ecm_slot(enc)]; }
static inline __attribute__((always_inline)) void ecm_put(struct ecm_vmcs *v, u32 enc, u64 val) { v->f[ecm_slot(enc)] = val; }

/* The capability MSRs as read (A.1-A.11). pin/proc/exit/entry: the TRUE
 * MSR when basic bit 55 is 1, else the plain one (low half: allowed
 * 0-settings, high half: allowed 1-settings). */
struct ecm_caps {
    u64 basic, pin, proc, proc2, exit, entry, misc;
    u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1, ept_vpid, vmfunc;
};

/* Processor facts the checks read beyond the VMCS */
struct ecm_cpu {
    u8 maxphyaddr;         /* CPUID.80000008H:EAX[7:0] */
    u8 linear_bits;        /* 48, or 57 with 5-level paging: canonical width */
    bool intel64;          /* the processor supports Intel 64 (CPUID.80000001H:EDX.LM) */
    bool ia32e;            /* it is in IA-32e mode when it executes VMLAUNCH/VMRESUME */
    bool vmresume;         /* the instruction is VMRESUME (else VMLAUNCH) */
    bool launched;         /* launch state of the current VMCS */
    bool movss_blocking;   /* the instruction follows a MOV SS (events blocked) */
    bool rtm, sgx;         /* CPUID.(7,0):EBX bits 11 and 2 */
    bool cet_ss;           /* CPUID.(7,0):ECX bit 7: CET shadow stacks */
    bool cet;              /* CET_SS or CPUID.(7,0):EDX bit 20 (CET_IBT): #CP exists */
    u64 efer_valid;        /* IA32_EFER bits that are not reserved */
    u64 debugctl_valid;    /* IA32_DEBUGCTL bits that are not reserved */
    u64 perf_global_valid; /* IA32_PERF_GLOBAL_CTRL bits that are not reserved */
    /* Physical memory as the processor reads it: false when nothing is
     * there (the model then sees all-ones bytes, what a read of unbacked
     * memory returns on a PC). */
    bool (*read)(const void *ctx, u64 pa, void *buf, u32 len);
    /* WRMSR of value to msr at CPL 0 would not fault (27.4) */
    bool (*wrmsr_ok)(const void *ctx, u32 msr, u64 value);
    const void *ctx;
    /* Checks taken out of the model (bit per ecm_checks index; NULL: none):
     * they hold whatever the state (the fuzzer's lhv.fuzz.break) */
    const u32 *disabled;
};

/* What VMLAUNCH/VMRESUME does */
enum ecm_kind {
    ECM_ENTRY = 0,     /* VM entry succeeds */
    ECM_VMFAIL = 1,    /* VMfailValid, code = VM-instruction error number */
    ECM_EXIT_FAIL = 2, /* VM-entry failure exit: code = basic exit reason, qual */
    ECM_UNDEFINED = 3, /* the SDM leaves the behaviour undefined: anything goes */
};

struct ecm_outcome {
    u8 kind;
    u32 code;
    u64 qual;
};

/* The stages of 27.1-27.4 in the order the SDM fixes between them */
enum ecm_stage { ECM_BASIC, ECM_CTL, ECM_HOST, ECM_GUEST, ECM_MSR };
enum ecm_how { ECM_NORMAL, ECM_IMPL, ECM_UNDEF };

struct ecm_ctx;
struct ecm_check {
    const char *id;  /* stable: group.field.rule */
    const char *sdm; /* section of SDM 3C */
    u8 stage;        /* enum ecm_stage */
    u8 error;        /* VMfailValid error (ECM_BASIC) */
    u8 qual;         /* exit qualification (ECM_GUEST) */
    u8 how;          /* ECM_NORMAL, ECM_IMPL (a CPU may or may not fail it), or
                        ECM_UNDEF (the SDM leaves the behaviour undefined) */
    bool (*holds)(const struct ecm_ctx *c);
#ifdef LHV_HOST_TEST
    const char *text; /* the rule, one line: only the host build, which
                         writes docs/entry-checks.md, has it */
#endif
};

extern const struct ecm_check ecm_checks[];
extern const u32 ecm_nchecks;

#define ECM_MAX_CHECKS 192
#define ECM_WORDS ((ECM_MAX_CHECKS + 31) / 32)
#define ECM_RD_WORDS (ECM_SLOTS / 64 + 1)
#define ECM_MAX_ALT 6
#define ECM_NONE 0xffffu

struct ecm_result {
    struct ecm_outcome outcome; /* the prediction: first failing check in table order */
    u16 check;                  /* index in ecm_checks of that check, ECM_NONE on entry */
    u8 nalt;                    /* every outcome the SDM allows (outcome among them) */
    struct ecm_outcome alt[ECM_MAX_ALT];
    u32 failed[ECM_WORDS];    /* every check that failed */
    u32 evaluated[ECM_WORDS]; /* every check evaluated (ecm_predict: all) */
};

/* Which checks read which fields, on one base state (ecm_deps_build): a
 * check that reads none of the fields changed since the base keeps its
 * base result, so ecm_predict_delta evaluates only the others. Exact, not
 * a guess: a check is a function of what it reads, and the reads are
 * recorded as the check runs on the base (a field it does not read there,
 * e.g. behind a control that is 0, cannot change its result until what it
 * did read changes). */
#define ECM_VSLOTS 8 /* values derived from a field or two (ecm_setup's): proc2 as
                        in effect, unrestricted guest, host address-space size,
                        IA-32e mode guest, virtual-8086, and the injected event's
                        valid bit, type and vector */
struct ecm_deps {
    /* the checks reading each slot ([ECM_SLOTS]: memory), where a check
     * that reads a derived value depends on that value ([ECM_SLOTS + 1 +
     * k]), not on the fields it comes from: changing a control bit that
     * does not change it (e.g. one of the secondary controls but
     * unrestricted guest) leaves such a check's result as it was */
    u32 by_slot[ECM_SLOTS + 1 + ECM_VSLOTS][ECM_WORDS];
    u32 reads[ECM_SLOTS][ECM_WORDS]; /* the fields each check reads on the base, as read */
    u32 base_failed[ECM_WORDS];      /* the checks the base fails */
    u32 always[ECM_WORDS];           /* the 27.1 checks (processor state) */
    u32 base_derived[ECM_VSLOTS];    /* the derived values on the base */
};

/* Predicts VMLAUNCH/VMRESUME of image v on a CPU with caps and cpu. */
void ecm_predict(const struct ecm_vmcs *v, const struct ecm_caps *caps, const struct ecm_cpu *cpu,
                 struct ecm_result *r);
/* The dependencies of every check on base (caps and cpu as given; cpu's
 * launch state and MOV SS blocking may change later) */
void ecm_deps_build(const struct ecm_vmcs *base, const struct ecm_caps *caps,
                    const struct ecm_cpu *cpu, struct ecm_deps *d);
/* ecm_predict of v, which differs from d's base only in the n fields
 * listed and, when memory is true, in the memory the checks read: the
 * same result, from evaluating only the checks that read those */
void ecm_predict_delta(const struct ecm_vmcs *v, const struct ecm_caps *caps,
                       const struct ecm_cpu *cpu, const struct ecm_deps *d, const u32 *fields,
                       u32 n, bool memory, struct ecm_result *r);
/* Whether check holds on v, with the slots it read (ECM_RD_WORDS words:
 * bit ecm_slot(field) per field, bit ECM_SLOTS for memory; rd NULL: not
 * tracked, cheaper) */
bool ecm_check_reads(const struct ecm_vmcs *v, const struct ecm_caps *caps,
                     const struct ecm_cpu *cpu, u32 check, u64 *rd);
/* Whether the SDM allows outcome o for the predicted VMCS */
bool ecm_acceptable(const struct ecm_result *r, const struct ecm_outcome *o);
static inline bool ecm_failed(const struct ecm_result *r, u32 check)
{
    return (r->failed[check / 32] >> (check % 32)) & 1;
}
/* Index of the check with this id, ECM_NONE if none */
u32 ecm_find(const char *id);

#endif
