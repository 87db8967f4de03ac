/* Guests beyond the standard one, on every CPU: a 32-bit protected-mode
 * guest with paging of its own (on the amd64 host too), a real-mode guest
 * under "unrestricted guest" with EPT, ring 3 inside a guest, and external
 * interrupts that reach the guest or exit to the host (SDM 3C chapters 25
 * to 28; the guest programs are in lhv/vmx/guest-modes.inc). */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "lapic.h"
#include "pic.h"
#include "platform.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "vmx_test.h"
#include "trap.h"
#include "user.h"
#include "vmx/ept.h"
#include "vmx/guest_modes.h"
#include "vmx/vmx.h"
#include "x86.h"

#define SPIN_LIMIT 1000000u

/* I/O exit qualification (SDM 3C table 28-5) */

/* One guest per CPU for these tests, reset by each. */

/* The shared test guest with this test's hook and data */
static struct vcpu *fresh_guest(struct cpu_outcome *o, exit_hook hook, void *data)
{
    struct vcpu *v = test_guest(o);
    if (v) {
        v->hook = hook;
        v->test_data = data;
    }
    return v;
}

static u32 guest_cpl(void) { return (u32)(vmr(GUEST_SS_AR_BYTES) >> 5) & 3; }

/* Enters the guest at rip (not the standard guest_entry) with clean
 * registers and handles exits until the guest ends with HC_DONE. */
static bool run_from(struct cpu_outcome *o, struct vcpu *v, uintptr_t rip, uintptr_t rsp)
{
    memset(&v->regs, 0, sizeof(v->regs));
    return test_guest_run_at(o, v, rip, rsp, 0);
}


/* HC_DONE from a guest that is not 64-bit: taken on the low 32 bits of EAX */
static enum exit_action take_done(struct vcpu *v)
{
    return vcpu_finish(v);
}

/* ===== vmx/guest-32bit =====================================================
 * A guest in 32-bit protected mode with 32-bit paging of its own, whatever
 * the host: "IA-32e mode guest" clear (SDM 3C 25.8.1, 27.3.1.1), CS a 32-bit
 * segment of its own GDT, CR4.PAE clear and CR4.PSE set, CR3 a page
 * directory of 4 MiB pages that maps the low 4 GiB 1:1 (SDM 3A 4.3). It runs
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
        return take_done(v);
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
    struct vcpu *v = fresh_guest(o, g32_hook, &r);
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
    vmw(GUEST_CR3, (uintptr_t)g32_pd);
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
    if (!run_from(o, v, (uintptr_t)vg_prog32, (uintptr_t)stack + PAGE_SIZE))
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
             r.cr3 != (uintptr_t)g32_pd)
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

/* ===== vmx/unrestricted-guest ==============================================
 * "Unrestricted guest" (secondary control bit 7, which needs EPT, bit 1;
 * SDM 3C 25.6.2, 26.3.1.1) lets a guest run with paging off and in real
 * mode. The guest's memory is VG_RM_PAGES pages that EPT (29.3) maps at
 * guest-physical 0; every I/O exits (unconditional I/O exiting, reason 30,
 * qualification 28-5). The program (guest-modes.inc) goes real mode ->
 * protected mode -> paging on -> paging off -> real mode and reports each
 * step; the hook records what it saw, in order. */

enum ug_event { UG_IO1 = 1, UG_STEP1, UG_STEP2, UG_STEP3, UG_STEP4, UG_IO2, UG_STEP5 };
#define UG_EVENTS 7

struct ug_mem {
    u8 *mem;   /* the guest's memory, VG_RM_PAGES pages */
    u64 eptp;
};

struct ug_step {
    unsigned long cr0, cr3, cr4;
    u32 ecx, edx;
    u64 cs_base;
};

struct ug_log {
    u32 n;
    u8 event[UG_EVENTS + 1];
    struct ug_step step[6];  /* by step number */
    u32 io_qual[2];
    u8 io_data[2];
    u32 io_len[2];
    char bad[96];            /* an exit the program should not cause */
};

static struct ug_mem ug_mem[LHV_MAX_CPUS];

static const char *ug_unsupported(char *buf, size_t size)
{
    if (!(vmx_caps.proc.allowed1 & CPU_ACTIVATE_SECONDARY_CONTROLS))
        snprintf(buf, size, "no secondary controls (%s bit 31)", control_msr(CTL_PROC));
    else if (!vmx_has_proc2(CPU2_ENABLE_EPT))
        snprintf(buf, size, "EPT not supported (IA32_VMX_PROCBASED_CTLS2 bit 1)");
    else if (!vmx_has_proc2(CPU2_UNRESTRICTED_GUEST))
        snprintf(buf, size, "unrestricted guest not supported (IA32_VMX_PROCBASED_CTLS2 bit 7)");
    else if (!(vmx_caps.ept_vpid & EPT_CAP_WALK_4))
        snprintf(buf, size, "no 4-level EPT (IA32_VMX_EPT_VPID_CAP bit 6)");
    else if (!(vmx_caps.ept_vpid & (EPT_CAP_WB | EPT_CAP_UC)))
        snprintf(buf, size, "no EPT memory type (IA32_VMX_EPT_VPID_CAP bits 8 and 14)");
    else if (!(vmx_caps.proc.allowed1 & CPU_UNCONDITIONAL_IO_EXITING))
        snprintf(buf, size, "unconditional I/O exiting not supported (%s bit 24)", control_msr(CTL_PROC));
#ifdef __x86_64__
    /* The guest's EFER.LME must be clear for its 32-bit paging */
    else if (!(vmx_caps.entry.allowed1 & ENTRY_LOAD_IA32_EFER))
        snprintf(buf, size, "load IA32_EFER not supported (%s bit 15)", control_msr(CTL_ENTRY));
#endif
    else
        return NULL;
    return buf;
}

