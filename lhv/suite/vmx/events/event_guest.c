/* The guest of the event tests (events.h): its IDTs, the hook that records
 * what the stubs report and what exits, running it. */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "x86.h"
#include "events.h"

void *ev_idt, *ev_empty_idt;

void ev_prepare(void)
{
    if (!vmx_caps.present || ev_idt)
        return;
    ev_idt = alloc_pages(1);
    ev_empty_idt = alloc_pages(1);
    memset(ev_idt, 0, PAGE_SIZE);
    memset(ev_empty_idt, 0, PAGE_SIZE);
    test_idt_gate(ev_idt, EV_VEC_EXT, ev_stub_ext, 0);
    test_idt_gate(ev_idt, EV_VEC_SOFT, ev_stub_soft, 0);
    test_idt_gate(ev_idt, VEC_UD, ev_stub_ud, 0);
    test_idt_gate(ev_idt, VEC_PF, ev_stub_pf, 0);
    /* #DB through a trap gate (type 0xf: IF stays set, SDM 3A 6.12.1.3), for
     * an interrupt window right after its delivery; the stub says vector 6 */
    test_idt_gate(ev_idt, VEC_DB, ev_stub_ud, 0);
    ((u32 *)((u8 *)ev_idt + VEC_DB * IDT_GATE_SIZE))[1] |= 1u << 8;
}

static enum exit_action ev_hook(struct vcpu *v, u32 reason)
{
    struct ev_log *l = v->test_data;

    switch (reason) {
    case EXIT_REASON_VMCALL:
        if ((u32)REG_AX(v) != EV_HC_REPORT)
            return EXIT_DEFAULT;
        l->reports++;
        l->vector = (u32)REG_BX(v);
        l->error = (u32)REG_DX(v);
        l->rip = (uintptr_t)REG_CX(v);
        l->activity = (u32)vmr(GUEST_ACTIVITY_STATE);
        vcpu_skip_instruction();
        return EXIT_RESUME;
    case EXIT_REASON_INTERRUPT_WINDOW:
        if (!l->iwin_exits++) {
            l->exit_rip = (uintptr_t)vmr(GUEST_RIP);
            l->interruptibility = (u32)vmr(GUEST_INTERRUPTIBILITY_INFO);
        }
        vmw(GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE); /* an exit from the HLT state: wake it */
        vmw(CPU_BASED_VM_EXEC_CONTROL,
            vmr(CPU_BASED_VM_EXEC_CONTROL) & ~(u64)CPU_INTERRUPT_WINDOW_EXITING);
        /* the watchdog of interrupt_window.c's HLT case is not needed */
        vmw(PIN_BASED_VM_EXEC_CONTROL,
            vmr(PIN_BASED_VM_EXEC_CONTROL) & ~(u64)PIN_PREEMPTION_TIMER);
        return EXIT_RESUME;
    case EXIT_REASON_HLT:
        if (!l->hlt_exits++) {
            l->exit_rip = (uintptr_t)vmr(GUEST_RIP);
            l->exit_len = (u32)vmr(VM_EXIT_INSTRUCTION_LEN);
        }
        vcpu_skip_instruction();
        return EXIT_RESUME;
    case EXIT_REASON_EXCEPTION_NMI:
        /* Only the IDT-vectoring test expects these: the first one is
         * recorded and the guest goes on (the exit cleared the injection) */
        if (l->exc_exits++)
            return EXIT_DEFAULT;
        l->exit_info = (u32)vmr(VM_EXIT_INTR_INFO);
        l->exit_error = (u32)vmr(VM_EXIT_INTR_ERROR_CODE);
        l->vect_info = (u32)vmr(IDT_VECTORING_INFO_FIELD);
        l->vect_error = (u32)vmr(IDT_VECTORING_ERROR_CODE);
        l->exit_len = (u32)vmr(VM_EXIT_INSTRUCTION_LEN);
        l->exc_rip = (uintptr_t)vmr(GUEST_RIP);
        l->exc_qual = v->exit_qual;
        l->exc_pending = vmr(GUEST_PENDING_DBG_EXCEPTIONS);
        /* A #DB test's guest goes on without single-stepping */
        vmw(GUEST_RFLAGS, vmr(GUEST_RFLAGS) & ~(u64)EFLAGS_TF);
        vmw(GUEST_PENDING_DBG_EXCEPTIONS, 0);
        return EXIT_RESUME;
    case EXIT_REASON_CPUID:
        if (l->cpuid_exits < 3)
            l->cpuid_shadow[l->cpuid_exits] = (u32)vmr(GUEST_INTERRUPTIBILITY_INFO);
        l->cpuid_exits++;
        /* The shadow covered the CPUID the host now completes (SDM 3A 6.8.3) */
        vmw(GUEST_INTERRUPTIBILITY_INFO,
            vmr(GUEST_INTERRUPTIBILITY_INFO) & ~(u64)(INTR_BLOCKING_STI | INTR_BLOCKING_MOV_SS));
        return EXIT_DEFAULT;
    default:
        return EXIT_DEFAULT;
    }
}

struct vcpu *ev_guest(struct cpu_outcome *o, struct ev_log *l, void *idt)
{
    struct vcpu *v = test_guest(o);

    memset(l, 0, sizeof(*l));
    if (!v)
        return NULL;
    v->hook = ev_hook;
    v->test_data = l;
    vmw(GUEST_IDTR_BASE, (uintptr_t)idt);
    vmw(GUEST_IDTR_LIMIT, IDT_LIMIT);
    return v;
}

bool ev_run(struct cpu_outcome *o, struct vcpu *v, void (*fn)(void *), unsigned long rflags)
{
    memset(&v->regs, 0, sizeof(v->regs));
    REG_BX(v) = (uintptr_t)fn;
    return test_guest_run_at(o, v, (uintptr_t)guest_entry, 0, rflags);
}

bool ev_check_report(struct cpu_outcome *o, const char *what, const struct ev_log *l,
                     u32 want_vector, u32 want_error, uintptr_t want_rip)
{
    if (l->reports != 1)
        outcome_fail(o, "%s: the guest's handler ran %u times, expected once", what, l->reports);
    else if (l->vector != want_vector)
        outcome_fail(o, "%s: the handler of vector %u ran, expected %u", what, l->vector,
                     want_vector);
    else if (l->rip != want_rip || l->error != want_error)
        outcome_fail(o, "%s: the handler's frame has return IP 0x%lx and error code slot 0x%x, "
                     "expected 0x%lx and 0x%x%s", what, (unsigned long)l->rip, l->error,
                     (unsigned long)want_rip, want_error,
                     want_error == EV_NO_ERROR ? " (no error code)" : "");
    else
        return true;
    return false;
}
