/* Host tests for xmhf/lib/printf.c, parse.c and strlcpy.c. */

/* libc's snprintf is the reference: declare it before unit.mk's renaming
 * (snprintf -> lhv_snprintf) applies to the rest of this file. */
#undef snprintf
#undef vsnprintf
#include <stdio.h>
static int (*const libc_snprintf)(char *, size_t, const char *, ...) = snprintf;
#define snprintf lhv_snprintf
#define vsnprintf lhv_vsnprintf

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <limits.h>
#include <stdlib.h>
#include "string.h"

/* Calls vsnprintf without the compiler's format checks. */
static int format(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* Formats into a 256-byte buffer and checks the text and the return value. */
#define CHECK(expected, ...)                                        \
    do {                                                            \
        char buf_[256];                                             \
        int n_ = snprintf(buf_, sizeof(buf_), __VA_ARGS__);         \
        assert_string_equal(buf_, expected);                        \
        assert_int_equal(n_, (int)strlen(expected));                \
    } while (0)

/* CHECK for formats that the compiler would warn about. */
#define CHECK_UNCHECKED(expected, ...)                              \
    do {                                                            \
        char buf_[256];                                             \
        int n_ = format(buf_, sizeof(buf_), __VA_ARGS__);           \
        assert_string_equal(buf_, expected);                        \
        assert_int_equal(n_, (int)strlen(expected));                \
    } while (0)

/* Formats with both libc and LHV and compares the results. */
#define SAME_AS_LIBC(...)                                           \
    do {                                                            \
        char ours_[256], libc_[256];                                \
        int a_ = snprintf(ours_, sizeof(ours_), __VA_ARGS__);       \
        int b_ = libc_snprintf(libc_, sizeof(libc_), __VA_ARGS__);  \
        assert_string_equal(ours_, libc_);                          \
        assert_int_equal(a_, b_);                                   \
    } while (0)

static void test_plain_text(void **state)
{
    (void)state;
    CHECK("", "%s", "");
    CHECK("hello", "hello");
    CHECK("100%", "100%%");
    CHECK("%%", "%%%%");
}

static void test_signed(void **state)
{
    (void)state;
    CHECK("0", "%d", 0);
    CHECK("42", "%d", 42);
    CHECK("-42", "%i", -42);
    CHECK("2147483647", "%d", INT_MAX);
    CHECK("-2147483648", "%d", INT_MIN);
    CHECK("-9223372036854775808", "%lld", (long long)INT64_MIN);
    CHECK("9223372036854775807", "%lld", (long long)INT64_MAX);
    CHECK("-1", "%lld", -1LL);
    CHECK("-9223372036854775808", "%ld", LONG_MIN); /* the host is 64-bit */
    CHECK("-5", "%zd", (ptrdiff_t)-5);
}

static void test_unsigned(void **state)
{
    (void)state;
    CHECK("0", "%u", 0u);
    CHECK("4294967295", "%u", UINT_MAX);
    CHECK("18446744073709551615", "%llu", 0xffffffffffffffffULL);
    CHECK("10000000000000000000", "%llu", 10000000000000000000ULL);
    CHECK("12345678901234567890", "%llu", 12345678901234567890ULL);
    CHECK("4294967296", "%llu", 4294967296ULL);
    CHECK("4294967306", "%llu", 4294967306ULL);
    CHECK("18446744073709551615", "%zu", SIZE_MAX);
    CHECK("18446744073709551615", "%lu", ULONG_MAX);
}

static void test_hex(void **state)
{
    (void)state;
    CHECK("0", "%x", 0u);
    CHECK("deadbeef", "%x", 0xdeadbeefu);
    CHECK("DEADBEEF", "%X", 0xdeadbeefu);
    CHECK("ffffffffffffffff", "%llx", 0xffffffffffffffffULL);
    CHECK("123456789ABCDEF0", "%llX", 0x123456789abcdef0ULL);
    CHECK("ffffffff", "%x", -1);
    CHECK("3f8", "%zx", (size_t)0x3f8);
}

static void test_length_modifiers(void **state)
{
    (void)state;
    CHECK("44", "%hhu", 300);
    CHECK("ff", "%hhx", -1);
    CHECK("-1", "%hhd", 255);
    CHECK("4464", "%hd", 70000);
    CHECK("ffff", "%hx", -1);
    CHECK("-32768", "%hd", 32768);
    CHECK("65535", "%hu", 65535);
}

static void test_width_and_flags(void **state)
{
    (void)state;
    CHECK("   42", "%5d", 42);
    CHECK("42   |", "%-5d|", 42);
    CHECK("00042", "%05d", 42);
    CHECK("-0042", "%05d", -42);
    CHECK("  -42", "%5d", -42);
    CHECK("-42  |", "%-5d|", -42);
    CHECK_UNCHECKED("-42  |", "%-05d|", -42);
    CHECK("123456", "%3d", 123456);
    CHECK("000003f8", "%08x", 0x3f8u);
    CHECK("0000000000000001", "%016llx", 1ULL);
    CHECK("    7", "%*d", 5, 7);
    CHECK("7    |", "%-*d|", 5, 7);
    CHECK("7    |", "%*d|", -5, 7);
    CHECK("7", "%*d", 0, 7);
}

static void test_int_precision(void **state)
{
    (void)state;
    CHECK("042", "%.3d", 42);
    CHECK("  042", "%5.3d", 42);
    CHECK("-042", "%.3d", -42);
    CHECK_UNCHECKED("  042", "%05.3d", 42); /* '0' is ignored with a precision, as in C */
    CHECK("", "%.0d", 0);
    CHECK("     ", "%5.0u", 0u);
    CHECK("00ff", "%.*x", 4, 0xffu);
    CHECK("ff", "%.*x", -1, 0xffu);
}

static void test_strings(void **state)
{
    static const char unterminated[3] = { 'a', 'b', 'c' };

    (void)state;
    CHECK("abc", "%s", "abc");
    CHECK("ab", "%.2s", "abc");
    CHECK("abc", "%.10s", "abc");
    CHECK("", "%.0s", "abc");
    CHECK("ab", "%.*s", 2, "abc");
    CHECK("abc", "%.*s", -1, "abc");
    CHECK("abc", "%.*s", 3, unterminated); /* must not read past the precision */
    CHECK("       abc", "%10s", "abc");
    CHECK("abc       |", "%-10s|", "abc");
    CHECK("     ab", "%7.2s", "abc");
    CHECK("ab     |", "%-*.*s|", 7, 2, "abc");
    CHECK_UNCHECKED("(null)", "%s", (char *)NULL);
}

static void test_chars(void **state)
{
    (void)state;
    CHECK("x", "%c", 'x');
    CHECK("  x", "%3c", 'x');
    CHECK("x  |", "%-3c|", 'x');
    CHECK("a-b", "%c%c%c", 'a', '-', 'b');
}

static void test_pointer(void **state)
{
    (void)state;
    CHECK("0x1234", "%p", (void *)0x1234);
    CHECK("0xffffffffffffffff", "%p", (void *)UINTPTR_MAX);
    CHECK("0x0", "%p", NULL);
    CHECK("  0xabc", "%7p", (void *)0xabc);
    CHECK("0xabc  |", "%-7p|", (void *)0xabc);
}

static void test_mixed(void **state)
{
    (void)state;
    CHECK("PASS: vmx/vmcall 3 of 4 cpus",
          "%s: %s %u of %d cpus", "PASS", "vmx/vmcall", 3u, 4);
    CHECK("module 0 truncated: 40960 of 131072 bytes",
          "module %u truncated: %llu of %u bytes", 0u, 40960ULL, 131072u);
    CHECK("[0x0000000000100000, 0x000000001fffffff) usable",
          "[0x%016llx, 0x%016llx) %s", 0x100000ULL, 0x1fffffffULL, "usable");
}

/* Unsupported conversions are copied as they stand, and a lone '%' at the
 * end is kept. */
static void test_unknown_conversion(void **state)
{
    char buf[32];

    (void)state;
    assert_int_equal(format(buf, sizeof(buf), "a%qb"), 4);
    assert_string_equal(buf, "a%qb");
    assert_int_equal(format(buf, sizeof(buf), "ab%"), 3);
    assert_string_equal(buf, "ab%");
    assert_int_equal(format(buf, sizeof(buf), "ab%-5"), 5);
    assert_string_equal(buf, "ab%-5");
    assert_int_equal(format(buf, sizeof(buf), "%+d|%5.2f", 1, 2.0), 9);
    assert_string_equal(buf, "%+d|%5.2f");
}

static void test_truncation(void **state)
{
    char buf[16];
    int n;

    (void)state;
    memset(buf, 'X', sizeof(buf));
    n = snprintf(buf, 5, "hello %s", "world");
    assert_int_equal(n, 11);
    assert_string_equal(buf, "hell");
    assert_int_equal(buf[5], 'X');

    memset(buf, 'X', sizeof(buf));
    n = snprintf(buf, 1, "%d", 12345);
    assert_int_equal(n, 5);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(buf[1], 'X');

    memset(buf, 'X', sizeof(buf));
    n = snprintf(buf, 0, "%d", 12345);
    assert_int_equal(n, 5);
    assert_int_equal(buf[0], 'X');
    assert_int_equal(snprintf(NULL, 0, "%llu", 18446744073709551615ULL), 20);

    n = snprintf(buf, 6, "%5d", 42);
    assert_int_equal(n, 5);
    assert_string_equal(buf, "   42");
    n = snprintf(buf, 5, "%5d", 42);
    assert_int_equal(n, 5);
    assert_string_equal(buf, "   4");
}

/* vsnprintf takes a va_list that it must not consume for the caller. */
static int format_twice(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    n += vsnprintf(buf + n, size - (size_t)n, fmt, ap);
    va_end(ap);
    return n;
}

static void test_vsnprintf(void **state)
{
    char buf[32];

    (void)state;
    assert_int_equal(format_twice(buf, sizeof(buf), "%d,%s;", 7, "x"), 8);
    assert_string_equal(buf, "7,x;7,x;");
}

/* A grid of numbers, flags, widths and precisions against libc. */
static void test_against_libc(void **state)
{
    static const long long values[] = {
        0, 1, -1, 9, 10, 99, 100, 255, 256, 4095, 65535, 65536, INT_MAX, INT_MIN,
        UINT_MAX, 4294967296LL, 999999999999LL, 1000000000000000000LL, LLONG_MAX, LLONG_MIN,
    };
    static const char *const ll_formats[] = {
        "%lld", "%lli", "%llu", "%llx", "%llX", "%20lld", "%-20lld|", "%020lld", "%024llx",
        "%.15lld", "%25.18llu", "%-25.18llx|", "%.0lld", "%3.0llu", "%ld",
    };
    static const char *const int_formats[] = {
        "%d", "%u", "%x", "%05d", "%-7i|", "%hd", "%hhu", "%hhd", "%08X", "%.3d", "%6.4x",
    };
    char ours[64], libc[64];
    size_t i, j;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(values); i++) {
        for (j = 0; j < ARRAY_SIZE(ll_formats); j++) {
            assert_int_equal(format(ours, sizeof(ours), ll_formats[j], values[i]),
                             libc_snprintf(libc, sizeof(libc), ll_formats[j], values[i]));
            assert_string_equal(ours, libc);
        }
        for (j = 0; j < ARRAY_SIZE(int_formats); j++) {
            assert_int_equal(format(ours, sizeof(ours), int_formats[j], (int)values[i]),
                             libc_snprintf(libc, sizeof(libc), int_formats[j], (int)values[i]));
            assert_string_equal(ours, libc);
        }
    }
    SAME_AS_LIBC("%-12s|%12.3s|%c|%%|%5c", "left", "right", '!', 'z');
    SAME_AS_LIBC("%zu %zx %zd", (size_t)123456789012ULL, (size_t)0xabcdefULL, (ptrdiff_t)-77);
}

