/* VM-entry checks (issue #6), on every CPU: tables of deliberately invalid
 * control, host-state and guest-state settings and VM-entry MSR-load areas,
 * each with the failure the SDM names (3C chapter 27): VMfailValid with
 * VM-instruction error 7 (invalid control fields, 27.2.1) or 8 (invalid
 * host-state fields, 27.2.2-27.2.4), or a VM exit with bit 31 set and basic
 * reason 33 (invalid guest state, 27.3.1) or 34 (MSR loading, 27.4) with the
 * exit qualification of 27.8. Each row starts from a fresh valid test guest,
 * may first set up what the checked rule needs (prepare: I/O bitmaps, an
 * MSR area...), then breaks exactly one thing and attempts the entry. Then
 * the breakage is undone on the same VMCS and its valid twin must enter and
 * reach its VMCALL: a row cannot pass because everything fails. The twin is
 * entered with VMLAUNCH again: a failed entry leaves the VMCS clear (27.8,
 * the VMLAUNCH operation in 31.3). A row whose rule the CPU cannot express
 * (a capability it lacks) is skipped; CPU 0 prints one line naming them. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "desc.h"
#include "end.h"
#include "string.h"
#include "vmx_test.h"
#include "vmx/msr_area.h"
#include "vmx/vmx.h"
#include "x86.h"

extern char guest_entry[]; /* the guest's first instruction (enter-SUBARCH.S) */

#define EC_PAT_BAD 0x02 /* memory type 2 is reserved (SDM 3A 12.12.2) */

enum ec_expect { EC_VMFAIL, EC_EXIT };

struct ec_run;

/* One row: break one thing, expect one failure (VM-instruction error, or
 * basic exit reason with its qualification). */
struct ec_row {
    const char *name;
    const char *sdm;                         /* section of SDM 3C */
    const char *(*prepare)(struct ec_run *r); /* NULL, or returns a SKIP reason */
    void (*breakit)(struct ec_run *r);
    const void *arg;                         /* what prepare/breakit use */
    enum ec_expect expect;
    u32 code;                                /* error number or basic exit reason */
    u64 qual;                                /* exit qualification (EC_EXIT) */
    const char *bochs_bug;                   /* Bochs misses this check: XFAIL there */
};

#define EC_UNDO_MAX 4

/* One attempt on this CPU: what the guest is entered with, and what the
 * breakage changed (undone for the twin). */
struct ec_run {
    const struct ec_row *row;
    struct vcpu *v;
    uintptr_t rip;
    unsigned long rflags;
    u64 bit;  /* the control bit prepare chose */
    u32 nfields, nwords;
    struct { u32 field; u64 value; } fields[EC_UNDO_MAX];
    struct { u64 *addr; u64 value; } words[EC_UNDO_MAX];
};

/* --- small facts --------------------------------------------------------- */

static u32 phys_bits(void)
{
    if (cpuid(0x80000000, 0).eax >= 0x80000008)
        return cpuid(0x80000008, 0).eax & 0xff;
    return 36;
}

/* An address just beyond the physical-address width (bit N set). */
static u64 beyond_phys(void) { return 1ull << phys_bits(); }

#ifdef __x86_64__
/* Bit 62 flipped: bits 63:N differ for any linear-address width N < 63. */
static u64 noncanonical(u64 a) { return a ^ (1ull << 62); }
#endif

static u64 lowest_bit(u64 mask) { return mask & (~mask + 1); }

static u8 *cpu_page(u8 *(*pages)[LHV_MAX_CPUS])
{
    u8 **p = &(*pages)[this_cpu()->index];
    if (!*p)
        *p = alloc_pages(1);
    memset(*p, 0, PAGE_SIZE);
    return *p;
}

/* --- breaking and undoing ------------------------------------------------ */

static void ec_set(struct ec_run *r, u32 field, u64 value)
{
    if (r->nfields >= EC_UNDO_MAX)
        fatal("vmx_entry_checks: row %s changes too many fields", r->row->name);
    r->fields[r->nfields].field = field;
    r->fields[r->nfields++].value = vmr(field);
    vmw(field, value);
}

static void ec_or(struct ec_run *r, u32 field, u64 bits) { ec_set(r, field, vmr(field) | bits); }
static void ec_clear(struct ec_run *r, u32 field, u64 bits)
{
    ec_set(r, field, vmr(field) & ~bits);
}

static void ec_poke(struct ec_run *r, u64 *addr, u64 value)
{
    if (r->nwords >= EC_UNDO_MAX)
        fatal("vmx_entry_checks: row %s changes too many words", r->row->name);
    r->words[r->nwords].addr = addr;
    r->words[r->nwords++].value = *addr;
    *addr = value;
}

static void ec_undo(struct ec_run *r)
{
    while (r->nfields) {
        r->nfields--;
        vmw(r->fields[r->nfields].field, r->fields[r->nfields].value);
    }
    while (r->nwords) {
        r->nwords--;
        *r->words[r->nwords].addr = r->words[r->nwords].value;
    }
    r->rip = (uintptr_t)guest_entry;
    r->rflags = 0;
}

/* --- entering and judging ------------------------------------------------ */

/* Enters the guest at r->rip (the guest_echo call of vcpu_run) */
static bool ec_enter(struct ec_run *r, struct echo *e)
{
    vcpu_set_call(r->v, guest_echo, e);
    return vcpu_run_at(r->v, r->rip, 0, r->rflags).end == RUN_DONE;
}

static void ec_expected(const struct ec_row *row, char *buf, size_t n)
{
    if (row->expect == EC_VMFAIL)
        snprintf(buf, n, "VMfailValid error %u", row->code);
    else
        snprintf(buf, n, "failure exit %u qualification %llu", row->code, row->qual);
}

static bool ec_matches(const struct ec_row *row, const struct vcpu *v, bool ran)
{
    if (ran)
        return false;
    if (row->expect == EC_VMFAIL)
        return v->exits == 0 && v->result.end == RUN_VMFAIL &&
               v->result.vmfail == VMX_FAIL_VALID && v->result.vm_error == row->code;
    return v->exits == 1 && (u32)vmr(VM_EXIT_REASON) == (EXIT_REASON_ENTRY_FAILURE | row->code) &&
           v->exit_qual == row->qual;
}

