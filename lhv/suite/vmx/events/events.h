/* What the event tests share (injection.c, interrupt_window.c, hlt.c,
 * idt_vectoring.c, interruptibility.c): event injection on VM entry (SDM 3C
 * 27.6), the IDT-vectoring information of an exit during event delivery
 * (28.2.4), interrupt-window exiting (26.7.5), HLT exiting and the HLT
 * activity state (25.6.2, 25.4.2), the interrupt shadow of STI and MOV SS
 * across VM entry and exit (25.4.2 table 25-3, 27.3.1.5, 28.3.4) and pending
 * debug exceptions (27.7.3). The guest gets an IDT of its own whose gates
 * point to stubs (suite/guests.inc) that report the vector, the error code
 * slot and the return IP with a VMCALL the hook answers, then IRET. */
#ifndef LHV_SUITE_VMX_EVENTS_EVENTS_H
#define LHV_SUITE_VMX_EVENTS_EVENTS_H

#include "suite/guests.h"
#include "suite/vmx_test.h"

#define EV_VEC_MISSING 0x72   /* no gate in any of the guest's IDTs */
#define EV_PF_ERROR 0x0b      /* P | W | RSVD: any value reaches the handler */
#define EV_AC_ERROR 0xc0

extern char guest_entry[];

/* The guest's IDTs, shared by all CPUs (the guest only reads them): one
 * with gates for the injection tests, one with no gate at all. */
extern void *ev_idt, *ev_empty_idt;

/* Makes the IDTs (once; the tests' prepare step) */
void ev_prepare(void);

/* What the hook saw */
struct ev_log {
    u32 reports;            /* stub reports */
    u32 vector, error;
    uintptr_t rip;          /* the return IP in the handler's frame */
    u32 activity;           /* GUEST_ACTIVITY_STATE at the report */
    u32 iwin_exits, hlt_exits, exc_exits;
    uintptr_t exit_rip;     /* GUEST_RIP at the interrupt-window / HLT exit */
    u32 exit_len, interruptibility;
    u32 exit_info, exit_error, vect_info, vect_error;
    uintptr_t exc_rip;      /* GUEST_RIP at the exception exit */
    u64 exc_qual, exc_pending; /* and the pending debug exceptions saved there */
    u32 cpuid_exits, cpuid_shadow[3]; /* interruptibility at each CPUID exit */
};

/* A fresh guest with the hook, the given IDT and nothing injected yet */
struct vcpu *ev_guest(struct cpu_outcome *o, struct ev_log *l, void *idt);

/* vcpu_run with the guest's RFLAGS chosen (IF for an injected external
 * interrupt, 26.3.1.4) */
bool ev_run(struct cpu_outcome *o, struct vcpu *v, void (*fn)(void *), unsigned long rflags);

/* One injection: the handler for want_vector ran once, saw want_error
 * (EV_NO_ERROR: none pushed) and returns to want_rip. */
bool ev_check_report(struct cpu_outcome *o, const char *what, const struct ev_log *l,
                     u32 want_vector, u32 want_error, uintptr_t want_rip);

#endif
