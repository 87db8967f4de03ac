/* Events, on every CPU: event injection on VM entry (SDM 3C 27.6), the
 * IDT-vectoring information of an exit during event delivery (28.2.4),
 * interrupt-window exiting (26.7.5) and HLT exiting / the HLT activity
 * state (25.6.2, 25.4.2), the interrupt shadow of STI and MOV SS across VM
 * entry and exit (25.4.2 table 25-3, 27.3.1.5, 28.3.4) and pending debug
 * exceptions (27.7.3). The guest gets an IDT of its own whose gates
 * point to stubs (below) that report the vector, the error code slot and
 * the return IP with a VMCALL the hook answers, then IRET. */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "spinlock.h"
#include "string.h"
#include "vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

#define EV_HC_REPORT 0x0f10   /* LHV's range (docs/design.md §3): a stub's report */
#define EV_NO_ERROR 0xfeed    /* what a stub reports for "no error code" */
#define EV_VEC_EXT 0x70       /* injected as an external interrupt */
#define EV_VEC_SOFT 0x71      /* injected as a software interrupt (INT n) */
#define EV_VEC_MISSING 0x72   /* no gate in any of the guest's IDTs */
#define EV_PF_ERROR 0x0b      /* P | W | RSVD: any value reaches the handler */
#define EV_AC_ERROR 0xc0

/* Interruption-information format (SDM 3C 25.8.3, 28.2.2, 28.2.4) */
/* Interruptibility state (SDM 3C 25.4.2 table 25-3) */
/* Pending debug exceptions (25.4.2 table 25-4) and the #DB exit
 * qualification (28.2.1 table 28-1): BS, a single step */


extern char guest_entry[];
extern const char ev_stub_ext[], ev_stub_soft[], ev_stub_ud[], ev_stub_pf[];
extern const char ev_iwin_guest[], ev_iwin_after_nop[], ev_hlt_guest[];
extern const char ev_shadow_guest[], ev_shadow_after[], ev_saves_guest[];

/* Gate stubs: each pushes a fake error code when the CPU pushes none, then
 * its vector; the common part reports {vector, error code, return IP} in
 * EBX, EDX, ECX, and IRETs past both words. */
#ifdef __x86_64__
__asm__(".text\n"
        ".globl ev_stub_ext, ev_stub_soft, ev_stub_ud, ev_stub_pf\n"
        "ev_stub_ext:  pushq $0xfeed\n pushq $0x70\n jmp ev_stub_common\n"
        "ev_stub_soft: pushq $0xfeed\n pushq $0x71\n jmp ev_stub_common\n"
        "ev_stub_ud:   pushq $0xfeed\n pushq $6\n jmp ev_stub_common\n"
        "ev_stub_pf:   pushq $14\n jmp ev_stub_common\n"
        "ev_stub_common:\n"
        " push %rax\n push %rbx\n push %rcx\n push %rdx\n"
        " mov $0x0f10, %eax\n mov 32(%rsp), %rbx\n mov 40(%rsp), %rdx\n mov 48(%rsp), %rcx\n"
        " vmcall\n"
        " pop %rdx\n pop %rcx\n pop %rbx\n pop %rax\n add $16, %rsp\n iretq\n"
        /* interrupt window: IF=0 on entry; the exit comes after the NOP */
        ".globl ev_iwin_guest, ev_iwin_after_nop\n"
        "ev_iwin_guest: sti\n nop\n"
        "ev_iwin_after_nop: nop\n cli\n ret\n"
        ".globl ev_hlt_guest\n"
        "ev_hlt_guest: hlt\n ret\n");
