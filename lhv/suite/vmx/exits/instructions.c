/* The instructions that exit under a control (or always): each exits
 * with its reason when its control is 1 and runs without an exit when it
 * is 0. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

/* vmx/instruction-exits: table-driven, two runs on every CPU (SDM 3C
 * 26.1.2-26.1.3, 25.6.2, appendix C). In the first, each instruction whose
 * exiting control this CPU allows to be 1 exits with its reason: INVLPG (14,
 * qualification = the linear address, 28.2.1), RDPMC (15), RDTSC (16), MOV
 * to/from CR3 and CR8 (28, qualification bits 5:0 = the register and the
 * direction, Table 28-3; CR8 on amd64 only), PAUSE (40), WBINVD (54), MWAIT
 * (36) and MONITOR (39) when CPUID.01H:ECX.MONITOR, and under
 * descriptor-table exiting SGDT/SIDT/LGDT/LIDT (46) and SLDT/STR/LLDT/LTR
 * (47) with the instruction identity in VM-exit instruction information
 * bits 29:28 (Tables 28-10, 28-11). In the second, each control that may be
 * 0 is 0 and its instruction runs without an exit (LTR excepted: the TSS is
 * busy; HLT is vmx/preemption-timer-hlt's). In both, INVD (13) and XSETBV
 * (55, when CPUID.01H:ECX.XSAVE) exit always. The host skips each exiting
 * instruction. */

enum ie_op { IE_INVLPG, IE_RDPMC, IE_RDTSC, IE_CR3_LOAD, IE_CR3_STORE,
#ifdef __x86_64__
             IE_CR8_LOAD, IE_CR8_STORE,
#endif
             IE_PAUSE, IE_WBINVD, IE_MWAIT, IE_MONITOR, IE_XSETBV, IE_INVD, IE_SGDT, IE_SIDT,
             IE_LGDT, IE_LIDT, IE_SLDT, IE_STR, IE_LLDT, IE_LTR, IE_OPS };

#define IE_ALWAYS 7     /* ctl of an instruction that exits whatever the controls */
#define IE_MON 1        /* needs CPUID.01H:ECX.MONITOR */
#define IE_XS 2         /* needs XSAVE and CR4.OSXSAVE */
#define IE_EXIT_ONLY 4  /* cannot run in this guest without its exit */

