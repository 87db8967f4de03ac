/* Test-and-set spinlock for the few things CPUs share. XCHG with a memory
 * operand is locked by itself (SDM 3A 9.1.2.1); unlock is a plain store,
 * which x86 never reorders before the loads and stores of the critical
 * section (SDM 3A 9.2.2), so a compiler barrier is all it needs.
 * A zeroed struct is an unlocked lock. */
#ifndef XMHF_SPINLOCK_H
#define XMHF_SPINLOCK_H

#include "types.h"

struct spinlock {
    volatile u32 locked; /* 0 free, 1 held */
};

#define SPINLOCK_INIT {0}

static inline bool spin_trylock(struct spinlock *l)
{
    u32 old = 1;
    __asm__ volatile("xchg %0, %1" : "+r"(old), "+m"(l->locked) : : "memory");
    return old == 0;
}

static inline void spin_lock(struct spinlock *l)
{
    while (!spin_trylock(l))
        while (l->locked) /* wait with plain reads: no bus lock per try */
            __asm__ volatile("pause" : : : "memory");
}

static inline void spin_unlock(struct spinlock *l)
{
    __asm__ volatile("" : : : "memory");
    l->locked = 0;
}

/* Whether this CPU takes maskable interrupts now (EFLAGS.IF) */
static inline bool irqs_enabled(void)
{
    unsigned long flags;
    __asm__ volatile("pushf\n\tpop %0" : "=r"(flags));
    return flags & (1u << 9);
}

/* Interrupt flag: saved and cleared, then restored as it was. */
static inline unsigned long irq_save(void)
{
    unsigned long flags;
    __asm__ volatile("pushf\n\tpop %0\n\tcli" : "=r"(flags) : : "memory");
    return flags;
}

static inline void irq_restore(unsigned long flags)
{
    if (flags & (1u << 9)) /* EFLAGS.IF */
        __asm__ volatile("sti" : : : "memory");
}

#endif
