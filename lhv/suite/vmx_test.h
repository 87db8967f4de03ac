/* What the VMX suite files share: one test guest per CPU. */
#ifndef LHV_SUITE_VMX_TEST_H
#define LHV_SUITE_VMX_TEST_H

#include "suite.h"
#include "vmx/vmx.h"

/* This CPU's test guest, as it is (for tests that manage its VMCS). */
struct vcpu *test_guest_of_this_cpu(void);

/* This CPU's test guest with a fresh, current VMCS and no hook; NULL after
 * outcome_skip (no VMX here) or outcome_fail (setup failed). */
struct vcpu *test_guest(struct cpu_outcome *o);

/* Runs fn(arg) in the guest; false after outcome_fail with the reason. */
bool test_guest_run(struct cpu_outcome *o, struct vcpu *v, void (*fn)(void *), void *arg);

/* vcpu_run_at with the same reporting (a fresh register set is the
 * caller's to fill). */
bool test_guest_run_at(struct cpu_outcome *o, struct vcpu *v, uintptr_t rip, uintptr_t rsp,
                       unsigned long rflags);

/* Guest IDTs the tests build: gate size, and a present, DPL-0 interrupt
 * gate to SEL_KCODE:handler (SDM 3A 6.11, 6.14.1). */
#ifdef __x86_64__
#define IDT_GATE_SIZE 16
#else
#define IDT_GATE_SIZE 8
#endif
void test_idt_gate(void *idt, u32 vector, const void *handler);

#endif
