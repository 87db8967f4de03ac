/* Which machine LHV runs on, as far as it matters for ending a run: only a
 * detected emulator gets its exit port written (DESIGN §3). */
#ifndef XMHF_EMULATOR_H
#define XMHF_EMULATOR_H

#include "types.h"

enum emulator {
    EMU_NONE = 0, /* bare metal or an L0 we cannot name */
    EMU_QEMU_TCG,
    EMU_KVM,
    EMU_BOCHS,
    EMU_OTHER_HYPERVISOR, /* the hypervisor bit is set, signature unknown */
};

enum emulator emulator_detect(void);
const char *emulator_name(enum emulator e);

#endif