static void ec_got(const struct vcpu *v, bool ran, char *buf, size_t n)
{
    if (ran)
        snprintf(buf, n, "entered and reached its VMCALL");
    else if (v->result.end == RUN_VMFAIL && v->result.vmfail == VMX_FAIL_VALID)
        snprintf(buf, n, "VMfailValid error %u", v->result.vm_error);
    else if (v->result.end == RUN_VMFAIL)
        snprintf(buf, n, "VMfailInvalid");
    else if (vmr(VM_EXIT_REASON) & EXIT_REASON_ENTRY_FAILURE)
        snprintf(buf, n, "failure exit %u qualification %llu", v->exit_reason, v->exit_qual);
    else
        snprintf(buf, n, "entered, then exit %u (%s) info 0x%llx", v->exit_reason,
                 vmx_exit_reason_name(v->exit_reason), vmr(VM_EXIT_INTR_INFO));
}

/* The Bochs versions that miss the checks of rows with bochs_bug: both
 * miss the one such row (a check one version makes would need its own). */
#define EC_BOCHS_VERSIONS BOCHS_2_7_AND_3_0

static const char ec_xfailed[] = "XFAIL"; /* a row's state: a known Bochs bug showed */
#define EC_XFAILED ec_xfailed

/* The broken entry: NULL when it failed as the row says, EC_XFAILED for a
 * known Bochs bug (the first one is the XFAIL reason), else after
 * outcome_fail the row's name. */
static const char *ec_judge(struct cpu_outcome *o, struct ec_run *r, bool ran)
{
    const struct ec_row *row = r->row;
    char want[64], got[96];

    if (ec_matches(row, r->v, ran))
        return NULL;
    ec_expected(row, want, sizeof(want));
    ec_got(r->v, ran, got, sizeof(got));
    if (row->bochs_bug && l0_bochs_deviates(EC_BOCHS_VERSIONS)) {
        if (!o->xfailed)
            outcome_xfail(o, "%s: %s: %s (%s)", row->name, l0_bochs_names(EC_BOCHS_VERSIONS),
                          row->bochs_bug, got);
        return EC_XFAILED;
    }
    outcome_fail(o, "%s (SDM 3C %s): expected %s, got %s", row->name, row->sdm, want, got);
    return row->name;
}

/* Runs one row on this CPU. Returns NULL when it behaved, EC_XFAILED, or
 * a SKIP reason; sets *failed after outcome_fail. */
static const char *ec_row_run(struct cpu_outcome *o, const struct ec_row *row, bool *failed)
{
    struct ec_run r = {.row = row, .rip = (uintptr_t)guest_entry};
    u32 cpu = this_cpu()->index;
    struct echo e = {0x1000 + cpu, 0x30000, 0};
    const char *skip, *judged;

    *failed = true;
    if (!(r.v = test_guest(o)))
        return NULL;
    if (row->prepare && (skip = row->prepare(&r)) != NULL) {
        *failed = false;
        return skip;
    }
    row->breakit(&r);
    judged = ec_judge(o, &r, ec_enter(&r, &e));
    if (judged && judged != EC_XFAILED)
        return NULL;
    ec_undo(&r);
    e.result = 0;
    if (!ec_enter(&r, &e)) {
        outcome_fail(o, "%s: valid twin did not enter: %s", row->name,
                     r.v->why);
        return NULL;
    }
    if (e.result != e.a + e.b) {
        outcome_fail(o, "%s: the valid twin's hypercall returned 0x%lx", row->name, e.result);
        return NULL;
    }
    *failed = false;
    return judged;
}

struct ec_table {
    const char *what;
    const struct ec_row *rows;
    u32 n;
};

static size_t ec_list(char *line, size_t len, size_t size, const struct ec_table *t,
                      const char *const *state, bool xfails, const char *title)
{
    for (u32 i = 0, k = 0; i < t->n && len < size; i++) {
        if (!state[i] || (state[i] == EC_XFAILED) != xfails)
            continue;
        len += (size_t)snprintf(line + len, size - len, "%s%s", k++ ? "; " : title,
                                t->rows[i].name);
        if (!xfails && len < size)
            len += (size_t)snprintf(line + len, size - len, " (%s)", state[i]);
    }
    return len;
}

/* CPU 0 names the rows it skipped and those that met a known bug, in one
 * line. */
static void ec_print_rows(const struct ec_table *t, const char *const *state, u32 skipped)
{
    char line[480];
    size_t len;

    len = (size_t)snprintf(line, sizeof(line), "vmx: %s: %u of %u rows checked", t->what,
                           t->n - skipped, t->n);
    len = ec_list(line, len, sizeof(line), t, state, false, "; skipped: ");
    ec_list(line, len, sizeof(line), t, state, true, "; XFAIL: ");
    printf("%s\n", line);
}

static void ec_check_table(struct cpu_outcome *o, void *arg)
{
    const struct ec_table *t = arg;
    const char *state[64] = {0}; /* per row: NULL, EC_XFAILED or a SKIP reason */
    const char *unavailable = vmx_unavailable();
    u32 skipped = 0;
    bool failed;

    if (unavailable) {
        outcome_skip(o, "%s", unavailable);
        return;
    }
    if (t->n > ARRAY_SIZE(state))
        fatal("vmx_entry_checks: table %s has %u rows", t->what, t->n);
    for (u32 i = 0; i < t->n; i++) {
        state[i] = ec_row_run(o, &t->rows[i], &failed);
        if (failed)
            return;
        skipped += state[i] && state[i] != EC_XFAILED;
    }
    if (skipped == t->n)
        outcome_skip(o, "every row skipped, first: %s (%s)", t->rows[0].name, state[0]);
    if (this_cpu()->index == 0)
        ec_print_rows(t, state, skipped);
}

/* ======================================================================== */
/* Controls: VMfailValid, error 7 (27.2.1). */

/* A control field and the capability MSR that rules it */
struct ec_ctl {
    u32 field;
    const struct vmx_ctl_caps *caps;
    const char *msr;
    bool secondary;
};

static const struct ec_ctl ctl_pin = {PIN_BASED_VM_EXEC_CONTROL, &vmx_caps.pin,
                                      "PINBASED_CTLS", false};
static const struct ec_ctl ctl_proc = {CPU_BASED_VM_EXEC_CONTROL, &vmx_caps.proc,
                                       "PROCBASED_CTLS", false};
