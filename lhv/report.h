/* The platform report before SUMMARY: a "platform:" line (CPU brand,
 * family/model/stepping, L0) and, with lhv.table=1, one "table:
 * group/test KIND" line per test (docs/output.md). */
#ifndef LHV_REPORT_H
#define LHV_REPORT_H

void report_platform(bool table);

#endif
