/* CR8-load exiting and CR8-store exiting (SDM 3C 25.6.2 primary
 * processor-based controls 19 and 20; 26.1.3): MOV to CR8 and MOV from
 * CR8 exit with reason 28, the exit qualification naming CR8, the
 * direction and the register (28.2.1 Table 28-3), whether or not "use TPR
 * shadow" is 1; with the TPR shadow and only store exiting, the write
 * lands in VTPR without an exit and the read still exits. CR8 exists only
 * in 64-bit mode (SDM 3A 2.5): the i386 guest SKIPs. */
#include "cpu.h"
#include "lapic.h"
#include "vapic.h"
#include "vmx/vmx.h"
#include "x86.h"

#define C8_WRITTEN 5    /* what the guest writes to CR8 */
#define C8_ANSWER 0xc   /* what the host answers a MOV from CR8 with */

struct c8_run {
    u32 read;                  /* what the guest's MOV from CR8 gave */
    u32 loads, stores;         /* exits of each kind */
    u32 load_qual, store_qual;
    u32 load_value;            /* RAX at the load exit */
};

#ifdef __x86_64__
static void c8_guest(void *arg)
{
    struct c8_run *r = arg;
    unsigned long v = C8_WRITTEN;

    __asm__ volatile("mov %0, %%cr8" : : "a"(v) : "memory");
    __asm__ volatile("mov %%cr8, %0" : "=a"(v));
    r->read = (u32)v;
}
#endif

static enum exit_action c8_hook(struct vcpu *v, u32 reason)
{
    struct c8_run *r = v->test_data;
    u32 q = (u32)v->exit_qual;

    if (reason != EXIT_REASON_CR_ACCESS || (q & 0xf) != 8)
        return EXIT_DEFAULT;
    if (q & MOV_QUAL_FROM) {
        r->stores++;
        r->store_qual = q;
        REG_AX(v) = C8_ANSWER;
    } else {
        r->loads++;
        r->load_qual = q;
        r->load_value = (u32)REG_AX(v);
    }
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

/* One run with the given exiting controls, the TPR shadow (VTPR 0x20) or
 * not; false after outcome_fail */
static bool c8_run(struct cpu_outcome *o, struct c8_run *r, u32 exiting, bool shadow)
{
    struct vcpu *v = shadow ? vapic_guest(o, 0) : test_guest(o);
    u32 real = lapic_read(LAPIC_REG_TPR);

    *r = (struct c8_run){0};
    if (!v)
        return false;
    if (shadow)
        *vapic_reg(vapic_page(), LAPIC_REG_TPR) = 0x20;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, exiting);
    v->hook = c8_hook;
    v->test_data = r;
#ifdef __x86_64__
    bool ok = test_guest_run(o, v, c8_guest, r);
#else
    bool ok = false;
#endif
    if (lapic_read(LAPIC_REG_TPR) != real) {
        lapic_write(LAPIC_REG_TPR, real);
        return outcome_fail(o, "the guest changed the real TPR (0x%x before)", real), false;
    }
    return ok;
}

static bool c8_both_exit(struct cpu_outcome *o, struct c8_run *r)
{
    return CHECK_EQ(o, r->loads, 1) && CHECK_EQ(o, r->stores, 1) &&
           CHECK_EQ(o, r->load_qual, MOV_QUAL(8, 0, GPR_AX)) &&
           CHECK_EQ(o, r->store_qual, MOV_QUAL(8, MOV_QUAL_FROM, GPR_AX)) &&
           CHECK_EQ(o, r->load_value, C8_WRITTEN) && CHECK_EQ(o, r->read, C8_ANSWER);
}

static void check_cr8_exiting(struct cpu_outcome *o, void *arg)
{
    const u32 both = CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING;
    struct c8_run r;
    (void)arg;

#ifndef __x86_64__
    return outcome_skip(o, "the i386 guest is 32-bit: CR8 exists only in 64-bit mode");
#endif
    if (!require_control(o, CTL_PROC, both | CPU_USE_TPR_SHADOW,
                         "CR8-load/-store exiting, use TPR shadow") ||
        !require_control_clear(o, CTL_PROC, CPU_CR8_LOAD_EXITING, "CR8-load exiting"))
        return;
    if (!c8_run(o, &r, both, false) || !c8_both_exit(o, &r))
        return;
    if (!c8_run(o, &r, both, true) || !c8_both_exit(o, &r) ||
        !CHECK_EQ(o, *vapic_reg(vapic_page(), LAPIC_REG_TPR), 0x20))
        return;
    if (c8_run(o, &r, CPU_CR8_STORE_EXITING, true) && CHECK_EQ(o, r.loads, 0) &&
        CHECK_EQ(o, r.stores, 1) && CHECK_EQ(o, r.read, C8_ANSWER))
        CHECK_EQ(o, *vapic_reg(vapic_page(), LAPIC_REG_TPR), C8_WRITTEN << 4);
}
VMX_TEST_ALL_CPUS("vmx/cr8-load-store-exiting", check_cr8_exiting);
