/* VMX core: VMX operation entered, and guests that really run and come back
 * through VMCALL and CPUID exits with the right registers. */
#include "cpu.h"
#include "hypapp.h"
#include "suite.h"
#include "vmx/vmx.h"
#include "x86.h"

/* One guest per CPU, made on first use and reset by each test. */
static struct vcpu guests[LHV_MAX_CPUS];

/* The CPU's guest with a fresh VMCS, or NULL after a SKIP/FAIL verdict. */
static struct vcpu *fresh_guest(const char *name)
{
    struct vcpu *v = &guests[this_cpu()->index];
    const char *why = vmx_unavailable();

    if (why) {
        verdict_skip(name, "%s", why);
        return NULL;
    }
    v->hook = NULL;
    v->test_data = NULL;
    if (!vcpu_init(v)) {
        verdict_fail(name, "guest setup: %s", v->why);
        return NULL;
    }
    return v;
}

static bool run_guest(const char *name, struct vcpu *v, void (*fn)(void *), void *arg)
{
    if (vcpu_run(v, fn, arg))
        return true;
    verdict_fail(name, "%s", v->why);
    return false;
}

TEST("vmx/vmxon", test_vmxon);
static void test_vmxon(const char *name)
{
    if (!vmx_caps.present)
        return verdict_skip(name, "%s", vmx_caps.absent);
    verdict(vmx_cpu_on(), name, "CPU %u is not in VMX operation", this_cpu()->index);
}

struct echo {
    unsigned long a, b, result;
};

static void guest_echo(void *arg)
{
    struct echo *e = arg;
    e->result = guest_hypercall(HC_ECHO, e->a, e->b, 0);
}

/* Arguments go in through RBX/RCX, the result comes back in RAX. */
TEST("vmx/vmcall-roundtrip", test_vmcall);
static void test_vmcall(const char *name)
{
    struct echo e = {0x1234, 0x4321000, 0};
    struct vcpu *v = fresh_guest(name);

    if (!v || !run_guest(name, v, guest_echo, &e))
        return;
    verdict(e.result == e.a + e.b, name, "the guest got 0x%lx, expected 0x%lx", e.result,
            e.a + e.b);
}

/* CPUID always exits (SDM 3C 26.1.2); the host answers a leaf of its own. */
#define LHV_CPUID_LEAF 0x4c485600u
#define LHV_CPUID_ANSWER 0x5a5a1234u

static enum exit_action cpuid_hook(struct vcpu *v, u32 reason)
{
    if (reason != EXIT_REASON_CPUID)
        return EXIT_DEFAULT;
#ifdef __x86_64__
    if (v->regs.rax != LHV_CPUID_LEAF)
        return EXIT_DEFAULT;
    v->regs.rax = v->regs.rbx = v->regs.rcx = v->regs.rdx = LHV_CPUID_ANSWER;
#else
    if (v->regs.eax != LHV_CPUID_LEAF)
        return EXIT_DEFAULT;
    v->regs.eax = v->regs.ebx = v->regs.ecx = v->regs.edx = LHV_CPUID_ANSWER;
#endif
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void guest_cpuid(void *arg)
{
    struct cpuid_regs *r = arg;
    *r = cpuid(LHV_CPUID_LEAF, 0);
}

TEST("vmx/cpuid-exiting", test_cpuid);
static void test_cpuid(const char *name)
{
    struct cpuid_regs r = {0, 0, 0, 0};
    struct vcpu *v = fresh_guest(name);

    if (!v)
        return;
    v->hook = cpuid_hook;
    if (!run_guest(name, v, guest_cpuid, &r))
        return;
    verdict(r.eax == LHV_CPUID_ANSWER && r.ebx == LHV_CPUID_ANSWER && r.ecx == LHV_CPUID_ANSWER &&
                r.edx == LHV_CPUID_ANSWER,
            name, "the guest read %08x %08x %08x %08x, expected %08x in each", r.eax, r.ebx, r.ecx,
            r.edx, LHV_CPUID_ANSWER);
}

static void guest_app_call(void *arg)
{
    struct echo *e = arg;
    e->result = guest_hypercall(HYPERCALL_APP_FIRST, e->a, 0, 0);
}

/* A hypercall in the app's range reaches the app (helloworld adds one). */
TEST("hypapp/hypercall", test_app_hypercall);
static void test_app_hypercall(const char *name)
{
    struct echo e = {41, 0, 0};
    struct vcpu *v = fresh_guest(name);

    if (!v || !run_guest(name, v, guest_app_call, &e))
        return;
    verdict(e.result == 42, name, "app %s answered 0x%lx to 0x%x(41), expected 42", hypapp.name,
            e.result, HYPERCALL_APP_FIRST);
}
