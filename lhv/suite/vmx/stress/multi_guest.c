/* Several guests per CPU (issue #6), on every CPU: more than one VMCS,
 * switched with VMPTRLD, each keeping its guest's state and launch state
 * (SDM 3C 25.1, 25.11.3, 31.3). */
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
