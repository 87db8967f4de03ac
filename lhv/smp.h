/* The other processors: started from the ACPI MADT's list with
 * INIT-SIPI-SIPI (SDM Vol. 3A, 9.4.4 and 11.6.1), then idle in hlt until a
 * cross-call (on_cpu, on_all_cpus) wakes them with an IPI. */
#ifndef LHV_SMP_H
#define LHV_SMP_H

#define SMP_AP_STACK_SIZE 16384 /* = LHV_STACK_SIZE (checked in smp.c) */

#ifndef __ASSEMBLER__
#include "boot_params.h"
#include "percpu.h"

/* Chooses the CPUs to start from apic_ids[0..n) (the MADT's enabled ones,
 * in MADT order; the BSP's own ID may be among them and is skipped): at
 * most max_cpus CPUs in all, BSP included (0: no limit), and never more
 * than LHV_MAX_CPUS; and sends each an INIT IPI. Call once, on the BSP,
 * after its descriptor tables and LAPIC are up, best with the PIT ticking:
 * smp_start then needs to wait only what is left of the 10 ms after INIT
 * (SDM 3A 9.4.4.1). */
void smp_init(const u32 *apic_ids, u32 n, u32 max_cpus);

/* Starts the CPUs smp_init chose (STARTUP IPIs); the real-mode trampoline
 * goes to a usable page below 1 MiB of p's memory map. Each CPU that
 * answers prints "CPU(i): online, APIC ID N"; then this prints one line per
 * CPU that did not, and "smp: N of M CPUs online". Returns N. Call once,
 * on the BSP, after smp_init; works with interrupts on (the BSP sleeps in
 * hlt while it waits) or off. */
u32 smp_start(const struct lhv_boot_params *p);

/* CPUs online, BSP included (1 before smp_start). */
u32 smp_online_count(void);

/* CPUs smp_start tried to run, BSP included: cpus[0..smp_cpu_count()) have
 * their index and APIC ID set; cpus[i].online says which came up. */
u32 smp_cpu_count(void);

/* Runs fn(arg) on CPU `index` and returns when it has finished; on the
 * calling CPU itself it is a plain call. The target runs fn in its IPI
 * handler, interrupts off, so it must have interrupts on to take the call
 * (the idle APs have; the BSP only while it has). An index that is not
 * online prints a line and does nothing. Cross-calls come from one CPU at a
 * time: two CPUs that call each other with interrupts off would deadlock. */
void on_cpu(u32 index, void (*fn)(void *), void *arg);

/* Hands CPU `index` fn(arg) for good: returns once the target has taken
 * the call (fn may never return; LHV as L0 runs its guest there). The
 * target's work slot stays taken: no cross-call reaches it afterwards. */
void on_cpu_detached(u32 index, void (*fn)(void *), void *arg);

/* Runs fn(arg) on every online CPU, the caller included, all at once;
 * returns when every one has finished. */
void on_all_cpus(void (*fn)(void *), void *arg);

/* A barrier for `count` CPUs: each calls smp_barrier_wait, which returns
 * true once all have arrived, or false after timeout_ms (0: wait for ever).
 * A barrier that timed out is broken: initialise it again before reuse.
 * The CPUs that wait spin (PAUSE), interrupts as they were; in one made
 * with smp_barrier_init_sleeping they halt instead, with interrupts on
 * (taken there even when the caller had them off, as in a cross-call),
 * until the last one to arrive wakes them (VEC_SMP_WAKE) or their LAPIC
 * timer, one-shot, ends the timeout. A CPU whose LAPIC timer is busy or
 * not calibrated spins. Spinning CPUs keep the emulator's threads of those
 * still to arrive off the host's cores (QEMU TCG, more CPUs than cores). */
struct smp_barrier {
    u32 count;
    bool sleeping;
    volatile u32 arrived;
    volatile u32 generation;
    volatile u8 asleep[LHV_MAX_CPUS]; /* by CPU index: halted in this barrier */
};

void smp_barrier_init(struct smp_barrier *b, u32 count);
void smp_barrier_init_sleeping(struct smp_barrier *b, u32 count);
bool smp_barrier_wait(struct smp_barrier *b, u32 timeout_ms);

/* TSC ticks per millisecond (deadline_init's measurement; against the PIT on
 * first use before it). */
u64 smp_tsc_per_ms(void);

#endif /* __ASSEMBLER__ */
#endif
