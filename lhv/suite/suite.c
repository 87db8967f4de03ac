/* Runs the tests the linker collected, in link order. */
#include "suite.h"

extern const struct test __tests_start[], __tests_end[];

void suite_run(void)
{
    for (const struct test *t = __tests_start; t < __tests_end; t++)
        if (test_selected(t->name))
            t->run(t->name);
}
