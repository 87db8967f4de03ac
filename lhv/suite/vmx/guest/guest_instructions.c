/* Instructions whose outcome in the guest follows the guest's own state,
 * seen through the exception bitmap (all ones for the test guest):
 * vmx/guest-x87-cr0-ts-em: FNOP raises #NM exactly when the guest's CR0.TS
 * or CR0.EM is set (SDM 1 / 3A 2.5 and FNOP's exceptions), and the
 * guest's CR0 is the VMCS's (27.3.2.1), whatever the host's CR0.TS is.
 * vmx/vmmcall-ud: AMD's VMMCALL (0F 01 D9) raises #UD on a CPU without SVM:
 * an exception exit, not a VMCALL exit (SDM 3C 26.1.2 lists VMCALL, not
 * VMMCALL, among the instructions that exit). */
#include "desc.h"
#include "suite/vmx_test.h"
#include "x86.h"

struct gi_run {
    u32 vector;  /* the exception to count (the hook skips len bytes after it) */
    u32 len;
    u32 exits;   /* exception exits with that vector */
    u32 others;  /* any other exit the hook saw (VMCALL done excepted) */
};

static enum exit_action gi_hook(struct vcpu *v, u32 reason)
{
    struct gi_run *r = v->test_data;

    if (reason == EXIT_REASON_EXCEPTION_NMI &&
        (u32)vmr(VM_EXIT_INTR_INFO) == INTR_INFO(INTR_TYPE_HW_EXCEPTION, r->vector)) {
        r->exits++;
        /* a fault: RIP at the instruction, whose length the exit does not
         * give for hardware exceptions (28.2.4) */
        vmw(GUEST_RIP, vmr(GUEST_RIP) + r->len);
        return EXIT_RESUME;
    }
    if (reason != EXIT_REASON_VMCALL && reason != EXIT_REASON_EXTERNAL_INTERRUPT)
        r->others++;
    return EXIT_DEFAULT;
}

static void gi_fnop(void *arg)
{
    (void)arg;
    __asm__ volatile("fnop");
}

static void gi_vmmcall(void *arg)
{
    (void)arg;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd9"); /* VMMCALL */
}

/* One run of fn with guest CR0 bits `set` (of TS, EM): the exits */
static bool gi_run(struct cpu_outcome *o, void (*fn)(void *), u32 vector, u32 len,
                   unsigned long cr0_set, struct gi_run *r)
{
    struct vcpu *v = test_guest(o);
    unsigned long cr0 = read_cr0() & ~(unsigned long)(CR0_TS | CR0_EM);

    if (!v)
        return false;
    *r = (struct gi_run){vector, len, 0, 0};
    v->hook = gi_hook;
    v->test_data = r;
    vmw(GUEST_CR0, cr0 | cr0_set);
    return test_guest_run(o, v, fn, NULL) && CHECK_EQ(o, r->others, 0);
}

static void check_x87(struct cpu_outcome *o, void *arg)
{
    unsigned long cr0 = read_cr0();
    struct gi_run r;
    (void)arg;

    if (vmx_unavailable())
        return outcome_skip(o, "%s", vmx_unavailable());
    /* The host runs with CR0.TS set (restored below): the guest's clear CR0
     * is what counts inside */
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | CR0_TS));
    if (gi_run(o, gi_fnop, VEC_NM, 2, 0, &r) && CHECK_EQ(o, r.exits, 0) &&
        gi_run(o, gi_fnop, VEC_NM, 2, CR0_TS, &r) && CHECK_EQ(o, r.exits, 1) &&
        gi_run(o, gi_fnop, VEC_NM, 2, CR0_EM, &r))
        CHECK_EQ(o, r.exits, 1);
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
}
VMX_TEST_ALL_CPUS("vmx/guest-x87-cr0-ts-em", check_x87);

static void check_vmmcall(struct cpu_outcome *o, void *arg)
{
    struct gi_run r;
    (void)arg;

    if (vmx_unavailable())
        return outcome_skip(o, "%s", vmx_unavailable());
    if (gi_run(o, gi_vmmcall, VEC_UD, 3, 0, &r))
        CHECK_EQ(o, r.exits, 1);
}
VMX_TEST_ALL_CPUS("vmx/vmmcall-ud", check_vmmcall);