/* A 4-level EPT mapping guest-physical 0 .. VG_RM_PAGES pages to the
 * guest's memory and nothing else (SDM 3C 29.3.2, 25.6.11 for the EPTP). */
static void ug_prepare(struct ug_mem *m)
{
    u64 mt = (vmx_caps.ept_vpid & EPT_CAP_WB) ? MTRR_TYPE_WB : MTRR_TYPE_UC;
    u64 *pml4 = alloc_pages(4), *pdpt = pml4 + 512, *pd = pdpt + 512, *pt = pd + 512;

    m->mem = alloc_pages(VG_RM_PAGES);
    pml4[0] = (uintptr_t)pdpt | EPT_RWX;
    pdpt[0] = (uintptr_t)pd | EPT_RWX;
    pd[0] = (uintptr_t)pt | EPT_RWX;
    for (u32 i = 0; i < VG_RM_PAGES; i++)
        pt[i] = ((uintptr_t)m->mem + i * PAGE_SIZE) | EPT_RWX | (mt << 3);
    m->eptp = (uintptr_t)pml4 | mt | (3 << 3); /* page-walk length 4 - 1 */
}

static void ug_record(struct ug_log *l, enum ug_event e)
{
    if (l->n < UG_EVENTS + 1)
        l->event[l->n] = (u8)e;
    l->n++;
}

static enum exit_action ug_hook(struct vcpu *v, u32 reason)
{
    struct ug_log *l = v->test_data;

