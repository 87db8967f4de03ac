/* Host tests for lhv/vmx/mtrr.c: the memory type the MTRRs give an address
 * and a range (SDM 3A 12.11), which the EPT identity map copies into its
 * entries. Hand-made cases for each rule, then random MTRR setups checked
 * page by page against a plain reference written here; then lhv/vmx/ept.c's
 * identity map built on such setups, every page of it checked the same way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "alloc.h"
#include "vmx/ept.h"
#include "vmx/mtrr.h"

/* What ept.c needs of the runtime: tables from alloc_pages (zeroed pages;
 * their host addresses are what the entries hold), the capabilities */
struct vmx_caps vmx_caps;
const char *vmx_unavailable(void) { return NULL; }
/* the VMCS side of ept.c, which these tests do not reach */
u64 vmr(u32 field)
{
    fail_msg("vmr(0x%x)", field);
    return 0;
}
void vmw(u32 field, u64 value) { fail_msg("vmw(0x%x, 0x%llx)", field, (unsigned long long)value); }
bool vmx_adjust(const struct vmx_ctl_caps *c, u32 wanted, u32 *value, u32 *missing)
{
    (void)c, (void)wanted, (void)value, (void)missing;
    fail_msg("vmx_adjust");
    return false;
}

#define MAX_TABLES (6 + 2048) /* PML4, PDPT, 4 PDs, a PT per 2 MiB */
static void *tables[MAX_TABLES];
static unsigned ntables;

void *alloc_pages(u32 n)
{
    assert_int_equal(n, 1);
    assert_true(ntables < MAX_TABLES);
    void *p = aligned_alloc(4096, 4096);
    assert_non_null(p);
    memset(p, 0, 4096);
    return tables[ntables++] = p;
}

static void free_tables(void)
{
    while (ntables)
        free(tables[--ntables]);
}

#define UC MTRR_TYPE_UC
#define WC MTRR_TYPE_WC
#define WT MTRR_TYPE_WT
#define WP MTRR_TYPE_WP
#define WB MTRR_TYPE_WB
#define MIXED MTRR_TYPE_MIXED
#define VALID MTRR_PHYSMASK_VALID

static struct mtrr_state base_state(u8 default_type)
{
    struct mtrr_state s;
    memset(&s, 0, sizeof(s));
    s.enabled = true;
    s.default_type = default_type;
    s.addr_mask = mtrr_addr_mask(36);
    return s;
}

/* A variable range of size bytes (a power of two) at base */
static void add_var(struct mtrr_state *s, u64 base, u64 size, u8 type)
{
    s->var[s->var_count].base = base | type;
    s->var[s->var_count].mask = (~(size - 1) & s->addr_mask) | VALID;
    s->var_count++;
}

/* Fixed ranges as a BIOS sets them: WB RAM below 0xa0000, UC video
 * memory, WP option ROMs and BIOS */
static void typical_fixed(struct mtrr_state *s)
{
    u64 msr[MTRR_FIXED_MSRS];
    msr[0] = 0x0606060606060606ull; /* 0-0x7ffff */
    msr[1] = 0x0606060606060606ull; /* 0x80000-0x9ffff */
    msr[2] = 0;                     /* 0xa0000-0xbffff */
    for (int i = 3; i < MTRR_FIXED_MSRS; i++)
        msr[i] = 0x0505050505050505ull;
    mtrr_set_fixed(s, msr);
    s->fixed_enabled = true;
}

static void test_addr_mask(void **state)
{
    (void)state;
    assert_true(mtrr_addr_mask(36) == 0xffffff000ull);
    assert_true(mtrr_addr_mask(39) == 0x7ffffff000ull);
    assert_true(mtrr_addr_mask(52) == 0xffffffffff000ull);
    assert_true(mtrr_addr_mask(60) == 0xffffffffff000ull);
}

