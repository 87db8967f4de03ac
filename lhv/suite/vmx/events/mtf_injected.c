/* The monitor trap flag after an injected event (SDM 3C 26.7.2 "MTF VM
 * exits" / 27.7.2 in older numbering): when VM entry injects a vectored
 * event with the monitor trap flag 1, the event is delivered and an MTF
 * VM exit is pending before the first instruction after the entry, so
 * the exit (reason 37) comes with RIP at the handler's first instruction
 * and the event's frame on the guest stack. The guest's IDT has a gate for
 * #UD, injected as a hardware exception (no error code); the host clears
 * the flag at the exit and the handler IRETs to the guest's program. */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
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

static void *mi_idt;

static void mi_prepare(void)
{
    if (!vmx_caps.present || mi_idt)
        return;
    mi_idt = alloc_pages(1);
    test_idt_gate(mi_idt, VEC_UD, mi_handler, 0);
}

struct mi_run {
    u32 mtf_exits;
    uintptr_t rip, rsp, entry_rsp;
};

static enum exit_action mi_hook(struct vcpu *v, u32 reason)
{
    struct mi_run *r = v->test_data;

    if (reason != EXIT_REASON_MONITOR_TRAP_FLAG)
        return EXIT_DEFAULT;
    if (!r->mtf_exits++) {
        r->rip = (uintptr_t)vmr(GUEST_RIP);
        r->rsp = (uintptr_t)vmr(GUEST_RSP);
    }
    vmw(CPU_BASED_VM_EXEC_CONTROL,
        vmr(CPU_BASED_VM_EXEC_CONTROL) & ~(u64)CPU_MONITOR_TRAP_FLAG);
    return EXIT_RESUME;
}

static void check_mtf_injected(struct cpu_outcome *o, void *arg)
{
    struct mi_run r = {0};
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_MONITOR_TRAP_FLAG, "monitor trap flag") ||
        !(v = test_guest(o)))
        return;
    vmw(GUEST_IDTR_BASE, (uintptr_t)mi_idt);
    vmw(GUEST_IDTR_LIMIT, 256 * IDT_GATE_SIZE - 1);
    vmw(EXCEPTION_BITMAP, 0);
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_MONITOR_TRAP_FLAG);
    vmw(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD));
    v->hook = mi_hook;
    v->test_data = &r;
    vcpu_set_call(v, guest_nothing, NULL);
    r.entry_rsp = (uintptr_t)vmr(GUEST_RSP);
    v->exits = 0;
    if (vcpu_continue(v).end != RUN_DONE)
        return outcome_fail(o, "%s", v->why);
    /* Bochs 2.7 never makes an MTF exit (vmx/mtf-single-step) */
    if (r.mtf_exits == 0 && l0_bochs_deviates(BOCHS_2_7_ONLY))
        return outcome_xfail(o, "%s makes no MTF exit: its VM entry does not arm the monitor "
                             "trap flag", l0_bochs_names(BOCHS_2_7_ONLY));
    if (CHECK_EQ(o, r.mtf_exits, 1) && CHECK_EQ(o, r.rip, (uintptr_t)mi_handler))
        CHECK_EQ(o, r.rsp, r.entry_rsp - MI_FRAME);
}
VMX_TEST_ALL_CPUS_AFTER("vmx/mtf-injected-event", mi_prepare, check_mtf_injected);
