/* Guest programs and guest-side glue for the guest-mode tests (in
 * lhv/suite/vmx/: guest/protected_mode.c, guest/unrestricted.c,
 * guest/ring3.c, events/external_interrupts.c): a 32-bit protected-mode
 * program, a real-mode program for an unrestricted guest, a ring-3 program, and the entry and
 * exit paths those need (guest-modes.inc, guest-modes-SUBARCH.S). Shared by
 * C and assembly. */
#ifndef LHV_VMX_GUEST_MODES_H
#define LHV_VMX_GUEST_MODES_H

/* A hypercall only the tests' exit hooks answer (LHV's range, docs/design.md §3):
 * EAX = VG_HC_REPORT, EBX = what is reported, ECX/EDX = values. */
#define VG_HC_REPORT 0x0f00

/* The 32-bit program: Fibonacci number VG_FIB_N in 32-bit arithmetic */
#define VG_FIB_N 50

/* The real-mode program (guest-physical layout; EPT maps VG_RM_PAGES pages
 * from guest-physical 0) */
#define VG_RM_PAGES 8
#define VG_RM_LOAD 0x1000       /* the program, entered at CS:IP 0000:1000 */
#define VG_RM_STACK_TOP 0x3000  /* stack page 0x2000 */
#define VG_RM_PD 0x4000         /* the page directory the guest writes */
#define VG_RM_DATA 0x5000       /* written through the guest's paging */
#define VG_RM_MAGIC 0x600dcafe
#define VG_PORT 0x80            /* every I/O exits: nothing reaches the port */
#define VG_RM_OUT1 0x5a         /* written in real mode, first ... */
#define VG_RM_OUT2 0xa5         /* ... and after coming back to real mode */
#define VG_PDE_4M 0x87          /* present, writable, user, 4 MiB page at 0 */
/* The program's own GDT */
#define VG_SEL_CODE32 0x08
#define VG_SEL_DATA32 0x10
#define VG_SEL_CODE16 0x18
#define VG_SEL_DATA16 0x20

/* The ring-3 program: copied to USER_CODE_PAGE + VG_R3_OFFSET (user.h) */
#define VG_R3_OFFSET 0x800
#define VG_R3_A 0x1111          /* HC_ECHO arguments: 0x3333 if not refused */
#define VG_R3_B 0x2222
#define VG_LEAF 0x4c485647      /* a CPUID leaf the hook answers */
#define VG_ANSWER 0x7e57c0de
#define VG_GATE_VEC 0x81        /* the guest's own DPL-3 gate back to ring 0 */
#define VG_R3_XSETBV_OFFSET 0x900 /* the ring-3 XSETBV program */
#define VG_R3_ACCESS_OFFSET 0xa00 /* the ring-3 access program */
#define VG_R3_READ 0            /* its accesses: read, write, else fetch */
#define VG_R3_WRITE 1
/* Two words at the top of the guest's ring-0 stack page: the ring-0 stack
 * pointer to go back to, and where the gate stores the ring-3 results.
 * The TSS's ring-0 stack pointer is the first word's address. */
#define VG_R3_SLOTS 0xff0

/* Vectors of the interrupt tests (no other user) */
#define VG_VEC_GUEST 0xd8       /* delivered to the guest */
#define VG_VEC_EXIT 0xd9        /* exits to the host */

#ifndef __ASSEMBLER__
#include "types.h"

extern const char vg_prog32[];                      /* 32-bit code, runs in place */
extern const char vg_rm_prog[], vg_rm_prog_end[];   /* copied to VG_RM_LOAD */
extern const char vg_r3_prog[], vg_r3_prog_end[];   /* copied to the user page */
extern const char vg_r3_xsetbv[], vg_r3_xsetbv_insn[], vg_r3_xsetbv_end[]; /* likewise */
extern const char vg_r3_access[], vg_r3_access_end[]; /* likewise */
extern const char vg_ring3_gate[], vg_irq_stub[];

/* Guest ring 0: IRET to ring 3 at ip with stack sp (interrupts off); returns
 * when the ring-3 code comes back through the VG_GATE_VEC gate, having
 * stored {ESI, EDI, CS of the gate's frame} where slots[1] points. slots is
 * the VG_R3_SLOTS word of a page-aligned ring-0 stack page, the one the
 * guest's TSS names. */
STACK_ARGS void vg_ring3_run(uintptr_t ip, uintptr_t sp, unsigned long *slots);

/* Guest side of vg_irq_stub (lhv/suite/vmx/events/external_interrupts.c):
 * vg_guest_irq_body when a test sets it, else a count and the EOI */
void vg_guest_irq(void);
extern void (*vg_guest_irq_body)(void);

/* Host: runs the host's IDT handler for vector as if the interrupt had just
 * arrived (one that "acknowledge interrupt on exit" took from the
 * interrupt controller). Interrupts off. */
STACK_ARGS void vg_host_deliver(u32 vector);
#endif

#endif