    if (reason == EXIT_REASON_IO_INSTRUCTION) {
        u32 k = l->n < 2 ? 0 : 1;
        l->io_qual[k] = (u32)v->exit_qual;
        l->io_data[k] = (u8)REG_AX(v);
        l->io_len[k] = (u32)vmr(VM_EXIT_INSTRUCTION_LEN);
        ug_record(l, k ? UG_IO2 : UG_IO1);
        vcpu_skip_instruction();
        return EXIT_RESUME;
    }
    if (reason != EXIT_REASON_VMCALL)
        return EXIT_DEFAULT;
    if ((u32)REG_AX(v) == HC_DONE)
        return take_done(v);
    u32 step = (u32)REG_BX(v);
    if ((u32)REG_AX(v) != VG_HC_REPORT || step < 1 || step > 5) {
        snprintf(l->bad, sizeof(l->bad), "VMCALL 0x%x, EBX %u", (u32)REG_AX(v), step);
        return EXIT_STOP;
    }
    struct ug_step *s = &l->step[step];
    s->cr0 = (unsigned long)vmr(GUEST_CR0);
    s->cr3 = (unsigned long)vmr(GUEST_CR3);
    s->cr4 = (unsigned long)vmr(GUEST_CR4);
    s->cs_base = vmr(GUEST_CS_BASE);
    s->ecx = (u32)REG_CX(v);
    s->edx = (u32)REG_DX(v);
    ug_record(l, step == 5 ? UG_STEP5 : (enum ug_event)(UG_STEP1 + step - 1));
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

/* Real-mode guest state (SDM 3C 26.3.1.2 as relaxed by unrestricted guest):
 * segments with base = selector * 16, 64 KiB limits, present and accessed,
 * DPL 0; CR0.PE and CR0.PG clear. */
static void ug_guest_state(const struct ug_mem *m)
{
    u32 proc2, missing;

    vmw(CPU_BASED_VM_EXEC_CONTROL, vmr(CPU_BASED_VM_EXEC_CONTROL) |
                                       CPU_ACTIVATE_SECONDARY_CONTROLS |
                                       CPU_UNCONDITIONAL_IO_EXITING);
    vmx_adjust(&vmx_caps.proc2, CPU2_ENABLE_EPT | CPU2_UNRESTRICTED_GUEST, &proc2, &missing);
    vmw(SECONDARY_VM_EXEC_CONTROL, proc2);
    vmw(EPT_POINTER, m->eptp);
    u32 entry = (u32)vmr(VM_ENTRY_CONTROLS) & ~ENTRY_IA32E_MODE_GUEST;
    vmw(VM_ENTRY_CONTROLS, entry);
    if (entry & ENTRY_LOAD_IA32_EFER)
        vmw(GUEST_IA32_EFER, 0);
    vmw(GUEST_CR0, (vmx_caps.cr0_fixed0 & ~(u64)(CR0_PE | CR0_PG)) | CR0_ET | CR0_NE);
    vmw(GUEST_CR3, 0);
    vmw(GUEST_CR4, vmx_caps.cr4_fixed0);
    vmw(CR4_READ_SHADOW, 0);
    vmcs_guest_segment(GUEST_CS_SELECTOR, 0, 0, 0xffff, 0x9b);
    vmcs_guest_segment(GUEST_SS_SELECTOR, 0, 0, 0xffff, 0x93);
    vmcs_guest_segment(GUEST_DS_SELECTOR, 0, 0, 0xffff, 0x93);
    vmcs_guest_segment(GUEST_ES_SELECTOR, 0, 0, 0xffff, 0x93);
    vmcs_guest_segment(GUEST_FS_SELECTOR, 0, 0, 0xffff, 0x93);
    vmcs_guest_segment(GUEST_GS_SELECTOR, 0, 0, 0xffff, 0x93);
    vmcs_guest_segment(GUEST_TR_SELECTOR, 0, 0, 0xffff, 0x8b);
    vmcs_guest_segment(GUEST_LDTR_SELECTOR, 0, 0, 0, AR_UNUSABLE);
    vmw(GUEST_GDTR_BASE, 0);
    vmw(GUEST_GDTR_LIMIT, 0xffff);
    vmw(GUEST_IDTR_BASE, 0);
    vmw(GUEST_IDTR_LIMIT, 0x3ff);
    vmw(GUEST_IA32_DEBUGCTL, 0);
}

static const char *ug_event_name(u8 e)
{
    static const char *const names[] = {"?", "OUT", "step 1", "step 2", "step 3", "step 4",
                                        "second OUT", "step 5"};
    return e < sizeof(names) / sizeof(names[0]) ? names[e] : "?";
}

/* The checks of one I/O exit: OUT AL to VG_PORT with an immediate port, a
 * 2-byte instruction */
static bool ug_check_io(struct cpu_outcome *o, const struct ug_log *l, u32 k, u8 want)
{
    u32 q = l->io_qual[k];
    if ((q >> 16) != VG_PORT || (q & (IO_QUAL_SIZE_MASK | IO_QUAL_IN | IO_QUAL_STRING)) != 0 ||
        !(q & IO_QUAL_IMM) || l->io_data[k] != want || l->io_len[k] != 2) {
        outcome_fail(o, "I/O exit %u: qualification 0x%x (port 0x%x), AL 0x%x, length %u; "
                     "expected port 0x%x, 1-byte OUT, immediate, AL 0x%x, length 2", k + 1, q,
                     q >> 16, l->io_data[k], l->io_len[k], VG_PORT, want);
        return false;
    }
    return true;
}

static void check_unrestricted(struct cpu_outcome *o, void *arg)
{
    static const u8 expected[UG_EVENTS] = {UG_IO1, UG_STEP1, UG_STEP2, UG_STEP3,
                                           UG_STEP4, UG_IO2, UG_STEP5};
    /* CR0.PE and CR0.PG at each step */
    static const unsigned long modes[6] = {0, 0, CR0_PE, CR0_PE | CR0_PG, CR0_PE, 0};
    struct ug_mem *m = &ug_mem[this_cpu()->index];
    struct ug_log l;
    char why[96];
    (void)arg;

    memset(&l, 0, sizeof(l));
    if (vmx_unavailable()) {
        outcome_skip(o, "%s", vmx_unavailable());
        return;
    }
    if (ug_unsupported(why, sizeof(why))) {
        outcome_skip(o, "%s", why);
        return;
    }
    struct vcpu *v = fresh_guest(o, ug_hook, &l);
    if (!v)
        return;
    memset(m->mem, 0, VG_RM_PAGES * PAGE_SIZE);
    memcpy(m->mem + VG_RM_LOAD, vg_rm_prog, (size_t)(vg_rm_prog_end - vg_rm_prog));
    ug_guest_state(m);
    bool ran = run_from(o, v, VG_RM_LOAD, VG_RM_STACK_TOP);
    if (l.bad[0]) {
        outcome_fail(o, "unexpected %s after %u events", l.bad, l.n);
        return;
    }
    if (!ran)
        return;
    for (u32 i = 0; i < UG_EVENTS; i++)
        if (i >= l.n || l.event[i] != expected[i]) {
            outcome_fail(o, "event %u was %s, expected %s (%u events)", i + 1,
                         i < l.n ? ug_event_name(l.event[i]) : "missing",
                         ug_event_name(expected[i]), l.n);
            return;
        }
    if (l.n != UG_EVENTS) {
        outcome_fail(o, "%u events, expected %u", l.n, UG_EVENTS);
        return;
    }
    if (!ug_check_io(o, &l, 0, VG_RM_OUT1) || !ug_check_io(o, &l, 1, VG_RM_OUT2))
        return;
    for (u32 s = 1; s <= 5; s++)
        if ((l.step[s].cr0 & (CR0_PE | CR0_PG)) != modes[s]) {
            outcome_fail(o, "step %u: guest CR0 0x%lx, expected PE %u PG %u", s, l.step[s].cr0,
                         !!(modes[s] & CR0_PE), !!(modes[s] & CR0_PG));
            return;
        }
    const struct ug_step *p = &l.step[3];
    u32 in_memory = *(volatile u32 *)(m->mem + VG_RM_DATA);
    if (p->cr3 != VG_RM_PD || !(p->cr4 & CR4_PSE) || (p->cr4 & CR4_PAE))
        outcome_fail(o, "paging on: guest CR3 0x%lx CR4 0x%lx, expected CR3 0x%x and 32-bit "
                     "paging with PSE", p->cr3, p->cr4, VG_RM_PD);
    else if ((p->ecx & (PDE_ACCESSED | PDE_DIRTY)) != (PDE_ACCESSED | PDE_DIRTY) ||
             (p->ecx & ~(u32)(PDE_ACCESSED | PDE_DIRTY)) != VG_PDE_4M)
        outcome_fail(o, "the guest's PDE reads 0x%x, expected 0x%x with accessed and dirty set",
                     p->ecx, VG_PDE_4M);
    else if (p->edx != VG_RM_MAGIC || in_memory != VG_RM_MAGIC)
        outcome_fail(o, "the guest read back 0x%x, its memory holds 0x%x (EPT), expected 0x%x",
                     p->edx, in_memory, VG_RM_MAGIC);
    else if (l.step[5].cs_base != 0)
        outcome_fail(o, "back in real mode, CS base 0x%llx, expected 0", l.step[5].cs_base);
}

VMX_TEST("vmx/unrestricted-guest", test_unrestricted);
static void test_unrestricted(const char *name)
{
    char why[96];

    if (vmx_caps.present && !ug_unsupported(why, sizeof(why)))
        for (u32 i = 0; i < smp_cpu_count(); i++)
            if (cpus[i].online && !ug_mem[i].mem)
                ug_prepare(&ug_mem[i]);
    verdict_all_cpus(name, check_unrestricted, NULL);
}

/* ===== vmx/guest-ring3 =====================================================
 * Ring 3 inside the standard guest (64-bit on amd64, 32-bit on i386): the
 * guest IRETs to the ring-3 program in the host's user page, whose pages
 * are user-accessible in the page tables the guest shares (user.h). Its
 * VMCALL exits and LHV refuses it (CPL > 0: RAX = ~0), its CPUID exits all
 * the same (SDM 3C 26.1.2: at any CPL) and the hook answers, and it comes
 * back to ring 0 through a DPL-3 gate of the guest's own IDT, on the stack
 * its own TSS names (SDM 3A 6.12.1). */

struct r3_log {
    u32 vmcalls_cpl3, cpuids_cpl3, other_cpl3;
    u32 vmcall_cs, cpuid_cs;
};

struct r3_cpu {
    void *tss;               /* the guest's TSS */
    u8 *ring0_stack;         /* its ring-0 stack page */
};

struct r3_run {
    uintptr_t user_sp;
    unsigned long *slots;
    unsigned long out[3];    /* ESI (VMCALL answer), EDI (CPUID answer), CS */
};

static struct r3_cpu r3_cpus[LHV_MAX_CPUS];
static void *r3_idt;

static enum exit_action r3_hook(struct vcpu *v, u32 reason)
{
    struct r3_log *l = v->test_data;
    u32 cpl = guest_cpl();

