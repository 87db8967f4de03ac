/* The exits the L0 takes (docs/l0.md "What is intercepted and why").
 *
 * - CPUID (exits unconditionally, SDM 3C 26.1.2): the hypervisor bit set,
 *   leaf 0x40000000 naming the L0 "LHV L0", VMX (CPUID.1:ECX bit 5) clear
 *   until the L0 offers nested VMX, OSXSAVE as the guest's own CR4 says.
 * - I/O to the end actions' ports (the I/O bitmap, vcpu.c): Bochs' shutdown
 *   port 0x8900, QEMU's isa-debug-exit 0xf4, reset control 0xcf9 (bit 2),
 *   the keyboard controller's 0x64 (command 0xfe), ACPI PM1a control
 *   (SLP_EN). Anything else on those ports is done for the guest.
 * - Triple fault (26.2): the guest reset itself.
 * - INIT (26.2: exits in VMX non-root operation; blocked in wait-for-SIPI)
 *   puts the CPU in the INIT state, waiting for a SIPI in the
 *   wait-for-SIPI activity state (25.4.2); SIPI (26.2: exits only in that
 *   state, the vector in the qualification, 28.2.1) starts it in real mode
 *   at vector << 12.
 * - MOV to CR0/CR4 of a host-owned bit (26.1.3): the write is done with
 *   the fixed bits kept, and IA32_EFER.LMA and the IA-32e-mode control
 *   follow CR0.PG as the processor would (3A 10.8.5).
 * - XSETBV (26.1.2): done for the guest.
 * - Task switches (26.1.2) of a 32-bit guest: emulated (task.c).
 * - WRMSR of the x2APIC ICR: INIT for a CPU still waiting for its SIPI
 *   dropped, for one whose L1 is in VMX operation held by the L0
 *   (nested_init.c), each other target's sent (l0_exit_icr_write).
 * Anything else, an EPT violation on the hidden range included, is
 * FATAL with the exit reason, qualification and the guest's state. */
#include "l0/l0.h"

#ifdef __x86_64__
#include "console.h"
#include "cpu.h"
#include "end.h"
#include "lapic.h"
#include "smp.h"
#include "platform.h"
#include "string.h"
#include "vmx/ept.h"
#include "x86.h"

struct l0_end l0_end;
volatile bool l0_probing;

#define BOCHS_SHUTDOWN_PORT 0x8900
#define QEMU_EXIT_PORT 0xf4
#define RESET_CONTROL_PORT 0xcf9
#define RESET_CONTROL_RST_CPU (1u << 2)
#define KBC_COMMAND_PORT 0x64
#define KBC_PULSE_RESET 0xfe
#define PM1_SLP_EN (1u << 13)

static u16 pm1a_cnt(void) { return platform.pm1a_cnt; }

void l0_guest_state_line(char *buf, size_t n)
{
    snprintf(buf, n,
             "guest RIP 0x%llx CS 0x%llx RSP 0x%llx RFLAGS 0x%llx CR0 0x%llx CR3 0x%llx CR4 "
             "0x%llx EFER 0x%llx activity %llu",
             vmr(GUEST_RIP), vmr(GUEST_CS_SELECTOR), vmr(GUEST_RSP), vmr(GUEST_RFLAGS),
             vmr(CR0_READ_SHADOW), vmr(GUEST_CR3), vmr(CR4_READ_SHADOW), vmr(GUEST_IA32_EFER),
             vmr(GUEST_ACTIVITY_STATE));
}

static __attribute__((noreturn)) void unexpected(struct l0_vcpu *v, u32 reason, u64 qual)
{
    char state[220];
    l0_guest_state_line(state, sizeof(state));
    if (reason == EXIT_REASON_EPT_VIOLATION)
        fatal("guest on CPU %u touched guest-physical 0x%llx (%s%s%s), which is not its memory "
              "(the L0's hidden range is 0x%llx-0x%llx): EPT violation, qualification 0x%llx; "
              "%s; the guest must stay in its memory map",
              v->cpu, vmr(GUEST_PHYSICAL_ADDRESS), qual & EPT_QUAL_READ ? "read" : "",
              qual & EPT_QUAL_WRITE ? "write" : "", qual & EPT_QUAL_FETCH ? "fetch" : "",
              l0_mem.backing, l0_mem.backing + (l0_mem.own_end - l0_mem.own_base) - 1, qual,
              state);
    fatal("unexpected VM exit on CPU %u: reason %u (%s)%s, qualification 0x%llx, "
          "instruction length %llu, interruption info 0x%llx; %s; the L0 does not handle it "
          "(docs/l0.md lists what it does)",
          v->cpu, reason & 0xffff, vmx_exit_reason_name(reason & 0xffff),
          reason & EXIT_REASON_ENTRY_FAILURE ? " (VM-entry failure)" : "", qual,
          vmr(VM_EXIT_INSTRUCTION_LEN), vmr(VM_EXIT_INTR_INFO), state);
}

