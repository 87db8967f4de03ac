/* The monitor trap flag after an injected event (SDM 3C 26.7.2 "MTF VM
 * exits" / 27.7.2 in older numbering): when VM entry injects a vectored
 * event with the monitor trap flag 1, the event is delivered and an MTF
 * VM exit is pending before the first instruction after the entry, so
 * the exit (reason 37) comes with RIP at the handler's first instruction
 * and the event's frame on the guest stack. The guest's IDT has a gate for
 * #UD, injected as a hardware exception (no error code); the host clears
 * the flag at the exit and the handler IRETs to the guest's program.
 * The same holds for events the guest's own instruction raises (26.5.2):
 * a MOV that faults (#PF: the MTF exit at the #PF handler, after the MOV
 * before it made one after itself) and ICEBP (the #DB it delivers: at the
 * #DB handler). VM entry injecting "other event" vector 0 (a pending MTF
 * exit, 27.6.1) with the control clear exits (reason 37) at once, at the
 * entry RIP. */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "smp.h"
#include "string.h"
#include "suite/guests.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

extern const char mi_handler[];
#ifdef __x86_64__
__asm__(".text\n.globl mi_handler\nmi_handler: nop\n iretq\n");
#define MI_FRAME (5 * 8) /* RIP, CS, RFLAGS, RSP, SS (SDM 3A 6.14.2) */
#else
__asm__(".text\n.globl mi_handler\nmi_handler: nop\n iret\n");
#define MI_FRAME (3 * 4) /* EIP, CS, EFLAGS: no privilege change */
#endif

/* MOV $0x10, EAX; (mf_fault) MOV (xAX), EAX: #PF (page 0 is not
 * present; lhv_ic_pf_stub returns past the 2-byte MOV); HC_DONE.
 * mf_icebp: ICEBP (F1H), then HC_DONE. */
extern const char mf_guest[], mf_fault[], mf_icebp[];
__asm__(".text\n.globl mf_guest, mf_fault, mf_icebp\nmf_guest: mov $0x10, %eax\n"
        "mf_fault: .byte 0x8b, 0x00\n xor %eax, %eax\n vmcall\n"
        "mf_icebp: .byte 0xf1\n xor %eax, %eax\n vmcall\n");

static void *mi_idt;

static void mi_prepare(void)
{
    if (!vmx_caps.present || mi_idt)
        return;
    mi_idt = alloc_pages(1);
    test_idt_gate(mi_idt, VEC_UD, mi_handler, 0);
    test_idt_gate(mi_idt, VEC_DB, mi_handler, 0);
    test_idt_gate(mi_idt, VEC_PF, lhv_ic_pf_stub, 0);
}

struct mi_run {
    u32 mtf_exits, steps; /* the flag is cleared at exit number steps */
    uintptr_t rip, rsp, entry_rsp, rip2;
};

static enum exit_action mi_hook(struct vcpu *v, u32 reason)
{
    struct mi_run *r = v->test_data;

    if (reason != EXIT_REASON_MONITOR_TRAP_FLAG)
        return EXIT_DEFAULT;
    if (!r->mtf_exits++) {
        r->rip = (uintptr_t)vmr(GUEST_RIP);
        r->rsp = (uintptr_t)vmr(GUEST_RSP);
    } else if (r->mtf_exits == 2) {
        r->rip2 = (uintptr_t)vmr(GUEST_RIP);
    }
    if (r->mtf_exits >= r->steps)
        vmw(CPU_BASED_VM_EXEC_CONTROL,
            vmr(CPU_BASED_VM_EXEC_CONTROL) & ~(u64)CPU_MONITOR_TRAP_FLAG);
    return EXIT_RESUME;
}

/* The guest at rip with MTF on (or off) and the event given injected; the
 * flag cleared at MTF exit number steps; the run must end */
static bool mi_run_at(struct cpu_outcome *o, struct mi_run *r, const void *rip, bool mtf,
                      u32 inject, u32 steps)
{
    struct vcpu *v = test_guest(o);

    *r = (struct mi_run){0};
    r->steps = steps;
    if (!v)
        return false;
    vmw(GUEST_IDTR_BASE, (uintptr_t)mi_idt);
    vmw(GUEST_IDTR_LIMIT, IDT_LIMIT);
    vmw(EXCEPTION_BITMAP, 0);
    if (mtf)
        vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_MONITOR_TRAP_FLAG);
    vmw(VM_ENTRY_INTR_INFO_FIELD, inject);
    v->hook = mi_hook;
    v->test_data = r;
    if (rip)
        vcpu_set_entry(v, (uintptr_t)rip, 0, 0);
    else
        vcpu_set_call(v, guest_nothing, NULL);
    r->entry_rsp = (uintptr_t)vmr(GUEST_RSP);
    v->exits = 0;
    if (vcpu_continue(v).end == RUN_DONE)
        return true;
    outcome_fail(o, "%s", v->why);
    return false;
}

