/* Ring 3 inside the test guest (ring3.c), for tests elsewhere that need it */
#ifndef LHV_SUITE_VMX_GUEST_RING3_H
#define LHV_SUITE_VMX_GUEST_RING3_H

#include "suite/vmx_test.h"

struct r3_run {
    uintptr_t user_sp;
    unsigned long *slots;
    unsigned long out[3];    /* ESI, EDI, CS of the gate's frame (vg_ring3_run) */
};

/* The user page's programs, the guest IDT (the DPL-3 gate VG_GATE_VEC, #PF
 * to LHV's handler) and each CPU's TSS; false after verdict_skip when
 * there are no user pages */
bool r3_prepare(const char *name);

/* This CPU's guest for ring 3 (test_guest_hooked with its own TSS and
 * IDT); r gets the ring-3 stack and the slots */
struct vcpu *r3_guest(struct cpu_outcome *o, exit_hook hook, void *data, struct r3_run *r);

#endif
