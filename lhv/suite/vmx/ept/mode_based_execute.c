/* vmx/ept-mode-based-execute: with "mode-based execute control for EPT"
 * (secondary control bit 22) bit 2 of an EPT leaf allows instruction
 * fetches from supervisor-mode linear addresses (U/S 0 in the guest's
 * paging) and bit 10 those from user-mode linear addresses (U/S 1), and a
 * violation's qualification reports both (bits 5 and 6); without the
 * control bit 10 is ignored (SDM 3C 29.3.3.2, 25.6.2, 28.2.1 table 28-7).
 * Each leaf of read, read/write with user, supervisor or both executes
 * meets a read, a write and the two fetches. The guest (CPL 0) calls code
 * on a user page (LHV's ring-3 stack page) and on a supervisor page (the
 * window), each redirected to a test page; reads and writes go to the
 * window; the entries above allow all (bit 10 of a non-leaf entry counts
 * too, and is ignored without the control). */
#include "platform.h"
#include "string.h"
#include "user.h"
#include "ept_suite.h"

#define MB_SUPER (EPT_WINDOW + 0x100)
#define MB_USER (USER_STACK_PAGE + 0x100)
#define MB_WORD 0x3b5e0000u

enum mb_access { MB_READ, MB_WRITE, MB_FETCH_SUPER, MB_FETCH_USER };

struct mb_call {
    uintptr_t at;
    enum mb_access access;
    u32 got;
};

static void mb_guest(void *arg)
{
    struct mb_call *m = arg;
    if (m->access == MB_READ)
        m->got = *(volatile u32 *)m->at;
    else if (m->access == MB_WRITE)
        *(volatile u32 *)m->at = MB_WORD;
    else
        m->got = ept_call_code((const u8 *)m->at);
}

/* An access with the leaf's permissions `perms` (EPT_EXEC: supervisor,
 * EPT_USER_EXEC: user) exits once with the qualification table 28-7 gives
 * when the permission it needs is missing, then completes */
static bool mb_case(struct cpu_outcome *o, struct ept_cpu *c, bool mbec, u64 perms,
                    enum mb_access a)
{
    bool user = a == MB_FETCH_USER;
    uintptr_t at = user ? MB_USER : MB_SUPER;
    u8 *code = c->page[user];
    u32 want = MB_WORD + (u32)perms + mbec;
    u64 need = a == MB_READ ? EPT_READ : a == MB_WRITE ? EPT_WRITE
               : user && mbec ? EPT_USER_EXEC : EPT_EXEC;
    struct mb_call m = {at, a, 0};
    u32 stored, word;

    ept_put_code(code + (at & 0xfff), want);
    memcpy(&word, code + (at & 0xfff), 4);
    ept_map_4k(&c->map, at, (uintptr_t)code, 0, MTRR_TYPE_WB);
    for (int level = 2; level <= 4; level++) /* user execute all the way down */
        *ept_at_level(&c->map, at, level) |= EPT_USER_EXEC;
    struct ept_exits e = {.e = &c->map, .entry = ept_leaf(&c->map, at)};
    *e.entry |= perms;
    e.restore = *e.entry | EPT_RWX | EPT_USER_EXEC;
    struct vcpu *v = ept_cpu_guest(o, &c->map, 0, mbec ? CPU2_MODE_BASED_EPT_EXEC : 0,
                                   ept_exits_hook, &e);
    bool exit = !(perms & need);
    u64 qual = (a == MB_READ ? EPT_QUAL_READ : a == MB_WRITE ? EPT_QUAL_WRITE : EPT_QUAL_FETCH) |
               (perms & EPT_RWX) << 3 | (mbec && (perms & EPT_USER_EXEC) ? 1u << 6 : 0) |
               EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATION;
    bool ok = v && ept_cpu_flush(o, &c->map) && test_guest_run(o, v, mb_guest, &m);
    memcpy(&stored, code + (at & 0xfff), 4);
    ept_identity_4k(&c->map, at);
    /* Bochs 3.0 reports bit 6 only for a fetch (bit 10 lands in bit 13) */
    if (ok && exit && a < MB_FETCH_SUPER && (qual & 1u << 6) &&
        (e.qual & 0x1ff) == (qual & ~(1u << 6)) && l0_bochs_deviates(BOCHS_3_0_ONLY)) {
        outcome_xfail(o, "%s report user-mode execute (bit 6) only for fetches",
                      l0_bochs_names(BOCHS_3_0_ONLY));
        qual &= ~(1u << 6);
    }
    if (ok && (e.violations != exit || (exit && ((e.qual & 0x1ff) != qual || e.gpa != at)) ||
               m.got != (a == MB_WRITE ? 0 : a == MB_READ ? word : want) ||
               stored != (a == MB_WRITE ? MB_WORD : word))) {
        outcome_fail(o, "control %u, leaf 0x%llx, access %u: %u violations, qualification "
                     "0x%llx at 0x%llx (expected %u, 0x%llx at 0x%lx), got 0x%x, stored 0x%x",
                     mbec, perms, a, e.violations, e.qual, e.gpa, exit, qual, (unsigned long)at,
                     m.got, stored);
        return false;
    }
    return ok;
}

static void check_mode_based(struct cpu_outcome *o, void *arg)
{
    struct ept_cpu *c = ept_cpu(o);
    const u64 r = EPT_READ, w = EPT_WRITE, xs = EPT_EXEC, xu = EPT_USER_EXEC;
    /* with the control: every access against each leaf */
    static const u16 leaves[] = {EPT_READ | EPT_EXEC, EPT_READ | EPT_USER_EXEC,
                                 EPT_READ | EPT_EXEC | EPT_USER_EXEC,
                                 EPT_READ | EPT_WRITE | EPT_USER_EXEC,
                                 EPT_READ | EPT_WRITE | EPT_EXEC | EPT_USER_EXEC};
    (void)arg;

    if (!c || !require_control(o, CTL_PROC2, CPU2_MODE_BASED_EPT_EXEC,
                               "mode-based execute control for EPT"))
        return;
    if (!platform.user_pages) {
        outcome_skip(o, "0x%x is not usable RAM here (no user page)", USER_STACK_PAGE);
        return;
    }
    bool ok = true;
    for (u32 i = 0; ok && i < ARRAY_SIZE(leaves); i++)
        for (u32 a = MB_READ; ok && a <= MB_FETCH_USER; a++)
            ok = mb_case(o, c, true, leaves[i], a);
    /* without it bit 10 is ignored and bit 2 allows both */
    (void)(ok && mb_case(o, c, false, r | xu, MB_FETCH_SUPER) &&
           mb_case(o, c, false, r | xu, MB_FETCH_USER) &&
           mb_case(o, c, false, r | xs, MB_FETCH_USER) && mb_case(o, c, false, r | w | xs, MB_WRITE));
    ept_flush(&c->map);
}

VMX_TEST_ALL_CPUS("vmx/ept-mode-based-execute", check_mode_based);
