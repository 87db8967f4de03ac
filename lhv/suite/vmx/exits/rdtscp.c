/* "Enable RDTSCP" (SDM 3C 25.6.2, secondary processor-based control bit 3;
 * 26.3 and the RDTSCP entry of SDM 2: with the control 0, RDTSCP in VMX
 * non-root operation raises #UD). With it 1 the guest runs RDTSCP itself
 * and reads IA32_TSC_AUX in ECX; with "RDTSC exiting" as well, RDTSCP exits
 * with reason 51 and its length (26.1.3). The #UD is made to exit through
 * the exception bitmap (reason 0, a hardware exception, vector 6). */
#include "cpu.h"
#include "desc.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

#define TP_AUX 0x7a5c0001u     /* IA32_TSC_AUX while the test runs */
#define TP_ANSWER 0x7a5c0002u  /* ECX the host answers an RDTSCP exit with */
#define TP_LENGTH 3            /* 0F 01 F9 */
#define TP_RDPID_LENGTH 4      /* F3 0F C7 F8: RDPID EAX (RAX in 64-bit mode) */

enum tp_mode { TP_DISABLED, TP_ENABLED, TP_EXITING };

struct tp_run {
    enum tp_mode mode;
    bool rdpid;            /* the CPU has RDPID: the guest runs it too */
    volatile u32 at;       /* the guest's instruction: 0 RDTSCP, 1 RDPID */
    u32 ud_exits, rdtscp_exits, length, aux, pid;
};

static void tp_guest(void *arg)
{
    struct tp_run *r = arg;
    u32 a, d, c = 0;
    unsigned long p = 0;

    __asm__ volatile("rdtscp" : "=a"(a), "=d"(d), "+c"(c));
    r->aux = c;
    if (!r->rdpid)
        return;
    r->at = 1;
    __asm__ volatile(".byte 0xf3, 0x0f, 0xc7, 0xf8" : "+a"(p)); /* RDPID */
    r->pid = (u32)p;
}

static enum exit_action tp_hook(struct vcpu *v, u32 reason)
{
    struct tp_run *r = v->test_data;

    if (reason == EXIT_REASON_EXCEPTION_NMI &&
        (u32)vmr(VM_EXIT_INTR_INFO) == INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD)) {
        r->ud_exits++;
        /* past the instruction that faulted */
        vmw(GUEST_RIP, vmr(GUEST_RIP) + (r->at ? TP_RDPID_LENGTH : TP_LENGTH));
        return EXIT_RESUME;
    }
    if (reason != EXIT_REASON_RDTSCP)
        return EXIT_DEFAULT;
    r->rdtscp_exits++;
    r->length = (u32)vmr(VM_EXIT_INSTRUCTION_LEN);
    REG_AX(v) = REG_DX(v) = 0;
    REG_CX(v) = TP_ANSWER;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static bool tp_run(struct cpu_outcome *o, struct tp_run *r, enum tp_mode mode)
{
    struct vcpu *v = test_guest(o);
    u64 proc2;

    if (!v)
        return false;
    *r = (struct tp_run){.mode = mode,
                         .rdpid = cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ecx & CPUID7_ECX_RDPID)};
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS);
    proc2 = vmr(SECONDARY_VM_EXEC_CONTROL) & ~(u64)CPU2_ENABLE_RDTSCP;
    vmw(SECONDARY_VM_EXEC_CONTROL, mode == TP_DISABLED ? proc2 : proc2 | CPU2_ENABLE_RDTSCP);
    if (mode == TP_EXITING)
        vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_RDTSC_EXITING);
    vmw_or(EXCEPTION_BITMAP, 1u << VEC_UD);
    v->hook = tp_hook;
    v->test_data = r;
    return test_guest_run(o, v, tp_guest, r);
}

/* Enabled: no exit, the guest reads IA32_TSC_AUX (RDTSCP and RDPID);
 * exiting: one exit 51 for RDTSCP, none for RDPID; disabled (where the
 * control may be 0): #UD from both. Stops at the first failure. */
static void tp_modes(struct cpu_outcome *o, struct tp_run *r)
{
    if (!tp_run(o, r, TP_ENABLED) || !CHECK_EQ(o, r->ud_exits + r->rdtscp_exits, 0) ||
        !CHECK_EQ(o, r->aux, TP_AUX) || !CHECK_EQ(o, r->pid, r->rdpid ? TP_AUX : 0))
        return;
    if (!tp_run(o, r, TP_EXITING) || !CHECK_EQ(o, r->rdtscp_exits, 1) ||
        !CHECK_EQ(o, r->length, TP_LENGTH) || !CHECK_EQ(o, r->aux, TP_ANSWER) ||
        !CHECK_EQ(o, r->pid, r->rdpid ? TP_AUX : 0))
        return;
    if (vmx_caps.proc2.allowed0 & CPU2_ENABLE_RDTSCP || !tp_run(o, r, TP_DISABLED))
        return;
    if (CHECK_EQ(o, r->ud_exits, r->rdpid ? 2 : 1) && CHECK_EQ(o, r->pid, 0))
        CHECK_EQ(o, r->rdtscp_exits, 0);
}

static void check_rdtscp(struct cpu_outcome *o, void *arg)
{
    struct tp_run r;
    u64 aux = 0;
    (void)arg;

    if (!(cpuid(0x80000001u, 0).edx & CPUID80000001_EDX_RDTSCP))
        return outcome_skip(o, "no RDTSCP (CPUID.80000001H:EDX bit 27)");
    if (!require_control(o, CTL_PROC, CPU_ACTIVATE_SECONDARY_CONTROLS | CPU_RDTSC_EXITING,
                         "activate secondary controls, RDTSC exiting") ||
        !require_control(o, CTL_PROC2, CPU2_ENABLE_RDTSCP, "enable RDTSCP"))
        return;
    aux = rdmsr(MSR_IA32_TSC_AUX);
    wrmsr(MSR_IA32_TSC_AUX, TP_AUX);
    tp_modes(o, &r);
    wrmsr(MSR_IA32_TSC_AUX, aux);
}
VMX_TEST_ALL_CPUS("vmx/rdtscp-enable", check_rdtscp);
