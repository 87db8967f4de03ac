/* Trap dispatch: expected exceptions go back to whoever asked for them
 * (catch.c), device vectors to their handlers, anything else is reported
 * and ends the run. */
#include "catch.h"
#include "console.h"
#include "cpu.h"
#include "deadline.h"
#include "end.h"
#include "runtime.h"
#include "string.h"
#include "symbols.h"
#include "trap.h"
#include "x86.h"

static irq_handler handlers[256];
static const struct trap_guest_ops *guest_ops;

void trap_set_guest_ops(const struct trap_guest_ops *ops) { guest_ops = ops; }

void trap_set_handler(u32 vector, irq_handler h) { handlers[vector] = h; }

const char *exception_name(u32 vector)
{
    static const char *const names[32] = {
        "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
        "#BR bound range", "#UD invalid opcode", "#NM device not available",
        "#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
        "#NP segment not present", "#SS stack fault", "#GP general protection",
        "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
        "#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
    };
    if (vector < 32)
        return names[vector] ? names[vector] : "reserved";
    return "interrupt";
}

/* Frame-pointer stack trace: each frame holds the caller's frame pointer
 * and then the return address. Stops at a null, unaligned or descending
 * pointer, or after 16 frames. */
/* Frame pointers are followed only inside LHV's own image and bss, where
 * every host stack lives: a corrupt frame must not fault the report. */
static bool on_lhv_stack(unsigned long fp)
{
    return fp >= (uintptr_t)__image_base && fp + 2 * sizeof(long) <= (uintptr_t)__bss_end;
}

static void print_stack_trace(unsigned long fp)
{
    printf("  stack trace:");
    for (int i = 0; i < 16 && on_lhv_stack(fp) && !(fp & (sizeof(long) - 1)); i++) {
        const unsigned long *frame = (const unsigned long *)fp;
        if (!frame[1])
            break;
        /* Look up the call, not the return address: after a call to a
         * noreturn function the latter is already the next function. */
        unsigned long offset;
        const char *sym = symbol_name(frame[1] - 1, &offset);
        if (sym)
            printf(" %s+0x%lx", sym, offset + 1);
        else
            printf(" 0x%lx", frame[1]);
        if (frame[0] <= fp)
            break;
        fp = frame[0];
    }
    printf("\n");
}

static void print_registers(const struct trap_frame *f)
{
#ifdef __x86_64__
    printf("  rax 0x%016llx rbx 0x%016llx rcx 0x%016llx rdx 0x%016llx\n", f->rax, f->rbx,
           f->rcx, f->rdx);
    printf("  rsi 0x%016llx rdi 0x%016llx rbp 0x%016llx rsp 0x%016llx\n", f->rsi, f->rdi,
           f->rbp, f->sp);
    printf("  r8  0x%016llx r9  0x%016llx r10 0x%016llx r11 0x%016llx\n", f->r8, f->r9,
           f->r10, f->r11);
    printf("  r12 0x%016llx r13 0x%016llx r14 0x%016llx r15 0x%016llx\n", f->r12, f->r13,
           f->r14, f->r15);
    print_stack_trace(f->rbp);
#else
    /* The CPU pushed ESP and SS only when it came from ring 3. */
    u32 esp = (f->cs & 3) ? f->sp : (u32)(uintptr_t)&f->sp;
    printf("  eax 0x%08x ebx 0x%08x ecx 0x%08x edx 0x%08x\n", f->eax, f->ebx, f->ecx, f->edx);
    printf("  esi 0x%08x edi 0x%08x ebp 0x%08x esp 0x%08x\n", f->esi, f->edi, f->ebp, esp);
    /* a segment push leaves the upper 16 bits undefined */
    printf("  ds 0x%x es 0x%x fs 0x%x gs 0x%x\n", f->ds & 0xffff, f->es & 0xffff, f->fs & 0xffff,
           f->gs & 0xffff);
    print_stack_trace(f->ebp);
#endif
}

/* The test guests run LHV's own code with LHV's IDT. An exception there
 * that nothing expected ends that guest, not the run: the layer that runs
 * guests hands it to the host, which fails the guest's test. */
static void report_to_host(const struct trap_frame *f)
{
    if (this_cpu()->in_guest && guest_ops && guest_ops->in_guest_mode())
        guest_ops->exception_to_host(f);
}

void trap_describe_ip(unsigned long ip, char *buf, size_t len)
{
    const char *mode = "on the host";
    unsigned long offset;

    if (this_cpu()->in_guest && guest_ops) {
        if (!guest_ops->in_guest_mode())
            ip = guest_ops->guest_ip(); /* the host is between the guest's exits */
        mode = "in a guest";
    }
    const char *sym = symbol_name(ip, &offset);
    if (sym)
        snprintf(buf, len, "rip 0x%lx (%s+0x%lx) %s", ip, sym, offset, mode);
    else
        snprintf(buf, len, "rip 0x%lx %s", ip, mode);
}

