/* Ring 3 inside a guest, on every CPU: hypercalls refused, CPUID exits,
 * the way back through a DPL-3 gate; XSETBV at CPL 3 faults before it
 * would exit. */
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
#include "suite/vmx/guest/ring3.h"
#include "vmx/ept.h"
#include "vmx/guest_modes.h"
#include "vmx/vmx.h"
#include "x86.h"

static u32 guest_cpl(void) { return (u32)(vmr(GUEST_SS_AR_BYTES) >> 5) & 3; }

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

struct vcpu *r3_guest(struct cpu_outcome *o, exit_hook hook, void *log, struct r3_run *r)
{
    u32 cpu = this_cpu()->index;
    struct r3_cpu *c = &r3_cpus[cpu];
    struct vcpu *v = test_guest_hooked(o, hook, log);

    memset(r, 0, sizeof(*r));
    if (!v)
        return NULL;
    /* The ring-3 programs push nothing; each CPU gets its own spot anyway */
    r->user_sp = USER_STACK_PAGE + PAGE_SIZE - 64 * (cpu % 32);
    r->slots = (unsigned long *)(c->ring0_stack + VG_R3_SLOTS);
    vmw(GUEST_TR_BASE, (uintptr_t)c->tss);
    vmw(GUEST_TR_LIMIT, sizeof(struct tss) - 1);
    vmw(GUEST_IDTR_BASE, (uintptr_t)r3_idt);
    vmw(GUEST_IDTR_LIMIT, IDT_LIMIT);
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

bool r3_prepare(const char *name)
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
        test_idt_gate(r3_idt, VEC_PF, isr_stubs[VEC_PF], 0); /* LHV's handler */
        memcpy((void *)(USER_CODE_PAGE + VG_R3_ACCESS_OFFSET), vg_r3_access,
               (size_t)(vg_r3_access_end - vg_r3_access));
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
