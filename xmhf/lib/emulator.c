/* Emulator detection (DESIGN §3): QEMU TCG and KVM name themselves in CPUID
 * leaf 0x40000000; Bochs sets no hypervisor bit, but with port_e9_hack a
 * read of port 0xe9 returns 0xe9 (unassigned ports read 0xff on hardware). */
#include "emulator.h"
#include "string.h"
#include "x86.h"

#define CPUID_HV_LEAF 0x40000000u

static bool hv_signature_is(const char *want)
{
    struct cpuid_regs r = cpuid(CPUID_HV_LEAF, 0);
    char sig[13];
    memcpy(sig + 0, &r.ebx, 4);
    memcpy(sig + 4, &r.ecx, 4);
    memcpy(sig + 8, &r.edx, 4);
    sig[12] = '\0';
    return strcmp(sig, want) == 0;
}

enum emulator emulator_detect(void)
{
    static bool known;
    static enum emulator found;

    if (known)
        return found;
    if (cpuid(1, 0).ecx & CPUID1_ECX_HYPERVISOR) {
        if (hv_signature_is("TCGTCGTCGTCG"))
            found = EMU_QEMU_TCG;
        else if (hv_signature_is("KVMKVMKVM"))
            found = EMU_KVM;
        else
            found = EMU_OTHER_HYPERVISOR;
    } else if (inb(0xe9) == 0xe9) {
        found = EMU_BOCHS;
    } else {
        found = EMU_NONE;
    }
    known = true;
    return found;
}

const char *emulator_name(enum emulator e)
{
    switch (e) {
    case EMU_QEMU_TCG: return "QEMU TCG";
    case EMU_KVM: return "KVM";
    case EMU_BOCHS: return "Bochs";
    case EMU_OTHER_HYPERVISOR: return "unknown hypervisor";
    default: return "none (bare metal)";
    }
}
