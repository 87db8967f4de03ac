/* One test guest per CPU, shared by the VMX suite files (vmx_test.h). */
#include "alloc.h"
#include "cpu.h"
#include "string.h"
#include "desc.h"
#include "vmx_test.h"
#include "x86.h"

static struct vcpu guests[LHV_MAX_CPUS];

struct vcpu *test_guest_of_this_cpu(void) { return &guests[this_cpu()->index]; }

struct vcpu *test_guest(struct cpu_outcome *o)
{
    struct vcpu *v = test_guest_of_this_cpu();
    const char *why = vmx_unavailable();

    if (why) {
        outcome_skip(o, "%s", why);
        return NULL;
    }
    v->hook = NULL;
    v->test_data = NULL;
    if (!vcpu_init(v)) {
        outcome_fail(o, "guest setup: %s", v->why);
        return NULL;
    }
    return v;
}

struct vcpu *test_guest_hooked(struct cpu_outcome *o, exit_hook hook, void *data)
{
    struct vcpu *v = test_guest(o);
    if (v) {
        v->hook = hook;
        v->test_data = data;
    }
    return v;
}

bool test_guest_run(struct cpu_outcome *o, struct vcpu *v, void (*fn)(void *), void *arg)
{
    if (vcpu_run(v, fn, arg).end == RUN_DONE)
        return true;
    outcome_fail(o, "%s", v->why);
    return false;
}

bool test_guest_run_at(struct cpu_outcome *o, struct vcpu *v, uintptr_t rip, uintptr_t rsp,
                       unsigned long rflags)
{
    if (vcpu_run_at(v, rip, rsp, rflags).end == RUN_DONE)
        return true;
    outcome_fail(o, "%s", v->why);
    return false;
}

void guest_nothing(void *arg) { (void)arg; }

void guest_echo(void *arg)
{
    struct echo *e = arg;
    e->result = guest_hypercall(HC_ECHO, e->a, e->b, 0);
}

const char *vmx_status_name(int st)
{
    return st == VMX_OK ? "succeeded" : st == VMX_FAIL_INVALID ? "VMfailInvalid" : "VMfailValid";
}

bool insn_fails_with(struct cpu_outcome *o, const char *what, int st, u32 want)
{
    if (st != VMX_FAIL_VALID) {
        outcome_fail(o, "%s: %s, expected VMfailValid error %u (%s)", what, vmx_status_name(st),
                     want, vmx_error_text(want));
        return false;
    }
    u32 err = (u32)vmr(VM_INSTRUCTION_ERROR);
    if (err != want) {
        outcome_fail(o, "%s: error %u (%s), expected %u (%s)", what, err, vmx_error_text(err),
                     want, vmx_error_text(want));
        return false;
    }
    return true;
}

bool insn_succeeds(struct cpu_outcome *o, const char *what, int st)
{
    if (st == VMX_OK)
        return true;
    if (st == VMX_FAIL_VALID) {
        u32 err = (u32)vmr(VM_INSTRUCTION_ERROR);
        outcome_fail(o, "%s: VMfailValid error %u (%s)", what, err, vmx_error_text(err));
    } else {
        outcome_fail(o, "%s: VMfailInvalid", what);
    }
    return false;
}

bool test_guest_run_nop(struct cpu_outcome *o, struct vcpu *v, const char *when)
{
    if (vcpu_run(v, guest_nothing, NULL).end == RUN_DONE)
        return true;
    outcome_fail(o, "%s: %s", when, v->why);
    return false;
}

/* The capability MSR that reports a control field's allowed settings (SDM
 * 3D A.3-A.5): the TRUE one when IA32_VMX_BASIC bit 55 says so. */
