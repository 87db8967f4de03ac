/* VMREAD/VMWRITE by field width (SDM 3C 25.11.2) and writes to read-only
 * fields (IA32_VMX_MISC bit 29, appendix A.6). */
#include "alloc.h"
#include "catch.h"
#include "console.h"
#include "cpu.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

static void *scratch_vmcs[LHV_MAX_CPUS]; /* never launched: field tests */

/* --- VMREAD/VMWRITE by width ------------------------------------------- */

/* The instructions at the native operand size (64 bits in 64-bit mode, 32
 * outside IA-32e mode), the register destination preset to `*value`. */
static int vmread_reg(unsigned long field, unsigned long *value)
{
    unsigned long v = *value;
    u8 cf, zf;
    __asm__ volatile("vmread %3, %0\n\tsetc %1\n\tsetz %2"
                     : "+r"(v), "=qm"(cf), "=qm"(zf) : "r"(field) : "cc");
    *value = v;
    return VMX_STATUS(cf, zf);
}

static int vmread_mem(unsigned long field, unsigned long *value)
{
    u8 cf, zf;
    __asm__ volatile("vmread %3, %0\n\tsetc %1\n\tsetz %2"
                     : "+m"(*value), "=qm"(cf), "=qm"(zf) : "r"(field) : "cc");
    return VMX_STATUS(cf, zf);
}

static int vmwrite_raw(unsigned long field, unsigned long value)
{
    u8 cf, zf;
    __asm__ volatile("vmwrite %3, %2\n\tsetc %0\n\tsetz %1"
                     : "=qm"(cf), "=qm"(zf) : "r"(field), "r"(value) : "cc", "memory");
    return VMX_STATUS(cf, zf);
}

/* This CPU's never-launched VMCS, clear and current. */
static bool load_scratch(struct cpu_outcome *o)
{
    u32 i = this_cpu()->index;
    const char *why = vmx_unavailable();

    if (why) {
        outcome_skip(o, "%s", why);
        return false;
    }
    if (!scratch_vmcs[i])
        scratch_vmcs[i] = vmx_alloc_region();
    return insn_succeeds(o, "VMCLEAR of a new VMCS", vmx_vmclear((uintptr_t)scratch_vmcs[i])) &&
           insn_succeeds(o, "VMPTRLD of a new VMCS", vmx_vmptrld((uintptr_t)scratch_vmcs[i]));
}

/* Reads field into a register and into memory, both preset to the
 * complement of `expect`, and compares (shorter fields zero-extend). */
static bool reads(struct cpu_outcome *o, const char *what, unsigned long field,
                  unsigned long expect)
{
    unsigned long reg = ~expect, mem = ~expect;
    int st = vmread_reg(field, &reg);

    if (!insn_succeeds(o, what, st))
        return false;
    if (reg != expect) {
        outcome_fail(o, "%s: VMREAD of 0x%lx gave 0x%lx, expected 0x%lx", what, field, reg, expect);
        return false;
    }
    if (!insn_succeeds(o, what, vmread_mem(field, &mem)))
        return false;
    if (mem != expect) {
        outcome_fail(o, "%s: VMREAD of 0x%lx to memory gave 0x%lx, expected 0x%lx", what, field,
                     mem, expect);
        return false;
    }
    return true;
}

static bool round_trip(struct cpu_outcome *o, const char *what, unsigned long field,
                       unsigned long value, unsigned long expect)
{
    return insn_succeeds(o, what, vmwrite_raw(field, value)) && reads(o, what, field, expect);
}

/* Bochs 2.7 and 3.0 remove the encodings a model lacks from CPU 0's VMCS map only
 * (init_VMCS runs that pass once, behind a static flag, though every CPU
 * has its own map): on the other CPUs VMREAD/VMWRITE accept any encoding
 * whose reserved bits (31:15, 12) are clear. Recorded per CPU, reported as
 * XFAIL. */
static bool on_bochs;
static bool known_bug[LHV_MAX_CPUS];

