/* ACPI power-management timer: a free-running 24- or 32-bit counter at
 * 3.579545 MHz (ACPI 6.5, 4.8.3.3), at the I/O port the FADT names. */
#ifndef LHV_PMTIMER_H
#define LHV_PMTIMER_H

#include "types.h"

#define PMTIMER_HZ 3579545u

void pmtimer_init(u16 port, bool is_32bit);
bool pmtimer_present(void);
u32 pmtimer_read(void);
/* Ticks from `from` to `to`, across one wrap of the counter. */
u32 pmtimer_delta(u32 from, u32 to);

#endif