    if (cpl != 3)
        return EXIT_DEFAULT;
    if (reason == EXIT_REASON_VMCALL) {
        l->vmcalls_cpl3++;
        l->vmcall_cs = (u32)vmr(GUEST_CS_SELECTOR);
        return EXIT_DEFAULT; /* handle_vmcall refuses it */
    }
    if (reason == EXIT_REASON_CPUID && (u32)REG_AX(v) == VG_LEAF) {
        l->cpuids_cpl3++;
        l->cpuid_cs = (u32)vmr(GUEST_CS_SELECTOR);
        REG_AX(v) = VG_ANSWER;
        REG_BX(v) = REG_CX(v) = REG_DX(v) = 0;
        vcpu_skip_instruction();
        return EXIT_RESUME;
    }
    l->other_cpl3++;
    return EXIT_DEFAULT;
}

static void guest_ring3(void *arg)
{
    struct r3_run *r = arg;
    r->slots[1] = (uintptr_t)r->out;
    vg_ring3_run(USER_CODE_PAGE + VG_R3_OFFSET, r->user_sp, r->slots);
}

static void r3_prepare_cpu(struct r3_cpu *c)
{
    struct tss *t;

    c->tss = alloc_pages(1);
    c->ring0_stack = alloc_pages(1);
    t = c->tss;
#ifdef __x86_64__
    t->rsp[0] = (uintptr_t)c->ring0_stack + VG_R3_SLOTS;
#else
    t->esp0 = (uintptr_t)c->ring0_stack + VG_R3_SLOTS;
    t->ss0 = SEL_KDATA;
#endif
    t->iomap_base = sizeof(*t);
}

/* This CPU's guest for ring 3: its own TSS (ring-0 stack) and IDT (the
 * DPL-3 gate); r gets the ring-3 stack and the slots */
static struct vcpu *r3_guest(struct cpu_outcome *o, exit_hook hook, void *log, struct r3_run *r)
{
    u32 cpu = this_cpu()->index;
    struct r3_cpu *c = &r3_cpus[cpu];
    struct vcpu *v = fresh_guest(o, hook, log);

