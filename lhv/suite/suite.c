/* Runs the tests the linker collected, in link order, and combines the
 * outcomes of tests that run on every CPU into one verdict. */
#include "cpu.h"
#include "deadline.h"
#include "emulator.h"
#include "options.h"
#include "smp.h"
#include "string.h"
#include "suite.h"
#include "vmx/vmx.h"
#include "x86.h"

extern const struct test __tests_start[], __tests_end[];

static bool interrupts_on(void)
{
    unsigned long flags;
    __asm__ volatile("pushf\n\tpop %0" : "=r"(flags));
    return flags & EFLAGS_IF;
}

/* Each test starts with the interrupt flag as the suite had it, whatever
 * the one before left (with lhv.iterations any test may follow any other). */
void suite_run(void)
{
    bool on = interrupts_on();

    for (const struct test *t = __tests_start; t < __tests_end; t++) {
        if (!test_selected(t->name))
            continue;
        if (t->needs_vmx && !vmx_caps.present) {
            verdict_skip(t->name, "%s", vmx_caps.absent);
        } else {
            deadline_start(t->name);
            t->run(t->name);
            deadline_stop();
        }
        if (on)
            __asm__ volatile("sti" : : : "memory");
        else
            __asm__ volatile("cli" : : : "memory");
    }
}

static u32 soak_exits = LHV_SOAK_DEFAULT;

void suite_set_soak(u32 exits) { soak_exits = exits; }
u32 suite_soak(void) { return soak_exits; }

static u32 fuzz_trials = LHV_FUZZ_DEFAULT, fuzz_seed = 1, fuzz_replay;

void suite_set_fuzz(u32 trials, u32 seed, u32 replay)
{
    fuzz_trials = trials;
    fuzz_seed = seed;
    fuzz_replay = replay;
}
u32 suite_fuzz_trials(void) { return fuzz_trials; }
u32 suite_fuzz_seed(void) { return fuzz_seed; }
u32 suite_fuzz_replay(void) { return fuzz_replay; }

static const char *fuzz_break = "";
void suite_set_fuzz_break(const char *id) { fuzz_break = id; }
const char *suite_fuzz_break(void) { return fuzz_break; }

enum outcome_kind { OUTCOME_FAIL, OUTCOME_SKIP, OUTCOME_XFAIL };

u32 suite_selected_count(void)
{
    u32 n = 0;
    for (const struct test *t = __tests_start; t < __tests_end; t++)
        n += test_selected(t->name);
    return n;
}

static void outcome_set(struct cpu_outcome *o, enum outcome_kind kind, const char *fmt,
                        va_list ap)
{
    if (o->failed)
        return; /* the first failure is the reason */
    o->failed = kind == OUTCOME_FAIL;
    o->skipped = kind == OUTCOME_SKIP;
    o->xfailed = kind == OUTCOME_XFAIL;
    vsnprintf(o->why, sizeof(o->why), fmt, ap);
}

void outcome_fail(struct cpu_outcome *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    outcome_set(o, OUTCOME_FAIL, fmt, ap);
    va_end(ap);
}

void outcome_skip(struct cpu_outcome *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    outcome_set(o, OUTCOME_SKIP, fmt, ap);
    va_end(ap);
}

void outcome_xfail(struct cpu_outcome *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    outcome_set(o, OUTCOME_XFAIL, fmt, ap);
    va_end(ap);
}

bool outcome_check(struct cpu_outcome *o, bool ok, const char *file, int line, const char *cond)
{
    if (!ok)
        outcome_fail(o, "%s:%d: %s", file, line, cond);
    return ok;
}

bool outcome_check_eq(struct cpu_outcome *o, u64 got, u64 want, const char *file, int line,
                      const char *got_expr, const char *want_expr)
{
    if (got == want)
        return true;
    outcome_fail(o, "%s:%d: %s == %s: got 0x%llx (%llu), expected 0x%llx (%llu)", file, line,
                 got_expr, want_expr, got, got, want, want);
    return false;
}

