/* The guest's VMCS on each CPU (SDM 3C chapters 25 and 27).
 *
 * Pass-through: no external-interrupt or NMI exiting, an exception bitmap
 * of zero, an MSR bitmap of zeros, no CR3/HLT/MWAIT/RDTSC exiting; the I/O
 * bitmap takes only the ports of the end actions (exits.c). EPT
 * (memory.c) and unrestricted guest (the guest starts with paging off, and
 * its APs in real mode) are required. The guest owns CR0 and CR4 but for
 * the bits VMX operation fixes (IA32_VMX_CR0_FIXED0/1, CR4_FIXED0/1, A.7 and
 * A.8; PE and PG are free with unrestricted guest, 25.8 / 27.3.1.1): those
 * bits are host-owned and the read shadows show the guest what it wrote.
 *
 * Three guest states: the multiboot entry of the BSP (Multiboot 3.2:
 * 32-bit protected mode, flat CS/DS/ES/FS/GS/SS, paging off, EAX the magic,
 * EBX the information), the INIT state in the wait-for-SIPI activity state
 * (SDM 3A 10.1.1 Table 10-1 for the register values; 25.4.2 activity state
 * 3), and the start at a SIPI's vector (CS = vector << 8, base vector << 12,
 * IP 0; 3A 10.4.4.1 / 11.6.1). */
#include "l0/l0.h"

#ifdef __x86_64__
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "end.h"
#include "lapic.h"
#include "string.h"
#include "vmx/ept.h"
#include "x86.h"

struct l0_vcpu l0_vcpus[LHV_MAX_CPUS];

/* enter-amd64.S */
STACK_ARGS int vmx_run(struct guest_regs *regs, int launched, enum exit_action (*on_exit)(struct guest_regs *),
            enum exit_action (*on_default)(struct guest_regs *));
extern char vmx_exit_landing[];

#define AR_CODE32 0xc09b  /* present, S, execute/read accessed, D, G */
#define AR_DATA32 0xc093  /* present, S, read/write accessed, D/B, G */
#define AR_CODE16 0x009b  /* the same, 16-bit, byte granular (real mode) */
#define AR_DATA16 0x0093
#define AR_TSS32_BUSY 0x008b
#define AR_LDT 0x0082
#define INIT_CR0 0x60000010u /* CD, NW, ET (3A Table 10-1) */
#define INIT_PAT 0x0007040600070406ull

u8 *l0_io_bitmaps, *l0_msr_bitmap;
static u32 pin, proc, proc2, exit_ctls, entry_ctls;
static u64 cr0_mask, cr4_mask;

static void io_intercept(u8 *bm, u16 port)
{
    bm[port >> 3] |= (u8)(1u << (port & 7));
}

