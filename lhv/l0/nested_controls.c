/* L1's execution, exit and entry controls beyond nested.c's first set
 * (docs/l0.md "Nested VMX"): virtual NMIs, the VMX-preemption timer with
 * its save, interrupt- and NMI-window exiting, TSC offsetting, INVLPG,
 * MWAIT, RDPMC, RDTSC, CR3-load/-store, MOV-DR, MONITOR and PAUSE exiting,
 * I/O bitmaps, acknowledge interrupt on exit, save/load IA32_PAT, the
 * debug controls; IA32_VMX_MISC's timer rate, HLT and shutdown activity
 * states and CR3-target count as the CPU's.
 *
 * How: VMCS02 carries VMCS12's controls as L1 wrote them (nested.c copies
 * every field), the I/O bitmaps translated to host addresses (each a page
 * of L1's RAM, else refused: never followed); the L0 itself adds only EPT
 * (its map) and, in the exit controls, what it needs to resume L2 or to
 * give L1 L2's state: save debug controls, save IA32_PAT and IA32_EFER,
 * save the preemption timer whenever it runs. So an L2 exit is one L1's
 * controls ask for (or unconditional) -- l0_nested_l1_wants says which,
 * from VMCS12 and the exit's information -- and the state L1's exit
 * controls do not save stays as VMCS12 had it (SDM 3C 28.3). External
 * interrupts and NMIs reach L2's IDT unless L1's pin controls exit on
 * them, as VMCS02 has L1's pin controls; L1's preemption timer counts in
 * VMCS02. */
#include "l0/nested.h"

#ifdef __x86_64__
#include "end.h"
#include "x86.h"

static struct {
    u64 dr7_01, debugctl_01;            /* L1's, for "load debug controls" 0 */
    u64 dr7_12, debugctl_12, timer12;   /* VMCS12's, kept unless the exit saves them */
    u64 efer02, pat02;                  /* L2's at its exit */
} st[LHV_MAX_CPUS];

u64 l0_nested_misc(void)
{
    u64 m = vmx_caps.misc;
    /* timer rate (4:0), LMA stored (5), HLT and shutdown states (6, 7),
     * CR3 targets (24:16); 512 MSR-area entries (27:25 zero) */
    return (m & 0x1f) | (1u << 5) | (m & (VMX_MISC_ACTIVITY_HLT | VMX_MISC_ACTIVITY_SHUTDOWN)) |
           (m & (0x1ffull << 16));
}

void l0_nested_pre_entry(struct l0_vcpu *v, u8 *img)
{
    st[v->cpu].dr7_01 = vmr(GUEST_DR7);
    st[v->cpu].debugctl_01 = vmr(GUEST_IA32_DEBUGCTL);
    st[v->cpu].dr7_12 = l0_v12(img, GUEST_DR7);
    st[v->cpu].debugctl_12 = l0_v12(img, GUEST_IA32_DEBUGCTL);
    st[v->cpu].timer12 = l0_v12(img, VMX_PREEMPTION_TIMER_VALUE);
}

const char *l0_nested_vmcs02(struct l0_vcpu *v, u8 *img)
{
    const struct vmx_caps *k = &vmx_caps;
    u32 pin = (u32)l0_v12(img, PIN_BASED_VM_EXEC_CONTROL);
    u32 exit12 = (u32)l0_v12(img, VM_EXIT_CONTROLS);
    u32 entry12 = (u32)l0_v12(img, VM_ENTRY_CONTROLS);

    vmw(VM_EXIT_MSR_STORE_COUNT, 0); /* the L0 processes L1's areas (nested_msr.c) */
    vmw(VM_EXIT_MSR_LOAD_COUNT, 0);
    vmw(VM_ENTRY_MSR_LOAD_COUNT, 0);
    /* the I/O and MSR bitmaps: L1's merged with the L0's (nested_own.c) */
    u32 exit02 = (u32)vmr(VM_EXIT_CONTROLS) | (exit12 & EXIT_ACK_INTERRUPT_ON_EXIT) |
                 (k->exit.allowed1 & EXIT_SAVE_DEBUG_CONTROLS);
    if (pin & PIN_PREEMPTION_TIMER)
        exit02 |= k->exit.allowed1 & EXIT_SAVE_PREEMPTION_TIMER;
    vmw(VM_EXIT_CONTROLS, exit02);
    if (!(entry12 & ENTRY_LOAD_DEBUG_CONTROLS)) { /* L2 starts with L1's */
        vmw(GUEST_DR7, st[v->cpu].dr7_01);
        vmw(GUEST_IA32_DEBUGCTL, st[v->cpu].debugctl_01);
    }
    if (entry12 & ENTRY_LOAD_IA32_PAT)
        vmw(GUEST_IA32_PAT, l0_v12(img, GUEST_IA32_PAT));
    vmw(VM_ENTRY_CONTROLS,
        vmr(VM_ENTRY_CONTROLS) | (k->entry.allowed1 & ENTRY_LOAD_DEBUG_CONTROLS));
    l0_nested_msr_fields02(v);
    return NULL;
}

