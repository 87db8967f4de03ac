/* The end action (docs/design.md §4): power-off through an emulator's exit port when
 * that emulator was detected, halt, or reboot. Emulator ports are never
 * touched on a machine that is not known to be that emulator. */
#include "end.h"
#include "console.h"
#include "emulator.h"
#include "x86.h"

#define QEMU_EXIT_PORT 0xf4     /* -device isa-debug-exit,iobase=0xf4,iosize=4 */
#define BOCHS_SHUTDOWN_PORT 0x8900
#define KBC_COMMAND_PORT 0x64
#define KBC_PULSE_RESET 0xfe

static u8 fatal_action = LHV_END_DEFAULT;

void end_set_action(u8 action) { fatal_action = action; }

static void bochs_shutdown(void)
{
    static const char word[] = "Shutdown";
    console_drain();
    for (const char *p = word; *p; p++)
        outb(BOCHS_SHUTDOWN_PORT, (u8)*p);
}

static struct acpi_s5 s5;

void end_set_acpi_s5(const struct acpi_s5 *v) { s5 = *v; }

#define PM1_SCI_EN (1u << 0)
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_EN (1u << 13)

/* ACPI S5: switch to ACPI mode if the firmware has not (SCI_EN clear),
 * then write SLP_TYP with SLP_EN into the PM1 control registers. */
static void acpi_poweroff(void)
{
    if (!s5.pm1a_cnt)
        return;
    printf("END: poweroff (ACPI S5 through PM1 control port 0x%x)\n", s5.pm1a_cnt);
    console_drain();
    if (!(inw(s5.pm1a_cnt) & PM1_SCI_EN) && s5.smi_cmd) {
        outb(s5.smi_cmd, s5.acpi_enable);
        for (u32 i = 0; i < 1000000 && !(inw(s5.pm1a_cnt) & PM1_SCI_EN); i++)
            cpu_relax();
    }
    outw(s5.pm1a_cnt, (u16)((s5.slp_typ_a << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN));
    if (s5.pm1b_cnt)
        outw(s5.pm1b_cnt, (u16)((s5.slp_typ_b << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN));
}

static void poweroff(bool failed)
{
    enum emulator emu = emulator_detect();

    if (emu == EMU_QEMU_TCG || emu == EMU_KVM) {
        printf("END: poweroff (QEMU isa-debug-exit, status %d)\n", failed ? 3 : 1);
        /* QEMU exits with (value << 1) | 1 */
        console_drain();
        outl(QEMU_EXIT_PORT, failed ? 1 : 0);
        printf("END: no isa-debug-exit device at port 0xf4\n");
    } else if (emu == EMU_BOCHS) {
        printf("END: poweroff (Bochs shutdown port 0x8900)\n");
        bochs_shutdown();
    }
    acpi_poweroff();
    printf("END: no way to power off here (no emulator exit port took effect, no ACPI S5); "
           "halting\n");
}

static void reboot(void)
{
    printf("END: reboot\n");
    console_drain();
    outb(KBC_COMMAND_PORT, KBC_PULSE_RESET);
    /* No keyboard controller: a triple fault resets the machine. */
    static const struct __attribute__((packed)) { u16 limit; uintptr_t base; } no_idt = {0, 0};
    __asm__ volatile("lidt %0; int3" : : "m"(no_idt));
}

void end_run(u8 action, bool failed)
{
    if (action == LHV_END_DEFAULT)
        action = emulator_detect() == EMU_NONE ? LHV_END_HALT : LHV_END_POWEROFF;
    if (action == LHV_END_POWEROFF)
        poweroff(failed);
    else if (action == LHV_END_REBOOT)
        reboot();
    else
        printf("END: halt\n");
    halt_forever();
}

void fatal(const char *fmt, ...)
{
    va_list ap;
    /* Held for good: the FATAL line and the end action are the last words */
    console_lock();
    printf("FATAL: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    end_run(fatal_action, true);
}
