/* INIT for a CPU whose L1 is in VMX operation (docs/l0.md "Two CPUs").
 *
 * SDM 3C 24.8: INIT is blocked in VMX root operation (held pending);
 * 26.2: in VMX non-root operation it is a VM exit (reason 3, qualification
 * 0) that changes no other state. So an INIT that L1 sends to a CPU whose
 * L1 did VMXON is an INIT exit to L1 when that L1 runs L2, stays pending
 * while it is in VMX root operation (exiting at its next VM entry, before
 * L2's first instruction), and resets the CPU at its VMXOFF.
 *
 * The L0 does not send such an INIT: on Bochs 2.7 an INIT VM exit leaves
 * the INIT pending for good (docs/l0-deviations.md), so the physical INIT
 * exited L2, then L1 at its first instruction, and the L0 reset the CPU
 * (seen: vmx/init-signal-exit, "CPU 1 did not exit for the INIT"). It
 * keeps it pending for the target (l0_exit_icr_write) and finds it there:
 * - while L2 runs, VMCS02 has the VMX-preemption timer (25.5.1) at
 *   INIT_POLL when L1 does not use it, so the L0 looks every INIT_POLL
 *   units; an INIT found is L1's INIT exit;
 * - at VMLAUNCH/VMRESUME with one pending, VMCS02's timer is 0: it exits
 *   before L2's first instruction, after any injected event (27.7.4), and
 *   that exit is L1's INIT exit (INIT comes before the timer);
 * - at VMXOFF the CPU takes it: the INIT state, waiting for SIPI.
 * When L1 runs its own timer the L0 looks only at VM entries; with one
 * CPU it does not look while L2 runs (none can send it then).
 * l0/nested-init-held (tests_nested.c) checks the VM-entry and VMXOFF
 * paths. */
#include "l0/nested.h"

#ifdef __x86_64__
#include "smp.h"
#include "x86.h"

#define INIT_POLL (1u << 20) /* timer units (TSC >> IA32_VMX_MISC[4:0]) */

static volatile u8 init_pending[LHV_MAX_CPUS];
static struct {
    bool entry;  /* VMCS02 entered with the timer 0 for a pending INIT */
    u32 timer12; /* L1's timer value then, when L1 runs the timer */
    u32 taken;   /* INIT exits given to L1 */
} ini[LHV_MAX_CPUS];

bool l0_nested_init_hold(u32 cpu)
{
    if (!l0_nested || !*(volatile bool *)&ncpu[cpu].vmxon)
        return false;
    __atomic_store_n(&init_pending[cpu], 1, __ATOMIC_RELEASE);
    return true;
}

void l0_nested_init_vmcs02(struct l0_vcpu *v)
{
    u32 pin12 = (u32)l0_nested_vmcs12(v, PIN_BASED_VM_EXEC_CONTROL);
    bool mine = !(pin12 & PIN_PREEMPTION_TIMER);

    ini[v->cpu].entry = false;
    if (!(vmx_caps.pin.allowed1 & PIN_PREEMPTION_TIMER))
        return;
    if (__atomic_load_n(&init_pending[v->cpu], __ATOMIC_ACQUIRE)) {
        ini[v->cpu].entry = true;
        ini[v->cpu].timer12 = (u32)vmr(VMX_PREEMPTION_TIMER_VALUE);
    } else if (!mine || smp_cpu_count() < 2) {
        return;
    }
    vmw(PIN_BASED_VM_EXEC_CONTROL, vmr(PIN_BASED_VM_EXEC_CONTROL) | PIN_PREEMPTION_TIMER);
    vmw(VMX_PREEMPTION_TIMER_VALUE, ini[v->cpu].entry ? 0 : INIT_POLL);
}

u32 l0_nested_init_exit(struct l0_vcpu *v)
{
    bool l1_timer = l0_nested_vmcs12(v, PIN_BASED_VM_EXEC_CONTROL) & PIN_PREEMPTION_TIMER;
    bool entry = ini[v->cpu].entry;

    if (l1_timer && !entry)
        return 0; /* L1's timer: its exit */
    if (l1_timer) /* what L1's timer had left: nothing ran */
        vmw(VMX_PREEMPTION_TIMER_VALUE, ini[v->cpu].timer12);
    ini[v->cpu].entry = false;
    l0_nested_counts[v->cpu].l2_own++;
    if (!__atomic_exchange_n(&init_pending[v->cpu], 0, __ATOMIC_ACQ_REL))
        return L0_OWN_DONE;
    ini[v->cpu].taken++;
    return L0_OWN_INIT;
}

void l0_nested_init_vmxoff(struct l0_vcpu *v)
{
    if (__atomic_exchange_n(&init_pending[v->cpu], 0, __ATOMIC_ACQ_REL))
        l0_vcpu_init_state(v);
}

u32 l0_nested_inits(u32 cpu) { return ini[cpu].taken; }
#endif
