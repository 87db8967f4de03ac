/* Instructions a secondary processor-based control enables (SDM 3C 25.6.2,
 * 26.3, and each instruction's entry in SDM 2: with the control 0 the
 * instruction raises #UD in VMX non-root operation). With it 1 the guest
 * runs the instruction itself, without an exit; with a primary control as
 * well it exits with its own reason and length (26.1.3). The #UD is made
 * to exit through the exception bitmap (reason 0, a hardware exception,
 * vector 6).
 * - RDTSCP: "enable RDTSCP" (bit 3); exits with "RDTSC exiting" (primary
 *   bit 12) as reason 51; the guest reads IA32_TSC_AUX in ECX.
 * - INVPCID: "enable INVPCID" (bit 12); exits with "INVLPG exiting"
 *   (primary bit 9) as reason 58, the instruction information naming the
 *   register that holds the type (bits 31:28). */
#include "cpu.h"
#include "desc.h"
#include "vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

#define EI_AUX 0x7a5c0001u    /* IA32_TSC_AUX while the RDTSCP test runs */
#define EI_ANSWER 0x7a5c0002u /* ECX the host answers an RDTSCP exit with */
#define EI_ECX 1              /* register number of ECX (INVPCID's type register) */

enum ei_mode { EI_DISABLED, EI_ENABLED, EI_EXITING };

struct ei_insn {
    const char *name;
    u32 enable;          /* the secondary control that enables it */
    u32 exiting;         /* the primary control that makes it exit */
    u32 reason, length;  /* its exit and instruction length */
    void (*guest)(void *arg);
};

struct ei_run {
    const struct ei_insn *insn;
    u32 ud_exits, exits, length, info, ecx;
};

static void ei_rdtscp(void *arg)
{
    struct ei_run *r = arg;
    u32 a, d, c = 0;

    __asm__ volatile("rdtscp" : "=a"(a), "=d"(d), "+c"(c)); /* 0F 01 F9 */
    r->ecx = c;
}

/* INVPCID type 2 (every context, globals included) from a zero descriptor:
 * valid whatever CR4.PCIDE (SDM 2, INVPCID) */
static void ei_invpcid(void *arg)
{
    struct ei_run *r = arg;
    static const u64 descriptor[2] __attribute__((aligned(16)));
    unsigned long type = 2;

    __asm__ volatile("invpcid %0, %1" : : "m"(descriptor), "c"(type) : "memory");
    r->ecx = (u32)type;
}

static const struct ei_insn ei_rdtscp_insn = {"RDTSCP", CPU2_ENABLE_RDTSCP, CPU_RDTSC_EXITING,
                                              EXIT_REASON_RDTSCP, 3, ei_rdtscp};
/* 66 0F 38 82 /r, ModRM with a disp32 or a SIB byte as the compiler picks */
static const struct ei_insn ei_invpcid_insn = {"INVPCID", CPU2_ENABLE_INVPCID, CPU_INVLPG_EXITING,
                                               EXIT_REASON_INVPCID, 0, ei_invpcid};

static enum exit_action ei_hook(struct vcpu *v, u32 reason)
{
    struct ei_run *r = v->test_data;

    if (reason == EXIT_REASON_EXCEPTION_NMI &&
        (u32)vmr(VM_EXIT_INTR_INFO) == INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD)) {
        r->ud_exits++;
        return vcpu_finish(v); /* the guest faulted where it was to run: done */
    }
    if (reason != r->insn->reason)
        return EXIT_DEFAULT;
    r->exits++;
    r->length = (u32)vmr(VM_EXIT_INSTRUCTION_LEN);
    r->info = (u32)vmr(VMX_INSTRUCTION_INFO);
    if (reason == EXIT_REASON_RDTSCP) {
        REG_AX(v) = REG_DX(v) = 0;
        REG_CX(v) = EI_ANSWER;
    }
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static bool ei_run(struct cpu_outcome *o, struct ei_run *r, const struct ei_insn *insn,
                   enum ei_mode mode)
{
    struct vcpu *v = test_guest(o);
    u64 proc2;

    if (!v)
        return false;
    *r = (struct ei_run){.insn = insn};
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS);
    proc2 = vmr(SECONDARY_VM_EXEC_CONTROL) & ~(u64)insn->enable;
    vmw(SECONDARY_VM_EXEC_CONTROL, mode == EI_DISABLED ? proc2 : proc2 | insn->enable);
    if (mode == EI_EXITING)
        vmw_or(CPU_BASED_VM_EXEC_CONTROL, insn->exiting);
    vmw_or(EXCEPTION_BITMAP, 1u << VEC_UD);
    v->hook = ei_hook;
    v->test_data = r;
    return test_guest_run(o, v, insn->guest, r);
}

/* Enabled: no exit; exiting: one exit with its reason (and length where
 * fixed); disabled (where the control may be 0): #UD. Stops at the first
 * failure. */
static bool ei_modes(struct cpu_outcome *o, const struct ei_insn *insn, struct ei_run *r)
{
    if (!require_control(o, CTL_PROC, CPU_ACTIVATE_SECONDARY_CONTROLS | insn->exiting,
                         "activate secondary controls and the exiting control") ||
        !require_control(o, CTL_PROC2, insn->enable, insn->name))
        return false;
    if (!ei_run(o, r, insn, EI_ENABLED) || !CHECK_EQ(o, r->ud_exits + r->exits, 0))
        return false;
    u32 enabled_ecx = r->ecx;
    if (!ei_run(o, r, insn, EI_EXITING) || !CHECK_EQ(o, r->exits, 1) ||
        (insn->length && !CHECK_EQ(o, r->length, insn->length)) ||
        (insn->reason == EXIT_REASON_RDTSCP && !CHECK_EQ(o, r->ecx, EI_ANSWER)))
        return false;
    struct ei_run exited = *r;
    if (!(vmx_caps.proc2.allowed0 & insn->enable) &&
        (!ei_run(o, r, insn, EI_DISABLED) || !CHECK_EQ(o, r->ud_exits, 1) ||
         !CHECK_EQ(o, r->exits, 0)))
        return false;
    *r = exited;
    r->ecx = enabled_ecx; /* what the guest read when it ran the instruction itself */
    return true;
}

static void check_rdtscp(struct cpu_outcome *o, void *arg)
{
    struct ei_run r;
    u64 aux;
    (void)arg;

    if (!(cpuid(0x80000001u, 0).edx & CPUID80000001_EDX_RDTSCP))
        return outcome_skip(o, "no RDTSCP (CPUID.80000001H:EDX bit 27)");
    aux = rdmsr(MSR_IA32_TSC_AUX);
    wrmsr(MSR_IA32_TSC_AUX, EI_AUX);
    if (ei_modes(o, &ei_rdtscp_insn, &r))
        CHECK_EQ(o, r.ecx, EI_AUX);
    wrmsr(MSR_IA32_TSC_AUX, aux);
}
VMX_TEST_ALL_CPUS("vmx/rdtscp-enable", check_rdtscp);

static void check_invpcid(struct cpu_outcome *o, void *arg)
{
    struct ei_run r;
    (void)arg;

    if (!(cpuid(7, 0).ebx & CPUID7_EBX_INVPCID))
        return outcome_skip(o, "no INVPCID (CPUID.(EAX=07H,ECX=0):EBX bit 10)");
    if (ei_modes(o, &ei_invpcid_insn, &r))
        CHECK_EQ(o, (r.info >> 28) & 0xf, EI_ECX); /* the type's register: ECX */
}
VMX_TEST_ALL_CPUS("vmx/invpcid-enable", check_invpcid);
