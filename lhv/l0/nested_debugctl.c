/* IA32_DEBUGCTL for L1 and L2 where the CPU under the L0 has none (Bochs:
 * RDMSR and WRMSR of 0x1d9 raise #GP, docs/l0-deviations.md), emulated as
 * values, one for L1 and one for L2 per CPU: their RDMSR and WRMSR (L2's
 * when L1's MSR bitmap leaves them to the L0; bits other than LBR and BTF
 * #GP, as the entry model has them), VM entry's "load debug controls"
 * (SDM 3C 27.3.2.1: else L2 keeps L1's value), VM exit's "save debug
 * controls" (28.3.1) and the clearing at every VM exit to L1 (28.5.1). On
 * a CPU with the MSR nothing is emulated: L1 and L2 use the CPU's.
 *
 * Part of nested.c's translation unit (its inject and next_insn). */
#include "l0/nested.h"

#ifdef __x86_64__
#include "catch.h"
#include "x86.h"

static bool dc_emulated;
static u64 dc1[LHV_MAX_CPUS], dc2[LHV_MAX_CPUS]; /* L1's, L2's */

static void read_debugctl(void *arg) { *(u64 *)arg = rdmsr(MSR_IA32_DEBUGCTL); }

void l0_debugctl_setup(u8 *msr_bitmap)
{
    struct caught c;
    u64 x;
    dc_emulated = catch_exception(read_debugctl, &x, &c) != NO_EXCEPTION;
    if (dc_emulated) {
        msr_bitmap[MSR_IA32_DEBUGCTL / 8] |= (u8)(1u << (MSR_IA32_DEBUGCTL % 8));
        msr_bitmap[2048 + MSR_IA32_DEBUGCTL / 8] |= (u8)(1u << (MSR_IA32_DEBUGCTL % 8));
    }
}

bool l0_debugctl_msr(struct l0_vcpu *v, bool write)
{
    if (!dc_emulated || (u32)v->regs.rcx != MSR_IA32_DEBUGCTL)
        return false;
    u64 *dc = l0_nested_in_l2(v) ? &dc2[v->cpu] : &dc1[v->cpu];
    if (write) {
        u64 value = (u32)v->regs.rax | (v->regs.rdx << 32);
        if (value & ~L0_DEBUGCTL_VALID) {
            inject(v, VEC_GP);
            return true;
        }
        *dc = value;
    } else {
        v->regs.rax = (u32)*dc;
        v->regs.rdx = *dc >> 32;
    }
    next_insn();
    return true;
}

void l0_debugctl_entry(struct l0_vcpu *v, u8 *img)
{
    if (dc_emulated)
        dc2[v->cpu] = (l0_v12(img, VM_ENTRY_CONTROLS) & ENTRY_LOAD_DEBUG_CONTROLS)
                          ? l0_v12(img, GUEST_IA32_DEBUGCTL)
                          : dc1[v->cpu];
}

void l0_debugctl_exit(struct l0_vcpu *v, u8 *img)
{
    if (!dc_emulated)
        return;
    if (l0_v12(img, VM_EXIT_CONTROLS) & EXIT_SAVE_DEBUG_CONTROLS)
        l0_v12_set(img, GUEST_IA32_DEBUGCTL, dc2[v->cpu]);
    dc1[v->cpu] = 0;
}
#endif
