/* The APIC-access page (SDM 3C 29.4; secondary processor-based control
 * bit 0 "virtualize APIC accesses", APIC_ACCESS_ADDR) and APIC-register
 * virtualization (secondary bit 8; 29.4.2, 29.4.3). The guest (which
 * shares the host's identity map, so its linear address is the physical
 * one) runs a script of 32-bit reads and writes of the page; the hook
 * answers APIC-access exits (reason 44, fault-like: RIP at the access, the
 * qualification holding the offset in bits 11:0 and the access type in
 * 15:12, 28.2.1 Table 28-6) and records APIC-write exits (reason 56,
 * trap-like: RIP past the write, the offset as qualification, 29.4.3.3).
 * Instruction fetches from the page are not tried: Bochs panics on them
 * ("prefetch: getHostMemAddr vetoed direct read", cpu/cpu.cc). */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "lapic.h"
#include "vapic.h"
#include "vmx/vmx.h"
#include "x86.h"

#define AA_ANSWER 0x5eed0044u /* what the host answers an exiting read with */
#define AA_OPS 12

struct aa_op {
    u32 offset;
    bool write;
    u32 value;          /* written, or (after the run) read */
    uintptr_t after;    /* where the guest's access ends */
};

struct aa_exit {
    u32 reason, qual, value; /* value: EAX at an APIC-access write exit,
                                the page's register at an APIC-write exit */
    uintptr_t rip;
};

struct aa_run {
    struct aa_op ops[AA_OPS];
    u32 nops, nexits;
    struct aa_exit exits[AA_OPS];
};

static void aa_guest(void *arg)
{
    struct aa_run *r = arg;
    u8 *page = apic_access_page();

    for (u32 i = 0; i < r->nops; i++) {
        struct aa_op *op = &r->ops[i];
        if (op->write)
            vapic_guest_write(vapic_reg(page, op->offset), op->value, &op->after);
        else
            op->value = vapic_guest_read(vapic_reg(page, op->offset), &op->after);
    }
}

static enum exit_action aa_hook(struct vcpu *v, u32 reason)
{
    struct aa_run *r = v->test_data;
    struct aa_exit *e = &r->exits[r->nexits < AA_OPS ? r->nexits : AA_OPS - 1];
    u32 q = (u32)v->exit_qual;

    if (reason != EXIT_REASON_APIC_ACCESS && reason != EXIT_REASON_APIC_WRITE)
        return EXIT_DEFAULT;
    if (r->nexits++ >= AA_OPS)
        return vcpu_fail(v, "more APIC exits than accesses");
    *e = (struct aa_exit){reason, q, 0, (uintptr_t)vmr(GUEST_RIP)};
    if (reason == EXIT_REASON_APIC_WRITE) {
        e->value = *vapic_reg(vapic_page(), APIC_ACCESS_OFFSET(q));
        return EXIT_RESUME; /* trap-like: the write is done */
    }
    /* fault-like: the host does the access (MOV to or from EAX, 2 bytes) */
    if (APIC_ACCESS_TYPE(q) == APIC_ACCESS_LINEAR_WRITE)
        e->value = (u32)REG_AX(v);
    else
        REG_AX(v) = AA_ANSWER;
    vmw(GUEST_RIP, vmr(GUEST_RIP) + 2);
    return EXIT_RESUME;
}

static bool aa_run(struct cpu_outcome *o, struct aa_run *r, bool tpr_shadow, u32 proc2)
{
    struct vcpu *v;

    proc2 |= CPU2_VIRTUALIZE_APIC_ACCESSES;
    if (tpr_shadow) {
        v = vapic_guest(o, proc2);
    } else if ((v = test_guest(o))) {
        vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS);
        vmw(SECONDARY_VM_EXEC_CONTROL, proc2);
        vmw(APIC_ACCESS_ADDR, (uintptr_t)apic_access_page());
    }
    if (!v)
        return false;
    v->hook = aa_hook;
    v->test_data = r;
    return test_guest_run(o, v, aa_guest, r);
}