#else
__asm__(".text\n"
        ".globl ev_stub_ext, ev_stub_soft, ev_stub_ud, ev_stub_pf\n"
        "ev_stub_ext:  pushl $0xfeed\n pushl $0x70\n jmp ev_stub_common\n"
        "ev_stub_soft: pushl $0xfeed\n pushl $0x71\n jmp ev_stub_common\n"
        "ev_stub_ud:   pushl $0xfeed\n pushl $6\n jmp ev_stub_common\n"
        "ev_stub_pf:   pushl $14\n jmp ev_stub_common\n"
        "ev_stub_common:\n"
        " push %eax\n push %ebx\n push %ecx\n push %edx\n"
        " mov $0x0f10, %eax\n mov 16(%esp), %ebx\n mov 20(%esp), %edx\n mov 24(%esp), %ecx\n"
        " vmcall\n"
        " pop %edx\n pop %ecx\n pop %ebx\n pop %eax\n add $8, %esp\n iret\n"
        ".globl ev_iwin_guest, ev_iwin_after_nop\n"
        "ev_iwin_guest: sti\n nop\n"
        "ev_iwin_after_nop: nop\n cli\n ret\n"
        ".globl ev_hlt_guest\n"
        "ev_hlt_guest: hlt\n ret\n");
#endif

/* Entered directly, IF=1: two NOPs and HC_DONE. And a program entered with
 * IF=0 whose CPUIDs follow STI, MOV SS and nothing. Both subarchs. */
__asm__(".text\n"
        ".globl ev_shadow_guest, ev_shadow_after, ev_saves_guest\n"
        "ev_shadow_guest: nop\n"
        "ev_shadow_after: nop\n xor %eax, %eax\n vmcall\n"
        "ev_saves_guest: xor %eax, %eax\n sti\n cpuid\n cli\n"
        " mov %ss, %eax\n mov %eax, %ss\n cpuid\n"
        " xor %eax, %eax\n cpuid\n"
        " xor %eax, %eax\n vmcall\n");

/* The guest's IDTs, shared by all CPUs (the guest only reads them): one
 * with gates for the injection tests, one with no gate at all. */
static void *ev_idt, *ev_empty_idt;

static void ev_prepare(void)
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
}

/* What the hook saw */
struct ev_log {
    u32 reports;            /* stub reports */
    u32 vector, error;
    uintptr_t rip;          /* the return IP in the handler's frame */
    u32 activity;           /* GUEST_ACTIVITY_STATE at the report */
    u32 iwin_exits, hlt_exits, exc_exits;
    uintptr_t exit_rip;     /* GUEST_RIP at the interrupt-window / HLT exit */
    u32 exit_len, interruptibility;
    u32 exit_info, exit_error, vect_info, vect_error;
    uintptr_t exc_rip;      /* GUEST_RIP at the exception exit */
    u64 exc_qual;
    u32 cpuid_exits, cpuid_shadow[3]; /* interruptibility at each CPUID exit */
};

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
        vmw(CPU_BASED_VM_EXEC_CONTROL,
            vmr(CPU_BASED_VM_EXEC_CONTROL) & ~(u64)CPU_INTERRUPT_WINDOW_EXITING);
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


/* A fresh guest with the hook, the given IDT and nothing injected yet */
static struct vcpu *ev_guest(struct cpu_outcome *o, struct ev_log *l, void *idt)
{
    struct vcpu *v = test_guest(o);

    memset(l, 0, sizeof(*l));
    if (!v)
        return NULL;
    v->hook = ev_hook;
    v->test_data = l;
    vmw(GUEST_IDTR_BASE, (uintptr_t)idt);
    vmw(GUEST_IDTR_LIMIT, 256 * IDT_GATE_SIZE - 1);
    return v;
}

/* vcpu_run with the guest's RFLAGS chosen (IF for an injected external
 * interrupt, 26.3.1.4) */
static bool ev_run(struct cpu_outcome *o, struct vcpu *v, void (*fn)(void *), unsigned long rflags)
{
    memset(&v->regs, 0, sizeof(v->regs));
    REG_BX(v) = (uintptr_t)fn;
    return test_guest_run_at(o, v, (uintptr_t)guest_entry, 0, rflags);
}

/* One injection: the handler for want_vector ran once, saw want_error
 * (EV_NO_ERROR: none pushed) and returns to want_rip. */