    memset(r, 0, sizeof(*r));
    if (!v)
        return NULL;
    /* The ring-3 programs push nothing; each CPU gets its own spot anyway */
    r->user_sp = USER_STACK_PAGE + PAGE_SIZE - 64 * (cpu % 32);
    r->slots = (unsigned long *)(c->ring0_stack + VG_R3_SLOTS);
    vmw(GUEST_TR_BASE, (uintptr_t)c->tss);
    vmw(GUEST_TR_LIMIT, sizeof(struct tss) - 1);
    vmw(GUEST_IDTR_BASE, (uintptr_t)r3_idt);
    vmw(GUEST_IDTR_LIMIT, 256 * IDT_GATE_SIZE - 1);
    return v;
}

static void check_ring3(struct cpu_outcome *o, void *arg)
{
    struct r3_log l;
    struct r3_run r;
    (void)arg;

    memset(&l, 0, sizeof(l));
    struct vcpu *v = r3_guest(o, r3_hook, &l, &r);
    if (!v || !test_guest_run(o, v, guest_ring3, &r))
        return;
    if (l.vmcalls_cpl3 != 1 || l.cpuids_cpl3 != 1 || l.other_cpl3)
        outcome_fail(o, "exits from CPL 3: %u VMCALL, %u CPUID, %u other; expected one VMCALL "
                     "and one CPUID", l.vmcalls_cpl3, l.cpuids_cpl3, l.other_cpl3);
    else if (l.vmcall_cs != SEL_UCODE || l.cpuid_cs != SEL_UCODE)
        outcome_fail(o, "guest CS at the ring-3 exits 0x%x and 0x%x, expected 0x%x", l.vmcall_cs,
                     l.cpuid_cs, SEL_UCODE);
    else if ((u32)r.out[0] != 0xffffffffu)
        outcome_fail(o, "a VMCALL from ring 3 was answered 0x%x, expected refused (0xffffffff)",
                     (u32)r.out[0]);
    else if ((u32)r.out[1] != VG_ANSWER)
        outcome_fail(o, "CPUID from ring 3 gave EAX 0x%x, expected the host's 0x%x",
                     (u32)r.out[1], VG_ANSWER);
    else if ((u32)r.out[2] != SEL_UCODE)
        outcome_fail(o, "the gate's frame names CS 0x%x, expected the user code 0x%x",
                     (u32)r.out[2], SEL_UCODE);
}

/* The user page's programs, the guest IDT and each CPU's TSS; false after
 * verdict_skip when there are no user pages */
static bool r3_prepare(const char *name)
{
    if (!vmx_caps.present)
        return true;
    if (!platform.user_pages) {
        verdict_skip(name, "no user pages (user.h: 0x%x and 0x%x are not usable RAM)",
                     USER_CODE_PAGE, USER_STACK_PAGE);
        return false;
    }
    if (!r3_idt) {
        r3_idt = alloc_pages(1);
        test_idt_gate(r3_idt, VG_GATE_VEC, vg_ring3_gate, 3);
        memcpy((void *)(USER_CODE_PAGE + VG_R3_OFFSET), vg_r3_prog,
               (size_t)(vg_r3_prog_end - vg_r3_prog));
        memcpy((void *)(USER_CODE_PAGE + VG_R3_XSETBV_OFFSET), vg_r3_xsetbv,
               (size_t)(vg_r3_xsetbv_end - vg_r3_xsetbv));
    }
    for (u32 i = 0; i < smp_cpu_count(); i++)
        if (cpus[i].online && !r3_cpus[i].tss)
            r3_prepare_cpu(&r3_cpus[i]);
    return true;
}

VMX_TEST("vmx/guest-ring3", test_guest_ring3);
static void test_guest_ring3(const char *name)
{
    if (r3_prepare(name))
        verdict_all_cpus(name, check_ring3, NULL);
}

/* ===== vmx/xsetbv-cpl3 =====================================================
 * XSETBV exits unconditionally (SDM 3C 26.1.2), but faults based on
 * privilege level come before that exit (26.1.1): at CPL 3 XSETBV raises
 * #GP(0) (SDM 2 XSETBV) in the guest, which with #GP in the exception
 * bitmap exits with reason 0, vector 13, error code 0, at the XSETBV, never
 * with reason 55. The guest has CR4.OSXSAVE (else #UD); the host steps the
 * ring-3 program over the XSETBV (3 bytes) and it returns to ring 0. */

#define XSETBV_LEN 3

struct xs_log {
    u32 gp_exits, xsetbv_exits, xsetbv_cpl;
    u32 info, error, cpl;
    uintptr_t rip;
};

static enum exit_action xs_hook(struct vcpu *v, u32 reason)
{
    struct xs_log *l = v->test_data;

    if (reason == EXIT_REASON_XSETBV) {
        l->xsetbv_exits++;
        l->xsetbv_cpl = guest_cpl();
        vcpu_skip_instruction();
        return EXIT_RESUME;
    }
    if (reason != EXIT_REASON_EXCEPTION_NMI)
        return EXIT_DEFAULT;
    if (l->gp_exits++)
        return EXIT_DEFAULT; /* one #GP only: the next one fails the guest */
    l->info = (u32)vmr(VM_EXIT_INTR_INFO);
    l->error = (u32)vmr(VM_EXIT_INTR_ERROR_CODE);
    l->rip = (uintptr_t)vmr(GUEST_RIP);
    l->cpl = guest_cpl();
    vmw(GUEST_RIP, l->rip + XSETBV_LEN); /* a fault has no instruction length (28.2.5) */
    return EXIT_RESUME;
}

static void guest_xsetbv_cpl3(void *arg)
{
    struct r3_run *r = arg;
    r->slots[1] = (uintptr_t)r->out;
    vg_ring3_run(USER_CODE_PAGE + VG_R3_XSETBV_OFFSET, r->user_sp, r->slots);
}

static void check_xsetbv_cpl3(struct cpu_outcome *o, void *arg)
{
    uintptr_t at = USER_CODE_PAGE + VG_R3_XSETBV_OFFSET + (uintptr_t)(vg_r3_xsetbv_insn - vg_r3_xsetbv);
    u32 want = INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_GP) | INTR_INFO_DELIVER_CODE;
    struct xs_log l;
    struct r3_run r;
    (void)arg;