static void check_mtf_injected(struct cpu_outcome *o, void *arg)
{
    struct mi_run r;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_MONITOR_TRAP_FLAG, "monitor trap flag") ||
        !mi_run_at(o, &r, NULL, true, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD), 1))
        return;
    /* Bochs 2.7 never makes an MTF exit (vmx/mtf-single-step) */
    if (r.mtf_exits == 0 && l0_bochs_deviates(BOCHS_2_7_ONLY))
        return outcome_xfail(o, "%s makes no MTF exit: its VM entry does not arm the monitor "
                             "trap flag", l0_bochs_names(BOCHS_2_7_ONLY));
    if (!CHECK_EQ(o, r.mtf_exits, 1) || !CHECK_EQ(o, r.rip, (uintptr_t)mi_handler) ||
        !CHECK_EQ(o, r.rsp, r.entry_rsp - MI_FRAME))
        return;
    /* the guest's own fault, then ICEBP */
    if (!mi_run_at(o, &r, mf_guest, true, 0, 2) || !CHECK_EQ(o, r.mtf_exits, 2) ||
        !CHECK_EQ(o, r.rip, (uintptr_t)mf_fault))
        return;
    if (r.rip2 == (uintptr_t)mf_fault && smp_online_count() > 1 &&
        l0_bochs_deviates(BOCHS_3_0_ONLY))
        outcome_xfail(o, "%s with 2+ CPUs: the exit saved the faulting MOV's RIP, not the #PF "
                      "handler's", l0_bochs_names(BOCHS_3_0_ONLY));
    else if (!CHECK_EQ(o, r.rip2, (uintptr_t)lhv_ic_pf_stub))
        return;
    if (!mi_run_at(o, &r, mf_icebp, true, 0, 1) || !CHECK_EQ(o, r.mtf_exits, 1) ||
        !CHECK_EQ(o, r.rip, (uintptr_t)mi_handler))
        return;
    /* a pending MTF exit injected, the control clear */
    if (mi_run_at(o, &r, mf_icebp, false, INTR_INFO(INTR_TYPE_OTHER_EVENT, 0), 1) &&
        CHECK_EQ(o, r.mtf_exits, 1))
        CHECK_EQ(o, r.rip, (uintptr_t)mf_icebp);
}
VMX_TEST_ALL_CPUS_AFTER("vmx/mtf-injected-event", mi_prepare, check_mtf_injected);

/* The MTF exit's priority (SDM 3C 25.5.2 / 26.7.2; 3A 6.9): it comes
 * before a VMX-preemption timer expiry and before a debug-trap exception
 * pending at the same instruction boundary (26.6.4: a zero timer exits
 * "with its normal priority after any event injection").
 * - #UD injected, timer value 0: exit 37 at the handler, then exit 52;
 * - RFLAGS.TF=1 over a NOP: exit 37 after the NOP with the single step
 *   saved as a pending debug exception (BS, 28.3.4), then, entered again
 *   with it, the #DB (exit 0, vector 1: #DB is in the bitmap). */
extern const char mp_tf[], mp_after[];
__asm__(".text\n.globl mp_tf, mp_after\nmp_tf: nop\nmp_after: nop\n xor %eax, %eax\n vmcall\n");

struct mp_run {
    u32 n, reasons[3], vectors[3];
    uintptr_t rips[3];
    u64 pending;
};

static enum exit_action mp_hook(struct vcpu *v, u32 reason)
{
    struct mp_run *r = v->test_data;

