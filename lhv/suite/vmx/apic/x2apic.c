/* "Virtualize x2APIC mode" (SDM 3C 25.6.2 secondary processor-based
 * control bit 4; 29.5): with the TPR shadow, RDMSR and WRMSR of the x2APIC
 * TPR (MSR 808H) read and write VTPR in the virtual-APIC page, whatever
 * the real local APIC's mode, and a write below the TPR threshold makes a
 * trap-like TPR-below-threshold exit (29.5.2, 29.3). With APIC-register
 * virtualization (bit 8) as well, RDMSR of the version (803H) and the SVR
 * (80FH) read the page's offsets 030H and 0F0H (29.5.1). The MSR bitmap is
 * all zero: no MSR exits. */
#include "alloc.h"
#include "cpu.h"
#include "lapic.h"
#include "string.h"
#include "vmx/msr_area.h"
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

/* Every x2APIC MSR, 800H-8FFH (29.5.1, 29.5.2; 26.1.3): the guest RDMSRs,
 * then WRMSRs, each in turn, in two configurations, the virtual-APIC page
 * preset (offset X: 0xa5000000 | X, at X + 4: 0x5a000000 | X):
 * - with APIC-register virtualization, the MSR bitmap's read bit set for
 *   the MSRs whose number ends in 5 or D, its write bit for all but 808H:
 *   those RDMSRs exit 31 (the host's answer reaches the guest); every
 *   other RDMSR reads the 8 bytes at offset (ECX & FFH) << 4 without an
 *   exit, whatever the real APIC's mode; WRMSR 808H writes VTPR without an
 *   exit, every other WRMSR exits 32 with the guest's EDX:EAX;
 * - without it, no read bit, every write bit: RDMSR 808H reads VTPR's 8
 *   bytes, every other one operates normally (#GP with the real APIC in
 *   xAPIC mode, never the page's value), every WRMSR exits 32.
 * The only write the bitmap lets through is virtualized: no WRMSR reaches
 * the real APIC. */
#define XT_N 256
#define XT_ANSWER 0x5eed0031u
#define XT_WRITTEN(msr) ((msr) == MSR_X2APIC_TPR ? 0x40u : 0xc0000000u | (msr))
#define XT_PAGE(page, msr) \
    ((u64)*vapic_reg(page, ((msr) & 0xff) * 16 + 4) << 32 | *vapic_reg(page, ((msr) & 0xff) * 16))

struct xt_run {
    volatile u32 op;             /* 2 * (msr - 800H), +1 for the write */
    u64 read[XT_N];
    u8 exit[2 * XT_N];           /* each access's exit: 31, 32, 13 (#GP) or 0 */
};

static void xt_guest(void *arg)
{
    struct xt_run *r = arg;
    uintptr_t end;

    for (u32 i = 0; i < XT_N; i++) {
        r->op = 2 * i;
        r->read[i] = x2_rdmsr(X2APIC_MSR_BASE + i);
        r->op = 2 * i + 1;
        x2_wrmsr(X2APIC_MSR_BASE + i, XT_WRITTEN(X2APIC_MSR_BASE + i), &end);
    }
}

static enum exit_action xt_hook(struct vcpu *v, u32 reason)
{
    struct xt_run *r = v->test_data;
    u32 op = r->op, msr = X2APIC_MSR_BASE + op / 2;

    if (reason == EXIT_REASON_EXCEPTION_NMI &&
        ((u32)vmr(VM_EXIT_INTR_INFO) & INTR_INFO_VECTOR_MASK) == VEC_GP)
        reason = VEC_GP;
    else if (reason != EXIT_REASON_MSR_READ && reason != EXIT_REASON_MSR_WRITE)
        return EXIT_DEFAULT;
    if (r->exit[op] || (u32)REG_CX(v) != msr)
        return vcpu_fail(v, "exit %u at MSR 0x%x (op %u)", reason, (u32)REG_CX(v), op);
    r->exit[op] = (u8)reason;
    if (reason == EXIT_REASON_MSR_WRITE &&
        ((u32)REG_AX(v) != XT_WRITTEN(msr) || (u32)REG_DX(v) != 0))
        return vcpu_fail(v, "WRMSR 0x%x of 0x%x", msr, (u32)REG_AX(v));
    REG_AX(v) = reason == EXIT_REASON_MSR_READ ? XT_ANSWER : 0;
    REG_DX(v) = 0;
    vmw(GUEST_RIP, vmr(GUEST_RIP) + 2); /* RDMSR, WRMSR: 2 bytes */
    return EXIT_RESUME;
}