/* Decimal conversion of u64 is done with 32-bit steps: compare many values
 * with libc, especially around powers of two and of ten. */
static void test_decimal_u64(void **state)
{
    unsigned long long v, p;
    int i, k;

    (void)state;
    for (i = 0; i < 64; i++) {
        for (k = -2; k <= 2; k++) {
            v = (1ULL << i) + (unsigned long long)k;
            SAME_AS_LIBC("%llu %lld", v, (long long)v);
        }
    }
    for (p = 1; p < 10000000000000000000ULL; p *= 10) {
        SAME_AS_LIBC("%llu", p - 1);
        SAME_AS_LIBC("%llu", p);
        SAME_AS_LIBC("%llu", p * 9 + 9);
    }
    srand(1);
    for (i = 0; i < 100000; i++) {
        v = ((unsigned long long)rand() << 42) ^ ((unsigned long long)rand() << 21) ^
            (unsigned long long)rand();
        SAME_AS_LIBC("%llu", v);
    }
}

static void test_parse_u64(void **state)
{
    u64 v;

    (void)state;
    assert_int_equal(parse_u64("0", 1, &v), 0);
    assert_true(v == 0);
    assert_int_equal(parse_u64("115200", 6, &v), 0);
    assert_true(v == 115200);
    assert_int_equal(parse_u64("0x3f8", 5, &v), 0);
    assert_true(v == 0x3f8);
    assert_int_equal(parse_u64("0X3F8", 5, &v), 0);
    assert_true(v == 0x3f8);
    assert_int_equal(parse_u64("0xABCdef", 8, &v), 0);
    assert_true(v == 0xabcdef);
    assert_int_equal(parse_u64("007", 3, &v), 0);
    assert_true(v == 7);
    assert_int_equal(parse_u64("18446744073709551615", 20, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(parse_u64("0xffffffffffffffff", 18, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(parse_u64("0x0000000000000000001", 21, &v), 0);
    assert_true(v == 1);
    /* only len bytes count */
    assert_int_equal(parse_u64("12junk", 2, &v), 0);
    assert_true(v == 12);

    v = 99;
    assert_int_equal(parse_u64("", 0, &v), -1);
    assert_int_equal(parse_u64("0x", 2, &v), -1);
    assert_int_equal(parse_u64("x1", 2, &v), -1);
    assert_int_equal(parse_u64("12a", 3, &v), -1);
    assert_int_equal(parse_u64("0x12g", 5, &v), -1);
    assert_int_equal(parse_u64("ff", 2, &v), -1);
    assert_int_equal(parse_u64("-1", 2, &v), -1);
    assert_int_equal(parse_u64("+1", 2, &v), -1);
    assert_int_equal(parse_u64(" 1", 2, &v), -1);
    assert_int_equal(parse_u64("1 ", 2, &v), -1);
    assert_int_equal(parse_u64("18446744073709551616", 20, &v), -1);
    assert_int_equal(parse_u64("18446744073709551620", 20, &v), -1);
    assert_int_equal(parse_u64("99999999999999999999", 20, &v), -1);
    assert_int_equal(parse_u64("0x10000000000000000", 19, &v), -1);
    assert_int_equal(parse_u64("0x0x1", 5, &v), -1);
    assert_true(v == 99); /* untouched on failure */
}

static void test_strlcpy(void **state)
{
    char buf[8];

    (void)state;
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(strlcpy(buf, "abc", sizeof(buf)), 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(strlcpy(buf, "abcdefgh", sizeof(buf)), 8);
    assert_string_equal(buf, "abcdefg");
    assert_int_equal(strlcpy(buf, "abcdefg", sizeof(buf)), 7);
    assert_string_equal(buf, "abcdefg");
    assert_int_equal(strlcpy(buf, "", sizeof(buf)), 0);
    assert_string_equal(buf, "");
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(strlcpy(buf, "abc", 1), 3);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(buf[1], 'X');
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(strlcpy(buf, "abc", 0), 3);
    assert_int_equal(buf[0], 'X');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text),
        cmocka_unit_test(test_signed),
        cmocka_unit_test(test_unsigned),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_length_modifiers),
        cmocka_unit_test(test_width_and_flags),
        cmocka_unit_test(test_int_precision),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_chars),
        cmocka_unit_test(test_pointer),
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_unknown_conversion),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_vsnprintf),
        cmocka_unit_test(test_against_libc),
        cmocka_unit_test(test_decimal_u64),
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_strlcpy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
