/* The bootstrap processor's per-CPU area. Its stack is the one entry-*.S
 * switched to; both live in bss, which init zeroed. */
#include "percpu.h"
#include "runtime.h"
#include "x86.h"

struct percpu percpu[LHV_MAX_CPUS];

extern char runtime_bsp_stack_top[];

void percpu_init_bsp(void)
{
    percpu[0].index = 0;
    percpu[0].apic_id = cpuid(1, 0).ebx >> 24;
    percpu[0].stack_top = (uintptr_t)runtime_bsp_stack_top;
}
