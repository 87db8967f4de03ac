/* The per-test deadline (lhv.test-timeout=SECONDS): a test still running
 * after that long ends the run with FATAL naming it, the CPU and the ip,
 * instead of hanging until someone kills the machine. */
#ifndef LHV_DEADLINE_H
#define LHV_DEADLINE_H

#include "types.h"

/* Sets the limit and arms the NMI backstop (bootstrap processor, after the
 * timers are calibrated, interrupts on). */
void deadline_init(u32 seconds, u32 bsp_apic_id);

/* TSC ticks per second as deadline_init measured them (0 before). */
u64 deadline_tsc_hz(void);

/* Whether the NMI backstop is there (the RTC alarm as an NMI through the
 * I/O APIC), and the APIC ID it goes to */
bool deadline_backstop(u32 *dest);

/* The bootstrap processor starts or ends test `name`. */
void deadline_start(const char *name);
void deadline_stop(void);

/* Checks the deadline from the BSP's timer tick (ip: where it interrupted)
 * and from every NMI; both end the run when it has passed. */
void deadline_tick(unsigned long ip);
void deadline_nmi(unsigned long ip);

#endif
