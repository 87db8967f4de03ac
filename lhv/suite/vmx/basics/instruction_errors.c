/* Errors of the VMX instructions themselves, in the order the SDM's
 * operation sections check them (SDM 3C 31.2, 31.3, 31.4):
 * vmx/vmlaunch-after-mov-ss: VMLAUNCH and VMRESUME right after MOV SS fail
 * with error 26 before the launch-state and control checks (error 4, 5,
 * 7), after the check for a current VMCS (VMfailInvalid).
 * vmx/vmread-vmwrite-memory-operand-faults: a VMREAD or VMWRITE whose memory
 * operand is not present raises #PF and changes neither RFLAGS (the
 * VMsucceed/VMfail that would set it never comes) nor the field. */
#include "catch.h"
#include "cpu.h"
#include "desc.h"
#include "suite/vmx_test.h"
#include "x86.h"

/* VMLAUNCH or VMRESUME, after MOV SS (which blocks events for one
 * instruction, SDM 3A 6.8.3) when the prefix says so; the RFLAGS after it */
#define MS_MOV_SS "mov %%ss, %k1\n\tmov %k1, %%ss\n\t"
#define MS_INSN(prefix, insn, flags, tmp)                                          \
    __asm__ volatile(prefix insn "\n\tpushf\n\tpop %0" : "=r"(flags), "=&r"(tmp) : : "cc", \
                     "memory")

static int ms_status(unsigned long flags)
{
    if (flags & EFLAGS_CF)
        return VMX_FAIL_INVALID;
    return (flags & EFLAGS_ZF) ? VMX_FAIL_VALID : VMX_OK;
}

static int ms_run(bool movss, bool resume)
{
    unsigned long flags, tmp;

    if (movss && resume)
        MS_INSN(MS_MOV_SS, "vmresume", flags, tmp);
    else if (movss)
        MS_INSN(MS_MOV_SS, "vmlaunch", flags, tmp);
    else if (resume)
        MS_INSN("", "vmresume", flags, tmp);
    else
        MS_INSN("", "vmlaunch", flags, tmp);
    return ms_status(flags);
}

/* One case: VMfailValid with error want, or (want 0) VMfailInvalid */
static bool ms_expect(struct cpu_outcome *o, bool movss, bool resume, u32 want,
                      const char *vmcs)
{
    const char *insn = resume ? "VMRESUME" : "VMLAUNCH";
    const char *after = movss ? " after MOV SS" : "";
    int st = ms_run(movss, resume);

    if (!want && st == VMX_FAIL_INVALID)
        return true;
    if (want && st == VMX_FAIL_VALID && vmr(VM_INSTRUCTION_ERROR) == want)
        return true;
    if (st == VMX_FAIL_VALID)
        outcome_fail(o, "%s%s with %s: error %llu, expected %u", insn, after, vmcs,
                     vmr(VM_INSTRUCTION_ERROR), want);
    else
        outcome_fail(o, "%s%s with %s: status %d, expected %s", insn, after, vmcs, st,
                     want ? "VMfailValid" : "VMfailInvalid");
    return false;
}

static void check_mov_ss(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    (void)arg;

    if (!v)
        return;
    /* A CR3-target count above any IA32_VMX_MISC[24:16]: no case below
     * can enter the guest, a check it reaches fails with error 7 */
    vmw(CR3_TARGET_COUNT, 0xffff);
    const char *clear = "a clear VMCS whose controls are invalid";
    if (!ms_expect(o, false, false, VMX_ERROR_INVALID_CONTROL, clear) ||
        !ms_expect(o, true, false, VMX_ERROR_MOV_SS_BLOCKING, clear) ||
        !ms_expect(o, false, true, VMX_ERROR_VMRESUME_NON_LAUNCHED, clear) ||
        !ms_expect(o, true, true, VMX_ERROR_MOV_SS_BLOCKING, clear))
        return;
    vmw(CR3_TARGET_COUNT, 0);
    if (!test_guest_run(o, v, guest_nothing, NULL))
        return;
    const char *launched = "a launched VMCS";
    if (!ms_expect(o, false, false, VMX_ERROR_VMLAUNCH_NON_CLEAR, launched) ||
        !ms_expect(o, true, false, VMX_ERROR_MOV_SS_BLOCKING, launched))
        return;
    if (vmx_vmclear((uintptr_t)v->vmcs) != VMX_OK)
        return outcome_fail(o, "VMCLEAR of the current VMCS failed");
    ms_expect(o, true, false, 0, "no current VMCS");
}
VMX_TEST_ALL_CPUS("vmx/vmlaunch-after-mov-ss", check_mov_ss);

