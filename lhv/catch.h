/* Expected exceptions: run a function and get the exception it raises back
 * as a value instead of a crash (like a fixup table, but for whole probe
 * functions). Tests use it to probe MSRs, instructions and VMX operations. */
#ifndef LHV_CATCH_H
#define LHV_CATCH_H

#include "cpu.h"

#define NO_EXCEPTION (-1)

/* Runs fn(arg) on this CPU. Returns NO_EXCEPTION when fn returned, else
 * the vector of the first exception it raised; *out then holds the vector,
 * error code, faulting IP, CS and CR2. The exception ends fn: execution
 * resumes here, with the callee-saved registers, stack and flags as they
 * were at the call. NMIs are never caught. */
int catch_exception(void (*fn)(void *), void *arg, struct caught *out);

struct trap_frame;
/* The trap path's half (trap.c, and user.c's system call, which ends a
 * user program the same way): records the exception in f and returns from
 * the catch_exception of CPU c with it. */
__attribute__((noreturn)) void catch_deliver(struct lhv_cpu *c, const struct trap_frame *f);

#endif