static bool xt_table(struct cpu_outcome *o, bool regs)
{
    static struct xt_run runs[LHV_MAX_CPUS];
    static u8 *bitmaps[LHV_MAX_CPUS];
    u32 cpu = this_cpu()->index;
    struct xt_run *r = &runs[cpu];
    u8 *page = vapic_page();

    if (!bitmaps[cpu])
        bitmaps[cpu] = alloc_pages(1);
    memset(r, 0, sizeof(*r));
    memset(bitmaps[cpu], 0, PAGE_SIZE);
    struct vcpu *v = vapic_guest(o, CPU2_VIRTUALIZE_X2APIC_MODE | (regs ? CPU2_APIC_REGISTER_VIRT : 0));
    if (!v)
        return false;
    for (u32 off = 0; off < PAGE_SIZE; off += 16) {
        *vapic_reg(page, off) = 0xa5000000u | off;
        *vapic_reg(page, off + 4) = 0x5a000000u | off;
    }
    for (u32 msr = X2APIC_MSR_BASE; msr < X2APIC_MSR_BASE + XT_N; msr++) {
        msr_bitmap_set(bitmaps[cpu], msr, MSR_BITMAP_READ, regs && (msr & 7) == 5);
        msr_bitmap_set(bitmaps[cpu], msr, MSR_BITMAP_WRITE, !regs || msr != MSR_X2APIC_TPR);
    }
    vmw(MSR_BITMAP, (uintptr_t)bitmaps[cpu]);
    v->hook = xt_hook;
    v->test_data = r;
    if (!test_guest_run(o, v, xt_guest, r))
        return false;
    for (u32 i = 0; i < XT_N; i++) {
        u32 msr = X2APIC_MSR_BASE + i, rd = r->exit[2 * i], wr = r->exit[2 * i + 1];
        bool virt = regs || msr == MSR_X2APIC_TPR, exits = regs && (msr & 7) == 5;
        u64 want = exits ? XT_ANSWER : virt ? XT_PAGE(page, msr) : 0;
        if (msr == MSR_X2APIC_TPR) /* read before the write */
            want = 0xa5000080u | (u64)0x5a000080 << 32;
        if (virt || exits ? rd != (exits ? EXIT_REASON_MSR_READ : 0) || r->read[i] != want
                          : rd != VEC_GP && (!lapic_x2apic() || rd || r->read[i] == XT_PAGE(page, msr)))
            return outcome_fail(o, "RDMSR 0x%x: exit %u, 0x%llx", msr, rd,
                                (unsigned long long)r->read[i]), false;
        if (wr != (regs && msr == MSR_X2APIC_TPR ? 0 : EXIT_REASON_MSR_WRITE))
            return outcome_fail(o, "WRMSR 0x%x: exit %u", msr, wr), false;
    }
    return CHECK_EQ(o, *vapic_reg(page, LAPIC_REG_TPR), regs ? 0x40 : 0xa5000080u);
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
    if (r.regs && (!CHECK_EQ(o, r.version, 0xa5050014) || !CHECK_EQ(o, r.svr, 0xa50001ff)))
        return;
    if (!require_control(o, CTL_PROC, CPU_USE_MSR_BITMAPS, "use MSR bitmaps") ||
        !xt_table(o, false) || !r.regs)
        return;
    xt_table(o, true);
}
VMX_TEST_ALL_CPUS("vmx/virtualize-x2apic", check_virtualize_x2apic);
