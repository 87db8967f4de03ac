/* Host tests for xmhf/lib/mmap.c: memory-map normalization and queries. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "mmap.h"

#define U LHV_MEM_USABLE
#define R LHV_MEM_RESERVED
#define A LHV_MEM_ACPI
#define N LHV_MEM_NVS
#define B LHV_MEM_BAD

#define E(b, l, t) { .base = (b), .length = (l), .type = (t) }

static struct lhv_mmap_entry out[LHV_MMAP_MAX];

/* Normalizes in[0..n) into out and checks it equals expect[0..m). */
static void check_normalize(const struct lhv_mmap_entry *in, u32 n,
                            const struct lhv_mmap_entry *expect, u32 m)
{
    int count;
    u32 i;

    memset(out, 0xa5, sizeof(out));
    count = mmap_normalize(in, n, out, LHV_MMAP_MAX);
    assert_int_equal(count, m);
    for (i = 0; i < m; i++) {
        assert_true(out[i].base == expect[i].base);
        assert_true(out[i].length == expect[i].length);
        assert_int_equal(out[i].type, expect[i].type);
        assert_int_equal(out[i].reserved, 0);
    }
}

#define NORMALIZES(in, expect) check_normalize(in, ARRAY_SIZE(in), expect, ARRAY_SIZE(expect))

static void test_empty(void **state)
{
    static const struct lhv_mmap_entry zero_only[] = { E(0x1000, 0, U), E(0, 0, R) };

    (void)state;
    assert_int_equal(mmap_normalize(NULL, 0, out, LHV_MMAP_MAX), 0);
    assert_int_equal(mmap_normalize(zero_only, 2, out, LHV_MMAP_MAX), 0);
    assert_int_equal(mmap_normalize(zero_only, 2, out, 0), 0);
}

static void test_single(void **state)
{
    static const struct lhv_mmap_entry in[] = { E(0x100000, 0x7ff00000, U) };
    static const struct lhv_mmap_entry at_zero[] = { E(0, 0x9fc00, U) };

    (void)state;
    NORMALIZES(in, in);
    NORMALIZES(at_zero, at_zero);
}

/* The map QEMU gives a 512 MiB guest, sorted and disjoint: kept as it is. */
static void test_qemu_map(void **state)
{
    static const struct lhv_mmap_entry in[] = {
        E(0, 0x9fc00, U),          E(0x9fc00, 0x400, R),      E(0xf0000, 0x10000, R),
        E(0x100000, 0x1fee0000, U), E(0x1ffe0000, 0x20000, R), E(0xfffc0000, 0x40000, R),
    };

    (void)state;
    NORMALIZES(in, in);
}

static void test_unsorted(void **state)
{
    static const struct lhv_mmap_entry in[] = {
        E(0x100000, 0x1000, U), E(0x5000, 0x1000, R), E(0x0, 0x1000, A),
        E(0x200000000ULL, 0x1000, U), E(0x3000, 0x1000, N),
    };
    static const struct lhv_mmap_entry expect[] = {
        E(0x0, 0x1000, A), E(0x3000, 0x1000, N), E(0x5000, 0x1000, R),
        E(0x100000, 0x1000, U), E(0x200000000ULL, 0x1000, U),
    };

    (void)state;
    NORMALIZES(in, expect);
}

static void test_overlap_usable_reserved(void **state)
{
    static const struct lhv_mmap_entry in[] = { E(0x0, 0x3000, U), E(0x2000, 0x2000, R) };
    static const struct lhv_mmap_entry expect[] = { E(0x0, 0x2000, U), E(0x2000, 0x2000, R) };
    static const struct lhv_mmap_entry in2[] = { E(0x2000, 0x2000, U), E(0x0, 0x3000, R) };
    static const struct lhv_mmap_entry expect2[] = { E(0x0, 0x3000, R), E(0x3000, 0x1000, U) };

    (void)state;
    NORMALIZES(in, expect);
    NORMALIZES(in2, expect2);
}

