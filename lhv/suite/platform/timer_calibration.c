/* The LAPIC timer's calibration at boot: its rate by the PIT and by the
 * ACPI PM timer agree (and, in QEMU, match its 1 GHz). */
#include "emulator.h"
#include "platform.h"
#include "suite/suite.h"
#include "timer_measure.h"

#define MAX_DISAGREEMENT_PPM 5000 /* 0.5 % */
#define QEMU_LAPIC_HZ 1000000000ull /* QEMU's APIC timer counts at 1 GHz */

TEST("timer/lapic-calibration", test_calibration);
static void test_calibration(const char *name)
{
    const struct lapic_calibration *c = &platform.calibration;
    enum emulator emu = emulator_detect();

    if (!c->hz_by_pm)
        return verdict_skip(name, "no ACPI PM timer (FADT PM_TMR_BLK) to cross-check against");
    u64 apart = ppm_apart(c->hz_by_pit, c->hz_by_pm);
    if (apart > MAX_DISAGREEMENT_PPM)
        return verdict_fail(name, "PIT says %llu Hz, PM timer %llu Hz: %llu ppm apart",
                            c->hz_by_pit, c->hz_by_pm, apart);
    if ((emu == EMU_QEMU_TCG || emu == EMU_KVM) &&
        ppm_apart(c->hz_by_pm, QEMU_LAPIC_HZ) > MAX_DISAGREEMENT_PPM)
        return verdict_fail(name, "measured %llu Hz, QEMU's LAPIC timer runs at 1 GHz",
                            c->hz_by_pm);
    verdict_pass(name);
}