    if (vmx_caps.present && (!(cpuid(1, 0).ecx & CPUID1_ECX_XSAVE) ||
                             !(vmx_caps.cr4_fixed1 & CR4_OSXSAVE))) {
        outcome_skip(o, "no XSAVE (CPUID.01H:ECX bit 26) or CR4.OSXSAVE not allowed in VMX "
                     "operation (IA32_VMX_CR4_FIXED1 bit 18)");
        return;
    }
    memset(&l, 0, sizeof(l));
    struct vcpu *v = r3_guest(o, xs_hook, &l, &r);
    if (!v)
        return;
    vmw(GUEST_CR4, vmr(GUEST_CR4) | CR4_OSXSAVE);
    if (!test_guest_run(o, v, guest_xsetbv_cpl3, &r))
        return;
    /* Bochs 2.7 and 3.0 (cpu/xsave.cc, XSETBV) make the VM exit before
     * their CPL check: the exit comes instead of the #GP. */
    if (l.xsetbv_exits == 1 && l.xsetbv_cpl == 3 && l.gp_exits == 0 &&
        l0_bochs_deviates(BOCHS_2_7_AND_3_0))
        outcome_xfail(o, "%s: VM exit (reason 55) for XSETBV at CPL 3 instead of #GP "
                      "(SDM 3C 26.1.1)", l0_bochs_names(BOCHS_2_7_AND_3_0));
    else if (l.xsetbv_exits || l.gp_exits != 1)
        outcome_fail(o, "XSETBV at CPL 3: %u XSETBV exits (55), %u exception exits; expected "
                     "no XSETBV exit and one #GP", l.xsetbv_exits, l.gp_exits);
    else if (l.info != want || l.error != 0 || l.rip != at || l.cpl != 3)
        outcome_fail(o, "XSETBV at CPL 3: interruption info 0x%x error 0x%x at RIP 0x%lx CPL %u; "
                     "expected 0x%x error 0 at 0x%lx CPL 3", l.info, l.error,
                     (unsigned long)l.rip, l.cpl, want, (unsigned long)at);
    else if ((u32)r.out[2] != SEL_UCODE)
        outcome_fail(o, "the ring-3 program did not come back through its gate (CS 0x%x)",
                     (u32)r.out[2]);
}

VMX_TEST("vmx/xsetbv-cpl3", test_xsetbv_cpl3);
static void test_xsetbv_cpl3(const char *name)
{
    if (r3_prepare(name))
        verdict_all_cpus(name, check_xsetbv_cpl3, NULL);
}

/* ===== interrupts ==========================================================
 * Both tests send a self-IPI from inside the guest (the LAPIC is the host's:
 * no APIC virtualization, no MSR exits). Each vector has a host handler too,
 * which counts what reaches the host. */

static volatile u32 host_got[2][LHV_MAX_CPUS]; /* [0] VG_VEC_GUEST, [1] VG_VEC_EXIT */
static volatile u32 guest_got[LHV_MAX_CPUS];   /* VG_VEC_GUEST in the guest */

static void host_vec_guest(struct trap_frame *f)
{
    (void)f;
    host_got[0][this_cpu()->index]++;
    lapic_eoi();
}

static void host_vec_exit(struct trap_frame *f)
{
    (void)f;
    host_got[1][this_cpu()->index]++;
    lapic_eoi();
}

static bool lapic_vector_bit(u32 base_reg, u32 vector)
{
    return (lapic_read(base_reg + 0x10 * (vector / 32)) >> (vector % 32)) & 1;
}

/* ===== vmx/interrupt-to-guest ==============================================
 * With "external-interrupt exiting" clear (SDM 3C 25.6.1) an interrupt that
 * arrives while the guest runs goes through the guest's IDT when the
 * guest's RFLAGS.IF allows (26.1, 6.8.1), with no exit. The guest's IDT is
 * a copy of the host's with VG_VEC_GUEST pointing to vg_irq_stub, so any
 * host interrupt that comes in that window still runs the host's handler. */

struct irq_run {
    u32 apic_id;
    u32 spins;
    bool timed_out;
};

struct irq_log {
    u32 ext_exits;
};

static void *irq_idt;

void vg_guest_irq(void)
{
    guest_got[this_cpu()->index]++;
    lapic_eoi();
}

static void guest_irq(void *arg)
{
    struct irq_run *r = arg;
    volatile u32 *got = &guest_got[this_cpu()->index];
    u32 i;

    lapic_send_ipi(r->apic_id, VG_VEC_GUEST); /* pending: IF is clear */
    __asm__ volatile("sti" : : : "memory");
    for (i = 0; i < SPIN_LIMIT && !*got; i++)
        cpu_relax();
    __asm__ volatile("cli" : : : "memory");
    r->spins = i;
    r->timed_out = i == SPIN_LIMIT;
}