    if (reason != EXIT_REASON_MONITOR_TRAP_FLAG && reason != EXIT_REASON_PREEMPTION_TIMER &&
        reason != EXIT_REASON_EXCEPTION_NMI)
        return EXIT_DEFAULT;
    if (r->n < 3) {
        r->reasons[r->n] = reason;
        r->vectors[r->n] = (u32)vmr(VM_EXIT_INTR_INFO) & INTR_INFO_VECTOR_MASK;
        r->rips[r->n] = (uintptr_t)vmr(GUEST_RIP);
    }
    if (r->n++ >= 3)
        return vcpu_fail(v, "more than 3 exits");
    if (reason == EXIT_REASON_MONITOR_TRAP_FLAG) {
        r->pending = vmr(GUEST_PENDING_DBG_EXCEPTIONS);
        vmw(CPU_BASED_VM_EXEC_CONTROL,
            vmr(CPU_BASED_VM_EXEC_CONTROL) & ~(u64)CPU_MONITOR_TRAP_FLAG);
    } else if (reason == EXIT_REASON_PREEMPTION_TIMER) {
        vmw(PIN_BASED_VM_EXEC_CONTROL,
            vmr(PIN_BASED_VM_EXEC_CONTROL) & ~(u64)PIN_PREEMPTION_TIMER);
    } else { /* the #DB: the guest goes on without single-stepping */
        vmw(GUEST_RFLAGS, vmr(GUEST_RFLAGS) & ~(u64)EFLAGS_TF);
        vmw(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    }
    return EXIT_RESUME;
}

static bool mp_run_it(struct cpu_outcome *o, struct vcpu *v, struct mp_run *r)
{
    v->hook = mp_hook;
    v->test_data = r;
    v->exits = 0;
    if (vcpu_continue(v).end == RUN_DONE)
        return true;
    outcome_fail(o, "%s", v->why);
    return false;
}

static void check_mtf_priority(struct cpu_outcome *o, void *arg)
{
    struct mp_run r = {0};
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_MONITOR_TRAP_FLAG, "monitor trap flag") ||
        !require_control(o, CTL_PIN, PIN_PREEMPTION_TIMER, "activate VMX-preemption timer") ||
        !(v = test_guest(o)))
        return;
    vmw(GUEST_IDTR_BASE, (uintptr_t)mi_idt);
    vmw(GUEST_IDTR_LIMIT, IDT_LIMIT);
    vmw(EXCEPTION_BITMAP, 0);
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_MONITOR_TRAP_FLAG);
    vmw_or(PIN_BASED_VM_EXEC_CONTROL, PIN_PREEMPTION_TIMER);
    vmw(VMX_PREEMPTION_TIMER_VALUE, 0);
    vmw(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD));
    vcpu_set_call(v, guest_nothing, NULL);
    if (!mp_run_it(o, v, &r))
        return;
    if (r.n == 1 && r.reasons[0] == EXIT_REASON_PREEMPTION_TIMER &&
        l0_bochs_deviates(BOCHS_2_7_ONLY))
        return outcome_xfail(o, "%s makes no MTF exit: its VM entry does not arm the monitor "
                             "trap flag", l0_bochs_names(BOCHS_2_7_ONLY));
    if (!CHECK_EQ(o, r.n, 2) || !CHECK_EQ(o, r.reasons[0], EXIT_REASON_MONITOR_TRAP_FLAG) ||
        !CHECK_EQ(o, r.rips[0], (uintptr_t)mi_handler) ||
        !CHECK_EQ(o, r.reasons[1], EXIT_REASON_PREEMPTION_TIMER) || !(v = test_guest(o)))
        return;
    /* single step and MTF at the same boundary */
    r = (struct mp_run){0};
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_MONITOR_TRAP_FLAG);
    vmw(EXCEPTION_BITMAP, 1u << VEC_DB);
    vcpu_set_entry(v, (uintptr_t)mp_tf, 0, EFLAGS_TF);
    if (!mp_run_it(o, v, &r) || !CHECK_EQ(o, r.n, 2) ||
        !CHECK_EQ(o, r.reasons[0], EXIT_REASON_MONITOR_TRAP_FLAG) ||
        !CHECK_EQ(o, r.rips[0], (uintptr_t)mp_after) || !CHECK(o, r.pending & PENDING_DBG_BS))
        return;
    if (CHECK_EQ(o, r.reasons[1], EXIT_REASON_EXCEPTION_NMI) && CHECK_EQ(o, r.vectors[1], VEC_DB))
        CHECK_EQ(o, r.rips[1], (uintptr_t)mp_after);
}
VMX_TEST_ALL_CPUS_AFTER("vmx/mtf-priority", mi_prepare, check_mtf_priority);
