/* vmx/ept-1g-pages: a PDPTE with bit 7 maps a 1 GiB page (SDM 3C 29.3.2,
 * table 29-3): the guest reads host memory through a 1 GiB window at the
 * same offsets; the page is read-only, so a write is an EPT violation
 * (qualification: write, readable) at the write's guest-physical address;
 * the host makes the PDPTE writable and the write lands in host memory. */
#include "cpu.h"
#include "ept_suite.h"

#define G1_READS 4

struct g1_run {
    uintptr_t at[G1_READS], store;
    u32 got[G1_READS];
};

static void g1_guest(void *arg)
{
    struct g1_run *r = arg;
    for (u32 i = 0; i < G1_READS; i++)
        r->got[i] = *(volatile u32 *)r->at[i];
    *(volatile u32 *)r->store = r->got[0] + 1;
}

static void check_1g(struct cpu_outcome *o, void *arg)
{
    struct ept_cpu *c = ept_cpu(o);
    struct g1_run r;
    (void)arg;

    if (!c)
        return;
    if (!(vmx_caps.ept_vpid & EPT_CAP_1G)) {
        outcome_skip(o, "IA32_VMX_EPT_VPID_CAP bit 17 (1-GiB EPT pages) clear");
        return;
    }
    /* the 1 GiB of host memory with the test pages, seen at 1 GiB (or 2) */
    u64 host = (uintptr_t)c->page[0] & ~(GiB(1) - 1);
    u64 window = host == GiB(1) ? GiB(2) : GiB(1);
    u32 *word[G1_READS] = {(u32 *)c->page[0], (u32 *)(c->page[1] + 0xffc),
                           (u32 *)(c->page[2] + 0x800), (u32 *)(uintptr_t)(host + 0x1ffffc)};
    for (u32 i = 0; i < G1_READS; i++) {
        if (i < 3)
            *word[i] = 0x1ee70000 + i * 0x100 + this_cpu()->index;
        r.at[i] = (uintptr_t)(window + ((uintptr_t)word[i] - host));
    }
    r.store = r.at[0] + 0x40;
    ept_map_1g(&c->map, window, host, EPT_READ, MTRR_TYPE_WB);
    struct ept_exits x = {.e = &c->map, .entry = ept_at_level(&c->map, window, 3)};
    x.restore = *x.entry | EPT_RWX;
    struct vcpu *v = ept_cpu_guest(o, &c->map, 0, 0, ept_exits_hook, &x);
    if (v && CHECK(o, *x.entry & EPT_LARGE) && ept_cpu_flush(o, &c->map) &&
        test_guest_run(o, v, g1_guest, &r)) {
        u32 i = 0;
        while (i < G1_READS && r.got[i] == *word[i])
            i++;
        (void)(CHECK_EQ(o, i, G1_READS) && CHECK_EQ(o, x.violations, 1) &&
               CHECK_EQ(o, x.qual & 0x3f, EPT_QUAL_WRITE | EPT_QUAL_READABLE) &&
               CHECK_EQ(o, x.gpa, r.store) && CHECK_EQ(o, word[0][0x10], r.got[0] + 1));
    }
    for (u64 gpa = window; gpa < window + GiB(1); gpa += MiB(2))
        ept_restore_identity_2m(&c->map, gpa);
    ept_flush(&c->map);
}

VMX_TEST_ALL_CPUS("vmx/ept-1g-pages", check_1g);
