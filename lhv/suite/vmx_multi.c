/* Several guests (issue #6), on every CPU: more than one VMCS per CPU,
 * switched with VMPTRLD, each keeping its guest's state and launch state
 * (SDM 3C 25.1, 25.11.3, 31.3); VMCS shadowing, where a guest's VMREAD and
 * VMWRITE reach a shadow VMCS without an exit (25.10, 25.6.15, 26.1.3);
 * and guests on all CPUs at once under a storm of IPIs between the CPUs,
 * external-interrupt exiting taking each one (25.6.1, 26.2). */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "lapic.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "trap.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"
#include "suite/guests.h"


extern char guest_entry[];

/* ===== vmx/multi-vmcs-switch ===============================================
 * Three guests per CPU, each with its own VMCS, stack and registers. A
 * guest counts on its own stack (RSP lives in its VMCS) by its own step
 * (a register) from its own start, reads IA32_SYSENTER_ESP, which VM
 * entry loads from its VMCS's GUEST_SYSENTER_ESP (27.3.2.1), and reports
 * both with a VMCALL that stops the run. The CPU runs them in turn (A, B,
 * C, A, ...) with VMPTRLD in between: each goes on where it stopped, with
 * VMRESUME (launch state is kept per VMCS), and VMPTRST names the VMCS
 * just loaded. Then VMCLEAR of a VMCS that is not current leaves the
 * current one current (31.3); the cleared guest refuses VMRESUME (error 5)
 * and goes on where it stopped after VMLAUNCH (VMCLEAR wrote its state to
 * memory). */

#define MULTI_GUESTS 3
#define MULTI_ROUNDS 8


struct multi_guest {
    struct vcpu v;
    char name;              /* 'A', 'B', 'C' */
    u32 start, step, tag;   /* what makes this guest's state its own */
    uintptr_t entry_rsp;
    u32 ticks;              /* reports so far */
    u32 counter, seen_tag;  /* the last report */
    uintptr_t rsp;          /* GUEST_RSP at the last report */
};

static struct multi_guest multi[LHV_MAX_CPUS][MULTI_GUESTS];

static enum exit_action multi_hook(struct vcpu *v, u32 reason)
{
    struct multi_guest *g = v->test_data;

    if (reason == EXIT_REASON_MSR_READ && (u32)REG_CX(v) == MSR_IA32_SYSENTER_ESP) {
        /* no MSR bitmaps: the host answers from the current VMCS */
        u64 value = vmr(GUEST_SYSENTER_ESP);
        REG_AX(v) = (u32)value;
        REG_DX(v) = (u32)(value >> 32);
        vcpu_skip_instruction();
        return EXIT_RESUME;
    }
    if (reason != EXIT_REASON_VMCALL || (u32)REG_AX(v) != MULTI_HC_TICK)
        return EXIT_DEFAULT;
    g->ticks++;
    g->counter = (u32)REG_CX(v);
    g->seen_tag = (u32)REG_DI(v);
    g->rsp = (uintptr_t)vmr(GUEST_RSP);
    vcpu_skip_instruction();
    return EXIT_STOP;
}

/* Guest k of this CPU: a fresh VMCS (current afterwards) at multi_guest_loop. */
static bool multi_setup(struct cpu_outcome *o, struct multi_guest *g, u32 k)
{
    struct vcpu *v = &g->v;

    v->hook = multi_hook;
    v->test_data = g;
    if (!vcpu_init(v)) {
        outcome_fail(o, "guest %c setup: %s", 'A' + k, v->why);
        return false;
    }
    g->name = (char)('A' + k);
    g->start = 1000 * (k + 1);
    g->step = 2 * k + 3;
    g->tag = 0x5a000000u | (this_cpu()->index << 8) | k;
    g->ticks = 0;
    memset(&v->regs, 0, sizeof(v->regs));
    REG_BX(v) = g->step;
    REG_SI(v) = g->start;
    vmw(GUEST_SYSENTER_ESP, g->tag);
    vcpu_set_entry(v, (uintptr_t)multi_guest_loop, 0, 0);
    g->entry_rsp = (uintptr_t)vmr(GUEST_RSP);
    return true;
}

/* Makes g's VMCS current and checks that VMPTRST says so. */
static bool multi_load(struct cpu_outcome *o, struct multi_guest *g)
{
    u64 vmcs = (uintptr_t)g->v.vmcs, cur;

    if (vmx_vmptrld(vmcs) != VMX_OK) {
        outcome_fail(o, "VMPTRLD of guest %c's VMCS failed", g->name);
        return false;
    }
    if ((cur = vmx_current_vmcs()) != vmcs) {
        outcome_fail(o, "VMPTRST gave 0x%llx after VMPTRLD of guest %c's VMCS 0x%llx", cur,
                     g->name, vmcs);
        return false;
    }
    return true;
}

