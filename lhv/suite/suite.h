/* The experiments LHV runs, one file per theme. Each test is declared with
 * TEST(group/name, function) and prints exactly one verdict; the linker
 * collects them (section .lhv_tests) in link order. */
#ifndef LHV_SUITE_H
#define LHV_SUITE_H

#include "verdict.h"

struct test {
    const char *name;
    void (*run)(const char *name);
};

#define TEST(test_name, fn)                                                          \
    static void fn(const char *name);                                                \
    static const struct test test_##fn __attribute__((section(".lhv_tests"), used, \
                                                      aligned(sizeof(void *)))) = {   \
        test_name, fn}

/* Runs every selected test (lhv.tests=) once. */
void suite_run(void);

#endif
