/* Deliberate faults of the platform (lhv.inject=, docs/options.md; the
 * VMX layer has its own, lhv/vmx/inject.c). Each ends the run through the
 * normal paths: the exception report and FATAL on whichever CPU faulted,
 * the double-fault path for a fault while delivering a fault, the
 * deadline for a hang. */
#include "console.h"
#include "cpu.h"
#include "deadline.h"
#include "end.h"
#include "inject.h"
#include "smp.h"
#include "x86.h"

/* Page 0 is not present (paging_unmap_null_page) */
static void page_fault(void *arg)
{
    (void)arg;
    __asm__ volatile("movl $1, 0x38" : : : "memory");
}

/* INT3 with the stack in page 0: delivering #BP faults, delivering that
 * #PF faults again. */
static void double_fault(void)
{
#ifdef __x86_64__
    __asm__ volatile("mov $0x800, %%rsp\n\tint3" : : : "memory");
#else
    __asm__ volatile("mov $0x800, %%esp\n\tint3" : : : "memory");
#endif
}

static void hang(void *arg)
{
    (void)arg;
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* CPU 1 stops answering; the cross-call watchdog must find it. */
static void ap_hang(void)
{
    if (smp_online_count() < 2)
        fatal("lhv.inject=ap-hang needs a second CPU: boot with 2 or more");
    on_cpu(1, hang, NULL);
    if (cpus[1].lost)
        fatal("lhv.inject=ap-hang: the watchdog reported CPU 1 (APIC ID %u) lost, as it "
              "should", cpus[1].apic_id);
}

/* The BSP spins with interrupts off, as a test that lost its way would:
 * only an NMI reaches it, the deadline's backstop (deadline.c). */
static void bsp_hang(void)
{
    deadline_start("inject/bsp-hang");
    __asm__ volatile("cli" : : : "memory");
    for (;;)
        cpu_relax();
}

static bool vcpu_stall;

bool inject_vcpu_stall(void) { return vcpu_stall; }

void inject_fault(const struct lhv_options *opts)
{
    switch (opts->inject) {
    case LHV_INJECT_VCPU_STALL: /* acts in timer/lapic-periodic */
        vcpu_stall = true;
        return;
    case LHV_INJECT_NONE:
    case LHV_INJECT_PHANTOM_CPU: /* acts during bring-up (platform.c) */
    case LHV_INJECT_EXIT_HANDLER_FAULT: /* the VMX layer's (lhv/vmx/inject.c) */
    case LHV_INJECT_GUEST_HANG:
    case LHV_INJECT_VMREAD_UNSUPPORTED:
        return;
    }
    printf("inject: causing a fault on purpose (lhv.inject=)\n");
    switch (opts->inject) {
    case LHV_INJECT_BSP_FAULT:
        page_fault(NULL);
        break;
    case LHV_INJECT_AP_FAULT:
        if (smp_online_count() < 2)
            fatal("lhv.inject=ap-fault needs a second CPU: boot with 2 or more");
        on_cpu(1, page_fault, NULL);
        break;
    case LHV_INJECT_DOUBLE_FAULT:
        double_fault();
        break;
    case LHV_INJECT_AP_HANG:
        ap_hang();
        break;
    case LHV_INJECT_BSP_HANG:
        bsp_hang();
    }
    fatal("lhv.inject=: the fault did not happen");
}
