/* A real-mode guest under "unrestricted guest" with EPT, on every CPU
 * (the guest program is in lhv/vmx/guest-modes.inc). */
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
        return vcpu_finish(v);
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

/* The real-mode guest (test_guest_real_mode), its OUTs exiting */
static void ug_guest_state(const struct ug_mem *m)
{
    test_guest_real_mode(m->eptp);
    vmw(CPU_BASED_VM_EXEC_CONTROL, vmr(CPU_BASED_VM_EXEC_CONTROL) | CPU_UNCONDITIONAL_IO_EXITING);
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
    struct vcpu *v = test_guest_hooked(o, ug_hook, &l);
    if (!v)
        return;
    memset(m->mem, 0, VG_RM_PAGES * PAGE_SIZE);
    memcpy(m->mem + VG_RM_LOAD, vg_rm_prog, (size_t)(vg_rm_prog_end - vg_rm_prog));
    ug_guest_state(m);
    memset(&v->regs, 0, sizeof(v->regs));
    bool ran = test_guest_run_at(o, v, VG_RM_LOAD, VG_RM_STACK_TOP, 0);
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
