/* Guests that share the host's address space and code: a VMCS whose guest
 * state copies the host's (ring 0, same CR3, same descriptor tables, its own
 * stack), the run loop and the default exit handling (SDM 3C chapters 25,
 * 27 and 28). Every guest exception exits (exception bitmap all ones), so a
 * fault in a guest never runs a host handler in guest mode. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "deadline.h"
#include "desc.h"
#include "end.h"
#include "hypapp.h"
#include "spinlock.h"
#include "string.h"
#include "trap.h"
#include "vmx.h"
#include "x86.h"

/* The exit path's functions take their arguments in registers on i386 too
 * (EAX, EDX, ECX), so that calls between them can be tail calls as on
 * amd64. Only the hot handlers are inline; the others are reached by tail
 * calls, so that on amd64 the hot path saves no register. */
#ifdef __x86_64__
#define EXIT_PATH
#else
#define EXIT_PATH __attribute__((regparm(3)))
#endif
#define EXIT_PATH_COLD __attribute__((noinline, cold)) EXIT_PATH
/* Set-up and once-a-run code, outside the exit path: cold, so GCC builds it
 * for size in this -O2 unit (docs/performance.md, "Image size") */
#define SETUP_PATH __attribute__((cold))

/* What the exit stub calls at each exit with the guest's registers saved:
 * EXIT_RESUME (0) goes back in (VMRESUME from the stub), EXIT_STOP returns
 * from vmx_run. On i386 regs comes in EAX, the stub's base register. */
typedef enum exit_action EXIT_PATH (*vmx_exit_fn)(struct guest_regs *regs);
/* enter-SUBARCH.S: enters the guest, then at each exit calls on_exit(regs)
 * and, when that returns EXIT_DEFAULT, on_default(regs). 0 when a handler
 * stopped the run, VMX_FAIL_* when VMLAUNCH/VMRESUME failed. */
STACK_ARGS int vmx_run(struct guest_regs *regs, int launched, vmx_exit_fn on_exit,
                        vmx_exit_fn on_default);
_Static_assert(EXIT_RESUME == 0 && EXIT_DEFAULT == 2, "enter-SUBARCH.S tests these values");
_Static_assert(offsetof(struct vcpu, regs) == 0, "vcpu_exit finds the vcpu at regs");
extern char vmx_exit_landing[], guest_entry[];

#define GUEST_STACK_PAGES 2
#ifdef __x86_64__
#define AR_CODE 0xa09b /* present, S, execute/read accessed, L, G */
#else
#define AR_CODE 0xc09b /* present, S, execute/read accessed, D/B, G */
#endif
#define AR_DATA 0xc093 /* present, S, read/write accessed, D/B, G */
#define AR_TSS_BUSY 0x008b
#define AR_PERCPU 0x4093 /* the i386 GS segment: byte granular */

static struct table_ptr sgdt(void)
{
    struct table_ptr t;
    __asm__ volatile("sgdt %0" : "=m"(t));
    return t;
}

static struct table_ptr sidt(void)
{
    struct table_ptr t;
    __asm__ volatile("sidt %0" : "=m"(t));
    return t;
}

/* Sets one control field to the wanted bits as the CPU allows them. */
SETUP_PATH static bool set_controls(struct vcpu *v, u32 field, const struct vmx_ctl_caps *c, u32 wanted,
                         const char *what)
{
    u32 value, missing;
    if (!vmx_adjust(c, wanted, &value, &missing)) {
        snprintf(v->why, sizeof(v->why), "%s controls: the CPU does not allow bits 0x%x", what,
                 missing);
        return false;
    }
    vmw(field, value);
    return true;
}