void exception_report(const struct trap_frame *f)
{
    static bool reporting[LHV_MAX_CPUS];
    u32 cpu = this_cpu()->index;

    report_to_host(f); /* returns only on the host */

    /* An exception while reporting one: say so in one line and stop,
     * rather than report the report. */
    if (reporting[cpu])
        fatal("exception %s (vector %lu) on CPU %u at ip 0x%lx while reporting an exception",
              exception_name((u32)f->vector), (unsigned long)f->vector, cpu,
              (unsigned long)f->ip);
    reporting[cpu] = true;

    console_lock(); /* the report in one piece; fatal() keeps the console */
    printf("EXCEPTION: %s (vector %lu) on CPU %u, error code 0x%lx\n",
           exception_name((u32)f->vector), (unsigned long)f->vector, cpu,
           (unsigned long)f->error_code);
    printf("  ip 0x%lx cs 0x%lx flags 0x%lx\n", (unsigned long)f->ip, (unsigned long)f->cs,
           (unsigned long)f->flags);
    printf("  cr0 0x%lx cr2 0x%lx cr3 0x%lx cr4 0x%lx\n", read_cr0(), read_cr2(), read_cr3(),
           read_cr4());
    print_registers(f);
    fatal("exception %s (vector %lu) on CPU %u at ip 0x%lx: a bug in LHV; the report above "
          "has the registers and the stack trace",
          exception_name((u32)f->vector), (unsigned long)f->vector, cpu, (unsigned long)f->ip);
}

/* NMIs are counted per CPU; the tests that send them read the count. One
 * may be the test deadline's backstop (deadline.c). */
static void nmi_handle(unsigned long ip)
{
    deadline_nmi(ip);
    this_cpu()->nmi_count++;
}

#ifndef __x86_64__
/* i386 NMI task (isr-i386.S): the interrupted state is in the TSS it
 * switched away from. */
void nmi_task(void) { nmi_handle(this_cpu()->tss.eip); }

/* i386 double-fault task: the interrupted state is in the TSS the CPU
 * switched away from, named by the back link of this task's TSS. An
 * expected #DF (catch_exception) returns to the catcher: the interrupted
 * task resumes at catch_resume_ecx instead of where it faulted. */
STACK_ARGS void double_fault_task(u32 error_code); /* isr-i386.S */
STACK_ARGS void double_fault_task(u32 error_code)
{
    struct lhv_cpu *c = this_cpu();
    struct tss *t = c->df_tss.link == SEL_NMI_TSS ? &c->nmi_tss : &c->tss;
    unsigned long cr2;
    extern char catch_resume_ecx[];

    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    if (c->catch_armed) {
        c->catch_armed = false;
        c->caught = (struct caught){VEC_DF, error_code, t->eip, t->cs, cr2, t->eflags};
        t->eip = (uintptr_t)catch_resume_ecx;
        t->ecx = (uintptr_t)&c->catch_buf;
        /* Not on the broken stack, and no interrupt before the catcher's
         * flags are back: one would be delivered on that stack again. */
        t->esp = c->catch_buf.regs[4];
        t->eflags &= ~(1u << 9);
        return;
    }
    console_lock(); /* the report in one piece; fatal() keeps the console */
    printf("EXCEPTION: #DF double fault (vector 8) on CPU %u, through its task gate\n", c->index);
    printf("  eip 0x%08x cs 0x%x eflags 0x%08x esp 0x%08x ss 0x%x\n", t->eip, t->cs, t->eflags,
           t->esp, t->ss);
    printf("  eax 0x%08x ebx 0x%08x ecx 0x%08x edx 0x%08x\n", t->eax, t->ebx, t->ecx, t->edx);
    printf("  esi 0x%08x edi 0x%08x ebp 0x%08x\n", t->esi, t->edi, t->ebp);
    printf("  cr0 0x%lx cr2 0x%lx cr3 0x%x cr4 0x%lx\n", read_cr0(), cr2, t->cr3, read_cr4());
    print_stack_trace(t->ebp);
    fatal("exception #DF double fault (vector 8) on CPU %u at ip 0x%x: a fault while "
          "delivering a fault (often a kernel stack overflow)", c->index, t->eip);
}
#endif

STACK_ARGS void trap_dispatch(struct trap_frame *f); /* isr-SUBARCH.S */
STACK_ARGS void trap_dispatch(struct trap_frame *f)
{
    struct lhv_cpu *c = this_cpu();

    if (f->vector == VEC_NMI)
        return nmi_handle((unsigned long)f->ip);
    /* Vectors 0-31 are exceptions, whatever a device may also send there
     * (an unremapped PIC would): caught when expected, else reported. */
    if (f->vector < 32) {
        if (c->catch_armed)
            catch_deliver(c, f);
        exception_report(f);
    }
    if (handlers[f->vector]) {
        handlers[f->vector](f);
        return;
    }
    exception_report(f);
}