static void test_disabled(void **state)
{
    struct mtrr_state s = base_state(WB);
    (void)state;
    add_var(&s, 0, 1ull << 30, WB);
    typical_fixed(&s);
    s.enabled = false;
    assert_int_equal(mtrr_type_at(&s, 0), UC);
    assert_int_equal(mtrr_type_at(&s, 0x12345678), UC);
    assert_int_equal(mtrr_range_type(&s, 0, 1ull << 32), UC);
}

/* Byte i of fixed MSR k is range 8k + i, and the ranges are 64, 16 and
 * 4 KiB long */
static void test_fixed_layout(void **state)
{
    struct mtrr_state s = base_state(WB);
    u64 msr[MTRR_FIXED_MSRS];
    (void)state;
    for (int k = 0; k < MTRR_FIXED_MSRS; k++) {
        msr[k] = 0;
        for (int i = 0; i < 8; i++)
            msr[k] |= (u64)(8 * k + i) << (8 * i);
    }
    mtrr_set_fixed(&s, msr);
    s.fixed_enabled = true;
    for (int j = 0; j < MTRR_FIXED_RANGES; j++)
        assert_int_equal(s.fixed[j], j);
    const struct {
        u64 addr;
        u8 range;
    } probes[] = {{0, 0},        {0xffff, 0},   {0x10000, 1},  {0x7ffff, 7},  {0x80000, 8},
                  {0x83fff, 8},  {0x84000, 9},  {0x9ffff, 15}, {0xa0000, 16}, {0xb8000, 22},
                  {0xbffff, 23}, {0xc0000, 24}, {0xc0fff, 24}, {0xc1000, 25}, {0xf0000, 72},
                  {0xfffff, 87}};
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
        assert_int_equal(mtrr_type_at(&s, probes[i].addr), probes[i].range);
    /* Past 1 MiB: the default type (no variable ranges) */
    assert_int_equal(mtrr_type_at(&s, 0x100000), WB);
    assert_int_equal(mtrr_range_type(&s, 0x84000, 0x4000), 9);
    assert_int_equal(mtrr_range_type(&s, 0x84000, 0x4001), MIXED);
    assert_int_equal(mtrr_range_type(&s, 0xc1000, 0x1000), 25);
}

static void test_typical(void **state)
{
    struct mtrr_state s = base_state(WB);
    (void)state;
    typical_fixed(&s);
    add_var(&s, 0xc0000000, 1ull << 30, UC); /* the PCI hole */
    assert_int_equal(mtrr_type_at(&s, 0x9f000), WB);
    assert_int_equal(mtrr_type_at(&s, 0xb8000), UC);
    assert_int_equal(mtrr_type_at(&s, 0xf0000), WP);
    assert_int_equal(mtrr_type_at(&s, 0x100000), WB);
    assert_int_equal(mtrr_type_at(&s, 0xbfffffff), WB);
    assert_int_equal(mtrr_type_at(&s, 0xc0000000), UC);
    assert_int_equal(mtrr_type_at(&s, 0xfee00000), UC);
    assert_int_equal(mtrr_type_at(&s, 0x100000000ull), WB);
    assert_int_equal(mtrr_range_type(&s, 0, 0x200000), MIXED);
    assert_int_equal(mtrr_range_type(&s, 0, 0xa0000), WB);
    assert_int_equal(mtrr_range_type(&s, 0xa0000, 0x20000), UC);
    assert_int_equal(mtrr_range_type(&s, 0xa0000, 0x20001), MIXED);
    assert_int_equal(mtrr_range_type(&s, 0xc0000, 0x40000), WP);
    assert_int_equal(mtrr_range_type(&s, 0x100000, 0x100000), WB);
    assert_int_equal(mtrr_range_type(&s, 0x200000, 0x200000), WB);
    assert_int_equal(mtrr_range_type(&s, 0xbfe00000, 0x200000), WB);
    assert_int_equal(mtrr_range_type(&s, 0xbfe00000, 0x400000), MIXED);
    assert_int_equal(mtrr_range_type(&s, 0xc0000000, 0x40000000), UC);
    assert_int_equal(mtrr_range_type(&s, 0xffe00000, 0x200000), UC);
    assert_int_equal(mtrr_range_type(&s, 0x100000000ull, 0x100000000ull), WB);
    /* Unaligned ranges */
    assert_int_equal(mtrr_range_type(&s, 0x123456, 0x789), WB);
    assert_int_equal(mtrr_range_type(&s, 0xbffffff0, 0x10), WB);
    assert_int_equal(mtrr_range_type(&s, 0xbffffff0, 0x11), MIXED);
    assert_int_equal(mtrr_range_type(&s, 0, 0), MIXED);
    /* Fixed ranges off: the first MiB follows the variable ranges */
    s.fixed_enabled = false;
    assert_int_equal(mtrr_type_at(&s, 0xb8000), WB);
    assert_int_equal(mtrr_range_type(&s, 0, 0x200000), WB);
}