static const struct ec_ctl ctl_proc2 = {SECONDARY_VM_EXEC_CONTROL, &vmx_caps.proc2,
                                        "PROCBASED_CTLS2", true};
static const struct ec_ctl ctl_exit = {VM_EXIT_CONTROLS, &vmx_caps.exit, "EXIT_CTLS", false};
static const struct ec_ctl ctl_entry = {VM_ENTRY_CONTROLS, &vmx_caps.entry, "ENTRY_CTLS",
                                        false};

static const char *need_proc(u32 bit, const char *why)
{
    return (vmx_caps.proc.allowed1 & bit) ? NULL : why;
}

static const char *prep_secondary(void)
{
    if (!(vmx_caps.proc.allowed1 & CPU_ACTIVATE_SECONDARY_CONTROLS))
        return "IA32_VMX_PROCBASED_CTLS bit 31 (activate secondary controls) may not be 1";
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS);
    vmw(SECONDARY_VM_EXEC_CONTROL, vmx_caps.proc2.allowed0);
    return NULL;
}

/* A bit the capability MSR says must be 1 (allowed 0-settings) */
static const char *prep_must_be_1(struct ec_run *r)
{
    const struct ec_ctl *c = r->row->arg;
    r->bit = lowest_bit(c->caps->allowed0);
    if (!r->bit)
        return c->secondary ? "no secondary control must be 1"
               : vmx_caps.true_ctls ? "the TRUE capability MSR has no must-be-1 bit"
                                    : "the capability MSR has no must-be-1 bit";
    return c->secondary ? prep_secondary() : NULL;
}

/* A bit the capability MSR says must be 0 (not an allowed 1-setting) */
static const char *prep_must_be_0(struct ec_run *r)
{
    const struct ec_ctl *c = r->row->arg;
    r->bit = lowest_bit((u32)~c->caps->allowed1);
    if (!r->bit)
        return "the capability MSR allows every bit to be 1";
    return c->secondary ? prep_secondary() : NULL;
}

static void brk_clear_bit(struct ec_run *r)
{
    ec_clear(r, ((const struct ec_ctl *)r->row->arg)->field, r->bit);
}

static void brk_set_bit(struct ec_run *r)
{
    ec_or(r, ((const struct ec_ctl *)r->row->arg)->field, r->bit);
}

static void brk_cr3_targets(struct ec_run *r)
{
    ec_set(r, CR3_TARGET_COUNT, ((vmx_caps.misc >> 16) & 0x1ff) + 1);
}

static u8 *io_pages[2][LHV_MAX_CPUS], *apic_pages[LHV_MAX_CPUS];

static const char *prep_io_bitmaps(struct ec_run *r)
{
    (void)r;
    const char *skip = need_proc(CPU_USE_IO_BITMAPS,
                                 "IA32_VMX_PROCBASED_CTLS bit 25 (use I/O bitmaps) may not be 1");
    if (skip)
        return skip;
    vmw(IO_BITMAP_A, (uintptr_t)cpu_page(&io_pages[0]));
    vmw(IO_BITMAP_B, (uintptr_t)cpu_page(&io_pages[1]));
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_USE_IO_BITMAPS);
    return NULL;
}

static void brk_io_a_unaligned(struct ec_run *r) { ec_or(r, IO_BITMAP_A, 0x800); }
static void brk_io_b_beyond(struct ec_run *r) { ec_set(r, IO_BITMAP_B, beyond_phys()); }

static const char *prep_msr_bitmap(struct ec_run *r)
{
    (void)r;
    return need_proc(CPU_USE_MSR_BITMAPS,
                     "IA32_VMX_PROCBASED_CTLS bit 28 (use MSR bitmaps) may not be 1");
}

static void brk_msr_bitmap_unaligned(struct ec_run *r) { ec_or(r, MSR_BITMAP, 0x10); }

/* MSR areas of one harmless entry each (IA32_SYSENTER_ESP = 0, what the
 * guest and the host have anyway) */
static struct vmx_msr_area ec_areas[3][LHV_MAX_CPUS];

static struct vmx_msr_area *ec_area(u32 which)
{
    struct vmx_msr_area *a = &ec_areas[which][this_cpu()->index];
    msr_area_reset(a);
    msr_area_add(a, MSR_IA32_SYSENTER_ESP, 0);
    return a;
}

static const char *prep_msr_areas(struct ec_run *r)
{
    (void)r;
    vmx_set_msr_areas(ec_area(0), ec_area(1), ec_area(2));
    return NULL;
}

static void brk_entry_load_unaligned(struct ec_run *r) { ec_or(r, VM_ENTRY_MSR_LOAD_ADDR, 8); }
static void brk_exit_store_beyond(struct ec_run *r)
{
    ec_set(r, VM_EXIT_MSR_STORE_ADDR, beyond_phys());
}
static void brk_exit_load_unaligned(struct ec_run *r) { ec_or(r, VM_EXIT_MSR_LOAD_ADDR, 4); }

static const char *prep_nmi_window(struct ec_run *r)
{
    (void)r;
    return need_proc(CPU_NMI_WINDOW_EXITING,
                     "IA32_VMX_PROCBASED_CTLS bit 22 (NMI-window exiting) may not be 1");
}

static void brk_nmi_window(struct ec_run *r)
{
    ec_or(r, CPU_BASED_VM_EXEC_CONTROL, CPU_NMI_WINDOW_EXITING);
}

static const char *prep_virtual_nmis(struct ec_run *r)
{
    (void)r;
    return (vmx_caps.pin.allowed1 & PIN_VIRTUAL_NMIS)
               ? NULL : "IA32_VMX_PINBASED_CTLS bit 5 (virtual NMIs) may not be 1";
}

static void brk_virtual_nmis(struct ec_run *r)
{
    ec_or(r, PIN_BASED_VM_EXEC_CONTROL, PIN_VIRTUAL_NMIS);
}

/* Use TPR shadow with a zeroed virtual-APIC page (VTPR 0), threshold 0 */
static const char *prep_tpr_shadow(struct ec_run *r)
{
    (void)r;
    const char *skip = need_proc(CPU_USE_TPR_SHADOW,
                                 "IA32_VMX_PROCBASED_CTLS bit 21 (use TPR shadow) may not be 1");
    if (skip)
        return skip;
    vmw(VIRTUAL_APIC_PAGE_ADDR, (uintptr_t)cpu_page(&apic_pages));
    vmw(TPR_THRESHOLD, 0);
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_USE_TPR_SHADOW);
    return NULL;
}

