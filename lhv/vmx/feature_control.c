/* IA32_FEATURE_CONTROL (SDM 3C 24.7): bit 0 locks the MSR until reset,
 * bit 2 allows VMXON outside SMX. Firmware normally locks it; when it did
 * not, LHV enables VMX and locks it, as firmware would. Pure: unit-tested. */
#include "vmx.h"

enum fc_action feature_control_decide(u64 value)
{
    if (!(value & FEATURE_CONTROL_LOCKED))
        return FC_ENABLE_AND_LOCK;
    return (value & FEATURE_CONTROL_VMXON_OUTSIDE_SMX) ? FC_USE : FC_REFUSE;
}
