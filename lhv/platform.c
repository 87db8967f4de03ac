/* Platform bring-up on the bootstrap processor (DESIGN §3): descriptor
 * tables, PIC remap, LAPIC, PIT, LAPIC timer calibration, then the APs. */
#include "console.h"
#include "cpu.h"
#include "div64.h"
#include "lapic.h"
#include "paging.h"
#include "pic.h"
#include "platform.h"
#include "pmtimer.h"
#include "user.h"

struct platform platform;

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
    (void)opts;

    bsp->index = 0;
    idt_init();
    desc_init_cpu(bsp);
    paging_unmap_null_page();
    platform.user_pages = user_init(p);
    pic_init();
    platform.pic_masks_at_init = pic_masks();
    lapic_enable();
    bsp->apic_id = lapic_id();
    bsp->online = true;
    timer_init();
    __asm__ volatile("sti");
    timer_calibrate_lapic(&platform.calibration);
    print_calibration(&platform.calibration);
}
