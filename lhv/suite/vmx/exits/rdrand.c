/* RDRAND and RDSEED exiting (SDM 3C 25.6.2, secondary processor-based
 * controls bits 11 and 16; 26.1.3; exit reasons 57 and 61). With the control
 * set the instruction exits with its length and the VM-exit
 * instruction-information field naming the destination register (bits 6:3)
 * and the operand size (bits 12:11: 1 for 32 bits) (SDM 3C 28.2.5); the
 * host answers for it (the register and RFLAGS.CF=1, the other status flags
 * clear, as a successful RDRAND leaves them). With the control clear the
 * guest runs the instruction itself, without an exit. */
#include "cpu.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

#define RR_ANSWER 0x5eed1234u
#define RR_ECX 1       /* register number of ECX in instruction information */
#define RR_32BIT 1     /* operand size 32 bits in bits 12:11 */
#define RR_LENGTH 3    /* 0F C7 /6 (RDRAND) or /7 (RDSEED) with ModRM, no prefix */

struct rr_run {
    bool seed;           /* RDSEED, else RDRAND */
    u32 want;            /* the exit reason it must give */
    u32 exits, info, length;
    u32 value;           /* what the guest's ECX held after the instruction */
    u8 carry;            /* and its CF */
};

static void rr_guest(void *arg)
{
    struct rr_run *r = arg;
    u32 value;
    u8 carry;

    if (r->seed)
        __asm__ volatile("rdseed %%ecx; setc %1" : "=c"(value), "=qm"(carry) : : "cc");
    else
        __asm__ volatile("rdrand %%ecx; setc %1" : "=c"(value), "=qm"(carry) : : "cc");
    r->value = value;
    r->carry = carry;
}

static enum exit_action rr_hook(struct vcpu *v, u32 reason)
{
    struct rr_run *r = v->test_data;

    if (reason != r->want)
        return EXIT_DEFAULT;
    r->exits++;
    r->info = (u32)vmr(VMX_INSTRUCTION_INFO);
    r->length = (u32)vmr(VM_EXIT_INSTRUCTION_LEN);
    REG_CX(v) = RR_ANSWER;
    vmw(GUEST_RFLAGS, (vmr(GUEST_RFLAGS) & ~(u64)EFLAGS_STATUS) | EFLAGS_CF);
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

/* One run of the guest with the control set (exiting) or clear */
static bool rr_run(struct cpu_outcome *o, struct rr_run *r, u32 control, bool exiting)
{
    struct vcpu *v = test_guest(o);

    if (!v)
        return false;
    r->exits = 0;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS);
    if (exiting)
        vmw_or(SECONDARY_VM_EXEC_CONTROL, control);
    else
        vmw(SECONDARY_VM_EXEC_CONTROL, vmr(SECONDARY_VM_EXEC_CONTROL) & ~(u64)control);
    v->hook = rr_hook;
    v->test_data = r;
    return test_guest_run(o, v, rr_guest, r);
}

static void rr_check(struct cpu_outcome *o, bool seed)
{
    struct rr_run r = {.seed = seed, .want = seed ? EXIT_REASON_RDSEED : EXIT_REASON_RDRAND};
    u32 control = seed ? CPU2_RDSEED_EXITING : CPU2_RDRAND_EXITING;
    const char *what = seed ? "RDSEED exiting" : "RDRAND exiting";
    bool has = seed ? cpuid(7, 0).ebx & CPUID7_EBX_RDSEED : cpuid(1, 0).ecx & CPUID1_ECX_RDRAND;

    if (!has)
        return outcome_skip(o, seed ? "no RDSEED (CPUID.(EAX=07H,ECX=0):EBX bit 18)"
                                    : "no RDRAND (CPUID.01H:ECX bit 30)");
    if (!require_control(o, CTL_PROC, CPU_ACTIVATE_SECONDARY_CONTROLS, "activate secondary "
                         "controls") || !require_control(o, CTL_PROC2, control, what))
        return;
    if (!rr_run(o, &r, control, true))
        return;
    if (!CHECK_EQ(o, r.exits, 1) || !CHECK_EQ(o, r.length, RR_LENGTH) ||
        !CHECK_EQ(o, (r.info >> 3) & 0xf, RR_ECX) || !CHECK_EQ(o, (r.info >> 11) & 3, RR_32BIT) ||
        !CHECK_EQ(o, r.value, RR_ANSWER) || !CHECK_EQ(o, r.carry, 1))
        return;
    if (!(vmx_caps.proc2.allowed0 & control) && rr_run(o, &r, control, false))
        CHECK_EQ(o, r.exits, 0); /* the guest's own instruction, no exit */
}

static void check_rdrand_exiting(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    rr_check(o, false);
}
VMX_TEST_ALL_CPUS("vmx/rdrand-exiting", check_rdrand_exiting);

static void check_rdseed_exiting(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    rr_check(o, true);
}
VMX_TEST_ALL_CPUS("vmx/rdseed-exiting", check_rdseed_exiting);
