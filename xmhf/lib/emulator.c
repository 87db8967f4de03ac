/* Emulator / L0 detection (docs/design.md §3).
 *
 * A hypervisor sets CPUID.1:ECX bit 31 and names itself in the 12 bytes
 * EBX:ECX:EDX of leaf 0x40000000. One that also offers another's interface
 * (KVM or Xen with Hyper-V enlightenments) puts that one at 0x40000000 and
 * its own name at 0x40000100, so the leaves are read in steps of 0x100 and
 * a signature of our own list found further up wins over a Hyper-V one.
 *
 * Bochs sets no hypervisor bit; with port_e9_hack a read of port 0xe9
 * returns 0xe9 (an unassigned port reads 0xff on hardware). The ACPI OEM ID
 * "BOCHS " is no help here: QEMU's tables say the same, and the tables are
 * not read yet when the banner is printed. (QEMU with -debugcon and the
 * hypervisor bit turned off would look like Bochs; that is its own doing.) */
#include "emulator.h"
#include "options.h"
#include "string.h"
#include "x86.h"

#define CPUID_HV_LEAF 0x40000000u
#define CPUID_HV_STEP 0x100u
#define HV_LEAVES 16 /* 0x40000000 .. 0x40000f00 */

static const struct {
    char sig[13];
    enum emulator emu;
} known[] = {
    {"TCGTCGTCGTCG", EMU_QEMU_TCG},
    {"KVMKVMKVM\0\0\0", EMU_KVM},
    {"XenVMMXenVMM", EMU_XEN},
    {"VMwareVMware", EMU_VMWARE},
    {"Microsoft Hv", EMU_HYPERV},
    {"LHV L0      ", EMU_LHV}, /* LHV_L0_SIGNATURE, lhv/l0 */
};

/* lhv.bochs=: an enum lhv_bochs_version (options.h), 0 when not given */
static u32 bochs_version;

void emulator_set_bochs_version(u32 version) { bochs_version = version; }
u32 emulator_bochs_version(void) { return bochs_version; }

/* Under LHV's L0: what the L0 runs on (LHV_L0_LEAF_BELOW) */
static enum emulator below = EMU_NONE;
static u32 below_bochs;

void emulator_set_below(enum emulator e, u32 version)
{
    below = e <= EMU_LHV ? e : EMU_OTHER_HYPERVISOR;
    below_bochs = version & (LHV_BOCHS_2_7 | LHV_BOCHS_3_0);
}

enum emulator emulator_below(u32 *version)
{
    *version = below_bochs;
    return below;
}

/* The other hypervisor's signature, printable, for emulator_name. */
static char other_name[32] = "unknown hypervisor";

static enum emulator lookup(const char *sig)
{
    for (u32 i = 0; i < sizeof known / sizeof known[0]; i++)
        if (memcmp(sig, known[i].sig, 12) == 0)
            return known[i].emu;
    return EMU_OTHER_HYPERVISOR;
}

static void name_other(const char *sig)
{
    static const char head[] = "hypervisor \"";
    u32 n = sizeof head - 1, end = 12;

    memcpy(other_name, head, n);
    while (end > 0 && (sig[end - 1] == '\0' || sig[end - 1] == ' '))
        end--;
    for (u32 i = 0; i < end; i++)
        other_name[n++] = (sig[i] >= 0x20 && sig[i] < 0x7f && sig[i] != '"') ? sig[i] : '?';
    other_name[n++] = '"';
    other_name[n] = '\0';
}

enum emulator emulator_classify(const char (*sigs)[12], u32 n, bool e9_echo)
{
    if (n == 0)
        return e9_echo ? EMU_BOCHS : EMU_NONE;
    enum emulator first = lookup(sigs[0]);
    if (first == EMU_HYPERV) {
        /* Hyper-V's interface may be offered by KVM or Xen; their own
         * name then sits in a later leaf. */
        for (u32 i = 1; i < n; i++) {
            enum emulator e = lookup(sigs[i]);
            if (e != EMU_OTHER_HYPERVISOR && e != EMU_HYPERV)
                return e;
        }
    }
    if (first == EMU_OTHER_HYPERVISOR)
        name_other(sigs[0]);
    return first;
}

enum emulator emulator_detect(void)
{
    static bool known_yet;
    static enum emulator found;
    char sigs[HV_LEAVES][12];
    u32 n = 0;

    if (known_yet)
        return found;
    if (cpuid(1, 0).ecx & CPUID1_ECX_HYPERVISOR) {
        for (; n < HV_LEAVES; n++) {
            struct cpuid_regs r = cpuid(CPUID_HV_LEAF + n * CPUID_HV_STEP, 0);
            memcpy(sigs[n] + 0, &r.ebx, 4);
            memcpy(sigs[n] + 4, &r.ecx, 4);
            memcpy(sigs[n] + 8, &r.edx, 4);
            /* Leaf 0x40000000 is always the first; past it, only leaves
             * that claim to be a range (EAX at least the leaf) count. */
            if (n > 0 && r.eax < CPUID_HV_LEAF + n * CPUID_HV_STEP)
                break;
        }
        found = emulator_classify((const char (*)[12])sigs, n, false);
        if (found == EMU_LHV) {
            struct cpuid_regs r = cpuid(LHV_L0_LEAF_BELOW, 0);
            emulator_set_below((enum emulator)r.eax, r.ebx);
        }
    } else {
        found = emulator_classify(NULL, 0, inb(0xe9) == 0xe9);
    }
    known_yet = true;
    return found;
}

static const char *bochs_name(u32 version)
{
    return version == LHV_BOCHS_2_7   ? "Bochs 2.7"
           : version == LHV_BOCHS_3_0 ? "Bochs 3.0"
                                      : "Bochs";
}

const char *emulator_name(enum emulator e)
{
    static char lhv_name[48];

    switch (e) {
    case EMU_QEMU_TCG: return "QEMU TCG";
    case EMU_KVM: return "KVM";
    case EMU_BOCHS: return bochs_name(bochs_version);
    case EMU_XEN: return "Xen";
    case EMU_HYPERV: return "Hyper-V";
    case EMU_VMWARE: return "VMware";
    case EMU_LHV:
        if (below == EMU_NONE)
            return "LHV";
        snprintf(lhv_name, sizeof lhv_name, "LHV on %s",
                 below == EMU_BOCHS ? bochs_name(below_bochs)
                 : below == EMU_LHV ? "LHV" : emulator_name(below));
        return lhv_name;
    case EMU_OTHER_HYPERVISOR: return other_name;
    default: return "none (bare metal)";
    }
}
