/* The host's control registers after a VM exit come from the host-state
 * area (SDM 3C 28.5.1 "Loading Host Control Registers, Debug Registers,
 * MSRs"), whatever the guest ran with (27.3.2.1):
 * vmx/host-cr4-osxsave-after-exit: the host's CPUID.01H:ECX.OSXSAVE
 * follows its own CR4.OSXSAVE after the exit, not the guest's (SDM 2 CPUID:
 * bit 27 reflects CR4.OSXSAVE), both ways round.
 * vmx/cr3-pcid-load: with CR4.PCIDE the guest's CR3 keeps its PCID (bits
 * 11:0) across VM entry and the host's across the exit (SDM 3A 4.10.1);
 * outside IA-32e mode a guest CR4.PCIDE fails VM entry (27.3.1.1). */
#include "cpu.h"
#include "suite/vmx_test.h"
#include "x86.h"


/* What the guest saw: its CR4 and (with OSXSAVE) XCR0 */
struct hc_osx {
    unsigned long cr4;
    u64 xcr0;
};

static void hc_osx_guest(void *arg)
{
    struct hc_osx *g = arg;
    u32 lo, hi;

    g->cr4 = read_cr4();
    if (g->cr4 & CR4_OSXSAVE) { /* XGETBV works only then (#UD else) */
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        g->xcr0 = ((u64)hi << 32) | lo;
    }
}

/* Host CR4.OSXSAVE host_on, the guest's the other: after the exit the
 * host's CPUID.01H:ECX.OSXSAVE is host_on */
static bool hc_osx_case(struct cpu_outcome *o, unsigned long cr4, bool host_on)
{
    unsigned long host = host_on ? cr4 | CR4_OSXSAVE : cr4 & ~(unsigned long)CR4_OSXSAVE;
    unsigned long guest = host ^ CR4_OSXSAVE;
    struct hc_osx g = {0, 0};
    struct vcpu *v;

    write_cr4(host);
    if (!(v = test_guest(o)))
        return false;
    vmw(HOST_CR4, host);
    vmw(GUEST_CR4, guest);
    if (!test_guest_run(o, v, hc_osx_guest, &g))
        return false;
    u32 seen = cpuid(1, 0).ecx & CPUID1_ECX_OSXSAVE;
    if (!CHECK_EQ(o, g.cr4 & CR4_OSXSAVE, guest & CR4_OSXSAVE) ||
        !CHECK_EQ(o, read_cr4() & CR4_OSXSAVE, host & CR4_OSXSAVE) ||
        !CHECK_EQ(o, seen, host_on ? CPUID1_ECX_OSXSAVE : 0))
        return false;
    return host_on || CHECK_EQ(o, g.xcr0 & 1, 1); /* x87 state is always in XCR0 */
}

static void check_osxsave(struct cpu_outcome *o, void *arg)
{
    unsigned long cr4 = read_cr4();
    (void)arg;

    if (!(cpuid(1, 0).ecx & CPUID1_ECX_XSAVE))
        return outcome_skip(o, "no XSAVE (CPUID.01H:ECX bit 26)");
    if (vmx_unavailable())
        return outcome_skip(o, "%s", vmx_unavailable());
    if (!(vmx_caps.cr4_fixed1 & CR4_OSXSAVE))
        return outcome_skip(o, "IA32_VMX_CR4_FIXED1 bit 18 (OSXSAVE) clear");
    if (hc_osx_case(o, cr4, true))
        hc_osx_case(o, cr4, false);
    write_cr4(cr4);
}
VMX_TEST_ALL_CPUS("vmx/host-cr4-osxsave-after-exit", check_osxsave);

/* vmx/cr3-pcid-load */
#define HC_GUEST_PCID 0x123u
#define HC_HOST_PCID 0x045u

struct hc_cr {
    unsigned long cr3, cr4;
    u32 word; /* read through the guest's paging */
};

static const u32 hc_word = 0x9c1d0003u;

static void hc_pcid_guest(void *arg)
{
    struct hc_cr *g = arg;
    g->cr3 = read_cr3();
    g->cr4 = read_cr4();
    g->word = *(volatile const u32 *)&hc_word;
}

static void check_cr3_pcid(struct cpu_outcome *o, void *arg)
{
    unsigned long cr3 = read_cr3(), cr4 = read_cr4();
    struct hc_cr g = {0, 0, 0};
    struct vcpu *v;
    (void)arg;

    if (!(cpuid(1, 0).ecx & CPUID1_ECX_PCID))
        return outcome_skip(o, "no PCID (CPUID.01H:ECX bit 17)");
    if (vmx_unavailable())
        return outcome_skip(o, "%s", vmx_unavailable());
    if (!(vmx_caps.cr4_fixed1 & CR4_PCIDE))
        return outcome_skip(o, "IA32_VMX_CR4_FIXED1 bit 17 (PCIDE) clear");
    if (!(v = test_guest(o)))
        return;
    vmw(GUEST_CR4, cr4 | CR4_PCIDE);
    vmw(GUEST_CR3, cr3 | HC_GUEST_PCID);
#ifdef __x86_64__
    vmw(HOST_CR4, cr4 | CR4_PCIDE);
    vmw(HOST_CR3, cr3 | HC_HOST_PCID);
    bool ran = test_guest_run(o, v, hc_pcid_guest, &g);
    unsigned long host_cr3 = read_cr3(), host_cr4 = read_cr4();
    /* Back to LHV's CR4 and CR3: clearing PCIDE is allowed with any PCID
     * (SDM 3A 4.10.1); CR3 then without the PCID */
    write_cr4(cr4);
    __asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
    if (!ran || !CHECK_EQ(o, g.cr3, cr3 | HC_GUEST_PCID) || !CHECK(o, g.cr4 & CR4_PCIDE) ||
        !CHECK_EQ(o, g.word, hc_word) || !CHECK_EQ(o, host_cr3, cr3 | HC_HOST_PCID))
        return;
    CHECK(o, host_cr4 & CR4_PCIDE);
#else
    /* Not an IA-32e mode guest: CR4.PCIDE must be 0 (27.3.1.1) */
    struct run_result r = vcpu_run(v, hc_pcid_guest, &g);
    if (CHECK_EQ(o, r.end, RUN_ENTRY_FAILURE))
        CHECK_EQ(o, r.exit_reason, EXIT_REASON_INVALID_GUEST_STATE);
#endif
}
VMX_TEST_ALL_CPUS("vmx/cr3-pcid-load", check_cr3_pcid);