static void test_nested(void **state)
{
    static const struct lhv_mmap_entry in[] = { E(0x0, 0x10000, U), E(0x4000, 0x1000, A) };
    static const struct lhv_mmap_entry expect[] = {
        E(0x0, 0x4000, U), E(0x4000, 0x1000, A), E(0x5000, 0xb000, U),
    };
    static const struct lhv_mmap_entry usable_inside[] = {
        E(0x0, 0x10000, R), E(0x4000, 0x1000, U),
    };
    static const struct lhv_mmap_entry expect2[] = { E(0x0, 0x10000, R) };
    static const struct lhv_mmap_entry deep[] = {
        E(0x0, 0x10000, U), E(0x1000, 0x8000, R), E(0x2000, 0x1000, B), E(0x2000, 0x4000, U),
    };
    static const struct lhv_mmap_entry expect3[] = {
        E(0x0, 0x1000, U), E(0x1000, 0x1000, R), E(0x2000, 0x1000, B), E(0x3000, 0x6000, R),
        E(0x9000, 0x7000, U),
    };

    (void)state;
    NORMALIZES(in, expect);
    NORMALIZES(usable_inside, expect2);
    NORMALIZES(deep, expect3);
}

/* Among non-usable types the larger number wins; any type, even an unknown
 * or zero one, wins over usable. */
static void test_type_priority(void **state)
{
    static const struct lhv_mmap_entry in[] = {
        E(0x0, 0x2000, A), E(0x1000, 0x2000, N),      /* NVS over ACPI */
        E(0x10000, 0x2000, B), E(0x11000, 0x2000, R), /* bad over reserved */
        E(0x20000, 0x2000, 7), E(0x21000, 0x2000, R), /* 7 over reserved */
        E(0x30000, 0x2000, U), E(0x31000, 0x2000, 0), /* 0 over usable */
    };
    static const struct lhv_mmap_entry expect[] = {
        E(0x0, 0x1000, A),     E(0x1000, 0x2000, N),
        E(0x10000, 0x2000, B), E(0x12000, 0x1000, R),
        E(0x20000, 0x2000, 7), E(0x22000, 0x1000, R),
        E(0x30000, 0x1000, U), E(0x31000, 0x2000, 0),
    };

    (void)state;
    NORMALIZES(in, expect);
}

static void test_merge(void **state)
{
    static const struct lhv_mmap_entry adjacent[] = {
        E(0x2000, 0x1000, U), E(0x0, 0x1000, U), E(0x1000, 0x1000, U),
    };
    static const struct lhv_mmap_entry adjacent_out[] = { E(0x0, 0x3000, U) };
    static const struct lhv_mmap_entry overlapping[] = {
        E(0x0, 0x3000, R), E(0x1000, 0x3000, R), E(0x1000, 0x1000, R),
    };
    static const struct lhv_mmap_entry overlapping_out[] = { E(0x0, 0x4000, R) };
    static const struct lhv_mmap_entry different[] = { E(0x0, 0x1000, U), E(0x1000, 0x1000, R) };
    static const struct lhv_mmap_entry hole[] = { E(0x0, 0x1000, U), E(0x1001, 0x1000, U) };
    static const struct lhv_mmap_entry duplicate[] = { E(0x1000, 0x1000, U), E(0x1000, 0x1000, U) };
    static const struct lhv_mmap_entry duplicate_out[] = { E(0x1000, 0x1000, U) };
    /* after a reserved piece is cut out and the rest is usable again */
    static const struct lhv_mmap_entry split[] = {
        E(0x0, 0x4000, U), E(0x4000, 0x4000, U), E(0x3000, 0x2000, R),
    };
    static const struct lhv_mmap_entry split_out[] = {
        E(0x0, 0x3000, U), E(0x3000, 0x2000, R), E(0x5000, 0x3000, U),
    };

    (void)state;
    NORMALIZES(adjacent, adjacent_out);
    NORMALIZES(overlapping, overlapping_out);
    NORMALIZES(different, different);
    NORMALIZES(hole, hole);
    NORMALIZES(duplicate, duplicate_out);
    NORMALIZES(split, split_out);
}

static void test_zero_length(void **state)
{
    static const struct lhv_mmap_entry in[] = {
        E(0x0, 0x2000, U), E(0x1000, 0, R), E(0x2000, 0, B), E(0x2000, 0x1000, U),
        E(0x9000, 0, U),
    };
    static const struct lhv_mmap_entry expect[] = { E(0x0, 0x3000, U) };

    (void)state;
    NORMALIZES(in, expect);
}

