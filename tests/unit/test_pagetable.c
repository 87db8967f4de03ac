/* Host tests for xmhf/sl/pagetable.c: build the tables in a heap arena with
 * a made-up physical address, then walk them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pagetable.h"

#define FAKE_PHYS 0x12345000ull /* page aligned, unlike anything the heap gives */
#define FLAGS_4K (PTE_P | PTE_RW)
#define FLAGS_LARGE (PTE_P | PTE_RW | PTE_PS)

/* An arena of size bytes filled with garbage, so that a page the builder
 * forgot to zero shows up as bogus mappings. */
static struct pt_arena arena_new(u64 size)
{
    struct pt_arena a = { .phys = FAKE_PHYS, .size = size, .used = 0 };

    a.mem = aligned_alloc(PAGE_SIZE, size ? size : PAGE_SIZE);
    assert_non_null(a.mem);
    memset(a.mem, 0xa5, size);
    return a;
}

static void arena_free(struct pt_arena *a)
{
    free(a->mem);
}

static void expect_amd64(const struct pt_arena *a, u64 root, u64 addr, u64 flags)
{
    u64 phys = ~0ull, got = ~0ull;

    if (!pt_translate_amd64(a, root, addr, &phys, &got))
        fail_msg("0x%llx not mapped", (unsigned long long)addr);
    assert_int_equal(phys, addr);
    assert_int_equal(got, flags);
}

static void expect_amd64_unmapped(const struct pt_arena *a, u64 root, u64 addr)
{
    u64 phys, flags;

    if (pt_translate_amd64(a, root, addr, &phys, &flags))
        fail_msg("0x%llx mapped", (unsigned long long)addr);
}

static void expect_pae(const struct pt_arena *a, u64 root, u32 addr, u64 flags)
{
    u64 phys = ~0ull, got = ~0ull;

    if (!pt_translate_pae(a, root, addr, &phys, &got))
        fail_msg("0x%x not mapped", addr);
    assert_int_equal(phys, addr);
    assert_int_equal(got, flags);
}

/* Addresses below 4 GiB that matter: real-mode area, VGA, the 2 MiB
 * boundary, kernel-ish RAM, IOAPIC, LAPIC, the last byte. */
static const u64 low_addrs[] = {
    0x0, 0x1000, 0xb8000, 0xfffff, 0x100000, 0x1fffff, 0x200000, 0x201234,
    0x10000000, 0x7fffffff, 0x80000000, 0xfec00000, 0xfee00000, 0xfee000f0,
    0xffe00000, 0xffffffff,
};

static u64 low_flags(u64 addr)
{
    return addr < MiB(2) ? FLAGS_4K : FLAGS_LARGE;
}

/* Identity map of [0, 4 GiB): the listed addresses, and every 4 KiB page of
 * the first 2 MiB and every 2 MiB page above (first and last byte). */
static void check_low_4g_amd64(const struct pt_arena *a, u64 root)
{
    for (size_t i = 0; i < ARRAY_SIZE(low_addrs); i++)
        expect_amd64(a, root, low_addrs[i], low_flags(low_addrs[i]));
    for (u64 p = 0; p < MiB(2); p += KiB(4)) {
        expect_amd64(a, root, p, FLAGS_4K);
        expect_amd64(a, root, p + 0xfff, FLAGS_4K);
    }
    for (u64 p = MiB(2); p < GiB(4); p += MiB(2)) {
        expect_amd64(a, root, p, FLAGS_LARGE);
        expect_amd64(a, root, p + MiB(2) - 1, FLAGS_LARGE);
    }
}

/* Every entry the builder wrote is present, writable, supervisor, with no
 * caching or other bits; only the PS bit varies. */
static void check_entry_bits(const struct pt_arena *a)
{
    const u64 *e = (const u64 *)(const void *)a->mem;

    for (u64 i = 0; i < a->used / 8; i++) {
        u64 low = e[i] & 0xfff, high = e[i] & ~PTE_ADDR_MASK & ~0xfffull;

        if (e[i] == 0)
            continue;
        assert_int_equal(high, 0);
        if (low != FLAGS_4K && low != FLAGS_LARGE)
            fail_msg("entry %llu: flags 0x%llx", (unsigned long long)i,
                     (unsigned long long)low);
    }
}

/* Builds for ram_top into an arena of exactly pt_size_amd64 bytes and
 * checks the size, the low 4 GiB, RAM up to mapped_top and nothing above. */