const char *l0_vcpu_unsupported(void)
{
    static char why[160];
    u32 missing;
    const char *e = ept_unsupported();

    if (e)
        return e;
    if (!(vmx_caps.ept_vpid & EPT_CAP_2M))
        return "IA32_VMX_EPT_VPID_CAP bit 16 (2 MiB EPT pages) clear";
    if (!(vmx_caps.proc2.allowed1 & CPU2_UNRESTRICTED_GUEST))
        return "IA32_VMX_PROCBASED_CTLS2 bit 7 (unrestricted guest) not allowed: the guest "
               "starts with paging off";
    if (!(vmx_caps.misc & VMX_MISC_ACTIVITY_WAIT_SIPI))
        return "IA32_VMX_MISC bit 8 (wait-for-SIPI activity state) clear: the guest's APs "
               "wait for their SIPI in it";
    u32 want2 = CPU2_ENABLE_EPT | CPU2_UNRESTRICTED_GUEST |
                (vmx_caps.proc2.allowed1 & (CPU2_ENABLE_RDTSCP | CPU2_ENABLE_INVPCID |
                                            CPU2_ENABLE_XSAVES));
    u32 wexit = EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER |
                (vmx_caps.exit.allowed1 & (EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT));
    u32 wentry = ENTRY_LOAD_IA32_EFER | (vmx_caps.entry.allowed1 & ENTRY_LOAD_IA32_PAT);
    if (!vmx_adjust(&vmx_caps.pin, 0, &pin, &missing) ||
        !vmx_adjust(&vmx_caps.proc, CPU_USE_IO_BITMAPS | CPU_USE_MSR_BITMAPS |
                                        CPU_ACTIVATE_SECONDARY_CONTROLS, &proc, &missing) ||
        !vmx_adjust(&vmx_caps.proc2, want2, &proc2, &missing) ||
        !vmx_adjust(&vmx_caps.exit, wexit, &exit_ctls, &missing) ||
        !vmx_adjust(&vmx_caps.entry, wentry, &entry_ctls, &missing)) {
        snprintf(why, sizeof(why), "the VMX controls the L0 needs are not allowed (bits 0x%x)",
                 missing);
        return why;
    }
    if (proc & (CPU_HLT_EXITING | CPU_UNCONDITIONAL_IO_EXITING) ||
        pin & (PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING))
        return "the CPU forces HLT, unconditional I/O, external-interrupt or NMI exiting on";
    /* Host-owned: the bits VMX operation fixes, but PE and PG (27.3.1.1) */
    cr0_mask = (u32)((vmx_caps.cr0_fixed0 & ~(u64)(CR0_PE | CR0_PG)) | ~vmx_caps.cr0_fixed1);
    cr4_mask = (u32)(vmx_caps.cr4_fixed0 | ~vmx_caps.cr4_fixed1);
    return NULL;
}

