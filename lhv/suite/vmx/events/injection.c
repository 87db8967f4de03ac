/* Event injection on VM entry (SDM 3C 27.6), on every CPU: an external
 * interrupt, an exception with its error code, a software interrupt. */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "x86.h"
#include "events.h"

/* ===== vmx/inject-external-interrupt ====================================== */
static void check_inject_ext(struct cpu_outcome *o, void *arg)
{
    struct ev_log l;
    struct vcpu *v = ev_guest(o, &l, ev_idt);
    (void)arg;

    if (!v)
        return;
    vmw(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO(INTR_TYPE_EXT_INTR, EV_VEC_EXT));
    if (ev_run(o, v, guest_nothing, EFLAGS_IF))
        ev_check_report(o, "external interrupt 0x70", &l, EV_VEC_EXT, EV_NO_ERROR,
                        (uintptr_t)guest_entry);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/inject-external-interrupt", ev_prepare, check_inject_ext);

/* ===== vmx/inject-exception-with-error-code =============================== */
static void check_inject_exc(struct cpu_outcome *o, void *arg)
{
    struct ev_log l;
    struct vcpu *v = ev_guest(o, &l, ev_idt);
    (void)arg;

    if (!v)
        return;
    vmw(VM_ENTRY_INTR_INFO_FIELD,
        INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_PF) | INTR_INFO_DELIVER_CODE);
    vmw(VM_ENTRY_EXCEPTION_ERROR_CODE, EV_PF_ERROR);
    if (!ev_run(o, v, guest_nothing, 0) ||
        !ev_check_report(o, "#PF", &l, VEC_PF, EV_PF_ERROR, (uintptr_t)guest_entry))
        return;
    if (!(v = ev_guest(o, &l, ev_idt)))
        return;
    vmw(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD));
    if (ev_run(o, v, guest_nothing, 0))
        ev_check_report(o, "#UD", &l, VEC_UD, EV_NO_ERROR, (uintptr_t)guest_entry);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/inject-exception-with-error-code", ev_prepare, check_inject_exc);

/* ===== vmx/inject-software-interrupt ======================================
 * INT n injected at guest_entry with the length of guest_entry's first
 * instruction: the handler returns past it (amd64: past the call, so the
 * guest goes straight to its HC_DONE; i386: past the push, so the call
 * runs with the stack one word short, harmless before HC_DONE). */
static void check_inject_soft(struct cpu_outcome *o, void *arg)
{
    struct ev_log l;
    struct vcpu *v = ev_guest(o, &l, ev_idt);
    (void)arg;

    if (!v)
        return;
    vmw(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO(INTR_TYPE_SOFT_INTR, EV_VEC_SOFT));
#ifdef __x86_64__
    u32 len = 2; /* guest_entry's CALL *%rbx */
#else
    u32 len = 1; /* guest_entry's PUSH %eax: the CALL comes next */
#endif
    vmw(VM_ENTRY_INSTRUCTION_LEN, len);
    if (ev_run(o, v, guest_nothing, 0))
        ev_check_report(o, "INT 0x71", &l, EV_VEC_SOFT, EV_NO_ERROR,
                        (uintptr_t)guest_entry + len);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/inject-software-interrupt", ev_prepare, check_inject_soft);
