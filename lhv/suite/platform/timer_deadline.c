/* timer/deadline-backstop: while a test runs, the deadline's NMI backstop
 * is in place: IRQ 8's I/O APIC entry unmasked, delivery mode NMI
 * (deadline.c). The tests that take IRQ 8 themselves leave the entry
 * masked; the next test must find it routed again. With lhv.iterations=2
 * this test runs after them too (make test's amd64-bochs-iterations2). */
#include "deadline.h"
#include "ioapic.h"
#include "rtc.h"
#include "suite/suite.h"

TEST("timer/deadline-backstop", test_deadline_backstop);
static void test_deadline_backstop(const char *name)
{
    u32 dest, e;

    if (!deadline_backstop(&dest))
        return verdict_skip(name, "no NMI backstop: no RTC time or no I/O APIC input for IRQ 8 "
                            "(the deadline: line at boot)");
    e = ioapic_entry(RTC_IRQ);
    if ((e & IOAPIC_MASKED) || (e & IOAPIC_DELIVERY) != IOAPIC_NMI)
        return verdict_fail(name, "IRQ 8's I/O APIC entry is 0x%x (%s), not an NMI to APIC ID %u: "
                            "a hang with interrupts off would go on for good", e,
                            (e & IOAPIC_MASKED) ? "masked" : "another delivery mode", dest);
    verdict_pass(name);
}