static enum exit_action irq_hook(struct vcpu *v, u32 reason)
{
    struct irq_log *l = v->test_data;
    if (reason == EXIT_REASON_EXTERNAL_INTERRUPT)
        l->ext_exits++;
    return EXIT_DEFAULT;
}

static void check_irq_to_guest(struct cpu_outcome *o, void *arg)
{
    u32 cpu = this_cpu()->index;
    struct irq_run r = {this_cpu()->apic_id, 0, false};
    struct irq_log l = {0};
    (void)arg;

    if (!require_control_clear(o, CTL_PIN, PIN_EXTERNAL_INTERRUPT_EXITING,
                               "external-interrupt exiting"))
        return;
    struct vcpu *v = fresh_guest(o, irq_hook, &l);
    if (!v)
        return;
    vmw(PIN_BASED_VM_EXEC_CONTROL, vmr(PIN_BASED_VM_EXEC_CONTROL) &
                                       ~(u64)PIN_EXTERNAL_INTERRUPT_EXITING);
    vmw(GUEST_IDTR_BASE, (uintptr_t)irq_idt);
    guest_got[cpu] = 0;
    host_got[0][cpu] = 0;
    if (!test_guest_run(o, v, guest_irq, &r))
        return;
    if (guest_got[cpu] != 1 || host_got[0][cpu] != 0)
        outcome_fail(o, "vector 0x%x reached the guest %u times, the host %u times; expected "
                     "the guest once (%s, %u external-interrupt exits)", VG_VEC_GUEST,
                     guest_got[cpu], host_got[0][cpu],
                     r.timed_out ? "the guest gave up waiting" : "the guest saw it", l.ext_exits);
    else if (l.ext_exits)
        outcome_fail(o, "%u external-interrupt exits with the control clear", l.ext_exits);
}

VMX_TEST("vmx/interrupt-to-guest", test_irq_to_guest);
static void test_irq_to_guest(const char *name)
{
    trap_set_handler(VG_VEC_GUEST, host_vec_guest);
    if (vmx_caps.present && !irq_idt) {
        struct {
            u16 limit;
            uintptr_t base;
        } __attribute__((packed)) idtr;
        __asm__ volatile("sidt %0" : "=m"(idtr));
        irq_idt = alloc_pages(1);
        memcpy(irq_idt, (void *)idtr.base, (size_t)idtr.limit + 1);
        test_idt_gate(irq_idt, VG_VEC_GUEST, vg_irq_stub, 0);
    }
    verdict_all_cpus(name, check_irq_to_guest, NULL);
}

/* ===== vmx/external-interrupt-exiting ======================================
 * With "external-interrupt exiting" set, an interrupt exits with reason 1
 * whatever the guest's RFLAGS.IF (SDM 3C 25.6.1, 26.2). With "acknowledge
 * interrupt on exit" (25.7.1, 27.2.2) the CPU takes the vector from the
 * LAPIC during the exit (IRR bit clear, ISR bit set) and names it in
 * VM_EXIT_INTR_INFO (valid, type 0 = external); the host EOIs it. Without,
 * the info is not valid, the interrupt stays pending in the IRR, and the
 * host takes it through its own IDT once it enables interrupts. The guest
 * keeps IF clear throughout. With acknowledge on, the guest first sends
 * VG_VEC_GUEST as well: a vector taken on exit that is not the test's own
 * goes to the host's handler through vg_host_deliver, and must get there
 * once (the path that keeps host interrupts from being lost). */

struct ext_run {
    u32 apic_id;
    bool ack;
    volatile u32 exited;   /* set by the hook, watched by the guest */
    u32 ext_exits, foreign;
    u32 info;              /* VM_EXIT_INTR_INFO of the exit for VG_VEC_EXIT */
    bool irr, isr;         /* the vector's LAPIC IRR and ISR bits in the hook */
    u32 bad_info;          /* an info that should not be (ack off: valid) */
    u32 infos[4];          /* of the first external-interrupt exits */
};


static void guest_ext(void *arg)
{
    struct ext_run *r = arg;
    if (r->ack) /* another vector first: the host's handler must get it */
        lapic_send_ipi(r->apic_id, VG_VEC_GUEST);
    lapic_send_ipi(r->apic_id, VG_VEC_EXIT);
    for (u32 i = 0; i < SPIN_LIMIT && !r->exited; i++)
        cpu_relax();
}

static enum exit_action ext_hook(struct vcpu *v, u32 reason)
{
    struct ext_run *r = v->test_data;

    if (reason != EXIT_REASON_EXTERNAL_INTERRUPT)
        return EXIT_DEFAULT;
    u32 info = (u32)vmr(VM_EXIT_INTR_INFO);
    if (r->ext_exits < 4)
        r->infos[r->ext_exits] = info;
    r->ext_exits++;
    if (r->ack) {
        if (!(info & INTR_INFO_VALID)) {
            r->bad_info = info ? info : 0xdead;
            return EXIT_DEFAULT;
        }
        u32 vector = info & 0xff;
        if (vector != VG_VEC_EXIT) {
            /* Someone else's interrupt, taken from the controller: the host
             * handles it as if it had arrived (it EOIs) */
            r->foreign++;
            vg_host_deliver(vector);
            return EXIT_RESUME;
        }
        r->info = info;
        r->irr = lapic_vector_bit(LAPIC_REG_IRR, vector);
        r->isr = lapic_vector_bit(LAPIC_REG_ISR, vector);
        lapic_eoi();
        r->exited = 1;
        return EXIT_RESUME;
    }
    if (info & INTR_INFO_VALID)
        r->bad_info = info;
    if (!r->exited && lapic_vector_bit(LAPIC_REG_IRR, VG_VEC_EXIT)) {
        r->info = info;
        r->irr = true;
        r->isr = lapic_vector_bit(LAPIC_REG_ISR, VG_VEC_EXIT);
        r->exited = 1;
    }
    return EXIT_DEFAULT; /* handle_external_interrupt: the host takes it */
}

