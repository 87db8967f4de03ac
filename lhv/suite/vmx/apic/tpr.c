/* The TPR shadow (SDM 3C 29.1.1, 29.3, 29.4.3; primary processor-based
 * control bit 21 "use TPR shadow"), the TPR threshold (25.6.8, 29.1.2;
 * exit reason 43, trap-like) and CR8-load/-store exiting (primary bits 19
 * and 20; 26.1.3, exit reason 28). The guest reaches its TPR through CR8
 * (64-bit mode only: amd64) and, where the CPU virtualizes APIC accesses
 * (secondary bit 0), through offset 080H of the APIC-access page (both
 * subarchs). The real local APIC's TPR must never change. */
#include "cpu.h"
#include "lapic.h"
#include "vapic.h"
#include "vmx/vmx.h"
#include "x86.h"

#define TPR_PRESET 0x1234567bu /* VTPR's dword before a run: bytes 3:1 set */

/* What a guest does and what it saw; TPR values are CR8 values (4 bits) */
struct tpr_run {
    bool cr8, mmio;              /* which way the guest goes */
    u32 writes[4], nwrites;      /* TPR values it writes, in order */
    u32 cr8_read, mmio_read;
    uintptr_t after[4];          /* where each write's instruction ends */
    u32 exits, exit_qual;        /* TPR-below-threshold exits */
    uintptr_t exit_rip;
    u32 vtpr_at_exit;
};

#ifdef __x86_64__
static u32 guest_cr8_read(void)
{
    unsigned long v;
    __asm__ volatile("mov %%cr8, %0" : "=r"(v));
    return (u32)v;
}

static void guest_cr8_write(unsigned long v, uintptr_t *after)
{
    __asm__ volatile("lea 1f(%%rip), %0\n\tmov %1, %%cr8\n1:" : "=&r"(*after) : "r"(v) : "memory");
}
#endif

static void tpr_guest(void *arg)
{
    struct tpr_run *r = arg;
    volatile u32 *tpr = vapic_reg(apic_access_page(), LAPIC_REG_TPR);

#ifdef __x86_64__
    if (r->cr8) {
        r->cr8_read = guest_cr8_read();
        for (u32 i = 0; i < r->nwrites; i++)
            guest_cr8_write(r->writes[i], &r->after[i]);
    }
#endif
    if (r->mmio) {
        r->mmio_read = vapic_guest_read(tpr, &r->after[0]);
        for (u32 i = 0; i < r->nwrites; i++)
            vapic_guest_write(tpr, r->writes[i] << 4, &r->after[i]);
    }
}

static enum exit_action tpr_hook(struct vcpu *v, u32 reason)
{
    struct tpr_run *r = v->test_data;

    if (reason != EXIT_REASON_TPR_BELOW_THRESHOLD)
        return EXIT_DEFAULT;
    if (r->exits > 8)
        return vcpu_fail(v, "TPR-below-threshold exits without end: rip 0x%llx, VTPR 0x%x, threshold %llu",
                         vmr(GUEST_RIP), *vapic_reg(vapic_page(), LAPIC_REG_TPR), vmr(TPR_THRESHOLD));
    if (!r->exits++) {
        r->exit_rip = (uintptr_t)vmr(GUEST_RIP);
        r->exit_qual = (u32)v->exit_qual;
        r->vtpr_at_exit = *vapic_reg(vapic_page(), LAPIC_REG_TPR);
    }
    /* VMRESUME checks the threshold against VTPR again (26.2.1.1): a VMM
     * lowers it to the TPR the guest chose */
    vmw(TPR_THRESHOLD, *vapic_reg(vapic_page(), LAPIC_REG_TPR) >> 4 & 0xf);
    return EXIT_RESUME; /* trap-like: RIP is past the write already */
}

/* One run with VTPR's dword preset and the given threshold; false after
 * outcome_fail. The real TPR must stay as it was. */
static bool tpr_run(struct cpu_outcome *o, struct tpr_run *r, u32 preset, u32 threshold)
{
    u32 proc2 = r->mmio ? CPU2_VIRTUALIZE_APIC_ACCESSES : 0;
    struct vcpu *v = vapic_guest(o, proc2);
    u32 real = lapic_read(LAPIC_REG_TPR);
    bool ok;

    if (!v)
        return false;
    *vapic_reg(vapic_page(), LAPIC_REG_TPR) = preset;
    vmw(TPR_THRESHOLD, threshold);
    v->hook = tpr_hook;
    v->test_data = r;
    ok = test_guest_run(o, v, tpr_guest, r);
    if (lapic_read(LAPIC_REG_TPR) != real) {
        lapic_write(LAPIC_REG_TPR, real);
        outcome_fail(o, "the guest changed the real TPR (0x%x before)", real);
        return false;
    }
    return ok;
}

