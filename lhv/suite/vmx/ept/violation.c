/* EPT violations and their exit information, on every CPU: a page's
 * permissions taken away one by one, and execute-only pages (SDM 3C
 * chapter 29, 28.2.1). */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "lapic.h"
#include "string.h"
#include "x86.h"
#include "ept_guest.h"

/* vmx/ept-violation */

#define VIOL_READ_OFF 0x10
#define VIOL_WRITE_OFF 0x24
#define VIOL_CODE_OFF 0x800

/* The violations the guest meets in turn on a page that starts not
 * present: a read; a fetch from it read-only; a write to it read/execute,
 * then read-only; a fetch from it read/write. Bits 5:3 say what the entry
 * allowed (SDM 3C Table 28-7). */
static const struct viol_step {
    u32 offset;
    u64 qual; /* bits 5:0: the access, and what the entries allowed */
    u64 grant;
    const char *what;
} viol_steps[] = {
    {VIOL_READ_OFF, EPT_QUAL_READ, EPT_READ, "read of a not-present page"},
    {VIOL_CODE_OFF, EPT_QUAL_FETCH | EPT_QUAL_READABLE, EPT_READ | EPT_EXEC,
     "fetch from a read-only page"},
    {VIOL_WRITE_OFF, EPT_QUAL_WRITE | EPT_QUAL_READABLE | EPT_QUAL_EXECUTABLE, EPT_READ,
     "write to a read/execute page"},
    {VIOL_WRITE_OFF, EPT_QUAL_WRITE | EPT_QUAL_READABLE, EPT_READ | EPT_WRITE,
     "write to a read-only page"},
    {VIOL_CODE_OFF, EPT_QUAL_FETCH | EPT_QUAL_READABLE | EPT_QUAL_WRITABLE, EPT_RWX,
     "fetch from a non-executable page"},
};

struct viol_data {
    struct ept *e;
    u8 *page;
    u32 step;
    u32 magic, store, code_value;
    u32 read_value, fn_value, fn_value2;
};

static enum exit_action violation_hook(struct vcpu *v, u32 reason)
{
    struct viol_data *d = v->test_data;
    if (demand_fill(reason))
        return EXIT_RESUME;
    if (reason != EXIT_REASON_EPT_VIOLATION)
        return EXIT_DEFAULT;

    u64 gpa = vmr(GUEST_PHYSICAL_ADDRESS), gla = vmr(GUEST_LINEAR_ADDRESS), q = v->exit_qual;
    if (d->step >= ARRAY_SIZE(viol_steps))
        return vcpu_fail(v, "EPT violation %u (one too many): GPA 0x%llx, qualification 0x%llx",
                         d->step + 1, gpa, q);
    const struct viol_step *s = &viol_steps[d->step];
    u64 want = (uintptr_t)d->page + s->offset;
    if ((q & 0x3f) != s->qual)
        return vcpu_fail(v, "%s: qualification 0x%llx, expected bits 5:0 = 0x%llx", s->what, q,
                         s->qual);
    if (!(q & EPT_QUAL_LINEAR_VALID) || !(q & EPT_QUAL_TRANSLATION))
        return vcpu_fail(v, "%s: qualification 0x%llx, expected bits 7 and 8 set", s->what, q);
    if (gpa != want || gla != want)
        return vcpu_fail(v, "%s: guest-physical 0x%llx, guest-linear 0x%llx, expected 0x%llx",
                         s->what, gpa, gla, want);
    ept_protect_4k(d->e, (uintptr_t)d->page, s->grant);
    if (ept_flush(d->e) != VMX_OK)
        return vcpu_fail(v, "INVEPT failed after a permission change");
    d->step++;
    return EXIT_RESUME;
}

static void guest_violation(void *arg)
{
    struct viol_data *d = arg;
    d->read_value = *(volatile u32 *)(d->page + VIOL_READ_OFF);
    d->fn_value2 = call_code(d->page + VIOL_CODE_OFF);
    *(volatile u32 *)(d->page + VIOL_WRITE_OFF) = d->store;
    d->fn_value = call_code(d->page + VIOL_CODE_OFF);
}

