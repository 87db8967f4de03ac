/* lhv.inject=: faults LHV causes on purpose, so that tests can show each
 * is reported (exception report, FATAL, end action) instead of hanging. */
#ifndef LHV_INJECT_H
#define LHV_INJECT_H

#include "options.h"

/* Carries out the platform's injection opts asks for; returns for
 * LHV_INJECT_NONE and the VMX layer's (vmx_inject_fault), does not return
 * otherwise. */
void inject_fault(const struct lhv_options *opts);

/* lhv.inject=vcpu-stall: timer/lapic-periodic stalls its last CPU once */
bool inject_vcpu_stall(void);

#endif
