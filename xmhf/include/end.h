/* Ending a run: the end action of DESIGN §4 (lhv.end=poweroff|halt|reboot). */
#ifndef XMHF_END_H
#define XMHF_END_H

#include "options.h"

/* Prints "END: <action> (<how>)" and carries the action out. failed selects
 * the exit status QEMU reports (isa-debug-exit: 1 on success, 3 on failure). */
__attribute__((noreturn)) void end_run(u8 action, bool failed);

/* The end action used for FATAL errors in the current stage. */
void end_set_action(u8 action);

/* Prints "FATAL: <message>" and ends the run with the end action set. */
__attribute__((noreturn, format(printf, 1, 2))) void fatal(const char *fmt, ...);

#endif