static bool ev_check_report(struct cpu_outcome *o, const char *what, const struct ev_log *l,
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

/* ===== vmx/interrupt-window-exiting =======================================
 * Entered with IF=0: no exit. STI blocks interrupts for one more
 * instruction (SDM 3A 6.8.3), so the exit (reason 7) comes after the NOP
 * that follows it, with no blocking left. */
static void check_iwin(struct cpu_outcome *o, void *arg)
{
    struct ev_log l;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_INTERRUPT_WINDOW_EXITING, "interrupt-window exiting"))
        return;
    struct vcpu *v = ev_guest(o, &l, ev_idt);
    if (!v)
        return;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_INTERRUPT_WINDOW_EXITING);
    if (!ev_run(o, v, (void (*)(void *))(uintptr_t)ev_iwin_guest, 0))
        return;
    if (l.iwin_exits != 1)
        outcome_fail(o, "%u interrupt-window exits, expected 1", l.iwin_exits);
    else if (l.exit_rip == (uintptr_t)ev_iwin_guest + 1 && l0_bochs_deviates(BOCHS_3_0_ONLY))
        outcome_xfail(o, "%s with 2+ CPUs: exit right after the STI (interrupt shadow lost)",
                      l0_bochs_names(BOCHS_3_0_ONLY));
    else if (l.exit_rip != (uintptr_t)ev_iwin_after_nop)
        outcome_fail(o, "the interrupt-window exit came at guest RIP 0x%lx, expected 0x%lx "
                     "(STI at 0x%lx, then one NOP)", (unsigned long)l.exit_rip,
                     (unsigned long)ev_iwin_after_nop, (unsigned long)ev_iwin_guest);
    else if (l.interruptibility & 3)
        outcome_fail(o, "interruptibility 0x%x at the exit, expected no blocking",
                     l.interruptibility);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/interrupt-window-exiting", ev_prepare, check_iwin);

/* ===== vmx/hlt-exiting ====================================================
 * HLT exits with reason 12 and length 1 (SDM 3C 26.1.3); then, without HLT
 * exiting, a guest entered in the HLT activity state (25.4.2) with an
 * external interrupt injected wakes to take it (27.6) and is active. */