/* Runs g, current already, to its next report and checks it. */
static bool multi_step(struct cpu_outcome *o, struct multi_guest *g, const char *when)
{
    u32 want = g->start + g->step * (g->ticks + 1);

    struct run_result r = vcpu_continue(&g->v);
    if (run_failed(r)) {
        outcome_fail(o, "%s: guest %c after %u reports: %s", when, g->name, g->ticks, r.why);
        return false;
    }
    if (r.end == RUN_DONE || r.exit_reason != EXIT_REASON_VMCALL) {
        outcome_fail(o, "%s: guest %c stopped at exit %u (%s), not at its report", when,
                     g->name, g->v.exit_reason, vmx_exit_reason_name(g->v.exit_reason));
        return false;
    }
    if (g->counter != want || g->seen_tag != g->tag) {
        outcome_fail(o, "%s: guest %c reported counter %u and IA32_SYSENTER_ESP 0x%x, expected "
                     "%u and 0x%x", when, g->name, g->counter, g->seen_tag, want, g->tag);
        return false;
    }
    if (g->rsp != g->entry_rsp - sizeof(unsigned long)) {
        outcome_fail(o, "%s: guest %c's RSP is 0x%lx, expected 0x%lx (its own stack)", when,
                     g->name, (unsigned long)g->rsp,
                     (unsigned long)(g->entry_rsp - sizeof(unsigned long)));
        return false;
    }
    return true;
}

static bool multi_rounds(struct cpu_outcome *o, struct multi_guest *gs)
{
    char when[48];

    for (u32 r = 0; r < MULTI_ROUNDS; r++)
        for (u32 k = 0; k < MULTI_GUESTS; k++) {
            snprintf(when, sizeof(when), "round %u (%s)", r + 1, r ? "VMRESUME" : "VMLAUNCH");
            if (!multi_load(o, &gs[k]) || !multi_step(o, &gs[k], when))
                return false;
        }
    return true;
}

/* After the rounds: VMCLEAR of B while A is current, then B again. */
static bool multi_vmclear(struct cpu_outcome *o, struct multi_guest *a, struct multi_guest *b)
{
    u64 cur;

    if (!multi_load(o, a))
        return false;
    if (vmx_vmclear((uintptr_t)b->v.vmcs) != VMX_OK) {
        outcome_fail(o, "VMCLEAR of guest B's VMCS (not current) failed");
        return false;
    }
    if ((cur = vmx_current_vmcs()) != (uintptr_t)a->v.vmcs) {
        outcome_fail(o, "VMPTRST gave 0x%llx after VMCLEAR of another VMCS, expected guest "
                     "A's 0x%llx", cur, (u64)(uintptr_t)a->v.vmcs);
        return false;
    }
    if (!multi_step(o, a, "after VMCLEAR of B") || !multi_load(o, b))
        return false;
    struct run_result r = vcpu_continue(&b->v);
    if (r.end != RUN_VMFAIL || r.vmfail != VMX_FAIL_VALID || r.vm_error != 5) {
        outcome_fail(o, "VMRESUME of guest B after VMCLEAR: %s, expected VMfailValid error 5",
                     run_failed(r) ? r.why : "entered");
        return false;
    }
    b->v.launched = false;
    return multi_step(o, b, "VMLAUNCH after VMCLEAR");
}

static void check_multi_switch(struct cpu_outcome *o, void *arg)
{
    struct multi_guest *gs = multi[this_cpu()->index];
    const char *why = vmx_unavailable();
    (void)arg;

    if (why) {
        outcome_skip(o, "%s", why);
        return;
    }
    for (u32 k = 0; k < MULTI_GUESTS; k++)
        if (!multi_setup(o, &gs[k], k))
            return;
    if (multi_rounds(o, gs))
        multi_vmclear(o, &gs[0], &gs[1]);
    for (u32 k = 0; k < MULTI_GUESTS; k++)
        vmx_vmclear((uintptr_t)gs[k].v.vmcs);
}

VMX_TEST_ALL_CPUS("vmx/multi-vmcs-switch", check_multi_switch);

/* ===== vmx/multi-vmcs-shadowing ============================================
 * A shadow VMCS (bit 31 of its revision dword, 25.10) referenced by the
 * guest's VMCS link pointer with "VMCS shadowing" on (secondary control
 * bit 14): the guest's VMREAD and VMWRITE of a field whose bit (encoding
 * bits 14:0) is clear in the VMREAD/VMWRITE bitmap reach the shadow VMCS
 * without an exit; a set bit, or an encoding with a bit above 14 set,
 * exits with reason 23 or 25 (26.1.3), the VM-exit instruction
 * information naming the registers (28.2.5, table "VMREAD and VMWRITE").
 * The host reads the guest's write in the shadow VMCS with VMPTRLD; a
 * link pointer to an ordinary VMCS fails VM entry (27.3.1.5, 27.8: exit
 * reason 33, qualification 4). */

