/* Test verdicts on the console, in the protocol of docs/design.md §4:
 *   PASS: group/name          FAIL: group/name: reason
 *   SKIP: group/name: reason  XFAIL: group/name: reason
 * and one closing SUMMARY line. Names are group/test, lower case, dashes. */
#ifndef XMHF_VERDICT_H
#define XMHF_VERDICT_H

#include "types.h"

void verdict_pass(const char *name);
void verdict_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void verdict_skip(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void verdict_xfail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* PASS when ok, else FAIL with the reason. Returns ok. */
bool verdict(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Selects the tests to run: lhv.tests= (comma-separated globs, "" = all). */
void verdict_select(const char *globs);

/* True when the named test is selected. */
bool test_selected(const char *name);

/* The verdicts so far, one per test name in first-seen order, each with
 * its worst kind (FAIL/XPASS over XFAIL over SKIP over PASS). count gets
 * how many; dropped how many names found the table full. */
#define VERDICT_RECORDS_MAX 256
struct verdict_record {
    char name[64];
    const char *kind; /* "PASS", "FAIL", "SKIP", "XFAIL" */
};
const struct verdict_record *verdict_records(u32 *count, u32 *dropped);

/* Prints "SUMMARY: N tests, F failures, S skipped[, X expected failures]".
 * Returns true when there was no failure. */
bool verdict_summary(void);

#endif
