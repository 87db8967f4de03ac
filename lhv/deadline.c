/* Per-test deadline (deadline.h). Time is the TSC, calibrated against the
 * PIT at boot (in QEMU TCG it follows the host clock; in Bochs it counts
 * instructions, as emulated time does). Two paths look at it:
 *  - the BSP's 1 kHz PIT tick, a maskable interrupt: it sees a hang with
 *    interrupts on, and a hang inside a guest with external-interrupt
 *    exiting, the default of LHV's guests: there the interrupt is not
 *    blocked by the guest's RFLAGS.IF, it exits (SDM 3C 26.2, 26.4.1), and
 *    the exit handler takes it on the host;
 *  - an NMI, which RFLAGS.IF does not block (SDM 3A 6.8.1): the RTC alarm,
 *    set at the start of each test to fire 2 s after the deadline, raises
 *    IRQ 8, which the I/O APIC delivers to the BSP as an NMI. It ends a
 *    hang with interrupts off on the host with one CPU, where no other CPU
 *    could send the NMI. In a guest without NMI exiting the NMI goes
 *    through LHV's IDT in guest mode (SDM 3C 26.2): on amd64 its handler,
 *    or a timer tick that exits the guest meanwhile, reports the hang "in
 *    a guest" (the ip may then be the NMI's entry); on i386 its task gate
 *    makes a task-switch exit (SDM 3C 26.4.2), whose handler
 *    (lhv/vmx/guest.c, unexpected_exit) asks here before it reports it. Bochs
 *    2.7 needs it for any guest entered with IF=0: it keeps external
 *    interrupts masked there until the guest writes IF (lhv/vmx/inject.c).
 * The alarm fires only when a test overran (and whenever another user of
 * IRQ 8 raises it; such NMIs are counted like any other). */
#include "console.h"
#include "cpu.h"
#include "deadline.h"
#include "div64.h"
#include "end.h"
#include "ioapic.h"
#include "rtc.h"
#include "spinlock.h"
#include "timer.h"
#include "trap.h"
#include "x86.h"

#define TSC_CALIBRATION_MS 20
#define BACKSTOP_AFTER 2 /* s after the deadline: the RTC counts whole seconds */

static u32 limit_s;
static u64 tsc_hz, limit_tsc;
static bool backstop;
static u32 backstop_dest; /* the BSP's APIC ID */
static struct {
    const char *name;
    u64 start;
    volatile bool armed;
} test;

void deadline_init(u32 seconds, u32 bsp_apic_id)
{
    u32 now = 0;
    /* With interrupts off the wait polls: Bochs' TSC runs about 3 times as
     * fast against the PIT while the CPU halts (30.0 against 10.1 MHz on
     * corei7_skylake_x, ips=10M), and a hang is code that runs. Measured
     * halting, a 1 s limit was 3 s of a spinning guest, and the RTC's NMI
     * (2-3 s) came first: hang-i386-guest-bochs failed 1 run in 3. */
    unsigned long flags = irq_save();
    u64 t0 = rdtsc();
    timer_wait_ms(TSC_CALIBRATION_MS);
    tsc_hz = udiv64((rdtsc() - t0) * 1000, TSC_CALIBRATION_MS, NULL);
    irq_restore(flags);
    limit_s = seconds;
    limit_tsc = tsc_hz * seconds;
    backstop_dest = bsp_apic_id;
    backstop = rtc_time_of_day(&now) && ioapic_nmi_route(RTC_IRQ, bsp_apic_id);
    printf("deadline: %u s per test (lhv.test-timeout=); with interrupts off %s\n", seconds,
           backstop ? "the RTC alarm as an NMI (IRQ 8 through the I/O APIC) ends a hang"
                    : "nothing ends a hang: no RTC time or no I/O APIC input for IRQ 8");
}

u64 deadline_tsc_hz(void) { return tsc_hz; }

void deadline_start(const char *name)
{
    u32 now;
    test.name = name;
    test.start = rdtsc();
    test.armed = true;
    if (!backstop || !rtc_time_of_day(&now))
        return;
    /* routed again at every test: the tests that take IRQ 8 themselves
     * (vmx/ioapic-level-to-guest, vmx/eoi-exit-level-ioapic) leave its
     * entry masked, and every later hang with interrupts off went on for
     * good (a guest of vmx/ept-violation-ve, Bochs 3.0, 2 CPUs) */
    ioapic_nmi_route(RTC_IRQ, backstop_dest);
    rtc_alarm_at(now + limit_s + BACKSTOP_AFTER);
}

bool deadline_backstop(u32 *dest)
{
    *dest = backstop_dest;
    return backstop;
}

void deadline_stop(void)
{
    test.armed = false;
    if (backstop)
        rtc_alarm_off();
}

static void check(unsigned long ip, const char *path)
{
    char where[128];
    if (this_cpu()->index != 0 || !test.armed || rdtsc() - test.start < limit_tsc)
        return;
    test.armed = false; /* one report, even if it faults */
    trap_describe_ip(ip, where, sizeof(where));
    fatal("test %s still running after %u s: cpu %u %s (seen by %s): a hang; "
          "lhv.test-timeout=SECONDS sets the limit", test.name, limit_s, this_cpu()->index,
          where, path);
}

void deadline_tick(unsigned long ip) { check(ip, "the timer tick"); }

void deadline_nmi(unsigned long ip) { check(ip, "the NMI backstop"); }
