/* Which machine (L0) LHV runs on: named in the banner and the platform
 * report, and it decides how a run ends: only a detected emulator gets its
 * exit port written (docs/design.md §3). */
#ifndef XMHF_EMULATOR_H
#define XMHF_EMULATOR_H

#include "types.h"

enum emulator {
    EMU_NONE = 0, /* bare metal or an L0 we cannot name */
    EMU_QEMU_TCG,
    EMU_KVM,
    EMU_BOCHS,
    EMU_OTHER_HYPERVISOR, /* the hypervisor bit is set, signature not one below */
    EMU_XEN,
    EMU_HYPERV,
    EMU_VMWARE,
    EMU_LHV, /* LHV as L0 (lhv.l0=1, docs/l0.md) */
};

/* The L0, found once (CPUID's hypervisor bit and leaves 0x40000000 +
 * 0x100*k, then the port 0xe9 read-back) and remembered. */
enum emulator emulator_detect(void);

/* Pure part of the detection, for the host tests: the signatures of the
 * hypervisor leaves (12 bytes each, n of them; n = 0 when the hypervisor
 * bit is clear) and whether port 0xe9 read back 0xe9. */
enum emulator emulator_classify(const char (*sigs)[12], u32 n, bool e9_echo);

/* The Bochs version the command line gave (lhv.bochs=, an enum
 * lhv_bochs_version; 0 = not given): Bochs cannot be asked. */
void emulator_set_bochs_version(u32 version);
u32 emulator_bochs_version(void);

/* LHV's L0 tells its guest what it runs on itself: CPUID leaf 0x40000001
 * (in the L0's range, leaf 0x40000000 "LHV L0      " gives it as the
 * highest) has EAX = the L0's own enum emulator and EBX = its lhv.bochs=
 * version. A Bochs deviation in how Bochs runs a guest reaches LHV's guest
 * too where the L0 has Bochs run it (docs/l0-deviations.md). */
#define LHV_L0_LEAF_BELOW 0x40000001u

/* Under LHV's L0 (emulator_detect() == EMU_LHV): the L0's own L0, and its
 * Bochs version in *bochs_version; EMU_NONE elsewhere. The setter is the
 * detection's (and the host tests'). */
enum emulator emulator_below(u32 *bochs_version);
void emulator_set_below(enum emulator below, u32 bochs_version);

/* "QEMU TCG", "KVM", "Xen", "Hyper-V", "VMware", "Bochs", "none (bare
 * metal)"; for another hypervisor "hypervisor \"SIGNATURE\"" once detected;
 * Bochs with its version ("Bochs 3.0") when lhv.bochs= gave it; LHV's L0
 * with what it runs on ("LHV on Bochs 2.7"). */
const char *emulator_name(enum emulator e);

#endif