static void skip(void)
{
    vmw(GUEST_RIP, vmr(GUEST_RIP) + vmr(VM_EXIT_INSTRUCTION_LEN));
}

static void set32(u64 *reg, u32 value) { *reg = value; }

static void do_cpuid(struct l0_vcpu *v)
{
    u32 leaf = (u32)v->regs.rax, sub = (u32)v->regs.rcx;
    struct cpuid_regs r = cpuid(leaf, sub);

    if (leaf == 1) {
        r.ecx = l0_nested_cpuid1_ecx(r.ecx);
        r.ecx |= CPUID1_ECX_HYPERVISOR;
        r.ecx &= ~(u32)CPUID1_ECX_OSXSAVE;
        if (vmr(GUEST_CR4) & CR4_OSXSAVE)
            r.ecx |= CPUID1_ECX_OSXSAVE;
    } else if (leaf == 0x40000000u) {
        r = (struct cpuid_regs){0x40000000u, LHV_L0_SIGNATURE_EBX, LHV_L0_SIGNATURE_ECX,
                                LHV_L0_SIGNATURE_EDX};
    } else if ((leaf & 0xf0000000u) == 0x40000000u) {
        r = (struct cpuid_regs){0, 0, 0, 0};
    }
    set32(&v->regs.rax, r.eax);
    set32(&v->regs.rbx, r.ebx);
    set32(&v->regs.rcx, r.ecx);
    set32(&v->regs.rdx, r.edx);
    v->cpuid_exits++;
    skip();
}

static __attribute__((noreturn)) void guest_ends(struct l0_vcpu *v, enum l0_end_kind kind,
                                                 const char *how, u32 port, u32 value)
{
    l0_end = (struct l0_end){kind, how, port, value, v->cpu, false};
    if (port == QEMU_EXIT_PORT)
        l0_end.failed = value != 0;
    l0_finish(v);
}

static u32 port_in(u16 port, u32 size)
{
    return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}

static void port_out(u16 port, u32 size, u32 value)
{
    if (size == 1)
        outb(port, (u8)value);
    else if (size == 2)
        outw(port, (u16)value);
    else
        outl(port, value);
}

void l0_exit_io(struct l0_vcpu *v, u64 qual)
{
    static const char shutdown[] = "Shutdown";
    static u32 matched; /* of Bochs' shutdown word */
    u16 port = (u16)(qual >> 16);
    u32 size = (u32)(qual & IO_QUAL_SIZE_MASK) + 1;
    u32 mask = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;

    v->io_exits++;
    if (qual & IO_QUAL_STRING)
        unexpected(v, EXIT_REASON_IO_INSTRUCTION, qual);
    if (qual & IO_QUAL_IN) {
        u32 value = port_in(port, size);
        v->regs.rax = (v->regs.rax & ~(u64)mask) | value;
        skip();
        return;
    }
    u32 value = (u32)v->regs.rax & mask;
    if (port == BOCHS_SHUTDOWN_PORT) {
        matched = (u8)value == (u8)shutdown[matched] ? matched + 1 : (u8)value == 'S';
        if (matched == sizeof(shutdown) - 1)
            guest_ends(v, L0_END_POWEROFF, "Bochs shutdown port", port, value);
        skip();
        return;
    }
    if (port == QEMU_EXIT_PORT)
        guest_ends(v, L0_END_POWEROFF, "isa-debug-exit", port, value);
    if (port == RESET_CONTROL_PORT && (value & RESET_CONTROL_RST_CPU))
        guest_ends(v, L0_END_RESET, "reset control register", port, value);
    if (port == KBC_COMMAND_PORT && (u8)value == KBC_PULSE_RESET)
        guest_ends(v, L0_END_RESET, "keyboard controller reset", port, value);
    u16 pm1a = pm1a_cnt();
    if (pm1a && (port == pm1a || port == pm1a + 1)) {
        u32 word = port == pm1a ? value : value << 8;
        if (word & PM1_SLP_EN)
            guest_ends(v, L0_END_POWEROFF, "ACPI sleep (PM1a control, SLP_EN)", port, value);
    }
    port_out(port, size, value);
    skip();
}

