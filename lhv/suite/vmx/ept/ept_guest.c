/* The guest of the EPT tests (ept_guest.h): per-CPU EPT roots and pages. */
#include "alloc.h"
#include "cpu.h"
#include "string.h"
#include "ept_guest.h"

struct cpu_ept cpu_ept[LHV_MAX_CPUS];

/* This CPU's EPT state, made on first use (the MTRRs are read on each CPU:
 * they should agree, and each map follows its own CPU's). */
static struct cpu_ept *this_ept(void)
{
    struct cpu_ept *c = &cpu_ept[this_cpu()->index];
    if (c->ready)
        return c;
    mtrr_read(&c->mtrr);
    u64 top = ept_identity_top();
    ept_build_identity(&c->ident, &c->mtrr, top);
    ept_build_identity(&c->other, &c->mtrr, top);
    c->page = alloc_pages(1);
    c->alt[0] = alloc_pages(1);
    c->alt[1] = alloc_pages(1);
    c->code = alloc_pages(1);
    c->in = alloc_pages(1);
    c->out = alloc_pages(1);
    c->ready = true;
    return c;
}

struct cpu_ept *ept_ready(struct cpu_outcome *o)
{
    const char *why = ept_unsupported();
    if (why) {
        outcome_skip(o, "%s", why);
        return NULL;
    }
    return this_ept();
}

bool demand_fill(u32 reason)
{
    struct ept *e = cpu_ept[this_cpu()->index].active;
    if (reason != EXIT_REASON_EPT_VIOLATION || !e || !e->demand ||
        !ept_demand_map(e, vmr(GUEST_PHYSICAL_ADDRESS)))
        return false;
    return ept_flush(e) == VMX_OK;
}

static enum exit_action base_hook(struct vcpu *v, u32 reason)
{
    (void)v;
    return demand_fill(reason) ? EXIT_RESUME : EXIT_DEFAULT;
}

struct vcpu *ept_guest(struct cpu_outcome *o, struct ept *e, u16 vpid, exit_hook hook,
                       void *data)
{
    struct vcpu *v = test_guest_of_this_cpu();

    v->hook = hook ? hook : base_hook;
    v->test_data = data;
    cpu_ept[this_cpu()->index].active = e;
    if (!vcpu_init(v) || !vcpu_use_ept(v, e, vpid)) {
        outcome_fail(o, "guest setup: %s", v->why);
        return NULL;
    }
    return v;
}

bool ept_test_flush(struct cpu_outcome *o, const struct ept *e)
{
    int st = ept_flush(e);
    if (st == VMX_OK)
        return true;
    outcome_fail(o, "INVEPT %s-context failed (status %d, error %llu)",
                 (vmx_caps.ept_vpid & EPT_CAP_INVEPT_SINGLE) ? "single" : "all", st,
                 vmr(VM_INSTRUCTION_ERROR));
    return false;
}

void restore_page(struct ept *e, u64 gpa)
{
    ept_map_4k(e, gpa, gpa, EPT_RWX, ept_type_for(e, gpa, PAGE_SIZE));
}

void put_code(u8 *at, u32 value)
{
    at[0] = 0xb8;
    memcpy(at + 1, &value, 4);
    at[5] = 0xc3;
}