static void check_amd64(u64 ram_top, bool use_1g, u64 mapped_top)
{
    u64 size = pt_size_amd64(ram_top, use_1g);
    struct pt_arena a = arena_new(size);
    u64 root = pt_build_amd64(&a, ram_top, use_1g);

    assert_int_equal(root, FAKE_PHYS);  /* the PML4 is the first page */
    assert_int_equal(a.used, size);
    check_entry_bits(&a);
    check_low_4g_amd64(&a, root);

    /* Above 4 GiB: the first and last byte of each 2 MiB up to the top */
    for (u64 p = GiB(4); p < mapped_top; p += MiB(2)) {
        expect_amd64(&a, root, p, FLAGS_LARGE);
        expect_amd64(&a, root, p + 0x1234, FLAGS_LARGE);
        expect_amd64(&a, root, p + MiB(2) - 1, FLAGS_LARGE);
    }
    expect_amd64_unmapped(&a, root, mapped_top);
    expect_amd64_unmapped(&a, root, mapped_top + GiB(1));
    expect_amd64_unmapped(&a, root, (1ull << 47) - 1);
    /* non-canonical, and the (unmapped) upper half */
    expect_amd64_unmapped(&a, root, 1ull << 47);
    expect_amd64_unmapped(&a, root, 0xffff800000000000ull);
    expect_amd64_unmapped(&a, root, ~0ull);
    arena_free(&a);
}

static void test_amd64_4g(void **state)
{
    (void)state;
    assert_int_equal(pt_size_amd64(GiB(4), false), 7 * PAGE_SIZE);
    check_amd64(GiB(4), false, GiB(4));
    check_amd64(GiB(4), true, GiB(4));
}

/* Less RAM than 4 GiB still maps all of [0, 4 GiB): MMIO lives there. */
static void test_amd64_small_ram(void **state)
{
    (void)state;
    assert_int_equal(pt_size_amd64(0, false), 7 * PAGE_SIZE);
    assert_int_equal(pt_size_amd64(MiB(512), true), 7 * PAGE_SIZE);
    check_amd64(0, false, GiB(4));
    check_amd64(MiB(512), true, GiB(4));
}

static void test_amd64_6g(void **state)
{
    (void)state;
    assert_int_equal(pt_size_amd64(GiB(6), false), 9 * PAGE_SIZE);
    assert_int_equal(pt_size_amd64(GiB(6), true), 7 * PAGE_SIZE);
    check_amd64(GiB(6), false, GiB(6));
    check_amd64(GiB(6), true, GiB(6));
}

/* A ram_top inside a page maps the whole page: 2 MiB, or 1 GiB. */
static void test_amd64_unaligned_top(void **state)
{
    (void)state;
    assert_int_equal(pt_size_amd64(GiB(6) + 1, false), 10 * PAGE_SIZE);
    check_amd64(GiB(6) + MiB(1), false, GiB(6) + MiB(2));
    check_amd64(GiB(6) + 1, false, GiB(6) + MiB(2));
    check_amd64(GiB(6) + MiB(2), false, GiB(6) + MiB(2));
    check_amd64(GiB(6) + MiB(1), true, GiB(7));
}

static void test_amd64_64g(void **state)
{
    (void)state;
    assert_int_equal(pt_size_amd64(GiB(64), false), 67 * PAGE_SIZE);
    assert_int_equal(pt_size_amd64(GiB(64), true), 7 * PAGE_SIZE);
    check_amd64(GiB(64), false, GiB(64));
    check_amd64(GiB(64), true, GiB(64));
}

/* More than 512 GiB takes a second PDPT. */
static void test_amd64_600g(void **state)
{
    (void)state;
    assert_int_equal(pt_size_amd64(GiB(600), false), (1 + 2 + 600 + 1) * PAGE_SIZE);
    assert_int_equal(pt_size_amd64(GiB(600), true), (1 + 2 + 4 + 1) * PAGE_SIZE);
    assert_int_equal(pt_size_amd64(GiB(512), true), (1 + 1 + 4 + 1) * PAGE_SIZE);
    assert_int_equal(pt_size_amd64(GiB(512) + 1, true), (1 + 2 + 4 + 1) * PAGE_SIZE);
    check_amd64(GiB(600), false, GiB(600));
    check_amd64(GiB(600), true, GiB(600));
}

/* 1 GiB pages: the leaf is the PDPTE; offsets within it are kept. */
static void test_amd64_1g_leaves(void **state)
{
    u64 size = pt_size_amd64(GiB(8), true);
    struct pt_arena a = arena_new(size);
    u64 root = pt_build_amd64(&a, GiB(8), true);
    const u64 *pml4 = (const u64 *)(const void *)a.mem;
    const u64 *pdpt = (const u64 *)(const void *)(a.mem + ((pml4[0] & PTE_ADDR_MASK) - FAKE_PHYS));

    (void)state;
    assert_int_equal(pdpt[4], GiB(4) | FLAGS_LARGE);
    assert_int_equal(pdpt[7], GiB(7) | FLAGS_LARGE);
    assert_int_equal(pdpt[8], 0);
    assert_int_equal(pdpt[3] & FLAGS_LARGE, PTE_P | PTE_RW);  /* a PD below 4 GiB */
    expect_amd64(&a, root, GiB(5) + 0x2345678, FLAGS_LARGE);
    expect_amd64(&a, root, GiB(8) - 1, FLAGS_LARGE);
    expect_amd64_unmapped(&a, root, GiB(8));
    arena_free(&a);
}

