/* The machine LHV owns before it touches VMX: bring-up on the bootstrap
 * processor, in the order of docs/design.md §3, and what it found. */
#ifndef LHV_PLATFORM_H
#define LHV_PLATFORM_H

#include "boot_params.h"
#include "options.h"
#include "timer.h"

struct platform {
    u16 pic_masks_at_init;              /* right after remapping */
    struct lapic_calibration calibration;
    struct pit_rate_sample pit_rate_at_boot; /* IRQ0s counted during the calibration */
    bool user_pages;                    /* user_init found its pages */
    u16 pm1a_cnt;                       /* ACPI PM1a control port (0: none) */
};

extern struct platform platform;

/* Console is up (runtime); brings up descriptor tables, PIC, LAPIC, timers
 * and the other CPUs. Returns with interrupts enabled. */
void platform_init_bsp(const struct lhv_boot_params *p, const struct lhv_options *opts);

#endif
