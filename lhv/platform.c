/* Platform bring-up on the bootstrap processor (docs/design.md §3): descriptor
 * tables, PIC remap, LAPIC, PIT, LAPIC timer calibration, then the APs. */
#include "acpi.h"
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "deadline.h"
#include "div64.h"
#include "emulator.h"
#include "end.h"
#include "ioapic.h"
#include "keyboard.h"
#include "lapic.h"
#include "paging.h"
#include "pic.h"
#include "platform.h"
#include "smp.h"
#include "pmtimer.h"
#include "serial.h"
#include "user.h"
#include "vga.h"

#define PHANTOM_APIC_ID 0xfe

struct platform platform;
static struct acpi_info acpi; /* 4 KiB: not on the stack */
static u32 cpu_ids[LHV_MAX_CPUS];

/* The ACPI tables: CPUs (MADT), the PM timer (FADT) and how to power off
 * (FADT + \_S5). Broken or missing tables leave one CPU and no PM timer,
 * and say so. Returns how many APIC IDs it put in cpu_ids. */
static u32 read_acpi(const struct lhv_boot_params *p, u32 bsp_apic_id)
{
    const struct phys_mem mem = {0, GiB(4)};
    char msg[160];
    u32 n = 0;

    if (!p->acpi_rsdp)
        printf("acpi: no RSDP found: one CPU, no PM timer\n");
    else if (acpi_parse(&mem, p->acpi_rsdp, &acpi, msg, sizeof(msg)) != ACPI_OK)
        printf("acpi: %s%s\n", msg, acpi.have_madt ? "" : "; falling back to one CPU");
    ioapic_init(&acpi);
    if (acpi.have_fadt && acpi.pm_timer_port)
        pmtimer_init(acpi.pm_timer_port, acpi.pm_timer_32bit);
    if (acpi.have_fadt)
        platform.pm1a_cnt = acpi.pm1a_cnt;
    if (acpi.have_fadt && acpi.have_s5) {
        struct acpi_s5 s5 = {acpi.pm1a_cnt, acpi.pm1b_cnt, acpi.s5_slp_typ_a,
                             acpi.s5_slp_typ_b, acpi.smi_cmd, acpi.acpi_enable};
        end_set_acpi_s5(&s5);
    }
    for (u32 i = 0; acpi.have_madt && i < acpi.ncpus && n < LHV_MAX_CPUS; i++)
        cpu_ids[n++] = acpi.cpus[i].apic_id;
    if (n == 0)
        cpu_ids[n++] = bsp_apic_id;
    if (acpi.have_madt && acpi.ncpus > LHV_MAX_CPUS)
        printf("acpi: %u CPUs in the MADT, LHV runs at most %u\n", acpi.ncpus, LHV_MAX_CPUS);
    if (p->acpi_rsdp)
        printf("acpi: OEM \"%s\", %u CPUs in the MADT, PM timer %s0x%x, S5 %s\n", acpi.oem_id,
               acpi.ncpus, acpi.pm_timer_32bit ? "(32-bit) " : "", acpi.pm_timer_port,
               acpi.have_s5 ? "known" : "unknown");
    return n;
}

/* Prints hz as MHz with three decimals. */
static void print_mhz(u64 hz)
{
    u64 khz = udiv64(hz, 1000, NULL), frac;
    u64 mhz = udiv64(khz, 1000, &frac);
    printf("%llu.%03llu MHz", mhz, frac);
}

static void print_calibration(const struct lapic_calibration *c)
{
    printf("timer: LAPIC timer ");
    print_mhz(c->hz_by_pit);
    printf(" by the PIT");
    if (c->hz_by_pm) {
        printf(", ");
        print_mhz(c->hz_by_pm);
        printf(" by the ACPI PM timer");
    }
    printf(" (median of %u windows of %u ms)\n", c->windows, c->window_ms);
}

void platform_init_bsp(const struct lhv_boot_params *p, const struct lhv_options *opts)
{
    struct lhv_cpu *bsp = &cpus[0];

    bsp->index = 0;
    idt_init();
    desc_init_cpu(bsp);
    paging_unmap_null_page();
    platform.user_pages = user_init(p);
    if (!alloc_init(p))
        printf("platform: no 16 MiB of RAM after LHV for VMX structures; VMX tests will fail\n");
    pic_init();
    platform.pic_masks_at_init = pic_masks();
    lapic_enable();
    bsp->apic_id = lapic_id();
    u32 ncpus = read_acpi(p, bsp->apic_id);
    /* lhv.console= (init resolved its default: serial only under UEFI, which
     * has no VGA text mode at 0xb8000) */
    u32 console = (p->flags & LHV_PARAMS_CONSOLE_MASK) >> LHV_PARAMS_CONSOLE_SHIFT;
    if (console & LHV_CONSOLE_VGA) {
        vga_init(ncpus < opts->cpus || !opts->cpus ? ncpus : opts->cpus);
        console_set_mirror(vga_putc);
    }
    if (console == LHV_CONSOLE_VGA) {
        printf("console: lhv.console=vga: serial output ends here\n");
        console_set_serial(false);
    }
    bsp->online = true;
    timer_init();
    keyboard_init();
    if (console != LHV_CONSOLE_VGA)
        serial_irq_init();
    __asm__ volatile("sti");
    /* lhv.inject=phantom-cpu: an APIC ID no CPU has, to show that a CPU
     * that never reports in is named and the others go on */
    if (opts->inject == LHV_INJECT_PHANTOM_CPU && ncpus < LHV_MAX_CPUS)
        cpu_ids[ncpus++] = PHANTOM_APIC_ID;
    /* Bochs with 2+ CPUs gives a halted CPU its turn's ticks as if it ran
     * (main.cc's SMP loop), so a halted wait saves no time there, and Bochs
     * 3.0 with 2 CPUs left a halted CPU 0 unwoken through up to 150 ms of
     * IRQ0s: the calibration's windows missed PIT wraps, in 25 of 300 boots
     * at least once (docs/l0-deviations.md, "Halted waits on Bochs with 2+
     * CPUs"). The timer waits poll there. */
    if (emulator_detect() == EMU_BOCHS && ncpus > 1)
        timer_halt_waits(false);
    smp_init(cpu_ids, ncpus, opts->cpus); /* INIT now: the calibration is the wait */
    timer_calibrate_lapic(&platform.calibration, &platform.pit_rate_at_boot);
    print_calibration(&platform.calibration);
    deadline_init(opts->test_timeout, bsp->apic_id);
    smp_start(p);
}