static const struct {
    char name[7];
    u8 ctl, flags, reason;
    signed char detail; /* reasons 46/47: instruction identity; 28: qualification bits 5:0 */
    u32 bit;
} ie_insns[IE_OPS] = {
    [IE_INVLPG] = {"INVLPG", CTL_PROC, 0, EXIT_REASON_INVLPG, -1, CPU_INVLPG_EXITING},
    [IE_RDPMC] = {"RDPMC", CTL_PROC, 0, EXIT_REASON_RDPMC, -1, CPU_RDPMC_EXITING},
    [IE_RDTSC] = {"RDTSC", CTL_PROC, 0, EXIT_REASON_RDTSC, -1, CPU_RDTSC_EXITING},
    [IE_CR3_LOAD] = {">CR3", CTL_PROC, 0, EXIT_REASON_CR_ACCESS, 3, CPU_CR3_LOAD_EXITING},
    [IE_CR3_STORE] = {"<CR3", CTL_PROC, 0, EXIT_REASON_CR_ACCESS, 3 | MOV_QUAL_FROM,
                      CPU_CR3_STORE_EXITING},
#ifdef __x86_64__
    [IE_CR8_LOAD] = {">CR8", CTL_PROC, 0, EXIT_REASON_CR_ACCESS, 8, CPU_CR8_LOAD_EXITING},
    [IE_CR8_STORE] = {"<CR8", CTL_PROC, 0, EXIT_REASON_CR_ACCESS, 8 | MOV_QUAL_FROM,
                      CPU_CR8_STORE_EXITING},
#endif
    [IE_PAUSE] = {"PAUSE", CTL_PROC, 0, EXIT_REASON_PAUSE, -1, CPU_PAUSE_EXITING},
    [IE_WBINVD] = {"WBINVD", CTL_PROC2, 0, EXIT_REASON_WBINVD, -1, CPU2_WBINVD_EXITING},
    [IE_MWAIT] = {"MWAIT", CTL_PROC, IE_MON, EXIT_REASON_MWAIT, -1, CPU_MWAIT_EXITING},
    [IE_MONITOR] = {"MONITR", CTL_PROC, IE_MON, EXIT_REASON_MONITOR, -1, CPU_MONITOR_EXITING},
    [IE_XSETBV] = {"XSETBV", IE_ALWAYS, IE_XS, EXIT_REASON_XSETBV, -1, 0},
    [IE_INVD] = {"INVD", IE_ALWAYS, 0, EXIT_REASON_INVD, -1, 0},
    [IE_SGDT] = {"SGDT", CTL_PROC2, 0, EXIT_REASON_GDTR_IDTR, 0, CPU2_DESCRIPTOR_TABLE_EXITING},
    [IE_SIDT] = {"SIDT", CTL_PROC2, 0, EXIT_REASON_GDTR_IDTR, 1, CPU2_DESCRIPTOR_TABLE_EXITING},
    [IE_LGDT] = {"LGDT", CTL_PROC2, 0, EXIT_REASON_GDTR_IDTR, 2, CPU2_DESCRIPTOR_TABLE_EXITING},
    [IE_LIDT] = {"LIDT", CTL_PROC2, 0, EXIT_REASON_GDTR_IDTR, 3, CPU2_DESCRIPTOR_TABLE_EXITING},
    [IE_SLDT] = {"SLDT", CTL_PROC2, 0, EXIT_REASON_LDTR_TR, 0, CPU2_DESCRIPTOR_TABLE_EXITING},
    [IE_STR] = {"STR", CTL_PROC2, 0, EXIT_REASON_LDTR_TR, 1, CPU2_DESCRIPTOR_TABLE_EXITING},
    [IE_LLDT] = {"LLDT", CTL_PROC2, 0, EXIT_REASON_LDTR_TR, 2, CPU2_DESCRIPTOR_TABLE_EXITING},
    [IE_LTR] = {"LTR", CTL_PROC2, IE_EXIT_ONLY, EXIT_REASON_LDTR_TR, 3,
                CPU2_DESCRIPTOR_TABLE_EXITING},
};

struct ie_dt {
    u16 limit;
    uintptr_t base;
} __attribute__((packed));

struct ie_data {
    u8 ops[IE_OPS];
    u32 n, want, seen;     /* want, seen: bit i for ops[i] expected to exit, exited */
    volatile u32 cur;      /* the op the guest is at */
    unsigned long cr3;
#ifdef __x86_64__
    unsigned long cr8;
#endif
    struct ie_dt gdt, idt; /* the guest's own, for LGDT/LIDT */
    volatile u8 table[16]; /* INVLPG/MONITOR's address, SGDT/SIDT's operand */
};

