/* The VMCS and the VMX instructions that manage it, on every CPU: launch
 * state and the current-VMCS pointer (SDM 3C 25.1, 25.11.3), the failures
 * of VMCLEAR, VMPTRLD, VMLAUNCH, VMRESUME and VMXON with their error
 * numbers (31.3, 31.4), leaving and re-entering VMX operation (24.7),
 * VMREAD/VMWRITE by field width (25.11.2) and writes to read-only fields
 * (IA32_VMX_MISC bit 29, appendix A.6). After every expected failure the
 * CPU must still run a guest. */
#include "alloc.h"
#include "catch.h"
#include "cpu.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

/* Entering a guest directly (guest.c): the tests need the status of one
 * VMLAUNCH/VMRESUME, not the run loop's text. */
int vmx_enter(struct guest_regs *regs, int launched);
extern char guest_entry[];

#define NO_VMCS (~0ull) /* the current-VMCS pointer when there is none */

static void *scratch_vmcs[LHV_MAX_CPUS]; /* never launched: field tests */
static u32 *bad_region[LHV_MAX_CPUS];    /* a VMCS region with a wrong revision */

static void write_cr4(unsigned long v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

static const char *status_name(int st)
{
    return st == VMX_OK ? "succeeded" : st == VMX_FAIL_INVALID ? "VMfailInvalid" : "VMfailValid";
}

/* The instruction must have failed with VMfailValid and error `want` in
 * the current VMCS's VM-instruction error field (31.2). */
static bool fails_with(struct cpu_outcome *o, const char *what, int st, u32 want)
{
    if (st != VMX_FAIL_VALID) {
        outcome_fail(o, "%s: %s, expected VMfailValid error %u (%s)", what, status_name(st), want,
                     vmx_error_text(want));
        return false;
    }
    u32 err = (u32)vmr(VM_INSTRUCTION_ERROR);
    if (err != want) {
        outcome_fail(o, "%s: error %u (%s), expected %u (%s)", what, err, vmx_error_text(err),
                     want, vmx_error_text(want));
        return false;
    }
    return true;
}

static bool succeeds(struct cpu_outcome *o, const char *what, int st)
{
    if (st == VMX_OK)
        return true;
    if (st == VMX_FAIL_VALID) {
        u32 err = (u32)vmr(VM_INSTRUCTION_ERROR);
        outcome_fail(o, "%s: VMfailValid error %u (%s)", what, err, vmx_error_text(err));
    } else {
        outcome_fail(o, "%s: VMfailInvalid", what);
    }
    return false;
}


static bool run_nop(struct cpu_outcome *o, struct vcpu *v, const char *when)
{
    if (vcpu_run(v, guest_nothing, NULL).end == RUN_DONE)
        return true;
    outcome_fail(o, "%s: %s", when, v->why);
    return false;
}

/* One VMLAUNCH (resume false) or VMRESUME of v set up to run guest_nothing;
 * returns the instruction's status. Should the entry succeed against
 * expectation, the guest ends with its HC_DONE VMCALL, whose exit comes
 * back here as VMX_OK. */
static int enter_once(struct vcpu *v, bool resume)
{
    unsigned long flags = irq_save();

    memset(&v->regs, 0, sizeof(v->regs));
    REG_BX(v) = (uintptr_t)guest_nothing;
    vmw(GUEST_RIP, (uintptr_t)guest_entry);
    vmw(GUEST_RSP, (uintptr_t)v->stack + PAGE_SIZE);
    vmw(GUEST_RFLAGS, 0x2);
    int st = vmx_enter(&v->regs, resume);
    if (st == VMX_OK)
        v->launched = true;
    irq_restore(flags);
    return st;
}

/* After an expected failure: the guest's VMCS loads again, is current, and
 * its guest runs. */
static bool recovers(struct cpu_outcome *o, struct vcpu *v, const char *after)
{
    u64 vmcs = (uintptr_t)v->vmcs, cur;
    char when[96];

    snprintf(when, sizeof(when), "after %s", after);
    if (!succeeds(o, when, vmx_vmptrld(vmcs)))
        return false;
    if ((cur = vmx_current_vmcs()) != vmcs) {
        outcome_fail(o, "%s: VMPTRST gave 0x%llx, expected the VMCS 0x%llx", when, cur, vmcs);
        return false;
    }
    return run_nop(o, v, when);
}

/* The physical-address width (CPUID 0x80000008 EAX[7:0], 36 without it). */
static u32 max_phys_bits(void)
{
    if (cpuid(0x80000000, 0).eax >= 0x80000008)
        return cpuid(0x80000008, 0).eax & 0xff;
    return 36;
}

/* A region that is not a VMCS of this CPU: revision id `revision`. */
static u64 region_with_revision(u32 revision)
{
    u32 i = this_cpu()->index;
    if (!bad_region[i])
        bad_region[i] = alloc_pages(1);
    bad_region[i][0] = revision;
    return (uintptr_t)bad_region[i];
}

/* Launch state (25.1): a clear VMCS launches, a launched one only resumes,
 * VMCLEAR makes it clear again and no longer current. VMPTRLD and VMCLEAR
 * refuse the VMXON region, bad addresses and foreign revisions (31.3). */
static void check_lifecycle(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    u64 vmcs, cur, value, vmxon = vmx_vmxon_pointer();
    u32 phys = max_phys_bits();
    u64 beyond = phys < 64 ? 1ull << phys : 0;
    (void)arg;

    if (!v)
        return;
    vmcs = (uintptr_t)v->vmcs;
    if ((cur = vmx_current_vmcs()) != vmcs) {
        outcome_fail(o, "VMPTRST gave 0x%llx after VMPTRLD of 0x%llx", cur, vmcs);
        return;
    }
    if (!run_nop(o, v, "VMLAUNCH of a clear VMCS"))
        return;
    if (!fails_with(o, "VMLAUNCH of a launched VMCS", enter_once(v, false), 4) ||
        !recovers(o, v, "VMLAUNCH of a launched VMCS"))
        return;

    if (!succeeds(o, "VMCLEAR of the current VMCS", vmx_vmclear(vmcs)))
        return;
    if ((cur = vmx_current_vmcs()) != NO_VMCS) {
        outcome_fail(o, "VMPTRST gave 0x%llx after VMCLEAR of the current VMCS, expected "
                     "FFFFFFFF_FFFFFFFF", cur);
        return;
    }
    int st = vmr_safe(GUEST_RIP, &value);
    if (st != VMX_FAIL_INVALID) {
        outcome_fail(o, "VMREAD without a current VMCS: %s, expected VMfailInvalid",
                     status_name(st));
        return;
    }
    if (!succeeds(o, "VMPTRLD after VMCLEAR", vmx_vmptrld(vmcs)))
        return;
    if (!fails_with(o, "VMRESUME after VMCLEAR", enter_once(v, true), 5))
        return;
    v->launched = false;
    if (!run_nop(o, v, "VMLAUNCH after VMCLEAR") || !run_nop(o, v, "VMRESUME after relaunch"))
        return;

    if (!fails_with(o, "VMPTRLD of the VMXON region", vmx_vmptrld(vmxon), 10) ||
        !recovers(o, v, "VMPTRLD of the VMXON region"))
        return;
    if (!fails_with(o, "VMPTRLD of an address not 4 KiB aligned", vmx_vmptrld(vmcs + 0x80), 9) ||
        !recovers(o, v, "VMPTRLD of a misaligned address"))
        return;
    if (beyond && (!fails_with(o, "VMPTRLD beyond MAXPHYADDR", vmx_vmptrld(beyond), 9) ||
                   !recovers(o, v, "VMPTRLD beyond MAXPHYADDR")))
        return;
    u32 wrong = (vmx_caps.revision + 1) & 0x7fffffff;
    if (!fails_with(o, "VMPTRLD of a region with another revision id",
                    vmx_vmptrld(region_with_revision(wrong)), 11) ||
        !recovers(o, v, "VMPTRLD with a wrong revision id"))
        return;
    /* Bit 31 marks a shadow VMCS, which needs "VMCS shadowing" (25.2). */
    if (!vmx_has_proc2(CPU2_VMCS_SHADOWING) &&
        (!fails_with(o, "VMPTRLD of a shadow VMCS without VMCS shadowing",
                     vmx_vmptrld(region_with_revision(vmx_caps.revision | 0x80000000u)), 11) ||
         !recovers(o, v, "VMPTRLD of a shadow VMCS")))
        return;

    if (!fails_with(o, "VMCLEAR of the VMXON region", vmx_vmclear(vmxon), 3) ||
        !recovers(o, v, "VMCLEAR of the VMXON region"))
        return;
    if (!fails_with(o, "VMCLEAR of an address not 4 KiB aligned", vmx_vmclear(vmcs + 0x80), 2) ||
        !recovers(o, v, "VMCLEAR of a misaligned address"))
        return;
    if (beyond && (!fails_with(o, "VMCLEAR beyond MAXPHYADDR", vmx_vmclear(beyond), 2) ||
                   !recovers(o, v, "VMCLEAR beyond MAXPHYADDR")))
        return;
}

VMX_TEST_ALL_CPUS("vmx/vmcs-lifecycle", check_lifecycle);

/* --- VMXOFF, VMXON ---------------------------------------------------- */

static int vmxon_insn(u64 pa)
{
    u8 cf, zf;
    __asm__ volatile("vmxon %2\n\tsetc %0\n\tsetz %1"
                     : "=qm"(cf), "=qm"(zf) : "m"(pa) : "cc", "memory");
    return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK;
}

/* Probes for catch_exception; the argument points to a physical address. */
static void probe_vmptrst(void *arg)
{
    u64 pa;
    (void)arg;
    __asm__ volatile("vmptrst %0" : "=m"(pa) : : "memory");
}

static void probe_vmread(void *arg)
{
    unsigned long field = GUEST_RIP, value;
    (void)arg;
    __asm__ volatile("vmread %1, %0" : "=r"(value) : "r"(field) : "cc");
}

static void probe_vmclear(void *arg)
{
    __asm__ volatile("vmclear %0" : : "m"(*(u64 *)arg) : "cc", "memory");
}

static void probe_vmxoff(void *arg)
{
    (void)arg;
    __asm__ volatile("vmxoff" : : : "cc", "memory");
}

static void probe_vmxon(void *arg)
{
    __asm__ volatile("vmxon %0" : : "m"(*(u64 *)arg) : "cc", "memory");
}

struct probe {
    const char *name;
    void (*fn)(void *);
};

static bool raises_ud(struct cpu_outcome *o, const struct probe *p, void *arg, const char *when)
{
    struct caught c;
    int vector = catch_exception(p->fn, arg, &c);

    if (vector == VEC_UD)
        return true;
    if (vector == NO_EXCEPTION)
        outcome_fail(o, "%s %s: no exception, expected #UD", p->name, when);
    else
        outcome_fail(o, "%s %s: exception %d (error code 0x%x), expected #UD", p->name, when,
                     vector, c.error_code);
    return false;
}

/* Outside VMX operation every VMX instruction raises #UD, with CR4.VMXE
 * clear (VMXON included) or set (31.3, the "not in VMX operation" test). */
static bool outside_vmx(struct cpu_outcome *o, u64 vmcs, u64 vmxon)
{
    static const struct probe clear_probes[] = {
        {"VMPTRST", probe_vmptrst}, {"VMREAD", probe_vmread}, {"VMCLEAR", probe_vmclear},
        {"VMXOFF", probe_vmxoff},   {"VMXON", probe_vmxon},
    };
    /* VMXON is left out here: with CR4.VMXE set it would enter VMX. */
    static const struct probe set_probes[] = {
        {"VMPTRST", probe_vmptrst}, {"VMREAD", probe_vmread}, {"VMCLEAR", probe_vmclear},
        {"VMXOFF", probe_vmxoff},
    };
    bool ok = true;

    if (vmx_cpu_on()) {
        outcome_fail(o, "vmx_disable_cpu left the CPU marked in VMX operation");
        return false;
    }
    if (read_cr4() & CR4_VMXE) {
        outcome_fail(o, "CR4.VMXE still set after vmx_disable_cpu");
        return false;
    }
    for (u32 i = 0; ok && i < sizeof(clear_probes) / sizeof(clear_probes[0]); i++)
        ok = raises_ud(o, &clear_probes[i], clear_probes[i].fn == probe_vmxon ? &vmxon : &vmcs,
                       "after VMXOFF with CR4.VMXE=0");
    write_cr4(read_cr4() | CR4_VMXE);
    for (u32 i = 0; ok && i < sizeof(set_probes) / sizeof(set_probes[0]); i++)
        ok = raises_ud(o, &set_probes[i], &vmcs, "after VMXOFF with CR4.VMXE=1");
    write_cr4(read_cr4() & ~(unsigned long)CR4_VMXE);
    return ok;
}

/* VMXON in VMX root operation fails (error 15 when a VMCS is current,
 * VMfailInvalid when none is); VMXOFF leaves VMX operation, VMX
 * instructions then raise #UD; VMXON enters it again with no current VMCS
 * (24.7, 31.3), and guests run again. */
static void check_vmxoff_vmxon(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    u64 vmxon = vmx_vmxon_pointer(), vmcs, cur;
    (void)arg;

    if (!v)
        return;
    vmcs = (uintptr_t)v->vmcs;
    if (!fails_with(o, "VMXON in VMX root operation with a current VMCS", vmxon_insn(vmxon), 15))
        return;
    if (!succeeds(o, "VMCLEAR before VMXOFF", vmx_vmclear(vmcs)))
        return;
    int st = vmxon_insn(vmxon);
    if (st != VMX_FAIL_INVALID) {
        outcome_fail(o, "VMXON in VMX root operation without a current VMCS: %s, expected "
                     "VMfailInvalid", status_name(st));
        return;
    }

    vmx_disable_cpu();
    bool ok = outside_vmx(o, vmcs, vmxon);
    const char *why = vmx_enable_cpu();
    if (why) {
        outcome_fail(o, "VMXON after VMXOFF: %s", why);
        return;
    }
    if (!ok)
        return;
    if ((cur = vmx_current_vmcs()) != NO_VMCS) {
        outcome_fail(o, "VMPTRST gave 0x%llx right after VMXON, expected FFFFFFFF_FFFFFFFF", cur);
        return;
    }
    if ((v = test_guest(o)) != NULL)
        run_nop(o, v, "a guest after VMXOFF and VMXON");
}

VMX_TEST_ALL_CPUS("vmx/vmxoff-vmxon", check_vmxoff_vmxon);

/* --- VMREAD/VMWRITE by width ------------------------------------------- */

#define STATUS(cf, zf) ((cf) ? VMX_FAIL_INVALID : (zf) ? VMX_FAIL_VALID : VMX_OK)

/* The instructions at the native operand size (64 bits in 64-bit mode, 32
 * outside IA-32e mode), the register destination preset to `*value`. */
static int vmread_reg(unsigned long field, unsigned long *value)
{
    unsigned long v = *value;
    u8 cf, zf;
    __asm__ volatile("vmread %3, %0\n\tsetc %1\n\tsetz %2"
                     : "+r"(v), "=qm"(cf), "=qm"(zf) : "r"(field) : "cc");
    *value = v;
    return STATUS(cf, zf);
}

static int vmread_mem(unsigned long field, unsigned long *value)
{
    u8 cf, zf;
    __asm__ volatile("vmread %3, %0\n\tsetc %1\n\tsetz %2"
                     : "+m"(*value), "=qm"(cf), "=qm"(zf) : "r"(field) : "cc");
    return STATUS(cf, zf);
}

static int vmwrite_raw(unsigned long field, unsigned long value)
{
    u8 cf, zf;
    __asm__ volatile("vmwrite %3, %2\n\tsetc %0\n\tsetz %1"
                     : "=qm"(cf), "=qm"(zf) : "r"(field), "r"(value) : "cc", "memory");
    return STATUS(cf, zf);
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
    return succeeds(o, "VMCLEAR of a new VMCS", vmx_vmclear((uintptr_t)scratch_vmcs[i])) &&
           succeeds(o, "VMPTRLD of a new VMCS", vmx_vmptrld((uintptr_t)scratch_vmcs[i]));
}

/* Reads field into a register and into memory, both preset to the
 * complement of `expect`, and compares (shorter fields zero-extend). */
static bool reads(struct cpu_outcome *o, const char *what, unsigned long field,
                  unsigned long expect)
{
    unsigned long reg = ~expect, mem = ~expect;
    int st = vmread_reg(field, &reg);

    if (!succeeds(o, what, st))
        return false;
    if (reg != expect) {
        outcome_fail(o, "%s: VMREAD of 0x%lx gave 0x%lx, expected 0x%lx", what, field, reg, expect);
        return false;
    }
    if (!succeeds(o, what, vmread_mem(field, &mem)))
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
    return succeeds(o, what, vmwrite_raw(field, value)) && reads(o, what, field, expect);
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
    if (!fails_with(o, text, st, 12))
        return false;
    snprintf(text, sizeof(text), "VMWRITE of %s (0x%lx)", what, field);
    return fails_with(o, text, vmwrite_raw(field, 0), 12);
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
        !succeeds(o, "64-bit field (full rewrite)", vmwrite_raw(TSC_OFFSET, FULL_PATTERN)) ||
        !reads(o, "64-bit field (high half after the full rewrite)", TSC_OFFSET | 1, FULL_HIGH))
        return;
    /* LHV's accessors reach all 64 bits on both subarchs */
    if (!succeeds(o, "vmw_safe of a 64-bit field", vmw_safe(TSC_OFFSET,
                                                                   0xfedcba9876543210ull)) ||
        !succeeds(o, "vmr_safe of a 64-bit field", vmr_safe(TSC_OFFSET, &v64)))
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

static void run_widths(struct cpu_outcome *o, void *arg)
{
    known_bug[this_cpu()->index] = false;
    check_widths(o, arg);
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
        if (!succeeds(o, what, vmr_safe(f->field, &before)))
            return;
        snprintf(what, sizeof(what), "VMWRITE of read-only %s with IA32_VMX_MISC bit 29 %s",
                 f->name, any ? "set" : "clear");
        int st = vmw_safe(f->field, f->value);
        if (any ? !succeeds(o, what, st) : !fails_with(o, what, st, 13))
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
