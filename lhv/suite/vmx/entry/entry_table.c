/* The machinery of the VM-entry check tables (entry_checks.h): breaking
 * and undoing, entering and judging, one table on one CPU. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "end.h"
#include "string.h"
#include "vmx/vmx.h"
#include "x86.h"
#include "entry_checks.h"

/* --- small facts --------------------------------------------------------- */

static u32 phys_bits(void)
{
    if (cpuid(0x80000000, 0).eax >= 0x80000008)
        return cpuid(0x80000008, 0).eax & 0xff;
    return 36;
}

u64 beyond_phys(void) { return 1ull << phys_bits(); }

u8 *cpu_page(u8 *(*pages)[LHV_MAX_CPUS])
{
    u8 **p = &(*pages)[this_cpu()->index];
    if (!*p)
        *p = alloc_pages(1);
    memset(*p, 0, PAGE_SIZE);
    return *p;
}

/* --- breaking and undoing ------------------------------------------------ */

void ec_set(struct ec_run *r, u32 field, u64 value)
{
    if (r->nfields >= EC_UNDO_MAX)
        fatal("vmx/entry: row %s changes too many fields", r->row->name);
    r->fields[r->nfields].field = field;
    r->fields[r->nfields++].value = vmr(field);
    vmw(field, value);
}

void ec_poke(struct ec_run *r, u64 *addr, u64 value)
{
    if (r->nwords >= EC_UNDO_MAX)
        fatal("vmx/entry: row %s changes too many words", r->row->name);
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

void ec_check_table(struct cpu_outcome *o, void *arg)
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
        fatal("vmx/entry: table %s has %u rows", t->what, t->n);
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

struct vmx_msr_area ec_areas[3][LHV_MAX_CPUS];

struct vmx_msr_area *ec_area(u32 which)
{
    struct vmx_msr_area *a = &ec_areas[which][this_cpu()->index];
    msr_area_reset(a);
    msr_area_add(a, MSR_IA32_SYSENTER_ESP, 0);
    return a;
}

const char *prep_cr0_ne(struct ec_run *r)
{
    (void)r;
    return (vmx_caps.cr0_fixed0 & CR0_NE) ? NULL : "IA32_VMX_CR0_FIXED0 does not fix CR0.NE";
}

const char *prep_cr4_reserved(struct ec_run *r)
{
    r->bit = lowest_bit((unsigned long)~vmx_caps.cr4_fixed1);
    return r->bit ? NULL : "IA32_VMX_CR4_FIXED1 allows every CR4 bit";
}