SETUP_PATH static bool setup_controls(struct vcpu *v)
{
    u32 proc = CPU_USE_MSR_BITMAPS, exit = 0, entry = 0;
#ifdef __x86_64__
    exit |= EXIT_HOST_ADDRESS_SPACE_SIZE;
    entry |= ENTRY_IA32E_MODE_GUEST;
    if (vmx_caps.exit.allowed1 & EXIT_LOAD_IA32_EFER)
        exit |= EXIT_LOAD_IA32_EFER | EXIT_SAVE_IA32_EFER;
    if (vmx_caps.entry.allowed1 & ENTRY_LOAD_IA32_EFER)
        entry |= ENTRY_LOAD_IA32_EFER;
#endif
    if (!(vmx_caps.proc.allowed1 & CPU_USE_MSR_BITMAPS))
        proc = 0;
    else
        vmw(MSR_BITMAP, (uintptr_t)v->msr_bitmap);
    vmw(EXCEPTION_BITMAP, 0xffffffff);
    vmw(CR3_TARGET_COUNT, 0);
    vmw(VM_EXIT_MSR_STORE_COUNT, 0);
    vmw(VM_EXIT_MSR_LOAD_COUNT, 0);
    vmw(VM_ENTRY_MSR_LOAD_COUNT, 0);
    vmw(VM_ENTRY_INTR_INFO_FIELD, 0);
    /* A VMCS region is reused by test after test and VMCLEAR keeps its
     * fields: the controls no setter below covers start clear, or a field
     * a test left (EPT on, a page-fault mask) would reach the next one. */
    vmw(PAGE_FAULT_ERROR_CODE_MASK, 0);
    vmw(PAGE_FAULT_ERROR_CODE_MATCH, 0);
    if (vmx_caps.proc.allowed1 & CPU_ACTIVATE_SECONDARY_CONTROLS)
        vmw(SECONDARY_VM_EXEC_CONTROL, 0);
    /* The guest owns CR0 and CR4 but does not see CR4.VMXE, which VMX
     * operation forces on (fixed bits, 24.8). */
    vmw(CR0_GUEST_HOST_MASK, 0);
    vmw(CR4_GUEST_HOST_MASK, CR4_VMXE);
    vmw(CR4_READ_SHADOW, read_cr4() & ~(unsigned long)CR4_VMXE);
    return set_controls(v, PIN_BASED_VM_EXEC_CONTROL, &vmx_caps.pin,
                        PIN_EXTERNAL_INTERRUPT_EXITING, "pin-based") &&
           set_controls(v, CPU_BASED_VM_EXEC_CONTROL, &vmx_caps.proc, proc, "processor-based") &&
           set_controls(v, VM_EXIT_CONTROLS, &vmx_caps.exit, exit, "VM-exit") &&
           set_controls(v, VM_ENTRY_CONTROLS, &vmx_caps.entry, entry, "VM-entry");
}