#ifdef __x86_64__
#define SHADOW_RIP 0xfedcba9876543210ul
#else
#define SHADOW_RIP 0x9abcdef0ul
#endif
#define SHADOW_LIMIT 0x89abcdeful
#define SHADOW_RSP 0x5a5a0000ul        /* the guest's VMREAD of it exits: never seen */
#define SHADOW_SELECTOR 0x1234ul       /* the guest writes it through */
#define SHADOW_EXIT_ANSWER 0x0badc0deul /* the host's answer to an exiting VMREAD */
#define SHADOW_EXIT_WRITE 0x7777ul     /* what the guest's exiting VMWRITE carries */
#define FIELD_BIT15 0x8000ul           /* beyond the bitmaps: always exits */
#define SHADOW_OPS 7

#define STATUS(cf, zf) ((cf) ? VMX_FAIL_INVALID : (zf) ? VMX_FAIL_VALID : VMX_OK)

/* The guest's instructions, field in DX and value in AX (Reg2 = 2, Reg1 =
 * 0 in the exit's instruction information). */
static int guest_vmread(unsigned long field, unsigned long *value)
{
    unsigned long v = ~0ul;
    u8 cf, zf;
    __asm__ volatile("vmread %3, %0\n\tsetc %1\n\tsetz %2"
                     : "+a"(v), "=qm"(cf), "=qm"(zf) : "d"(field) : "cc", "memory");
    *value = v;
    return STATUS(cf, zf);
}

static int guest_vmwrite(unsigned long field, unsigned long value)
{
    u8 cf, zf;
    __asm__ volatile("vmwrite %2, %3\n\tsetc %0\n\tsetz %1"
                     : "=qm"(cf), "=qm"(zf) : "a"(value), "d"(field) : "cc", "memory");
    return STATUS(cf, zf);
}

struct shadow_op {
    const char *what;
    bool write;
    unsigned long field;
    unsigned long value; /* written, or expected back */
    bool exits;
};

static const struct shadow_op shadow_ops[SHADOW_OPS] = {
    {"VMREAD of GUEST_RIP (bit clear)", false, GUEST_RIP, SHADOW_RIP, false},
    {"VMREAD of GUEST_ES_LIMIT (bit clear)", false, GUEST_ES_LIMIT, SHADOW_LIMIT, false},
    {"VMWRITE of GUEST_ES_SELECTOR (bit clear)", true, GUEST_ES_SELECTOR, SHADOW_SELECTOR, false},
    {"VMREAD of GUEST_ES_SELECTOR after the guest wrote it", false, GUEST_ES_SELECTOR,
     SHADOW_SELECTOR, false},
    {"VMREAD of GUEST_RSP (bit set)", false, GUEST_RSP, SHADOW_EXIT_ANSWER, true},
    {"VMWRITE of GUEST_RSP (bit set)", true, GUEST_RSP, SHADOW_EXIT_WRITE, true},
    {"VMREAD of GUEST_RIP with encoding bit 15 set", false, GUEST_RIP | FIELD_BIT15,
     SHADOW_EXIT_ANSWER, true},
};

struct shadow_log {
    /* the host's, at each VMREAD/VMWRITE exit */
    volatile u32 exits;
    u32 reason, info;
    unsigned long field, written;
    /* the guest's, per operation */
    int status[SHADOW_OPS];
    unsigned long value[SHADOW_OPS];
    u32 exits_during[SHADOW_OPS], reason_of[SHADOW_OPS];
    unsigned long field_of[SHADOW_OPS];
};

static u8 *vmread_bitmap, *vmwrite_bitmap;
static u32 *shadow_region[LHV_MAX_CPUS], *plain_region[LHV_MAX_CPUS];

static void guest_shadow(void *arg)
{
    struct shadow_log *l = arg;

    for (u32 i = 0; i < SHADOW_OPS; i++) {
        const struct shadow_op *op = &shadow_ops[i];
        u32 before = l->exits;
        l->status[i] = op->write ? guest_vmwrite(op->field, op->value)
                                 : guest_vmread(op->field, &l->value[i]);
        l->exits_during[i] = l->exits - before;
        l->reason_of[i] = l->reason;
        l->field_of[i] = l->field;
    }
}

/* A guest register by its number in the instruction information (0 AX,
 * 1 CX, 2 DX, 3 BX, 5 BP, 6 SI, 7 DI); NULL for SP and the others. */
static unsigned long *guest_reg(struct vcpu *v, u32 n)
{
    switch (n) {
    case 0: return (unsigned long *)&REG_AX(v);
    case 1: return (unsigned long *)&REG_CX(v);
    case 2: return (unsigned long *)&REG_DX(v);
    case 3: return (unsigned long *)&REG_BX(v);
    case 6: return (unsigned long *)&REG_SI(v);
    case 7: return (unsigned long *)&REG_DI(v);
    default: return NULL;
    }
}

/* Emulates the exiting VMREAD (answers SHADOW_EXIT_ANSWER) or VMWRITE
 * (records the value) as VMsucceed. */
static enum exit_action shadow_hook(struct vcpu *v, u32 reason)
{
    struct shadow_log *l = v->test_data;

