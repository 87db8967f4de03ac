/* The instructions that exit under a control (or always): each exits
 * with its reason and instruction length. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

/* vmx/instruction-exits: each instruction whose exit control this CPU
 * allows exits with its reason (SDM 3C 26.1.2-26.1.3, appendix C): INVLPG
 * (bit 9, reason 14, qualification = the linear address, 28.2.1), RDPMC
 * (bit 11, 15), PAUSE (bit 30, 40), WBINVD (secondary bit 6, 54), MONITOR
 * (bit 29, 39) and MWAIT (bit 10, 36) when CPUID.01H:ECX.MONITOR, XSETBV
 * (always exits, 55) when CPUID.01H:ECX.XSAVE (the guest gets CR4.OSXSAVE),
 * and descriptor-table exiting (secondary bit 2): SGDT reason 46, SLDT and
 * STR reason 47 with the instruction identity in VM-exit instruction
 * information bits 29:28 (28.2.5). The host skips each instruction. */

enum ie_op { IE_INVLPG, IE_RDPMC, IE_PAUSE, IE_WBINVD, IE_MONITOR, IE_MWAIT, IE_XSETBV,
             IE_SGDT, IE_SLDT, IE_STR, IE_OPS };

static const struct {
    const char *name;
    u32 reason;
    int identity; /* instruction information bits 29:28, or -1 */
} ie_ops[IE_OPS] = {
    [IE_INVLPG] = {"INVLPG", EXIT_REASON_INVLPG, -1},
    [IE_RDPMC] = {"RDPMC", EXIT_REASON_RDPMC, -1},
    [IE_PAUSE] = {"PAUSE", EXIT_REASON_PAUSE, -1},
    [IE_WBINVD] = {"WBINVD", EXIT_REASON_WBINVD, -1},
    [IE_MONITOR] = {"MONITOR", EXIT_REASON_MONITOR, -1},
    [IE_MWAIT] = {"MWAIT", EXIT_REASON_MWAIT, -1},
    [IE_XSETBV] = {"XSETBV", EXIT_REASON_XSETBV, -1},
    [IE_SGDT] = {"SGDT", EXIT_REASON_GDTR_IDTR, 0},
    [IE_SLDT] = {"SLDT", EXIT_REASON_LDTR_TR, 0},
    [IE_STR] = {"STR", EXIT_REASON_LDTR_TR, 1},
};

struct ie_data {
    u32 ops[IE_OPS], n, step;
    u8 table[16]; /* SGDT's operand (not written: the exit comes first) */
    char bad[120];
};

static void guest_ie(void *arg)
{
    struct ie_data *d = arg;
    for (u32 i = 0; i < d->n; i++) {
        switch (d->ops[i]) {
        case IE_INVLPG:
            __asm__ volatile("invlpg (%0)" : : "r"(d->table) : "memory");
            break;
        case IE_RDPMC:
            __asm__ volatile("rdpmc" : : "c"(0) : "eax", "edx");
            break;
        case IE_PAUSE:
            __asm__ volatile("pause");
            break;
        case IE_WBINVD:
            __asm__ volatile("wbinvd" ::: "memory");
            break;
        case IE_MONITOR:
            __asm__ volatile("monitor" : : "a"(d->table), "c"(0), "d"(0));
            break;
        case IE_MWAIT:
            __asm__ volatile("mwait" : : "a"(0), "c"(0));
            break;
        case IE_XSETBV:
            __asm__ volatile("xsetbv" : : "a"(1), "c"(0), "d"(0));
            break;
        case IE_SGDT:
            __asm__ volatile("sgdt %0" : "=m"(d->table));
            break;
        case IE_SLDT:
            __asm__ volatile("sldt %%dx" ::: "edx");
            break;
        case IE_STR:
            __asm__ volatile("str %%dx" ::: "edx");
            break;
        }
    }
}

