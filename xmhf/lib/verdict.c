/* Verdict lines and their count (DESIGN §4). */
#include "verdict.h"
#include "console.h"
#include "glob.h"

static u32 n_tests, n_failed, n_skipped, n_xfail;
static const char *selection = "";

void verdict_select(const char *globs) { selection = globs; }

bool test_selected(const char *name) { return glob_list_match(selection, name); }

static void print_reason(const char *kind, const char *name, const char *fmt, va_list ap)
{
    unsigned long token = console_lock(); /* one line, even with several CPUs */
    printf("%s: %s: ", kind, name);
    vprintf(fmt, ap);
    printf("\n");
    console_unlock(token);
}

void verdict_pass(const char *name)
{
    n_tests++;
    printf("PASS: %s\n", name);
}

void verdict_fail(const char *name, const char *fmt, ...)
{
    va_list ap;
    n_tests++;
    n_failed++;
    va_start(ap, fmt);
    print_reason("FAIL", name, fmt, ap);
    va_end(ap);
}

void verdict_skip(const char *name, const char *fmt, ...)
{
    va_list ap;
    n_tests++;
    n_skipped++;
    va_start(ap, fmt);
    print_reason("SKIP", name, fmt, ap);
    va_end(ap);
}

void verdict_xfail(const char *name, const char *fmt, ...)
{
    va_list ap;
    n_tests++;
    n_xfail++;
    va_start(ap, fmt);
    print_reason("XFAIL", name, fmt, ap);
    va_end(ap);
}

bool verdict(bool ok, const char *name, const char *fmt, ...)
{
    va_list ap;
    n_tests++;
    if (ok) {
        printf("PASS: %s\n", name);
        return true;
    }
    n_failed++;
    va_start(ap, fmt);
    print_reason("FAIL", name, fmt, ap);
    va_end(ap);
    return false;
}

bool verdict_summary(void)
{
    unsigned long token = console_lock();
    printf("SUMMARY: %u tests, %u failures, %u skipped", n_tests, n_failed, n_skipped);
    if (n_xfail)
        printf(", %u expected failures", n_xfail);
    printf("\n");
    console_unlock(token);
    return n_failed == 0;
}
