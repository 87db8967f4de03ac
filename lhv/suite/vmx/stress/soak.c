/* Soak: a long run of VM exits on every CPU at once (issue #6). Each
 * CPU's guest makes lhv.soak=N exits, CPUID of an LHV leaf (SDM 3C 26.1.2)
 * and an LHV VMCALL in turn; the host answers each with its own running
 * count, and the guest compares that with its own, so a lost, doubled or
 * misdirected exit shows at the exit where it happened. At the end the
 * host's and the guest's counts must both be N. Each CPU prints
 * "soak: CPU i: N exits in T TSC ticks (M ms, P ticks per exit)".
 *
 * The run goes in slices of at most SLICE_MS: the guest stops after the
 * exit that ends a slice and goes on from there in the next one (its VMCS
 * keeps its state; VMRESUME), so that no CPU stays in one cross-call long
 * enough for the watchdog (smp.c) to take it for lost, however large N. */
#include "console.h"
#include "cpu.h"
#include "div64.h"
#include "smp.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

#define SOAK_CPUID_LEAF 0x4c48534bu /* "KSHL": a leaf only LHV's host answers */
#define SOAK_HC 0x0f20              /* LHV's hypercall range (docs/design.md §3) */
#define SLICE_MS 200
#define SOAK_MAX_SLICES 1000000u    /* an end for a guest that makes no progress */

/* One CPU's soak: the guest's side (written by the guest) and the host's. */
struct soak_cpu {
    u32 want;                /* exits to make */
    volatile u32 guest_seen; /* answers the guest found right */
    volatile u32 bad_at;     /* the exit whose answer was wrong (0: none) */
    volatile u32 bad_answer;
    u32 host_count;          /* soak exits the host handled */
    u32 mismatch;            /* VMCALLs whose sequence number was not the host's */
    u64 deadline;            /* TSC at which the current slice ends */
    u64 ticks;               /* TSC ticks spent in the guest */
    bool started, finished;
    struct cpu_outcome o;
};

static struct soak_cpu soak[LHV_MAX_CPUS];
static u64 slice_ticks;

/* The guest: exit i (from 1) must be answered with i. */
static void soak_guest(void *arg)
{
    struct soak_cpu *s = arg;

    for (u32 i = 1; i <= s->want; i++) {
        u32 answer = (i & 1) ? cpuid(SOAK_CPUID_LEAF, 0).eax
                             : (u32)guest_hypercall(SOAK_HC, i, 0, 0);
        if (answer != i) {
            s->bad_at = i;
            s->bad_answer = answer;
            return;
        }
        s->guest_seen = i;
    }
}

static enum exit_action soak_hook(struct vcpu *v, u32 reason)
{
    struct soak_cpu *s = v->test_data;

    if (reason == EXIT_REASON_CPUID && (u32)REG_AX(v) == SOAK_CPUID_LEAF) {
        REG_AX(v) = ++s->host_count;
    } else if (reason == EXIT_REASON_VMCALL && (u32)REG_AX(v) == SOAK_HC) {
        s->mismatch += (u32)REG_BX(v) != s->host_count + 1;
        REG_AX(v) = ++s->host_count;
    } else {
        return EXIT_DEFAULT;
    }
    vcpu_skip_instruction();
    return rdtsc() >= s->deadline ? EXIT_STOP : EXIT_RESUME;
}

/* One slice on this CPU: the first one sets the guest up. */
static void soak_slice(void *arg)
{
    struct soak_cpu *s = &soak[this_cpu()->index];
    struct vcpu *v = test_guest_of_this_cpu();
    (void)arg;

    if (s->finished)
        return;
    if (!s->started) {
        s->started = true;
        if (!(v = test_guest(&s->o))) {
            s->finished = true;
            return;
        }
        s->want = suite_soak();
        v->hook = soak_hook;
        v->test_data = s;
        v->exits = 0;
        vcpu_set_call(v, soak_guest, s);
    } else if (vmx_vmptrld((uintptr_t)v->vmcs) != VMX_OK) {
        outcome_fail(&s->o, "VMPTRLD of the soak guest's VMCS failed");
        s->finished = true;
        return;
    }
    u64 t0 = rdtsc();
    s->deadline = t0 + slice_ticks;
    struct run_result r = vcpu_continue(v);
    s->ticks += rdtsc() - t0;
    if (run_failed(r))
        outcome_fail(&s->o, "after %u exits: %s", s->host_count, r.why);
    s->finished = r.end != RUN_STOPPED;
}

static bool all_finished(void)
{
    for (u32 i = 0; i < smp_cpu_count(); i++)
        if (cpus[i].online && !soak[i].finished)
            return false;
    return true;
}

/* The verdict of this CPU from what its slices left. */
static void soak_result(struct cpu_outcome *o, void *arg)
{
    struct soak_cpu *s = &soak[this_cpu()->index];
    struct vcpu *v = test_guest_of_this_cpu();
    (void)arg;

    if (s->o.failed || s->o.skipped) {
        *o = s->o;
        return;
    }
    if (!s->finished) {
        outcome_fail(o, "the guest had not finished after %u slices of %u ms (%u exits)",
                     SOAK_MAX_SLICES, SLICE_MS, s->host_count);
        return;
    }
    if (s->bad_at)
        outcome_fail(o, "exit %u: the guest got the answer %u", s->bad_at, s->bad_answer);
    else if (s->mismatch)
        outcome_fail(o, "%u VMCALLs carried a sequence number the host had not reached",
                     s->mismatch);
    else if (s->host_count != s->want || s->guest_seen != s->want)
        outcome_fail(o, "the host handled %u soak exits, the guest saw %u, lhv.soak=%u",
                     s->host_count, s->guest_seen, s->want);
    else if (v->exits < s->want + 1)
        outcome_fail(o, "the run loop counted %u exits, fewer than the %u soak exits and "
                     "the final VMCALL", v->exits, s->want + 1);
    else
        printf("soak: CPU %u: %u exits in %llu TSC ticks (%llu ms, %llu ticks per exit)\n",
               this_cpu()->index, s->host_count, s->ticks,
               udiv64(s->ticks, smp_tsc_per_ms() ? smp_tsc_per_ms() : 1, NULL),
               udiv64(s->ticks, s->want, NULL));
}

VMX_TEST("vmx/soak-exits", test_soak_exits);
static void test_soak_exits(const char *name)
{
    memset(soak, 0, sizeof(soak));
    slice_ticks = SLICE_MS * smp_tsc_per_ms(); /* 0 if the TSC stood still: one exit a slice */
    for (u32 n = 0; n < SOAK_MAX_SLICES && !all_finished(); n++)
        on_all_cpus(soak_slice, NULL);
    verdict_all_cpus(name, soak_result, NULL);
}
