/* Per-CPU state of the platform and the CPU-local pointer to it: GS base
 * (IA32_GS_BASE) on amd64, a GS segment whose base is this CPU's entry on
 * i386. The first field points to itself, so `mov %gs:0` finds it. */
#ifndef LHV_CPU_H
#define LHV_CPU_H

#include "desc.h"
#include "percpu.h"

struct catch_buf {
    /* amd64: rbx rbp r12-r15, rsp, rflags; i386: ebx esi edi ebp, esp
     * (index 4), eflags (catch-SUBARCH.S) */
    unsigned long regs[8];
};

struct lhv_cpu {
    struct lhv_cpu *self; /* must stay first: this_cpu() reads %gs:0 */
    u32 index;            /* 0 = bootstrap processor */
    u32 apic_id;
    bool online;
    bool in_guest; /* a VMX guest run is in progress (VGA status) */
    bool lost;     /* stopped answering cross-calls (smp.c watchdog) */

    u64 gdt[GDT_ENTRIES] __attribute__((aligned(16)));
    struct tss tss __attribute__((aligned(16)));
#ifndef __x86_64__
    struct tss df_tss __attribute__((aligned(16)));  /* #DF task (task gate) */
    struct tss nmi_tss __attribute__((aligned(16))); /* NMI task (task gate) */
#endif
    /* Expected exceptions (catch.c) */
    bool catch_armed;
    struct catch_buf catch_buf;
    struct caught {
        u32 vector;
        u32 error_code;
        unsigned long ip;
        unsigned long cs;
        unsigned long cr2;
        unsigned long flags; /* RFLAGS as the exception left them */
    } caught;
    u32 nmi_count;

    /* The TSS's ring-0 stack: interrupts and system calls from ring 3 land
     * here, clear of the kernel stack the ring-3 code was entered from. */
    u8 ring0_stack[4096] __attribute__((aligned(16)));
    u8 df_stack[4096] __attribute__((aligned(16)));  /* double fault */
    u8 nmi_stack[4096] __attribute__((aligned(16))); /* NMI */
};

extern struct lhv_cpu cpus[LHV_MAX_CPUS];

static inline struct lhv_cpu *this_cpu(void)
{
    struct lhv_cpu *c;
    __asm__ volatile("mov %%gs:0, %0" : "=r"(c));
    return c;
}

#endif