static void check_hlt(struct cpu_outcome *o, void *arg)
{
    struct ev_log l;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_HLT_EXITING, "HLT exiting"))
        return;
    struct vcpu *v = ev_guest(o, &l, ev_idt);
    if (!v)
        return;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_HLT_EXITING);
    if (!ev_run(o, v, (void (*)(void *))(uintptr_t)ev_hlt_guest, 0))
        return;
    if (l.hlt_exits != 1 || l.exit_rip != (uintptr_t)ev_hlt_guest || l.exit_len != 1) {
        outcome_fail(o, "%u HLT exits (expected 1), the first at guest RIP 0x%lx with length %u "
                     "(expected 0x%lx, 1)", l.hlt_exits, (unsigned long)l.exit_rip, l.exit_len,
                     (unsigned long)ev_hlt_guest);
        return;
    }
    if (!(vmx_caps.misc & VMX_MISC_ACTIVITY_HLT)) {
        outcome_skip(o, "HLT exits passed; no HLT activity state (IA32_VMX_MISC bit 6)");
        return;
    }
    if (!(v = ev_guest(o, &l, ev_idt)))
        return;
    vmw(GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
    vmw(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO(INTR_TYPE_EXT_INTR, EV_VEC_EXT));
    if (!ev_run(o, v, guest_nothing, EFLAGS_IF) ||
        !ev_check_report(o, "external interrupt into the HLT state", &l, EV_VEC_EXT, EV_NO_ERROR,
                         (uintptr_t)guest_entry))
        return;
    if (l.activity != 0)
        outcome_fail(o, "activity state %u in the handler, expected 0 (active)", l.activity);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/hlt-exiting", ev_prepare, check_hlt);

/* ===== vmx/idt-vectoring-info =============================================
 * Injected events into an IDT of all-zero entries: a descriptor of type 0
 * is no gate, so delivery raises #GP (error code: the IDT entry, bit 1
 * IDT, bit 0 EXT for events external to the program; SDM 3A 6.13, 6.14.1),
 * which exits (exception bitmap). The exit names #GP; the IDT-vectoring
 * information names the injected event (3C 28.2.4), with its error code
 * and, for INT n, its length (28.2.5). #UD and #AC are benign, so the #GP
 * does not make a double fault. */
struct ev_case {
    const char *what;
    u32 info, error;
    bool ext; /* #GP's EXT bit */
};

static void check_idt_vectoring(struct cpu_outcome *o, void *arg)
{
    static const struct ev_case cases[] = {
        {"external interrupt 0x72", INTR_INFO(INTR_TYPE_EXT_INTR, EV_VEC_MISSING), 0, true},
        {"#UD", INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD), 0, true},
        {"#AC(0xc0)", INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_AC) | INTR_INFO_DELIVER_CODE,
         EV_AC_ERROR, true},
        {"INT 0x72", INTR_INFO(INTR_TYPE_SOFT_INTR, EV_VEC_MISSING), 0, false},
    };
    struct ev_log l;
    (void)arg;

    for (u32 i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ev_case *c = &cases[i];
        u32 vec = c->info & 0xff;
        u32 want_gp = vec * 8 + 2 + (c->ext ? 1 : 0);
        struct vcpu *v = ev_guest(o, &l, ev_empty_idt);
        if (!v)
            return;
        vmw(VM_ENTRY_INTR_INFO_FIELD, c->info);
        vmw(VM_ENTRY_EXCEPTION_ERROR_CODE, c->error);
        vmw(VM_ENTRY_INSTRUCTION_LEN, 2);
        bool ext = INTR_INFO_TYPE(c->info) == INTR_TYPE_EXT_INTR;
        if (!ev_run(o, v, guest_nothing, ext ? EFLAGS_IF : 0))
            return;
        if (l.exc_exits != 1) {
            outcome_fail(o, "%s: %u exception exits, expected 1", c->what, l.exc_exits);
            return;
        }
        if (l.exit_info != (INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_GP) | INTR_INFO_DELIVER_CODE) ||
            l.exit_error != want_gp) {
            outcome_fail(o, "%s: exit interruption info 0x%x error 0x%x, expected #GP 0x%x "
                         "error 0x%x", c->what, l.exit_info, l.exit_error,
                         INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_GP) | INTR_INFO_DELIVER_CODE,
                         want_gp);
            return;
        }
        /* bit 12 of the vectoring info is undefined; compare the rest */
        if ((l.vect_info & ~(1u << 12)) != c->info ||
            ((c->info & INTR_INFO_DELIVER_CODE) && l.vect_error != c->error)) {
            outcome_fail(o, "%s: IDT-vectoring info 0x%x error 0x%x, expected 0x%x error 0x%x",
                         c->what, l.vect_info, l.vect_error, c->info, c->error);
            return;
        }
        if (INTR_INFO_TYPE(c->info) == INTR_TYPE_SOFT_INTR && l.exit_len != 2) {
            outcome_fail(o, "%s: VM-exit instruction length %u, expected the injected 2",
                         c->what, l.exit_len);
            return;
        }
    }
}

VMX_TEST_ALL_CPUS_AFTER("vmx/idt-vectoring-info", ev_prepare, check_idt_vectoring);

/* A guest entered at ev_shadow_guest with interruptibility block and RFLAGS
 * rflags; true when VM entry took it */
static bool ev_enter_shadow(struct cpu_outcome *o, struct vcpu *v, u32 block,
                            unsigned long rflags)
{
    vmw(GUEST_INTERRUPTIBILITY_INFO, block);
    memset(&v->regs, 0, sizeof(v->regs));
    return test_guest_run_at(o, v, (uintptr_t)ev_shadow_guest, 0, rflags);
}

/* VM entry must refuse the guest state: exit reason 33 (SDM 3C 27.8) */
static bool ev_refused(struct cpu_outcome *o, struct vcpu *v, bool ran, const char *what)
{
    if (!ran && v->exit_reason == EXIT_REASON_INVALID_GUEST_STATE)
        return true;
    outcome_fail(o, "%s: VM entry %s, expected it to fail with reason 33 (SDM 3C 27.3.1.5)",
                 what, ran ? "took the guest" : v->why);
    return false;
}

/* ===== vmx/entry-interrupt-shadow =========================================
 * Interrupt-window exiting with IF=1: without blocking the exit (reason 7)
 * comes before the guest's first instruction (SDM 3C 26.7.5); entered with
 * blocking by STI or by MOV SS (interruptibility bits 0, 1: 25.4.2) it
 * comes after one instruction, as if the instruction before entry had
 * been STI or MOV SS (3A 6.8.3). Blocking by STI with IF=0 is no valid
 * guest state (27.3.1.5). */