static void brk_vapic_unaligned(struct ec_run *r) { ec_or(r, VIRTUAL_APIC_PAGE_ADDR, 0x400); }
static void brk_tpr_threshold_high(struct ec_run *r) { ec_set(r, TPR_THRESHOLD, 0x10); }
static void brk_tpr_above_vtpr(struct ec_run *r) { ec_set(r, TPR_THRESHOLD, 1); }

/* VM-entry interruption information (25.8.3): valid bit 31, type 10:8,
 * deliver error code 11, vector 7:0 */

static void brk_intr(struct ec_run *r, u32 info) { ec_set(r, VM_ENTRY_INTR_INFO_FIELD, info); }
/* type 1 is reserved */
static void brk_intr_type1(struct ec_run *r) { brk_intr(r, INTR_INFO(1u << 8, 0x20)); }
static void brk_intr_nmi_vector(struct ec_run *r) { brk_intr(r, INTR_INFO(INTR_TYPE_NMI, 3)); }
static void brk_intr_exception_32(struct ec_run *r)
{
    brk_intr(r, INTR_INFO(INTR_TYPE_HW_EXCEPTION, 32));
}
static void brk_intr_ud_error_code(struct ec_run *r)
{
    brk_intr(r, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD) | INTR_INFO_DELIVER_CODE);
}
static void brk_intr_gp_no_error_code(struct ec_run *r)
{
    brk_intr(r, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_GP));
}
/* bits 30:12 are reserved */
static void brk_intr_reserved(struct ec_run *r)
{
    brk_intr(r, INTR_INFO(INTR_TYPE_EXT_INTR, 0x20) | (1u << 12));
}
static void brk_intr_error_high(struct ec_run *r)
{
    ec_set(r, VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000);
    brk_intr(r, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_GP) | INTR_INFO_DELIVER_CODE);
}

static const char *prep_error_code_rule(struct ec_run *r)
{
    (void)r;
    /* IA32_VMX_BASIC bit 56 (A.1): a hardware exception of any vector may be
     * injected with or without an error code (tigerlake in Bochs sets it) */
    return (vmx_caps.basic & (1ull << 56))
               ? "IA32_VMX_BASIC bit 56 allows any exception with or without an error code"
               : NULL;
}

static const char *prep_no_zero_length(struct ec_run *r)
{
    (void)r;
    /* IA32_VMX_MISC bit 30: entry may inject software interrupts and
     * exceptions with instruction length 0 (A.6) */
    return (vmx_caps.misc & (1ull << 30)) ? "IA32_VMX_MISC bit 30 allows instruction length 0"
                                          : NULL;
}

static void brk_intr_soft_length16(struct ec_run *r)
{
    ec_set(r, VM_ENTRY_INSTRUCTION_LEN, 16);
    brk_intr(r, INTR_INFO(INTR_TYPE_SOFT_INTR, 0x30));
}

static void brk_intr_soft_length0(struct ec_run *r)
{
    ec_set(r, VM_ENTRY_INSTRUCTION_LEN, 0);
    brk_intr(r, INTR_INFO(INTR_TYPE_SOFT_INTR, 0x30));
}

#define CTL(name, sdm, prep, brk, arg) \
    {name, "27.2.1." sdm, prep, brk, arg, EC_VMFAIL, 7, 0, NULL}

static const struct ec_row control_rows[] = {
    CTL("pin-based must-be-1 bit clear", "1", prep_must_be_1, brk_clear_bit, &ctl_pin),
    CTL("pin-based must-be-0 bit set", "1", prep_must_be_0, brk_set_bit, &ctl_pin),
    CTL("processor-based must-be-1 bit clear", "1", prep_must_be_1, brk_clear_bit, &ctl_proc),
    CTL("processor-based must-be-0 bit set", "1", prep_must_be_0, brk_set_bit, &ctl_proc),
    CTL("secondary must-be-0 bit set", "1", prep_must_be_0, brk_set_bit, &ctl_proc2),
    CTL("CR3-target count above IA32_VMX_MISC[24:16]", "1", NULL, brk_cr3_targets, NULL),
    CTL("I/O bitmap A not page aligned", "1", prep_io_bitmaps, brk_io_a_unaligned, NULL),
    CTL("I/O bitmap B beyond the physical-address width", "1", prep_io_bitmaps,
        brk_io_b_beyond, NULL),
    CTL("MSR bitmap not page aligned", "1", prep_msr_bitmap, brk_msr_bitmap_unaligned, NULL),
    CTL("NMI-window exiting without virtual NMIs", "1", prep_nmi_window, brk_nmi_window, NULL),
    CTL("virtual NMIs without NMI exiting", "1", prep_virtual_nmis, brk_virtual_nmis, NULL),
    CTL("virtual-APIC address not page aligned", "1", prep_tpr_shadow, brk_vapic_unaligned, NULL),
    CTL("TPR threshold bits 31:4 set", "1", prep_tpr_shadow, brk_tpr_threshold_high, NULL),
    CTL("TPR threshold above VTPR[7:4]", "1", prep_tpr_shadow, brk_tpr_above_vtpr, NULL),
    CTL("VM-exit must-be-1 bit clear", "2", prep_must_be_1, brk_clear_bit, &ctl_exit),
    CTL("VM-exit must-be-0 bit set", "2", prep_must_be_0, brk_set_bit, &ctl_exit),
    CTL("VM-exit MSR-load address not 16-byte aligned", "2", prep_msr_areas,
        brk_exit_load_unaligned, NULL),
    CTL("VM-exit MSR-store address beyond the physical-address width", "2", prep_msr_areas,
        brk_exit_store_beyond, NULL),
    CTL("VM-entry must-be-1 bit clear", "3", prep_must_be_1, brk_clear_bit, &ctl_entry),
    CTL("VM-entry must-be-0 bit set", "3", prep_must_be_0, brk_set_bit, &ctl_entry),
    CTL("VM-entry MSR-load address not 16-byte aligned", "3", prep_msr_areas,
        brk_entry_load_unaligned, NULL),
    CTL("injected event of reserved type 1", "3", NULL, brk_intr_type1, NULL),
    CTL("injected NMI with vector 3", "3", NULL, brk_intr_nmi_vector, NULL),
    CTL("injected hardware exception with vector 32", "3", NULL, brk_intr_exception_32, NULL),
    CTL("injected #UD with deliver-error-code", "3", prep_error_code_rule,
        brk_intr_ud_error_code, NULL),
    CTL("injected #GP without deliver-error-code", "3", prep_error_code_rule,
        brk_intr_gp_no_error_code, NULL),
    CTL("interruption-information bits 30:12 set", "3", NULL, brk_intr_reserved, NULL),
    CTL("injected error code bits 31:16 set", "3", NULL, brk_intr_error_high, NULL),
    CTL("injected software interrupt with instruction length 16", "3", NULL,
        brk_intr_soft_length16, NULL),
    CTL("injected software interrupt with instruction length 0", "3", prep_no_zero_length,
        brk_intr_soft_length0, NULL),
};