static enum exit_action ie_hook(struct vcpu *v, u32 reason)
{
    struct ie_data *d = v->test_data;
    if (reason == EXIT_REASON_CPUID || reason == EXIT_REASON_VMCALL ||
        reason == EXIT_REASON_EXTERNAL_INTERRUPT)
        return EXIT_DEFAULT;
    if (d->step >= d->n) {
        snprintf(d->bad, sizeof(d->bad), "exit %u after the last instruction", reason);
        return vcpu_fail(v, "%s", d->bad);
    }
    u32 op = d->ops[d->step];
    u32 info = (u32)vmr(VMX_INSTRUCTION_INFO);
    bool ok = reason == ie_ops[op].reason;
    if (ok && op == IE_INVLPG && v->exit_qual != (uintptr_t)d->table)
        ok = false;
    if (ok && op == IE_XSETBV && ((u32)REG_CX(v) != 0 || (u32)REG_AX(v) != 1))
        ok = false;
    if (ok && ie_ops[op].identity >= 0 && (int)((info >> 28) & 3) != ie_ops[op].identity)
        ok = false;
    if (!ok) {
        snprintf(d->bad, sizeof(d->bad), "%s: exit reason %u, qualification 0x%llx, "
                 "instruction information 0x%x; expected reason %u", ie_ops[op].name, reason,
                 v->exit_qual, info, ie_ops[op].reason);
        return vcpu_fail(v, "%s", d->bad);
    }
    d->step++;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

/* The instructions this CPU lets exit, with the controls they need */
static void ie_plan(struct ie_data *d, u32 *proc, u32 *proc2, bool *osxsave)
{
    struct cpuid_regs c1 = cpuid(1, 0);
    bool sec = vmx_caps.proc.allowed1 & CPU_ACTIVATE_SECONDARY_CONTROLS;
    *proc = *proc2 = 0;
    *osxsave = false;
    d->n = 0;
#define IE_ADD(op) (d->ops[d->n++] = (op))
    if (vmx_caps.proc.allowed1 & CPU_INVLPG_EXITING) {
        *proc |= CPU_INVLPG_EXITING;
        IE_ADD(IE_INVLPG);
    }
    if (vmx_caps.proc.allowed1 & CPU_RDPMC_EXITING) {
        *proc |= CPU_RDPMC_EXITING;
        IE_ADD(IE_RDPMC);
    }
    if (vmx_caps.proc.allowed1 & CPU_PAUSE_EXITING) {
        *proc |= CPU_PAUSE_EXITING;
        IE_ADD(IE_PAUSE);
    }
    if (sec && (vmx_caps.proc2.allowed1 & CPU2_WBINVD_EXITING)) {
        *proc2 |= CPU2_WBINVD_EXITING;
        IE_ADD(IE_WBINVD);
    }
    if ((c1.ecx & CPUID1_ECX_MONITOR) &&
        (vmx_caps.proc.allowed1 & (CPU_MONITOR_EXITING | CPU_MWAIT_EXITING)) ==
            (CPU_MONITOR_EXITING | CPU_MWAIT_EXITING)) {
        *proc |= CPU_MONITOR_EXITING | CPU_MWAIT_EXITING;
        IE_ADD(IE_MONITOR);
        IE_ADD(IE_MWAIT);
    }
    if ((c1.ecx & CPUID1_ECX_XSAVE) && (vmx_caps.cr4_fixed1 & CR4_OSXSAVE)) {
        *osxsave = true;
        IE_ADD(IE_XSETBV);
    }
    if (sec && (vmx_caps.proc2.allowed1 & CPU2_DESCRIPTOR_TABLE_EXITING)) {
        *proc2 |= CPU2_DESCRIPTOR_TABLE_EXITING;
        IE_ADD(IE_SGDT);
        IE_ADD(IE_SLDT);
        IE_ADD(IE_STR);
    }
#undef IE_ADD
    if (*proc2)
        *proc |= CPU_ACTIVATE_SECONDARY_CONTROLS;
}

static void check_instruction_exits(struct cpu_outcome *o, void *arg)
{
    struct ie_data d;
    u32 proc, proc2, value, missing;
    bool osxsave;
    struct vcpu *v;
    (void)arg;

    if (!(v = test_guest(o)))
        return;
    memset(&d, 0, sizeof(d));
    ie_plan(&d, &proc, &proc2, &osxsave);
    if (!d.n) {
        outcome_skip(o, "%s allows none of INVLPG/RDPMC/PAUSE/MONITOR exiting, and no XSAVE",
                     control_msr(CTL_PROC));
        return;
    }
    if (!vmx_adjust(&vmx_caps.proc, (u32)vmr(CPU_BASED_VM_EXEC_CONTROL) | proc, &value,
                    &missing)) {
        outcome_fail(o, "processor-based controls: bits 0x%x not allowed", missing);
        return;
    }
    vmw(CPU_BASED_VM_EXEC_CONTROL, value);
    if (proc & CPU_ACTIVATE_SECONDARY_CONTROLS) {
        if (!vmx_adjust(&vmx_caps.proc2, proc2, &value, &missing)) {
            outcome_fail(o, "secondary controls: bits 0x%x not allowed", missing);
            return;
        }
        vmw(SECONDARY_VM_EXEC_CONTROL, value);
    }
    if (osxsave)
        vmw(GUEST_CR4, vmr(GUEST_CR4) | CR4_OSXSAVE);
    v->hook = ie_hook;
    v->test_data = &d;
    bool ran = vcpu_run(v, guest_ie, &d).end == RUN_DONE;
    if (d.bad[0])
        outcome_fail(o, "%s", d.bad);
    else if (!ran)
        outcome_fail(o, "at %s: %s", d.step < d.n ? ie_ops[d.ops[d.step]].name : "the end",
                     v->why);
    else if (d.step != d.n)
        outcome_fail(o, "%s did not exit", ie_ops[d.ops[d.step]].name);
}

VMX_TEST("vmx/instruction-exits", test_instruction_exits);
static void test_instruction_exits(const char *name)
{
    if (vmx_caps.present && !vmx_unavailable()) {
        struct ie_data d;
        u32 proc, proc2;
        bool osxsave;
        ie_plan(&d, &proc, &proc2, &osxsave);
        printf("vmx: instruction-exits on CPU 0:");
        for (u32 i = 0; i < d.n; i++)
            printf(" %s", ie_ops[d.ops[i]].name);
        printf("\n");
    }
    verdict_all_cpus(name, check_instruction_exits, NULL);
}
