/* Guests on all CPUs at once under a storm of IPIs between the CPUs,
 * external-interrupt exiting taking each one (SDM 3C 25.6.1, 26.2). */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "lapic.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "trap.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"
#include "suite/guests.h"

/* ===== vmx/multi-ipi-storm =================================================
 * Every CPU runs a guest with external-interrupt exiting (25.6.1) at the
 * same time, and every guest sends fixed IPIs (SDM 3A 11.6.1), STORM_IPIS
 * spread over the other CPUs in rounds (at least STORM_MIN_ROUNDS to each),
 * through the LAPIC it shares with the host (no APIC virtualization, no
 * MSR exits). An IPI that arrives while its target is
 * in its guest exits (reason 1, 26.2) and the host takes it through its
 * IDT; a guest stays in until the IPIs of every other CPU have come, so
 * every one must be taken at an exit of the target's guest (the host keeps
 * interrupts off around the run, pending ones exit right after VM entry).
 * The guests run with RFLAGS.IF=1, which external-interrupt exiting makes
 * irrelevant on hardware; with IF=0 Bochs 2.7 misses the exits (see
 * vmx/multi-ipi-pending-at-entry). A sender's vector is STORM_VECTOR +
 * (sender mod STORM_VECTORS), and a sender claims its slot at the target
 * before it sends: with at most one IPI per vector in flight the LAPIC cannot merge
 * two (one IRR bit per vector), so every IPI sent must be counted at its
 * target, by sender. A lost IPI leaves its slot claimed: the senders
 * waiting for it time out. */

#define STORM_VECTOR 0xc0
#define STORM_VECTORS 4
#define STORM_IPIS 1000
#define STORM_MIN_ROUNDS 100
#define STORM_TIMEOUT_MS 2000

struct storm_cpu {
    u64 timeout;           /* TSC ticks */
    volatile bool timed_out;
    bool sending;          /* timed out sending, else receiving */
    u32 waiting_for;       /* the CPU it timed out on */
    u32 ext_exits;         /* external-interrupt exits of its guest */
};

static volatile u32 storm_slot[LHV_MAX_CPUS][STORM_VECTORS]; /* sender + 1, or 0 */
static volatile u32 storm_sent[LHV_MAX_CPUS][LHV_MAX_CPUS];  /* [sender][target] */
static volatile u32 storm_got[LHV_MAX_CPUS][LHV_MAX_CPUS];   /* [target][sender] */
static volatile u32 storm_in_guest[LHV_MAX_CPUS];  /* taken at an exit of the guest */
static volatile u32 storm_stray[LHV_MAX_CPUS];     /* arrived with no sender in the slot */
static struct storm_cpu storm[LHV_MAX_CPUS];
static struct smp_barrier storm_barrier;
static u32 storm_rounds; /* IPIs from each CPU to each other one */

/* Host handler of the storm vectors: the slot names the sender. */
static void storm_interrupt(struct trap_frame *f)
{
    u32 me = this_cpu()->index, k = (u32)f->vector - STORM_VECTOR;
    u32 from = __atomic_exchange_n(&storm_slot[me][k], 0, __ATOMIC_ACQ_REL);

    lapic_eoi();
    if (!from) {
        storm_stray[me]++;
        return;
    }
    storm_got[me][from - 1]++;
    if (this_cpu()->in_guest)
        storm_in_guest[me]++;
}

