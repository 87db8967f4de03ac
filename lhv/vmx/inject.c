/* Deliberate faults of the VMX layer (lhv.inject=, docs/options.md; the
 * platform's are lhv/inject.c). Each needs VMX and says so without it. */
#include "console.h"
#include "cpu.h"
#include "deadline.h"
#include "end.h"
#include "vmx.h"
#include "x86.h"

static struct vcpu inject_vcpu;

static void inject_guest_init(const char *what)
{
    const char *why = vmx_unavailable();
    if (why)
        fatal("lhv.inject=%s needs VMX (%s): run it in Bochs or on VMX hardware", what, why);
    if (!vcpu_init(&inject_vcpu))
        fatal("lhv.inject=%s: guest setup failed: %s", what, inject_vcpu.why);
}

static enum exit_action inject_faulting_hook(struct vcpu *v, u32 reason)
{
    (void)v, (void)reason;
    __asm__ volatile("movl $1, 0x38" : : : "memory"); /* page 0 is not present */
    return EXIT_DEFAULT;
}

static void inject_guest_cpuid(void *arg)
{
    (void)arg;
    cpuid(0, 0);
}

/* A guest whose first exit runs a handler that faults. */
static __attribute__((noreturn)) void inject_exit_handler_fault(void)
{
    inject_guest_init("exit-handler-fault");
    inject_vcpu.hook = inject_faulting_hook;
    vcpu_run(&inject_vcpu, inject_guest_cpuid, NULL);
    fatal("lhv.inject=exit-handler-fault: the exit handler did not fault (%s)", inject_vcpu.why);
}

/* The guest spins with interrupts off and makes no exit of its own. Its
 * external-interrupt exiting (vcpu_init) still brings the timer tick to
 * the host, RFLAGS.IF notwithstanding (SDM 3C 26.4.1), where the deadline
 * sees it (deadline.c). The CLI stays in the loop for Bochs 2.7: after a
 * VM entry with the guest's IF as clear as the host's it keeps external
 * interrupts masked until the guest next writes IF (cpu/vmx.cc loads
 * RFLAGS before it marks the CPU in the guest, and setEFlags re-evaluates
 * the masking only when IF changes); the NMI backstop ends such a hang. */
static void inject_guest_spin(void *arg)
{
    (void)arg;
    for (;;)
        __asm__ volatile("cli\n\tpause" : : : "memory");
}

static __attribute__((noreturn)) void inject_guest_hang(void)
{
    inject_guest_init("guest-hang");
    deadline_start("inject/guest-hang");
    vcpu_run(&inject_vcpu, inject_guest_spin, NULL);
    fatal("lhv.inject=guest-hang: the guest stopped (%s)", inject_vcpu.why);
}

/* vmr() of a field this CPU has not got: an index above the highest that
 * IA32_VMX_VMCS_ENUM bits 9:1 name (SDM 3C A.9), as a natural-width
 * guest-state field (encoding 0x6800 + 2 x index, appendix B). VMREAD fails
 * with VMfailValid, error 12; vmr() must end the run, not return 0. */
static __attribute__((noreturn)) void inject_vmread_unsupported(void)
{
    inject_guest_init("vmread-unsupported");
    u32 max_index = (u32)(rdmsr(MSR_IA32_VMX_VMCS_ENUM) >> 1) & 0x1ff;
    u32 field = max_index < 0x1ff ? 0x6800 | (max_index + 1) << 1
                                  : GUEST_ES_SELECTOR | 0x1000; /* reserved bit 12 */
    printf("inject: vmr() of VMCS field 0x%x, which this CPU lacks (highest index %u)\n",
           field, max_index);
    u64 value = vmr(field);
    fatal("lhv.inject=vmread-unsupported: vmr() of field 0x%x returned 0x%llx instead of "
          "ending the run", field, value);
}

void vmx_inject_fault(const struct lhv_options *opts)
{
    switch (opts->inject) {
    case LHV_INJECT_EXIT_HANDLER_FAULT:
        inject_exit_handler_fault();
    case LHV_INJECT_GUEST_HANG:
        inject_guest_hang();
    case LHV_INJECT_VMREAD_UNSUPPORTED:
        inject_vmread_unsupported();
    }
}