static const struct ec_table control_table = {"entry-checks-controls", control_rows,
                                              ARRAY_SIZE(control_rows)};

VMX_TEST("vmx/entry-checks-controls", test_entry_controls);
static void test_entry_controls(const char *name)
{
    verdict_all_cpus(name, ec_check_table, (void *)&control_table);
}

/* ======================================================================== */
/* Host state: VMfailValid, error 8 (27.2.2 control registers and MSRs,
 * 27.2.3 segment and descriptor-table registers, 27.2.4 address-space
 * size). */

static const char *prep_cr0_ne(struct ec_run *r)
{
    (void)r;
    return (vmx_caps.cr0_fixed0 & CR0_NE) ? NULL : "IA32_VMX_CR0_FIXED0 does not fix CR0.NE";
}

/* The lowest bit IA32_VMX_CR4_FIXED1 says must be 0 (within the field) */
static const char *prep_cr4_reserved(struct ec_run *r)
{
    r->bit = lowest_bit((unsigned long)~vmx_caps.cr4_fixed1);
    return r->bit ? NULL : "IA32_VMX_CR4_FIXED1 allows every CR4 bit";
}

static void brk_host_cr0_ne(struct ec_run *r) { ec_clear(r, HOST_CR0, CR0_NE); }
static void brk_host_cr4_vmxe(struct ec_run *r) { ec_clear(r, HOST_CR4, CR4_VMXE); }
static void brk_host_cr4_reserved(struct ec_run *r) { ec_or(r, HOST_CR4, r->bit); }
static void brk_host_cs_zero(struct ec_run *r) { ec_set(r, HOST_CS_SELECTOR, 0); }
static void brk_host_cs_rpl(struct ec_run *r) { ec_or(r, HOST_CS_SELECTOR, 1); }
static void brk_host_ds_ti(struct ec_run *r) { ec_or(r, HOST_DS_SELECTOR, 4); }
static void brk_host_tr_zero(struct ec_run *r) { ec_set(r, HOST_TR_SELECTOR, 0); }