/* vmx/vmread-vmwrite-memory-operand-faults */
#define MO_ADDR 0x10u /* in page 0, which LHV keeps not present */
#define MO_VALUE 0x5a5a1234ul

struct mo_probe {
    unsigned long flags_in; /* RFLAGS just before the instruction */
    unsigned long addr;     /* the memory operand */
    unsigned long field;
    unsigned long flags_out; /* RFLAGS after it, when it did not fault */
};

static void mo_vmread(void *arg)
{
    struct mo_probe *p = arg;
    __asm__ volatile("push %1\n\tpopf\n\tvmread %2, (%3)\n\tpushf\n\tpop %0"
                     : "=r"(p->flags_out)
                     : "r"(p->flags_in), "r"(p->field), "r"(p->addr) : "cc", "memory");
}

static void mo_vmwrite(void *arg)
{
    struct mo_probe *p = arg;
    __asm__ volatile("push %1\n\tpopf\n\tvmwrite (%3), %2\n\tpushf\n\tpop %0"
                     : "=r"(p->flags_out)
                     : "r"(p->flags_in), "r"(p->field), "r"(p->addr) : "cc", "memory");
}

/* The instruction faults at MO_ADDR with the status flags as they went in */
static bool mo_fault(struct cpu_outcome *o, void (*probe)(void *), unsigned long flags_in,
                     u32 pf_write)
{
    struct mo_probe p = {flags_in, MO_ADDR, GUEST_RIP, 0};
    struct caught c;
    int vector = catch_exception(probe, &p, &c);

    return CHECK_EQ(o, vector, VEC_PF) && CHECK_EQ(o, c.cr2, MO_ADDR) &&
           CHECK_EQ(o, c.error_code & (PF_PRESENT | PF_WRITE), pf_write) &&
           CHECK_EQ(o, c.flags & EFLAGS_STATUS, flags_in & EFLAGS_STATUS);
}

static void check_memory_operand(struct cpu_outcome *o, void *arg)
{
    unsigned long value = 0;
    struct caught c;
    (void)arg;

    if (!test_guest(o))
        return;
    vmw(GUEST_RIP, MO_VALUE);
    /* The probes work: with a present operand VMREAD stores the field and
     * VMsucceed clears every status flag */
    struct mo_probe ok = {0x2 | EFLAGS_STATUS, (uintptr_t)&value, GUEST_RIP, 0};
    if (!CHECK_EQ(o, catch_exception(mo_vmread, &ok, &c), NO_EXCEPTION) ||
        !CHECK_EQ(o, value, MO_VALUE) || !CHECK_EQ(o, ok.flags_out & EFLAGS_STATUS, 0))
        return;
    /* Every status flag set, then all clear (IF 0 in both: interrupts are
     * off here): a VMsucceed would clear the first, a VMfail set CF or ZF
     * in the second */
    for (unsigned long in = 0x2 | EFLAGS_STATUS;; in = 0x2) {
        if (!mo_fault(o, mo_vmread, in, PF_WRITE) || !mo_fault(o, mo_vmwrite, in, 0) ||
            !CHECK_EQ(o, vmr(GUEST_RIP), MO_VALUE) || in == 0x2)
            return;
    }
}
VMX_TEST_ALL_CPUS("vmx/vmread-vmwrite-memory-operand-faults", check_memory_operand);