static bool unsupported(struct cpu_outcome *o, const char *what, unsigned long field)
{
    unsigned long value = 0;
    u32 cpu = this_cpu()->index;
    char text[96];
    bool map_dependent = on_bochs && cpu != 0 && !(field & ~0x6ffful);

    /* Once the bug showed, probe no more such encodings there: Bochs then
     * dies on an assertion for a natural-width field's high encoding. */
    if (map_dependent && known_bug[cpu])
        return true;
    int st = vmread_reg(field, &value);
    if (st == VMX_OK && map_dependent) {
        known_bug[cpu] = true;
        outcome_xfail(o, "%s: VMCS encodings checked against CPU 0's map only: VMREAD of %s "
                      "(0x%lx) succeeded on CPU %u", l0_bochs_names(BOCHS_2_7_AND_3_0), what,
                      field, cpu);
        return true;
    }
    snprintf(text, sizeof(text), "VMREAD of %s (0x%lx)", what, field);
    if (!insn_fails_with(o, text, st, 12))
        return false;
    snprintf(text, sizeof(text), "VMWRITE of %s (0x%lx)", what, field);
    return insn_fails_with(o, text, vmwrite_raw(field, 0), 12);
}

#ifdef __x86_64__
#define NATURAL_PATTERN 0xfedcba9876543210ul
#define FULL_PATTERN 0x0123456789abcdeful
#define FULL_HIGH 0x01234567ul /* what the high access reads after FULL_PATTERN */
#define MIXED 0x7654321089abcdeful /* FULL_PATTERN with the high half rewritten */
#else
#define NATURAL_PATTERN 0x9abcdef0ul
#define FULL_PATTERN 0x89abcdeful
#define FULL_HIGH 0ul /* a 32-bit write of the full field clears the high half */
#define MIXED 0x89abcdeful /* the full access reads bits 31:0 only */
#endif

/* 25.11.2: a field shorter than the operand takes the low bits and reads
 * back zero-extended; a 64-bit field has a "high" encoding (bit 0) for bits
 * 63:32, and outside IA-32e mode the full encoding writes bits 31:0 and
 * clears 63:32. Unsupported encodings fail with error 12. */
static void check_widths(struct cpu_outcome *o, void *arg)
{
    u64 v64 = 0;
    (void)arg;

    if (!load_scratch(o))
        return;
    /* 16-bit: GUEST_ES_SELECTOR */
    if (!round_trip(o, "16-bit field", GUEST_ES_SELECTOR, 0x1234, 0x1234) ||
        !round_trip(o, "16-bit field written with all ones", GUEST_ES_SELECTOR, ~0ul, 0xffff))
        return;
    /* 32-bit: GUEST_ES_LIMIT */
    if (!round_trip(o, "32-bit field", GUEST_ES_LIMIT, 0x89abcdef, 0x89abcdef))
        return;
#ifdef __x86_64__
    if (!round_trip(o, "32-bit field written with 64 one bits", GUEST_ES_LIMIT, ~0ul,
                    0xffffffff))
        return;
#endif
    /* natural width: CR3_TARGET_VALUE0, as wide as the operand */
    if (!round_trip(o, "natural-width field", CR3_TARGET_VALUE0, NATURAL_PATTERN,
                    NATURAL_PATTERN) ||
        !round_trip(o, "natural-width field written with all ones", CR3_TARGET_VALUE0, ~0ul,
                    ~0ul))
        return;
    /* 64-bit: TSC_OFFSET, full and high encodings */
    if (!round_trip(o, "64-bit field (full)", TSC_OFFSET, FULL_PATTERN, FULL_PATTERN) ||
        !reads(o, "64-bit field (high half after a full write)", TSC_OFFSET | 1, FULL_HIGH) ||
        !round_trip(o, "64-bit field (high)", TSC_OFFSET | 1, 0xdeadbeef76543210ull & ~0ul,
                    0x76543210) ||
        !reads(o, "64-bit field (full after a high write)", TSC_OFFSET, MIXED) ||
        !insn_succeeds(o, "64-bit field (full rewrite)", vmwrite_raw(TSC_OFFSET, FULL_PATTERN)) ||
        !reads(o, "64-bit field (high half after the full rewrite)", TSC_OFFSET | 1, FULL_HIGH))
        return;
    /* LHV's accessors reach all 64 bits on both subarchs */
    if (!insn_succeeds(o, "vmw_safe of a 64-bit field", vmw_safe(TSC_OFFSET,
                                                                   0xfedcba9876543210ull)) ||
        !insn_succeeds(o, "vmr_safe of a 64-bit field", vmr_safe(TSC_OFFSET, &v64)))
        return;
    if (v64 != 0xfedcba9876543210ull) {
        outcome_fail(o, "vmr_safe of a 64-bit field gave 0x%llx, expected 0xfedcba9876543210",
                     v64);
        return;
    }

    /* Unsupported components (25.11.2: bits 31:15 and 12 reserved, bit 0
     * only for 64-bit fields; IA32_VMX_VMCS_ENUM bits 9:1 the highest index) */
    if (!unsupported(o, "a 32-bit field with the high access type", GUEST_ES_LIMIT | 1) ||
        !unsupported(o, "a natural-width field with the high access type", GUEST_CR0 | 1) ||
        !unsupported(o, "an encoding with reserved bit 12", GUEST_ES_SELECTOR | 0x1000) ||
        !unsupported(o, "an encoding with reserved bit 15", GUEST_ES_SELECTOR | 0x8000))
        return;
#ifdef __x86_64__
    if (!unsupported(o, "an encoding with bit 32 set", GUEST_ES_SELECTOR | (1ul << 32)))
        return;
#endif
    u32 max_index = (u32)(rdmsr(MSR_IA32_VMX_VMCS_ENUM) >> 1) & 0x1ff;
    if (max_index < 0x1ff &&
        !unsupported(o, "an index above IA32_VMX_VMCS_ENUM's highest", (max_index + 1) << 1))
        return;
}

