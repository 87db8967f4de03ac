/* ACPI PM timer (see pmtimer.h). */
#include "pmtimer.h"
#include "x86.h"

static u16 pm_port;
static u32 pm_mask;

void pmtimer_init(u16 port, bool is_32bit)
{
    pm_port = port;
    pm_mask = is_32bit ? 0xffffffffu : 0xffffffu;
}

bool pmtimer_present(void) { return pm_port != 0; }

u32 pmtimer_read(void) { return inl(pm_port) & pm_mask; }

u32 pmtimer_delta(u32 from, u32 to) { return (to - from) & pm_mask; }