bool l0_bochs_deviates(u32 versions)
{
    u32 v = emulator_bochs_version();
    enum emulator e = emulator_detect();

    if (e == EMU_LHV && (versions & BOCHS_VIA_L0))
        e = emulator_below(&v);
    return e == EMU_BOCHS && (v == LHV_BOCHS_UNKNOWN || (v & versions));
}

/* The cause, in Bochs 3.0's SMP loop (bx_begin_simulation, main.cc): the
 * loop's setjmp catches every CPU's exception or VM exit and counts the
 * instruction with BX_CPU(processor)->icount++, but `processor`, a local
 * changed after the setjmp and not volatile, comes back as 0 (its value at
 * the setjmp). The shadow is "icount <= inhibit_icount" (cpu/event.cc), so
 * one stray count on CPU 0 ends it. */
bool l0_bochs_shadow_lost_here(void)
{
    return this_cpu()->index == 0 && smp_online_count() > 1 && l0_bochs_deviates(BOCHS_3_0_ONLY);
}

const char *l0_bochs_names(u32 versions)
{
    static char via[40];
    const char *n;

    switch (versions & (LHV_BOCHS_2_7 | LHV_BOCHS_3_0)) {
    case LHV_BOCHS_2_7: n = "Bochs 2.7"; break;
    case LHV_BOCHS_3_0: n = "Bochs 3.0"; break;
    default: n = "Bochs 2.7 and 3.0"; break;
    }
    if (emulator_detect() != EMU_LHV)
        return n;
    snprintf(via, sizeof via, "%s through LHV's L0", n);
    return via;
}

static struct cpu_outcome outcomes[LHV_MAX_CPUS];

struct all_cpus_check {
    void (*check)(struct cpu_outcome *o, void *arg);
    void *arg;
};

static void run_check(void *p)
{
    const struct all_cpus_check *c = p;
    struct cpu_outcome *o = &outcomes[this_cpu()->index];
    memset(o, 0, sizeof(*o));
    c->check(o, c->arg);
}

void verdict_all_cpus(const char *name, void (*check)(struct cpu_outcome *o, void *arg),
                      void *arg)
{
    struct all_cpus_check c = {check, arg};
    char failed[128] = "";
    size_t len = 0;
    int first = -1, xfail = -1;
    u32 skipped = 0, online = 0;

    bool was_lost[LHV_MAX_CPUS];
    for (u32 i = 0; i < smp_cpu_count(); i++)
        was_lost[i] = cpus[i].lost;
    /* the CPUs there are, not all LHV_MAX_CPUS slots: 10 KB a test, which
     * Bochs stores a dword a tick */
    memset(outcomes, 0, smp_cpu_count() * sizeof(outcomes[0]));
    on_all_cpus(run_check, &c);
    for (u32 i = 0; i < smp_cpu_count(); i++) {
        if (cpus[i].lost && !was_lost[i])
            outcome_fail(&outcomes[i], "stopped answering (APIC ID %u)", cpus[i].apic_id);
        else if (!cpus[i].online)
            continue;
        online += !cpus[i].lost;
        skipped += outcomes[i].skipped;
        if (outcomes[i].xfailed && xfail < 0)
            xfail = (int)i;
        if (!outcomes[i].failed)
            continue;
        if (first < 0)
            first = (int)i;
        if (len < sizeof(failed))
            len += (size_t)snprintf(failed + len, sizeof(failed) - len, "%s%u", len ? "," : "", i);
    }
    if (first >= 0)
        verdict_fail(name, "CPU %s: %s", failed, outcomes[first].why);
    else if (xfail >= 0)
        verdict_xfail(name, "%s", outcomes[xfail].why);
    else if (skipped == online)
        verdict_skip(name, "%s", outcomes[0].why);
    else
        verdict_pass(name);
}
