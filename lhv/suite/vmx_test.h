/* What the VMX suite files share: one test guest per CPU. */
#ifndef LHV_SUITE_VMX_TEST_H
#define LHV_SUITE_VMX_TEST_H

#include "desc.h"
#include "suite.h"
#include "vmx/vmx.h"

/* LHV's echo hypercall from a guest: result is what the host answered for
 * (a, b). */
struct echo {
    unsigned long a, b, result;
};
void guest_echo(void *arg);

/* A guest function that returns at once (the run ends with its VMCALL) */
void guest_nothing(void *arg);

/* This CPU's test guest, as it is (for tests that manage its VMCS). */
struct vcpu *test_guest_of_this_cpu(void);

/* This CPU's test guest with a fresh, current VMCS and no hook; NULL after
 * outcome_skip (no VMX here) or outcome_fail (setup failed). */
struct vcpu *test_guest(struct cpu_outcome *o);

/* test_guest with the test's exit hook and its data set */
struct vcpu *test_guest_hooked(struct cpu_outcome *o, exit_hook hook, void *data);

/* Runs fn(arg) in the guest; false after outcome_fail with the reason. */
bool test_guest_run(struct cpu_outcome *o, struct vcpu *v, void (*fn)(void *), void *arg);

/* vcpu_run_at with the same reporting (a fresh register set is the
 * caller's to fill). */
bool test_guest_run_at(struct cpu_outcome *o, struct vcpu *v, uintptr_t rip, uintptr_t rsp,
                       unsigned long rflags);

/* The current-VMCS pointer VMPTRST stores when there is none (SDM 3C 25.11.3) */
#define NO_VMCS (~0ull)

/* A VMX instruction's status from its CF and ZF (SDM 3C 31.2: VMfailInvalid
 * sets CF, VMfailValid ZF), for tests that run the instruction themselves */
#define VMX_STATUS(cf, zf) ((cf) ? VMX_FAIL_INVALID : (zf) ? VMX_FAIL_VALID : VMX_OK)

/* A VMX instruction's status (VMX_OK, VMX_FAIL_INVALID, VMX_FAIL_VALID) in words */
const char *vmx_status_name(int st);

/* The instruction must have failed with VMfailValid and error `want` in
 * the current VMCS's VM-instruction error field (SDM 3C 31.2); else
 * outcome_fail naming `what`, and false. */
bool insn_fails_with(struct cpu_outcome *o, const char *what, int st, u32 want);

/* The instruction must have succeeded; else outcome_fail naming `what` and
 * the failure, and false. */
bool insn_succeeds(struct cpu_outcome *o, const char *what, int st);

/* A run of guest_nothing; false after outcome_fail "when: why" */
bool test_guest_run_nop(struct cpu_outcome *o, struct vcpu *v, const char *when);

/* The control fields whose allowed settings capability MSRs report */
enum vmx_ctl { CTL_PIN, CTL_PROC, CTL_PROC2, CTL_EXIT, CTL_ENTRY };

/* The name of the MSR that reports ctl's allowed settings on this CPU */
const char *control_msr(enum vmx_ctl ctl);

/* True when VMX is usable and every one of bits may be 1 in ctl; else
 * outcome_skip naming the MSR, the bits and what (e.g. "use I/O bitmaps"):
 * "IA32_VMX_PROCBASED_CTLS bit 25 (use I/O bitmaps) may not be 1". */
bool require_control(struct cpu_outcome *o, enum vmx_ctl ctl, u32 bits, const char *what);

/* The same for bits that must be allowed to be 0 */
bool require_control_clear(struct cpu_outcome *o, enum vmx_ctl ctl, u32 bits, const char *what);

/* The preamble of a test of one control: require_control(o, ctl, bits,
 * what), then test_guest_hooked(o, hook, data) with the bits set in ctl's
 * field (and "activate secondary controls" for CTL_PROC2); NULL after
 * outcome_skip or outcome_fail. */
struct vcpu *test_guest_with_control(struct cpu_outcome *o, enum vmx_ctl ctl, u32 bits,
                                     const char *what, exit_hook hook, void *data);

/* MSR tests (vmx/msr/, vmx/exits/msr_bitmap.c): an address to write to an
 * MSR that holds one, canonical on amd64 (a full 64-bit pattern) */
#ifdef __x86_64__
#define TEST_ADDR(x) (0x00007f0000000000ull | (x))
#else
#define TEST_ADDR(x) ((u64)(u32)(x))
#endif

/* The test guest, with MSR bitmaps: without them every RDMSR/WRMSR exits
 * (SDM 3C 26.1.3) and the guest could not reach the real MSRs. NULL after
 * outcome_skip or outcome_fail. */
struct vcpu *test_guest_with_msr_bitmaps(struct cpu_outcome *o);

/* The CPU has IA32_TSC_AUX (RDTSCP), IA32_EFER (SYSCALL, XD or Intel 64;
 * SDM Vol. 4, table 2-2) */
bool cpu_has_rdtscp(void);
bool cpu_has_efer(void);

/* A present interrupt gate to SEL_KCODE:handler with the given DPL (3 lets
 * ring 3 use INT n) in a guest IDT the test builds (SDM 3A 6.11, 6.14.1). */
void test_idt_gate(void *idt, u32 vector, const void *handler, u32 dpl);

/* A new page holding a copy of LHV's IDT with vector's gate (DPL 0) at handler */
void *test_idt_with_gate(u32 vector, const void *handler);

/* Real-mode guest state under "unrestricted guest" with EPT (SDM 3C
 * 26.3.1.2 as that control relaxes it): both controls on, eptp, no IA-32e
 * mode, CR0.PE and CR0.PG clear, segments at base 0 with 64 KiB limits and
 * DPL 0, a busy 32-bit TSS, LDTR unusable, the real-mode IDT. The caller
 * made sure the CPU allows both controls. */
void test_guest_real_mode(u64 eptp);

#endif