static bool ext_once(struct cpu_outcome *o, struct vcpu *v, bool ack)
{
    u32 cpu = this_cpu()->index;
    struct ext_run r;
    const char *how = ack ? "acknowledge on exit" : "no acknowledge on exit";

    memset(&r, 0, sizeof(r));
    r.apic_id = this_cpu()->apic_id;
    r.ack = ack;
    v->hook = ext_hook;
    v->test_data = &r;
    u32 exit_ctls = (u32)vmr(VM_EXIT_CONTROLS) & ~EXIT_ACK_INTERRUPT_ON_EXIT;
    vmw(VM_EXIT_CONTROLS, exit_ctls | (ack ? EXIT_ACK_INTERRUPT_ON_EXIT : 0));
    host_got[0][cpu] = host_got[1][cpu] = 0;
    /* Host interrupts that waited while this CPU ran with interrupts off
     * (the PIT on the BSP) are taken now, and the 8259 stays masked while
     * the guest runs (it reaches the BSP only): Bochs 2.7 stops exiting for
     * LAPIC interrupts after an exit caused by a PIC interrupt, until the
     * host toggles EFLAGS.IF. An edge that comes meanwhile waits in the
     * 8259, as it would with interrupts off. */
    unsigned long flags = irq_save();
    __asm__ volatile("sti\n\tnop\n\tcli" : : : "memory");
    u8 pic_mask = cpu == 0 ? inb(PIC_MASTER_DATA) : 0;
    if (cpu == 0)
        outb(PIC_MASTER_DATA, 0xff);
    bool ran = test_guest_run(o, v, guest_ext, &r);
    if (cpu == 0)
        outb(PIC_MASTER_DATA, pic_mask);
    irq_restore(flags);
    if (!ran)
        return false;
    u32 host = host_got[1][cpu], other = host_got[0][cpu];
    if (r.bad_info)
        outcome_fail(o, "%s: VM_EXIT_INTR_INFO 0x%x", how, r.bad_info);
    else if (!r.exited)
        outcome_fail(o, "%s: no external-interrupt exit for vector 0x%x (%u such exits, "
                     "interruption info 0x%x 0x%x 0x%x ...; host took it %u times)", how,
                     VG_VEC_EXIT, r.ext_exits, r.infos[0], r.infos[1], r.infos[2], host);
    else if (ack && (r.info != (INTR_INFO_VALID | VG_VEC_EXIT) || r.irr || !r.isr || host))
        outcome_fail(o, "%s: VM_EXIT_INTR_INFO 0x%x (expected 0x%x), LAPIC IRR %u ISR %u "
                     "(expected 0 1), host handler ran %u times (expected 0)", how, r.info,
                     INTR_INFO_VALID | VG_VEC_EXIT, r.irr, r.isr, host);
    else if (!ack && (r.info & INTR_INFO_VALID || !r.irr || r.isr || host != 1))
        outcome_fail(o, "%s: VM_EXIT_INTR_INFO 0x%x (expected not valid), LAPIC IRR %u ISR %u "
                     "(expected 1 0), host handler ran %u times (expected 1)", how, r.info,
                     r.irr, r.isr, host);
    else if (ack && other != 1)
        outcome_fail(o, "%s: vector 0x%x, taken on exit too, reached the host's handler %u "
                     "times (%u other vectors on exit), expected once", how, VG_VEC_GUEST, other,
                     r.foreign);
    else
        return true;
    return false;
}

static void check_ext_exiting(struct cpu_outcome *o, void *arg)
{
    (void)arg;

    if (!require_control(o, CTL_PIN, PIN_EXTERNAL_INTERRUPT_EXITING, "external-interrupt exiting"))
        return;
    struct vcpu *v = fresh_guest(o, NULL, NULL);
    if (!v)
        return;
    vmw(PIN_BASED_VM_EXEC_CONTROL, vmr(PIN_BASED_VM_EXEC_CONTROL) |
                                       PIN_EXTERNAL_INTERRUPT_EXITING);
    if (!ext_once(o, v, false))
        return;
    if (!(vmx_caps.exit.allowed1 & EXIT_ACK_INTERRUPT_ON_EXIT))
        outcome_skip(o, "acknowledge interrupt on exit not supported (%s bit 15); the exit "
                     "without it passed", control_msr(CTL_EXIT));
    else
        ext_once(o, v, true);
}

VMX_TEST("vmx/external-interrupt-exiting", test_ext_exiting);
static void test_ext_exiting(const char *name)
{
    trap_set_handler(VG_VEC_GUEST, host_vec_guest);
    trap_set_handler(VG_VEC_EXIT, host_vec_exit);
    verdict_all_cpus(name, check_ext_exiting, NULL);
}