    if (reason != EXIT_REASON_VMREAD && reason != EXIT_REASON_VMWRITE)
        return EXIT_DEFAULT;
    u32 info = (u32)vmr(VMX_INSTRUCTION_INFO);
    unsigned long *reg1 = guest_reg(v, (info >> 3) & 15), *reg2 = guest_reg(v, info >> 28);
    l->reason = reason;
    l->info = info;
    l->field = reg2 ? *reg2 : ~0ul;
    if (reg1 && (info & VMX_INSN_INFO_REG)) {
        if (reason == EXIT_REASON_VMREAD)
            *reg1 = SHADOW_EXIT_ANSWER;
        else
            l->written = *reg1;
    }
    vmw(GUEST_RFLAGS, vmr(GUEST_RFLAGS) & ~(u64)EFLAGS_STATUS);
    vcpu_skip_instruction();
    l->exits++;
    return EXIT_RESUME;
}

static void set_bit_in(u8 *bitmap, u32 field, bool set)
{
    u32 n = field & 0x7fff;
    if (set)
        bitmap[n >> 3] |= (u8)(1u << (n & 7));
    else
        bitmap[n >> 3] &= (u8)~(1u << (n & 7));
}

/* Bitmaps shared by all CPUs: every bit set but those of the fields the
 * guest may reach. */
static void shadow_prepare(void)
{
    if (!vmx_caps.present || !vmx_has_proc2(CPU2_VMCS_SHADOWING) || vmread_bitmap)
        return;
    vmread_bitmap = alloc_pages(1);
    vmwrite_bitmap = alloc_pages(1);
    memset(vmread_bitmap, 0xff, PAGE_SIZE);
    memset(vmwrite_bitmap, 0xff, PAGE_SIZE);
    set_bit_in(vmread_bitmap, GUEST_RIP, false);
    set_bit_in(vmread_bitmap, GUEST_ES_LIMIT, false);
    set_bit_in(vmread_bitmap, GUEST_ES_SELECTOR, false);
    set_bit_in(vmwrite_bitmap, GUEST_ES_SELECTOR, false);
}

/* This CPU's shadow VMCS with known fields, clear (not current). */
static bool shadow_fill(struct cpu_outcome *o, u64 *pa)
{
    u32 i = this_cpu()->index;

    if (!shadow_region[i]) {
        shadow_region[i] = vmx_alloc_region();
        plain_region[i] = vmx_alloc_region();
    }
    shadow_region[i][0] = vmx_caps.revision | VMCS_SHADOW_INDICATOR;
    *pa = (uintptr_t)shadow_region[i];
    if (vmx_vmclear(*pa) != VMX_OK || vmx_vmptrld(*pa) != VMX_OK) {
        outcome_fail(o, "VMCLEAR/VMPTRLD of a shadow VMCS (revision 0x%x) failed",
                     shadow_region[i][0]);
        return false;
    }
    vmw(GUEST_RIP, SHADOW_RIP);
    vmw(GUEST_ES_LIMIT, SHADOW_LIMIT);
    vmw(GUEST_ES_SELECTOR, 0);
    vmw(GUEST_RSP, SHADOW_RSP);
    if (vmx_vmclear(*pa) != VMX_OK) {
        outcome_fail(o, "VMCLEAR of the shadow VMCS failed");
        return false;
    }
    return true;
}

/* The test guest with VMCS shadowing and the link pointer at `link`. */
static struct vcpu *shadow_guest(struct cpu_outcome *o, struct shadow_log *l, u64 link)
{
    struct vcpu *v = test_guest(o);
    u32 proc2, missing;

    if (!v)
        return NULL;
    if (!vmx_adjust(&vmx_caps.proc2, CPU2_VMCS_SHADOWING, &proc2, &missing)) {
        outcome_fail(o, "secondary controls: the CPU does not allow bits 0x%x", missing);
        return NULL;
    }
    memset(l, 0, sizeof(*l));
    v->hook = shadow_hook;
    v->test_data = l;
    vmw(CPU_BASED_VM_EXEC_CONTROL,
        vmr(CPU_BASED_VM_EXEC_CONTROL) | CPU_ACTIVATE_SECONDARY_CONTROLS);
    vmw(SECONDARY_VM_EXEC_CONTROL, proc2);
    vmw(VMREAD_BITMAP, (uintptr_t)vmread_bitmap);
    vmw(VMWRITE_BITMAP, (uintptr_t)vmwrite_bitmap);
    vmw(VMCS_LINK_POINTER, link);
    return v;
}

