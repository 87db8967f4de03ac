/* Per-CPU areas. The runtime fills the bootstrap processor's before it
 * calls lhv_main; the platform fills the others as it starts each CPU. */
#ifndef XMHF_PERCPU_H
#define XMHF_PERCPU_H

#include "types.h"

#define LHV_MAX_CPUS 64
#define LHV_STACK_SIZE 16384

struct percpu {
    u32 index;           /* 0 for the bootstrap processor, then in start order */
    u32 apic_id;         /* initial APIC ID, CPUID.01H:EBX[31:24] */
    uintptr_t stack_top; /* this CPU's host stack */
};

extern struct percpu percpu[LHV_MAX_CPUS];

#endif
