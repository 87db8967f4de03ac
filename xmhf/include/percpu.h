/* Per-CPU limits shared by the runtime and lhv. The per-CPU record itself
 * is lhv's (struct lhv_cpu, lhv/cpu.h): one record, found through %gs. */
#ifndef XMHF_PERCPU_H
#define XMHF_PERCPU_H

#define LHV_MAX_CPUS 64
#define LHV_STACK_SIZE 16384 /* each CPU's host stack, the BSP's (entry-*.S) included */

#endif
