/* Debug-register access exits (MOV-DR exiting), on every CPU. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

/* vmx/mov-dr-exiting: with MOV-DR exiting (processor-based bit 23) every
 * MOV to or from a debug register exits with reason 29 (SDM 3C 26.1.3);
 * the qualification holds the DR number (bits 2:0), the direction (bit 4:
 * 0 = to DR, 1 = from DR) and the register (bits 11:8) (28.2.1 table
 * 28-4). The guest writes DR1 from RDX and reads DR3 into RCX; the host
 * drops the write and answers the read. */

#define DR_WRITTEN 0x7000d1ul
#define DR_ANSWER 0x7000d3ul

struct dr_data {
    unsigned long read;
    u32 exits;
};

static void guest_dr(void *arg)
{
    struct dr_data *d = arg;
    unsigned long r;
    __asm__ volatile("mov %0, %%dr1" : : "d"(DR_WRITTEN));
    __asm__ volatile("mov %%dr3, %0" : "=c"(r));
    d->read = r;
}

static enum exit_action dr_hook(struct vcpu *v, u32 reason)
{
    struct dr_data *d = v->test_data;
    if (reason != EXIT_REASON_DR_ACCESS)
        return EXIT_DEFAULT;
    if (d->exits == 0 && (v->exit_qual != MOV_QUAL(1, 0, GPR_DX) ||
                          (unsigned long)REG_DX(v) != DR_WRITTEN))
        return vcpu_fail(v, "MOV to DR1: qualification 0x%llx, RDX 0x%llx, expected 0x201",
                         v->exit_qual, (u64)REG_DX(v));
    if (d->exits == 1 && v->exit_qual != MOV_QUAL(3, MOV_QUAL_FROM, GPR_CX))
        return vcpu_fail(v, "MOV from DR3: qualification 0x%llx, expected 0x%llx", v->exit_qual,
                         (u64)MOV_QUAL(3, MOV_QUAL_FROM, GPR_CX));
    if (d->exits == 1)
        REG_CX(v) = DR_ANSWER;
    d->exits++;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void check_mov_dr(struct cpu_outcome *o, void *arg)
{
    struct dr_data d = {0, 0};
    struct vcpu *v;
    (void)arg;

    if (!(v = test_guest_with_control(o, CTL_PROC, CPU_MOV_DR_EXITING, "MOV-DR exiting",
                                      dr_hook, &d)))
        return;
    if (!test_guest_run(o, v, guest_dr, &d))
        return;
    if (d.exits != 2 || d.read != DR_ANSWER)
        outcome_fail(o, "%u MOV-DR exits, the guest read DR3 as 0x%lx; expected 2 and 0x%lx",
                     d.exits, d.read, DR_ANSWER);
}

VMX_TEST_ALL_CPUS("vmx/mov-dr-exiting", check_mov_dr);
