/* vmx/ept-mode-based-execute: with "mode-based execute control for EPT"
 * (secondary control bit 22) bit 2 of an EPT leaf allows instruction
 * fetches from supervisor-mode linear addresses (U/S 0 in the guest's
 * paging) and bit 10 those from user-mode linear addresses (U/S 1), and a
 * violation's qualification reports both (bits 5 and 6); without the
 * control bit 10 is ignored (SDM 3C 29.3.3.2, 25.6.2, 28.2.1 table 28-7).
 * The guest (CPL 0) calls code on a user page (LHV's ring-3 stack page)
 * and on a supervisor page (the window), each redirected to a test page;
 * the entries above them allow both (bit 10 of a non-leaf entry counts
 * too, and is ignored without the control). */
#include "platform.h"
#include "user.h"
#include "ept_suite.h"

#define MB_SUPER (EPT_WINDOW + 0x100)
#define MB_USER (USER_STACK_PAGE + 0x100)

struct mb_call {
    uintptr_t at;
    u32 got;
};

static void mb_guest(void *arg)
{
    struct mb_call *m = arg;
    m->got = ept_call_code((const u8 *)m->at);
}

/* A fetch at `at` with the leaf's execute bits `x` (EPT_EXEC: supervisor,
 * EPT_USER_EXEC: user) exits `exits` times with qualification bits 6:0 `qual` */
static bool mb_case(struct cpu_outcome *o, struct ept_cpu *c, u32 proc2, uintptr_t at, u8 *code,
                    u64 x, u32 exits, u64 qual)
{
    struct mb_call m = {at, 0};
    u32 want = 0x3b000000 + (u32)x + proc2 / CPU2_MODE_BASED_EPT_EXEC;

    ept_put_code(code + (at & 0xfff), want);
    ept_map_4k(&c->map, at, (uintptr_t)code, EPT_READ, MTRR_TYPE_WB);
    for (int level = 2; level <= 4; level++) /* user execute all the way down */
        *ept_at_level(&c->map, at, level) |= EPT_USER_EXEC;
    struct ept_exits e = {.e = &c->map, .entry = ept_leaf(&c->map, at)};
    *e.entry |= x;
    e.restore = *e.entry | EPT_EXEC | EPT_USER_EXEC;
    struct vcpu *v = ept_cpu_guest(o, &c->map, 0, proc2, ept_exits_hook, &e);
    bool ok = v && ept_cpu_flush(o, &c->map) && test_guest_run(o, v, mb_guest, &m) &&
              CHECK_EQ(o, m.got, want) && CHECK_EQ(o, e.violations, exits) &&
              (!exits || CHECK_EQ(o, e.qual & 0x1ff, qual | EPT_QUAL_LINEAR_VALID |
                                                         EPT_QUAL_TRANSLATION));
    ept_identity_4k(&c->map, at);
    return ok;
}

static void check_mode_based(struct cpu_outcome *o, void *arg)
{
    struct ept_cpu *c = ept_cpu(o);
    const u32 mbec = CPU2_MODE_BASED_EPT_EXEC;
    const u64 fetch = EPT_QUAL_FETCH | EPT_QUAL_READABLE, xs = EPT_QUAL_EXECUTABLE, xu = 1u << 6;
    (void)arg;

    if (!c || !require_control(o, CTL_PROC2, mbec, "mode-based execute control for EPT"))
        return;
    if (!platform.user_pages) {
        outcome_skip(o, "0x%x is not usable RAM here (no user page)", USER_STACK_PAGE);
        return;
    }
    (void)(mb_case(o, c, mbec, MB_USER, c->page[0], EPT_EXEC, 1, fetch | xs) &&
           mb_case(o, c, mbec, MB_USER, c->page[0], EPT_USER_EXEC, 0, 0) &&
           mb_case(o, c, mbec, MB_SUPER, c->page[1], EPT_USER_EXEC, 1, fetch | xu) &&
           mb_case(o, c, mbec, MB_SUPER, c->page[1], EPT_EXEC, 0, 0) &&
           mb_case(o, c, 0, MB_SUPER, c->page[1], EPT_USER_EXEC, 1, fetch) &&
           mb_case(o, c, 0, MB_USER, c->page[0], EPT_EXEC, 0, 0));
    ept_flush(&c->map);
}

VMX_TEST_ALL_CPUS("vmx/ept-mode-based-execute", check_mode_based);
