/* What the NMI tests share (nmi_exiting.c, virtual_nmi.c, nmi_ipi.c).
 *
 * NMIs are made with the local APIC: an IPI with delivery mode NMI to the
 * CPU's own APIC ID (no shorthand: the "self" shorthand is not valid with
 * delivery mode NMI, SDM 3A 11.6.1). The guest shares the host's address
 * space and MSR bitmap of zeros, so it reaches the xAPIC page or the x2APIC
 * MSRs as the host does. The host counts the NMIs it takes itself
 * (trap.c, this_cpu()->nmi_count), on a stack of their own (IST on amd64,
 * a task gate on i386; desc.c), so a stray one only adds to the count.
 *
 * Facts the tests rest on:
 * - An NMI that causes a VM exit (NMI exiting) leaves NMIs blocked in the
 *   host until its next IRET; other VM exits do not change blocking by NMI
 *   (SDM 3C 28.1, 28.5).
 * - VM entry with "virtual NMIs" 0 blocks NMIs exactly when bit 3 of the
 *   guest interruptibility state is 1; with "virtual NMIs" 1 that bit is
 *   virtual-NMI blocking and real NMIs are not blocked (27.7.1).
 * - In the guest, IRET unblocks NMIs only when NMI exiting is 0; with NMI
 *   exiting 1 it leaves them blocked, and with virtual NMIs it removes
 *   virtual-NMI blocking (26.3).
 * - While NMIs are blocked at most one more NMI is held pending; further
 *   ones are lost (SDM 3A 6.7.1). */
#ifndef LHV_SUITE_VMX_EVENTS_NMI_H
#define LHV_SUITE_VMX_EVENTS_NMI_H

#include "cpu.h"
#include "lapic.h"
#include "smp.h"
#include "suite/guests.h"
#include "suite/vmx_test.h"
#include "x86.h"

/* How long a guest waits for an NMI exit: a self-NMI comes within
 * microseconds; the wait is the whole cost of a test whose NMI must not
 * come (2 M instructions at 200 ms in Bochs, where TSC ticks are
 * instructions). */
#define NMI_WAIT_MS 50

/* Interruption information (SDM 3C 25.8.3, 28.2.2) */
#define II_NMI (INTR_INFO(INTR_TYPE_NMI, VEC_NMI))
/* Guest interruptibility state (SDM 3C 25.4.2, table 25-3) */

extern char guest_entry[];

/* Makes the guest's IDT (only the NMI gate: every exception exits anyway),
 * once; the tests' prepare step */
void nmi_prepare(void);

/* NMIs this CPU's host handler has taken */
static inline u32 host_nmis(void) { return *(volatile u32 *)&this_cpu()->nmi_count; }

/* An NMI to this CPU, through its local APIC (SDM 3A 11.6.1) */
static inline void nmi_self(void) { lapic_send_ipi(lapic_id(), ICR_NMI | ICR_LEVEL_ASSERT); }

/* Spins for ms milliseconds or until *flag is non-zero */
void nmi_wait(volatile u32 *flag, u32 ms);

/* Time enough for an NMI sent to this CPU to arrive, when nothing blocks it */
static inline void nmi_settle(void) { nmi_wait(NULL, 1); }

/* Two Bochs 2.7 bugs (its cpu/event.cc and cpu/vmx.cc), each XFAIL where a
 * test meets it on 2.7, with the symptom that shows it (Bochs 3.0 has the
 * upstream fixes, SF #1456 and #1460: there they FAIL):
 * - It blocks NMIs before it saves the guest state of an NMI exit, so the
 *   exit saves blocking by NMI (interruptibility bit 3) the guest never
 *   had; the blocking is the host's, after the exit (SDM 3C 28.1).
 * - Its VM entry sets NMI blocking when bit 3 is 1 but never clears it when
 *   bit 3 is 0: NMIs blocked before the entry stay blocked in the guest,
 *   where SDM 3C 27.7.1 says "blocked if and only if bit 3 ... is 1". */
#define BOCHS_NMI_EXIT_SAVES_BLOCKING \
    "Bochs 2.7 saves blocking by NMI (interruptibility 0x%x) at an NMI exit"
#define BOCHS_ENTRY_KEEPS_NMI_BLOCKING \
    "%s: VM entry with interruptibility bit 3 clear leaves NMIs blocked (%s)"

/* ----- the hook and what it records ----- */

struct nmi_log {
    u32 nmi_exits, win_exits, reports, marks;
    u32 nmi_info;               /* VM_EXIT_INTR_INFO of the first NMI exit */
    uintptr_t nmi_rip[2];       /* GUEST_RIP at the first two NMI exits */
    u32 nmi_intr;               /* interruptibility at the first NMI exit */
    uintptr_t win_rip;          /* GUEST_RIP at the first NMI-window exit */
    u32 win_intr;
    uintptr_t report_rip[2];    /* return IPs in the guest handler's frames */
    u32 report_intr[2];         /* interruptibility at the reports */
    u32 win_at_report;          /* NMI-window exits before the first report */
    uintptr_t mark_rip;         /* GUEST_RIP of the mark's VMCALL */
    u32 mark_intr, nmi_at_mark, win_at_mark;
    u32 host[3];                /* host NMI counts a test's action took */
    /* A test's action in the host at its first NMI exit, report, mark */
    void (*at_nmi)(struct nmi_log *l);
    void (*at_report)(struct nmi_log *l);
    void (*at_mark)(struct nmi_log *l);
    volatile u32 *ready;        /* set by the guest of the cross-CPU test */
};

static inline u32 interruptibility(void) { return (u32)vmr(GUEST_INTERRUPTIBILITY_INFO); }

/* A fresh guest with the hook, the NMI IDT, the extra pin-based and
 * processor-based controls and the interruptibility state given; NULL after
 * outcome_skip (a control the CPU lacks) or outcome_fail */
struct vcpu *nmi_guest(struct cpu_outcome *o, struct nmi_log *l, u32 pin, u32 proc, u32 intr);

/* Runs fn in the guest; afterwards the host's NMIs are unblocked whatever
 * the guest left (an IRET of its own, SDM 3A 6.7.1) */
bool nmi_run(struct cpu_outcome *o, struct vcpu *v, void (*fn)(void *), void *arg);

/* Guest: one NMI to itself, then wait for the NMI exit */
void guest_nmi_and_wait(void *arg);

/* want_exits NMI exits, the first with the interruption information of an NMI */
bool check_nmi_info(struct cpu_outcome *o, const struct nmi_log *l, u32 want_exits);

#endif
