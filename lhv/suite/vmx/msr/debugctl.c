/* vmx/debugctl-load-save: "load debug controls" puts the guest fields DR7
 * and IA32_DEBUGCTL in the registers at VM entry, "save debug controls"
 * stores the guest's at VM exit, and the exit leaves the host DR7 0x400
 * and IA32_DEBUGCTL 0 (SDM 3C 27.3.2.1, 28.3.1, 28.5.1). The values are
 * harmless: DR7 with only GE/LE (no breakpoint enabled), DEBUGCTL.BTF
 * (matters only with RFLAGS.TF). */
#include "catch.h"
#include "x86.h"
#include "suite/suite.h"
#include "suite/vmx_test.h"

#define DC_DR7_LOADED 0x600 /* GE, LE */
#define DC_DR7_GUEST 0x500  /* LE: what the guest writes */

struct dc_run {
    bool debugctl; /* the CPU has IA32_DEBUGCTL */
    unsigned long dr7;
    u64 debugctl_seen;
};

static unsigned long dc_read_dr7(void)
{
    unsigned long v;
    __asm__ volatile("mov %%dr7, %0" : "=r"(v));
    return v;
}

static void dc_write_dr7(unsigned long v) { __asm__ volatile("mov %0, %%dr7" : : "r"(v)); }

static void dc_guest(void *arg)
{
    struct dc_run *r = arg;
    r->dr7 = dc_read_dr7();
    dc_write_dr7(DC_DR7_GUEST);
    if (r->debugctl) {
        r->debugctl_seen = rdmsr(MSR_IA32_DEBUGCTL);
        wrmsr(MSR_IA32_DEBUGCTL, 0);
    }
}

static void dc_probe(void *arg) { *(u64 *)arg = rdmsr(MSR_IA32_DEBUGCTL); }

static void check_debugctl(struct cpu_outcome *o, void *arg)
{
    struct caught c;
    u64 host;
    struct dc_run r = {0};
    (void)arg;

    if (!require_control(o, CTL_ENTRY, ENTRY_LOAD_DEBUG_CONTROLS, "load debug controls") ||
        !require_control(o, CTL_EXIT, EXIT_SAVE_DEBUG_CONTROLS, "save debug controls"))
        return;
    r.debugctl = catch_exception(dc_probe, &host, &c) == NO_EXCEPTION;
    struct vcpu *v = test_guest(o);
    if (!v)
        return;
    vmw_or(VM_ENTRY_CONTROLS, ENTRY_LOAD_DEBUG_CONTROLS);
    vmw_or(VM_EXIT_CONTROLS, EXIT_SAVE_DEBUG_CONTROLS);
    vmw(GUEST_DR7, DC_DR7_LOADED);
    vmw(GUEST_IA32_DEBUGCTL, DEBUGCTL_BTF);
    if (r.debugctl)
        wrmsr(MSR_IA32_DEBUGCTL, DEBUGCTL_BTF); /* the exit must clear it */
    bool ran = test_guest_run(o, v, dc_guest, &r);
    unsigned long dr7_after = dc_read_dr7();
    u64 debugctl_after = r.debugctl ? rdmsr(MSR_IA32_DEBUGCTL) : 0;
    if (r.debugctl)
        wrmsr(MSR_IA32_DEBUGCTL, host);
    if (!ran || !CHECK_EQ(o, r.dr7, DC_DR7_LOADED) || !CHECK_EQ(o, vmr(GUEST_DR7), DC_DR7_GUEST) ||
        !CHECK_EQ(o, dr7_after, 0x400))
        return;
    if (r.debugctl) {
        (void)(CHECK_EQ(o, r.debugctl_seen, DEBUGCTL_BTF) &&
               CHECK_EQ(o, vmr(GUEST_IA32_DEBUGCTL), 0) && CHECK_EQ(o, debugctl_after, 0));
    } else if (l0_bochs_deviates(BOCHS_2_7_AND_3_0)) {
        outcome_xfail(o, "%s have no IA32_DEBUGCTL (RDMSR 0x1d9 raises #GP): its load, save "
                      "and clearing are not checked", l0_bochs_names(BOCHS_2_7_AND_3_0));
    } else {
        outcome_fail(o, "RDMSR IA32_DEBUGCTL raised #GP (vector %u)", c.vector);
    }
}

VMX_TEST_ALL_CPUS("vmx/debugctl-load-save", check_debugctl);