void l0_vcpu_setup_bitmaps(u16 pm1a_cnt)
{
    l0_io_bitmaps = alloc_pages(2);
    l0_msr_bitmap = alloc_pages(1); /* zero: every MSR passes */
    /* The end actions (exits.c): Bochs' shutdown port, QEMU's
     * isa-debug-exit, the reset control register, the keyboard
     * controller's command port (0xfe pulses reset), ACPI PM1a control */
    static const u16 ports[] = {0x8900, 0xf4, 0xcf9, 0x64};
    for (u32 i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        io_intercept(l0_io_bitmaps, ports[i]);
    /* WRMSR of the x2APIC ICR: the guest's INIT IPIs (exits.c) */
    u32 icr = X2APIC_MSR_BASE + (LAPIC_REG_ICR_LOW >> 4);
    ((u8 *)l0_msr_bitmap)[2048 + icr / 8] |= (u8)(1u << (icr % 8));
    if (l0_nested) /* IA32_FEATURE_CONTROL and the VMX capability MSRs */
        l0_nested_msr_bitmap(l0_msr_bitmap);
    if (pm1a_cnt) {
        io_intercept(l0_io_bitmaps, pm1a_cnt);
        io_intercept(l0_io_bitmaps, (u16)(pm1a_cnt + 1));
    }
}

/* LHV's host state (lhv/vmx), and IA32_PAT where the exit loads it */
static void host_state(void)
{
    vmcs_write_host_state();
    if (exit_ctls & EXIT_LOAD_IA32_PAT)
        vmw(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
}

void l0_vcpu_init(struct l0_vcpu *v)
{
    v->cpu = this_cpu()->index;
    v->vmcs = vmx_alloc_region();
    if (vmx_vmclear((uintptr_t)v->vmcs) != VMX_OK || vmx_vmptrld((uintptr_t)v->vmcs) != VMX_OK)
        fatal("L0: CPU %u: VMCLEAR/VMPTRLD of the guest's VMCS failed", v->cpu);
    vmw(PIN_BASED_VM_EXEC_CONTROL, pin);
    vmw(CPU_BASED_VM_EXEC_CONTROL, proc);
    vmw(SECONDARY_VM_EXEC_CONTROL, proc2);
    vmw(VM_EXIT_CONTROLS, exit_ctls);
    vmw(VM_ENTRY_CONTROLS, entry_ctls);
    vmw(EXCEPTION_BITMAP, 0);
    vmw(IO_BITMAP_A, (uintptr_t)l0_io_bitmaps);
    vmw(IO_BITMAP_B, (uintptr_t)l0_io_bitmaps + PAGE_SIZE);
    vmw(MSR_BITMAP, (uintptr_t)l0_msr_bitmap);
    vmw(EPT_POINTER, l0_mem.ept.eptp);
    vmw(CR3_TARGET_COUNT, 0);
    vmw(VM_EXIT_MSR_STORE_COUNT, 0);
    vmw(VM_EXIT_MSR_LOAD_COUNT, 0);
    vmw(VM_ENTRY_MSR_LOAD_COUNT, 0);
    vmw(VM_ENTRY_INTR_INFO_FIELD, 0);
    vmw(CR0_GUEST_HOST_MASK, cr0_mask);
    vmw(CR4_GUEST_HOST_MASK, cr4_mask);
    vmw(VMCS_LINK_POINTER, ~0ull);
    host_state();
}

/* CR0/CR4 as the guest wants them: its value in the read shadow, the
 * fixed bits forced in the register (exits.c does the same for writes) */
static void set_cr0(u64 value)
{
    vmw(CR0_READ_SHADOW, value);
    vmw(GUEST_CR0, (value | (vmx_caps.cr0_fixed0 & ~(u64)(CR0_PE | CR0_PG))) &
                       vmx_caps.cr0_fixed1);
}

static void set_cr4(u64 value)
{
    vmw(CR4_READ_SHADOW, value);
    vmw(GUEST_CR4, (value | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
}

/* What every start shares: no paging, no long mode, no pending events */
static void common_state(void)
{
    vmw(GUEST_CR3, 0);
    vmw(GUEST_DR7, 0x400);
    vmw(GUEST_RFLAGS, 0x2);
    vmw(GUEST_RSP, 0);
    vmw(GUEST_IA32_EFER, 0);
    if (entry_ctls & ENTRY_LOAD_IA32_PAT)
        vmw(GUEST_IA32_PAT, INIT_PAT);
    vmw(GUEST_IA32_DEBUGCTL, 0);
    vmw(GUEST_SYSENTER_CS, 0);
    vmw(GUEST_SYSENTER_ESP, 0);
    vmw(GUEST_SYSENTER_EIP, 0);
    vmw(GUEST_INTERRUPTIBILITY_INFO, 0);
    vmw(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    vmw(VM_ENTRY_INTR_INFO_FIELD, 0);
    vmw(VM_ENTRY_CONTROLS, entry_ctls & ~ENTRY_IA32E_MODE_GUEST);
    vmcs_guest_segment(GUEST_LDTR_SELECTOR, 0, 0, 0xffff, AR_LDT);
}

void l0_vcpu_flat32_state(struct l0_vcpu *v, u32 eip)
{
    (void)v;
    common_state();
    set_cr0(CR0_PE | CR0_ET);
    set_cr4(0);
    vmcs_guest_segment(GUEST_CS_SELECTOR, 0x08, 0, 0xffffffff, AR_CODE32);
    vmcs_guest_segment(GUEST_SS_SELECTOR, 0x10, 0, 0xffffffff, AR_DATA32);
    vmcs_guest_segment(GUEST_DS_SELECTOR, 0x10, 0, 0xffffffff, AR_DATA32);
    vmcs_guest_segment(GUEST_ES_SELECTOR, 0x10, 0, 0xffffffff, AR_DATA32);
    vmcs_guest_segment(GUEST_FS_SELECTOR, 0x10, 0, 0xffffffff, AR_DATA32);
    vmcs_guest_segment(GUEST_GS_SELECTOR, 0x10, 0, 0xffffffff, AR_DATA32);
    vmcs_guest_segment(GUEST_TR_SELECTOR, 0, 0, 0xffff, AR_TSS32_BUSY);
    vmw(GUEST_GDTR_BASE, 0);
    vmw(GUEST_GDTR_LIMIT, 0);
    vmw(GUEST_IDTR_BASE, 0);
    vmw(GUEST_IDTR_LIMIT, 0);
    vmw(GUEST_RIP, eip);
    vmw(GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
}

void l0_vcpu_multiboot_state(struct l0_vcpu *v, u32 eip, u32 mbi)
{
    l0_vcpu_flat32_state(v, eip);
    vmw(GUEST_IDTR_LIMIT, 0x3ff);
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.rax = 0x2badb002; /* MULTIBOOT_BOOTLOADER_MAGIC */
    v->regs.rbx = mbi;
}

/* Real mode at CS:IP = sel:ip (base sel << 4) */
static void real_mode(u16 sel, u64 cs_base, u32 ip)
{
    common_state();
    set_cr0(INIT_CR0);
    set_cr4(0);
    vmcs_guest_segment(GUEST_CS_SELECTOR, sel, cs_base, 0xffff, AR_CODE16);
    vmcs_guest_segment(GUEST_SS_SELECTOR, 0, 0, 0xffff, AR_DATA16);
    vmcs_guest_segment(GUEST_DS_SELECTOR, 0, 0, 0xffff, AR_DATA16);
    vmcs_guest_segment(GUEST_ES_SELECTOR, 0, 0, 0xffff, AR_DATA16);
    vmcs_guest_segment(GUEST_FS_SELECTOR, 0, 0, 0xffff, AR_DATA16);
    vmcs_guest_segment(GUEST_GS_SELECTOR, 0, 0, 0xffff, AR_DATA16);
    /* a 32-bit busy TSS, as KVM and the hardware have it after INIT:
     * Bochs refuses to enter long mode with a 16-bit one in TR */
    vmcs_guest_segment(GUEST_TR_SELECTOR, 0, 0, 0xffff, AR_TSS32_BUSY);
    vmw(GUEST_GDTR_BASE, 0);
    vmw(GUEST_GDTR_LIMIT, 0xffff);
    vmw(GUEST_IDTR_BASE, 0);
    vmw(GUEST_IDTR_LIMIT, 0xffff);
    vmw(GUEST_RIP, ip);
}

void l0_vcpu_init_state(struct l0_vcpu *v)
{
    real_mode(0xf000, 0xffff0000, 0xfff0);
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.rdx = cpuid(1, 0).eax; /* EDX after INIT: the processor signature */
    vmw(GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_SIPI);
    v->waiting = true;
}

void l0_vcpu_sipi_state(struct l0_vcpu *v, u32 vector)
{
    real_mode((u16)(vector << 8), (u64)vector << 12, 0);
    vmw(GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
    v->sipi_vector = vector;
    v->waiting = false;
}

void l0_vcpu_run(struct l0_vcpu *v)
{
    int r;
    bool launched = v->launched;
    for (;;) {
        r = vmx_run(&v->regs, launched, l0_on_exit, l0_on_exit);
        if (r != 0 || !v->switched)
            break;
        v->switched = false; /* nested.c switched between VMCS01 and VMCS02 */
        launched = !v->launch_next;
        v->launch_next = false;
    }
    if (r == 0 && l0_probing)
        return; /* a probe stopped */
    u64 err = 0;
    vmr_safe(VM_INSTRUCTION_ERROR, &err);
    char state[200];
    l0_guest_state_line(state, sizeof(state));
    fatal("L0: CPU %u: %s of the guest failed (%s, error %llu: %s); %s", v->cpu,
          v->launched ? "VMRESUME" : "VMLAUNCH", r == VMX_FAIL_VALID ? "VMfailValid" :
          r == VMX_FAIL_INVALID ? "VMfailInvalid" : "stopped", err,
          vmx_error_text((u32)err), state);
}
#endif