static const char *const ctl_msr[2][5] = {
    {"IA32_VMX_PINBASED_CTLS", "IA32_VMX_PROCBASED_CTLS", "IA32_VMX_PROCBASED_CTLS2",
     "IA32_VMX_EXIT_CTLS", "IA32_VMX_ENTRY_CTLS"},
    {"IA32_VMX_TRUE_PINBASED_CTLS", "IA32_VMX_TRUE_PROCBASED_CTLS", "IA32_VMX_PROCBASED_CTLS2",
     "IA32_VMX_TRUE_EXIT_CTLS", "IA32_VMX_TRUE_ENTRY_CTLS"},
};

const char *control_msr(enum vmx_ctl ctl) { return ctl_msr[vmx_caps.true_ctls][ctl]; }

static const struct vmx_ctl_caps *ctl_caps(enum vmx_ctl ctl)
{
    switch (ctl) {
    case CTL_PIN: return &vmx_caps.pin;
    case CTL_PROC: return &vmx_caps.proc;
    case CTL_PROC2: return &vmx_caps.proc2;
    case CTL_EXIT: return &vmx_caps.exit;
    default: return &vmx_caps.entry;
    }
}

/* "bit 6" or "bits 15, 16" */
static void bit_list(char *buf, size_t size, u32 bits)
{
    size_t len = (size_t)snprintf(buf, size, "bit%s", (bits & (bits - 1)) ? "s" : "");
    for (u32 i = 0, n = 0; i < 32 && len < size; i++)
        if (bits & (1u << i))
            len += (size_t)snprintf(buf + len, size - len, "%s %u", n++ ? "," : "", i);
}

static bool require(struct cpu_outcome *o, enum vmx_ctl ctl, u32 bits, bool one,
                    const char *what)
{
    const char *why = vmx_unavailable();
    char list[48];

    if (why) {
        outcome_skip(o, "%s", why);
        return false;
    }
    const struct vmx_ctl_caps *c = ctl_caps(ctl);
    bool no_proc2 = ctl == CTL_PROC2 && !(vmx_caps.proc.allowed1 & CPU_ACTIVATE_SECONDARY_CONTROLS);
    u32 refused = one ? bits & ~c->allowed1 : bits & c->allowed0;
    if (!no_proc2 && !refused)
        return true;
    bit_list(list, sizeof(list), no_proc2 ? bits : refused);
    outcome_skip(o, "%s %s (%s) may not be %u%s", control_msr(ctl), list, what, one,
                 no_proc2 ? " (no secondary controls)" : "");
    return false;
}

bool require_control(struct cpu_outcome *o, enum vmx_ctl ctl, u32 bits, const char *what)
{
    return require(o, ctl, bits, true, what);
}

bool require_control_clear(struct cpu_outcome *o, enum vmx_ctl ctl, u32 bits, const char *what)
{
    return require(o, ctl, bits, false, what);
}

/* The VMCS field of each control (enum vmx_ctl order) */
static const u32 ctl_field[5] = {PIN_BASED_VM_EXEC_CONTROL, CPU_BASED_VM_EXEC_CONTROL,
                                 SECONDARY_VM_EXEC_CONTROL, VM_EXIT_CONTROLS, VM_ENTRY_CONTROLS};

struct vcpu *test_guest_with_control(struct cpu_outcome *o, enum vmx_ctl ctl, u32 bits,
                                     const char *what, exit_hook hook, void *data)
{
    if (!require_control(o, ctl, bits, what))
        return NULL;
    struct vcpu *v = test_guest_hooked(o, hook, data);
    if (!v)
        return NULL;
    if (ctl == CTL_PROC2)
        vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS);
    vmw_or(ctl_field[ctl], bits);
    return v;
}

struct vcpu *test_guest_with_msr_bitmaps(struct cpu_outcome *o)
{
    if (!require_control(o, CTL_PROC, CPU_USE_MSR_BITMAPS, "use MSR bitmaps"))
        return NULL;
    struct vcpu *v = test_guest(o);
    if (v && !(vmr(CPU_BASED_VM_EXEC_CONTROL) & CPU_USE_MSR_BITMAPS)) {
        outcome_fail(o, "guest setup left \"use MSR bitmaps\" clear");
        return NULL;
    }
    return v;
}

