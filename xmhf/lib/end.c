/* The end action (DESIGN §4): power-off through an emulator's exit port when
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
    for (const char *p = word; *p; p++)
        outb(BOCHS_SHUTDOWN_PORT, (u8)*p);
}

static void poweroff(bool failed)
{
    enum emulator emu = emulator_detect();

    if (emu == EMU_QEMU_TCG || emu == EMU_KVM) {
        printf("END: poweroff (QEMU isa-debug-exit, status %d)\n", failed ? 3 : 1);
        /* QEMU exits with (value << 1) | 1 */
        outl(QEMU_EXIT_PORT, failed ? 1 : 0);
        printf("END: no isa-debug-exit device at port 0xf4; halting\n");
    } else if (emu == EMU_BOCHS) {
        printf("END: poweroff (Bochs shutdown port 0x8900)\n");
        bochs_shutdown();
    } else {
        printf("END: poweroff needs a detected emulator (ACPI S5 is not implemented yet); halting\n");
    }
}

static void reboot(void)
{
    printf("END: reboot\n");
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
    printf("FATAL: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    end_run(fatal_action, true);
}
