/* VMX core, on every CPU: VMX operation entered, and guests that really run
 * and come back through VMCALL and CPUID exits with the right registers. */
#include "catch.h"
#include "console.h"
#include "cpu.h"
#include "hypapp.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

static void fc_write(void *arg) { wrmsr(MSR_IA32_FEATURE_CONTROL, *(u64 *)arg); }

/* In VMX operation, so IA32_FEATURE_CONTROL is locked (LHV locks it if
 * firmware did not) with VMXON outside SMX allowed: WRMSR to it, of its own
 * value, of 0 and of it with bit 2 clear (VMX off), raises #GP(0) and
 * leaves it as it was (SDM 3C 24.7). */
static void check_vmxon(struct cpu_outcome *o, void *arg)
{
    struct caught c;
    (void)arg;
    if (!vmx_caps.present)
        return outcome_skip(o, "%s", vmx_caps.absent);
    if (!vmx_cpu_on())
        return outcome_fail(o, "not in VMX operation");
    const u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    u64 writes[3] = {fc, 0, fc & ~(u64)FEATURE_CONTROL_VMXON_OUTSIDE_SMX};
    const u64 on = FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_OUTSIDE_SMX;
    if (!CHECK_EQ(o, fc & on, on))
        return;
    for (u32 i = 0; i < 3; i++)
        if (!CHECK_EQ(o, catch_exception(fc_write, &writes[i], &c), VEC_GP) ||
            !CHECK_EQ(o, c.error_code, 0) || !CHECK_EQ(o, rdmsr(MSR_IA32_FEATURE_CONTROL), fc))
            return;
}

VMX_TEST_ALL_CPUS("vmx/vmxon", check_vmxon);

/* IA32_FEATURE_CONTROL unlocked when LHV came (no firmware locked it; LHV's
 * L0 offers its guest that with lhv.l0.feature-control=unlocked): VMXON
 * then raised #GP(0) before LHV locked the MSR (SDM 3C 31.3 VMXON, 24.7) */
static void check_fc_unlocked(struct cpu_outcome *o, void *arg)
{
    u64 found;
    int vector;
    u32 code;
    (void)arg;
    if (!vmx_caps.present)
        return outcome_skip(o, "%s", vmx_caps.absent);
    if (!vmx_fc_unlocked_probe(&found, &vector, &code))
        return outcome_skip(o, "IA32_FEATURE_CONTROL was locked before LHV ran (0x%llx): "
                            "VMXON with it unlocked cannot be tried", rdmsr(MSR_IA32_FEATURE_CONTROL));
    if (CHECK_EQ(o, vector, VEC_GP))
        CHECK_EQ(o, code, 0);
}
VMX_TEST_ALL_CPUS("vmx/feature-control-unlocked", check_fc_unlocked);

/* The cost of a VMCALL round trip, measured in the guest with RDTSC around
 * each of VMCALL_SAMPLES echo hypercalls (in Bochs with one CPU, TSC ticks
 * are instructions: the exit path's length). Printed, not judged. */
#define VMCALL_SAMPLES 101

static void guest_vmcall_cost(void *arg)
{
    u64 *ticks = arg;
    for (int i = 0; i < VMCALL_SAMPLES; i++) {
        u64 t0 = rdtsc();
        guest_hypercall(HC_ECHO, 1, 2, 0);
        ticks[i] = rdtsc() - t0;
    }
}

static void report_vmcall_cost(void)
{
    static u64 ticks[VMCALL_SAMPLES];
    struct vcpu *v = test_guest_of_this_cpu();

    if (vmx_unavailable() || !vcpu_init(v) || vcpu_run(v, guest_vmcall_cost, ticks).end != RUN_DONE)
        return;
    /* insertion sort: 101 values */
    for (int i = 1; i < VMCALL_SAMPLES; i++)
        for (int j = i; j > 0 && ticks[j - 1] > ticks[j]; j--) {
            u64 t = ticks[j];
            ticks[j] = ticks[j - 1];
            ticks[j - 1] = t;
        }
    printf("vmx: VMCALL round trip on CPU %u: min %llu, median %llu TSC ticks (%d calls)\n",
           this_cpu()->index, ticks[0], ticks[VMCALL_SAMPLES / 2], VMCALL_SAMPLES);
}

/* Arguments go in through RBX/RCX, the result comes back in RAX. */
static void check_vmcall(struct cpu_outcome *o, void *arg)
{
    struct echo e = {0x1234 + this_cpu()->index, 0x4321000, 0};
    struct vcpu *v = test_guest(o);
    (void)arg;

    if (v && test_guest_run(o, v, guest_echo, &e))
        CHECK_EQ(o, e.result, e.a + e.b);
}

VMX_TEST("vmx/vmcall-roundtrip", test_vmcall);
static void test_vmcall(const char *name)
{
    verdict_all_cpus(name, check_vmcall, NULL);
    report_vmcall_cost();
}

/* CPUID always exits (SDM 3C 26.1.2); the host answers a leaf of its own. */
#define LHV_CPUID_LEAF 0x4c485600u
#define LHV_CPUID_ANSWER 0x5a5a1234u