static void guest_ie(void *arg)
{
    struct ie_data *d = arg;
    for (u32 i = 0; i < d->n; i++) {
        d->cur = i;
        switch (d->ops[i]) {
        case IE_INVLPG:
            __asm__ volatile("invlpg (%0)" : : "r"(d->table) : "memory");
            break;
        case IE_RDPMC:
            __asm__ volatile("rdpmc" : : "c"(0) : "eax", "edx");
            break;
        case IE_RDTSC:
            __asm__ volatile("rdtsc" ::: "eax", "edx");
            break;
        case IE_CR3_LOAD:
            __asm__ volatile("mov %0, %%cr3" : : "r"(d->cr3) : "memory");
            break;
        case IE_CR3_STORE: {
            unsigned long x;
            __asm__ volatile("mov %%cr3, %0" : "=r"(x));
            break;
        }
#ifdef __x86_64__
        case IE_CR8_LOAD:
            __asm__ volatile("mov %0, %%cr8" : : "r"(d->cr8) : "memory");
            break;
        case IE_CR8_STORE: {
            unsigned long x;
            __asm__ volatile("mov %%cr8, %0" : "=r"(x));
            break;
        }
#endif
        case IE_PAUSE:
            __asm__ volatile("pause");
            break;
        case IE_WBINVD:
            __asm__ volatile("wbinvd" ::: "memory");
            break;
        case IE_MWAIT: /* before MONITOR: nothing armed, no wait without the exit */
            __asm__ volatile("mwait" : : "a"(0), "c"(0));
            break;
        case IE_MONITOR: /* the store disarms what it armed without the exit */
            __asm__ volatile("monitor" : : "a"(d->table), "c"(0), "d"(0));
            d->table[0] = 1;
            break;
        case IE_XSETBV:
            __asm__ volatile("xsetbv" : : "a"(1), "c"(0), "d"(0));
            break;
        case IE_INVD:
            __asm__ volatile("invd" ::: "memory");
            break;
        case IE_SGDT:
            __asm__ volatile("sgdt (%0)" : : "r"(d->table) : "memory");
            break;
        case IE_SIDT:
            __asm__ volatile("sidt (%0)" : : "r"(d->table) : "memory");
            break;
        case IE_LGDT:
            __asm__ volatile("lgdt %0" : : "m"(d->gdt));
            break;
        case IE_LIDT:
            __asm__ volatile("lidt %0" : : "m"(d->idt));
            break;
        case IE_SLDT:
            __asm__ volatile("sldt %%dx" ::: "edx");
            break;
        case IE_STR:
            __asm__ volatile("str %%dx" ::: "edx");
            break;
        case IE_LLDT:
            __asm__ volatile("lldt %w0" : : "r"(0));
            break;
        case IE_LTR:
            __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
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
    u32 i = d->cur, op = d->ops[i];
    u32 info = (u32)vmr(VMX_INSTRUCTION_INFO), bit = 1u << i;
    int det = ie_insns[op].detail;
    bool ok = (d->want & bit) && !(d->seen & bit) && reason == ie_insns[op].reason;
    if (reason == EXIT_REASON_CR_ACCESS)
        ok = ok && (int)(v->exit_qual & 0x3f) == det;
    else if (det >= 0)
        ok = ok && (int)((info >> 28) & 3) == det;
    if (op == IE_INVLPG)
        ok = ok && v->exit_qual == (uintptr_t)d->table;
    if (op == IE_XSETBV)
        ok = ok && (u32)REG_CX(v) == 0 && (u32)REG_AX(v) == 1;
    if (!ok)
        return vcpu_fail(v, "%s (%s): exit %u, qualification 0x%llx, information 0x%x",
                         ie_insns[op].name, d->want & bit ? "exits" : "no exit", reason,
                         v->exit_qual, info);
    d->seen |= bit;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

/* The instructions of one run, with the controls they need 1 (set) or 0 */
static void ie_plan(struct ie_data *d, bool set, u32 *proc, u32 *proc2, bool *osxsave)
{
    struct cpuid_regs c1 = cpuid(1, 0);
    bool sec = vmx_caps.proc.allowed1 & CPU_ACTIVATE_SECONDARY_CONTROLS;
    *proc = *proc2 = d->n = d->want = d->seen = 0;
    *osxsave = false;
    for (u32 op = 0; op < IE_OPS; op++) {
        u32 ctl = ie_insns[op].ctl, f = ie_insns[op].flags, bit = ie_insns[op].bit;
        const struct vmx_ctl_caps *c = ctl == CTL_PROC2 ? &vmx_caps.proc2 : &vmx_caps.proc;
        if (((f & IE_MON) && !(c1.ecx & CPUID1_ECX_MONITOR)) ||
            ((f & IE_XS) && (!(c1.ecx & CPUID1_ECX_XSAVE) || !(vmx_caps.cr4_fixed1 & CR4_OSXSAVE))))
            continue;
        if (f & IE_XS)
            *osxsave = true;
        if (ctl == IE_ALWAYS) {
            d->want |= 1u << d->n;
        } else if (set) {
            if (!(c->allowed1 & bit) || (ctl == CTL_PROC2 && !sec))
                continue;
            d->want |= 1u << d->n;
            *(ctl == CTL_PROC2 ? proc2 : proc) |= bit;
        } else {
            if ((f & IE_EXIT_ONLY) || (c->allowed0 & bit))
                continue;
            *(ctl == CTL_PROC2 ? proc2 : proc) |= bit;
        }
        d->ops[d->n++] = (u8)op;
    }
}

/* Lists the instructions of a run of CPU 0 that exit (or not) */
static void ie_print(const struct ie_data *d, bool exits)
{
    printf(exits ? "vmx: instruction-exits:" : ", not:");
    for (u32 i = 0; i < d->n; i++)
        if (!(d->want >> i & 1) == !exits)
            printf(" %s", ie_insns[d->ops[i]].name);
}

static bool ie_run(struct cpu_outcome *o, struct ie_data *d, bool set)
{
    u32 proc, proc2, cur, value, missing;
    bool osxsave;
    struct vcpu *v = test_guest_hooked(o, ie_hook, d);

    if (!v)
        return false;
    ie_plan(d, set, &proc, &proc2, &osxsave);
    cur = (u32)vmr(CPU_BASED_VM_EXEC_CONTROL);
    if (proc2)
        proc |= CPU_ACTIVATE_SECONDARY_CONTROLS;
    if (!set) {
        /* clear the controls; secondary controls stay active, all 0 */
        cur &= ~proc;
        proc = proc2 ? CPU_ACTIVATE_SECONDARY_CONTROLS : 0;
        proc2 = 0;
    }
    if (!vmx_adjust(&vmx_caps.proc, cur | proc, &value, &missing))
        return outcome_fail(o, "processor-based controls 0x%x not allowed", missing), false;
    vmw(CPU_BASED_VM_EXEC_CONTROL, value);
    if (value & CPU_ACTIVATE_SECONDARY_CONTROLS)
        vmw(SECONDARY_VM_EXEC_CONTROL, proc2);
    if (osxsave)
        vmw(GUEST_CR4, vmr(GUEST_CR4) | CR4_OSXSAVE);
    d->cr3 = read_cr3();
#ifdef __x86_64__
    __asm__ volatile("mov %%cr8, %0" : "=r"(d->cr8));
#endif
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(d->gdt), "=m"(d->idt));
    if (!test_guest_run(o, v, guest_ie, d))
        return false;
    for (u32 i = 0; i < d->n; i++)
        if ((d->want & ~d->seen) >> i & 1)
            return outcome_fail(o, "%s did not exit", ie_insns[d->ops[i]].name), false;
    return true;
}

static void check_instruction_exits(struct cpu_outcome *o, void *arg)
{
    struct ie_data d;
    (void)arg;

    memset(&d, 0, sizeof(d));
    if (ie_run(o, &d, true))
        ie_run(o, &d, false);
}

VMX_TEST("vmx/instruction-exits", test_instruction_exits);
static void test_instruction_exits(const char *name)
{
    if (vmx_caps.present && !vmx_unavailable()) {
        struct ie_data d;
        u32 proc, proc2;
        bool osxsave;
        ie_plan(&d, true, &proc, &proc2, &osxsave);
        ie_print(&d, true);
        ie_plan(&d, false, &proc, &proc2, &osxsave);
        ie_print(&d, false);
        printf("\n");
    }
    verdict_all_cpus(name, check_instruction_exits, NULL);
}
