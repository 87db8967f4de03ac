/* An NMI sent by another CPU to one running a guest with NMI exiting. */
#include "string.h"
#include "nmi.h"

/* ===== vmx/nmi-ipi-from-other-cpu =========================================
 * CPU 1 sends CPU 0 an NMI IPI (SDM 3A 11.6.1) while CPU 0's guest runs
 * with NMI exiting: CPU 0 exits with reason 0, NMI, vector 2 (SDM 3C 26.2)
 * and its host handler does not run. Needs two CPUs. */
struct nmi_pair {
    volatile u32 ready;    /* CPU 0's guest is running (or CPU 0 gave up) */
    volatile u32 no_guest; /* CPU 0 runs no guest: SKIP or setup FAIL */
};

static void guest_ready_and_wait(void *arg)
{
    struct nmi_log *l = arg;
    *l->ready = 1;
    nmi_wait(&l->nmi_exits, NMI_WAIT_MS * 5);
}

static void nmi_ipi_target(struct cpu_outcome *o, struct nmi_pair *p)
{
    struct nmi_log l;
    struct vcpu *v = nmi_guest(o, &l, PIN_NMI_EXITING, 0, 0);

    if (!v) {
        p->no_guest = 1;
        p->ready = 1; /* let the sender go */
        return;
    }
    l.ready = &p->ready;
    u32 before = host_nmis();
    if (!nmi_run(o, v, guest_ready_and_wait, &l) || !check_nmi_info(o, &l, 1))
        return;
    if (host_nmis() != before)
        outcome_fail(o, "the host's NMI handler ran %u times, expected 0", host_nmis() - before);
}

static void nmi_ipi_sender(struct cpu_outcome *o, struct nmi_pair *p)
{
    nmi_wait(&p->ready, NMI_WAIT_MS * 5);
    if (!p->ready) {
        outcome_fail(o, "CPU 0's guest did not start");
        return;
    }
    if (p->no_guest) {
        outcome_skip(o, "CPU 0 runs no guest");
        return;
    }
    lapic_send_ipi(cpus[0].apic_id, ICR_NMI | ICR_LEVEL_ASSERT);
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
    else if (cpu == 0)
        nmi_ipi_target(o, p);
    else if (cpu == 1)
        nmi_ipi_sender(o, p);
    else
        outcome_skip(o, "only CPUs 0 and 1 take part");
}

VMX_TEST("vmx/nmi-ipi-from-other-cpu", test_nmi_ipi);
static void test_nmi_ipi(const char *name)
{
    struct nmi_pair p = {0};
    nmi_prepare();
    verdict_all_cpus(name, check_nmi_ipi, &p);
}
