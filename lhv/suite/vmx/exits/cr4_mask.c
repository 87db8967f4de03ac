/* vmx/cr4-guest-host-mask: MOV to CR4 under the CR4 guest/host mask (SDM
 * 3C 25.6.6, 26.1.3, 26.3, 28.2.1 table 28-3). With CR4.TSD masked and
 * set in the read shadow while the real TSD is 0: the guest reads TSD 1;
 * writing its CR4 back with TSD 1 (as the shadow) does not exit and leaves
 * the real TSD 0; writing TSD 0 (unlike the shadow) exits with reason 28,
 * qualification CR 4, MOV to CR, register EDX/RDX (0x204), the host
 * updates the shadow and the guest then reads TSD 0. */
#include "cpu.h"
#include "suite/vmx_test.h"
#include "x86.h"

#define CM_QUAL_MOV_TO_CR4_DX 0x204ull

struct cm_run {
    unsigned long reads[3]; /* the guest's CR4.TSD: first, after its write as the shadow, last */
    u64 qual;
    u32 exits;
    u64 real_after_same; /* GUEST_CR4 at the exit, before the host emulated anything */
};

static enum exit_action cm_hook(struct vcpu *v, u32 reason)
{
    struct cm_run *r = v->test_data;

    if (reason != EXIT_REASON_CR_ACCESS)
        return EXIT_DEFAULT;
    r->exits++;
    r->qual = v->exit_qual;
    r->real_after_same = vmr(GUEST_CR4);
    /* The host's emulation: TSD to the shadow, the real one stays 0 */
    u64 shadow = vmr(CR4_READ_SHADOW) & ~(u64)CR4_TSD;
    vmw(CR4_READ_SHADOW, shadow | ((u64)REG_DX(v) & CR4_TSD));
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void cm_guest(void *arg)
{
    struct cm_run *r = arg;
    unsigned long cr4 = read_cr4();

    r->reads[0] = cr4 & CR4_TSD;
    __asm__ volatile("mov %0, %%cr4" : : "d"(cr4) : "memory");
    r->reads[1] = read_cr4() & CR4_TSD;
    __asm__ volatile("mov %0, %%cr4" : : "d"(cr4 & ~(unsigned long)CR4_TSD) : "memory");
    r->reads[2] = read_cr4() & CR4_TSD;
}

static void check_cr4_mask(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    struct cm_run r = {{0, 0, 0}, 0, 0, 0};
    (void)arg;

    if (!v)
        return;
    vmw(GUEST_CR4, vmr(GUEST_CR4) & ~(u64)CR4_TSD);
    vmw(CR4_GUEST_HOST_MASK, CR4_VMXE | CR4_TSD);
    vmw(CR4_READ_SHADOW, (read_cr4() & ~(unsigned long)CR4_VMXE) | CR4_TSD);
    v->hook = cm_hook;
    v->test_data = &r;
    if (!test_guest_run(o, v, cm_guest, &r) || !CHECK_EQ(o, r.reads[0], CR4_TSD) ||
        !CHECK_EQ(o, r.reads[1], CR4_TSD) || !CHECK_EQ(o, r.exits, 1) ||
        !CHECK_EQ(o, r.qual, CM_QUAL_MOV_TO_CR4_DX) ||
        !CHECK_EQ(o, r.real_after_same & CR4_TSD, 0) || !CHECK_EQ(o, r.reads[2], 0))
        return;
    CHECK_EQ(o, vmr(GUEST_CR4) & CR4_TSD, 0);
}
VMX_TEST_ALL_CPUS("vmx/cr4-guest-host-mask", check_cr4_mask);
