/* INIT and SIPI to a CPU in VMX non-root operation (SDM 3C 26.2; 24.8:
 * INIT is blocked in VMX root operation, so the target must already be in
 * its guest when the INIT comes; a SIPI is ignored unless the CPU is in
 * the wait-for-SIPI state). CPU 0 sends, every other CPU is a target; with
 * one CPU both SKIP: nothing can send.
 * - vmx/wait-for-sipi: VM entry with activity state 3 (IA32_VMX_MISC bit
 *   8): the guest runs nothing until a SIPI, which exits with reason 4 and
 *   the SIPI's vector as qualification (28.2.1). CPU 0 sends SIPIs every
 *   millisecond until the target reports (one sent while it is still in
 *   VMX root operation is ignored).
 * - vmx/init-signal-exit: the guest spins after marking that it runs; CPU
 *   0 then sends one INIT, which exits with reason 3 (26.2) instead of
 *   resetting the CPU.
 * Both send nothing on the Bochs versions whose INIT or SIPI exit leaves
 * the target CPU unusable (XFAIL; docs/l0-deviations.md). */
#include "cpu.h"
#include "lapic.h"
#include "smp.h"
#include "suite/vmx_test.h"
#include "timer.h"
#include "vmx/vmx.h"
#include "x86.h"

#define SI_VECTOR 0x42      /* the SIPI's vector (a start page, never used) */
#define SI_WAIT_MS 3000     /* how long CPU 0 waits for each step */

struct si_target {
    volatile bool ready, done, stop; /* ready: entering (SIPI) or running (INIT) */
    bool ran;
    u32 exits, qual;
};

static struct si_target si_targets[LHV_MAX_CPUS];

static void si_prepare(void)
{
    for (u32 i = 0; i < LHV_MAX_CPUS; i++)
        si_targets[i] = (struct si_target){0};
}

/* The INIT target's guest: marks that it runs, then spins until INIT
 * exits it (or CPU 0 gives up) */
static void si_spin(void *arg)
{
    struct si_target *t = arg;
    t->ready = true;
    while (!t->stop)
        cpu_relax();
    t->ran = true;
}

static void si_mark_ran(void *arg) { ((struct si_target *)arg)->ran = true; }

static enum exit_action si_hook(struct vcpu *v, u32 reason)
{
    struct si_target *t = v->test_data;

    if (reason != EXIT_REASON_SIPI && reason != EXIT_REASON_INIT)
        return EXIT_DEFAULT;
    t->exits++;
    t->qual = (u32)v->exit_qual;
    return vcpu_finish(v);
}

/* CPU 0 waits up to SI_WAIT_MS for a flag, doing `each` every ms */
static bool si_wait(volatile bool *flag, u32 apic_id, u32 each)
{
    for (u32 ms = 0; ms < SI_WAIT_MS; ms++) {
        if (*flag)
            return true;
        if (each)
            lapic_send_ipi(apic_id, each);
        timer_wait_ms(1);
    }
    return *flag;
}

/* CPU 0: each online target in turn */
static void si_send(struct cpu_outcome *o, bool sipi)
{
    for (u32 i = 1; i < smp_cpu_count(); i++) {
        struct si_target *t = &si_targets[i];
        if (!cpus[i].online)
            continue;
        if (!si_wait(&t->ready, 0, 0)) {
            outcome_fail(o, "CPU %u never got ready", i);
            t->stop = true;
            continue;
        }
        if (!sipi)
            lapic_send_ipi(cpus[i].apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
        if (!si_wait(&t->done, cpus[i].apic_id, sipi ? ICR_STARTUP | SI_VECTOR : 0)) {
            outcome_fail(o, "CPU %u did not exit for the %s", i, sipi ? "SIPI" : "INIT");
            t->stop = true; /* the INIT guest stops spinning */
        }
    }
}

/* A target: one run, the exit it must end with */
static void si_target_run(struct cpu_outcome *o, bool sipi)
{
    struct si_target *t = &si_targets[this_cpu()->index];
    struct vcpu *v = test_guest(o);

    if (!v) {
        t->ready = t->done = true;
        return;
    }
    v->hook = si_hook;
    v->test_data = t;
    vcpu_set_call(v, sipi ? si_mark_ran : si_spin, t);
    if (sipi) {
        vmw(GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_SIPI);
        t->ready = true;
    }
    v->exits = 0;
    struct run_result res = vcpu_continue(v);
    t->done = true;
    if (res.end != RUN_DONE)
        return outcome_fail(o, "%s", v->why);
    if (!CHECK_EQ(o, t->exits, 1) || !CHECK(o, !t->ran))
        return;
    CHECK_EQ(o, t->qual, sipi ? SI_VECTOR : 0);
}

static void si_check(struct cpu_outcome *o, bool sipi)
{
    if (smp_online_count() < 2)
        return outcome_skip(o, "one CPU: the %s needs a second CPU to send it", sipi ? "SIPI" : "INIT");
    if (this_cpu()->index == 0)
        si_send(o, sipi);
    else
        si_target_run(o, sipi);
}

static void check_wait_for_sipi(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    if (!(vmx_caps.misc & VMX_MISC_ACTIVITY_WAIT_SIPI))
        return outcome_skip(o, "IA32_VMX_MISC bit 8 (wait-for-SIPI activity state) is 0");
    /* Bochs' SIPI exit leaves INIT, SMI and NMI masked on the target
     * (deliver_SIPI, cpu/event.cc, unmasks them after VMexit, which never
     * returns; fixed upstream after 3.0 in 8ad20f278): each later VM exit
     * there saves blocking by SMI, and the VMRESUME after it fails with
     * exit 33. Seen once in the whole suite; not sent again, since nothing
     * undoes it. */
    if (smp_online_count() >= 2 && l0_bochs_deviates(BOCHS_2_7_AND_3_0))
        return outcome_xfail(o, "%s: the SIPI VM exit leaves SMI and NMI masked: not sent",
                             l0_bochs_names(BOCHS_2_7_AND_3_0));
    si_check(o, true);
}
VMX_TEST_ALL_CPUS_AFTER("vmx/wait-for-sipi", si_prepare, check_wait_for_sipi);

static void check_init_exit(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    /* Bochs 2.7's INIT exit leaves the INIT pending (handleAsyncEvent,
     * cpu/event.cc: no clear_event before VMexit; fixed upstream in
     * 88f881c6d, in 3.0): every later VM entry of the target exits with
     * reason 3 at once and its VMXOFF resets it. Seen once in the whole
     * suite; not sent again, since nothing undoes it. */
    if (smp_online_count() >= 2 && l0_bochs_deviates(BOCHS_2_7_ONLY))
        return outcome_xfail(o, "%s: the INIT VM exit leaves the INIT pending: not sent",
                             l0_bochs_names(BOCHS_2_7_ONLY));
    si_check(o, false);
}
VMX_TEST_ALL_CPUS_AFTER("vmx/init-signal-exit", si_prepare, check_init_exit);