/* Overlaps (12.11.4.1): UC wins, WT and WB give WT, the rest is undefined
 * and taken as UC; a range that does not match does not count */
static void test_overlaps(void **state)
{
    struct mtrr_state s = base_state(UC);
    (void)state;
    add_var(&s, 0, 1ull << 30, WB);
    add_var(&s, 0x10000000, 1ull << 28, WT); /* 256 MiB..512 MiB */
    add_var(&s, 0x20000000, 1ull << 28, UC); /* 512 MiB..768 MiB */
    add_var(&s, 0x30000000, 1ull << 28, WC); /* 768 MiB..1 GiB */
    add_var(&s, 0x30000000, 1ull << 20, WC); /* the same type twice */
    assert_int_equal(mtrr_type_at(&s, 0x1000), WB);
    assert_int_equal(mtrr_type_at(&s, 0x10000000), WT);
    assert_int_equal(mtrr_type_at(&s, 0x20000000), UC);
    assert_int_equal(mtrr_type_at(&s, 0x30000000), UC); /* WC + WB */
    assert_int_equal(mtrr_type_at(&s, 0x40000000), UC); /* default */
    assert_int_equal(mtrr_range_type(&s, 0x10000000, 1ull << 28), WT);
    assert_int_equal(mtrr_range_type(&s, 0x0fe00000, 0x400000), MIXED);
    assert_int_equal(mtrr_range_type(&s, 0x20000000, 0x20000000), UC); /* UC, then WC + WB */

    struct mtrr_state t = base_state(WB);
    add_var(&t, 0x30000000, 1ull << 28, WC);
    add_var(&t, 0x30000000, 1ull << 20, WC);
    assert_int_equal(mtrr_type_at(&t, 0x30000000), WC); /* WC + WC */
    /* A range whose valid bit is clear does not count */
    t.var[0].mask &= ~(u64)VALID;
    t.var[1].mask &= ~(u64)VALID;
    assert_int_equal(mtrr_type_at(&t, 0x30000000), WB);
}

/* A small variable range inside a large block makes the block mixed; mask
 * bits beyond MAXPHYADDR do not count */
static void test_partial_match(void **state)
{
    struct mtrr_state s = base_state(UC);
    (void)state;
    add_var(&s, 0x1000, 0x1000, WB);
    assert_int_equal(mtrr_range_type(&s, 0x1000, 0x1000), WB);
    assert_int_equal(mtrr_range_type(&s, 0, 0x200000), MIXED);
    assert_int_equal(mtrr_range_type(&s, 0x2000, 0x1fe000), UC);
    assert_int_equal(mtrr_range_type(&s, 0x200000, 0x200000), UC);
    /* The mask only covers bits 35:12: address 2^36 + 0x1000 matches too */
    assert_int_equal(mtrr_type_at(&s, (1ull << 36) + 0x1000), WB);
    s.var[0].mask |= 0xfff0000000000000ull;
    assert_int_equal(mtrr_type_at(&s, 0x1000), WB);
}

/* --- random setups against a reference ------------------------------------ */

