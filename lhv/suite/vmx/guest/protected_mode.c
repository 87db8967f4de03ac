/* A 32-bit protected-mode guest with paging of its own (on the amd64 host
 * too), on every CPU (SDM 3C chapters 25 to 28; the guest program is in
 * lhv/vmx/guest-modes.inc). */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "lapic.h"
#include "pic.h"
#include "platform.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "trap.h"
#include "user.h"
#include "vmx/ept.h"
#include "vmx/guest_modes.h"
#include "vmx/vmx.h"
#include "x86.h"

/* ===== vmx/guest-32bit =====================================================
 * A guest in 32-bit protected mode with 32-bit paging of its own, whatever
 * the host: "IA-32e mode guest" clear (SDM 3C 25.8.1, 27.3.1.1), CS a 32-bit
 * segment of its own GDT, CR4.PAE clear and CR4.PSE set, CR3 a page
 * directory of 4 MiB pages that maps the low 4 GiB 1:1 (SDM 3A 4.3), with
 * CR3's ignored bits set (Table 4-3) and kept in the exit's CR3. It runs
 * vg_prog32 in place and reports back with VMCALL. */

struct g32_report {
    bool reported;
    u32 fib, push_width, dec_eax;
    u32 cs_ar, entry_ctls;
    u64 efer;
    unsigned long cr0, cr3, cr4;
};

static u32 *g32_pd;   /* shared by all CPUs: the guest only reads it (and sets A/D) */
static u64 *g32_gdt;  /* null, 32-bit code, 32-bit data, TSS; the TSS at +0x100 */
#define G32_CS 0x08
#define G32_DS 0x10
#define G32_TR 0x18
#define G32_TSS_OFFSET 0x100

static void g32_prepare(void)
{
    if (g32_pd)
        return;
    g32_pd = alloc_pages(1);
    for (u32 i = 0; i < 1024; i++)
        g32_pd[i] = (i << 22) | VG_PDE_4M;
    g32_gdt = alloc_pages(1);
    g32_gdt[1] = seg_desc(0, 0xfffff, 0x9b, 0xc);
    g32_gdt[2] = seg_desc(0, 0xfffff, 0x93, 0xc);
    g32_gdt[3] = seg_desc((u32)(uintptr_t)g32_gdt + G32_TSS_OFFSET, 103, 0x8b, 0);
}

static enum exit_action g32_hook(struct vcpu *v, u32 reason)
{
    struct g32_report *r = v->test_data;

