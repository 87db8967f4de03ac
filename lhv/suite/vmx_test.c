/* One test guest per CPU, shared by the VMX suite files (vmx_test.h). */
#include "cpu.h"
#include "vmx_test.h"

static struct vcpu guests[LHV_MAX_CPUS];

struct vcpu *test_guest_of_this_cpu(void) { return &guests[this_cpu()->index]; }

struct vcpu *test_guest(struct cpu_outcome *o)
{
    struct vcpu *v = test_guest_of_this_cpu();
    const char *why = vmx_unavailable();

    if (why) {
        outcome_skip(o, "%s", why);
        return NULL;
    }
    v->hook = NULL;
    v->test_data = NULL;
    if (!vcpu_init(v)) {
        outcome_fail(o, "guest setup: %s", v->why);
        return NULL;
    }
    return v;
}

bool test_guest_run(struct cpu_outcome *o, struct vcpu *v, void (*fn)(void *), void *arg)
{
    if (vcpu_run(v, fn, arg))
        return true;
    outcome_fail(o, "%s", v->why);
    return false;
}

bool test_guest_run_at(struct cpu_outcome *o, struct vcpu *v, uintptr_t rip, uintptr_t rsp,
                       unsigned long rflags)
{
    if (vcpu_run_at(v, rip, rsp, rflags))
        return true;
    outcome_fail(o, "%s", v->why);
    return false;
}

void guest_echo(void *arg)
{
    struct echo *e = arg;
    e->result = guest_hypercall(HC_ECHO, e->a, e->b, 0);
}

const char *pin_msr(void)
{
    return vmx_caps.true_ctls ? "IA32_VMX_TRUE_PINBASED_CTLS" : "IA32_VMX_PINBASED_CTLS";
}

const char *proc_msr(void)
{
    return vmx_caps.true_ctls ? "IA32_VMX_TRUE_PROCBASED_CTLS" : "IA32_VMX_PROCBASED_CTLS";
}

const char *exit_msr(void)
{
    return vmx_caps.true_ctls ? "IA32_VMX_TRUE_EXIT_CTLS" : "IA32_VMX_EXIT_CTLS";
}

const char *entry_msr(void)
{
    return vmx_caps.true_ctls ? "IA32_VMX_TRUE_ENTRY_CTLS" : "IA32_VMX_ENTRY_CTLS";
}