/* Exit i was an APIC access of the given type at op's instruction */
static bool aa_access_exit(struct cpu_outcome *o, struct aa_run *r, u32 i, const struct aa_op *op)
{
    const struct aa_exit *e = &r->exits[i];
    u32 type = op->write ? APIC_ACCESS_LINEAR_WRITE : APIC_ACCESS_LINEAR_READ;

    return CHECK_EQ(o, e->reason, EXIT_REASON_APIC_ACCESS) &&
           CHECK_EQ(o, e->qual, op->offset | type << 12) && CHECK_EQ(o, e->rip, op->after - 2) &&
           (op->write ? CHECK_EQ(o, e->value, op->value) : CHECK_EQ(o, op->value, AA_ANSWER));
}

/* An access while delivering an event: INT3 (not in the exception
 * bitmap) with the guest's stack in the APIC-access page. Pushing the
 * frame exits with type 3 and an offset inside the frame, and the
 * IDT-vectoring information names the #BP (28.2.4). */
#define AA_STACK 0x800
extern const char aa_int3[], aa_never[];
__asm__(".text\n.globl aa_int3, aa_never\naa_int3: int3\naa_never: ud2\n");

static void *aa_idt;

static void aa_prepare(void)
{
    if (!vmx_caps.present || aa_idt)
        return;
    aa_idt = alloc_pages(1);
    test_idt_gate(aa_idt, VEC_BP, aa_never, 0);
}

struct aa_event {
    u32 exits, qual, vectoring;
};

static enum exit_action aa_event_hook(struct vcpu *v, u32 reason)
{
    struct aa_event *e = v->test_data;

    if (reason != EXIT_REASON_APIC_ACCESS)
        return EXIT_DEFAULT;
    e->exits++;
    e->qual = (u32)v->exit_qual;
    e->vectoring = (u32)vmr(IDT_VECTORING_INFO_FIELD);
    return vcpu_finish(v);
}

static void aa_during_event(struct cpu_outcome *o)
{
    struct aa_event e = {0};
    struct vcpu *v = test_guest(o);

    if (!v)
        return;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS);
    vmw(SECONDARY_VM_EXEC_CONTROL, CPU2_VIRTUALIZE_APIC_ACCESSES);
    vmw(APIC_ACCESS_ADDR, (uintptr_t)apic_access_page());
    vmw(EXCEPTION_BITMAP, 0);
    vmw(GUEST_IDTR_BASE, (uintptr_t)aa_idt);
    vmw(GUEST_IDTR_LIMIT, 256 * IDT_GATE_SIZE - 1);
    v->hook = aa_event_hook;
    v->test_data = &e;
    vcpu_set_entry(v, (uintptr_t)aa_int3, (uintptr_t)apic_access_page() + AA_STACK, 0);
    v->exits = 0;
    if (vcpu_continue(v).end != RUN_DONE)
        return outcome_fail(o, "%s", v->why);
    if (CHECK_EQ(o, e.exits, 1) && CHECK_EQ(o, APIC_ACCESS_TYPE(e.qual), APIC_ACCESS_EVENT) &&
        CHECK(o, APIC_ACCESS_OFFSET(e.qual) < AA_STACK &&
                     APIC_ACCESS_OFFSET(e.qual) >= AA_STACK - 6 * sizeof(uintptr_t)))
        CHECK_EQ(o, e.vectoring, INTR_INFO(INTR_TYPE_SOFT_EXCEPTION, VEC_BP));
}

/* Without "use TPR shadow" every access exits: a read, a write, another
 * read, each at its instruction with its offset and type */
static void check_apic_access_page(struct cpu_outcome *o, void *arg)
{
    struct aa_run r = {.ops = {{0x120, false, 0, 0}, {0x310, true, 0xab0310, 0},
                               {LAPIC_REG_TPR, false, 0, 0}, {0xffc, true, 0xab0ffc, 0}},
                       .nops = 4};
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_ACTIVATE_SECONDARY_CONTROLS, "secondary controls") ||
        !require_control(o, CTL_PROC2, CPU2_VIRTUALIZE_APIC_ACCESSES, "virtualize APIC accesses") ||
        !require_control_clear(o, CTL_PROC, CPU_USE_TPR_SHADOW, "use TPR shadow") ||
        !aa_run(o, &r, false, 0) || !CHECK_EQ(o, r.nexits, r.nops))
        return;
    for (u32 i = 0; i < r.nops; i++)
        if (!aa_access_exit(o, &r, i, &r.ops[i]))
            return;
    aa_during_event(o);
}
VMX_TEST_ALL_CPUS_AFTER("vmx/apic-access-page", aa_prepare, check_apic_access_page);