    if (reason != EXIT_REASON_VMCALL)
        return EXIT_DEFAULT;
    if ((u32)REG_AX(v) == HC_DONE)
        return vcpu_finish(v);
    if ((u32)REG_AX(v) != VG_HC_REPORT)
        return EXIT_DEFAULT;
    r->reported = true;
    r->fib = (u32)REG_BX(v);
    r->push_width = (u32)REG_CX(v);
    r->dec_eax = (u32)REG_DX(v);
    r->cs_ar = (u32)vmr(GUEST_CS_AR_BYTES);
    r->entry_ctls = (u32)vmr(VM_ENTRY_CONTROLS); /* an exit saves EFER.LMA here (27.2) */
    if (vmr(VM_EXIT_CONTROLS) & EXIT_SAVE_IA32_EFER)
        r->efer = vmr(GUEST_IA32_EFER);
    r->cr0 = (unsigned long)vmr(GUEST_CR0);
    r->cr3 = (unsigned long)vmr(GUEST_CR3);
    r->cr4 = (unsigned long)vmr(GUEST_CR4);
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void check_guest_32bit(struct cpu_outcome *o, void *arg)
{
    struct g32_report r;
    u8 **stacks = arg;
    u8 *stack = stacks[this_cpu()->index];
    u32 a = 0, b = 1;

    memset(&r, 0, sizeof(r));
    struct vcpu *v = test_guest_hooked(o, g32_hook, &r);
    if (!v)
        return;
    if ((u64)(uintptr_t)vg_prog32 >> 32) {
        outcome_fail(o, "the 32-bit program is at 0x%lx, above 4 GiB", (unsigned long)vg_prog32);
        return;
    }
    u32 entry = (u32)vmr(VM_ENTRY_CONTROLS) & ~ENTRY_IA32E_MODE_GUEST;
    vmw(VM_ENTRY_CONTROLS, entry);
    if (entry & ENTRY_LOAD_IA32_EFER)
        vmw(GUEST_IA32_EFER, rdmsr(MSR_IA32_EFER) & ~(u64)(EFER_LME | EFER_LMA));
    vmw(GUEST_CR0, read_cr0());
    vmw(GUEST_CR3, (uintptr_t)g32_pd | CR3_IGNORED_32BIT);
    vmw(GUEST_CR4, vmx_caps.cr4_fixed0 | CR4_PSE);
    vmw(CR4_READ_SHADOW, CR4_PSE);
    vmcs_guest_segment(GUEST_CS_SELECTOR, G32_CS, 0, 0xffffffff, 0xc09b);
    vmcs_guest_segment(GUEST_SS_SELECTOR, G32_DS, 0, 0xffffffff, 0xc093);
    vmcs_guest_segment(GUEST_DS_SELECTOR, G32_DS, 0, 0xffffffff, 0xc093);
    vmcs_guest_segment(GUEST_ES_SELECTOR, G32_DS, 0, 0xffffffff, 0xc093);
    vmcs_guest_segment(GUEST_FS_SELECTOR, G32_DS, 0, 0xffffffff, 0xc093);
    vmcs_guest_segment(GUEST_GS_SELECTOR, G32_DS, 0, 0xffffffff, 0xc093);
    vmcs_guest_segment(GUEST_TR_SELECTOR, G32_TR, (u32)(uintptr_t)g32_gdt + G32_TSS_OFFSET, 103,
                  0x8b);
    vmw(GUEST_GDTR_BASE, (uintptr_t)g32_gdt);
    vmw(GUEST_GDTR_LIMIT, 4 * 8 - 1);
    vmw(GUEST_IDTR_BASE, 0);  /* every exception exits: no IDT needed */
    vmw(GUEST_IDTR_LIMIT, 0);
    memset(&v->regs, 0, sizeof(v->regs));
    if (!test_guest_run_at(o, v, (uintptr_t)vg_prog32, (uintptr_t)stack + PAGE_SIZE, 0))
        return;

    for (u32 i = 0; i < VG_FIB_N; i++) {
        u32 t = a + b;
        a = b;
        b = t;
    }
    if (!r.reported)
        outcome_fail(o, "the guest finished without its report");
    else if (r.dec_eax != 0xffffffff || r.push_width != 4)
        outcome_fail(o, "not 32-bit code: 0x48 gave EAX 0x%x (expected 0xffffffff), a push moved "
                     "ESP by %u (expected 4)", r.dec_eax, r.push_width);
    else if (r.fib != a)
        outcome_fail(o, "the guest computed F(%u) = 0x%x, expected 0x%x", VG_FIB_N, r.fib, a);
    else if ((r.cs_ar & (AR_L | AR_DB)) != AR_DB)
        outcome_fail(o, "guest CS access rights 0x%x: not a 32-bit segment", r.cs_ar);
    else if ((r.entry_ctls & ENTRY_IA32E_MODE_GUEST) || (r.efer & EFER_LMA))
        outcome_fail(o, "the guest was in IA-32e mode (entry controls 0x%x, EFER 0x%llx)",
                     r.entry_ctls, r.efer);
    else if (!(r.cr0 & CR0_PG) || (r.cr4 & CR4_PAE) || !(r.cr4 & CR4_PSE) ||
             r.cr3 != ((uintptr_t)g32_pd | CR3_IGNORED_32BIT))
        outcome_fail(o, "the guest's paging is not its own 32-bit paging: CR0 0x%lx CR3 0x%lx "
                     "CR4 0x%lx", r.cr0, r.cr3, r.cr4);
}

VMX_TEST("vmx/guest-32bit", test_guest_32bit);
static void test_guest_32bit(const char *name)
{
    static u8 *stacks[LHV_MAX_CPUS];

    if (vmx_caps.present && !(cpuid(1, 0).edx & CPUID1_EDX_PSE)) {
        verdict_skip(name, "no 4 MiB pages for the guest (CPUID.01H:EDX bit 3, PSE)");
        return;
    }
    if (vmx_caps.present) {
        g32_prepare();
        for (u32 i = 0; i < smp_cpu_count(); i++)
            if (cpus[i].online && !stacks[i])
                stacks[i] = alloc_pages(1);
    }
    verdict_all_cpus(name, check_guest_32bit, stacks);
}