/* IA32_PAT loaded on exit (the host's own value) */
static const char *prep_host_pat(struct ec_run *r)
{
    (void)r;
    if (!(cpuid(1, 0).edx & CPUID1_EDX_PAT))
        return "no IA32_PAT (CPUID.01H:EDX bit 16)";
    if (!(vmx_caps.exit.allowed1 & EXIT_LOAD_IA32_PAT))
        return "IA32_VMX_EXIT_CTLS bit 19 (load IA32_PAT) may not be 1";
    vmw(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
    vmw(VM_EXIT_CONTROLS, vmr(VM_EXIT_CONTROLS) | EXIT_LOAD_IA32_PAT);
    return NULL;
}

static void brk_host_pat(struct ec_run *r)
{
    ec_set(r, HOST_IA32_PAT, (vmr(HOST_IA32_PAT) & ~0xffull) | EC_PAT_BAD);
}

#ifdef __x86_64__
static void brk_host_cr3_beyond(struct ec_run *r) { ec_or(r, HOST_CR3, beyond_phys()); }
static void brk_host_address_space(struct ec_run *r)
{
    ec_clear(r, VM_EXIT_CONTROLS, EXIT_HOST_ADDRESS_SPACE_SIZE);
}
static void brk_host_fs_base(struct ec_run *r) { ec_set(r, HOST_FS_BASE, noncanonical(0)); }
static void brk_host_gdtr_base(struct ec_run *r)
{
    ec_set(r, HOST_GDTR_BASE, noncanonical(vmr(HOST_GDTR_BASE)));
}
static void brk_host_tr_base(struct ec_run *r)
{
    ec_set(r, HOST_TR_BASE, noncanonical(vmr(HOST_TR_BASE)));
}
static void brk_host_rip(struct ec_run *r) { ec_set(r, HOST_RIP, noncanonical(vmr(HOST_RIP))); }
static void brk_host_sysenter_eip(struct ec_run *r)
{
    ec_set(r, HOST_IA32_SYSENTER_EIP, noncanonical(0));
}

static const char *prep_host_efer(struct ec_run *r)
{
    (void)r;
    return (vmx_caps.exit.allowed1 & EXIT_LOAD_IA32_EFER)
               ? NULL : "IA32_VMX_EXIT_CTLS bit 21 (load IA32_EFER) may not be 1";
}

static void brk_host_efer_lma(struct ec_run *r) { ec_clear(r, HOST_IA32_EFER, EFER_LMA); }
#else
static void brk_host_ss_zero(struct ec_run *r) { ec_set(r, HOST_SS_SELECTOR, 0); }

static const char *prep_exit_64bit(struct ec_run *r)
{
    (void)r;
    return (vmx_caps.exit.allowed1 & EXIT_HOST_ADDRESS_SPACE_SIZE)
               ? NULL : "IA32_VMX_EXIT_CTLS bit 9 (host address-space size) may not be 1";
}

static void brk_host_address_space(struct ec_run *r)
{
    ec_or(r, VM_EXIT_CONTROLS, EXIT_HOST_ADDRESS_SPACE_SIZE);
}

static const char *prep_entry_64bit(struct ec_run *r)
{
    (void)r;
    return (vmx_caps.entry.allowed1 & ENTRY_IA32E_MODE_GUEST)
               ? NULL : "IA32_VMX_ENTRY_CTLS bit 9 (IA-32e mode guest) may not be 1";
}

static void brk_ia32e_guest(struct ec_run *r)
{
    ec_or(r, VM_ENTRY_CONTROLS, ENTRY_IA32E_MODE_GUEST);
}

static const char *prep_pcide(struct ec_run *r)
{
    (void)r;
    return (vmx_caps.cr4_fixed1 & CR4_PCIDE) ? NULL : "IA32_VMX_CR4_FIXED1 lacks CR4.PCIDE";
}

static void brk_host_pcide(struct ec_run *r) { ec_or(r, HOST_CR4, CR4_PCIDE); }
#endif

#define HOST(name, sdm, prep, brk) {name, "27.2." sdm, prep, brk, NULL, EC_VMFAIL, 8, 0, NULL}

static const struct ec_row host_rows[] = {
    HOST("host CR0.NE clear (IA32_VMX_CR0_FIXED0)", "2", prep_cr0_ne, brk_host_cr0_ne),
    HOST("host CR4.VMXE clear (IA32_VMX_CR4_FIXED0)", "2", NULL, brk_host_cr4_vmxe),
    HOST("host CR4 bit outside IA32_VMX_CR4_FIXED1 set", "2", prep_cr4_reserved,
         brk_host_cr4_reserved),
    HOST("host IA32_PAT with reserved memory type 2", "2", prep_host_pat, brk_host_pat),
    HOST("host CS selector 0", "3", NULL, brk_host_cs_zero),
    HOST("host CS selector RPL 1", "3", NULL, brk_host_cs_rpl),
    HOST("host DS selector TI set", "3", NULL, brk_host_ds_ti),
    HOST("host TR selector 0", "3", NULL, brk_host_tr_zero),
#ifdef __x86_64__
    HOST("host CR3 beyond the physical-address width", "2", NULL, brk_host_cr3_beyond),
    HOST("host IA32_EFER.LMA clear with a 64-bit host", "2", prep_host_efer, brk_host_efer_lma),
    HOST("host FS base not canonical", "3", NULL, brk_host_fs_base),
    HOST("host GDTR base not canonical", "3", NULL, brk_host_gdtr_base),
    HOST("host TR base not canonical", "3", NULL, brk_host_tr_base),
    HOST("host IA32_SYSENTER_EIP not canonical", "2", NULL, brk_host_sysenter_eip),
    HOST("host address-space size 0 in IA-32e mode", "4", NULL, brk_host_address_space),
    HOST("host RIP not canonical", "4", NULL, brk_host_rip),
#else
    HOST("host SS selector 0 with host address-space size 0", "3", NULL, brk_host_ss_zero),
    HOST("host address-space size 1 outside IA-32e mode", "4", prep_exit_64bit,
         brk_host_address_space),
    HOST("IA-32e mode guest outside IA-32e mode", "4", prep_entry_64bit, brk_ia32e_guest),
    HOST("host CR4.PCIDE with host address-space size 0", "4", prep_pcide, brk_host_pcide),
#endif
};

static const struct ec_table host_table = {"entry-checks-host-state", host_rows,
                                           ARRAY_SIZE(host_rows)};

VMX_TEST("vmx/entry-checks-host-state", test_entry_host);
static void test_entry_host(const char *name)
{
    verdict_all_cpus(name, ec_check_table, (void *)&host_table);
}

/* ======================================================================== */
/* Guest state: exit reason 33 with bit 31 (27.3.1), qualification 0 but
 * for the PDPTEs (2) and the VMCS link pointer (4) (27.8). */

static void brk_guest_cr0_ne(struct ec_run *r) { ec_clear(r, GUEST_CR0, CR0_NE); }
static void brk_guest_cr4_vmxe(struct ec_run *r) { ec_clear(r, GUEST_CR4, CR4_VMXE); }
static void brk_guest_cr4_reserved(struct ec_run *r) { ec_or(r, GUEST_CR4, r->bit); }

/* IA32_PAT loaded on entry (the host's own value) */
static const char *prep_guest_pat(struct ec_run *r)
{
    (void)r;
    if (!(cpuid(1, 0).edx & CPUID1_EDX_PAT))
        return "no IA32_PAT (CPUID.01H:EDX bit 16)";
    if (!(vmx_caps.entry.allowed1 & ENTRY_LOAD_IA32_PAT))
        return "IA32_VMX_ENTRY_CTLS bit 14 (load IA32_PAT) may not be 1";
    vmw(GUEST_IA32_PAT, rdmsr(MSR_IA32_PAT));
    vmw(VM_ENTRY_CONTROLS, vmr(VM_ENTRY_CONTROLS) | ENTRY_LOAD_IA32_PAT);
    return NULL;
}

static void brk_guest_pat(struct ec_run *r)
{
    ec_set(r, GUEST_IA32_PAT, (vmr(GUEST_IA32_PAT) & ~0xffull) | EC_PAT_BAD);
}

static void brk_seg_ar(struct ec_run *r, u32 ar_field, u32 clear, u32 set)
{
    ec_set(r, ar_field, (vmr(ar_field) & ~(u64)clear) | set);
}

static void brk_cs_data(struct ec_run *r) { brk_seg_ar(r, GUEST_CS_AR_BYTES, 0xf, 0x3); }
static void brk_cs_dpl(struct ec_run *r) { brk_seg_ar(r, GUEST_CS_AR_BYTES, 0, AR_DPL3); }
static void brk_ss_code(struct ec_run *r) { brk_seg_ar(r, GUEST_SS_AR_BYTES, 0xf, 0xb); }
static void brk_ds_unaccessed(struct ec_run *r) { brk_seg_ar(r, GUEST_DS_AR_BYTES, 1, 0); }
static void brk_ds_granularity(struct ec_run *r) { brk_seg_ar(r, GUEST_DS_AR_BYTES, AR_G, 0); }
static void brk_tr_unusable(struct ec_run *r)
{
    brk_seg_ar(r, GUEST_TR_AR_BYTES, 0, AR_UNUSABLE);
}
static void brk_tr_available(struct ec_run *r) { brk_seg_ar(r, GUEST_TR_AR_BYTES, 0xf, 0x9); }
/* LDTR usable (present system segment) with type 3 instead of 2 */
static void brk_ldtr_type(struct ec_run *r) { ec_set(r, GUEST_LDTR_AR_BYTES, 0x83); }
static void brk_gdtr_limit(struct ec_run *r) { ec_set(r, GUEST_GDTR_LIMIT, 0x10000); }
static void brk_rflags_reserved(struct ec_run *r) { r->rflags = EFLAGS_RESERVED_15; }
static void brk_rflags_vm(struct ec_run *r) { r->rflags = EFLAGS_VM; }
static void brk_activity(struct ec_run *r) { ec_set(r, GUEST_ACTIVITY_STATE, 4); }
static void brk_sti_movss(struct ec_run *r) { ec_set(r, GUEST_INTERRUPTIBILITY_INFO, 3); }
/* Blocking by STI with RFLAGS.IF = 0 (the run enters with IF clear) */
static void brk_sti_if0(struct ec_run *r) { ec_set(r, GUEST_INTERRUPTIBILITY_INFO, 1); }
static void brk_interruptibility_reserved(struct ec_run *r)
{
    ec_set(r, GUEST_INTERRUPTIBILITY_INFO, 1u << 5);
}
static void brk_pending_dbg(struct ec_run *r) { ec_set(r, GUEST_PENDING_DBG_EXCEPTIONS, 1u << 4); }

static u8 *link_pages[LHV_MAX_CPUS];

/* A page that is no VMCS: its first word (revision) is 0 */
static void brk_link_zero_page(struct ec_run *r)
{
    ec_set(r, VMCS_LINK_POINTER, (uintptr_t)cpu_page(&link_pages));
}

static void brk_link_unaligned(struct ec_run *r)
{
    ec_set(r, VMCS_LINK_POINTER, (uintptr_t)r->v->vmcs + 0x800);
}

#ifdef __x86_64__
static void brk_guest_cr3_beyond(struct ec_run *r) { ec_or(r, GUEST_CR3, beyond_phys()); }
static void brk_cs_l_db(struct ec_run *r) { brk_seg_ar(r, GUEST_CS_AR_BYTES, 0, AR_DB); }
static void brk_fs_base(struct ec_run *r) { ec_set(r, GUEST_FS_BASE, noncanonical(0)); }
static void brk_gdtr_base(struct ec_run *r)
{
    ec_set(r, GUEST_GDTR_BASE, noncanonical(vmr(GUEST_GDTR_BASE)));
}
static void brk_guest_sysenter_esp(struct ec_run *r)
{
    ec_set(r, GUEST_SYSENTER_ESP, noncanonical(0));
}
static void brk_rip(struct ec_run *r) { r->rip = (uintptr_t)noncanonical(r->rip); }

static const char *prep_load_debug(struct ec_run *r)
{
    (void)r;
    if (!(vmx_caps.entry.allowed1 & ENTRY_LOAD_DEBUG_CONTROLS))
        return "IA32_VMX_ENTRY_CTLS bit 2 (load debug controls) may not be 1";
    vmw(VM_ENTRY_CONTROLS, vmr(VM_ENTRY_CONTROLS) | ENTRY_LOAD_DEBUG_CONTROLS);
    return NULL;
}

static void brk_dr7_high(struct ec_run *r) { ec_or(r, GUEST_DR7, 1ull << 32); }

static const char *prep_guest_efer(struct ec_run *r)
{
    (void)r;
    return (vmx_caps.entry.allowed1 & ENTRY_LOAD_IA32_EFER)
               ? NULL : "IA32_VMX_ENTRY_CTLS bit 15 (load IA32_EFER) may not be 1";
}

static void brk_guest_efer_lma(struct ec_run *r) { ec_clear(r, GUEST_IA32_EFER, EFER_LMA); }
#else
/* The guest's CR3 names a copy of the host's PDPT (PAE paging without
 * EPT: entry loads the four PDPTEs from it, 27.3.1.6) */
static u8 *pdpt_pages[LHV_MAX_CPUS];

static const char *prep_pdpt(struct ec_run *r)
{
    u64 *copy = (u64 *)cpu_page(&pdpt_pages);
    (void)r;
    memcpy(copy, (void *)(read_cr3() & ~0x1ful), 4 * sizeof(u64));
    if (!(copy[3] & 1))
        return "the host's PDPTE 3 is not present";
    vmw(GUEST_CR3, (uintptr_t)copy);
    return NULL;
}

/* Bit 1 of a present PDPTE is reserved (SDM 3A 4.4.1) */
static void brk_pdpte(struct ec_run *r)
{
    u64 *pdpt = (u64 *)(uintptr_t)vmr(GUEST_CR3);
    ec_poke(r, &pdpt[3], pdpt[3] | 2);
}
#endif

#define GUEST(name, sdm, prep, brk) \
    {name, "27.3.1." sdm, prep, brk, NULL, EC_EXIT, EXIT_REASON_INVALID_GUEST_STATE, 0, NULL}

static const struct ec_row guest_rows[] = {
    GUEST("guest CR0.NE clear (IA32_VMX_CR0_FIXED0)", "1", prep_cr0_ne, brk_guest_cr0_ne),
    GUEST("guest CR4.VMXE clear (IA32_VMX_CR4_FIXED0)", "1", NULL, brk_guest_cr4_vmxe),
    GUEST("guest CR4 bit outside IA32_VMX_CR4_FIXED1 set", "1", prep_cr4_reserved,
          brk_guest_cr4_reserved),
    GUEST("guest IA32_PAT with reserved memory type 2", "1", prep_guest_pat, brk_guest_pat),
    GUEST("guest CS of data type 3", "2", NULL, brk_cs_data),
    GUEST("guest CS DPL 3 with SS DPL 0", "2", NULL, brk_cs_dpl),
    GUEST("guest SS of code type 11", "2", NULL, brk_ss_code),
    GUEST("guest DS type without the accessed bit", "2", NULL, brk_ds_unaccessed),
    GUEST("guest DS limit 0xffffffff with G clear", "2", NULL, brk_ds_granularity),
    GUEST("guest TR unusable", "2", NULL, brk_tr_unusable),
    GUEST("guest TR of type 9 (TSS not busy)", "2", NULL, brk_tr_available),
    GUEST("guest LDTR usable with type 3", "2", NULL, brk_ldtr_type),
    GUEST("guest GDTR limit above 0xffff", "3", NULL, brk_gdtr_limit),
    GUEST("guest RFLAGS reserved bit 15 set", "4", NULL, brk_rflags_reserved),
    GUEST("guest RFLAGS.VM set", "4", NULL, brk_rflags_vm),
    GUEST("guest activity state 4", "5", NULL, brk_activity),
    GUEST("guest blocking by STI and by MOV SS", "5", NULL, brk_sti_movss),
    GUEST("guest blocking by STI with RFLAGS.IF 0", "5", NULL, brk_sti_if0),
    GUEST("guest interruptibility bit 5 set", "5", NULL, brk_interruptibility_reserved),
    GUEST("guest pending debug exceptions bit 4 set", "5", NULL, brk_pending_dbg),
    {"VMCS link pointer to a page without the VMCS revision", "27.3.1.5", NULL,
     brk_link_zero_page, NULL, EC_EXIT, EXIT_REASON_INVALID_GUEST_STATE, 4, NULL},
    {"VMCS link pointer not page aligned", "27.3.1.5", NULL, brk_link_unaligned, NULL, EC_EXIT,
     EXIT_REASON_INVALID_GUEST_STATE, 4, NULL},
#ifdef __x86_64__
    GUEST("guest CR3 beyond the physical-address width", "1", NULL, brk_guest_cr3_beyond),
    GUEST("guest DR7 bit 32 set with load debug controls", "1", prep_load_debug, brk_dr7_high),
    GUEST("guest IA32_EFER.LMA clear in an IA-32e mode guest", "1", prep_guest_efer,
          brk_guest_efer_lma),
    GUEST("guest IA32_SYSENTER_ESP not canonical", "1", NULL, brk_guest_sysenter_esp),
    GUEST("guest CS with L and D/B set", "2", NULL, brk_cs_l_db),
    GUEST("guest FS base not canonical", "2", NULL, brk_fs_base),
    GUEST("guest GDTR base not canonical", "3", NULL, brk_gdtr_base),
    /* Bochs 2.7 and 3.0 check only bits 63:32 of RIP, and only outside
     * 64-bit mode: the log shows the guest entered and "prefetch: #GP(0):
     * RIP crossed canonical boundary", so the exit is 0 (#GP), not 33. */
    {"guest RIP not canonical in 64-bit mode", "27.3.1.4", NULL, brk_rip, NULL, EC_EXIT,
     EXIT_REASON_INVALID_GUEST_STATE, 0, "no such check"},
#else
    {"guest PDPTE 3 with reserved bit 1 set", "27.3.1.6", prep_pdpt, brk_pdpte, NULL, EC_EXIT,
     EXIT_REASON_INVALID_GUEST_STATE, 2, NULL},
#endif
};

static const struct ec_table guest_table = {"entry-checks-guest-state", guest_rows,
                                            ARRAY_SIZE(guest_rows)};

VMX_TEST("vmx/entry-checks-guest-state", test_entry_guest);
static void test_entry_guest(const char *name)
{
    verdict_all_cpus(name, ec_check_table, (void *)&guest_table);
}

/* ======================================================================== */
/* MSR loading: exit reason 34 with bit 31, the qualification the 1-based
 * index of the failing entry (27.4, 27.8). The VM-entry MSR-load area holds
 * `count` harmless entries (IA32_SYSENTER_ESP = 0); entry `pos` is replaced
 * by the bad one; the twin puts the harmless one back. */

struct ec_bad_msr {
    u32 count; /* entries in the area; the bad one at the row's qualification */
    u32 index, reserved;
    u64 value;
};

static const char *prep_entry_load(struct ec_run *r)
{
    const struct ec_bad_msr *b = r->row->arg;
    struct vmx_msr_area *a = &ec_areas[0][this_cpu()->index];

    msr_area_reset(a);
    for (u32 i = 0; i < b->count; i++)
        msr_area_add(a, MSR_IA32_SYSENTER_ESP, 0);
    vmx_set_msr_areas(a, NULL, NULL);
    return NULL;
}

static const char *prep_entry_load_lm(struct ec_run *r)
{
    if (!(cpuid(0x80000001, 0).edx & CPUID80000001_EDX_LM))
        return "no IA32_KERNEL_GS_BASE (CPUID.80000001H:EDX bit 29)";
    return prep_entry_load(r);
}

/* Entry number row->qual (1-based) becomes the bad one */
static void brk_entry_load(struct ec_run *r)
{
    const struct ec_bad_msr *b = r->row->arg;
    struct vmx_msr_entry *e = &ec_areas[0][this_cpu()->index].entries[r->row->qual - 1];

    /* An entry is two quadwords: index and reserved bits, then the value */
    ec_poke(r, (u64 *)e, b->index | (u64)b->reserved << 32);
    ec_poke(r, &e->value, b->value);
}

static const struct ec_bad_msr bad_fs_base = {3, MSR_IA32_FS_BASE, 0, 0};
static const struct ec_bad_msr bad_smbase = {2, MSR_IA32_SMBASE, 0, 0x30000};
static const struct ec_bad_msr bad_x2apic = {3, MSR_X2APIC_TPR, 0, 0};
static const struct ec_bad_msr bad_reserved = {2, MSR_IA32_SYSENTER_ESP, 1, 0};
static const struct ec_bad_msr bad_kernel_gs = {1, MSR_IA32_KERNEL_GS_BASE, 0, 1ull << 62};

#define EC_MSR_ROW(name, prep, bad, pos) \
    {name, "27.4", prep, brk_entry_load, &bad, EC_EXIT, EXIT_REASON_MSR_LOADING, pos, NULL}

static const struct ec_row msr_rows[] = {
    EC_MSR_ROW("IA32_FS_BASE as entry 2 of 3", prep_entry_load, bad_fs_base, 2),
    EC_MSR_ROW("IA32_SMBASE (SMM only) as entry 1 of 2", prep_entry_load, bad_smbase, 1),
    EC_MSR_ROW("x2APIC TPR (0x808) as entry 3 of 3", prep_entry_load, bad_x2apic, 3),
    EC_MSR_ROW("entry 2 of 2 with reserved bits 63:32 set", prep_entry_load, bad_reserved, 2),
    EC_MSR_ROW("IA32_KERNEL_GS_BASE not canonical (WRMSR would #GP) as entry 1 of 1",
            prep_entry_load_lm, bad_kernel_gs, 1),
};

static const struct ec_table msr_table = {"entry-checks-msr-load", msr_rows,
                                          ARRAY_SIZE(msr_rows)};

VMX_TEST("vmx/entry-checks-msr-load", test_entry_msr_load);
static void test_entry_msr_load(const char *name)
{
    verdict_all_cpus(name, ec_check_table, (void *)&msr_table);
}