static bool shadow_check_op(struct cpu_outcome *o, const struct shadow_log *l, u32 i)
{
    const struct shadow_op *op = &shadow_ops[i];
    u32 want_reason = op->write ? EXIT_REASON_VMWRITE : EXIT_REASON_VMREAD;

    if (l->exits_during[i] != (op->exits ? 1u : 0u))
        outcome_fail(o, "%s: %u exits, expected %u", op->what, l->exits_during[i],
                     op->exits ? 1 : 0);
    else if (l->status[i] != VMX_OK)
        outcome_fail(o, "%s: %s", op->what,
                     l->status[i] == VMX_FAIL_INVALID ? "VMfailInvalid" : "VMfailValid");
    else if (op->exits && (l->reason_of[i] != want_reason || l->field_of[i] != op->field))
        outcome_fail(o, "%s: exit reason %u with field 0x%lx in Reg2, expected %u and 0x%lx",
                     op->what, l->reason_of[i], l->field_of[i], want_reason, op->field);
    else if (!op->write && l->value[i] != op->value)
        outcome_fail(o, "%s: read 0x%lx, expected 0x%lx", op->what, l->value[i], op->value);
    else
        return true;
    return false;
}

/* The exit's instruction information: register operands, Reg1 AX, Reg2 DX. */
static bool shadow_check_info(struct cpu_outcome *o, const struct shadow_log *l)
{
    u32 want = VMX_INSN_INFO_REG | (GPR_AX << 3) | ((u32)GPR_DX << 28);
    u32 mask = VMX_INSN_INFO_REG | (15u << 3) | (15u << 28);

    if ((l->info & mask) == want && l->written == SHADOW_EXIT_WRITE)
        return true;
    outcome_fail(o, "VMREAD/VMWRITE exit: instruction information 0x%x (expected register "
                 "operands, Reg1 0, Reg2 2), the VMWRITE carried 0x%lx (expected 0x%lx)",
                 l->info, l->written, SHADOW_EXIT_WRITE);
    return false;
}

/* In VMX root operation, the shadow VMCS holds the guest's write and not
 * the write that exited. */
static bool shadow_check_region(struct cpu_outcome *o, u64 pa, u64 guest_vmcs)
{
    u64 sel = 0, rsp = 0;

    if (vmx_vmptrld(pa) != VMX_OK) {
        outcome_fail(o, "VMPTRLD of the shadow VMCS after the run failed");
        return false;
    }
    vmr_safe(GUEST_ES_SELECTOR, &sel);
    vmr_safe(GUEST_RSP, &rsp);
    vmx_vmclear(pa);
    vmx_vmptrld(guest_vmcs);
    if (sel == SHADOW_SELECTOR && rsp == SHADOW_RSP)
        return true;
    outcome_fail(o, "the shadow VMCS holds GUEST_ES_SELECTOR 0x%llx and GUEST_RSP 0x%llx, "
                 "expected 0x%lx (the guest's write) and 0x%lx (its write exited)", sel, rsp,
                 SHADOW_SELECTOR, SHADOW_RSP);
    return false;
}

/* A link pointer to an ordinary VMCS: VM entry fails (27.3.1.5). */
static bool shadow_check_plain_link(struct cpu_outcome *o, struct shadow_log *l)
{
    u32 i = this_cpu()->index;
    struct vcpu *v = shadow_guest(o, l, (uintptr_t)plain_region[i]);

    if (!v)
        return false;
    plain_region[i][0] = vmx_caps.revision;
    if (vcpu_run(v, guest_shadow, l).end == RUN_DONE) {
        outcome_fail(o, "VM entry with the link pointer at an ordinary VMCS succeeded");
        return false;
    }
    if (v->exit_reason != EXIT_REASON_INVALID_GUEST_STATE ||
        v->exit_qual != EXIT_QUAL_LINK_POINTER) {
        outcome_fail(o, "link pointer at an ordinary VMCS: %s; expected exit reason 33, "
                     "qualification 4", v->why);
        return false;
    }
    return true;
}

