/* EPTP switches with INVEPT, on every CPU (SDM 3C chapter 29, 31.3). */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "lapic.h"
#include "string.h"
#include "x86.h"
#include "ept_guest.h"

/* vmx/ept-switch-invept */

struct switch_data {
    volatile u32 *word;
    u32 seen, store;
};

static void guest_switch(void *arg)
{
    struct switch_data *d = arg;
    d->seen = d->word[0];
    d->word[1] = d->store;
}

/* INVEPT of one type, as the CPU has it: single-context (of e) or
 * all-context */
static bool invept_as(struct cpu_outcome *o, u32 type, const struct ept *e)
{
    int st = invept(type, type == INVEPT_SINGLE ? e->eptp : 0);
    if (st == VMX_OK)
        return true;
    outcome_fail(o, "INVEPT %s-context failed (status %d, error %llu)",
                 type == INVEPT_SINGLE ? "single" : "all", st, vmr(VM_INSTRUCTION_ERROR));
    return false;
}

/* One run on EPTP `e` after an INVEPT of `type`: the guest reads the test
 * page's word 0 (expects want) and writes word 1, which must land in host
 * page `lands`. */
static bool switch_run(struct cpu_outcome *o, struct vcpu *v, struct ept *e, u32 type,
                       u32 *lands, u32 want, const char *what)
{
    struct cpu_ept *c = &cpu_ept[this_cpu()->index];
    struct switch_data d = {(volatile u32 *)c->page, 0, want ^ 0xffff0000u};

    ((u32 *)c->alt[0])[1] = ((u32 *)c->alt[1])[1] = 0;
    vmw(EPT_POINTER, e->eptp);
    c->active = e;
    if (!invept_as(o, type, e) || !test_guest_run(o, v, guest_switch, &d))
        return false;
    if (d.seen != want) {
        outcome_fail(o, "%s: the guest read 0x%x, expected 0x%x", what, d.seen, want);
        return false;
    }
    if (lands[1] != d.store) {
        outcome_fail(o, "%s: the guest's write did not reach host page 0x%lx", what,
                     (unsigned long)(uintptr_t)lands);
        return false;
    }
    return true;
}

static void check_switch(struct cpu_outcome *o, void *arg)
{
    struct cpu_ept *c = ept_ready(o);
    struct vcpu *v;
    u32 *own, *p1, *p2, cpu = this_cpu()->index;
    (void)arg;

    if (!c)
        return;
    own = (u32 *)c->page;
    p1 = (u32 *)c->alt[0];
    p2 = (u32 *)c->alt[1];
    own[0] = 0x0e0e0000 + cpu;
    own[1] = p1[1] = p2[1] = 0;
    p1[0] = 0x11110000 + cpu;
    p2[0] = 0x22220000 + cpu;
    /* Two roots: the test page is host page p1 in one, p2 in the other */
    u64 gpa = (uintptr_t)c->page;
    ept_map_4k(&c->ident, gpa, (uintptr_t)p1, EPT_RWX,
               ept_type_for(&c->ident, (uintptr_t)p1, PAGE_SIZE));
    ept_map_4k(&c->other, gpa, (uintptr_t)p2, EPT_RWX,
               ept_type_for(&c->other, (uintptr_t)p2, PAGE_SIZE));
    /* Switches use single-context INVEPT when the CPU has it (bit 25),
     * the change in place all-context when it has that (bit 26) */
    u32 single = (vmx_caps.ept_vpid & EPT_CAP_INVEPT_SINGLE) ? INVEPT_SINGLE : INVEPT_ALL;
    u32 all = (vmx_caps.ept_vpid & EPT_CAP_INVEPT_ALL) ? INVEPT_ALL : INVEPT_SINGLE;
    v = ept_guest(o, &c->ident, 0, NULL, NULL);
    if (v && switch_run(o, v, &c->ident, single, p1, p1[0], "root A") &&
        switch_run(o, v, &c->other, single, p2, p2[0], "after the switch to root B") &&
        switch_run(o, v, &c->ident, single, p1, p1[0], "after the switch back to root A")) {
        /* The same root changed in place: INVEPT makes the change seen */
        ept_map_4k(&c->ident, gpa, (uintptr_t)p2, EPT_RWX,
                   ept_type_for(&c->ident, (uintptr_t)p2, PAGE_SIZE));
        if (switch_run(o, v, &c->ident, all, p2, p2[0], "root A changed in place") &&
            own[1] != 0)
            outcome_fail(o, "the guest's writes reached the test page's own host page");
    }
    restore_page(&c->ident, gpa);
    restore_page(&c->other, gpa);
    ept_flush(&c->ident);
    ept_flush(&c->other);
}

VMX_TEST_ALL_CPUS("vmx/ept-switch-invept", check_switch);
