/* "Enable INVPCID" (SDM 3C 25.6.2 secondary processor-based control bit
 * 12; 26.1.3, 26.3 and INVPCID in SDM 2): with it 1 the guest runs INVPCID
 * itself; with "INVLPG exiting" (primary bit 9) as well, INVPCID exits
 * with reason 58, its length and the instruction information naming the
 * register that holds the type (bits 31:28, 28.2.5); with it 0, INVPCID
 * raises #UD, caught by the exception bitmap (reason 0, hardware
 * exception, vector 6). The instruction is INVPCID (%eAX), %eCX: 66 0F 38
 * 82 08, five bytes on both subarchs; type 2 (every context, globals
 * included) is valid whatever CR4.PCIDE. */
#include "cpu.h"
#include "desc.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

#define IP_LENGTH 5
#define IP_TYPE 2

enum ip_mode { IP_DISABLED, IP_ENABLED, IP_EXITING };

struct ip_run {
    u32 ud_exits, exits, length, info;
    bool done; /* the guest went on after the instruction */
};

static void ip_guest(void *arg)
{
    struct ip_run *r = arg;
    static const u64 descriptor[2] __attribute__((aligned(16)));
    unsigned long type = IP_TYPE;

    __asm__ volatile("invpcid (%0), %1" : : "a"(descriptor), "c"(type) : "memory");
    r->done = true;
}

static enum exit_action ip_hook(struct vcpu *v, u32 reason)
{
    struct ip_run *r = v->test_data;

    if (reason == EXIT_REASON_EXCEPTION_NMI &&
        (u32)vmr(VM_EXIT_INTR_INFO) == INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD)) {
        r->ud_exits++;
        vmw(GUEST_RIP, vmr(GUEST_RIP) + IP_LENGTH); /* past the INVPCID that faulted */
        return EXIT_RESUME;
    }
    if (reason != EXIT_REASON_INVPCID)
        return EXIT_DEFAULT;
    r->exits++;
    r->length = (u32)vmr(VM_EXIT_INSTRUCTION_LEN);
    r->info = (u32)vmr(VMX_INSTRUCTION_INFO);
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static bool ip_run(struct cpu_outcome *o, struct ip_run *r, enum ip_mode mode)
{
    struct vcpu *v = test_guest(o);

    *r = (struct ip_run){0};
    if (!v)
        return false;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS |
                                          (mode == IP_EXITING ? CPU_INVLPG_EXITING : 0));
    vmw(SECONDARY_VM_EXEC_CONTROL, mode == IP_DISABLED ? 0 : CPU2_ENABLE_INVPCID);
    vmw_or(EXCEPTION_BITMAP, 1u << VEC_UD);
    v->hook = ip_hook;
    v->test_data = r;
    return test_guest_run(o, v, ip_guest, r) && CHECK(o, r->done);
}

static void check_invpcid(struct cpu_outcome *o, void *arg)
{
    struct ip_run r;
    (void)arg;

    if (!(cpuid(7, 0).ebx & CPUID7_EBX_INVPCID))
        return outcome_skip(o, "no INVPCID (CPUID.(EAX=07H,ECX=0):EBX bit 10)");
    if (!require_control(o, CTL_PROC, CPU_ACTIVATE_SECONDARY_CONTROLS | CPU_INVLPG_EXITING,
                         "activate secondary controls, INVLPG exiting") ||
        !require_control(o, CTL_PROC2, CPU2_ENABLE_INVPCID, "enable INVPCID"))
        return;
    if (!ip_run(o, &r, IP_ENABLED) || !CHECK_EQ(o, r.ud_exits + r.exits, 0))
        return;
    if (!ip_run(o, &r, IP_EXITING) || !CHECK_EQ(o, r.exits, 1) ||
        !CHECK_EQ(o, r.length, IP_LENGTH) || !CHECK_EQ(o, r.info >> 28, GPR_CX))
        return;
    if (ip_run(o, &r, IP_DISABLED) && CHECK_EQ(o, r.ud_exits, 1))
        CHECK_EQ(o, r.exits, 0);
}
VMX_TEST_ALL_CPUS("vmx/invpcid-enable", check_invpcid);
