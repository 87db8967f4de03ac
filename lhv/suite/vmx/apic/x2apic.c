/* "Virtualize x2APIC mode" (SDM 3C 25.6.2 secondary processor-based
 * control bit 4; 29.5): with the TPR shadow, RDMSR and WRMSR of the x2APIC
 * TPR (MSR 808H) read and write VTPR in the virtual-APIC page, whatever
 * the real local APIC's mode, and a write below the TPR threshold makes a
 * trap-like TPR-below-threshold exit (29.5.2, 29.3). With APIC-register
 * virtualization (bit 8) as well, RDMSR of the version (803H) and the SVR
 * (80FH) read the page's offsets 030H and 0F0H (29.5.1). The MSR bitmap is
 * all zero: no MSR exits. */
#include "cpu.h"
#include "lapic.h"
#include "vapic.h"
#include "vmx/vmx.h"
#include "x86.h"

#define X2_MSR(offset) (0x800u + (offset) / 16) /* SDM 3A 11.12.1.2 */

struct x2_run {
    bool regs;                 /* APIC-register virtualization */
    u64 tpr, version, svr;     /* what the guest's RDMSRs gave */
    uintptr_t after;           /* where its WRMSR of the TPR ends */
    u32 exits, vtpr_at_exit;
    uintptr_t exit_rip;
};

static u64 x2_rdmsr(u32 msr)
{
    u32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (u64)hi << 32 | lo;
}

static void x2_wrmsr(u32 msr, u32 lo, uintptr_t *after)
{
#ifdef __x86_64__
    __asm__ volatile("lea 1f(%%rip), %0\n\twrmsr\n1:"
                     : "=&r"(*after) : "c"(msr), "a"(lo), "d"(0) : "memory");
#else
    __asm__ volatile("mov $1f, %0\n\twrmsr\n1:"
                     : "=&r"(*after) : "c"(msr), "a"(lo), "d"(0) : "memory");
#endif
}

static void x2_guest(void *arg)
{
    struct x2_run *r = arg;

    r->tpr = x2_rdmsr(MSR_X2APIC_TPR);
    x2_wrmsr(MSR_X2APIC_TPR, 0x20, &r->after);
    if (r->regs) {
        r->version = x2_rdmsr(X2_MSR(LAPIC_REG_VERSION));
        r->svr = x2_rdmsr(X2_MSR(LAPIC_REG_SVR));
    }
}

static enum exit_action x2_hook(struct vcpu *v, u32 reason)
{
    struct x2_run *r = v->test_data;

    if (reason != EXIT_REASON_TPR_BELOW_THRESHOLD)
        return EXIT_DEFAULT;
    if (r->exits++)
        return vcpu_fail(v, "a second TPR-below-threshold exit");
    r->exit_rip = (uintptr_t)vmr(GUEST_RIP);
    r->vtpr_at_exit = *vapic_reg(vapic_page(), LAPIC_REG_TPR);
    vmw(TPR_THRESHOLD, r->vtpr_at_exit >> 4 & 0xf); /* checked again at VMRESUME */
    return EXIT_RESUME;
}

static void check_virtualize_x2apic(struct cpu_outcome *o, void *arg)
{
    struct x2_run r = {0};
    u32 proc2 = CPU2_VIRTUALIZE_X2APIC_MODE;
    u8 *page = vapic_page();
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_ACTIVATE_SECONDARY_CONTROLS | CPU_USE_TPR_SHADOW,
                         "secondary controls, use TPR shadow") ||
        !require_control(o, CTL_PROC2, proc2, "virtualize x2APIC mode"))
        return;
    r.regs = vmx_has_proc2(CPU2_APIC_REGISTER_VIRT);
    struct vcpu *v = vapic_guest(o, r.regs ? proc2 | CPU2_APIC_REGISTER_VIRT : proc2);
    u32 real = lapic_read(LAPIC_REG_TPR);
    if (!v)
        return;
    *vapic_reg(page, LAPIC_REG_TPR) = 0x60;
    *vapic_reg(page, LAPIC_REG_VERSION) = 0xa5050014;
    *vapic_reg(page, LAPIC_REG_SVR) = 0xa50001ff;
    vmw(TPR_THRESHOLD, 3);
    v->hook = x2_hook;
    v->test_data = &r;
    bool ok = test_guest_run(o, v, x2_guest, &r);
    if (lapic_read(LAPIC_REG_TPR) != real) {
        lapic_write(LAPIC_REG_TPR, real);
        return outcome_fail(o, "the guest changed the real TPR (0x%x before)", real);
    }
    if (!ok || !CHECK_EQ(o, r.tpr, 0x60) || !CHECK_EQ(o, *vapic_reg(page, LAPIC_REG_TPR), 0x20) ||
        !CHECK_EQ(o, r.exits, 1) || !CHECK_EQ(o, r.exit_rip, r.after) ||
        !CHECK_EQ(o, r.vtpr_at_exit, 0x20))
        return;
    if (r.regs && CHECK_EQ(o, r.version, 0xa5050014))
        CHECK_EQ(o, r.svr, 0xa50001ff);
}
VMX_TEST_ALL_CPUS("vmx/virtualize-x2apic", check_virtualize_x2apic);