SETUP_PATH void vmcs_write_host_state(void)
{
    struct lhv_cpu *c = this_cpu();
    struct table_ptr gdt = sgdt(), idt = sidt();

    vmw(HOST_CR0, read_cr0());
    vmw(HOST_CR3, read_cr3());
    vmw(HOST_CR4, read_cr4());
    vmw(HOST_CS_SELECTOR, SEL_KCODE);
    vmw(HOST_SS_SELECTOR, SEL_KDATA);
    vmw(HOST_DS_SELECTOR, SEL_KDATA);
    vmw(HOST_ES_SELECTOR, SEL_KDATA);
    vmw(HOST_TR_SELECTOR, SEL_TSS);
    vmw(HOST_TR_BASE, (uintptr_t)&c->tss);
    vmw(HOST_GDTR_BASE, gdt.base);
    vmw(HOST_IDTR_BASE, idt.base);
#ifdef __x86_64__
    vmw(HOST_FS_SELECTOR, 0);
    vmw(HOST_GS_SELECTOR, 0);
    vmw(HOST_FS_BASE, 0);
    vmw(HOST_GS_BASE, rdmsr(MSR_IA32_GS_BASE));
    if (vmx_caps.exit.allowed1 & EXIT_LOAD_IA32_EFER)
        vmw(HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
#else
    vmw(HOST_FS_SELECTOR, SEL_KDATA);
    vmw(HOST_GS_SELECTOR, SEL_PERCPU);
    vmw(HOST_FS_BASE, 0);
    vmw(HOST_GS_BASE, (uintptr_t)c);
#endif
    vmw(HOST_IA32_SYSENTER_CS, 0);
    vmw(HOST_IA32_SYSENTER_ESP, 0);
    vmw(HOST_IA32_SYSENTER_EIP, 0);
    vmw(HOST_RIP, (uintptr_t)vmx_exit_landing);
}

SETUP_PATH void vmcs_guest_segment(u32 sel_field, u16 sel, u64 base, u32 limit, u32 ar)
{
    /* The guest fields of one segment are laid out alike (appendix B):
     * selector 0x0800 + 2n, limit 0x4800 + 2n, AR 0x4814 + 2n, base
     * 0x6806 + 2n. */
    u32 n = sel_field - GUEST_ES_SELECTOR;
    vmw(sel_field, sel);
    vmw(GUEST_ES_LIMIT + n, limit);
    vmw(GUEST_ES_AR_BYTES + n, ar);
    vmw(GUEST_ES_BASE + n, base);
}

SETUP_PATH static void setup_guest_state(struct vcpu *v)
{
    struct lhv_cpu *c = this_cpu();
    struct table_ptr gdt = sgdt(), idt = sidt();

    vmw(GUEST_CR0, read_cr0());
    vmw(GUEST_CR3, read_cr3());
    vmw(GUEST_CR4, read_cr4());
    vmcs_guest_segment(GUEST_CS_SELECTOR, SEL_KCODE, 0, 0xffffffff, AR_CODE);
    vmcs_guest_segment(GUEST_SS_SELECTOR, SEL_KDATA, 0, 0xffffffff, AR_DATA);
    vmcs_guest_segment(GUEST_DS_SELECTOR, SEL_KDATA, 0, 0xffffffff, AR_DATA);
    vmcs_guest_segment(GUEST_ES_SELECTOR, SEL_KDATA, 0, 0xffffffff, AR_DATA);
    vmcs_guest_segment(GUEST_FS_SELECTOR, SEL_KDATA, 0, 0xffffffff, AR_DATA);
#ifdef __x86_64__
    /* this_cpu() works in the guest too: same GS base */
    vmcs_guest_segment(GUEST_GS_SELECTOR, SEL_KDATA, rdmsr(MSR_IA32_GS_BASE), 0xffffffff, AR_DATA);
    if (vmx_caps.entry.allowed1 & ENTRY_LOAD_IA32_EFER)
        vmw(GUEST_IA32_EFER, rdmsr(MSR_IA32_EFER));
#else
    vmcs_guest_segment(GUEST_GS_SELECTOR, SEL_PERCPU, (uintptr_t)c, sizeof(*c) - 1, AR_PERCPU);
#endif
    vmcs_guest_segment(GUEST_TR_SELECTOR, SEL_TSS, (uintptr_t)&c->tss, sizeof(c->tss) - 1,
                  AR_TSS_BUSY);
    vmcs_guest_segment(GUEST_LDTR_SELECTOR, 0, 0, 0, AR_UNUSABLE);
    vmw(GUEST_GDTR_BASE, gdt.base);
    /* the limits from desc.h: SGDT/SIDT give FFFFH after an exit (28.5.2) */
    vmw(GUEST_GDTR_LIMIT, GDT_LIMIT);
    vmw(GUEST_IDTR_BASE, idt.base);
    vmw(GUEST_IDTR_LIMIT, IDT_LIMIT);
    vmw(GUEST_DR7, 0x400);
    vmw(GUEST_RFLAGS, 0x2);
    vmw(GUEST_RSP, (uintptr_t)v->stack + GUEST_STACK_PAGES * PAGE_SIZE);
    vmw(GUEST_RIP, (uintptr_t)guest_entry);
    vmw(GUEST_IA32_DEBUGCTL, 0);
    vmw(GUEST_SYSENTER_CS, 0);
    vmw(GUEST_SYSENTER_ESP, 0);
    vmw(GUEST_SYSENTER_EIP, 0);
    vmw(GUEST_INTERRUPTIBILITY_INFO, 0);
    vmw(GUEST_ACTIVITY_STATE, 0);
    vmw(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    vmw(VMCS_LINK_POINTER, ~0ull);
}

static const struct trap_guest_ops guest_trap_ops;

SETUP_PATH bool vcpu_init(struct vcpu *v)
{
    const char *why = vmx_unavailable();
    if (why) {
        snprintf(v->why, sizeof(v->why), "%s", why);
        return false;
    }
    trap_set_guest_ops(&guest_trap_ops);
    if (!v->vmcs)
        v->vmcs = vmx_alloc_region();
    if (!v->stack)
        v->stack = alloc_pages(GUEST_STACK_PAGES);
    if (!v->msr_bitmap)
        v->msr_bitmap = alloc_pages(1);
    memset(v->msr_bitmap, 0, PAGE_SIZE);
    v->launched = false;
    /* A VMCS used before holds every field its last test wrote, and the
     * set-up below writes only those it needs: a test would start from what
     * the tests before it left (the fuzzer's base took in 26 such fields in
     * the suite's second iteration, and its trials changed). Out of the CPU
     * (VMCLEAR), the region is memory again (SDM 3C 25.11.1) and starts over
     * as a new one: zeroed, the revision id, VMCLEAR (25.11.3). */
    if (vmx_vmclear((uintptr_t)v->vmcs) != VMX_OK) {
        snprintf(v->why, sizeof(v->why), "VMCLEAR of the guest's VMCS failed");
        return false;
    }
    vmx_region_init(v->vmcs);
    if (vmx_vmclear((uintptr_t)v->vmcs) != VMX_OK || vmx_vmptrld((uintptr_t)v->vmcs) != VMX_OK) {
        snprintf(v->why, sizeof(v->why), "VMCLEAR/VMPTRLD of a new VMCS failed");
        return false;
    }
    vmcs_write_host_state();
    setup_guest_state(v);
    return setup_controls(v);
}

/* VMREAD and VMWRITE for the exit path, beside vmr()/vmw(): one
 * instruction each. VMREAD fails only without a current VMCS or for a field
 * the CPU lacks (SDM 3C 31.3 VMREAD); a VM exit leaves its VMCS current and
 * the fields read here exist wherever VMX does (appendix B), so these reads
 * do not test the status. The VMWRITE of the guest RIP does (one JBE) and
 * ends the run through vmw()'s FATAL: a hook may call
 * vcpu_skip_instruction with no VMCS current. Natural-width and 32-bit
 * fields only (one instruction on i386 too). In Bochs each instruction is a
 * tick of every exit (docs/performance.md). */
static inline unsigned long exit_vmread(u32 field)
{
    unsigned long value;
    __asm__ volatile("vmread %1, %0" : "=r"(value) : "r"((unsigned long)field) : "cc");
    return value;
}

static EXIT_PATH_COLD __attribute__((noreturn)) void exit_vmwrite_failed(u32 field,
                                                                         unsigned long value)
{
    vmw(field, value); /* fails again and says why */
    fatal("VMWRITE of field 0x%x failed once, then succeeded", field);
}

static inline void exit_vmwrite(u32 field, unsigned long value)
{
    __asm__ goto("vmwrite %1, %0\n\tjbe %l[failed]"
                 : : "r"((unsigned long)field), "rm"(value) : "cc", "memory" : failed);
    return;
failed:
    exit_vmwrite_failed(field, value);
}

static inline void skip_instruction(void)
{
    exit_vmwrite(GUEST_RIP, exit_vmread(GUEST_RIP) + exit_vmread(VM_EXIT_INSTRUCTION_LEN));
}

void vcpu_skip_instruction(void) { skip_instruction(); }

bool guest_in_lhv(void)
{
    struct cpuid_regs r = cpuid(LHV_CPUID_SIGNATURE_LEAF, 0);
    return (cpuid(1, 0).ecx & CPUID1_ECX_HYPERVISOR) && r.ebx == LHV_CPUID_SIGNATURE &&
           r.ecx == LHV_CPUID_SIGNATURE && r.edx == LHV_CPUID_SIGNATURE;
}

unsigned long guest_hypercall(unsigned long nr, unsigned long a1, unsigned long a2,
                              unsigned long a3)
{
    unsigned long ret;
    __asm__ volatile("vmcall" : "=a"(ret) : "a"(nr), "b"(a1), "c"(a2), "d"(a3) : "memory");
    return ret;
}

/* The platform's trap path in guest mode (trap.h): an exception nothing
 * expected goes to the host as HC_GUEST_EXCEPTION. */
static void exception_to_host(const struct trap_frame *f)
{
    guest_hypercall(HC_GUEST_EXCEPTION, (unsigned long)f->vector, (unsigned long)f->ip,
                    (unsigned long)f->error_code);
}

/* Between the guest's exits the current VMCS is the guest's: a probe,
 * since whoever asks is about to report something else that went wrong. */
static unsigned long guest_rip(void)
{
    u64 rip = 0;
    vmr_safe(GUEST_RIP, &rip);
    return (unsigned long)rip;
}

static const struct trap_guest_ops guest_trap_ops = {
    .in_guest_mode = guest_in_lhv,
    .exception_to_host = exception_to_host,
    .guest_ip = guest_rip,
};

SETUP_PATH const char *run_end_name(enum run_end end)
{
    static const char *const names[] = {
        [RUN_DONE] = "done", [RUN_STOPPED] = "stopped by a hook",
        [RUN_HOOK_FAILED] = "failed in a hook", [RUN_UNEXPECTED_EXIT] = "unexpected exit",
        [RUN_GUEST_EXCEPTION] = "exception in the guest", [RUN_ENTRY_FAILURE] = "VM-entry failure",
        [RUN_VMFAIL] = "VMfail",
    };
    return (u32)end < ARRAY_SIZE(names) ? names[end] : "?";
}

/* Marks how the run ended, with the words for a report */
static __attribute__((format(printf, 3, 4))) void run_end(struct vcpu *v, enum run_end end,
                                                         const char *fmt, ...)
{
    va_list ap;

    v->result.end = end;
    va_start(ap, fmt);
    vsnprintf(v->why, sizeof(v->why), fmt, ap);
    va_end(ap);
}

enum exit_action vcpu_fail(struct vcpu *v, const char *fmt, ...)
{
    va_list ap;

    v->result.end = RUN_HOOK_FAILED;
    va_start(ap, fmt);
    vsnprintf(v->why, sizeof(v->why), fmt, ap);
    va_end(ap);
    return EXIT_STOP;
}

enum exit_action vcpu_finish(struct vcpu *v)
{
    v->result.end = RUN_DONE;
    return EXIT_STOP;
}

/* The VMCALLs other than the echo: stop, report, the app's. */
static __attribute__((noinline)) EXIT_PATH enum exit_action vmcall_other(struct vcpu *v,
                                                                        unsigned long nr)
{
    if (nr == HC_DONE)
        return vcpu_finish(v);
    if (nr == HC_GUEST_EXCEPTION) {
        v->result.vector = (u32)REG_BX(v);
        v->result.ip = (unsigned long)REG_CX(v);
        v->result.error_code = (unsigned long)REG_DX(v);
        run_end(v, RUN_GUEST_EXCEPTION, "the guest took exception %s (vector %u) at ip 0x%lx, "
                "error code 0x%lx, in LHV's handler", exception_name(v->result.vector),
                v->result.vector, v->result.ip, v->result.error_code);
        return EXIT_STOP;
    }
    u64 result = ~0ull;
    if (nr >= HYPERCALL_APP_FIRST && nr <= HYPERCALL_APP_LAST && hypapp.hypercall)
        hypapp.hypercall(this_cpu()->index, nr, REG_BX(v), REG_CX(v), REG_DX(v), &result);
    REG_AX(v) = (unsigned long)result;
    return EXIT_RESUME;
}

/* VMCALL: LHV's numbers here, the app's range to the app (docs/design.md §3).
 * Only ring 0 of the guest may call: SS.DPL (AR bits 6:5) is the CPL (SDM
 * 3A 5.5); others get ~0. The echo, which the benchmark calls, stays
 * inline. */
static inline enum exit_action handle_vmcall(struct vcpu *v)
{
    unsigned long nr = REG_AX(v);

    skip_instruction();
    if (exit_vmread(GUEST_SS_AR_BYTES) & 0x60)
        nr = ~0ul; /* refused: answered as a call that does not exist, ~0 */
    if (nr == HC_ECHO) {
        REG_AX(v) = REG_BX(v) + REG_CX(v);
        return EXIT_RESUME;
    }
    return vmcall_other(v, nr);
}

/* The guest sees the real CPUID, plus what a hypervisor shows (the
 * convention KVM, Xen and Hyper-V follow): CPUID.01H:ECX bit 31 set and
 * leaf 0x40000000 naming LHV. So code shared by host and guest finds out
 * where it runs by asking, not guessing (guest_in_lhv). */
static __attribute__((noinline)) EXIT_PATH enum exit_action handle_cpuid(struct vcpu *v)
{
    u32 leaf = (u32)REG_AX(v);
    struct cpuid_regs r = cpuid(leaf, (u32)REG_CX(v));

    if (leaf == 1)
        r.ecx |= CPUID1_ECX_HYPERVISOR;
    else if (leaf == LHV_CPUID_SIGNATURE_LEAF)
        r = (struct cpuid_regs){LHV_CPUID_SIGNATURE_LEAF, LHV_CPUID_SIGNATURE, LHV_CPUID_SIGNATURE,
                                LHV_CPUID_SIGNATURE};
    REG_AX(v) = r.eax;
    REG_BX(v) = r.ebx;
    REG_CX(v) = r.ecx;
    REG_DX(v) = r.edx;
    skip_instruction();
    return EXIT_RESUME;
}

/* The interrupt is still pending (not acknowledged on exit): let the host
 * take it through its IDT, then go back in. */
static enum exit_action handle_external_interrupt(void)
{
    __asm__ volatile("sti\n\tnop\n\tcli" : : : "memory");
    return EXIT_RESUME;
}

static EXIT_PATH_COLD enum exit_action unexpected_exit(struct vcpu *v)
{
    /* i386: an NMI in a guest without NMI exiting goes through LHV's IDT,
     * whose NMI entry is a task gate: a task-switch exit (SDM 3C 26.4.2;
     * 28.2.1: qualification bits 31:30 = 3, the gate's TSS selector). It
     * may be the deadline's backstop: a hang in the guest ends as one
     * (deadline.c), not as this unexpected exit. */
    if (v->exit_reason == EXIT_REASON_TASK_SWITCH && (v->exit_qual >> 30) == 3 &&
        (u16)v->exit_qual == SEL_NMI_TSS)
        deadline_nmi(0);
    v->result.intr_info = (u32)vmr(VM_EXIT_INTR_INFO);
    run_end(v, RUN_UNEXPECTED_EXIT, "unexpected exit %u (%s), qualification 0x%llx, guest rip "
            "0x%llx, instruction length %llu, interruption info 0x%x", v->exit_reason,
            vmx_exit_reason_name(v->exit_reason), v->exit_qual, vmr(GUEST_RIP),
            vmr(VM_EXIT_INSTRUCTION_LEN), v->result.intr_info);
    return EXIT_STOP;
}

/* LHV's own handling of an exit no hook took; hypercalls first */
static inline enum exit_action default_exit(struct vcpu *v)
{
    if (v->exit_reason == EXIT_REASON_VMCALL)
        return handle_vmcall(v);
    switch (v->exit_reason) {
    case EXIT_REASON_CPUID:
        return handle_cpuid(v);
    case EXIT_REASON_EXTERNAL_INTERRUPT:
        return handle_external_interrupt();
    default:
        return unexpected_exit(v);
    }
}

/* A VM entry that fails while or after loading guest state (exit reason
 * bit 31) leaves the launch state as it was: VMLAUNCH marks the VMCS
 * launched only when the entry succeeds (SDM 3C 27.8, the VMLAUNCH
 * operation in 31.3). */
static EXIT_PATH_COLD enum exit_action entry_failure_exit(struct vcpu *v, u32 reason)
{
    v->exit_reason = reason & 0xffff;
    v->exit_qual = exit_vmread(EXIT_QUALIFICATION);
    run_end(v, RUN_ENTRY_FAILURE, "VM entry failed: exit reason %u (%s), qualification 0x%llx",
            v->exit_reason, vmx_exit_reason_name(v->exit_reason), v->exit_qual);
    return EXIT_STOP;
}

/* One VM exit, called by the exit stub (vmx_exit_landing) with the guest's
 * registers saved in v->regs: the test's hook first; when it answers
 * EXIT_DEFAULT the stub calls vcpu_default_exit. So the hook is a tail
 * call, and neither function keeps anything across a call or saves a
 * register. This is the path docs/performance.md measures: in Bochs each
 * instruction here is a tick of every exit. */
static EXIT_PATH enum exit_action vcpu_exit(struct guest_regs *regs)
{
    struct vcpu *v = (struct vcpu *)regs; /* regs is v's first member */
    u32 reason = (u32)exit_vmread(VM_EXIT_REASON);

    v->exits++;
    if (reason & EXIT_REASON_ENTRY_FAILURE)
        return entry_failure_exit(v, reason);
    v->launched = true;
    v->exit_reason = reason & 0xffff;
    v->exit_qual = exit_vmread(EXIT_QUALIFICATION);
    if (v->hook)
        return v->hook(v, v->exit_reason);
    return default_exit(v);
}

/* LHV's handling of an exit the hook left to it (EXIT_DEFAULT). */
static EXIT_PATH enum exit_action vcpu_default_exit(struct guest_regs *regs)
{
    return default_exit((struct vcpu *)regs);
}

static EXIT_PATH enum exit_action stop_at_exit(struct guest_regs *regs)
{
    (void)regs;
    return EXIT_STOP;
}

/* One VMLAUNCH/VMRESUME that returns at the first exit (0) or with the
 * instruction's failure (VMX_FAIL_*): for tests of entry itself. */
int vmx_enter(struct guest_regs *regs, int launched)
{
    return vmx_run(regs, launched, stop_at_exit, stop_at_exit);
}

SETUP_PATH static void entry_failed(struct vcpu *v, int status)
{
    const char *insn = v->launched ? "VMRESUME" : "VMLAUNCH";

    v->result.vmfail = status;
    if (status == VMX_FAIL_VALID) {
        v->result.vm_error = (u32)vmr(VM_INSTRUCTION_ERROR);
        run_end(v, RUN_VMFAIL, "%s failed: VMfailValid, error %u (%s)", insn,
                v->result.vm_error, vmx_error_text(v->result.vm_error));
    } else {
        run_end(v, RUN_VMFAIL, "%s failed: VMfailInvalid (no current VMCS)", insn);
    }
}

/* Enters the guest at its current state and handles exits until one
 * stops the run. */
static void vcpu_resume_loop(struct vcpu *v)
{
    int st = vmx_run(&v->regs, v->launched, vcpu_exit, vcpu_default_exit);
    if (st != VMX_OK)
        entry_failed(v, st);
}

SETUP_PATH void vcpu_set_entry(struct vcpu *v, uintptr_t rip, uintptr_t rsp, unsigned long rflags)
{
    vmw(GUEST_RIP, rip);
    vmw(GUEST_RSP, rsp ? rsp : (uintptr_t)v->stack + GUEST_STACK_PAGES * PAGE_SIZE);
    vmw(GUEST_RFLAGS, rflags | 0x2); /* bit 1 is reserved as 1 */
}

SETUP_PATH void vcpu_set_call(struct vcpu *v, void (*fn)(void *), void *arg)
{
#ifdef __x86_64__
    v->regs.rbx = (uintptr_t)fn;
    v->regs.rdi = (uintptr_t)arg;
#else
    v->regs.ebx = (uintptr_t)fn;
    v->regs.eax = (uintptr_t)arg;
#endif
    vcpu_set_entry(v, (uintptr_t)guest_entry, 0, 0);
}

struct run_result vcpu_continue(struct vcpu *v)
{
    unsigned long flags = irq_save();

    /* a run that no handler marks ended because a hook stopped it */
    v->result = (struct run_result){.end = RUN_STOPPED, .why = v->why};
    v->why[0] = '\0';
    this_cpu()->in_guest = true;
    vcpu_resume_loop(v);
    this_cpu()->in_guest = false;
    irq_restore(flags);
    if (v->result.end != RUN_VMFAIL) {
        v->result.exit_reason = v->exit_reason;
        v->result.qualification = v->exit_qual;
    }
    return v->result;
}

/* One whole run: the guest must finish (HC_DONE). */
SETUP_PATH static struct run_result run_to_done(struct vcpu *v)
{
    v->exits = 0;
    struct run_result r = vcpu_continue(v);
    if (r.end == RUN_STOPPED)
        snprintf(v->why, sizeof(v->why), "the guest stopped at exit %u (%s) before it finished",
                 v->exit_reason, vmx_exit_reason_name(v->exit_reason));
    return r;
}

SETUP_PATH struct run_result vcpu_run_at(struct vcpu *v, uintptr_t rip, uintptr_t rsp,
                              unsigned long rflags)
{
    vcpu_set_entry(v, rip, rsp, rflags);
    return run_to_done(v);
}

SETUP_PATH struct run_result vcpu_run(struct vcpu *v, void (*fn)(void *), void *arg)
{
    vcpu_set_call(v, fn, arg);
    return run_to_done(v);
}
