/* vmx/invept-single-context, vmx/invept-all-context (SDM 3C 31.3 INVEPT,
 * 29.4.3): the guest rewrites its own EPT leaf for the window (the tables
 * are in memory it may write), so the processor may go on with the
 * translation it cached: a second read sees the old page or the new one.
 * After the host's INVEPT (at a VMCALL) the guest must see the new page:
 * single-context for the current EPTP; all-context for both maps, the
 * host switching the guest to the other map and back. INVEPT's operand
 * checks: an invalid EPTP (single-context) and unsupported types fail with
 * VMfailValid 28; all-context ignores the descriptor. On Bochs every VM
 * exit and entry empties the whole TLB, so there the INVEPT itself is not
 * what makes the new page seen. */
#include "cpu.h"
#include "ept_suite.h"

#define IV_HC_STEP 0x0f4a /* LHV's range (docs/design.md §3): the guest asks for a step */
#define IV_GPA     (EPT_WINDOW + 0x9c)

struct iv_run {
    struct ept_cpu *c;
    u32 type, steps, status;
    u64 *leaf[2], next[2];
    u32 seen[4];
};

static enum exit_action iv_hook(struct vcpu *v, u32 reason)
{
    struct iv_run *r = v->test_data;
    if (reason != EXIT_REASON_VMCALL || (u32)REG_AX(v) != IV_HC_STEP)
        return EXIT_DEFAULT;
    vcpu_skip_instruction();
    if (r->steps++ == 0) {
        r->status = (u32)invept(r->type, r->type == INVEPT_SINGLE ? r->c->map.eptp : 0);
        if (r->type == INVEPT_ALL)
            vmw(EPT_POINTER, r->c->alt.eptp);
    } else {
        vmw(EPT_POINTER, r->c->map.eptp);
    }
    return EXIT_RESUME;
}

static void iv_guest(void *arg)
{
    struct iv_run *r = arg;
    volatile u32 *word = (volatile u32 *)(uintptr_t)IV_GPA;
    r->seen[0] = *word;
    *(volatile u64 *)r->leaf[0] = r->next[0];
    *(volatile u64 *)r->leaf[1] = r->next[1];
    r->seen[1] = *word;
    guest_hypercall(IV_HC_STEP, 0, 0, 0);
    r->seen[2] = *word;
    guest_hypercall(IV_HC_STEP, 0, 0, 0);
    r->seen[3] = *word;
}

/* INVEPT(type, eptp) must fail with VMfailValid 28 */
static bool iv_refused(struct cpu_outcome *o, u32 type, u64 eptp)
{
    int st = invept(type, eptp);
    if (st == VMX_FAIL_VALID && vmr(VM_INSTRUCTION_ERROR) == VMX_ERROR_INVALID_INV_OPERAND)
        return true;
    outcome_fail(o, "INVEPT type %u, EPTP 0x%llx: status %d, expected VMfailValid 28", type, eptp,
                 st);
    return false;
}

static void iv_check(struct cpu_outcome *o, u32 type, u64 cap, const char *what)
{
    struct ept_cpu *c = ept_cpu(o);
    struct iv_run r = {.c = c, .type = type};
    u32 val[3];

    if (!c)
        return;
    if (!(vmx_caps.ept_vpid & cap)) {
        outcome_skip(o, "IA32_VMX_EPT_VPID_CAP bit %u (INVEPT %s) clear", type == 1 ? 25 : 26,
                     what);
        return;
    }
    /* window page: host page 0 in both maps; the guest makes it 1 (map), 2 (alt)
     */
    for (u32 i = 0; i < 3; i++) {
        val[i] = 0x17e70000 + (i << 8) + this_cpu()->index;
        *(u32 *)(c->page[i] + (IV_GPA & 0xfff)) = val[i];
    }
    struct ept *maps[2] = {&c->map, &c->alt};
    for (u32 m = 0; m < 2; m++) {
        ept_map_4k(maps[m], IV_GPA, (uintptr_t)c->page[0], EPT_RWX, MTRR_TYPE_WB);
        r.leaf[m] = ept_leaf(maps[m], IV_GPA);
        r.next[m] = (*r.leaf[m] & ~EPT_ADDR_MASK) | (uintptr_t)c->page[1 + m];
    }
    struct vcpu *v = ept_cpu_guest(o, &c->map, 0, 0, iv_hook, &r);
    if (v && ept_cpu_flush(o, &c->map) && ept_cpu_flush(o, &c->alt) &&
        test_guest_run(o, v, iv_guest, &r)) {
        /* a second read before any INVEPT: the cached translation or the new one */
        (void)(CHECK_EQ(o, r.seen[0], val[0]) &&
               CHECK(o, r.seen[1] == val[0] || r.seen[1] == val[1]) &&
               CHECK_EQ(o, r.status, VMX_OK) &&
               CHECK_EQ(o, r.seen[2], (type == INVEPT_ALL ? val[2] : val[1])) &&
               CHECK_EQ(o, r.seen[3], val[1]));
    }
    if (!o->failed && type == INVEPT_SINGLE) {
        u64 e = c->map.eptp;
        (void)(iv_refused(o, type, (e & ~0x38ull) | (1 << 3)) && /* walk length 2 */
               iv_refused(o, type, (e & ~7ull) | 2) &&           /* memory type 2 */
               iv_refused(o, type, e | (1 << 8)));               /* reserved bit 8 */
    } else if (!o->failed) {
        (void)(CHECK_EQ(o, invept(INVEPT_ALL, ~0ull), VMX_OK) && iv_refused(o, 0, c->map.eptp) &&
               iv_refused(o, 3, c->map.eptp));
    }
    ept_restore_identity_2m(&c->map, EPT_WINDOW);
    ept_restore_identity_2m(&c->alt, EPT_WINDOW);
    ept_flush(&c->map);
    ept_flush(&c->alt);
}

static void check_invept_single(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    iv_check(o, INVEPT_SINGLE, EPT_CAP_INVEPT_SINGLE, "single-context");
}

static void check_invept_all(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    iv_check(o, INVEPT_ALL, EPT_CAP_INVEPT_ALL, "all-context");
}

VMX_TEST_ALL_CPUS("vmx/invept-single-context", check_invept_single);
VMX_TEST_ALL_CPUS("vmx/invept-all-context", check_invept_all);
