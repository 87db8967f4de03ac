/* Guest programs of the VMX suite, written once for both subarchs
 * (guests.inc, assembled by guests-amd64.S and guests-i386.S): their
 * symbols, and the hypercall numbers they report with (LHV's range for the
 * suite, 0x0f00-0x0fff: docs/design.md §3). Usable from C and assembly. */
#ifndef LHV_SUITE_GUESTS_H
#define LHV_SUITE_GUESTS_H

/* Event injection (vmx/events/): the gate stubs report {vector, error
 * code, return IP} in EBX, EDX, ECX with EV_HC_REPORT */
#define EV_HC_REPORT 0x0f10
#define EV_NO_ERROR 0xfeed  /* what a stub reports for "no error code" */
#define EV_VEC_EXT 0x70     /* injected as an external interrupt */
#define EV_VEC_SOFT 0x71    /* injected as a software interrupt (INT n) */

/* NMIs (vmx/events/): the guest's NMI handler reports its frame's return
 * IP in ECX */
#define NMI_HC_REPORT 0x0f20
#define NMI_HC_MARK 0x0f21  /* the guest reached a point the test looks at */

/* Several guests (vmx/stress/multi_guest.c): each tick of the loop */
#define MULTI_HC_TICK 0x0f30

/* Exit during event delivery (vmx/events/exit_during_delivery.c): the
 * guest's #UD handler ran */
#define XD_HC_REPORT 0x0f38

#ifndef __ASSEMBLER__
/* Gate stubs for vectors EV_VEC_EXT, EV_VEC_SOFT, #UD and #PF */
extern const char ev_stub_ext[], ev_stub_soft[], ev_stub_ud[], ev_stub_pf[];
/* STI; NOP; (ev_iwin_after_nop) NOP; CLI; RET: the interrupt window opens
 * after the NOP that follows STI */
extern const char ev_iwin_guest[], ev_iwin_after_nop[];
/* HLT; RET */
extern const char ev_hlt_guest[];
/* Entered directly, IF=1: two NOPs (the second at ev_shadow_after) and
 * HC_DONE. ev_saves_guest, entered with IF=0: CPUIDs after STI, after MOV
 * SS and after nothing, then HC_DONE. */
extern const char ev_shadow_guest[], ev_shadow_after[], ev_saves_guest[];

/* nmi_iret_self: an IRET to the next instruction (nmi_iret_self_after) at
 * the same privilege level; it ends blocking by NMI where IRET does: in the
 * host always, in a guest as SDM 3C 26.3 says. Clobbers only what a call
 * may. nmi_guest_handler: the guest's NMI handler; NMI_HC_REPORT, then
 * IRET. */
void nmi_iret_self(void);
extern const char nmi_iret_self_after[], nmi_guest_handler[];

/* HLT; (ic_after_hlt) RET */
extern const char ic_hlt[], ic_after_hlt[];
/* A #PF handler: pops the error code into EDX and returns past the 2-byte
 * MOV that faulted */
extern const char lhv_ic_pf_stub[];

/* UD2, then HC_DONE; its #UD handler reports (XD_HC_REPORT) and returns
 * past the UD2 */
extern const char xd_guest[], xd_ud_handler[];

/* In: BX step, SI start. The counter lives at (SP); ECX/RCX reports it,
 * EDI/RDI the low half of IA32_SYSENTER_ESP, with MULTI_HC_TICK; forever. */
extern const char multi_guest_loop[];
#endif

#endif