/* An entry past 2^64 is clamped to end at 2^64 - 1. */
static void test_wrap(void **state)
{
    static const struct lhv_mmap_entry in[] = {
        E(0xfffffffffffff000ULL, 0x2000, R), E(0x0, 0x1000, U),
    };
    static const struct lhv_mmap_entry expect[] = {
        E(0x0, 0x1000, U), E(0xfffffffffffff000ULL, 0xfff, R),
    };
    static const struct lhv_mmap_entry all[] = { E(0x0, UINT64_MAX, U), E(0x1000, UINT64_MAX, R) };
    static const struct lhv_mmap_entry all_out[] = {
        E(0x0, 0x1000, U), E(0x1000, UINT64_MAX - 0x1000, R),
    };
    static const struct lhv_mmap_entry top[] = { E(UINT64_MAX, 1, U), E(UINT64_MAX, 5, R) };

    (void)state;
    NORMALIZES(in, expect);
    NORMALIZES(all, all_out);
    assert_int_equal(mmap_normalize(top, 2, out, LHV_MMAP_MAX), 0);
    assert_true(mmap_usable_top(all, 1) == UINT64_MAX);
}

static void test_out_too_small(void **state)
{
    static const struct lhv_mmap_entry in[] = {
        E(0x0, 0x4000, U), E(0x1000, 0x1000, R), E(0x8000, 0x1000, U),
    };

    (void)state;
    assert_int_equal(mmap_normalize(in, 3, out, 4), 4);
    assert_int_equal(mmap_normalize(in, 3, out, 3), -1);
    assert_int_equal(mmap_normalize(in, 3, out, 0), -1);
}

/* The type of every byte of a small address space, straight from the
 * rules: the brute-force reference for the fuzz test. */
static u32 reference_type(const struct lhv_mmap_entry *in, u32 n, u64 addr, bool *found)
{
    u32 i, type = 0;

    *found = false;
    for (i = 0; i < n; i++) {
        if (addr < in[i].base || addr >= in[i].base + in[i].length)
            continue;
        if (!*found || (type == U) || (in[i].type != U && in[i].type > type))
            type = in[i].type;
        *found = true;
    }
    return type;
}

static void test_fuzz(void **state)
{
    static struct lhv_mmap_entry in[LHV_MMAP_MAX];
    u32 n, i, k, round;
    u64 addr;
    bool found, prev_found;
    int count;

    (void)state;
    srand(7);
    for (round = 0; round < 2000; round++) {
        n = (u32)rand() % (LHV_MMAP_MAX + 1);
        for (i = 0; i < n; i++) {
            in[i].base = (u64)(rand() % 256);
            in[i].length = (u64)(rand() % 4 ? rand() % 40 : 0);
            in[i].type = (u32)(rand() % 6);
            in[i].reserved = (u32)rand();
        }
        count = mmap_normalize(in, n, out, LHV_MMAP_MAX);
        assert_true(count >= 0);
        /* sorted, disjoint, non-empty, and adjacent entries differ in type */
        for (k = 0; k < (u32)count; k++) {
            assert_true(out[k].length > 0);
            if (k) {
                assert_true(out[k - 1].base + out[k - 1].length <= out[k].base);
                assert_false(out[k - 1].base + out[k - 1].length == out[k].base &&
                             out[k - 1].type == out[k].type);
            }
        }
        /* every byte has the type the rules give it */
        for (addr = 0, k = 0; addr < 300; addr++) {
            u32 t = reference_type(in, n, addr, &found);

            while (k < (u32)count && out[k].base + out[k].length <= addr)
                k++;
            prev_found = k < (u32)count && out[k].base <= addr;
            assert_int_equal(prev_found, found);
            if (found)
                assert_int_equal(out[k].type, t);
            assert_int_equal(mmap_range_usable(out, (u32)count, addr, 1), found && t == U);
            assert_int_equal(mmap_range_usable(in, n, addr, 1), found && t == U);
        }
    }
}

static void test_range_usable(void **state)
{
    static const struct lhv_mmap_entry map[] = {
        E(0x0, 0x9f000, U), E(0x9f000, 0x61000, R), E(0x100000, 0x7ff00000, U),
        E(0x100000000ULL, 0x100000000ULL, U),
    };

    (void)state;
    assert_true(mmap_range_usable(map, 4, 0x10000000, 0x1000000));
    assert_true(mmap_range_usable(map, 4, 0x100000, 0x7ff00000));      /* exactly one entry */
    assert_false(mmap_range_usable(map, 4, 0x100000, 0x7ff00001));     /* one byte past */
    assert_false(mmap_range_usable(map, 4, 0xfffff, 0x1000));          /* starts in reserved */
    assert_false(mmap_range_usable(map, 4, 0x9e000, 0x2000));          /* runs into reserved */
    assert_false(mmap_range_usable(map, 4, 0x7ffff000, 0x2000));       /* into the hole */
    assert_false(mmap_range_usable(map, 4, 0xc0000000, 0x1000));       /* no RAM there */
    assert_false(mmap_range_usable(map, 4, 0x300000000ULL, 0x1000));   /* above all RAM */
    assert_true(mmap_range_usable(map, 4, 0x1ffffffffULL, 1));         /* last usable byte */
    assert_false(mmap_range_usable(map, 4, 0x1000, 0));                /* empty range */
    assert_false(mmap_range_usable(map, 4, 0x1000, UINT64_MAX));       /* wraps */
    assert_false(mmap_range_usable(map, 4, UINT64_MAX, 2));            /* wraps */
    assert_false(mmap_range_usable(NULL, 0, 0x1000, 0x1000));          /* empty map */
}

