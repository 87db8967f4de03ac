/* The hypapp interface (docs/design.md §3): the runtime links exactly one app
 * (build.sh --app DIR), which defines `hypapp`. lhv calls its hooks. */
#ifndef XMHF_HYPAPP_H
#define XMHF_HYPAPP_H

#include "boot_params.h"

/* Guest hypercall ABI: VMCALL with the number in EAX/RAX, arguments in
 * EBX, ECX, EDX (RBX, RCX, RDX), the result in EAX/RAX. */
#define HYPERCALL_LHV_FIRST 0x0000u /* 0x0000-0x0fff belong to LHV */
#define HYPERCALL_APP_FIRST 0x1000u /* 0x1000-0x1fff belong to the app */
#define HYPERCALL_APP_LAST 0x1fffu

struct hypapp {
    const char *name;
    /* Once, on the bootstrap processor, after the platform is up. */
    void (*init)(const struct lhv_boot_params *params);
    /* On every CPU after it came up (may be NULL). */
    void (*cpu_init)(u32 cpu);
    /* A guest hypercall in the app's range: sets *result and returns true,
     * or returns false for a number the app does not know (may be NULL). */
    bool (*hypercall)(u32 cpu, u64 nr, u64 arg1, u64 arg2, u64 arg3, u64 *result);
};

extern const struct hypapp hypapp;

#endif