static void check_entry_shadow(struct cpu_outcome *o, void *arg)
{
    static const struct {
        const char *what;
        u32 block;
        const char *want;
    } cases[] = {
        {"no blocking", 0, ev_shadow_guest},
        {"blocking by STI", INTR_BLOCKING_STI, ev_shadow_after},
        {"blocking by MOV SS", INTR_BLOCKING_MOV_SS, ev_shadow_after},
    };
    struct ev_log l;
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_INTERRUPT_WINDOW_EXITING, "interrupt-window exiting"))
        return;
    for (u32 i = 0; i < ARRAY_SIZE(cases); i++) {
        if (!(v = ev_guest(o, &l, ev_idt)))
            return;
        vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_INTERRUPT_WINDOW_EXITING);
        if (!ev_enter_shadow(o, v, cases[i].block, EFLAGS_IF))
            return;
        /* Bochs 3.0 with 2+ CPUs sometimes loses the interrupt shadow
         * (docs/l0-deviations.md) */
        if (cases[i].block && l.iwin_exits == 1 && l.exit_rip == (uintptr_t)ev_shadow_guest &&
            l0_bochs_deviates(BOCHS_3_0_ONLY)) {
            outcome_xfail(o, "%s: %s with 2+ CPUs: exit before the first guest instruction "
                          "(interrupt shadow lost)", cases[i].what,
                          l0_bochs_names(BOCHS_3_0_ONLY));
            return;
        }
        if (l.iwin_exits != 1 || l.exit_rip != (uintptr_t)cases[i].want) {
            outcome_fail(o, "%s: %u interrupt-window exits, the first at guest RIP 0x%lx; "
                         "expected one at 0x%lx (entry at 0x%lx)", cases[i].what, l.iwin_exits,
                         (unsigned long)l.exit_rip, (unsigned long)cases[i].want,
                         (unsigned long)ev_shadow_guest);
            return;
        }
    }
    if (!(v = ev_guest(o, &l, ev_idt)))
        return;
    vmw(GUEST_INTERRUPTIBILITY_INFO, INTR_BLOCKING_STI);
    ev_refused(o, v, vcpu_run_at(v, (uintptr_t)ev_shadow_guest, 0, 0).end == RUN_DONE,
               "blocking by STI with IF=0");
}

VMX_TEST_ALL_CPUS_AFTER("vmx/entry-interrupt-shadow", ev_prepare, check_entry_shadow);

/* ===== vmx/exit-saves-interrupt-shadow ====================================
 * A VM exit saves the interruptibility state (SDM 3C 28.3.4): CPUID (which
 * always exits, 26.1.2) right after STI with IF=0 before it exits with
 * blocking by STI (bit 0); right after MOV SS with blocking by MOV SS (bit
 * 1); with nothing before it, with neither. The host clears the blocking
 * as it completes each CPUID. */
static void check_exit_shadow(struct cpu_outcome *o, void *arg)
{
    static const u32 want[3] = {INTR_BLOCKING_STI, INTR_BLOCKING_MOV_SS, 0};
    static const char *const after[3] = {"STI", "MOV SS", "no STI or MOV SS"};
    struct ev_log l;
    struct vcpu *v = ev_guest(o, &l, ev_idt);
    (void)arg;

    if (!v)
        return;
    memset(&v->regs, 0, sizeof(v->regs));
    if (!test_guest_run_at(o, v, (uintptr_t)ev_saves_guest, 0, 0))
        return;
    if (l.cpuid_exits != 3) {
        outcome_fail(o, "%u CPUID exits, expected 3", l.cpuid_exits);
        return;
    }
    for (u32 i = 0; i < 3; i++)
        if ((l.cpuid_shadow[i] & (INTR_BLOCKING_STI | INTR_BLOCKING_MOV_SS)) != want[i]) {
            outcome_fail(o, "CPUID after %s: interruptibility 0x%x saved, expected bits 1:0 = %u",
                         after[i], l.cpuid_shadow[i], want[i]);
            return;
        }
}

VMX_TEST_ALL_CPUS_AFTER("vmx/exit-saves-interrupt-shadow", ev_prepare, check_exit_shadow);