static u64 rng = 0x243f6a8885a308d3ull;
static u64 next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const u8 valid_types[] = {UC, WC, WT, WP, WB};
static u8 random_type(void) { return valid_types[next_random() % 5]; }

/* The rules spelled out once more, plainly */
static u8 ref_type_at(const struct mtrr_state *s, u64 a)
{
    if (!s->enabled)
        return UC;
    if (s->fixed_enabled && a < 0x100000) {
        if (a < 0x80000)
            return s->fixed[a / 0x10000];
        if (a < 0xc0000)
            return s->fixed[8 + (a - 0x80000) / 0x4000];
        return s->fixed[24 + (a - 0xc0000) / 0x1000];
    }
    int n = 0, uc = 0, wt = 0, wb = 0, other = 0;
    for (u32 i = 0; i < s->var_count; i++) {
        u64 m = s->var[i].mask & s->addr_mask;
        if (!(s->var[i].mask & VALID) || (a & m) != (s->var[i].base & m))
            continue;
        u8 t = (u8)s->var[i].base;
        n++;
        uc |= t == UC;
        wt |= t == WT;
        wb |= t == WB;
        if (t != UC && t != WT && t != WB)
            other |= 1 << t;
    }
    if (n == 0)
        return s->default_type;
    if (uc)
        return UC;
    if (!other && wt && wb)
        return WT;
    if (!other && wt)
        return WT;
    if (!other && wb)
        return WB;
    if (!wt && !wb && (other & (other - 1)) == 0) /* a single other type */
        return (u8)__builtin_ctz(other);
    return UC;
}

/* The range's type from its pages (types change only at 4 KiB steps) */
static u8 ref_range(const struct mtrr_state *s, u64 base, u64 len)
{
    u8 t = ref_type_at(s, base);
    for (u64 p = base + 0x1000; p < base + len; p += 0x1000)
        if (ref_type_at(s, p) != t)
            return MIXED;
    return t;
}

static struct mtrr_state random_state(void)
{
    struct mtrr_state s = base_state(random_type());
    u64 msr[MTRR_FIXED_MSRS];

    s.addr_mask = mtrr_addr_mask(26 + (u32)(next_random() % 3)); /* 64..256 MiB */
    for (int k = 0; k < MTRR_FIXED_MSRS; k++) {
        msr[k] = 0;
        /* runs of equal types, so that some blocks are uniform */
        u8 t = random_type();
        for (int i = 0; i < 8; i++) {
            if (next_random() % 4 == 0)
                t = random_type();
            msr[k] |= (u64)t << (8 * i);
        }
    }
    mtrr_set_fixed(&s, msr);
    s.fixed_enabled = next_random() % 4 != 0;
    s.var_count = (u32)(next_random() % 9);
    for (u32 i = 0; i < s.var_count; i++) {
        u64 size = 1ull << (12 + next_random() % 14); /* 4 KiB .. 32 MiB */
        u64 mask = ~(size - 1) & s.addr_mask;
        if (next_random() % 5 == 0) /* a mask with holes: legal, if odd */
            mask &= ~(1ull << (12 + next_random() % 14));
        s.var[i].base = ((next_random() & s.addr_mask & mask) | random_type());
        s.var[i].mask = mask | (next_random() % 8 ? VALID : 0);
    }
    return s;
}

static void test_random(void **state)
{
    (void)state;
    for (int round = 0; round < 300; round++) {
        struct mtrr_state s = random_state();
        for (int i = 0; i < 40; i++) {
            u64 a = next_random() & 0xfffffff;
            assert_int_equal(mtrr_type_at(&s, a), ref_type_at(&s, a));
            /* page-aligned ranges of 1 to 1024 pages, often aligned as
             * EPT pages are */
            u64 pages = 1 + next_random() % 1024;
            u64 base = next_random() & 0xffff000;
            if (next_random() % 2) {
                pages = next_random() % 2 ? 512 : 1;
                base &= ~(pages * 0x1000 - 1);
            }
            u8 want = ref_range(&s, base, pages * 0x1000);
            u8 got = mtrr_range_type(&s, base, pages * 0x1000);
            if (got != want)
                fail_msg("round %d: range 0x%llx + %llu pages: got %u, expected %u", round,
                         (unsigned long long)base, (unsigned long long)pages, got, want);
        }
    }
}

