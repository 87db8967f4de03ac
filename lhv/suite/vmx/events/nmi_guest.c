/* The guest of the NMI tests (nmi.h): its IDT, the hook that records NMI
 * exits, NMI-window exits and the guest's reports, running it. */
#include "alloc.h"
#include "string.h"
#include "nmi.h"

static void *nmi_idt;

void nmi_prepare(void)
{
    smp_tsc_per_ms(); /* measured once, here, not on several CPUs at once */
    if (!vmx_caps.present || nmi_idt)
        return;
    nmi_idt = alloc_pages(1);
    memset(nmi_idt, 0, PAGE_SIZE);
    test_idt_gate(nmi_idt, VEC_NMI, nmi_guest_handler, 0);
    test_idt_gate(nmi_idt, VEC_DB, nmi_guest_handler, 0); /* for an injected #DB */
}

void nmi_wait(volatile u32 *flag, u32 ms)
{
    u64 start = rdtsc(), limit = ms * smp_tsc_per_ms();
    while (!(flag && *flag) && rdtsc() - start < limit)
        cpu_relax();
}

static enum exit_action nmi_exit(struct nmi_log *l)
{
    u32 info = (u32)vmr(VM_EXIT_INTR_INFO);

    if ((info & INTR_INFO_TYPE_MASK) != INTR_TYPE_NMI)
        return EXIT_DEFAULT; /* an exception: unexpected */
    /* from the HLT state the exit saves HLT (SDM 3C 28.1, 28.3.4; Bochs saves
     * active): the host resumes the woken guest past its HLT */
    vmw(GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
    if (l->nmi_exits < 2)
        l->nmi_rip[l->nmi_exits] = (uintptr_t)vmr(GUEST_RIP);
    if (!l->nmi_exits++) {
        l->nmi_info = info;
        l->nmi_intr = interruptibility();
        if (l->at_nmi)
            l->at_nmi(l);
    }
    return EXIT_RESUME;
}

static enum exit_action nmi_window_exit(struct nmi_log *l)
{
    if (!l->win_exits++) {
        l->win_rip = (uintptr_t)vmr(GUEST_RIP);
        l->win_intr = interruptibility();
    }
    vmw(GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE); /* an exit from the HLT state: wake it */
    vmw(CPU_BASED_VM_EXEC_CONTROL, vmr(CPU_BASED_VM_EXEC_CONTROL) & ~(u64)CPU_NMI_WINDOW_EXITING);
    return EXIT_RESUME;
}

static enum exit_action nmi_vmcall(struct vcpu *v, struct nmi_log *l)
{
    u32 nr = (u32)REG_AX(v);

    if (nr == NMI_HC_REPORT) {
        if (l->reports < 2) {
            l->report_rip[l->reports] = (uintptr_t)REG_CX(v);
            l->report_intr[l->reports] = interruptibility();
        }
        if (!l->reports++) {
            l->win_at_report = l->win_exits;
            if (l->at_report)
                l->at_report(l);
        }
    } else if (nr == NMI_HC_MARK) {
        if (!l->marks++) {
            l->mark_rip = (uintptr_t)vmr(GUEST_RIP);
            l->mark_intr = interruptibility();
            l->nmi_at_mark = l->nmi_exits;
            l->win_at_mark = l->win_exits;
            if (l->at_mark)
                l->at_mark(l);
        }
    } else {
        return EXIT_DEFAULT;
    }
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static enum exit_action nmi_hook(struct vcpu *v, u32 reason)
{
    struct nmi_log *l = v->test_data;

    switch (reason) {
    case EXIT_REASON_EXCEPTION_NMI:
        return nmi_exit(l);
    case EXIT_REASON_NMI_WINDOW:
        return nmi_window_exit(l);
    case EXIT_REASON_VMCALL:
        return nmi_vmcall(v, l);
    default:
        return EXIT_DEFAULT;
    }
}

/* The controls the test needs, or SKIP naming the capability bits */
static bool nmi_has(struct cpu_outcome *o, u32 pin, u32 proc)
{
    return (!pin || require_control(o, CTL_PIN, pin, "NMI exiting, virtual NMIs")) &&
           (!proc || require_control(o, CTL_PROC, proc, "NMI-window exiting"));
}

struct vcpu *nmi_guest(struct cpu_outcome *o, struct nmi_log *l, u32 pin, u32 proc, u32 intr)
{
    memset(l, 0, sizeof(*l));
    if (!nmi_has(o, pin, proc))
        return NULL;
    struct vcpu *v = test_guest_hooked(o, nmi_hook, l);
    if (!v)
        return NULL;
    vmw(GUEST_IDTR_BASE, (uintptr_t)nmi_idt);
    vmw(GUEST_IDTR_LIMIT, IDT_LIMIT);
    vmw(PIN_BASED_VM_EXEC_CONTROL, vmr(PIN_BASED_VM_EXEC_CONTROL) | pin);
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, proc);
    vmw(GUEST_INTERRUPTIBILITY_INFO, intr);
    return v;
}

bool nmi_run(struct cpu_outcome *o, struct vcpu *v, void (*fn)(void *), void *arg)
{
    bool ok = test_guest_run(o, v, fn, arg);
    nmi_iret_self();
    return ok;
}

void guest_nmi_and_wait(void *arg)
{
    struct nmi_log *l = arg;
    nmi_self();
    nmi_wait(&l->nmi_exits, NMI_WAIT_MS);
}

bool check_nmi_info(struct cpu_outcome *o, const struct nmi_log *l, u32 want_exits)
{
    if (l->nmi_exits != want_exits)
        outcome_fail(o, "%u NMI exits (reason 0, type NMI), expected %u", l->nmi_exits,
                     want_exits);
    else if ((l->nmi_info & ~INTR_INFO_NMI_UNBLOCKING) != II_NMI)
        outcome_fail(o, "NMI exit with interruption info 0x%x, expected 0x%x (valid, NMI, "
                     "vector 2)", l->nmi_info, II_NMI);
    else
        return true;
    return false;
}
