/* Deliberate faults (lhv.inject=, docs/options.md). Each ends the run
 * through the normal paths: the exception report and FATAL on whichever CPU
 * faulted, or the double-fault path for a fault while delivering a fault. */
#include "console.h"
#include "cpu.h"
#include "end.h"
#include "inject.h"
#include "smp.h"
#include "vmx/vmx.h"
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

static enum exit_action faulting_hook(struct vcpu *v, u32 reason)
{
    (void)v, (void)reason;
    page_fault(NULL);
    return EXIT_DEFAULT;
}

static void guest_cpuid(void *arg)
{
    (void)arg;
    cpuid(0, 0);
}

/* A guest whose first exit runs a handler that faults. */
static void exit_handler_fault(void)
{
    static struct vcpu v;
    const char *why = vmx_unavailable();

    if (why)
        fatal("lhv.inject=exit-handler-fault needs VMX (%s): run it in Bochs or on VMX "
              "hardware", why);
    if (!vcpu_init(&v))
        fatal("lhv.inject=exit-handler-fault: guest setup failed: %s", v.why);
    v.hook = faulting_hook;
    vcpu_run(&v, guest_cpuid, NULL);
    fatal("lhv.inject=exit-handler-fault: the exit handler did not fault (%s)", v.why);
}

void inject_fault(const struct lhv_options *opts)
{
    if (opts->inject == LHV_INJECT_NONE || opts->inject == LHV_INJECT_PHANTOM_CPU)
        return; /* phantom-cpu acts during bring-up (platform.c) */
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
    case LHV_INJECT_EXIT_HANDLER_FAULT:
        exit_handler_fault();
        break;
    case LHV_INJECT_AP_HANG:
        ap_hang();
        break;
    }
    fatal("lhv.inject=: the fault did not happen");
}