/* A bit of one of L1's bitmaps (a page of its RAM; elsewhere all ones) */
static bool bitmap_bit(u64 page, u32 bit)
{
    u8 b;
    l0_phys_copy(page + bit / 8, &b, 1, false);
    return (b >> (bit % 8)) & 1;
}

bool l0_nested_l1_wants(struct l0_vcpu *v, u8 *img, u32 reason)
{
    u32 pin = (u32)l0_v12(img, PIN_BASED_VM_EXEC_CONTROL);
    u32 proc = (u32)l0_v12(img, CPU_BASED_VM_EXEC_CONTROL);
    u64 q = vmr(EXIT_QUALIFICATION);

    switch (reason & 0xffff) {
    case EXIT_REASON_EXCEPTION_NMI: { /* 26.2: the NMI by pin control, else the bitmap */
        u32 info = (u32)vmr(VM_EXIT_INTR_INFO), vec = info & 0xff;
        if ((info & (7u << 8)) == INTR_TYPE_NMI)
            return pin & PIN_NMI_EXITING;
        bool set = (l0_v12(img, EXCEPTION_BITMAP) >> vec) & 1;
        if (vec != VEC_PF)
            return set;
        u32 ec = (u32)vmr(VM_EXIT_INTR_ERROR_CODE);
        return set == ((ec & l0_v12(img, PAGE_FAULT_ERROR_CODE_MASK)) ==
                       l0_v12(img, PAGE_FAULT_ERROR_CODE_MATCH));
    }
    case EXIT_REASON_EXTERNAL_INTERRUPT: return pin & PIN_EXTERNAL_INTERRUPT_EXITING;
    case EXIT_REASON_PREEMPTION_TIMER: return pin & PIN_PREEMPTION_TIMER;
    case EXIT_REASON_INTERRUPT_WINDOW: return proc & CPU_INTERRUPT_WINDOW_EXITING;
    case EXIT_REASON_NMI_WINDOW: return proc & CPU_NMI_WINDOW_EXITING;
    case EXIT_REASON_HLT: return proc & CPU_HLT_EXITING;
    case EXIT_REASON_INVLPG: return proc & CPU_INVLPG_EXITING;
    case EXIT_REASON_RDPMC: return proc & CPU_RDPMC_EXITING;
    case EXIT_REASON_RDTSC: return proc & CPU_RDTSC_EXITING;
    case EXIT_REASON_MWAIT: return proc & CPU_MWAIT_EXITING;
    case EXIT_REASON_MONITOR: return proc & CPU_MONITOR_EXITING;
    case EXIT_REASON_PAUSE: return proc & CPU_PAUSE_EXITING;
    case EXIT_REASON_DR_ACCESS: return proc & CPU_MOV_DR_EXITING;
    case EXIT_REASON_IO_INSTRUCTION: { /* 26.1.3: unconditional, or any bitmap bit of the access */
        if (!(proc & CPU_USE_IO_BITMAPS))
            return proc & CPU_UNCONDITIONAL_IO_EXITING;
        u32 port = (u32)(q >> 16) & 0xffff, size = (u32)(q & 7) + 1;
        for (u32 p = port; p < port + size; p++)
            if (p > 0xffff || bitmap_bit(l0_v12(img, p < 0x8000 ? IO_BITMAP_A : IO_BITMAP_B),
                                         p & 0x7fff))
                return true;
        return false;
    }
    case EXIT_REASON_MSR_READ:
    case EXIT_REASON_MSR_WRITE: { /* 26.1.3: without the bitmap, or outside its ranges */
        u32 msr = (u32)v->regs.rcx;
        if (!(proc & CPU_USE_MSR_BITMAPS) || (msr > 0x1fff && (msr - 0xc0000000u) > 0x1fff))
            return true;
        u32 base = ((reason & 0xffff) == EXIT_REASON_MSR_WRITE ? 2048 : 0) +
                   (msr > 0x1fff ? 1024 : 0);
        return bitmap_bit(l0_v12(img, MSR_BITMAP), base * 8 + (msr & 0x1fff));
    }
    case EXIT_REASON_EPT_VIOLATION:
    case EXIT_REASON_EPT_MISCONFIG:
        return true; /* EPT02's walk of EPT12 found it (nested_ept.c); without L1's EPT
                      * such an exit ends the run there */
    default: /* unconditional (26.1.2, 26.2), or L1's control as VMCS02 has it */
        return true;
    }
}

