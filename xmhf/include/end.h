/* Ending a run: the end action of docs/design.md §4 (lhv.end=poweroff|halt|reboot). */
#ifndef XMHF_END_H
#define XMHF_END_H

#include "options.h"

/* Prints "END: <action> (<how>)" and carries the action out. failed selects
 * the exit status QEMU reports (isa-debug-exit: 1 on success, 3 on failure). */
__attribute__((noreturn)) void end_run(u8 action, bool failed);

/* ACPI S5 (soft off, ACPI 6.5 7.4.2 and 4.8.3.2.1): what poweroff writes
 * when no emulator exit port applies. The platform fills it from the FADT
 * and the DSDT's \_S5 package. */
struct acpi_s5 {
    u16 pm1a_cnt, pm1b_cnt; /* PM1 control ports (pm1b 0: none) */
    u8 slp_typ_a, slp_typ_b;
    u16 smi_cmd;            /* write acpi_enable here first when SCI_EN is off */
    u8 acpi_enable;
};
void end_set_acpi_s5(const struct acpi_s5 *s5);

/* The end action used for FATAL errors in the current stage. */
void end_set_action(u8 action);

/* Prints "FATAL: <message>" and ends the run with the end action set. */
__attribute__((noreturn, format(printf, 1, 2))) void fatal(const char *fmt, ...);

#endif
