/* Guests that share the host's address space and code: a VMCS whose guest
 * state copies the host's (ring 0, same CR3, same descriptor tables, its own
 * stack), the run loop and the default exit handling (SDM 3C chapters 25,
 * 27 and 28). Every guest exception exits (exception bitmap all ones), so a
 * fault in a guest never runs a host handler in guest mode. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "desc.h"
#include "hypapp.h"
#include "spinlock.h"
#include "string.h"
#include "trap.h"
#include "vmx.h"
#include "x86.h"

int vmx_enter(struct guest_regs *regs, int launched);
extern char vmx_exit_landing[], guest_entry[];

#define GUEST_STACK_PAGES 2
#define AR_UNUSABLE (1u << 16)
#ifdef __x86_64__
#define AR_CODE 0xa09b /* present, S, execute/read accessed, L, G */
#else
#define AR_CODE 0xc09b /* present, S, execute/read accessed, D/B, G */
#endif
#define AR_DATA 0xc093 /* present, S, read/write accessed, D/B, G */
#define AR_TSS_BUSY 0x008b
#define AR_PERCPU 0x4093 /* the i386 GS segment: byte granular */

struct table_ptr {
    u16 limit;
    uintptr_t base;
} __attribute__((packed));

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
static bool set_controls(struct vcpu *v, u32 field, const struct vmx_ctl_caps *c, u32 wanted,
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

static bool setup_controls(struct vcpu *v)
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

static void setup_host_state(void)
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

void vmcs_guest_segment(u32 sel_field, u16 sel, u64 base, u32 limit, u32 ar)
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

static void setup_guest_state(struct vcpu *v)
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
    vmw(GUEST_GDTR_LIMIT, gdt.limit);
    vmw(GUEST_IDTR_BASE, idt.base);
    vmw(GUEST_IDTR_LIMIT, idt.limit);
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

bool vcpu_init(struct vcpu *v)
{
    const char *why = vmx_unavailable();
    if (why) {
        snprintf(v->why, sizeof(v->why), "%s", why);
        return false;
    }
    if (!v->vmcs)
        v->vmcs = vmx_alloc_region();
    if (!v->stack)
        v->stack = alloc_pages(GUEST_STACK_PAGES);
    if (!v->msr_bitmap)
        v->msr_bitmap = alloc_pages(1);
    memset(v->msr_bitmap, 0, PAGE_SIZE);
    v->launched = false;
    if (vmx_vmclear((uintptr_t)v->vmcs) != VMX_OK || vmx_vmptrld((uintptr_t)v->vmcs) != VMX_OK) {
        snprintf(v->why, sizeof(v->why), "VMCLEAR/VMPTRLD of a new VMCS failed");
        return false;
    }
    setup_host_state();
    setup_guest_state(v);
    return setup_controls(v);
}

void vcpu_skip_instruction(void)
{
    vmw(GUEST_RIP, vmr(GUEST_RIP) + vmr(VM_EXIT_INSTRUCTION_LEN));
}

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

/* VMCALL: LHV's numbers here, the app's range to the app (DESIGN §3).
 * Only ring 0 of the guest may call. */
static enum exit_action handle_vmcall(struct vcpu *v)
{
    u64 nr = REG_AX(v), result = ~0ull;
    u32 cpl = (u32)(vmr(GUEST_SS_AR_BYTES) >> 5) & 3;

    vcpu_skip_instruction();
    if (cpl != 0) {
        REG_AX(v) = (unsigned long)result; /* refused */
        return EXIT_RESUME;
    }
    if (nr == HC_DONE) {
        v->done = true;
        return EXIT_STOP;
    }
    if (nr == HC_GUEST_EXCEPTION) {
        v->failed = true;
        snprintf(v->why, sizeof(v->why), "the guest took exception %s (vector %lu) at ip "
                 "0x%lx, error code 0x%lx, in LHV's handler", exception_name((u32)REG_BX(v)),
                 (unsigned long)REG_BX(v), (unsigned long)REG_CX(v), (unsigned long)REG_DX(v));
        return EXIT_STOP;
    }
    if (nr == HC_ECHO)
        result = REG_BX(v) + REG_CX(v);
    else if (nr >= HYPERCALL_APP_FIRST && nr <= HYPERCALL_APP_LAST && hypapp.hypercall)
        hypapp.hypercall(this_cpu()->index, nr, REG_BX(v), REG_CX(v), REG_DX(v), &result);
    REG_AX(v) = (unsigned long)result;
    return EXIT_RESUME;
}

/* The guest sees the real CPUID, plus what a hypervisor shows (the
 * convention KVM, Xen and Hyper-V follow): CPUID.01H:ECX bit 31 set and
 * leaf 0x40000000 naming LHV. So code shared by host and guest finds out
 * where it runs by asking, not guessing (guest_in_lhv). */
static enum exit_action handle_cpuid(struct vcpu *v)
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
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

/* The interrupt is still pending (not acknowledged on exit): let the host
 * take it through its IDT, then go back in. */
static enum exit_action handle_external_interrupt(struct vcpu *v)
{
    (void)v;
    __asm__ volatile("sti\n\tnop\n\tcli" : : : "memory");
    return EXIT_RESUME;
}

static enum exit_action unexpected_exit(struct vcpu *v)
{
    v->failed = true;
    snprintf(v->why, sizeof(v->why),
             "unexpected exit %u (%s), qualification 0x%llx, guest rip 0x%llx, "
             "instruction length %llu, interruption info 0x%llx",
             v->exit_reason, vmx_exit_reason_name(v->exit_reason), v->exit_qual,
             vmr(GUEST_RIP), vmr(VM_EXIT_INSTRUCTION_LEN), vmr(VM_EXIT_INTR_INFO));
    return EXIT_STOP;
}

static enum exit_action (*const default_handlers[EXIT_REASON_MAX])(struct vcpu *) = {
    [EXIT_REASON_VMCALL] = handle_vmcall,
    [EXIT_REASON_CPUID] = handle_cpuid,
    [EXIT_REASON_EXTERNAL_INTERRUPT] = handle_external_interrupt,
};

static bool entry_failed(struct vcpu *v, int status)
{
    v->failed = true;
    v->entry_status = status;
    if (status == VMX_FAIL_VALID) {
        u32 err = (u32)vmr(VM_INSTRUCTION_ERROR);
        snprintf(v->why, sizeof(v->why), "%s failed: VMfailValid, error %u (%s)",
                 v->launched ? "VMRESUME" : "VMLAUNCH", err, vmx_error_text(err));
    } else {
        snprintf(v->why, sizeof(v->why), "%s failed: VMfailInvalid (no current VMCS)",
                 v->launched ? "VMRESUME" : "VMLAUNCH");
    }
    return false;
}

bool vcpu_resume_loop(struct vcpu *v)
{
    for (;;) {
        int st = vmx_enter(&v->regs, v->launched);
        if (st != VMX_OK)
            return entry_failed(v, st);
        v->exits++;
        u32 reason = (u32)vmr(VM_EXIT_REASON);
        /* A VM entry that fails while or after loading guest state (exit
         * reason bit 31) leaves the launch state as it was: VMLAUNCH marks
         * the VMCS launched only when the entry succeeds (SDM 3C 27.8, the
         * VMLAUNCH operation in 31.3). */
        if (!(reason & EXIT_REASON_ENTRY_FAILURE))
            v->launched = true;
        v->exit_reason = reason & 0xffff;
        v->exit_qual = vmr(EXIT_QUALIFICATION);
        if (reason & EXIT_REASON_ENTRY_FAILURE) {
            v->failed = true;
            snprintf(v->why, sizeof(v->why), "VM entry failed: exit reason %u (%s), "
                     "qualification 0x%llx", v->exit_reason,
                     vmx_exit_reason_name(v->exit_reason), v->exit_qual);
            return false;
        }
        enum exit_action a = v->hook ? v->hook(v, v->exit_reason) : EXIT_DEFAULT;
        if (a == EXIT_DEFAULT) {
            if (v->exit_reason < EXIT_REASON_MAX && default_handlers[v->exit_reason])
                a = default_handlers[v->exit_reason](v);
            else
                a = unexpected_exit(v);
        }
        if (a == EXIT_STOP)
            return !v->failed;
    }
}

void vcpu_set_entry(struct vcpu *v, uintptr_t rip, uintptr_t rsp, unsigned long rflags)
{
    vmw(GUEST_RIP, rip);
    vmw(GUEST_RSP, rsp ? rsp : (uintptr_t)v->stack + GUEST_STACK_PAGES * PAGE_SIZE);
    vmw(GUEST_RFLAGS, rflags | 0x2); /* bit 1 is reserved as 1 */
}

void vcpu_set_call(struct vcpu *v, void (*fn)(void *), void *arg)
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

bool vcpu_continue(struct vcpu *v)
{
    unsigned long flags = irq_save();

    v->done = v->failed = false;
    v->entry_status = VMX_OK;
    v->why[0] = '\0';
    this_cpu()->in_guest = true;
    bool ok = vcpu_resume_loop(v);
    this_cpu()->in_guest = false;
    irq_restore(flags);
    return ok;
}

/* One whole run: the guest must finish (HC_DONE). */
static bool run_to_done(struct vcpu *v)
{
    v->exits = 0;
    bool ok = vcpu_continue(v);
    if (ok && !v->done) {
        v->failed = true;
        snprintf(v->why, sizeof(v->why), "the guest stopped at exit %u (%s) before it finished",
                 v->exit_reason, vmx_exit_reason_name(v->exit_reason));
    }
    return !v->failed;
}

bool vcpu_run_at(struct vcpu *v, uintptr_t rip, uintptr_t rsp, unsigned long rflags)
{
    vcpu_set_entry(v, rip, rsp, rflags);
    return run_to_done(v);
}

bool vcpu_run(struct vcpu *v, void (*fn)(void *), void *arg)
{
    vcpu_set_call(v, fn, arg);
    return run_to_done(v);
}
