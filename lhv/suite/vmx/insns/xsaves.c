/* "Enable XSAVES/XRSTORS" (SDM 3C 25.6.2 secondary processor-based control
 * bit 20; 25.6.20 the XSS-exiting bitmap; 26.1.3): with it 1 the guest
 * runs XSAVES and XRSTORS itself, except that each exits (reasons 63 and
 * 64) when a bit is set in all three of EDX:EAX, IA32_XSS and the
 * XSS-exiting bitmap; with it 0 both raise #UD (caught by the exception
 * bitmap). The host sets IA32_XSS to one supervisor state component the
 * CPU supports (CPUID.(EAX=0DH,ECX=1):EDX:ECX) for the run; where it
 * supports none, the exiting case is not tried. XSAVES (%eDI) and XRSTORS
 * (%eDI) are 3 bytes each (0F C7 /5 and /3). */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

#define XS_LENGTH 3
#define XS_X87 1ull                        /* state component 0 */
#define XS_COMPACTED (1ull << 63)          /* XCOMP_BV bit 63 (SDM 1 13.4.3) */
#define XS_XCOMP_BV 520                    /* header at 512: XSTATE_BV, XCOMP_BV */

struct xs_run {
    u8 *area;          /* 64-byte aligned */
    u64 mask;          /* EDX:EAX of both instructions */
    u32 ud_exits, xsaves_exits, xrstors_exits, length;
};

static void *xs_areas[LHV_MAX_CPUS];

static void xs_guest(void *arg)
{
    struct xs_run *r = arg;
    u32 lo = (u32)r->mask, hi = (u32)(r->mask >> 32);

    __asm__ volatile("xsaves (%0)" : : "D"(r->area), "a"(lo), "d"(hi) : "memory");
    __asm__ volatile("xrstors (%0)" : : "D"(r->area), "a"(lo), "d"(hi) : "memory");
}

static enum exit_action xs_hook(struct vcpu *v, u32 reason)
{
    struct xs_run *r = v->test_data;

    if (reason == EXIT_REASON_EXCEPTION_NMI &&
        (u32)vmr(VM_EXIT_INTR_INFO) == INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD)) {
        r->ud_exits++;
        vmw(GUEST_RIP, vmr(GUEST_RIP) + XS_LENGTH);
        return EXIT_RESUME;
    }
    if (reason == EXIT_REASON_XSAVES)
        r->xsaves_exits++;
    else if (reason == EXIT_REASON_XRSTORS)
        r->xrstors_exits++;
    else
        return EXIT_DEFAULT;
    r->length = (u32)vmr(VM_EXIT_INSTRUCTION_LEN);
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

/* One run with the control (or not), the bitmap and EDX:EAX */
static bool xs_run(struct cpu_outcome *o, struct xs_run *r, bool enabled, u64 bitmap, u64 mask)
{
    struct vcpu *v = test_guest(o);

    memset(r->area, 0, PAGE_SIZE);
    *r = (struct xs_run){.area = r->area, .mask = mask};
    if (!v)
        return false;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS);
    vmw(SECONDARY_VM_EXEC_CONTROL, enabled ? CPU2_ENABLE_XSAVES : 0);
    if (enabled)
        vmw(XSS_EXIT_BITMAP, bitmap);
    vmw(GUEST_CR4, vmr(GUEST_CR4) | CR4_OSXSAVE);
    vmw(GUEST_CR0, vmr(GUEST_CR0) & ~(u64)CR0_TS); /* else #NM (SDM 2, XSAVES) */
    vmw_or(EXCEPTION_BITMAP, 1u << VEC_UD);
    v->hook = xs_hook;
    v->test_data = r;
    return test_guest_run(o, v, xs_guest, r);
}

static void xs_cases(struct cpu_outcome *o, struct xs_run *r, u64 xss)
{
    /* enabled, no bitmap bit: both run; XSAVES wrote a compacted image */
    if (!xs_run(o, r, true, 0, XS_X87 | xss) ||
        !CHECK_EQ(o, r->ud_exits + r->xsaves_exits + r->xrstors_exits, 0) ||
        !CHECK(o, *(u64 *)(r->area + XS_XCOMP_BV) & XS_COMPACTED))
        return;
    /* every bitmap bit, but EDX:EAX and IA32_XSS share none: no exit */
    if (!xs_run(o, r, true, ~0ull, XS_X87) ||
        !CHECK_EQ(o, r->ud_exits + r->xsaves_exits + r->xrstors_exits, 0))
        return;
    /* the three share the component: both exit */
    if (xss && (!xs_run(o, r, true, xss, XS_X87 | xss) || !CHECK_EQ(o, r->xsaves_exits, 1) ||
                !CHECK_EQ(o, r->xrstors_exits, 1) || !CHECK_EQ(o, r->length, XS_LENGTH)))
        return;
    /* disabled (where it may be): #UD for each */
    if (!(vmx_caps.proc2.allowed0 & CPU2_ENABLE_XSAVES) && xs_run(o, r, false, 0, XS_X87) &&
        CHECK_EQ(o, r->ud_exits, 2))
        CHECK_EQ(o, r->xsaves_exits + r->xrstors_exits, 0);
}

static void check_xsaves(struct cpu_outcome *o, void *arg)
{
    struct cpuid_regs d1 = cpuid(0xd, 1);
    u64 supported = (u64)d1.edx << 32 | d1.ecx, xss = supported & -supported, saved;
    struct xs_run r;
    u32 i = this_cpu()->index;
    (void)arg;

    if (!(cpuid(1, 0).ecx & CPUID1_ECX_XSAVE) || !(d1.eax & CPUID0D1_EAX_XSAVES))
        return outcome_skip(o, "no XSAVES (CPUID.01H:ECX bit 26, CPUID.(EAX=0DH,ECX=1):EAX bit 3)");
    if (!require_control(o, CTL_PROC, CPU_ACTIVATE_SECONDARY_CONTROLS, "secondary controls") ||
        !require_control(o, CTL_PROC2, CPU2_ENABLE_XSAVES, "enable XSAVES/XRSTORS"))
        return;
    if (!xs_areas[i])
        xs_areas[i] = alloc_pages(1);
    r.area = xs_areas[i];
    saved = rdmsr(MSR_IA32_XSS);
    wrmsr(MSR_IA32_XSS, xss);
    xs_cases(o, &r, xss);
    wrmsr(MSR_IA32_XSS, saved);
}
VMX_TEST_ALL_CPUS("vmx/xsaves-enable", check_xsaves);