/* Every encoding of index 0 to IA32_VMX_VMCS_ENUM's highest + 1, of each
 * width and type (25.11.2; the full access type): the fields VMREAD
 * accepts take a pattern of their own each, then each reads back its
 * pattern masked by its width (access rights: a CPU may drop reserved bits
 * 11:8 and 31:17, 25.4.1); exit-information fields only where IA32_VMX_MISC bit 29
 * lets VMWRITE write them. Some field has the highest index, none the next. */
#define FE_MAX 512
static u64 fe_pattern(u32 enc, u32 width)
{
    u64 v = 0x9e3779b97f4a7c15ull * (enc + 1);
    if (width == 0)
        return v & 0xffff;
    if (width == 2)
        return v & 0xffffffff;
    if (width == 3)
        return (unsigned long)v;
    return v;
}

static bool check_every_field(struct cpu_outcome *o)
{
    static u16 found[LHV_MAX_CPUS][FE_MAX];
    u16 *enc = found[this_cpu()->index];
    u32 max_index = (u32)(rdmsr(MSR_IA32_VMX_VMCS_ENUM) >> 1) & 0x1ff, n = 0, top = 0;
    bool any = vmx_caps.misc & VMX_MISC_VMWRITE_ANY;

    for (u32 index = 0; index <= max_index + 1 && index <= 0x1ff; index++)
        for (u32 wt = 0; wt < 16; wt++) {
            u32 e = (wt >> 2) << 13 | (wt & 3) << 10 | index << 1;
            unsigned long value = 0;
            if (vmread_reg(e, &value) != VMX_OK)
                continue;
            if (index > max_index)
                return outcome_fail(o, "VMREAD of 0x%x succeeded: index %u is above "
                                    "IA32_VMX_VMCS_ENUM's %u", e, index, max_index), false;
            top = index;
            if ((((e >> 10) & 3) != 1 || any) && n < FE_MAX) /* else vmx/vmwrite-read-only */
                enc[n++] = (u16)e;
        }
    /* written once the probing is over: a failed VMREAD sets the
     * VM-instruction error field */
    for (u32 i = 0; i < n; i++)
        if (!insn_succeeds(o, "VMWRITE of a field VMREAD reads",
                           vmw_safe(enc[i], fe_pattern(enc[i], enc[i] >> 13))))
            return false;
    for (u32 i = 0; i < n; i++) {
        u32 e = enc[i];
        u64 got = 0, want = fe_pattern(e, e >> 13);
        vmr_safe(e, &got);
        if (e >= GUEST_ES_AR_BYTES && e <= GUEST_TR_AR_BYTES && got == (want & 0x1f0ff))
            continue; /* reserved bits dropped (Bochs keeps them) */
        if (got != want)
            return outcome_fail(o, "field 0x%x reads 0x%llx, written 0x%llx", e, got,
                                fe_pattern(e, e >> 13)), false;
    }
    printf("vmx: CPU %u: %u fields written and read back, highest index %u\n",
           this_cpu()->index, n, top);
    if (top == max_index)
        return true;
    if (l0_bochs_deviates(BOCHS_2_7_AND_3_0))
        return outcome_xfail(o, "%s: IA32_VMX_VMCS_ENUM names index %u, no field has it (the "
                             "highest is %u)", l0_bochs_names(BOCHS_2_7_AND_3_0), max_index,
                             top), false;
    return outcome_fail(o, "the highest index of a field is %u, IA32_VMX_VMCS_ENUM says %u",
                        top, max_index), false;
}

