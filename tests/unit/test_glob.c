/* Unit tests of the lhv.tests= matcher (xmhf/lib/glob.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "glob.h"

static bool match(const char *pattern, const char *name)
{
    return glob_match(pattern, pattern + 1000, name);
}

static void test_literal(void **state)
{
    (void)state;
    assert_true(match("boot/params", "boot/params"));
    assert_false(match("boot/params", "boot/param"));
    assert_false(match("boot/param", "boot/params"));
    assert_true(match("", ""));
    assert_false(match("", "x"));
}

static void test_star(void **state)
{
    (void)state;
    assert_true(match("*", ""));
    assert_true(match("*", "boot/params"));
    assert_true(match("boot/*", "boot/params"));
    assert_false(match("boot/*", "vmx/boot"));
    assert_true(match("*/ept-*", "vmx/ept-violation"));
    assert_true(match("vmx/*-exit*", "vmx/cpuid-exiting"));
    assert_true(match("a*b*c", "aXbYbZc"));
    assert_false(match("a*b*c", "aXbYbZ"));
    assert_true(match("**a", "bba"));
    assert_true(match("*a*", "a"));
}

static void test_question(void **state)
{
    (void)state;
    assert_true(match("boot/param?", "boot/params"));
    assert_false(match("boot/param?", "boot/param"));
    assert_true(match("?*", "x"));
    assert_false(match("?*", ""));
}

static void test_pattern_end(void **state)
{
    (void)state;
    const char *p = "boot/*,vmx/*";
    assert_true(glob_match(p, p + 6, "boot/params"));
    assert_false(glob_match(p, p + 6, "vmx/x"));
    assert_true(glob_match(p, p + 4, "boot"));
}

static void test_list(void **state)
{
    (void)state;
    assert_true(glob_list_match("", "anything/at-all"));
    assert_true(glob_list_match("boot/params", "boot/params"));
    assert_true(glob_list_match("vmx/*,boot/params", "boot/params"));
    assert_true(glob_list_match("boot/params,vmx/*", "vmx/ept"));
    assert_false(glob_list_match("boot/params,vmx/*", "timer/lapic"));
    assert_false(glob_list_match(",", "boot/params"));
    assert_true(glob_list_match(",boot/*,", "boot/params"));
    /* -GLOB excludes, wherever it stands; exclusions alone start from all */
    assert_false(glob_list_match("vmx/ept-*,-vmx/ept-paging-*", "vmx/ept-paging-walk"));
    assert_true(glob_list_match("vmx/ept-*,-vmx/ept-paging-*", "vmx/ept-violation"));
    assert_false(glob_list_match("-vmx/ept-paging-*,vmx/*", "vmx/ept-paging-walk-ad"));
    assert_true(glob_list_match("-timer/*", "vmx/vmxon"));
    assert_false(glob_list_match("-timer/*", "timer/pit-oneshot"));
    assert_false(glob_list_match("boot/*,-boot/*", "boot/params"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal),  cmocka_unit_test(test_star),
        cmocka_unit_test(test_question), cmocka_unit_test(test_pattern_end),
        cmocka_unit_test(test_list),
    };
    return cmocka_run_group_tests_name("glob", tests, NULL, NULL);
}