static enum exit_action cpuid_hook(struct vcpu *v, u32 reason)
{
    if (reason != EXIT_REASON_CPUID)
        return EXIT_DEFAULT;
    if (REG_AX(v) != LHV_CPUID_LEAF)
        return EXIT_DEFAULT;
    REG_AX(v) = REG_BX(v) = REG_CX(v) = REG_DX(v) = LHV_CPUID_ANSWER;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void guest_cpuid(void *arg)
{
    struct cpuid_regs *r = arg;
    *r = cpuid(LHV_CPUID_LEAF, 0);
}

static void check_cpuid(struct cpu_outcome *o, void *arg)
{
    struct cpuid_regs r = {0, 0, 0, 0};
    struct vcpu *v = test_guest(o);
    (void)arg;

    if (!v)
        return;
    v->hook = cpuid_hook;
    if (test_guest_run(o, v, guest_cpuid, &r) &&
        (r.eax != LHV_CPUID_ANSWER || r.ebx != LHV_CPUID_ANSWER || r.ecx != LHV_CPUID_ANSWER ||
         r.edx != LHV_CPUID_ANSWER))
        outcome_fail(o, "the guest read %08x %08x %08x %08x, expected %08x in each", r.eax,
                     r.ebx, r.ecx, r.edx, LHV_CPUID_ANSWER);
}

VMX_TEST_ALL_CPUS("vmx/cpuid-exiting", check_cpuid);

/* Every other leaf passes through: the guest reads what the host reads, but
 * for the hypervisor bit LHV adds (CPUID.01H:ECX[31]). Both read on the
 * same CPU, so even the initial APIC ID in leaf 1's EBX agrees. */
static const u32 passthrough_leaves[] = {0, 1, 7, 0x80000000u, 0x80000001u};
#define PASSTHROUGH_LEAVES (sizeof(passthrough_leaves) / sizeof(passthrough_leaves[0]))

static void guest_cpuid_leaves(void *arg)
{
    struct cpuid_regs *r = arg;
    for (u32 i = 0; i < PASSTHROUGH_LEAVES; i++)
        r[i] = cpuid(passthrough_leaves[i], 0);
}

static void check_cpuid_passthrough(struct cpu_outcome *o, void *arg)
{
    struct cpuid_regs in_guest[PASSTHROUGH_LEAVES];
    struct vcpu *v = test_guest(o);
    (void)arg;

    if (!v || !test_guest_run(o, v, guest_cpuid_leaves, in_guest))
        return;
    for (u32 i = 0; i < PASSTHROUGH_LEAVES; i++) {
        struct cpuid_regs h = cpuid(passthrough_leaves[i], 0), g = in_guest[i];
        if (passthrough_leaves[i] == 1)
            h.ecx |= CPUID1_ECX_HYPERVISOR;
        if (g.eax != h.eax || g.ebx != h.ebx || g.ecx != h.ecx || g.edx != h.edx)
            return outcome_fail(o, "leaf 0x%x: the guest read %08x %08x %08x %08x, the host "
                                "%08x %08x %08x %08x", passthrough_leaves[i], g.eax, g.ebx,
                                g.ecx, g.edx, h.eax, h.ebx, h.ecx, h.edx);
    }
}

VMX_TEST_ALL_CPUS("vmx/cpuid-passthrough", check_cpuid_passthrough);

static void guest_app_call(void *arg)
{
    struct echo *e = arg;
    e->result = guest_hypercall(HYPERCALL_APP_FIRST, e->a, 0, 0);
}

/* A hypercall in the app's range reaches the app (helloworld adds one). */
static void check_app_hypercall(struct cpu_outcome *o, void *arg)
{
    struct echo e = {41, 0, 0};
    struct vcpu *v = test_guest(o);
    (void)arg;

    if (v && test_guest_run(o, v, guest_app_call, &e) && e.result != 42)
        outcome_fail(o, "app %s answered 0x%lx to 0x%x(41), expected 42", hypapp.name, e.result,
                     HYPERCALL_APP_FIRST);
}

VMX_TEST_ALL_CPUS("hypapp/hypercall", check_app_hypercall);

static void guest_ask_where(void *arg)
{
    bool *in_guest = arg;
    *in_guest = guest_in_lhv();
}

/* Code shared by host and guest learns where it runs from CPUID (leaf 1
 * hypervisor bit, leaf 0x40000000 "LHV "), not by guessing. */
static void check_guest_knows(struct cpu_outcome *o, void *arg)
{
    bool in_guest = false;
    struct vcpu *v = test_guest(o);
    (void)arg;

    if (!v || !test_guest_run(o, v, guest_ask_where, &in_guest))
        return;
    if (!in_guest)
        outcome_fail(o, "the guest did not see LHV's CPUID signature");
    else if (guest_in_lhv())
        outcome_fail(o, "the host believes it is an LHV guest");
}

VMX_TEST_ALL_CPUS("vmx/guest-knows-it-is-a-guest", check_guest_knows);
