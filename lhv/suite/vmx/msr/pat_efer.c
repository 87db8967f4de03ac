/* IA32_PAT and IA32_EFER across VM entry and exit (SDM 3C 27.3.2.1 loading
 * guest MSRs, 27.3.1.1 their checks, 28.3.1 saving them, 28.5.1 loading the
 * host's): vmx/entry-load-pat-efer and vmx/exit-save-load-pat-efer. The
 * guest's EFER differs from the host's in SCE, which neither uses. */
#include "x86.h"
#include "suite/suite.h"
#include "suite/vmx_test.h"

#define GUEST_PAT 0x0604000700070406ull /* types 6,4,7,0,7,0,4,6: all valid */
#define HOST_PAT_AT_EXIT 0x0007040604060007ull

struct pe_seen {
    u64 pat, efer;
    u64 new_pat, new_efer; /* the guest writes these when not 0 */
};

static void pe_guest(void *arg)
{
    struct pe_seen *s = arg;
    s->pat = rdmsr(MSR_IA32_PAT);
    s->efer = rdmsr(MSR_IA32_EFER);
    if (s->new_pat)
        wrmsr(MSR_IA32_PAT, s->new_pat);
    if (s->new_efer)
        wrmsr(MSR_IA32_EFER, s->new_efer);
}

/* A fresh guest with these VM-entry controls added and VM-exit controls
 * set or (those of PAT and EFER not in exit) clear */
static struct vcpu *pe_vcpu(struct cpu_outcome *o, u32 entry, u32 exit)
{
    const u32 msrs = EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT | EXIT_SAVE_IA32_EFER |
                     EXIT_LOAD_IA32_EFER;
    struct vcpu *v = test_guest(o);
    if (v) {
        vmw_or(VM_ENTRY_CONTROLS, entry);
        vmw(VM_EXIT_CONTROLS, (vmr(VM_EXIT_CONTROLS) & ~msrs) | exit);
    }
    return v;
}

/* ------------------------------------------------------------------------ */
/* vmx/entry-load-pat-efer */

/* VM entry with this guest IA32_EFER must fail: exit reason 33 (27.3.1.1) */
static bool pe_refused(struct cpu_outcome *o, u64 efer, const char *what)
{
    struct vcpu *v = pe_vcpu(o, ENTRY_LOAD_IA32_EFER, 0);
    if (!v)
        return false;
    vmw(GUEST_IA32_EFER, efer);
    struct run_result r = vcpu_run(v, guest_nothing, NULL);
    if (r.end == RUN_ENTRY_FAILURE && r.exit_reason == EXIT_REASON_INVALID_GUEST_STATE)
        return true;
    outcome_fail(o, "guest IA32_EFER 0x%llx (%s): %s, expected VM-entry failure 33", efer, what,
                 v->why);
    return false;
}

static void check_entry_load(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    if (!require_control(o, CTL_ENTRY, ENTRY_LOAD_IA32_PAT | ENTRY_LOAD_IA32_EFER,
                         "load IA32_PAT, load IA32_EFER"))
        return;
    u64 pat = rdmsr(MSR_IA32_PAT), efer = rdmsr(MSR_IA32_EFER);
    struct pe_seen s = {0};
    struct vcpu *v = pe_vcpu(o, ENTRY_LOAD_IA32_PAT | ENTRY_LOAD_IA32_EFER, 0);
    if (!v)
        return;
    vmw(GUEST_IA32_PAT, GUEST_PAT);
    vmw(GUEST_IA32_EFER, efer ^ EFER_SCE);
    bool ran = test_guest_run(o, v, pe_guest, &s);
    wrmsr(MSR_IA32_PAT, pat); /* no VM-exit load here: the guest's stayed */
    wrmsr(MSR_IA32_EFER, efer);
    if (!ran || !CHECK_EQ(o, s.pat, GUEST_PAT) || !CHECK_EQ(o, s.efer, efer ^ EFER_SCE))
        return;
    /* EFER.LMA must be "IA-32e mode guest"; with CR0.PG, LME too; no reserved bit */
#ifdef __x86_64__
    (void)(pe_refused(o, efer & ~(u64)EFER_LMA, "LMA clear, IA-32e mode guest") &&
           pe_refused(o, efer & ~(u64)EFER_LME, "LME clear, IA-32e mode guest, paging") &&
#else
    (void)(pe_refused(o, efer | EFER_LMA, "LMA set, not IA-32e mode guest") &&
           pe_refused(o, efer | EFER_LME, "LME set, not IA-32e mode guest, paging") &&
#endif
           pe_refused(o, efer | (1u << 3), "reserved bit 3"));
}

VMX_TEST_ALL_CPUS("vmx/entry-load-pat-efer", check_entry_load);

/* ------------------------------------------------------------------------ */
/* vmx/exit-save-load-pat-efer */

static void check_exit_save_load(struct cpu_outcome *o, void *arg)
{
    const u32 all = EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT | EXIT_SAVE_IA32_EFER |
                    EXIT_LOAD_IA32_EFER;
    (void)arg;
    if (!require_control(o, CTL_EXIT, all, "save/load IA32_PAT, save/load IA32_EFER"))
        return;
    u64 pat = rdmsr(MSR_IA32_PAT), efer = rdmsr(MSR_IA32_EFER);
    /* the guest changes both; the exit saves them and loads the host's */
    struct pe_seen s = {.new_pat = GUEST_PAT, .new_efer = efer ^ EFER_SCE};
    struct vcpu *v = pe_vcpu(o, 0, all);
    if (!v)
        return;
    vmw(HOST_IA32_PAT, HOST_PAT_AT_EXIT);
    vmw(HOST_IA32_EFER, efer);
    bool ran = test_guest_run(o, v, pe_guest, &s);
    u64 pat_after = rdmsr(MSR_IA32_PAT), efer_after = rdmsr(MSR_IA32_EFER);
    wrmsr(MSR_IA32_PAT, pat);
    wrmsr(MSR_IA32_EFER, efer);
    if (!ran || !CHECK_EQ(o, vmr(GUEST_IA32_PAT), GUEST_PAT) ||
        !CHECK_EQ(o, vmr(GUEST_IA32_EFER), efer ^ EFER_SCE) ||
        !CHECK_EQ(o, pat_after, HOST_PAT_AT_EXIT) || !CHECK_EQ(o, efer_after, efer))
        return;
    /* without the save controls the fields keep what the host wrote */
    s.new_pat = HOST_PAT_AT_EXIT;
    v = pe_vcpu(o, 0, all & ~(EXIT_SAVE_IA32_PAT | EXIT_SAVE_IA32_EFER));
    if (!v)
        return;
    vmw(HOST_IA32_PAT, pat);
    vmw(HOST_IA32_EFER, efer);
    vmw(GUEST_IA32_PAT, GUEST_PAT);
    vmw(GUEST_IA32_EFER, efer);
    ran = test_guest_run(o, v, pe_guest, &s);
    pat_after = rdmsr(MSR_IA32_PAT);
    efer_after = rdmsr(MSR_IA32_EFER);
    wrmsr(MSR_IA32_PAT, pat);
    wrmsr(MSR_IA32_EFER, efer);
    (void)(ran && CHECK_EQ(o, vmr(GUEST_IA32_PAT), GUEST_PAT) &&
           CHECK_EQ(o, vmr(GUEST_IA32_EFER), efer) && CHECK_EQ(o, pat_after, pat) &&
           CHECK_EQ(o, efer_after, efer));
}

VMX_TEST_ALL_CPUS("vmx/exit-save-load-pat-efer", check_exit_save_load);