/* Registers a virtualized read returns from the virtual-APIC page (29.4.2)
 * and a value for each */
static const u32 arv_offsets[] = {LAPIC_REG_ID, LAPIC_REG_VERSION, 0xd0, LAPIC_REG_SVR,
                                  LAPIC_REG_ISR + 0x20, LAPIC_REG_IRR + 0x10, LAPIC_REG_ESR,
                                  LAPIC_REG_LVT_TIMER, LAPIC_REG_TIMER_INIT};
#define ARV_N (sizeof(arv_offsets) / sizeof(arv_offsets[0]))
#define ARV_VALUE(off) (0xa5000000u | (off))
#define ARV_WRITTEN 0x777

/* With APIC-register virtualization: the reads above come from the
 * virtual-APIC page without an exit; a read of the timer's current count
 * (not virtualized) exits 44; a write of the timer's initial count lands
 * in the page and exits 56 after it. Without the control, a read of the
 * ID exits and only the TPR read is virtualized. */
static void check_apic_register_virt(struct cpu_outcome *o, void *arg)
{
    struct aa_run r = {.nops = ARV_N + 2};
    u8 *vapic = vapic_page();
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_ACTIVATE_SECONDARY_CONTROLS | CPU_USE_TPR_SHADOW,
                         "secondary controls, use TPR shadow") ||
        !require_control(o, CTL_PROC2, CPU2_VIRTUALIZE_APIC_ACCESSES | CPU2_APIC_REGISTER_VIRT,
                         "virtualize APIC accesses, APIC-register virtualization"))
        return;
    for (u32 i = 0; i < ARV_N; i++)
        r.ops[i] = (struct aa_op){arv_offsets[i], false, 0, 0};
    r.ops[ARV_N] = (struct aa_op){LAPIC_REG_TIMER_CURRENT, false, 0, 0};
    r.ops[ARV_N + 1] = (struct aa_op){LAPIC_REG_TIMER_INIT, true, ARV_WRITTEN, 0};
    /* vapic_guest zeroes the page: fill it in the hook-free window after */
    struct vcpu *v = vapic_guest(o, CPU2_VIRTUALIZE_APIC_ACCESSES | CPU2_APIC_REGISTER_VIRT);
    if (!v)
        return;
    vmw(APIC_ACCESS_ADDR, (uintptr_t)apic_access_page());
    for (u32 i = 0; i < ARV_N; i++)
        *vapic_reg(vapic, arv_offsets[i]) = ARV_VALUE(arv_offsets[i]);
    v->hook = aa_hook;
    v->test_data = &r;
    if (!test_guest_run(o, v, aa_guest, &r))
        return;
    for (u32 i = 0; i < ARV_N; i++)
        if (!CHECK_EQ(o, r.ops[i].value, ARV_VALUE(arv_offsets[i])))
            return;
    const struct aa_exit *w = &r.exits[1];
    if (!CHECK_EQ(o, r.nexits, 2) || !aa_access_exit(o, &r, 0, &r.ops[ARV_N]) ||
        !CHECK_EQ(o, w->reason, EXIT_REASON_APIC_WRITE) ||
        !CHECK_EQ(o, w->qual, LAPIC_REG_TIMER_INIT) || !CHECK_EQ(o, w->rip, r.ops[ARV_N + 1].after) ||
        !CHECK_EQ(o, w->value, ARV_WRITTEN))
        return;
    /* the same page without the control */
    struct aa_run b = {.ops = {{LAPIC_REG_ID, false, 0, 0}, {LAPIC_REG_TPR, false, 0, 0}}, .nops = 2};
    if (!aa_run(o, &b, true, 0))
        return;
    if (CHECK_EQ(o, b.nexits, 1) && aa_access_exit(o, &b, 0, &b.ops[0]))
        CHECK_EQ(o, b.ops[1].value, 0); /* VTPR of the zeroed page */
}
VMX_TEST_ALL_CPUS("vmx/apic-register-virtualization", check_apic_register_virt);