/* A range may span several usable entries that touch, in any order. */
static void test_range_usable_across_entries(void **state)
{
    static const struct lhv_mmap_entry map[] = {
        E(0x3000, 0x1000, U), E(0x1000, 0x1000, U), E(0x2000, 0x1000, U), E(0x5000, 0x1000, U),
    };
    static const struct lhv_mmap_entry overlapping[] = {
        E(0x0, 0x3000, U), E(0x2000, 0x3000, U), E(0x1000, 0x100, U),
    };
    static const struct lhv_mmap_entry unnormalized[] = { E(0x0, 0x4000, U), E(0x2000, 1, R) };

    (void)state;
    assert_true(mmap_range_usable(map, 4, 0x1000, 0x3000));
    assert_true(mmap_range_usable(map, 4, 0x1800, 0x2000));
    assert_false(mmap_range_usable(map, 4, 0x1000, 0x3001));
    assert_false(mmap_range_usable(map, 4, 0x3000, 0x3000)); /* across the hole */
    assert_false(mmap_range_usable(map, 4, 0x0, 0x2000));
    assert_true(mmap_range_usable(overlapping, 3, 0x0, 0x5000));
    assert_false(mmap_range_usable(unnormalized, 2, 0x0, 0x4000));
    assert_true(mmap_range_usable(unnormalized, 2, 0x2001, 0x1fff));
}

static void test_usable_top(void **state)
{
    static const struct lhv_mmap_entry map[] = {
        E(0x100000, 0x1000, U), E(0x100000000ULL, 0x40000000, U), E(0x0, 0x9f000, U),
        E(0xfffc0000, 0x40000, R), E(0x200000000ULL, 0x1000, R), E(0x300000000ULL, 0, U),
    };
    static const struct lhv_mmap_entry none[] = { E(0x0, 0x1000, R), E(0x5000, 0x1000, A) };

    (void)state;
    assert_true(mmap_usable_top(map, ARRAY_SIZE(map)) == 0x140000000ULL);
    assert_true(mmap_usable_top(map, 1) == 0x101000);
    assert_true(mmap_usable_top(none, 2) == 0);
    assert_true(mmap_usable_top(NULL, 0) == 0);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(mmap_type_name(LHV_MEM_USABLE), "usable");
    assert_string_equal(mmap_type_name(LHV_MEM_RESERVED), "reserved");
    assert_string_equal(mmap_type_name(LHV_MEM_ACPI), "ACPI");
    assert_string_equal(mmap_type_name(LHV_MEM_NVS), "NVS");
    assert_string_equal(mmap_type_name(LHV_MEM_BAD), "bad");
    assert_string_equal(mmap_type_name(0), "reserved");
    assert_string_equal(mmap_type_name(7), "reserved");
    assert_string_equal(mmap_type_name(0xffffffff), "reserved");
}

static void test_ranges_overlap(void **state)
{
    (void)state;
    assert_true(ranges_overlap(0, 0x1000, 0xfff, 1));
    assert_false(ranges_overlap(0, 0x1000, 0x1000, 1));
    assert_false(ranges_overlap(0x1000, 1, 0, 0x1000));
    assert_false(ranges_overlap(0, 0x1000, 0x10, 0));
    assert_true(ranges_overlap(0x10, 1, 0, 0x1000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_single),
        cmocka_unit_test(test_qemu_map),
        cmocka_unit_test(test_unsorted),
        cmocka_unit_test(test_overlap_usable_reserved),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_type_priority),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_zero_length),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_out_too_small),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_range_usable),
        cmocka_unit_test(test_range_usable_across_entries),
        cmocka_unit_test(test_usable_top),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_ranges_overlap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