bool cpu_has_rdtscp(void)
{
    return cpuid(0x80000000, 0).eax >= 0x80000001 &&
           (cpuid(0x80000001, 0).edx & CPUID80000001_EDX_RDTSCP);
}

bool cpu_has_efer(void)
{
    return cpuid(0x80000000, 0).eax >= 0x80000001 &&
           (cpuid(0x80000001, 0).edx &
            (CPUID80000001_EDX_SYSCALL | CPUID80000001_EDX_NX | CPUID80000001_EDX_LM));
}

void test_idt_gate(void *idt, u32 vector, const void *handler, u32 dpl)
{
    uintptr_t h = (uintptr_t)handler;
    u32 *g = (u32 *)((u8 *)idt + vector * IDT_GATE_SIZE);
    g[0] = ((u32)SEL_KCODE << 16) | (u32)(h & 0xffff);
    /* present, DPL, 32/64-bit interrupt gate (type 0xe) */
    g[1] = ((u32)h & 0xffff0000u) | ((0x8eu | (dpl & 3) << 5) << 8);
#ifdef __x86_64__
    g[2] = (u32)((u64)h >> 32);
    g[3] = 0;
#endif
}

void *test_idt_with_gate(u32 vector, const void *handler)
{
    void *idt = alloc_pages(1);
    idt_copy(idt);
    test_idt_gate(idt, vector, handler, 0);
    return idt;
}

void test_guest_real_mode(u64 eptp)
{
    u32 proc2, missing;

    vmw(CPU_BASED_VM_EXEC_CONTROL, vmr(CPU_BASED_VM_EXEC_CONTROL) |
                                       CPU_ACTIVATE_SECONDARY_CONTROLS);
    vmx_adjust(&vmx_caps.proc2, CPU2_ENABLE_EPT | CPU2_UNRESTRICTED_GUEST, &proc2, &missing);
    vmw(SECONDARY_VM_EXEC_CONTROL, proc2);
    vmw(EPT_POINTER, eptp);
    u32 entry = (u32)vmr(VM_ENTRY_CONTROLS) & ~ENTRY_IA32E_MODE_GUEST;
    vmw(VM_ENTRY_CONTROLS, entry);
    if (entry & ENTRY_LOAD_IA32_EFER)
        vmw(GUEST_IA32_EFER, 0);
    vmw(GUEST_CR0, (vmx_caps.cr0_fixed0 & ~(u64)(CR0_PE | CR0_PG)) | CR0_ET | CR0_NE);
    vmw(GUEST_CR3, 0);
    vmw(GUEST_CR4, vmx_caps.cr4_fixed0);
    vmw(CR4_READ_SHADOW, 0);
    vmcs_guest_segment(GUEST_CS_SELECTOR, 0, 0, 0xffff, 0x9b);
    vmcs_guest_segment(GUEST_SS_SELECTOR, 0, 0, 0xffff, 0x93);
    vmcs_guest_segment(GUEST_DS_SELECTOR, 0, 0, 0xffff, 0x93);
    vmcs_guest_segment(GUEST_ES_SELECTOR, 0, 0, 0xffff, 0x93);
    vmcs_guest_segment(GUEST_FS_SELECTOR, 0, 0, 0xffff, 0x93);
    vmcs_guest_segment(GUEST_GS_SELECTOR, 0, 0, 0xffff, 0x93);
    vmcs_guest_segment(GUEST_TR_SELECTOR, 0, 0, 0xffff, 0x8b);
    vmcs_guest_segment(GUEST_LDTR_SELECTOR, 0, 0, 0, AR_UNUSABLE);
    vmw(GUEST_GDTR_BASE, 0);
    vmw(GUEST_GDTR_LIMIT, 0xffff);
    vmw(GUEST_IDTR_BASE, 0);
    vmw(GUEST_IDTR_LIMIT, 0x3ff);
    vmw(GUEST_IA32_DEBUGCTL, 0);
}
