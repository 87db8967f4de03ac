/* An interrupt pending at VM entry with external-interrupt exiting exits
 * before the guest's first instruction, on every CPU. */
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

extern char guest_entry[];

/* ===== vmx/multi-ipi-pending-at-entry ======================================
 * Found with the storm: an IPI pending when the host (interrupts off)
 * enters a guest with external-interrupt exiting and RFLAGS.IF=0 must exit
 * (reason 1) before the guest's first instruction, since that control
 * makes RFLAGS.IF irrelevant to blocking (SDM 3C 26.2; the interruptibility
 * state, 25.4.2, is 0: no blocking by STI or MOV SS). The guest spins a while and never touches
 * IF; the host's handler counts the IPI once it comes. Then the same with
 * the guest entered in the HLT activity state (25.4.2) with RFLAGS.IF=1:
 * the exit comes at the entry RIP with the guest not run; the host makes it
 * active, and it runs to the end. */

#define PENDING_VECTOR 0xc4 /* past the storm's vectors (vmx/stress/ipi_storm.c) */
#define PENDING_SPINS 20000
#define PENDING_WINDOWS 1000

static volatile u32 pending_got[LHV_MAX_CPUS];

struct pending_log {
    u32 ext_exits;
    uintptr_t first_rip;
    u32 got_at_exit;     /* pending_got when the first exit came */
};

static void pending_interrupt(struct trap_frame *f)
{
    (void)f;
    lapic_eoi();
    pending_got[this_cpu()->index]++;
}

static void pending_guest(void *arg)
{
    (void)arg;
    for (u32 i = 0; i < PENDING_SPINS; i++)
        cpu_relax();
}

static enum exit_action pending_hook(struct vcpu *v, u32 reason)
{
    struct pending_log *l = v->test_data;

    if (reason == EXIT_REASON_EXTERNAL_INTERRUPT && !l->ext_exits++) {
        l->first_rip = (uintptr_t)vmr(GUEST_RIP);
        l->got_at_exit = pending_got[this_cpu()->index];
        vmw(GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE); /* the halted guest goes on */
    }
    return EXIT_DEFAULT;
}

/* Bochs 2.7 and 3.0: VM entry loads the guest's RFLAGS (IF=0 here, as the host's)
 * before it marks the CPU as in VMX non-root operation, so the mask the
 * host's CLI put on LAPIC interrupts stays; it lifts only when the guest
 * changes IF. The IPI then waits until the host enables interrupts. */
static void pending_missed(struct cpu_outcome *o, u32 got, bool hlt)
{
    if (!hlt && l0_bochs_deviates(BOCHS_2_7_AND_3_0 | BOCHS_VIA_L0) && got == 1)
        outcome_xfail(o, "%s: a LAPIC interrupt stays masked in a guest entered with IF=0 "
                      "under external-interrupt exiting (no exit in %u spins)",
                      l0_bochs_names(BOCHS_2_7_AND_3_0), PENDING_SPINS);
    else
        outcome_fail(o, "no external-interrupt exit in a guest entered %swith a pending IPI "
                     "(%u spins; the host took it %u times after the run)",
                     hlt ? "halted " : "", PENDING_SPINS, got);
}

/* Sends the self-IPI and waits for it in IRR (SDM 3A 11.8.4). */
static bool pending_send(struct cpu_outcome *o, u32 me)
{
    u32 reg = LAPIC_REG_IRR + 0x10 * (PENDING_VECTOR / 32), bit = 1u << (PENDING_VECTOR % 32);

    lapic_send_ipi(cpus[me].apic_id, PENDING_VECTOR);
    for (u32 i = 0; i < PENDING_WINDOWS; i++)
        if (lapic_read(reg) & bit)
            return true;
    outcome_fail(o, "the self-IPI (vector 0x%x) did not show in IRR", PENDING_VECTOR);
    return false;
}

static void pending_once(struct cpu_outcome *o, bool hlt)
{
    struct pending_log l;
    struct vcpu *v = test_guest(o);
    u32 me = this_cpu()->index;

    if (!v)
        return;
    memset(&l, 0, sizeof(l));
    v->hook = pending_hook;
    v->test_data = &l;
    pending_got[me] = 0;
    memset(&v->regs, 0, sizeof(v->regs));
    REG_BX(v) = (uintptr_t)pending_guest;
    vmw(GUEST_ACTIVITY_STATE, hlt ? ACTIVITY_HLT : ACTIVITY_ACTIVE);
    unsigned long flags = irq_save();
    bool ok = pending_send(o, me) &&
              test_guest_run_at(o, v, (uintptr_t)guest_entry, 0, hlt ? EFLAGS_IF : 0);
    /* an interrupt window, as the run loop opens one at an exit */
    for (u32 i = 0; i < PENDING_WINDOWS && !pending_got[me]; i++)
        __asm__ volatile("sti\n\tnop\n\tcli" : : : "memory");
    irq_restore(flags);
    u32 got = pending_got[me];
    if (!ok)
        return;
    if (!l.ext_exits)
        pending_missed(o, got, hlt);
    else if (l.first_rip != (uintptr_t)guest_entry || l.got_at_exit != 0 || got != 1)
        outcome_fail(o, "%sfirst external-interrupt exit at guest RIP 0x%lx (expected the entry "
                     "0x%lx) with %u IPIs taken before it; %u taken in all, expected 1",
                     hlt ? "HLT state: " : "", (unsigned long)l.first_rip,
                     (unsigned long)(uintptr_t)guest_entry, l.got_at_exit, got);
}

static void check_pending(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    pending_once(o, false);
    if (vmx_caps.misc & VMX_MISC_ACTIVITY_HLT)
        pending_once(o, true);
}

VMX_TEST("vmx/multi-ipi-pending-at-entry", test_pending);
static void test_pending(const char *name)
{
    trap_set_handler(PENDING_VECTOR, pending_interrupt);
    verdict_all_cpus(name, check_pending, NULL);
}
