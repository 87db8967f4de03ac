/* An NMI sent by another CPU to one whose guest is halted. */
#include "string.h"
#include "nmi.h"

/* ===== vmx/nmi-ipi-from-other-cpu =========================================
 * CPU 1 sends CPU 0 an NMI IPI (SDM 3A 11.6.1) while CPU 0's guest is
 * halted by its own HLT (IF=0, HLT exiting off), twice. Without NMI exiting
 * the NMI wakes the guest into its own handler, whose frame returns past
 * the HLT (3A 6.7, 3C 26.2). With NMI exiting CPU 0 exits with reason 0,
 * NMI, vector 2 and RIP past the HLT, and its host handler does not run.
 * The activity state it saves (HLT, 28.1) is not checked: Bochs makes the
 * CPU active before the exit (handleWaitForEvent, cpu/event.cc). Needs two
 * CPUs. */
struct nmi_pair {
    volatile u32 halting;  /* the round whose guest is about to halt */
    volatile u32 done;     /* CPU 0 is through (or gave up) */
};

static struct nmi_pair *nmi_pair;

static void guest_ready_and_halt(void *arg)
{
    nmi_pair->halting = (u32)(uintptr_t)arg;
    ((void (*)(void))(uintptr_t)ic_hlt)();
}

static bool nmi_ipi_round(struct cpu_outcome *o, u32 round, u32 pin)
{
    struct nmi_log l;
    struct vcpu *v = nmi_guest(o, &l, pin, 0, 0);
    const char *what = pin ? "NMI exiting" : "no NMI exiting";
    u32 before = host_nmis();

    if (!v || !nmi_run(o, v, guest_ready_and_halt, (void *)(uintptr_t)round) ||
        (pin && !check_nmi_info(o, &l, 1)))
        return false;
    uintptr_t rip = pin ? l.nmi_rip[0] : l.report_rip[0];
    u32 n = pin ? l.nmi_exits : l.reports;
    if (host_nmis() != before)
        outcome_fail(o, "%s: the host's NMI handler ran %u times, expected 0", what,
                     host_nmis() - before);
    else if (n != 1 || rip != (uintptr_t)ic_after_hlt)
        outcome_fail(o, "%s: %u NMIs in the guest (exits or handler runs) at RIP 0x%lx, "
                     "expected 1 at 0x%lx (past the HLT)", what, n, (unsigned long)rip,
                     (unsigned long)ic_after_hlt);
    else
        return true;
    return false;
}

static void nmi_ipi_sender(struct cpu_outcome *o, struct nmi_pair *p)
{
    for (u32 round = 1; round <= 2; round++) {
        for (u32 ms = 0; ms < NMI_WAIT_MS * 5 && p->halting < round && !p->done; ms++)
            nmi_wait(NULL, 1);
        if (p->halting < round) {
            if (!p->done)
                outcome_fail(o, "CPU 0's guest did not start");
            return;
        }
        nmi_wait(NULL, 5); /* the guest halts meanwhile */
        lapic_send_ipi(cpus[0].apic_id, ICR_NMI | ICR_LEVEL_ASSERT);
    }
}

static void check_nmi_ipi(struct cpu_outcome *o, void *arg)
{
    struct nmi_pair *p = arg;
    u32 cpu = this_cpu()->index;
    const char *why = vmx_unavailable();

    if (why)
        outcome_skip(o, "%s", why);
    else if (smp_online_count() < 2)
        outcome_skip(o, "needs 2 CPUs, %u online", smp_online_count());
    else if (cpu == 1)
        nmi_ipi_sender(o, p);
    else if (cpu != 0)
        outcome_skip(o, "only CPUs 0 and 1 take part");
    else if (nmi_ipi_round(o, 1, 0))
        nmi_ipi_round(o, 2, PIN_NMI_EXITING);
    if (cpu == 0)
        p->done = 1;
}

VMX_TEST("vmx/nmi-ipi-from-other-cpu", test_nmi_ipi);
static void test_nmi_ipi(const char *name)
{
    struct nmi_pair p = {0};
    nmi_prepare();
    nmi_pair = &p;
    verdict_all_cpus(name, check_nmi_ipi, &p);
}