static void check_violation(struct cpu_outcome *o, void *arg)
{
    struct cpu_ept *c = ept_ready(o);
    struct viol_data d;
    struct vcpu *v;
    (void)arg;

    if (!c)
        return;
    memset(&d, 0, sizeof(d));
    d.e = &c->ident;
    d.page = c->page;
    d.magic = 0x7ead0000 + this_cpu()->index;
    d.store = 0x3717e000 + this_cpu()->index;
    d.code_value = 0xc0de0000 + this_cpu()->index;
    memset(c->page, 0, PAGE_SIZE);
    memcpy(c->page + VIOL_READ_OFF, &d.magic, 4);
    put_code(c->page + VIOL_CODE_OFF, d.code_value);
    ept_protect_4k(d.e, (uintptr_t)c->page, 0);
    v = ept_guest(o, d.e, 0, violation_hook, &d);
    if (v && ept_test_flush(o, d.e) && test_guest_run(o, v, guest_violation, &d)) {
        u32 stored;
        memcpy(&stored, c->page + VIOL_WRITE_OFF, 4);
        /* each violation handled once; then the read, the write and the fetch went through */
        (void)(CHECK_EQ(o, d.step, ARRAY_SIZE(viol_steps)) &&
               CHECK_EQ(o, d.read_value, d.magic) && CHECK_EQ(o, stored, d.store) &&
               CHECK_EQ(o, d.fn_value, d.code_value) && CHECK_EQ(o, d.fn_value2, d.code_value));
    }
    restore_page(d.e, (uintptr_t)c->page);
    ept_flush(d.e);
}

VMX_TEST_ALL_CPUS("vmx/ept-violation", check_violation);

/* vmx/ept-execute-only */

#define XO_OFF 0x100

struct xo_data {
    struct ept *e;
    u8 *code;
    u32 violations;
    u64 qual, gpa, grant;
    u32 fn_value, read_value;
    bool write; /* the guest writes the page instead of reading it */
};

/* A read or write of the execute-only page: note it, grant the access */
static enum exit_action xo_hook(struct vcpu *v, u32 reason)
{
    struct xo_data *d = v->test_data;
    if (demand_fill(reason))
        return EXIT_RESUME;
    if (reason != EXIT_REASON_EPT_VIOLATION)
        return EXIT_DEFAULT;
    d->gpa = vmr(GUEST_PHYSICAL_ADDRESS);
    d->qual = v->exit_qual;
    if (d->violations++ || (d->gpa & ~0xfffull) != (uintptr_t)d->code)
        return vcpu_fail(v, "unexpected EPT violation: GPA 0x%llx, qualification 0x%llx",
                         d->gpa, d->qual);
    ept_protect_4k(d->e, (uintptr_t)d->code, d->grant);
    if (ept_flush(d->e) != VMX_OK)
        return vcpu_fail(v, "INVEPT failed after a permission change");
    return EXIT_RESUME;
}

static void guest_xo(void *arg)
{
    struct xo_data *d = arg;
    d->fn_value = call_code(d->code + XO_OFF);
    if (d->write)
        *(volatile u32 *)(d->code + XO_OFF + 0x40) = d->fn_value;
    else
        d->read_value = *(const volatile u32 *)(d->code + XO_OFF);
}

static void check_execute_only(struct cpu_outcome *o, void *arg)
{
    struct cpu_ept *c = ept_ready(o);
    struct xo_data d;
    struct vcpu *v;
    u32 value = 0x0c0de000 + this_cpu()->index, first;
    (void)arg;

    if (!c)
        return;
    if (!(vmx_caps.ept_vpid & EPT_CAP_EXEC_ONLY)) {
        outcome_skip(o, "IA32_VMX_EPT_VPID_CAP bit 0 (execute-only EPT pages) clear");
        return;
    }
    put_code(c->code + XO_OFF, value);
    memcpy(&first, c->code + XO_OFF, 4);
    /* a fetch and a read, then a fetch and a write (29.3.3.2, table 28-7) */
    for (u32 w = 0; w < 2; w++) {
        memset(&d, 0, sizeof(d));
        d.e = &c->ident;
        d.code = c->code;
        d.write = w;
        d.grant = w ? EPT_RWX : EPT_READ | EPT_EXEC;
        ept_protect_4k(d.e, (uintptr_t)c->code, EPT_EXEC);
        v = ept_guest(o, d.e, 0, xo_hook, &d);
        if (!v || !ept_test_flush(o, d.e) || !test_guest_run(o, v, guest_xo, &d))
            break;
        u64 want = (uintptr_t)c->code + XO_OFF + (w ? 0x40 : 0);
        u32 stored;
        memcpy(&stored, c->code + XO_OFF + 0x40, 4);
        /* the code ran; its read (write) of its own page made one EPT violation
         * with only the execute permission in bits 5:3, then went through */
        if (!CHECK_EQ(o, d.fn_value, value) || !CHECK_EQ(o, d.violations, 1) ||
            !CHECK_EQ(o, d.qual & 0x3f,
                      (w ? EPT_QUAL_WRITE : EPT_QUAL_READ) | EPT_QUAL_EXECUTABLE) ||
            !CHECK_EQ(o, d.gpa, want) ||
            !CHECK_EQ(o, w ? stored : d.read_value, w ? value : first))
            break;
    }
    restore_page(d.e, (uintptr_t)c->code);
    ept_flush(d.e);
}

VMX_TEST_ALL_CPUS("vmx/ept-execute-only", check_execute_only);
