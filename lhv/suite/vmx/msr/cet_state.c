/* vmx/load-cet-state: the "load CET state" VM-entry control loads
 * IA32_S_CET, SSP and IA32_INTERRUPT_SSP_TABLE_ADDR from the guest fields
 * (SDM 3C 27.3.2.1), every VM exit saves them to those fields on a CPU
 * that has the control (28.3.1), and the VM-exit control loads the host
 * fields (28.5.1). CR4.CET stays clear: the values do nothing but be
 * there. Without the controls the guest sees the host's MSRs and the host
 * keeps what the guest wrote. */
#include "suite/vmx_test.h"
#include "x86.h"

#define CET_SSP 0x7000u /* 4-byte aligned (27.3.1.1) */

/* The guest's view: what it read, then what it writes */
struct cet_guest {
    u64 s_cet, isst;
    u64 new_s_cet, new_isst;
};

static void cet_guest(void *arg)
{
    struct cet_guest *g = arg;
    g->s_cet = rdmsr(MSR_IA32_S_CET);
    g->isst = rdmsr(MSR_IA32_INTERRUPT_SSP_TABLE_ADDR);
    wrmsr(MSR_IA32_S_CET, g->new_s_cet);
    wrmsr(MSR_IA32_INTERRUPT_SSP_TABLE_ADDR, g->new_isst);
}

/* One run, with both controls or neither; each party's values differ */
static bool cet_run(struct cpu_outcome *o, bool load, u32 bits)
{
    const u64 host = 0x31000000u | bits, field = 0x32000000u | bits,
              guest = 0x33000000u | bits, exit_host = 0x34000000u | bits;
    struct cet_guest g = {0, 0, guest, guest + 0x1000};
    struct vcpu *v = test_guest_with_msr_bitmaps(o);

    if (!v)
        return false;
    wrmsr(MSR_IA32_S_CET, host);
    wrmsr(MSR_IA32_INTERRUPT_SSP_TABLE_ADDR, host + 0x1000);
    vmw(GUEST_S_CET, field);
    vmw(GUEST_INTR_SSP_TABLE_ADDR, field + 0x1000);
    vmw(GUEST_SSP, CET_SSP);
    vmw(HOST_S_CET, exit_host);
    vmw(HOST_INTR_SSP_TABLE_ADDR, exit_host + 0x1000);
    vmw(HOST_SSP, 0);
    if (load) {
        vmw_or(VM_ENTRY_CONTROLS, ENTRY_LOAD_CET_STATE);
        vmw_or(VM_EXIT_CONTROLS, EXIT_LOAD_CET_STATE);
    }
    bool ran = test_guest_run(o, v, cet_guest, &g);
    u64 after = rdmsr(MSR_IA32_S_CET), after_isst = rdmsr(MSR_IA32_INTERRUPT_SSP_TABLE_ADDR);
    wrmsr(MSR_IA32_S_CET, 0);
    wrmsr(MSR_IA32_INTERRUPT_SSP_TABLE_ADDR, 0);
    /* the SSP field holds the guest's SSP: with the control what entry
     * loaded, without it the host's (0: no shadow stack here) */
    return ran && CHECK_EQ(o, g.s_cet, load ? field : host) &&
           CHECK_EQ(o, g.isst, (load ? field : host) + 0x1000) &&
           CHECK_EQ(o, vmr(GUEST_S_CET), guest) &&
           CHECK_EQ(o, vmr(GUEST_INTR_SSP_TABLE_ADDR), guest + 0x1000) &&
           CHECK_EQ(o, vmr(GUEST_SSP), load ? CET_SSP : 0) &&
           CHECK_EQ(o, after, load ? exit_host : guest) &&
           CHECK_EQ(o, after_isst, (load ? exit_host : guest) + 0x1000);
}

static void check_cet(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    if (!require_control(o, CTL_ENTRY, ENTRY_LOAD_CET_STATE, "load CET state") ||
        !require_control(o, CTL_EXIT, EXIT_LOAD_CET_STATE, "load CET state"))
        return;
    /* the values use IBT's bits of IA32_S_CET (ENDBR_EN, NO_TRACK_EN, the
     * legacy bitmap in 63:12); every CPU with VMX and CET has IBT */
    if (cpuid(0, 0).eax < 7 || !(cpuid(7, 0).edx & CPUID7_EDX_CET_IBT))
        return outcome_skip(o, "CPUID.(EAX=07H,ECX=0):EDX[20] (CET indirect branch tracking) "
                            "clear");
    u32 bits = S_CET_ENDBR_EN | S_CET_NO_TRACK_EN;
    if (cet_run(o, true, bits))
        cet_run(o, false, bits);
}
VMX_TEST_ALL_CPUS("vmx/load-cet-state", check_cet);
