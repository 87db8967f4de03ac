/* Expected exceptions (catch.h). catch_call saves the callee-saved
 * registers, stack pointer and flags and calls the probe; when the probe
 * faults, trap_dispatch hands the exception to catch_deliver, which records
 * it and returns from catch_call a second time with 1 (catch-SUBARCH.S). */
#include "catch.h"
#include "trap.h"
#include "x86.h"

STACK_ARGS int catch_call(struct catch_buf *buf, void (*fn)(void *), void *arg);
__attribute__((noreturn)) STACK_ARGS void catch_resume(struct catch_buf *buf);

int catch_exception(void (*fn)(void *), void *arg, struct caught *out)
{
    struct lhv_cpu *c = this_cpu();

    c->catch_armed = true;
    int faulted = catch_call(&c->catch_buf, fn, arg);
    c->catch_armed = false;
    if (!faulted)
        return NO_EXCEPTION;
    *out = c->caught;
    return (int)out->vector;
}

void catch_deliver(struct lhv_cpu *c, const struct trap_frame *f)
{
    unsigned long cr2;

    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    c->catch_armed = false;
    c->caught.vector = (u32)f->vector;
    c->caught.error_code = (u32)f->error_code;
    c->caught.ip = f->ip;
    c->caught.cs = f->cs;
    c->caught.cr2 = cr2;
    c->caught.flags = f->flags;
    catch_resume(&c->catch_buf);
}