/* The x2APIC ICR (the MSR bitmap's one write exit). An INIT for a CPU
 * whose guest waits for its SIPI is dropped: the CPU is in the INIT state
 * already, and an INIT that reached it would be blocked there (26.2) and
 * exit as soon as the SIPI has started it -- and Bochs 2.7 never clears
 * such an INIT (docs/l0-deviations.md). One for a CPU whose L1 is in VMX
 * operation the L0 holds and gives L1 as the SDM says (nested_init.c);
 * to any other target it is sent, one by one. Everything else is written. */
void l0_exit_icr_write(struct l0_vcpu *v)
{
    u32 lo = (u32)v->regs.rax, dest = (u32)v->regs.rdx;
    u64 value = ((u64)dest << 32) | lo;
    u32 msr = (u32)v->regs.rcx;

    if (msr != X2APIC_MSR_BASE + (LAPIC_REG_ICR_LOW >> 4))
        unexpected(v, EXIT_REASON_MSR_WRITE, msr);
    if ((lo & ICR_DELIVERY_MODE_MASK) == ICR_INIT) {
        u32 shorthand = lo & ICR_SHORTHAND_MASK;
        for (u32 i = 0; i < smp_cpu_count(); i++) {
            bool target = shorthand == ICR_ALL_INCLUDING_SELF ||
                          (shorthand == ICR_ALL_EXCLUDING_SELF && i != v->cpu) ||
                          (shorthand == ICR_SELF && i == v->cpu) ||
                          (shorthand == 0 && cpus[i].apic_id == dest);
            if (!target)
                continue;
            if (cpus[i].online && l0_vcpus[i].waiting)
                l0_vcpus[i].inits_dropped++;
            else if ((lo & ICR_LEVEL_ASSERT) && !l0_nested_init_hold(i)) /* nested_init.c */
                wrmsr(msr, ((u64)cpus[i].apic_id << 32) | (lo & ~(u32)ICR_SHORTHAND_MASK));
        }
        skip();
        return;
    }
    wrmsr(msr, value);
    skip();
}

static u64 *gpr(struct l0_vcpu *v, u32 n)
{
    u64 *regs[16] = {&v->regs.rax, &v->regs.rcx, &v->regs.rdx, &v->regs.rbx, NULL,
                     &v->regs.rbp, &v->regs.rsi, &v->regs.rdi, &v->regs.r8, &v->regs.r9,
                     &v->regs.r10, &v->regs.r11, &v->regs.r12, &v->regs.r13, &v->regs.r14,
                     &v->regs.r15};
    return regs[n & 15];
}

/* A PAE guest's PDPTEs come from the VMCS on VM entry (27.3.2.4): load
 * them when a CR write starts PAE paging, as the processor would. */
void l0_load_pdptes(void)
{
    u64 cr3 = vmr(GUEST_CR3) & ~0x1full, hpa = l0_gpa_to_hpa(cr3);
    const u64 *pdpt = (const u64 *)(uintptr_t)hpa;
    if (hpa == ~0ull)
        return;
    vmw(GUEST_PDPTE0, pdpt[0]);
    vmw(GUEST_PDPTE1, pdpt[1]);
    vmw(GUEST_PDPTE2, pdpt[2]);
    vmw(GUEST_PDPTE3, pdpt[3]);
}