/* ===== vmx/pending-debug-exceptions =======================================
 * Entered with RFLAGS.TF=1 and the pending debug exception BS (single
 * step), the #DB is delivered before the guest's first instruction (SDM 3C
 * 27.7.3: a trap on the instruction before entry), also under blocking by
 * STI, which holds back interrupts but not debug exceptions; with #DB in
 * the exception bitmap it exits: reason 0, vector 1, hardware exception,
 * the exit qualification with BS (28.2.1 table 28-1), and DR6 untouched
 * (28.1: a #DB that exits does not update DR6). Under blocking by STI or
 * MOV SS, BS must equal TF (without IA32_DEBUGCTL.BTF): else VM entry
 * fails (27.3.1.5). */
static bool ev_db_exit(struct cpu_outcome *o, const char *what, u32 block)
{
    struct ev_log l;
    struct vcpu *v = ev_guest(o, &l, ev_idt);
    unsigned long dr6;

    if (!v)
        return false;
    __asm__ volatile("mov %0, %%dr6" : : "r"(0xffff0ff0ul));
    vmw(GUEST_INTERRUPTIBILITY_INFO, block);
    vmw(GUEST_PENDING_DBG_EXCEPTIONS, PENDING_DBG_BS);
    if (!ev_run(o, v, guest_nothing, EFLAGS_TF | EFLAGS_IF))
        return false;
    __asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
    if (l.exc_exits != 1 || l.exit_info != (INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_DB)) ||
        l.exc_rip != (uintptr_t)guest_entry) {
        outcome_fail(o, "%s: %u exception exits, the first with interruption info 0x%x at guest "
                     "RIP 0x%lx; expected one #DB (0x%x) at 0x%lx", what, l.exc_exits,
                     l.exit_info, (unsigned long)l.exc_rip,
                     INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_DB),
                     (unsigned long)guest_entry);
        return false;
    }
    if ((l.exc_qual & (PENDING_DBG_BS | 0xf)) != PENDING_DBG_BS) {
        outcome_fail(o, "%s: #DB exit qualification 0x%llx, expected BS (0x4000) and no B0-B3",
                     what, (unsigned long long)l.exc_qual);
        return false;
    }
    if (dr6 & PENDING_DBG_BS) {
        outcome_fail(o, "%s: DR6 0x%lx after the #DB exit, expected BS clear (SDM 3C 28.1)", what,
                     dr6);
        return false;
    }
    return true;
}

/* VM entry with block, RFLAGS and pending debug exceptions that disagree */
static bool ev_db_refused(struct cpu_outcome *o, const char *what, u32 block,
                          unsigned long rflags, u32 pending)
{
    struct ev_log l;
    struct vcpu *v = ev_guest(o, &l, ev_idt);

    if (!v)
        return false;
    vmw(GUEST_INTERRUPTIBILITY_INFO, block);
    vmw(GUEST_PENDING_DBG_EXCEPTIONS, pending);
    memset(&v->regs, 0, sizeof(v->regs));
    bool ran = vcpu_run_at(v, (uintptr_t)ev_shadow_guest, 0, rflags).end == RUN_DONE;
    /* Bochs 2.7 and 3.0 (cpu/vmx.cc, VMenterLoadCheckGuestState) check
     * only the reserved bits of the pending debug exceptions field, never
     * BS against TF: they enter such a guest. */
    if (ran && l0_bochs_deviates(BOCHS_2_7_AND_3_0)) {
        outcome_xfail(o, "%s: %s: guest entered (no BS/TF check, SDM 3C 27.3.1.5)", what,
                      l0_bochs_names(BOCHS_2_7_AND_3_0));
        return true;
    }
    return ev_refused(o, v, ran, what);
}

static void check_pending_db(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    if (ev_db_exit(o, "TF and BS", 0) &&
        ev_db_exit(o, "TF and BS under blocking by STI", INTR_BLOCKING_STI) &&
        ev_db_refused(o, "TF without BS under blocking by STI", INTR_BLOCKING_STI,
                      EFLAGS_TF | EFLAGS_IF, 0))
        ev_db_refused(o, "BS without TF under blocking by MOV SS", INTR_BLOCKING_MOV_SS, 0,
                      PENDING_DBG_BS);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/pending-debug-exceptions", ev_prepare, check_pending_db);