/* The largest ram_top an identity map reaches: 128 TiB, the lower
 * canonical half; beyond it nothing is built. */
static void test_amd64_limits(void **state)
{
    u64 max = 1ull << 47;
    u64 size = pt_size_amd64(max, true);
    struct pt_arena a;
    u64 root;

    (void)state;
    assert_int_equal(size, (1 + 256 + 4 + 1) * PAGE_SIZE);
    assert_int_equal(pt_size_amd64(max, false), (1 + 256 + 131072 + 1) * PAGE_SIZE);
    assert_int_equal(pt_size_amd64(max + 1, true), 0);
    assert_int_equal(pt_size_amd64(1ull << 48, false), 0);
    assert_int_equal(pt_size_amd64(~0ull, false), 0);

    a = arena_new(size + PAGE_SIZE);
    assert_int_equal(pt_build_amd64(&a, max + 1, true), 0);
    assert_int_equal(pt_build_amd64(&a, ~0ull, false), 0);
    assert_int_equal(a.used, 0);
    root = pt_build_amd64(&a, max, true);
    assert_int_equal(root, FAKE_PHYS);
    assert_int_equal(a.used, size);
    check_entry_bits(&a);
    expect_amd64(&a, root, max - 1, FLAGS_LARGE);
    expect_amd64(&a, root, GiB(100000) + 0x12345, FLAGS_LARGE);
    expect_amd64_unmapped(&a, root, max);
    expect_amd64_unmapped(&a, root, 0xffff800000000000ull);
    arena_free(&a);
}

/* The tables start where the arena's earlier users stopped. */
static void test_amd64_arena_offset(void **state)
{
    u64 size = pt_size_amd64(GiB(6), false);
    struct pt_arena a = arena_new(size + 3 * PAGE_SIZE);
    u64 root;

    (void)state;
    a.used = 2 * PAGE_SIZE;
    root = pt_build_amd64(&a, GiB(6), false);
    assert_int_equal(root, FAKE_PHYS + 2 * PAGE_SIZE);
    assert_int_equal(a.used, 2 * PAGE_SIZE + size);
    expect_amd64(&a, root, 0xb8000, FLAGS_4K);
    expect_amd64(&a, root, GiB(6) - 1, FLAGS_LARGE);
    expect_amd64_unmapped(&a, root, GiB(6));
    arena_free(&a);
}

/* Too small by one page: nothing is built, nothing is taken. */
static void test_amd64_arena_too_small(void **state)
{
    static const u64 tops[] = { GiB(4), GiB(6), GiB(64), GiB(600) };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(tops); i++) {
        for (int g = 0; g < 2; g++) {
            u64 size = pt_size_amd64(tops[i], g);
            struct pt_arena a = arena_new(size - PAGE_SIZE);

            assert_int_equal(pt_build_amd64(&a, tops[i], g), 0);
            assert_int_equal(a.used, 0);
            a.used = PAGE_SIZE;
            a.size = size;
            assert_int_equal(pt_build_amd64(&a, tops[i], g), 0);
            assert_int_equal(a.used, PAGE_SIZE);
            arena_free(&a);
        }
    }
    {
        struct pt_arena a = arena_new(0);

        assert_int_equal(pt_build_amd64(&a, GiB(4), false), 0);
        assert_int_equal(pt_build_pae(&a), 0);
        arena_free(&a);
    }
}

/* The walker refuses table addresses outside the arena and reserved bits. */
static void test_translate_rejects(void **state)
{
    u64 size = pt_size_amd64(GiB(4), false);
    struct pt_arena a = arena_new(size);
    u64 root = pt_build_amd64(&a, GiB(4), false);
    u64 *pml4 = (u64 *)(void *)a.mem;
    u64 saved = pml4[0], phys, flags;

    (void)state;
    assert_false(pt_translate_amd64(&a, FAKE_PHYS - PAGE_SIZE, 0, &phys, &flags));
    assert_false(pt_translate_amd64(&a, FAKE_PHYS + size, 0, &phys, &flags));
    pml4[0] = (FAKE_PHYS + size) | PTE_P | PTE_RW;
    expect_amd64_unmapped(&a, root, 0x1000);
    pml4[0] = (FAKE_PHYS - PAGE_SIZE) | PTE_P | PTE_RW;
    expect_amd64_unmapped(&a, root, 0x1000);
    pml4[0] = 0x0 | PTE_P | PTE_RW;
    expect_amd64_unmapped(&a, root, 0x1000);
    pml4[0] = saved | PTE_PS;  /* reserved in a PML4E */
    expect_amd64_unmapped(&a, root, 0x1000);
    pml4[0] = saved & ~PTE_P;
    expect_amd64_unmapped(&a, root, 0x1000);
    pml4[0] = saved;
    expect_amd64(&a, root, 0x1000, FLAGS_4K);
    arena_free(&a);
}

