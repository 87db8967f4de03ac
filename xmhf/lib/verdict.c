/* Verdict lines and their count (docs/design.md §4). */
#include "verdict.h"
#include "console.h"
#include "glob.h"
#include "string.h"

static u32 n_tests, n_failed, n_skipped, n_xfail;
static const char *selection = "";

/* Every verdict, by name, for the closing table (lhv/report.c). A name
 * given again (lhv.iterations, a test run twice) keeps its worst verdict. */
static struct verdict_record records[VERDICT_RECORDS_MAX];
static u32 n_records, n_dropped;

static int severity(const char *kind)
{
    if (strcmp(kind, "FAIL") == 0 || strcmp(kind, "XPASS") == 0)
        return 3;
    if (strcmp(kind, "XFAIL") == 0)
        return 2;
    return strcmp(kind, "SKIP") == 0 ? 1 : 0;
}

static void record(const char *kind, const char *name)
{
    unsigned long token = console_lock(); /* recursive; shuts out other CPUs */
    u32 i;

    for (i = 0; i < n_records; i++)
        if (strcmp(records[i].name, name) == 0)
            break;
    if (i == n_records) {
        if (n_records == VERDICT_RECORDS_MAX) {
            n_dropped++;
            console_unlock(token);
            return;
        }
        strlcpy(records[i].name, name, sizeof records[i].name);
        records[i].kind = kind;
        n_records++;
    } else if (severity(kind) > severity(records[i].kind)) {
        records[i].kind = kind;
    }
    console_unlock(token);
}

const struct verdict_record *verdict_records(u32 *count, u32 *dropped)
{
    *count = n_records;
    *dropped = n_dropped;
    return records;
}

void verdict_select(const char *globs) { selection = globs; }

bool test_selected(const char *name) { return glob_list_match(selection, name); }

/* One console_write: one line even with several CPUs, and no printf inside
 * a held console (a nested hold makes the UART's wait poll: console.h) */
static void print_reason(const char *kind, const char *name, const char *fmt, va_list ap)
{
    char line[768];
    size_t n = (size_t)snprintf(line, sizeof(line) - 1, "%s: %s: ", kind, name);

    if (n < sizeof(line) - 1)
        vsnprintf(line + n, sizeof(line) - 1 - n, fmt, ap);
    n = strnlen(line, sizeof(line) - 1);
    line[n] = '\n';
    console_write(line, n + 1);
}

void verdict_pass(const char *name)
{
    n_tests++;
    record("PASS", name);
    printf("PASS: %s\n", name);
}

void verdict_fail(const char *name, const char *fmt, ...)
{
    va_list ap;
    n_tests++;
    n_failed++;
    record("FAIL", name);
    va_start(ap, fmt);
    print_reason("FAIL", name, fmt, ap);
    va_end(ap);
}

void verdict_skip(const char *name, const char *fmt, ...)
{
    va_list ap;
    n_tests++;
    n_skipped++;
    record("SKIP", name);
    va_start(ap, fmt);
    print_reason("SKIP", name, fmt, ap);
    va_end(ap);
}

void verdict_xfail(const char *name, const char *fmt, ...)
{
    va_list ap;
    n_tests++;
    n_xfail++;
    record("XFAIL", name);
    va_start(ap, fmt);
    print_reason("XFAIL", name, fmt, ap);
    va_end(ap);
}

bool verdict(bool ok, const char *name, const char *fmt, ...)
{
    va_list ap;
    n_tests++;
    record(ok ? "PASS" : "FAIL", name);
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
