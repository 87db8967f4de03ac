/* vmx/guest-table-limits: the test guest runs on LHV's GDT and IDT with
 * their real limits, also once this CPU has taken a VM exit. An exit sets
 * the host's GDTR and IDTR limits to FFFFH (SDM 3C 28.5.2), so SGDT/SIDT on
 * the host give FFFFH from then on: a guest set up from them, and a copy of
 * the IDT sized by them, ran 60 KB past the page it was given (it wiped
 * the other CPU's copy: vmx/ept-violation-ve failed now and then on two
 * CPUs with #GP(0xa3) delivering #VE). The guest reads its registers with
 * SGDT and SIDT, which do not exit ("descriptor-table exiting" clear). */
#include "cpu.h"
#include "desc.h"
#include "suite/vmx_test.h"

struct tl_seen {
    struct table_ptr gdtr, idtr;
};

static struct tl_seen tl_seen[LHV_MAX_CPUS];

static void tl_guest(void *arg)
{
    struct tl_seen *s = arg;
    __asm__ volatile("sgdt %0\n\tsidt %1" : "=m"(s->gdtr), "=m"(s->idtr));
}

static void check_table_limits(struct cpu_outcome *o, void *arg)
{
    struct tl_seen *s = &tl_seen[this_cpu()->index];
    struct vcpu *v = test_guest(o);
    (void)arg;

    /* the first run's exit leaves the host's limits at FFFFH */
    if (!v || !test_guest_run_nop(o, v, "the first run") || !(v = test_guest(o)))
        return;
    s->gdtr.limit = s->idtr.limit = 0;
    if (!test_guest_run(o, v, tl_guest, s))
        return;
    if (s->gdtr.limit != GDT_LIMIT || s->idtr.limit != IDT_LIMIT)
        outcome_fail(o, "the guest's GDTR limit is 0x%x and IDTR limit 0x%x, expected LHV's "
                     "tables' 0x%x and 0x%x", s->gdtr.limit, s->idtr.limit, GDT_LIMIT,
                     IDT_LIMIT);
}

VMX_TEST_ALL_CPUS("vmx/guest-table-limits", check_table_limits);