/* Claims the slot at target t, waiting while another IPI is in flight. */
static bool storm_claim(u32 me, u32 t, u64 start, u64 timeout)
{
    volatile u32 *slot = &storm_slot[t][me % STORM_VECTORS];

    for (;;) {
        u32 expected = 0;
        if (__atomic_compare_exchange_n(slot, &expected, me + 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return true;
        if (rdtsc() - start > timeout)
            return false;
        cpu_relax();
    }
}

/* A CPU that has not yet received all IPIs of another, or NO_CPU. */
#define NO_CPU 0xffffffffu
static u32 storm_missing(u32 me)
{
    for (u32 i = 0; i < smp_cpu_count(); i++)
        if (i != me && cpus[i].online && storm_got[me][i] < storm_rounds)
            return i;
    return NO_CPU;
}

static void storm_timed_out(struct storm_cpu *s, bool sending, u32 cpu)
{
    s->timed_out = true;
    s->sending = sending;
    s->waiting_for = cpu;
}

/* The guest: storm_rounds rounds of one IPI to each other online CPU, then
 * it waits for theirs. */
static void storm_guest(void *arg)
{
    struct storm_cpu *s = arg;
    u32 me = this_cpu()->index, from;
    u64 start = rdtsc();

    for (u32 r = 0; r < storm_rounds; r++)
        for (u32 t = 0; t < smp_cpu_count(); t++) {
            if (t == me || !cpus[t].online)
                continue;
            if (!storm_claim(me, t, start, s->timeout)) {
                storm_timed_out(s, true, t);
                return;
            }
            lapic_send_ipi(cpus[t].apic_id, STORM_VECTOR + me % STORM_VECTORS);
            storm_sent[me][t]++;
        }
    while ((from = storm_missing(me)) != NO_CPU) {
        if (rdtsc() - start > s->timeout) {
            storm_timed_out(s, false, from);
            return;
        }
        cpu_relax();
    }
}

/* fn(arg) in the guest, entered with RFLAGS.IF set; false after
 * outcome_fail. */
static bool run_with_if(struct cpu_outcome *o, struct vcpu *v, void (*fn)(void *), void *arg)
{
    vcpu_set_call(v, fn, arg);
    vmw(GUEST_RFLAGS, vmr(GUEST_RFLAGS) | EFLAGS_IF);
    v->exits = 0;
    struct run_result r = vcpu_continue(v);
    if (r.end == RUN_DONE)
        return true;
    outcome_fail(o, "%s", run_failed(r) ? r.why : "the guest stopped before it finished");
    return false;
}

static enum exit_action storm_hook(struct vcpu *v, u32 reason)
{
    struct storm_cpu *s = v->test_data;
    if (reason == EXIT_REASON_EXTERNAL_INTERRUPT)
        s->ext_exits++;
    return EXIT_DEFAULT;
}

/* This CPU as a target: from each sender, as many as it sent. */
static bool storm_count(struct cpu_outcome *o)
{
    u32 me = this_cpu()->index, got = 0;

    for (u32 i = 0; i < smp_cpu_count(); i++) {
        if (i == me || !cpus[i].online)
            continue;
        if (storm_got[me][i] != storm_sent[i][me] || storm_sent[i][me] != storm_rounds) {
            outcome_fail(o, "from CPU %u: %u IPIs sent, %u received, expected %u", i,
                         storm_sent[i][me], storm_got[me][i], storm_rounds);
            return false;
        }
        got += storm_got[me][i];
    }
    if (storm_stray[me]) {
        outcome_fail(o, "%u storm IPIs arrived with no sender waiting", storm_stray[me]);
        return false;
    }
    if (storm_in_guest[me] != got || (got && !storm[me].ext_exits)) {
        outcome_fail(o, "%u of %u IPIs were taken at the %u external-interrupt exits of the "
                     "guest, expected all", storm_in_guest[me], got, storm[me].ext_exits);
        return false;
    }
    printf("storm: CPU %u: %u IPIs received, %u at external-interrupt exits of its guest "
           "(%u such exits)\n", me, got, storm_in_guest[me], storm[me].ext_exits);
    return true;
}

static void check_storm(struct cpu_outcome *o, void *arg)
{
    struct storm_cpu *s = &storm[this_cpu()->index];
    (void)arg;

    struct vcpu *v = test_guest(o);
    if (!v)
        return;
    if (smp_online_count() < 2) {
        outcome_skip(o, "needs 2 or more CPUs (%u online)", smp_online_count());
        return;
    }
    v->hook = storm_hook;
    v->test_data = s;
    if (!(vmr(PIN_BASED_VM_EXEC_CONTROL) & PIN_EXTERNAL_INTERRUPT_EXITING)) {
        outcome_fail(o, "guest setup left external-interrupt exiting clear");
        return;
    }
    unsigned long flags = irq_save();
    bool started = smp_barrier_wait(&storm_barrier, STORM_TIMEOUT_MS);
    bool ran = started && run_with_if(o, v, storm_guest, s);
    irq_restore(flags);
    if (!started)
        outcome_fail(o, "not every CPU came to the start within %u ms", STORM_TIMEOUT_MS);
    if (!ran)
        return;
    u32 me = this_cpu()->index, t = s->waiting_for;
    if (s->timed_out && s->sending) {
        outcome_fail(o, "the guest timed out (%u ms) waiting for its previous IPI to CPU %u "
                     "to arrive (sent %u, that CPU counted %u)", STORM_TIMEOUT_MS, t,
                     storm_sent[me][t], storm_got[t][me]);
        return;
    }
    if (s->timed_out) {
        outcome_fail(o, "the guest timed out (%u ms) waiting for the IPIs of CPU %u (%u of %u "
                     "arrived)", STORM_TIMEOUT_MS, t, storm_got[me][t], storm_rounds);
        return;
    }
    /* every CPU has all its IPIs: the senders' counts are final */
    if (!smp_barrier_wait(&storm_barrier, STORM_TIMEOUT_MS))
        outcome_fail(o, "not every CPU finished within %u ms", STORM_TIMEOUT_MS);
    else
        storm_count(o);
}

VMX_TEST("vmx/multi-ipi-storm", test_storm);
static void test_storm(const char *name)
{
    u64 timeout = STORM_TIMEOUT_MS * smp_tsc_per_ms();

    for (u32 k = 0; k < STORM_VECTORS; k++)
        trap_set_handler(STORM_VECTOR + k, storm_interrupt);
    memset((void *)storm_slot, 0, sizeof(storm_slot));
    memset((void *)storm_sent, 0, sizeof(storm_sent));
    memset((void *)storm_got, 0, sizeof(storm_got));
    memset((void *)storm_in_guest, 0, sizeof(storm_in_guest));
    memset((void *)storm_stray, 0, sizeof(storm_stray));
    memset(storm, 0, sizeof(storm));
    for (u32 i = 0; i < LHV_MAX_CPUS; i++)
        storm[i].timeout = timeout;
    smp_barrier_init(&storm_barrier, smp_online_count());
    storm_rounds = STORM_IPIS / (smp_online_count() > 1 ? smp_online_count() - 1 : 1);
    if (storm_rounds < STORM_MIN_ROUNDS)
        storm_rounds = STORM_MIN_ROUNDS;
    verdict_all_cpus(name, check_storm, NULL);
}