/* The EPT type of a page: the MTRRs' type, UC for anything EPT cannot
 * take (ept.c) */
static u8 ept_want(const struct mtrr_state *s, u64 a)
{
    u8 t = ref_type_at(s, a);
    return t == WC || t == WT || t == WP || t == WB ? t : UC;
}

static u64 *table_of(u64 entry) { return (u64 *)(uintptr_t)(entry & EPT_ADDR_MASK); }

/* Every page below top: mapped to itself, RWX, by a 2 MiB page or a 4 KiB
 * one (a 2 MiB region gets a table only when its pages differ), with the
 * type its address has; nothing mapped from top on; the counts add up. */
static void check_identity(const struct mtrr_state *s, const struct ept *e, u64 top)
{
    u64 *pdpt = table_of(e->pml4[0]);
    u32 n2m = 0, n4k = 0;

    for (u64 gpa = 0; gpa < GiB(4); gpa += MiB(2)) {
        u64 pdpte = pdpt[gpa >> 30], pde = pdpte ? table_of(pdpte)[(gpa >> 21) & 511] : 0;
        if (gpa >= top) {
            assert_int_equal(pde, 0);
            continue;
        }
        assert_int_equal(pde & EPT_RWX, EPT_RWX);
        if (pde & EPT_LARGE) {
            n2m++;
            assert_int_equal(pde & EPT_ADDR_MASK, gpa);
            u8 t = (u8)((pde & EPT_TYPE_MASK) >> EPT_TYPE_SHIFT);
            for (u64 p = gpa; p < gpa + MiB(2); p += 4096)
                if (ept_want(s, p) != t)
                    fail_msg("2 MiB page 0x%llx: type %u, page 0x%llx has %u",
                             (unsigned long long)gpa, t, (unsigned long long)p, ept_want(s, p));
            continue;
        }
        const u64 *pt = table_of(pde);
        bool same = true;
        for (u32 i = 0; i < 512; i++) {
            u64 p = gpa + (u64)i * 4096;
            n4k++;
            assert_int_equal(pt[i] & (EPT_ADDR_MASK | EPT_RWX | EPT_LARGE), p | EPT_RWX);
            assert_int_equal((pt[i] & EPT_TYPE_MASK) >> EPT_TYPE_SHIFT, ept_want(s, p));
            same &= ept_want(s, p) == ept_want(s, gpa);
        }
        if (same)
            fail_msg("2 MiB region 0x%llx of one type mapped by 4 KiB pages",
                     (unsigned long long)gpa);
    }
    assert_int_equal(e->leaves_2m, n2m);
    assert_int_equal(e->leaves_4k, n4k);
}

static void test_identity_map(void **state)
{
    (void)state;
    vmx_caps.ept_vpid = EPT_CAP_2M | EPT_CAP_WB;
    for (int round = 0; round < 40; round++) {
        struct mtrr_state s = random_state();
        if (round % 4 == 0) { /* ranges reaching into the upper GiBs too */
            s.addr_mask = mtrr_addr_mask(36);
            for (u32 i = 0; i < s.var_count; i++)
                s.var[i].base ^= (next_random() % 4) << 30;
        }
        u64 top = round % 3 ? GiB(4) : GiB(1) + MiB(2) * (next_random() % 512);
        struct ept e;
        ept_build_identity(&e, &s, top);
        check_identity(&s, &e, top);
        free_tables();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_mask),     cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_fixed_layout),  cmocka_unit_test(test_typical),
        cmocka_unit_test(test_overlaps),      cmocka_unit_test(test_partial_match),
        cmocka_unit_test(test_random),        cmocka_unit_test(test_identity_map),
    };
    return cmocka_run_group_tests_name("ept", tests, NULL, NULL);
}