static void run_widths(struct cpu_outcome *o, void *arg)
{
    known_bug[this_cpu()->index] = false;
    check_widths(o, arg);
    /* not where Bochs' map is CPU 0's (known_bug): every encoding is there */
    if (!o->failed && !o->skipped && !known_bug[this_cpu()->index])
        check_every_field(o);
}

VMX_TEST("vmx/vmread-vmwrite-widths", test_widths);
static void test_widths(const char *name)
{
    on_bochs = l0_bochs_deviates(BOCHS_2_7_AND_3_0);
    verdict_all_cpus(name, run_widths, NULL);
}

/* --- read-only fields --------------------------------------------------- */

struct ro_field {
    const char *name;
    u32 field;
    u64 value;
};

/* VM-exit information fields are read-only unless IA32_VMX_MISC bit 29
 * says VMWRITE may write any supported field (appendix A.6); otherwise
 * VMWRITE fails with error 13 and leaves the field alone (31.3). */
static void check_read_only(struct cpu_outcome *o, void *arg)
{
    static const struct ro_field fields[] = {
        {"VM_EXIT_REASON", VM_EXIT_REASON, 0x0000001e},
        {"VM_EXIT_INTR_INFO", VM_EXIT_INTR_INFO, 0x80000b0e},
        {"EXIT_QUALIFICATION", EXIT_QUALIFICATION, 0x12345678},
        {"GUEST_LINEAR_ADDRESS", GUEST_LINEAR_ADDRESS, 0x00abc000},
        {"GUEST_PHYSICAL_ADDRESS", GUEST_PHYSICAL_ADDRESS, 0x0000000123456000ull},
    };
    bool any = vmx_caps.misc & VMX_MISC_VMWRITE_ANY;
    char what[96];
    (void)arg;

    if (!load_scratch(o))
        return;
    for (u32 i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const struct ro_field *f = &fields[i];
        u64 before = 0, after = 0;
        /* The guest-physical address exists only with EPT (appendix B). */
        if (f->field == GUEST_PHYSICAL_ADDRESS && !vmx_has_proc2(CPU2_ENABLE_EPT))
            continue;
        snprintf(what, sizeof(what), "VMREAD of %s", f->name);
        if (!insn_succeeds(o, what, vmr_safe(f->field, &before)))
            return;
        snprintf(what, sizeof(what), "VMWRITE of read-only %s with IA32_VMX_MISC bit 29 %s",
                 f->name, any ? "set" : "clear");
        int st = vmw_safe(f->field, f->value);
        if (any ? !insn_succeeds(o, what, st) : !insn_fails_with(o, what, st, 13))
            return;
        vmr_safe(f->field, &after);
        if (any && after != f->value) {
            outcome_fail(o, "%s: reads back 0x%llx, wrote 0x%llx", what, after, f->value);
            return;
        }
        if (!any && after != before) {
            outcome_fail(o, "%s: failed but changed the field from 0x%llx to 0x%llx", what,
                         before, after);
            return;
        }
    }
}

VMX_TEST_ALL_CPUS("vmx/vmwrite-read-only", check_read_only);