void l0_nested_exit_to12(struct l0_vcpu *v, u8 *img)
{
    u32 exit12 = (u32)l0_v12(img, VM_EXIT_CONTROLS);
    u32 pin = (u32)l0_v12(img, PIN_BASED_VM_EXEC_CONTROL);
    u32 info = (u32)l0_v12(img, VM_EXIT_INTR_INFO);
    /* An NMI that exits (NMI exiting, no virtual NMIs) was not blocked, so
     * the saved blocking by NMI is 0 (28.3.1.5; 28.1: NMIs are blocked
     * only after the exit). Bochs 2.7 masks them first and saves bit 3
     * (docs/l0-deviations.md): L1 gets the SDM's value. */
    if ((l0_v12(img, VM_EXIT_REASON) & 0xffff) == EXIT_REASON_EXCEPTION_NMI &&
        (info & INTR_INFO_VALID) && (info & (7u << 8)) == INTR_TYPE_NMI &&
        (pin & PIN_NMI_EXITING) && !(pin & PIN_VIRTUAL_NMIS))
        l0_v12_set(img, GUEST_INTERRUPTIBILITY_INFO,
                   l0_v12(img, GUEST_INTERRUPTIBILITY_INFO) & ~(u64)INTR_BLOCKING_NMI);
    if (!(exit12 & EXIT_SAVE_DEBUG_CONTROLS)) {
        l0_v12_set(img, GUEST_DR7, st[v->cpu].dr7_12);
        l0_v12_set(img, GUEST_IA32_DEBUGCTL, st[v->cpu].debugctl_12);
    }
    if (!(exit12 & EXIT_SAVE_PREEMPTION_TIMER))
        l0_v12_set(img, VMX_PREEMPTION_TIMER_VALUE, st[v->cpu].timer12);
    st[v->cpu].efer02 = vmr(GUEST_IA32_EFER);
    st[v->cpu].pat02 = vmr(GUEST_IA32_PAT);
    if (exit12 & EXIT_SAVE_IA32_PAT)
        l0_v12_set(img, GUEST_IA32_PAT, st[v->cpu].pat02);
    l0_debugctl_exit(v, img);
    l0_nested_exit_store(v, img); /* 28.4, after the guest state */
}

void l0_nested_exit_to01(struct l0_vcpu *v, u8 *img, bool ran)
{
    u32 exit12 = (u32)l0_v12(img, VM_EXIT_CONTROLS);
    bool pat01 = vmr(VM_ENTRY_CONTROLS) & ENTRY_LOAD_IA32_PAT;
    /* 28.5.1: IA32_PAT from the host field, else as L2 left it; IA32_EFER
     * without "load IA32_EFER" as L2 left it, LMA/LME by host size */
    u64 pat = (exit12 & EXIT_LOAD_IA32_PAT) ? l0_v12(img, HOST_IA32_PAT)
              : ran                         ? st[v->cpu].pat02
                                            : vmr(GUEST_IA32_PAT);
    if (pat01)
        vmw(GUEST_IA32_PAT, pat);
    if (ran && !(exit12 & EXIT_LOAD_IA32_EFER)) {
        u64 mode = vmr(GUEST_IA32_EFER) & (EFER_LMA | EFER_LME);
        vmw(GUEST_IA32_EFER, (st[v->cpu].efer02 & ~(u64)(EFER_LMA | EFER_LME)) | mode);
    }
    l0_nested_exit_load(v, img); /* 28.6, after the host state */
}
#endif
