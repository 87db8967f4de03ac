/* lhv.inject=: faults LHV causes on purpose, so that tests can show each
 * is reported (exception report, FATAL, end action) instead of hanging. */
#ifndef LHV_INJECT_H
#define LHV_INJECT_H

#include "options.h"

/* Carries out the injection opts asks for (nothing for LHV_INJECT_NONE).
 * Does not return when the fault happens. */
void inject_fault(const struct lhv_options *opts);

#endif
