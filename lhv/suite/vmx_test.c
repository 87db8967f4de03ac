/* One test guest per CPU, shared by the VMX suite files (vmx_test.h). */
#include "cpu.h"
#include "desc.h"
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

void test_idt_gate(void *idt, u32 vector, const void *handler)
{
    uintptr_t h = (uintptr_t)handler;
    u32 *g = (u32 *)((u8 *)idt + vector * IDT_GATE_SIZE);
    g[0] = ((u32)SEL_KCODE << 16) | (u32)(h & 0xffff);
    g[1] = ((u32)h & 0xffff0000u) | (0x8eu << 8); /* present, DPL 0, interrupt gate */
#ifdef __x86_64__
    g[2] = (u32)((u64)h >> 32);
    g[3] = 0;
#endif
}
