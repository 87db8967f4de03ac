/* The exception bitmap and the #PF error-code mask and match. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"
#include "suite/guests.h"

/* vmx/exception-bitmap-pf-mask-match: with bit 14 set in the exception
 * bitmap a #PF exits only when (error code AND PAGE_FAULT_ERROR_CODE_MASK)
 * equals PAGE_FAULT_ERROR_CODE_MATCH; otherwise it is delivered to the
 * guest (SDM 3C 26.2, 25.6.3). The guest reads address 0x10 (page 0 is
 * not present: error code 0). Mask P (bit 0), match 0: the #PF exits with
 * reason 0, vector 14, the error code, and CR2's address as the
 * qualification (28.2.1). Mask P, match P: the guest's own IDT handler
 * takes it. The faulting instruction is MOV (xAX), ECX, 2 bytes: the host
 * or the guest's handler steps over it and puts the error code in EDX.
 * The guest runs without external-interrupt exiting (IF clear): with 2+
 * CPUs Bochs saves a stale RIP at an external-interrupt exit right after
 * it delivered the #PF to the guest's handler (vmx/exit-after-delivery,
 * docs/l0-deviations.md), and the guest later returns to address 0. */

#define PF_ADDR 0x10ul
#define PF_NOTHING 0xeeeeul
#define PF_FROM_HOST 0x10000ul

static void *pf_idt;

struct pf_data {
    unsigned long err;
    u32 exits;
};

static void guest_pf(void *arg)
{
    struct pf_data *d = arg;
    unsigned long err = PF_NOTHING;
    __asm__ volatile("mov (%1), %%ecx" : "+d"(err) : "a"(PF_ADDR) : "ecx", "memory");
    d->err = err;
}

static enum exit_action pf_hook(struct vcpu *v, u32 reason)
{
    struct pf_data *d = v->test_data;
    if (reason != EXIT_REASON_EXCEPTION_NMI)
        return EXIT_DEFAULT;
    u32 info = (u32)vmr(VM_EXIT_INTR_INFO);
    /* valid, hardware exception, error code valid, vector 14 */
    if ((info & 0x80000fffu) != 0x80000b0eu || v->exit_qual != PF_ADDR)
        return vcpu_fail(v, "exception exit: interruption info 0x%llx, qualification 0x%llx; "
                         "expected #PF (0x80000b0e) at 0x10", (u64)info, v->exit_qual);
    d->exits++;
    REG_DX(v) = PF_FROM_HOST | (u32)vmr(VM_EXIT_INTR_ERROR_CODE);
    vmw(GUEST_RIP, vmr(GUEST_RIP) + 2);
    return EXIT_RESUME;
}

static bool pf_run(struct cpu_outcome *o, u32 match, struct pf_data *d)
{
    if (!require_control_clear(o, CTL_PIN, PIN_EXTERNAL_INTERRUPT_EXITING,
                               "external-interrupt exiting"))
        return false;
    struct vcpu *v = test_guest(o);
    if (!v)
        return false;
    vmw(PIN_BASED_VM_EXEC_CONTROL, vmr(PIN_BASED_VM_EXEC_CONTROL) &
                                       ~(u64)PIN_EXTERNAL_INTERRUPT_EXITING);
    memset(d, 0, sizeof(*d));
    vmw(EXCEPTION_BITMAP, 1u << VEC_PF);
    vmw(PAGE_FAULT_ERROR_CODE_MASK, 1);
    vmw(PAGE_FAULT_ERROR_CODE_MATCH, match);
    vmw(GUEST_IDTR_BASE, (uintptr_t)pf_idt);
    vmw(GUEST_IDTR_LIMIT, IDT_LIMIT);
    v->hook = pf_hook;
    v->test_data = d;
    return test_guest_run(o, v, guest_pf, d);
}

static void check_pf_mask_match(struct cpu_outcome *o, void *arg)
{
    struct pf_data d;
    (void)arg;

    if (!pf_run(o, 0, &d))
        return;
    if (d.exits != 1 || d.err != PF_FROM_HOST) {
        outcome_fail(o, "mask 1, match 0: %u #PF exits, guest EDX 0x%lx; expected 1 exit with "
                     "error code 0 (0x%lx)", d.exits, d.err, PF_FROM_HOST);
        return;
    }
    if (!pf_run(o, 1, &d))
        return;
    if (d.exits != 0 || d.err != 0)
        outcome_fail(o, "mask 1, match 1: %u #PF exits, guest EDX 0x%lx; expected no exit and "
                     "the guest's handler with error code 0", d.exits, d.err);
}

/* An interrupt gate to handler with selector SEL_KCODE (SDM 3A 6.11, 6.14.1) */
static void pf_gate(void *idt, u32 vector, uintptr_t handler)
{
    u32 *g = (u32 *)((u8 *)idt + vector * IDT_GATE_SIZE);
    g[0] = ((u32)SEL_KCODE << 16) | (u32)(handler & 0xffff);
    g[1] = ((u32)handler & 0xffff0000u) | 0x8e00u; /* present, DPL 0, interrupt gate */
#ifdef __x86_64__
    g[2] = (u32)((u64)handler >> 32);
    g[3] = 0;
#endif
}

VMX_TEST("vmx/exception-bitmap-pf-mask-match", test_pf_mask_match);
static void test_pf_mask_match(const char *name)
{
    if (vmx_caps.present && !pf_idt) {
        pf_idt = alloc_pages(1);
        memset(pf_idt, 0, PAGE_SIZE);
        pf_gate(pf_idt, VEC_PF, (uintptr_t)lhv_ic_pf_stub);
    }
    verdict_all_cpus(name, check_pf_mask_match, NULL);
}
