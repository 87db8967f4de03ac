/* VMX operation: capabilities, VMXON per CPU, VMCS access, guests and
 * their exits. */
#ifndef LHV_VMX_H
#define LHV_VMX_H

#include "types.h"
#include "vmcs.h"

/* Outcome of a VMX instruction (SDM 3C 31.2): CF=1 VMfailInvalid, ZF=1
 * VMfailValid (the error number is in VM_INSTRUCTION_ERROR). */
enum vmx_status { VMX_OK = 0, VMX_FAIL_INVALID = 1, VMX_FAIL_VALID = 2 };

/* --- capabilities (caps.c) --- */
struct vmx_ctl_caps {
    u32 allowed0; /* bits that must be 1 */
    u32 allowed1; /* bits that may be 1 */
};

struct vmx_caps {
    bool present;        /* CPUID.01H:ECX.VMX */
    const char *absent;  /* why VMX cannot be used, when it cannot */
    u64 basic, misc, ept_vpid, vmfunc;
    u32 revision, region_size;
    bool true_ctls;
    struct vmx_ctl_caps pin, proc, proc2, exit, entry;
    u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

extern struct vmx_caps vmx_caps;

/* Reads CPUID and the capability MSRs once (BSP) and prints the table. */
void vmx_caps_init(void);

/* Adjusts wanted control bits to what the CPU allows; returns false and
 * sets *missing to the wanted bits it cannot set. */
bool vmx_adjust(const struct vmx_ctl_caps *c, u32 wanted, u32 *value, u32 *missing);
bool vmx_has_proc2(u32 bits);

/* --- VMX operation on this CPU (vmxon.c) --- */
/* Decides from IA32_FEATURE_CONTROL whether VMXON may be used, locking it
 * enabled when firmware left it unlocked. Returns NULL or why not. Pure in
 * its decision part (feature_control_decide) for unit tests. */
enum fc_action { FC_USE, FC_ENABLE_AND_LOCK, FC_REFUSE };
enum fc_action feature_control_decide(u64 value);
const char *vmx_enable_cpu(void);  /* CR4.VMXE, fixed bits, VMXON */
/* Whether this CPU's IA32_FEATURE_CONTROL was unlocked when LHV first
 * enabled VMX: then *found is the value, *vector what VMXON raised before
 * LHV locked it (NO_EXCEPTION: none) and *error_code its error code */
bool vmx_fc_unlocked_probe(u64 *found, int *vector, u32 *error_code);
void vmx_disable_cpu(void);        /* VMXOFF, CR4.VMXE off */
bool vmx_cpu_on(void);
void *vmx_alloc_region(void);      /* a zeroed page with the revision id */
void vmx_region_init(void *region); /* zeroes it, then the revision id */
u64 vmx_vmxon_pointer(void);       /* this CPU's VMXON region (0 before VMXON) */

/* --- instructions (vmcs.c) --- */
int vmx_vmclear(u64 pa);
int vmx_vmptrld(u64 pa);
int vmx_vmptrst(u64 *pa);
u64 vmx_current_vmcs(void);        /* VMPTRST: ~0 when there is none */
/* VMREAD and VMWRITE for probes that expect a failure (a field the CPU may
 * lack, no current VMCS): the status, VMX_OK or VMX_FAIL_*. */
int vmr_safe(u32 field, u64 *value);
int vmw_safe(u32 field, u64 value);
/* VMREAD and VMWRITE that must work: a failure is FATAL naming the field
 * and the VM-instruction error, never a value (a believable 0 would let a
 * test pass for the wrong reason). */
u64 vmr(u32 field);
void vmw(u32 field, u64 value);
void vmw_or(u32 field, u64 bits);  /* sets bits in a field */
const char *vmx_error_text(u32 error);
const char *vmx_exit_reason_name(u32 reason);

/* --- guests (guest.c) --- */
#ifdef __x86_64__
struct guest_regs {
    u64 rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
};
#else
struct guest_regs {
    u32 eax, ebx, ecx, edx, esi, edi, ebp;
};
#endif

/* A vcpu's general registers as the exit left them, by one name on both
 * subarchs */
#ifdef __x86_64__
#define REG_AX(v) ((v)->regs.rax)
#define REG_BX(v) ((v)->regs.rbx)
#define REG_CX(v) ((v)->regs.rcx)
#define REG_DX(v) ((v)->regs.rdx)
#define REG_SI(v) ((v)->regs.rsi)
#define REG_DI(v) ((v)->regs.rdi)
#else
#define REG_AX(v) ((v)->regs.eax)
#define REG_BX(v) ((v)->regs.ebx)
#define REG_CX(v) ((v)->regs.ecx)
#define REG_DX(v) ((v)->regs.edx)
#define REG_SI(v) ((v)->regs.esi)
#define REG_DI(v) ((v)->regs.edi)
#endif

/* How a run of a guest ended (vcpu_run, vcpu_run_at, vcpu_continue). The
 * tests judge these fields, never the words. */
enum run_end {
    RUN_DONE,            /* the guest program returned (HC_DONE) */
    RUN_STOPPED,         /* a test's hook stopped the run (EXIT_STOP): exit_reason */
    RUN_HOOK_FAILED,     /* a test's hook found the guest wrong (vcpu_fail) */
    RUN_UNEXPECTED_EXIT, /* an exit nothing handled: exit_reason, qualification, intr_info */
    RUN_GUEST_EXCEPTION, /* an exception reached LHV's handler inside the guest: vector, ip,
                            error_code */
    RUN_ENTRY_FAILURE,   /* VM entry failed loading guest state or MSRs (exit reason bit 31,
                            SDM 3C 27.8): exit_reason, qualification */
    RUN_VMFAIL,          /* VMLAUNCH/VMRESUME failed: vmfail, vm_error (SDM 3C 31.4) */
};
struct run_result {
    enum run_end end;
    u32 exit_reason;     /* basic reason of the last exit */
    u64 qualification;   /* its exit qualification */
    u32 intr_info;       /* VM-exit interruption information (RUN_UNEXPECTED_EXIT) */
    int vmfail;          /* VMX_FAIL_VALID or VMX_FAIL_INVALID (RUN_VMFAIL) */
    u32 vm_error;        /* VM-instruction error (RUN_VMFAIL with VMX_FAIL_VALID) */
    u32 vector;          /* RUN_GUEST_EXCEPTION: the exception, where, its error code */
    unsigned long ip, error_code;
    const char *why;     /* all of it in words, for a report ("" when done) */
};
/* "done", "unexpected exit", ...: how a run ended, for reports */
const char *run_end_name(enum run_end end);
/* True when the run ended in a failure (neither done nor stopped by a hook) */
static inline bool run_failed(struct run_result r) { return r.end > RUN_STOPPED; }

struct vcpu;
/* What an exit handler tells the run loop. EXIT_RESUME goes back in with
 * VMRESUME of the VMCS that exited, straight from the exit stub: a hook
 * that resumes must leave that VMCS current. */
enum exit_action { EXIT_RESUME, EXIT_STOP, EXIT_DEFAULT };
typedef enum exit_action (*exit_hook)(struct vcpu *v, u32 reason);

struct vcpu {
    struct guest_regs regs; /* first: the exit stub's pointer is the vcpu's */
    void *vmcs;
    bool launched;
    u8 *stack;           /* the guest's stack page(s) */
    void *msr_bitmap;    /* all zero: no MSR exits (a test may use its own) */
    exit_hook hook;      /* a test's handler, consulted first */
    void *test_data;
    /* Set by the run loop */
    u32 exit_reason;     /* basic reason of the last exit */
    u64 exit_qual;
    u32 exits;           /* exits taken in this run */
    struct run_result result; /* how the current or last run ended */
    char why[160];       /* that in words (result.why), or why vcpu_init failed */
};

/* LHV's hypercalls (0x0000-0x0fff; docs/design.md §3) */
#define HC_DONE 0x0000   /* the guest program finished */
#define HC_ECHO 0x0001   /* returns arg1 + arg2 */
/* LHV's exception handler, running in a test guest, met an exception that
 * nothing expected: arg1 vector, arg2 ip, arg3 error code. Stops the guest
 * as failed; the run goes on (trap.c). */
#define HC_GUEST_EXCEPTION 0x0002

/* Makes a VMCS for a guest that shares the host's address space and runs
 * in ring 0 with the host's code: 64-bit guest on amd64, 32-bit protected
 * mode with PAE paging on i386. Leaves it current. Returns false with
 * v->why on failure. */
bool vcpu_init(struct vcpu *v);
/* Runs fn(arg) in the guest until it returns (HC_DONE), a hook stops it or
 * something unexpected happens: end is RUN_DONE only when the guest
 * finished (a hook's stop is RUN_STOPPED here, a failure too). */
struct run_result vcpu_run(struct vcpu *v, void (*fn)(void *), void *arg);
/* The same from any guest RIP and RSP (0: the vcpu's own stack) with the
 * given guest RFLAGS, the registers as the caller left them in v->regs. */
struct run_result vcpu_run_at(struct vcpu *v, uintptr_t rip, uintptr_t rsp,
                              unsigned long rflags);
/* For a test's exit hook: ends the run as RUN_HOOK_FAILED with the reason
 * (returns EXIT_STOP), or as RUN_DONE, the guest's work finished. */
enum exit_action vcpu_fail(struct vcpu *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum exit_action vcpu_finish(struct vcpu *v);
/* A run in parts, for guests that stop and go on later (several VMCSs per
 * CPU, long runs): vcpu_set_entry places the guest at RIP and RSP (0: its
 * own stack) with RFLAGS in the current VMCS; vcpu_set_call places it at
 * fn(arg) on its own stack. vcpu_continue enters it where it stands
 * (VMLAUNCH or VMRESUME by v->launched), interrupts off, until an exit
 * stops the run: RUN_DONE when the guest finished, RUN_STOPPED when a
 * hook stopped it, else a failure. v->exits keeps counting. */
void vcpu_set_entry(struct vcpu *v, uintptr_t rip, uintptr_t rsp, unsigned long rflags);
void vcpu_set_call(struct vcpu *v, void (*fn)(void *), void *arg);
struct run_result vcpu_continue(struct vcpu *v);
/* The host-state area as LHV runs its guests: this CPU's control registers,
 * descriptor tables, TSS, segments and the exit landing (HOST_RIP) */
void vmcs_write_host_state(void);
/* Writes the selector, base, limit and access rights of one guest segment
 * (sel_field is its GUEST_*_SELECTOR). */
void vmcs_guest_segment(u32 sel_field, u16 sel, u64 base, u32 limit, u32 ar);

/* Advances the guest RIP past the exiting instruction. */
void vcpu_skip_instruction(void);

/* What LHV's guests see in CPUID leaf 0x40000000: "LHV " in EBX, ECX, EDX. */
#define LHV_CPUID_SIGNATURE_LEAF 0x40000000u
#define LHV_CPUID_SIGNATURE 0x2056484cu /* the bytes "LHV " */

/* True in a guest of LHV (CPUID says so), false on the host. */
bool guest_in_lhv(void);

/* Guest side: a hypercall (VMCALL with the number in AX). */
unsigned long guest_hypercall(unsigned long nr, unsigned long a1, unsigned long a2,
                              unsigned long a3);

/* lhv.inject= faults of the VMX layer (inject.c); returns for the others. */
struct lhv_options;
void vmx_inject_fault(const struct lhv_options *opts);

/* SKIP reason for a test that needs VMX, or NULL when VMX is usable. */
const char *vmx_unavailable(void);

#endif