/* Which ways this CPU offers: CR8 on amd64, the APIC-access page where
 * secondary bit 0 may be 1; SKIP when neither */
static bool tpr_ways(struct cpu_outcome *o, bool *cr8, bool *mmio)
{
    if (!require_control(o, CTL_PROC, CPU_USE_TPR_SHADOW, "use TPR shadow"))
        return false;
#ifdef __x86_64__
    *cr8 = (vmx_caps.proc.allowed0 & (CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING)) == 0;
#else
    *cr8 = false; /* CR8 exists only in 64-bit mode (SDM 3A 2.5) */
#endif
    *mmio = vmx_has_proc2(CPU2_VIRTUALIZE_APIC_ACCESSES);
    if (*cr8 || *mmio)
        return true;
    return require_control(o, CTL_PROC2, CPU2_VIRTUALIZE_APIC_ACCESSES,
                           "virtualize APIC accesses; CR8 is 64-bit only");
}

/* Reads of CR8 or offset 080H give VTPR, writes land in it (bytes 3:1
 * cleared), no exit, the real TPR untouched */
static void check_tpr_shadow(struct cpu_outcome *o, void *arg)
{
    bool cr8, mmio;
    (void)arg;

    if (!tpr_ways(o, &cr8, &mmio))
        return;
    if (cr8) {
        struct tpr_run r = {.cr8 = true, .writes = {4}, .nwrites = 1};
        if (!tpr_run(o, &r, TPR_PRESET, 0) || !CHECK_EQ(o, r.cr8_read, TPR_PRESET >> 4 & 0xf) ||
            !CHECK_EQ(o, *vapic_reg(vapic_page(), LAPIC_REG_TPR), 0x40))
            return;
    }
    if (mmio) {
        struct tpr_run r = {.mmio = true, .writes = {3}, .nwrites = 1};
        if (!tpr_run(o, &r, 0xa5, 0) || !CHECK_EQ(o, r.mmio_read, 0xa5) ||
            !CHECK_EQ(o, *vapic_reg(vapic_page(), LAPIC_REG_TPR), 0x30))
            return;
    }
}
VMX_TEST_ALL_CPUS("vmx/apic-tpr-shadow", check_tpr_shadow);

/* Threshold 5, VTPR 0x80: writes of 9 and 6 make no exit, 3 makes one
 * exit 43 after the write (RIP past it, qualification 0, VTPR 0x30
 * already), 7 none. Entry with the threshold above VTPR[7:4] (no APIC-
 * access page, no virtual-interrupt delivery) fails: VMfailValid 7
 * (26.2.1.1). */
static void tpr_threshold_way(struct cpu_outcome *o, bool cr8)
{
    struct tpr_run r = {.cr8 = cr8, .mmio = !cr8, .writes = {9, 6, 3, 7}, .nwrites = 4};

    if (tpr_run(o, &r, 0x80, 5) && CHECK_EQ(o, r.exits, 1) && CHECK_EQ(o, r.exit_qual, 0) &&
        CHECK_EQ(o, r.exit_rip, r.after[2]))
        CHECK_EQ(o, r.vtpr_at_exit, 0x30);
}

static void check_tpr_threshold(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v;
    bool cr8, mmio;
    (void)arg;

    if (!tpr_ways(o, &cr8, &mmio) || !(v = vapic_guest(o, 0)))
        return;
    *vapic_reg(vapic_page(), LAPIC_REG_TPR) = 0x40;
    vmw(TPR_THRESHOLD, 5);
    struct run_result res = vcpu_run(v, guest_nothing, NULL);
    if (!CHECK_EQ(o, res.end, RUN_VMFAIL) || !CHECK_EQ(o, res.vm_error, 7))
        return;
    if (cr8)
        tpr_threshold_way(o, true);
    if (mmio && !o->failed)
        tpr_threshold_way(o, false);
}
VMX_TEST_ALL_CPUS("vmx/apic-tpr-threshold", check_tpr_threshold);