static void test_pae(void **state)
{
    struct pt_arena a = arena_new(6 * PAGE_SIZE);
    u64 root = pt_build_pae(&a);
    const u64 *pdpt = (const u64 *)(const void *)a.mem;

    (void)state;
    assert_int_equal(root, FAKE_PHYS);
    assert_int_equal(a.used, 6 * PAGE_SIZE);
    assert_true(IS_ALIGNED(root, 32));
    /* PDPTEs: P set; bits 2:1 and 8:5 reserved (SDM 4.4.1) */
    for (int i = 0; i < 4; i++) {
        u64 pd = pdpt[i] & PTE_ADDR_MASK;

        assert_int_equal(pdpt[i] & (PTE_P | 0x1e6), PTE_P);
        assert_int_equal(pdpt[i] & ~PTE_ADDR_MASK, PTE_P);
        assert_true(pd >= FAKE_PHYS && pd < FAKE_PHYS + a.used);
    }
    for (int i = 4; i < 512; i++)
        assert_int_equal(pdpt[i], 0);
    /* every other entry (PDEs and PTEs) */
    for (u64 i = 512; i < a.used / 8; i++) {
        const u64 *e = (const u64 *)(const void *)a.mem;
        u64 low = e[i] & 0xfff;

        assert_int_equal(e[i] & ~PTE_ADDR_MASK & ~0xfffull, 0);
        assert_true(low == FLAGS_4K || low == FLAGS_LARGE);
    }

    for (size_t i = 0; i < ARRAY_SIZE(low_addrs); i++)
        expect_pae(&a, root, (u32)low_addrs[i], low_flags(low_addrs[i]));
    for (u32 p = 0; p < MiB(2); p += KiB(4))
        expect_pae(&a, root, p + 0x800, FLAGS_4K);
    for (u64 p = MiB(2); p < GiB(4); p += MiB(2)) {
        expect_pae(&a, root, (u32)p, FLAGS_LARGE);
        expect_pae(&a, root, (u32)(p + MiB(2) - 1), FLAGS_LARGE);
    }
    arena_free(&a);
}

static void test_pae_arena(void **state)
{
    struct pt_arena a = arena_new(8 * PAGE_SIZE);
    u64 root, phys, flags, *pdpt;

    (void)state;
    a.used = 3 * PAGE_SIZE;  /* only 5 pages left */
    assert_int_equal(pt_build_pae(&a), 0);
    assert_int_equal(a.used, 3 * PAGE_SIZE);
    a.used = 2 * PAGE_SIZE;
    root = pt_build_pae(&a);
    assert_int_equal(root, FAKE_PHYS + 2 * PAGE_SIZE);
    assert_int_equal(a.used, 8 * PAGE_SIZE);
    expect_pae(&a, root, 0xfee00000, FLAGS_LARGE);

    /* A PDPTE with a reserved bit, or pointing outside the arena */
    pdpt = (u64 *)(void *)(a.mem + 2 * PAGE_SIZE);
    pdpt[3] |= PTE_RW;
    assert_false(pt_translate_pae(&a, root, 0xfee00000, &phys, &flags));
    pdpt[3] = (FAKE_PHYS + 8 * PAGE_SIZE) | PTE_P;
    assert_false(pt_translate_pae(&a, root, 0xfee00000, &phys, &flags));
    assert_false(pt_translate_pae(&a, FAKE_PHYS + 8 * PAGE_SIZE, 0, &phys, &flags));
    expect_pae(&a, root, 0xbfffffff, FLAGS_LARGE);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amd64_4g),
        cmocka_unit_test(test_amd64_small_ram),
        cmocka_unit_test(test_amd64_6g),
        cmocka_unit_test(test_amd64_unaligned_top),
        cmocka_unit_test(test_amd64_64g),
        cmocka_unit_test(test_amd64_600g),
        cmocka_unit_test(test_amd64_1g_leaves),
        cmocka_unit_test(test_amd64_limits),
        cmocka_unit_test(test_amd64_arena_offset),
        cmocka_unit_test(test_amd64_arena_too_small),
        cmocka_unit_test(test_translate_rejects),
        cmocka_unit_test(test_pae),
        cmocka_unit_test(test_pae_arena),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