static void check_shadowing(struct cpu_outcome *o, void *arg)
{
    struct shadow_log l;
    u64 pa;
    (void)arg;

    if (vmx_caps.present && !vmx_has_proc2(CPU2_VMCS_SHADOWING)) {
        outcome_skip(o, "no VMCS shadowing (IA32_VMX_PROCBASED_CTLS2 bit 14)");
        return;
    }
    if (vmx_unavailable()) {
        outcome_skip(o, "%s", vmx_unavailable());
        return;
    }
    if (!shadow_fill(o, &pa))
        return;
    struct vcpu *v = shadow_guest(o, &l, pa);
    if (!v || !test_guest_run(o, v, guest_shadow, &l))
        return;
    for (u32 i = 0; i < SHADOW_OPS; i++)
        if (!shadow_check_op(o, &l, i))
            return;
    if (!shadow_check_info(o, &l) || !shadow_check_region(o, pa, (uintptr_t)v->vmcs))
        return;
    shadow_check_plain_link(o, &l);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/multi-vmcs-shadowing", shadow_prepare, check_shadowing);

/* ===== vmx/multi-ipi-storm =================================================
 * Every CPU runs a guest with external-interrupt exiting (25.6.1) at the
 * same time, and every guest sends fixed IPIs (SDM 3A 11.6.1), STORM_IPIS
 * spread over the other CPUs in rounds (at least STORM_MIN_ROUNDS to each),
 * through the LAPIC it shares with the host (no APIC virtualization, no
 * MSR exits). An IPI that arrives while its target is
 * in its guest exits (reason 1, 26.2) and the host takes it through its
 * IDT; a guest stays in until the IPIs of every other CPU have come, so
 * every one must be taken at an exit of the target's guest (the host keeps
 * interrupts off around the run, pending ones exit right after VM entry).
 * The guests run with RFLAGS.IF=1, which external-interrupt exiting makes
 * irrelevant on hardware; with IF=0 Bochs 2.7 misses the exits (see
 * vmx/multi-ipi-pending-at-entry). A sender's vector is STORM_VECTOR +
 * (sender mod STORM_VECTORS), and a sender claims its slot at the target
 * before it sends: with at most one IPI per vector in flight the LAPIC cannot merge
 * two (one IRR bit per vector), so every IPI sent must be counted at its
 * target, by sender. A lost IPI leaves its slot claimed: the senders
 * waiting for it time out. */

#define STORM_VECTOR 0xc0
#define STORM_VECTORS 4
#define STORM_IPIS 1000
#define STORM_MIN_ROUNDS 100
#define STORM_TIMEOUT_MS 2000

struct storm_cpu {
    u64 timeout;           /* TSC ticks */
    volatile bool timed_out;
    bool sending;          /* timed out sending, else receiving */
    u32 waiting_for;       /* the CPU it timed out on */
    u32 ext_exits;         /* external-interrupt exits of its guest */
};

static volatile u32 storm_slot[LHV_MAX_CPUS][STORM_VECTORS]; /* sender + 1, or 0 */
static volatile u32 storm_sent[LHV_MAX_CPUS][LHV_MAX_CPUS];  /* [sender][target] */
static volatile u32 storm_got[LHV_MAX_CPUS][LHV_MAX_CPUS];   /* [target][sender] */
static volatile u32 storm_in_guest[LHV_MAX_CPUS];  /* taken at an exit of the guest */
static volatile u32 storm_stray[LHV_MAX_CPUS];     /* arrived with no sender in the slot */
static struct storm_cpu storm[LHV_MAX_CPUS];
static struct smp_barrier storm_barrier;
static u32 storm_rounds; /* IPIs from each CPU to each other one */

/* Host handler of the storm vectors: the slot names the sender. */
static void storm_interrupt(struct trap_frame *f)
{
    u32 me = this_cpu()->index, k = (u32)f->vector - STORM_VECTOR;
    u32 from = __atomic_exchange_n(&storm_slot[me][k], 0, __ATOMIC_ACQ_REL);

    lapic_eoi();
    if (!from) {
        storm_stray[me]++;
        return;
    }
    storm_got[me][from - 1]++;
    if (this_cpu()->in_guest)
        storm_in_guest[me]++;
}

/* Claims the slot at target t, waiting while another IPI is in flight. */
static bool storm_claim(u32 me, u32 t, u64 start, u64 timeout)
{
    volatile u32 *slot = &storm_slot[t][me % STORM_VECTORS];

    for (;;) {
        u32 expected = 0;
        if (__atomic_compare_exchange_n(slot, &expected, me + 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return true;
        if (rdtsc() - start > timeout)
            return false;
        cpu_relax();
    }
}

/* A CPU that has not yet received all IPIs of another, or NO_CPU. */
#define NO_CPU 0xffffffffu
static u32 storm_missing(u32 me)
{
    for (u32 i = 0; i < smp_cpu_count(); i++)
        if (i != me && cpus[i].online && storm_got[me][i] < storm_rounds)
            return i;
    return NO_CPU;
}

static void storm_timed_out(struct storm_cpu *s, bool sending, u32 cpu)
{
    s->timed_out = true;
    s->sending = sending;
    s->waiting_for = cpu;
}

/* The guest: storm_rounds rounds of one IPI to each other online CPU, then
 * it waits for theirs. */
static void storm_guest(void *arg)
{
    struct storm_cpu *s = arg;
    u32 me = this_cpu()->index, from;
    u64 start = rdtsc();

    for (u32 r = 0; r < storm_rounds; r++)
        for (u32 t = 0; t < smp_cpu_count(); t++) {
            if (t == me || !cpus[t].online)
                continue;
            if (!storm_claim(me, t, start, s->timeout)) {
                storm_timed_out(s, true, t);
                return;
            }
            lapic_send_ipi(cpus[t].apic_id, STORM_VECTOR + me % STORM_VECTORS);
            storm_sent[me][t]++;
        }
    while ((from = storm_missing(me)) != NO_CPU) {
        if (rdtsc() - start > s->timeout) {
            storm_timed_out(s, false, from);
            return;
        }
        cpu_relax();
    }
}

/* fn(arg) in the guest, entered with RFLAGS.IF set; false after
 * outcome_fail. */
static bool run_with_if(struct cpu_outcome *o, struct vcpu *v, void (*fn)(void *), void *arg)
{
    vcpu_set_call(v, fn, arg);
    vmw(GUEST_RFLAGS, vmr(GUEST_RFLAGS) | EFLAGS_IF);
    v->exits = 0;
    struct run_result r = vcpu_continue(v);
    if (r.end == RUN_DONE)
        return true;
    outcome_fail(o, "%s", run_failed(r) ? r.why : "the guest stopped before it finished");
    return false;
}

static enum exit_action storm_hook(struct vcpu *v, u32 reason)
{
    struct storm_cpu *s = v->test_data;
    if (reason == EXIT_REASON_EXTERNAL_INTERRUPT)
        s->ext_exits++;
    return EXIT_DEFAULT;
}

/* This CPU as a target: from each sender, as many as it sent. */
static bool storm_count(struct cpu_outcome *o)
{
    u32 me = this_cpu()->index, got = 0;

    for (u32 i = 0; i < smp_cpu_count(); i++) {
        if (i == me || !cpus[i].online)
            continue;
        if (storm_got[me][i] != storm_sent[i][me] || storm_sent[i][me] != storm_rounds) {
            outcome_fail(o, "from CPU %u: %u IPIs sent, %u received, expected %u", i,
                         storm_sent[i][me], storm_got[me][i], storm_rounds);
            return false;
        }
        got += storm_got[me][i];
    }
    if (storm_stray[me]) {
        outcome_fail(o, "%u storm IPIs arrived with no sender waiting", storm_stray[me]);
        return false;
    }
    if (storm_in_guest[me] != got || (got && !storm[me].ext_exits)) {
        outcome_fail(o, "%u of %u IPIs were taken at the %u external-interrupt exits of the "
                     "guest, expected all", storm_in_guest[me], got, storm[me].ext_exits);
        return false;
    }
    printf("storm: CPU %u: %u IPIs received, %u at external-interrupt exits of its guest "
           "(%u such exits)\n", me, got, storm_in_guest[me], storm[me].ext_exits);
    return true;
}

static void check_storm(struct cpu_outcome *o, void *arg)
{
    struct storm_cpu *s = &storm[this_cpu()->index];
    (void)arg;

    struct vcpu *v = test_guest(o);
    if (!v)
        return;
    if (smp_online_count() < 2) {
        outcome_skip(o, "needs 2 or more CPUs (%u online)", smp_online_count());
        return;
    }
    v->hook = storm_hook;
    v->test_data = s;
    if (!(vmr(PIN_BASED_VM_EXEC_CONTROL) & PIN_EXTERNAL_INTERRUPT_EXITING)) {
        outcome_fail(o, "guest setup left external-interrupt exiting clear");
        return;
    }
    unsigned long flags = irq_save();
    bool started = smp_barrier_wait(&storm_barrier, STORM_TIMEOUT_MS);
    bool ran = started && run_with_if(o, v, storm_guest, s);
    irq_restore(flags);
    if (!started)
        outcome_fail(o, "not every CPU came to the start within %u ms", STORM_TIMEOUT_MS);
    if (!ran)
        return;
    u32 me = this_cpu()->index, t = s->waiting_for;
    if (s->timed_out && s->sending) {
        outcome_fail(o, "the guest timed out (%u ms) waiting for its previous IPI to CPU %u "
                     "to arrive (sent %u, that CPU counted %u)", STORM_TIMEOUT_MS, t,
                     storm_sent[me][t], storm_got[t][me]);
        return;
    }
    if (s->timed_out) {
        outcome_fail(o, "the guest timed out (%u ms) waiting for the IPIs of CPU %u (%u of %u "
                     "arrived)", STORM_TIMEOUT_MS, t, storm_got[me][t], storm_rounds);
        return;
    }
    /* every CPU has all its IPIs: the senders' counts are final */
    if (!smp_barrier_wait(&storm_barrier, STORM_TIMEOUT_MS))
        outcome_fail(o, "not every CPU finished within %u ms", STORM_TIMEOUT_MS);
    else
        storm_count(o);
}

VMX_TEST("vmx/multi-ipi-storm", test_storm);
static void test_storm(const char *name)
{
    u64 timeout = STORM_TIMEOUT_MS * smp_tsc_per_ms();

    for (u32 k = 0; k < STORM_VECTORS; k++)
        trap_set_handler(STORM_VECTOR + k, storm_interrupt);
    memset((void *)storm_slot, 0, sizeof(storm_slot));
    memset((void *)storm_sent, 0, sizeof(storm_sent));
    memset((void *)storm_got, 0, sizeof(storm_got));
    memset((void *)storm_in_guest, 0, sizeof(storm_in_guest));
    memset((void *)storm_stray, 0, sizeof(storm_stray));
    memset(storm, 0, sizeof(storm));
    for (u32 i = 0; i < LHV_MAX_CPUS; i++)
        storm[i].timeout = timeout;
    smp_barrier_init(&storm_barrier, smp_online_count());
    storm_rounds = STORM_IPIS / (smp_online_count() > 1 ? smp_online_count() - 1 : 1);
    if (storm_rounds < STORM_MIN_ROUNDS)
        storm_rounds = STORM_MIN_ROUNDS;
    verdict_all_cpus(name, check_storm, NULL);
}

/* ===== vmx/multi-ipi-pending-at-entry ======================================
 * Found with the storm: an IPI pending when the host (interrupts off)
 * enters a guest with external-interrupt exiting and RFLAGS.IF=0 must exit
 * (reason 1) before the guest's first instruction, since that control
 * makes RFLAGS.IF irrelevant to blocking (SDM 3C 26.2; the interruptibility
 * state, 25.4.2, is 0: no blocking by STI or MOV SS). The guest spins a while and never touches
 * IF; the host's handler counts the IPI once it comes. */

#define PENDING_VECTOR (STORM_VECTOR + STORM_VECTORS)
#define PENDING_SPINS 20000
#define PENDING_WINDOWS 1000

static volatile u32 pending_got[LHV_MAX_CPUS];

struct pending_log {
    u32 ext_exits;
    uintptr_t first_rip;
    u32 got_at_exit;     /* pending_got when the first exit came */
};

static void pending_interrupt(struct trap_frame *f)
{
    (void)f;
    lapic_eoi();
    pending_got[this_cpu()->index]++;
}

static void pending_guest(void *arg)
{
    (void)arg;
    for (u32 i = 0; i < PENDING_SPINS; i++)
        cpu_relax();
}

static enum exit_action pending_hook(struct vcpu *v, u32 reason)
{
    struct pending_log *l = v->test_data;

    if (reason == EXIT_REASON_EXTERNAL_INTERRUPT && !l->ext_exits++) {
        l->first_rip = (uintptr_t)vmr(GUEST_RIP);
        l->got_at_exit = pending_got[this_cpu()->index];
    }
    return EXIT_DEFAULT;
}

/* Bochs 2.7 and 3.0: VM entry loads the guest's RFLAGS (IF=0 here, as the host's)
 * before it marks the CPU as in VMX non-root operation, so the mask the
 * host's CLI put on LAPIC interrupts stays; it lifts only when the guest
 * changes IF. The IPI then waits until the host enables interrupts. */
static void pending_missed(struct cpu_outcome *o, u32 got)
{
    if (l0_bochs_deviates(BOCHS_2_7_AND_3_0) && got == 1)
        outcome_xfail(o, "%s: a LAPIC interrupt stays masked in a guest entered with IF=0 "
                      "under external-interrupt exiting (no exit in %u spins)",
                      l0_bochs_names(BOCHS_2_7_AND_3_0), PENDING_SPINS);
    else
        outcome_fail(o, "no external-interrupt exit in a guest entered with a pending IPI "
                     "(%u spins; the host took it %u times after the run)", PENDING_SPINS, got);
}

/* Sends the self-IPI and waits for it in IRR (SDM 3A 11.8.4). */
static bool pending_send(struct cpu_outcome *o, u32 me)
{
    u32 reg = LAPIC_REG_IRR + 0x10 * (PENDING_VECTOR / 32), bit = 1u << (PENDING_VECTOR % 32);

    lapic_send_ipi(cpus[me].apic_id, PENDING_VECTOR);
    for (u32 i = 0; i < PENDING_WINDOWS; i++)
        if (lapic_read(reg) & bit)
            return true;
    outcome_fail(o, "the self-IPI (vector 0x%x) did not show in IRR", PENDING_VECTOR);
    return false;
}

static void check_pending(struct cpu_outcome *o, void *arg)
{
    struct pending_log l;
    struct vcpu *v = test_guest(o);
    u32 me = this_cpu()->index;
    (void)arg;

    if (!v)
        return;
    memset(&l, 0, sizeof(l));
    v->hook = pending_hook;
    v->test_data = &l;
    pending_got[me] = 0;
    unsigned long flags = irq_save();
    bool ok = pending_send(o, me) && test_guest_run(o, v, pending_guest, NULL);
    /* an interrupt window, as the run loop opens one at an exit */
    for (u32 i = 0; i < PENDING_WINDOWS && !pending_got[me]; i++)
        __asm__ volatile("sti\n\tnop\n\tcli" : : : "memory");
    irq_restore(flags);
    u32 got = pending_got[me];
    if (!ok)
        return;
    if (!l.ext_exits)
        pending_missed(o, got);
    else if (l.first_rip != (uintptr_t)guest_entry || l.got_at_exit != 0 || got != 1)
        outcome_fail(o, "first external-interrupt exit at guest RIP 0x%lx (expected the entry "
                     "0x%lx) with %u IPIs taken before it; %u taken in all, expected 1",
                     (unsigned long)l.first_rip, (unsigned long)(uintptr_t)guest_entry,
                     l.got_at_exit, got);
}

VMX_TEST("vmx/multi-ipi-pending-at-entry", test_pending);
static void test_pending(const char *name)
{
    trap_set_handler(PENDING_VECTOR, pending_interrupt);
    verdict_all_cpus(name, check_pending, NULL);
}