static void do_cr(struct l0_vcpu *v, u64 qual)
{
    u32 cr = qual & 15;
    v->cr_exits++;
    if (CR_QUAL_ACCESS(qual) != 0 || (cr != 0 && cr != 4) || CR_QUAL_GPR(qual) == 4)
        unexpected(v, EXIT_REASON_CR_ACCESS, qual);
    u64 value = *gpr(v, CR_QUAL_GPR(qual));
    u64 efer = vmr(GUEST_IA32_EFER), entry = vmr(VM_ENTRY_CONTROLS);
    if (cr == 0 && l0_nested_cr_refused(v, 0, value))
        return;
    if (cr == 0) {
        bool was_pg = vmr(GUEST_CR0) & CR0_PG, pg = value & CR0_PG;
        vmw(CR0_READ_SHADOW, value);
        vmw(GUEST_CR0, (value | (vmx_caps.cr0_fixed0 & ~(u64)(CR0_PE | CR0_PG))) &
                           vmx_caps.cr0_fixed1);
        if (pg && !was_pg && (efer & EFER_LME)) {
            vmw(GUEST_IA32_EFER, efer | EFER_LMA);
            vmw(VM_ENTRY_CONTROLS, entry | ENTRY_IA32E_MODE_GUEST);
        } else if (!pg && was_pg) {
            vmw(GUEST_IA32_EFER, efer & ~(u64)EFER_LMA);
            vmw(VM_ENTRY_CONTROLS, entry & ~(u64)ENTRY_IA32E_MODE_GUEST);
        }
    } else if (l0_nested_cr_refused(v, 4, value)) {
        return;
    } else {
        vmw(CR4_READ_SHADOW, value);
        vmw(GUEST_CR4, (value | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
    }
    if ((vmr(GUEST_CR0) & CR0_PG) && (vmr(GUEST_CR4) & CR4_PAE) &&
        !(vmr(GUEST_IA32_EFER) & EFER_LMA))
        l0_load_pdptes();
    skip();
}

static void do_xsetbv(struct l0_vcpu *v)
{
    u32 xcr = (u32)v->regs.rcx;
    u64 value = (v->regs.rdx << 32) | (u32)v->regs.rax;
    struct cpuid_regs d = cpuid(0xd, 0);
    u64 supported = ((u64)d.edx << 32) | d.eax;
    if (xcr != 0 || !(value & 1) || (value & ~supported))
        unexpected(v, EXIT_REASON_XSETBV, 0); /* the #GP case: not expected of the guest */
    __asm__ volatile("xsetbv" : : "c"(xcr), "a"((u32)value), "d"((u32)(value >> 32)));
    skip();
}

enum exit_action l0_on_exit(struct guest_regs *regs)
{
    struct l0_vcpu *v = (struct l0_vcpu *)regs;
    u32 reason = (u32)vmr(VM_EXIT_REASON);
    u64 qual = vmr(EXIT_QUALIFICATION);

    /* Bochs 2.7: after a wait-for-SIPI exit the CPU keeps SMIs (and NMIs)
     * masked and every later exit saves "blocking by SMI", which VM entry
     * then refuses outside SMM (27.3.1.5); no SMI is ever blocked here */
    if (vmr(GUEST_INTERRUPTIBILITY_INFO) & INTR_BLOCKING_SMI)
        vmw(GUEST_INTERRUPTIBILITY_INFO,
            vmr(GUEST_INTERRUPTIBILITY_INFO) & ~(u64)INTR_BLOCKING_SMI);
    if (l0_nested_in_l2(v))
        return l0_nested_l2_exit(v, reason);
    bool fresh = v->sipi_fresh;
    v->launched = true;
    v->exits++;
    v->sipi_fresh = false;
    if (l0_probing && reason != EXIT_REASON_CPUID &&
        !(l0_nested && reason >= EXIT_REASON_VMCALL && reason <= EXIT_REASON_VMXON))
        return EXIT_STOP;
    if (l0_nested_exit(v, reason)) /* EXIT_STOP: it made VMCS02 current */
        return v->switched ? EXIT_STOP : EXIT_RESUME;
    switch (reason) {
    case EXIT_REASON_CPUID:
        do_cpuid(v);
        return EXIT_RESUME;
    case EXIT_REASON_IO_INSTRUCTION:
        l0_exit_io(v, qual);
        return EXIT_RESUME;
    case EXIT_REASON_CR_ACCESS:
        do_cr(v, qual);
        return EXIT_RESUME;
    case EXIT_REASON_MSR_WRITE:
        l0_exit_icr_write(v);
        return EXIT_RESUME;
    case EXIT_REASON_XSETBV:
        do_xsetbv(v);
        return EXIT_RESUME;
    case EXIT_REASON_INIT:
        v->inits++;
        /* INIT is blocked in the wait-for-SIPI state (26.2): the INIT that
         * preceded the SIPI is still pending and exits at once when the
         * started CPU is entered. Its CPU is in the INIT state already.
         * (Bochs 2.7 reports blocking by SMI and NMI here, as after its
         * SIPI exit; neither holds outside SMM, 25.4.2: cleared.) */
        if (fresh) {
            vmw(GUEST_INTERRUPTIBILITY_INFO, vmr(GUEST_INTERRUPTIBILITY_INFO) &
                                                 ~(u64)(INTR_BLOCKING_SMI | INTR_BLOCKING_NMI));
            return EXIT_RESUME;
        }
        l0_vcpu_init_state(v);
        return EXIT_RESUME;
    case EXIT_REASON_SIPI:
        v->sipis++;
        l0_vcpu_sipi_state(v, (u32)(qual & 0xff));
        v->started = true;
        v->sipi_fresh = true;
        return EXIT_RESUME;
    case EXIT_REASON_TASK_SWITCH: {
        const char *why = l0_task_switch(v, qual);
        if (why)
            fatal("task switch of the guest on CPU %u (qualification 0x%llx) met %s; the L0 "
                  "emulates 32-bit TSSs only", v->cpu, qual, why);
        return EXIT_RESUME;
    }
    case EXIT_REASON_TRIPLE_FAULT:
        guest_ends(v, L0_END_RESET, "triple fault", 0, 0);
    default:
        unexpected(v, reason, qual);
    }
}
#endif
